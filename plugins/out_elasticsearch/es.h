#ifndef SK_OUT_ELASTICSEARCH_ES_H
#define SK_OUT_ELASTICSEARCH_ES_H

/*
 * out_elasticsearch internals shared by es.c (descriptor, parameters, life
 * cycle), es_flush.c (one chunk -> _bulk requests -> verdicts) and
 * es_cluster.c (version detection, sniffing, connection state logs).
 * Everything runs on the loop thread.
 *
 *   flush(chunk) --> job --(version known?)--> encode slice --> POST /_bulk
 *                     ^          | no: GET / first       |          |
 *                     |          v                       |     answer/verdict
 *                     +---- next slice <-----------------+----------+
 *                     finish: sk_flush_done(OK | RETRY with the events owed)
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "out_elasticsearch/es_bulk.h"
#include "out_elasticsearch/es_index.h"
#include "out_elasticsearch/es_info.h"
#include "out_elasticsearch/es_mp.h"
#include "out_elasticsearch/es_pool.h"
#include "out_elasticsearch/es_response.h"
#include "plugin/plugin.h"

struct sk_loop;
struct sk_timer;
struct sk_timefmt;

/* Filled by the parameter table (storage per param.h). */
struct es_conf {
    /* where */
    char *host;
    int64_t port;
    int scheme; /* 0 http, 1 https */
    char *path;
    char *hosts;
    char *user;
    char *password;
    char *cloud_id;
    char *cloud_auth;
    char *api_key;
    char *proxy;
    struct sk_kvv custom_headers;
    int content_type;
    int compression_level;
    char *bulk_message_request_threshold;
    int64_t request_timeout_ms;
    /* TLS */
    bool ssl_verify;
    char *ca_file;
    char *client_cert;
    char *client_key;
    char *client_key_pass;
    int ssl_version;
    int ssl_min_version;
    int ssl_max_version;
    /* pool */
    bool reload_connections;
    bool reload_on_failure;
    int64_t reload_after;
    int64_t resurrect_after_ms;
    bool reconnect_on_error;
    char *sniffer_class_name;
    /* version */
    bool verify_es_version_at_startup;
    int64_t default_elasticsearch_version;
    int64_t max_retry_get_es_version;
    bool fail_on_detecting_es_version_retry_exceed;
    char *type_name;
    bool suppress_type_name;
    /* index */
    bool logstash_format;
    char *logstash_prefix;
    char *logstash_prefix_separator;
    char *logstash_dateformat;
    bool utc_index;
    char *index_name;
    char *target_index_key;
    char *target_type_key;
    bool include_index_in_url;
    /* record */
    char *time_key;
    char *time_key_format;
    bool time_key_exclude_timestamp;
    int64_t time_precision;
    bool include_timestamp;
    bool include_tag_key;
    char *tag_key;
    char *id_key;
    char *parent_key;
    char *routing_key;
    char *remove_keys;
    char *remove_keys_on_update;
    char *remove_keys_on_update_key;
    int write_operation;
    char *pipeline;
    bool emit_error_for_missing_id;
    bool suppress_doc_wrap;
    bool flatten_hashes;
    char *flatten_hashes_separator;
    struct sk_strv unrecoverable_error_types;
    /* Index management: templates, ILM/ISM, rollover aliases, data
     * streams (es_setup.h). */
    char *template_name;
    char *template_file;
    bool template_overwrite;
    struct sk_kvv customize_template;
    struct sk_kvv templates;
    int64_t max_retry_putting_template;
    bool fail_on_putting_template_retry_exceed;
    bool use_legacy_template; /* unset: chosen from the server (es_setup.c) */
    bool rollover_index;
    char *index_date_pattern;
    char *index_separator;
    char *deflector_alias;
    char *index_prefix;
    char *application_name;
    bool enable_ilm;
    char *ilm_policy_id;
    struct sk_kvv ilm_policy;   /* validated here; es_setup.c reads the raw JSON */
    struct sk_kvv ilm_policies;
    bool ilm_policy_overwrite;
    int lifecycle_api;          /* 0 auto, 1 ilm, 2 ism, 3 opendistro_ism */
    char *data_stream_name;
    char *data_stream_template_name;
    char *data_stream_ilm_name;
    char *data_stream_ilm_policy;
    bool data_stream_ilm_policy_overwrite;
    bool data_stream_template_use_index_patterns_wildcard;
    /* Accepted for compatibility, meaningless here (SK_PARAM_IGNORED). */
    char *ign_time_parse_error_tag;
    char *ign_http_backend;
    char *ign_selector_class_name;
    char *ign_retry_tag;
    char *ign_ignore_exceptions;
    bool ign_log_es_400_reason;
    bool ign_with_transporter_log;
    bool ign_http_backend_excon_nonblock;
    bool ign_prefer_oj_serializer;
    bool ign_validate_client_version;
    bool ign_exception_backup;
    bool ign_catch_transport_exception_on_retry;
};

