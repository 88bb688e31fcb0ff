#ifndef SK_OUT_ELASTICSEARCH_ES_SETUP_INT_H
#define SK_OUT_ELASTICSEARCH_ES_SETUP_INT_H

/*
 * Shared by es_setup.c (parameters, names, the flush hooks) and
 * es_setup_run.c (targets and their requests). Not for other files.
 *
 *   target state:   IDLE --run--> RUNNING --all steps ok--> READY
 *                                  |   ^                      |
 *                        step fails|   |timer (backoff)       | alias gone (404 with
 *                                  v   |                      | require_alias): IDLE
 *                                 WAITING
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out_elasticsearch/es.h"
#include "out_elasticsearch/es_ilm.h"
#include "out_elasticsearch/es_setup.h"
#include "out_elasticsearch/es_template.h"

#define ES_SETUP_BACKOFF_MIN_MS 1000
#define ES_SETUP_BACKOFF_MAX_MS 60000
#define ES_SETUP_TARGETS_MAX 1024

enum es_target_kind {
    ES_TARGET_ALIAS,
    ES_TARGET_DATA_STREAM,
    ES_TARGET_TEMPLATE,
};

enum es_target_state {
    ES_TARGET_IDLE,
    ES_TARGET_RUNNING,
    ES_TARGET_WAITING,
    ES_TARGET_READY,
};

enum es_step {
    ES_STEP_POLICY_GET,
    ES_STEP_POLICY_PUT,
    ES_STEP_TEMPLATE_GET,
    ES_STEP_TEMPLATE_PUT,
    ES_STEP_ALIAS_HEAD,
    ES_STEP_INDEX_PUT,
    ES_STEP_ALIAS_RECHECK,
    ES_STEP_ALIAS_PUT,
    ES_STEP_DS_GET,
    ES_STEP_DS_PUT,
    ES_STEP_DONE,
};

struct es_setup_req;

struct es_target {
    struct es_target *next;
    struct es_setup *s; /* borrowed */
    enum es_target_kind kind;
    char *name;              /* owned: alias, data stream or template name */
    char *policy;            /* owned: policy id, or NULL (no policy step) */
    const char *policy_json; /* borrowed from es_setup */
    bool policy_overwrite;
    char *template_name; /* owned, or NULL (no template step) */
    char *template_json; /* owned: the user's template, or NULL (generated) */
    bool template_overwrite;
    bool template_ilm;     /* inject lifecycle settings, pattern and priority */
    char *pattern;         /* owned: the template's index pattern */
    char *ism_patterns[2]; /* owned: the ism_template patterns */
    size_t nism;
    int64_t prio_count; /* separators in the index prefix */
    char *bootstrap;    /* owned: alias: date-math name of the first index */
    bool is_static;     /* named by the configuration alone */
    enum es_step step;
    enum es_target_state state;
    unsigned int attempts;      /* failures in a row */
    unsigned int step_failures; /* failures of the current policy/template step */
    bool told_exceeded;
    int64_t if_seq_no; /* ISM policy to replace, from its GET */
    int64_t if_primary_term;
    bool have_seq;
    bool parked;              /* waits for a sibling working on the same policy */
    struct sk_timer *timer;   /* owned: backoff */
    struct es_setup_req *req; /* the request in flight, or NULL */
};

/* One file of `templates` (name => path). */
struct es_setup_file {
    char *name; /* owned */
    char *text; /* owned */
    size_t len;
};

struct es_setup {
    struct es_ctx *es; /* borrowed */
    const struct es_conf *conf;
    bool alias_mode;    /* enable_ilm or rollover_index */
    bool ilm;           /* enable_ilm */
    bool data_stream;   /* @type elasticsearch_data_stream */
    bool template_mode; /* template_name + template_file without alias_mode */
    bool logstash;
    int legacy_param; /* -1: chosen, 0: composable, 1: legacy (use_legacy_template) */

