#ifndef SK_CONFIG_CONFIG_H
#define SK_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "config/diag.h"
#include "util/err.h"

/*
 * The Fluentd configuration language, read into a tree of sections.
 *
 *   <source>                     section "source", arg NULL
 *     @type tail                 param "@type" = "tail"
 *     <parse>                    child section "parse"
 *       @type nginx
 *     </parse>
 *   </source>
 *   <match nginx.** app.*>       section "match", arg "nginx.** app.*"
 *
 * The root section (name "ROOT") holds the top-level directives. @include
 * is resolved while loading: included sections and parameters appear in
 * place, each keeping the file and line where it was written. Values are
 * fully decoded (quotes removed, escapes and "#{ENV['X']}" expanded,
 * multi-line JSON arrays and hashes joined), so no caller sees syntax.
 */
enum sk_conf_quote {
    SK_CONF_BARE,   /* bare word, or JSON array/hash possibly over lines */
    SK_CONF_SINGLE, /* 'literal' */
    SK_CONF_DOUBLE, /* "escaped" */
};

struct sk_conf_param {
    char *key;          /* owned */
    char *value;        /* owned; "" for a key written without a value */
    const char *file;   /* borrowed from struct sk_conf.files */
    int line;
    enum sk_conf_quote quote;
    bool used;          /* set by the param engine; unused ones get a warning */
};

struct sk_conf_section {
    char *name;                         /* owned: "source", "match", "parse", ... */
    char *arg;                          /* owned, or NULL when the tag had no argument */
    const char *file;                   /* borrowed from struct sk_conf.files */
    int line;
    struct sk_conf_param *params;       /* owned array */
    size_t nparams;
    struct sk_conf_section **children;  /* owned array of owned sections */
    size_t nchildren;
    struct sk_conf_section *parent;     /* borrowed; NULL for the root */
    bool used;                          /* set by whoever consumes the section */
};

struct sk_conf {
    struct sk_conf_section *root;       /* owned */
    char **files;                       /* owned: every file read, for locations */
    size_t nfiles;
};

/*
 * Reads `path` and everything it includes. Every syntax problem is added to
 * `d` (file:line: message); returns the tree (possibly partial) for the
 * caller to sk_conf_destroy, or NULL when the file cannot be read at all or
 * memory runs out. Callers check d->errors before trusting the tree.
 */
struct sk_conf *sk_conf_load(const char *path, struct sk_diag *d);

/* The same from a string; `name` is the file name used in messages and
 * the base for relative @include paths is the current directory. */
struct sk_conf *sk_conf_load_string(const char *name, const char *text, size_t len,
                                    struct sk_diag *d);

void sk_conf_destroy(struct sk_conf *conf);

/* Returns the last parameter named `key` (Fluentd: a later one wins), or NULL. */
struct sk_conf_param *sk_conf_find(const struct sk_conf_section *s, const char *key);

/* Convenience: the value of sk_conf_find, or NULL. Does not mark it used. */
const char *sk_conf_get(const struct sk_conf_section *s, const char *key);

/* Writes "<name arg>" or "<name>" into out (truncating); returns out. */
const char *sk_conf_section_label(const struct sk_conf_section *s, char *out, size_t size);

#endif