/* Counters: nothing leaves the output without being counted here. */
struct es_stats {
    uint64_t requests;
    uint64_t request_failures;
    uint64_t bytes_sent;
    uint64_t events_ok;
    uint64_t duplicates;
    uint64_t skipped;
    uint64_t retried;   /* events handed back to the buffer */
    uint64_t rejected;  /* events sent to @ERROR / the error log */
    uint64_t dropped;   /* events without _id for create/update/upsert */
    uint64_t aborted;   /* unrecoverable_error_types */
    uint64_t time_fallbacks;
    uint64_t splits;    /* requests halved after 413 / 400 */
};

enum es_version_state {
    ES_VERSION_UNKNOWN,
    ES_VERSION_DETECTING,
    ES_VERSION_KNOWN,
};

struct es_job;
struct es_setup;
struct es_auth;

/* A flush's large buffers. One set is kept between chunks (es_ctx.spare)
 * so that each chunk does not fault megabytes of fresh pages in again. */
struct es_job_mem {
    struct es_bulk_req req;
    struct sk_buf gz;
    struct es_item *items;
    size_t items_cap;
    struct sk_buf reasons; /* the items' reasons */
};

/* The instance's runtime state (ins->ctx). */
struct es_ctx {
    struct sk_instance *ins;   /* borrowed */
    const struct es_conf *conf; /* borrowed (engine-owned) */
    struct sk_loop *loop;      /* borrowed */
    struct sk_http *http;      /* owned; NULL before start / after stop */
    struct es_pool pool;
    struct sk_http_tls tls;
    bool stopping;

    /* Request headers common to every request (names/values owned). */
    struct sk_http_header *headers;
    size_t nheaders;
    char *auth_header; /* owned: "ApiKey ..." value, or NULL */
    const char *user;  /* borrowed: from conf or cloud_auth storage */
    const char *password;
    char *cloud_user;  /* owned */
    char *cloud_password;

    /* Settings resolved at init. */
    struct es_bulk_conf bulk;  /* template; each job copies and completes it */
    struct es_path paths[5];   /* id, parent, routing, target_index, target_type */
    struct es_key *remove_keys;
    struct es_key *remove_keys_on_update;
    char *key_storage;         /* owned: the strings the es_key arrays point into */
    struct sk_timefmt *time_key_format;
    struct es_tmpl *pipeline;  /* owned, or NULL */
    struct es_index_conf index_conf;
    size_t limit;              /* bulk_message_request_threshold (bytes) */
    size_t learned_limit;      /* a size that passed after a 413, or 0 */
    int gzip_level;            /* -1: no compression */
    int64_t reload_after;      /* sniff every N requests; 0: never */
    bool sniff_on_failure;

    /* Server dialect. */
    enum es_version_state version_state;
    struct es_version version;
    int64_t version_attempts;
    bool typeless;             /* a server refused _type: never send it again */
    struct es_dialect dialect;

    /* Back-off requested by the server (Retry-After), loop clock. */
    int64_t backoff_until_ms;
    /* Single-document requests refused with 400 in a row (see es_flush.c). */
    unsigned int bad_request_streak;
    bool sniff_empty_logged;

    /* Jobs (one per chunk being flushed). */
    struct es_job *jobs;
    struct es_job_mem spare;
    bool has_spare;
    bool reconnect_next;       /* reconnect_on_error: a request failed */
    bool sniffing;
    size_t probes_in_flight;

    /* Index management (es_setup.h): owned, NULL when there is none. */
    struct es_setup *setup;
    /* AWS SigV4 (es_auth.h): owned, NULL without an <endpoint> section. */
    struct es_auth *auth;

    struct es_stats stats;
    struct sk_log_limit reject_log;
    struct sk_log_limit drop_log;
    struct sk_log_limit time_log;
    struct sk_log_limit fail_log;
};

/* es.c: the parameter table, shared with @type aws-elasticsearch-service. */
extern const struct sk_param_def es_params[];

/* es_flush.c */
int es_flush(struct sk_flush *f);
/* Frees the kept flush buffers (at destroy). */
void es_job_mem_cleanup(struct es_job_mem *m);
/* Completes every job (SK_FLUSH_RETRY with what it still owes). */
void es_jobs_abort(struct es_ctx *es);
/* The version became known (or detection failed): start or fail waiting jobs. */
void es_jobs_version_ready(struct es_ctx *es, bool ok);
/* Appends the common headers and `extra` into `out` (room for n); returns the count. */
size_t es_build_headers(const struct es_ctx *es, const struct sk_http_header *extra, size_t nextra,
                        struct sk_http_header *out, size_t n);

/* es_cluster.c */
void es_pool_log(const struct es_host *h, enum es_pool_event ev, const char *reason, void *arg);
/* Starts GET / on some host unless already running. */
void es_version_detect(struct es_ctx *es);
/* Uses default_elasticsearch_version without asking the server. */
void es_version_assume_default(struct es_ctx *es, const char *why);
/* Starts a `_nodes/http` sniff unless one is running. */
void es_sniff(struct es_ctx *es, const char *why);
/* After each bulk request: sniffs every reload_after requests. */
void es_after_request(struct es_ctx *es);
/* Warns when sniffing is on for a managed endpoint or through a proxy. */
void es_warn_sniffing(const struct es_ctx *es);

#endif