    /* Name templates (owned), expanded per chunk. */
    struct es_tmpl *alias_t;     /* deflector_alias or index_name */
    struct es_tmpl *prefix_t;    /* index_prefix or index_name */
    struct es_tmpl *ls_prefix_t; /* logstash_prefix */
    struct es_tmpl *app_t;
    struct es_tmpl *policy_t;
    struct es_tmpl *template_t;
    struct es_tmpl *ds_t;
    struct es_tmpl *ds_template_t;
    struct es_tmpl *ds_policy_t;
    struct es_tmpl **customize_t; /* values of customize_template */
    size_t ncustomize;

    /* Documents (owned). */
    char *ilm_policy;           /* ilm_policy / data_stream_ilm_policy, or NULL */
    struct sk_kvv ilm_policies; /* id => policy JSON */
    char *template_text;        /* template_file's content, or NULL */
    size_t template_len;
    struct es_setup_file *files; /* templates */
    size_t nfiles;

    /* Dialect (es_setup_version_ready). */
    bool version_known;
    enum es_lifecycle lc;
    bool composable_ok; /* the server has _index_template */
    bool require_alias;

    struct es_target *targets; /* owned list */
    size_t ntargets;
    struct sk_strv overwritten; /* "p:<id>" / "t:<name>" replaced in this run */
    bool started;
};

/* Names of one chunk (es_setup_begin_chunk). */
struct es_setup_names {
    char *alias;         /* owned, lower case */
    char *prefix;        /* owned, lower case */
    char *ls_head;       /* owned, lower case: logstash_prefix + separator */
    char *app;           /* owned, lower case */
    char *policy;        /* owned */
    char *template_name; /* owned, or NULL */
    struct sk_kvv customize;
    char *ds; /* owned: data stream name, policy, template */
    char *ds_policy;
    char *ds_template;
    struct sk_buf scratch; /* the body rewritten for a data stream */
};

/* es_setup_chunk.c, for tests too */
/* Fills bootstrap, pattern, ism_patterns and prio_count of an alias
 * target for the index `name` of a chunk with names `n`. SK_ENOMEM. */
int es_setup_alias_names(const struct es_setup *s, const struct es_setup_names *n, const char *name,
                         struct es_target *t) SK_WUR;
/* Data streams take only `create`: rewrites the {"index":{ action lines
 * (through n->scratch). SK_ENOMEM / SK_ETOOBIG. */
int es_setup_rewrite_create(struct es_setup_names *n, struct es_bulk_req *req) SK_WUR;

/* es_setup_run.c */
struct es_target *es_target_find(struct es_setup *s, enum es_target_kind kind, const char *name);
/* Takes ownership of t (freed on failure). Returns t, or NULL (SK_ENOMEM). */
struct es_target *es_target_add(struct es_setup *s, struct es_target *t);
void es_target_free(struct es_target *t);
/* Starts (or restarts) the steps of an IDLE target. */
void es_target_run(struct es_target *t);
/* Cancels timers and forgets running steps. */
void es_targets_stop(struct es_setup *s);

/* es_setup_req.c */
/* The template API for a template document (NULL: generated). */
enum es_template_api es_setup_template_api(const struct es_setup *s, const char *json, size_t len);
/* Appends `s` percent-encoded for a URL path segment. */
int es_setup_url_encode(struct sk_buf *out, const char *s) SK_WUR;
/* Appends to `url` (after base_url) and `body` the request of t's current
 * step; *method gets its method. SK_EINVAL with `err` (a policy with no
 * ISM form, a template that is not JSON), SK_ENOMEM, SK_ETOOBIG. */
int es_setup_build(const struct es_target *t, const char *base_url, struct sk_buf *url,
                   struct sk_buf *body, const char **method, char *err, size_t size) SK_WUR;
/* The output's common headers (at most n), with Content-Type:
 * application/json instead of content_type's when there is a body. */
size_t es_setup_headers(const struct es_ctx *es, bool body, struct sk_http_header *out, size_t n);

#endif
