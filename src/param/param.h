#ifndef SK_PARAM_PARAM_H
#define SK_PARAM_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/diag.h"
#include "util/err.h"

/*
 * Parameters declared as data. A plugin lists its parameters in a table of
 * struct sk_param_def; one engine parses every value the same way, applies
 * the defaults (written as text and run through the same parser), checks
 * bounds and choices, maps v0.12 names to v1 ones, and reports problems
 * with file, line, section and parameter. Storage per type:
 *
 *   STRING, REGEXP  char *            (owned by the engine, NULL when unset)
 *   INT             int64_t
 *   FLOAT           double
 *   BOOL            bool
 *   SIZE            uint64_t          bytes       ("8m", "1g", "1024")
 *   TIME            int64_t           milliseconds ("60s", "1.5", "2h")
 *   ENUM            int               index into .choices
 *   ARRAY           struct sk_strv    (JSON array or comma list)
 *   HASH            struct sk_kvv     (JSON object or k:v,k:v)
 */
enum sk_param_type {
    SK_PARAM_STRING,
    SK_PARAM_INT,
    SK_PARAM_FLOAT,
    SK_PARAM_BOOL,
    SK_PARAM_SIZE,
    SK_PARAM_TIME,
    SK_PARAM_ENUM,
    SK_PARAM_REGEXP,
    SK_PARAM_ARRAY,
    SK_PARAM_HASH,
};

enum sk_param_flags {
    SK_PARAM_REQUIRED = 1 << 0,
    SK_PARAM_SECRET = 1 << 1,     /* masked in --dry-run output and logs */
    SK_PARAM_DEPRECATED = 1 << 2, /* accepted with a warning */
    SK_PARAM_OBSOLETE = 1 << 3,   /* accepted, ignored, warned about */
    SK_PARAM_IGNORED = 1 << 4,    /* Fluentd knob that means nothing here: accepted silently */
    SK_PARAM_NOT_YET = 1 << 5,    /* accepted, but a warning says it has no effect yet */
};

struct sk_strv {
    char **v; /* owned array of owned strings */
    size_t n;
};

struct sk_kv {
    char *key;   /* owned */
    char *value; /* owned */
};

struct sk_kvv {
    struct sk_kv *v; /* owned */
    size_t n;
};

struct sk_param_def {
    const char *name;
    const char *alias;        /* v0.12 or alternative name, or NULL */
    enum sk_param_type type;
    const char *def;          /* default as text, or NULL for none */
    const char *min;          /* bound as text (same parser), or NULL */
    const char *max;
    const char *const *choices; /* ENUM: NULL-terminated */
    size_t offset;            /* offsetof into the plugin's conf struct */
    unsigned int flags;
    const char *desc;         /* one line, for --dry-run and docs */
};

/* End of a table. */
#define SK_PARAM_END { .name = NULL }

/*
 * Fills `conf` from the parameters of `sec` per `defs` (NULL-terminated).
 * Unknown keys are left unmarked (the caller warns after every consumer
 * had its turn). Every problem goes to `d`; returns 0 when there was none,
 * SK_ECONFIG otherwise (conf is then still safe to sk_param_release).
 */
int sk_param_apply(const struct sk_param_def *defs, struct sk_conf_section *sec, void *conf,
                   struct sk_diag *d) SK_WUR;

/* Frees what the engine allocated inside `conf` (strings, arrays, hashes). */
void sk_param_release(const struct sk_param_def *defs, void *conf);

/* Warns (Fluentd-style) about every parameter of `sec` and its children not
 * marked used: "parameter 'x' in <match a> is not used." */
void sk_param_warn_unused(const struct sk_conf_section *sec, struct sk_diag *d);

/* Appends the effective values (defaults filled, secrets masked) as
 * Fluentd-syntax lines with the given indent to `out`. */
struct sk_buf;
int sk_param_dump(const struct sk_param_def *defs, const void *conf, int indent,
                  struct sk_buf *out) SK_WUR;

/*
 * The value parsers, also for plugins with hand-rolled needs. Each returns 0
 * or SK_EPARSE/SK_ERANGE and, where td-agent would read the text
 * differently, sets *warning to a static explanation (else leaves it).
 */
int sk_param_parse_bool(const char *text, bool *out);
int sk_param_parse_int(const char *text, int64_t *out);
int sk_param_parse_float(const char *text, double *out);
int sk_param_parse_size(const char *text, uint64_t *out);
int sk_param_parse_time_ms(const char *text, int64_t *out, const char **warning);
int sk_param_parse_array(const char *text, struct sk_strv *out);
int sk_param_parse_hash(const char *text, struct sk_kvv *out);
void sk_strv_free(struct sk_strv *v);
void sk_kvv_free(struct sk_kvv *v);

#endif
