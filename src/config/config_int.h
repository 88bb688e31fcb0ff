#ifndef SK_CONFIG_CONFIG_INT_H
#define SK_CONFIG_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/config.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * Internals shared by the configuration reader's files:
 *
 *   config.c          the directive loop (sections, parameters) and the tree
 *   config_lex.c      the cursor and value syntax: bare, 'single', "double",
 *                     multi-line JSON
 *   config_ruby.c     the small subset of embedded Ruby ("#{ENV['X']}")
 *   config_include.c  reading files and resolving @include
 *
 * One struct sk_conf_parser lives for one sk_conf_load call; one struct
 * sk_conf_file for each file (or string) being read, nested for includes.
 */

#define SK_CONF_MAX_FILE_SIZE (16u * 1024u * 1024u) /* one configuration file */
#define SK_CONF_MAX_VALUE (1024u * 1024u)           /* one decoded value */
#define SK_CONF_MAX_INCLUDE_DEPTH 32                /* files open at once */
#define SK_CONF_MAX_FILES 4096                      /* files read in one load */

/* Outcome of evaluating embedded Ruby that is not a plain string. */
enum sk_conf_special {
    SK_CONF_SPECIAL_NONE,
    SK_CONF_SPECIAL_USE_NIL,     /* "#{... || use_nil}": parameter has no value */
    SK_CONF_SPECIAL_USE_DEFAULT, /* "#{... || use_default}": as if not written */
};

/* A cursor over one file's text. `line` counts from 1. */
struct sk_conf_lex {
    const char *p;
    const char *end;
    int line;
};

/* A file on the include stack, identified by device and inode so that a
 * file reached through two different paths is still recognised. */
struct sk_conf_incl {
    dev_t dev;
    ino_t ino;
};

struct sk_conf_parser {
    struct sk_conf *conf; /* borrowed: the tree being built */
    struct sk_diag *d;    /* borrowed */
    bool oom;             /* set on allocation failure: stop and fail */
    int depth;            /* entries used in `stack` */
    struct sk_conf_incl stack[SK_CONF_MAX_INCLUDE_DEPTH];
};

struct sk_conf_file {
    struct sk_conf_parser *ps; /* borrowed */
    struct sk_conf_lex lx;
    const char *name;             /* borrowed from conf->files */
    char *dir;                    /* owned: base of relative includes; NULL = cwd */
    struct sk_conf_section *base; /* borrowed: receives this file's top level */
    struct sk_conf_section *cur;  /* borrowed: innermost open section */
};

/* A decoded value: what follows a key on its line (or lines). */
struct sk_conf_value {
    struct sk_buf text;
    enum sk_conf_quote quote;
    enum sk_conf_special special;
};

/* ---- config.c ---- */

/* Adds a diagnostic at `line` of the file, in the context of the innermost
 * open section. */
void sk_conf_report(struct sk_conf_file *fx, enum sk_diag_level level, int line, const char *fmt,
                    ...) SK_PRINTF(4, 5);

/* Marks the load as failed for lack of memory (reported once). */
void sk_conf_oom(struct sk_conf_parser *ps);

/* Records `path` in conf->files; returns the stored copy, NULL on OOM. */
const char *sk_conf_add_file(struct sk_conf_parser *ps, const char *path);

/* Parses one file's text into fx->base (fx->cur must equal fx->base).
 * Problems go to the diagnostics; only ps->oom stops it early. */
void sk_conf_parse_text(struct sk_conf_file *fx);

/* ---- config_lex.c ---- */

void sk_conf_lex_init(struct sk_conf_lex *lx, const char *text, size_t len);
bool sk_conf_lex_eof(const struct sk_conf_lex *lx);

/* Skips blanks, line ends and whole comments. */
void sk_conf_lex_spacing(struct sk_conf_lex *lx);

/* Skips spaces and tabs on the current line. */
void sk_conf_lex_blanks(struct sk_conf_lex *lx);

/* Consumes blanks, an optional comment and the line end; false (cursor on
 * the first offending character) when other text comes first. */
bool sk_conf_lex_line_end(struct sk_conf_lex *lx);

/* Consumes everything up to and including the next line end. */
void sk_conf_lex_skip_line(struct sk_conf_lex *lx);

/* Length of the rest of the current line, for quoting it in messages. */
size_t sk_conf_lex_rest(const struct sk_conf_lex *lx);

/*
 * Scans the value starting at the cursor (which is on its first character,
 * not a blank, line end or comment) through the end of its line. With
 * `json`, a value starting with '[' or '{' is a JSON array or hash that may
 * span lines. `v` must be initialised by sk_conf_value_init.
 * Returns 0; SK_EPARSE after reporting the problem and moving to where
 * reading resumes (the next line, or the line that cut short a JSON value);
 * SK_ENOMEM.
 */
int sk_conf_lex_value(struct sk_conf_file *fx, struct sk_conf_value *v, bool json) SK_WUR;

void sk_conf_value_init(struct sk_conf_value *v);
void sk_conf_value_cleanup(struct sk_conf_value *v);

/* ---- config_ruby.c ---- */

/*
 * Evaluates the embedded Ruby code `code` (the text between "#{" and "}",
 * written at `line`) and appends its value to `out`. Only a safe subset is
 * understood: ENV['X'], ENV["X"], ENV.fetch('X'[, default]), Socket.gethostname,
 * hostname, worker_id, File.join(...), string and integer literals, true,
 * false, nil, ||, ?:, parentheses, use_nil and use_default (stored in
 * `*special`). Returns 0; SK_EUNSUPPORTED or SK_EINVAL after reporting;
 * SK_ENOMEM.
 */
int sk_conf_ruby_eval(struct sk_conf_file *fx, const char *code, size_t len, int line,
                      struct sk_buf *out, enum sk_conf_special *special) SK_WUR;

/* ---- config_include.c ---- */

/* Resolves "@include spec" written at `line` of fx, parsing every file it
 * names into fx->cur. Problems are reported; sets ps->oom on OOM. */
void sk_conf_include(struct sk_conf_file *fx, const char *spec, int line);

/*
 * Reads the file at `path` (to sk_free) into `*text`, `*len`; fills `*id`.
 * Returns 0, SK_ETOOBIG, SK_ENOMEM, or a code from errno (with `*errnum`
 * set for the message).
 */
int sk_conf_read_file(const char *path, char **text, size_t *len, struct sk_conf_incl *id,
                      int *errnum) SK_WUR;

/* Parses a whole file's text into `into`: the shared step of sk_conf_load,
 * sk_conf_load_string and @include. `name` is stored in conf->files; with
 * `is_path` its directory is the base of relative includes, otherwise the
 * current directory is. */
void sk_conf_parse_file(struct sk_conf_parser *ps, const char *name, bool is_path, const char *text,
                        size_t len, struct sk_conf_section *into);

#endif
