#ifndef SK_OUT_ELASTICSEARCH_ES_AWS_CREDS_INT_H
#define SK_OUT_ELASTICSEARCH_ES_AWS_CREDS_INT_H

/*
 * The pieces of es_aws_creds*.c, for those files and the unit tests:
 * pure parsers (profile files, STS XML, metadata JSON, ISO 8601 times),
 * the chain decision, the refresh arithmetic, and the provider's state.
 * Nothing here reads the clock or the environment unless it says so.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/log.h"
#include "out_elasticsearch/es_aws_creds.h"
#include "util/buf.h"
#include "util/err.h"

#define ES_AWS_ANSWER_MAX (64u << 10)   /* bytes kept of any credentials answer */
#define ES_AWS_FILE_MAX (1u << 20)      /* profile files */
#define ES_AWS_TOKEN_FILE_MAX (64u << 10) /* web identity / container token files */
#define ES_AWS_MAX_ROLES 2              /* profile role, then assume_role_arn */
#define ES_AWS_IMDS_TOKEN_TTL_S 21600
#define ES_AWS_DEFAULT_SESSION "skiff"
#define ES_AWS_REFUSED_MAX 132          /* an access key id and its NUL */
#define ES_AWS_MAX_REFUSALS 3           /* fetches that may return a refused key */

/* One set of credentials; every string owned. */
struct es_aws_key {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL for long-term keys */
    int64_t expiration;  /* seconds since the epoch (UTC); 0: does not expire */
};

/* Copies the strings (token may be NULL or ""). 0 or SK_ENOMEM (k is then
 * cleared). Replaces what k held. */
int es_aws_key_set(struct es_aws_key *k, const char *akid, const char *secret,
                   const char *token, int64_t expiration) SK_WUR;

/* Moves src into dst (dst's old content is wiped); src becomes empty. */
void es_aws_key_move(struct es_aws_key *dst, struct es_aws_key *src);

/* Wipes the secrets and frees; k becomes empty. Accepts NULL. */
void es_aws_key_clear(struct es_aws_key *k);

/* "ASIA****WXYZ": the first and last four characters, for logs. */
void es_aws_key_mask(const char *akid, char out[16]);

/* Frees a string after overwriting it. Accepts NULL. */
void es_aws_wipe_free(char *s);

/* ------------------------------------------------------------------ */
/* Parsers (es_aws_parse.c)                                            */
/* ------------------------------------------------------------------ */

/*
 * ISO 8601 UTC time as AWS writes it: "2026-11-23T19:00:00Z", with optional
 * fractional seconds and a "Z", "+hh:mm", "-hhmm" or no zone (UTC), 't'
 * or ' ' as separator. *out = seconds since the epoch. SK_EPARSE otherwise
 * (also for out-of-range fields; years 1970-9999).
 */
int es_aws_parse_time(const char *s, size_t len, int64_t *out) SK_WUR;

/*
 * Finds the first element <tag> (any attributes, no namespace prefix
 * matching) in xml[0..len) and sets *val, *vlen to its raw content (up to
 * the matching </tag>). Returns 0 or SK_ENOENT. Tolerant: skips comments,
 * processing instructions and CDATA markers are left in the content.
 */
int es_aws_xml_find(const char *xml, size_t len, const char *tag, const char **val,
                    size_t *vlen) SK_WUR;

/* Appends content with the five XML entities and &#N; / &#xN; decoded and
 * surrounding whitespace trimmed. SK_ETOOBIG, SK_ENOMEM. */
int es_aws_xml_text(const char *val, size_t vlen, struct sk_buf *out) SK_WUR;

/*
 * An STS answer (AssumeRole / AssumeRoleWithWebIdentity): the Credentials
 * element's AccessKeyId, SecretAccessKey, SessionToken and Expiration into
 * `out`. An ErrorResponse gives SK_EPROTO with "Code: Message" appended to
 * `err` (may be NULL); a malformed or incomplete answer SK_EPARSE (with a
 * reason in err); SK_ENOMEM. out is unchanged on failure.
 */
int es_aws_parse_sts(const char *xml, size_t len, struct es_aws_key *out,
                     struct sk_buf *err) SK_WUR;

/*
 * An instance metadata or container credentials answer (JSON):
 * AccessKeyId, SecretAccessKey, Token, Expiration; "Code" other than
 * "Success" is SK_EPROTO with "Code: Message" in err. SK_EPARSE for bad
 * JSON or missing keys, SK_ENOMEM. out is unchanged on failure.
 */
int es_aws_parse_json_creds(const char *json, size_t len, struct es_aws_key *out,
                            struct sk_buf *err) SK_WUR;

/* The role name from GET .../iam/security-credentials/: the first line,
 * trimmed; it must be [A-Za-z0-9+=,.@_-]{1,128}. Appends it to out.
 * SK_EPARSE otherwise. */
int es_aws_parse_imds_role(const char *text, size_t len, struct sk_buf *out) SK_WUR;

/*
 * Splits an http(s) URL: *host and *host_len = the authority without userinfo
 * ("127.0.0.1:8080", "[::1]:80", "sts.amazonaws.com"), *path = what follows
 * it ("" or "/..."). *https says the scheme. SK_EINVAL for other schemes,
 * an empty host, a query or fragment in the base.
 */
int es_aws_url_split(const char *url, bool *https, const char **host, size_t *host_len,
                     const char **path) SK_WUR;

/* Appends s percent-encoded for a form body (RFC 3986 unreserved kept). */
int es_aws_form_escape(struct sk_buf *out, const char *s) SK_WUR;

/* Whether a container credentials URL may be used over plain http: the
 * host is loopback (127.x, ::1, localhost) or an ECS/EKS agent address
 * (169.254.170.2, 169.254.170.23, fd00:ec2::23). https is always fine. */
bool es_aws_ecs_url_allowed(const char *url);

/* ------------------------------------------------------------------ */
/* Shared credentials / config files (es_aws_profile.c)                */
/* ------------------------------------------------------------------ */

/* The settings of one profile that matter here; strings owned. */
struct es_aws_profile {
    bool found;
    char *aws_access_key_id;
    char *aws_secret_access_key;
    char *aws_session_token;
    char *role_arn;
    char *source_profile;
    char *credential_source;
    char *web_identity_token_file;
    char *role_session_name;
    char *external_id;
    char *region;
    bool unsupported; /* credential_process or sso_* */
};

void es_aws_profile_clear(struct es_aws_profile *p);

/*
 * Reads profile `name` from file text (INI as the AWS CLI reads it):
 * credentials file sections are "[name]"; config file sections are
 * "[profile name]" or "[default]" (config_file true). '#' and ';' start
 * comment lines (and inline comments after a blank); keys are
 * case-insensitive; blanks around '=' are trimmed; lines indented deeper
 * than the key before them continue it (nested settings) and are skipped.
 * Keys found fill `out` (a later value replaces an earlier one; values of
 * a profile already in out are replaced key by key), out->found is set
 * when the section exists. Returns 0 or SK_ENOMEM.
 */
int es_aws_profile_parse(const char *text, size_t len, const char *name, bool config_file,
                         struct es_aws_profile *out) SK_WUR;

/*
 * Reads profile `name` from the config file then the credentials file
 * (whose keys win), either may be NULL or missing. 0, SK_ENOMEM, SK_EIO
 * (a file that exists but cannot be read), SK_ETOOBIG (> ES_AWS_FILE_MAX).
 */
int es_aws_profile_load(const char *credentials_path, const char *config_path, const char *name,
                        struct es_aws_profile *out) SK_WUR;

/* Reads a token file (web identity, container authorization) into buf
 * (initialised here; the caller cleans it up, wiping it), blanks trimmed.
 * 0, SK_ENOENT, SK_EIO, SK_ETOOBIG (> ES_AWS_TOKEN_FILE_MAX), SK_EPARSE
 * (empty), SK_ENOMEM. */
int es_aws_read_token_file(const char *path, struct sk_buf *buf) SK_WUR;

/* ------------------------------------------------------------------ */
/* The chain (es_aws_plan.c)                                           */
/* ------------------------------------------------------------------ */

/* The environment variables the chain reads; NULL when unset. */
struct es_aws_env {
    const char *access_key_id;           /* AWS_ACCESS_KEY_ID */
    const char *secret_access_key;       /* AWS_SECRET_ACCESS_KEY */
    const char *session_token;           /* AWS_SESSION_TOKEN */
    const char *profile;                 /* AWS_PROFILE */
    const char *shared_credentials_file; /* AWS_SHARED_CREDENTIALS_FILE */
    const char *config_file;             /* AWS_CONFIG_FILE */
    const char *home;                    /* HOME */
    const char *web_identity_token_file; /* AWS_WEB_IDENTITY_TOKEN_FILE */
    const char *role_arn;                /* AWS_ROLE_ARN */
    const char *role_session_name;       /* AWS_ROLE_SESSION_NAME */
    const char *ecs_relative_uri;        /* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI */
    const char *ecs_full_uri;            /* AWS_CONTAINER_CREDENTIALS_FULL_URI */
    const char *ecs_auth_token;          /* AWS_CONTAINER_AUTHORIZATION_TOKEN */
    const char *ecs_auth_token_file;     /* AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE */
    const char *imds_disabled;           /* AWS_EC2_METADATA_DISABLED */
    const char *imds_v1_disabled;        /* AWS_EC2_METADATA_V1_DISABLED */
    const char *imds_endpoint;           /* AWS_EC2_METADATA_SERVICE_ENDPOINT */
    const char *imds_endpoint_mode;      /* AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE */
    const char *sts_endpoint_url;        /* AWS_ENDPOINT_URL_STS */
    const char *sts_endpoint;            /* AWS_STS_ENDPOINT */
    const char *region;                  /* AWS_REGION */
    const char *default_region;          /* AWS_DEFAULT_REGION */
};

/* Copies the variables from the process environment (strings owned:
 * es_aws_env_free). 0 or SK_ENOMEM (env then freed). */
int es_aws_env_read(struct es_aws_env *env) SK_WUR;
void es_aws_env_free(struct es_aws_env *env);

enum es_aws_source {
    ES_AWS_SRC_NONE = 0,
    ES_AWS_SRC_CONFIG,       /* keys in <endpoint> */
    ES_AWS_SRC_ENV,          /* AWS_ACCESS_KEY_ID ... */
    ES_AWS_SRC_PROFILE,      /* keys in the shared files */
    ES_AWS_SRC_WEB_IDENTITY, /* STS AssumeRoleWithWebIdentity */
    ES_AWS_SRC_ECS,          /* container credentials endpoint */
    ES_AWS_SRC_IMDS,         /* EC2 instance metadata */
};

/* "config", "environment", "profile", "web-identity", "ecs", "imds". */
const char *es_aws_source_name(enum es_aws_source s);

struct es_aws_role {
    const char *arn;
    const char *session_name;
    const char *external_id; /* NULL: none */
};

/* What to do; every string borrowed from the inputs of es_aws_plan_make. */
struct es_aws_plan {
    enum es_aws_source source;
    const char *profile_name;  /* the profile used, for logs; NULL */
    /* CONFIG, ENV, PROFILE */
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL: none */
    /* WEB_IDENTITY */
    const char *wi_role_arn;
    const char *wi_token_file;
    const char *wi_session_name;
    /* ECS: ecs_base (NULL for a full URI) + ecs_uri */
    const char *ecs_base;
    const char *ecs_uri;
    const char *ecs_auth_token;      /* NULL: none */
    const char *ecs_auth_token_file; /* NULL: none; wins over the token */
    /* IMDS */
    const char *imds_endpoint;
    bool imds_v1_fallback;
    /* AssumeRole calls on top, in order */
    struct es_aws_role roles[ES_AWS_MAX_ROLES];
    size_t nroles;
};

/*
 * Chooses the source per the order in es_aws_creds.h from the <endpoint>
 * settings, the environment and the selected profile `prof` (found or not;
 * its name is conf->profile, else env->profile, else "default") with
 * `source` (its source_profile, when it names one). Pure.
 *
 * Returns 0 with *out filled, or SK_ENOENT when no source applies, or
 * SK_ECONFIG for a broken setting (half a key pair, a named profile that
 * does not exist, a role without a way to get base credentials,
 * credential_process/SSO, a container URL that is neither https nor a
 * local agent); *why then names the problem (static string).
 */
int es_aws_plan_make(const struct es_aws_creds_conf *conf, const struct es_aws_env *env,
                     const struct es_aws_profile *prof, const struct es_aws_profile *source,
                     struct es_aws_plan *out, const char **why) SK_WUR;

/* The profile name the chain uses: conf->profile, env->profile, "default". */
const char *es_aws_profile_name(const struct es_aws_creds_conf *conf,
                                const struct es_aws_env *env);

/* The paths of the shared files: AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE,
 * else $HOME/.aws/credentials and $HOME/.aws/config. Appended to the
 * buffers (reset first); a buffer stays empty when nothing applies. */
int es_aws_profile_paths(const struct es_aws_env *env, struct sk_buf *credentials,
                         struct sk_buf *config) SK_WUR;

/* The STS endpoint and its signing region: conf->sts_endpoint,
 * AWS_ENDPOINT_URL_STS, AWS_STS_ENDPOINT, else https://sts.<region>.
 * amazonaws.com(.cn) for the region (sts_credentials_region, region,
 * AWS_REGION, AWS_DEFAULT_REGION, the profile's region) or
 * https://sts.amazonaws.com with us-east-1. Appends the URL to `url`;
 * *region borrowed from the inputs or static. */
int es_aws_sts_target(const struct es_aws_creds_conf *conf, const struct es_aws_env *env,
                      const struct es_aws_profile *prof, struct sk_buf *url,
                      const char **region) SK_WUR;

/* The metadata endpoint: conf->imds_endpoint, AWS_EC2_METADATA_SERVICE_ENDPOINT,
 * http://[fd00:ec2::254] for ENDPOINT_MODE IPv6, else http://169.254.169.254. */
const char *es_aws_imds_endpoint(const struct es_aws_creds_conf *conf,
                                 const struct es_aws_env *env);

/* ------------------------------------------------------------------ */
/* Timing (es_aws_parse.c)                                             */
/* ------------------------------------------------------------------ */

/*
 * Milliseconds from `now` (epoch seconds) until credentials expiring at
 * `expiration` should be fetched again: `before_ms` ahead of expiry, but
 * never later than halfway through what is left (short-lived credentials),
 * at least 100 ms. -1 for credentials that do not expire (0).
 */
int64_t es_aws_refresh_delay_ms(int64_t now, int64_t expiration, int64_t before_ms);

/* Wait after `failures` (>= 1) failed fetches in a row: wait_ms doubled per
 * failure, at most max_ms. */
int64_t es_aws_backoff_ms(unsigned failures, int64_t wait_ms, int64_t max_ms);

/* ------------------------------------------------------------------ */
/* The provider (es_aws_creds.c, es_aws_fetch.c)                       */
/* ------------------------------------------------------------------ */

enum es_aws_step {
    ES_AWS_STEP_IDLE = 0,
    ES_AWS_STEP_IMDS_TOKEN,
    ES_AWS_STEP_IMDS_ROLE,
    ES_AWS_STEP_IMDS_CREDS,
    ES_AWS_STEP_ECS,
    ES_AWS_STEP_WEB_IDENTITY,
    ES_AWS_STEP_ASSUME_ROLE,
};

struct es_aws_op;
struct sk_timer;

/* One fetch: the plan and what it has produced so far. */
struct es_aws_fetch {
    struct es_aws_env env;     /* owned copies */
    struct es_aws_profile prof;
    struct es_aws_profile source;
    struct es_aws_plan plan;   /* borrows from conf, env, prof, source */
    struct es_aws_key key;     /* credentials so far (base, then each role) */
    size_t role;               /* next role to assume */
    bool imds_v1;              /* no token: IMDSv1 */
    bool imds_retried;         /* token refetched after a 401 */
    struct sk_buf role_name;   /* IMDS role */
    struct sk_buf sts_url;
    const char *sts_region;
    int64_t started_ms;
};

struct es_aws_creds {
    struct sk_loop *loop;  /* borrowed */
    struct sk_http *http;  /* borrowed */
    struct es_aws_creds_conf conf; /* strings owned (copies) */
    struct sk_timer *timer; /* owned: refresh / retry */
    struct es_aws_op *op;   /* request in flight, or NULL */
    enum es_aws_step step;
    bool busy;              /* a fetch is running */
    bool http_closed;       /* the client went away: stop fetching */
    struct es_aws_fetch fetch;

    struct es_aws_key cur;  /* installed credentials */
    uint64_t gen;
    bool have;              /* cur is usable (not dropped) */
    enum es_aws_source cur_source;
    size_t cur_nroles;
    char source_desc[64];
    char refused_akid[ES_AWS_REFUSED_MAX]; /* refused as expired, not to be taken back */
    unsigned refusals;      /* fetches that returned it since */

    char *imds_token;       /* owned, wiped */
    int64_t imds_token_until_ms;

    unsigned failures;
    int64_t last_fetch_ms;  /* loop time the last fetch began */
    struct sk_buf err;      /* why the current fetch failed */
    struct sk_log_limit refuse_log;
    es_aws_ready_cb ready_cb;
    void *ready_arg;
};

/* es_aws_fetch.c: runs the network part of p->fetch per its plan (the base
 * source, then each role); always ends in es_aws_fetch_done, possibly
 * before returning. */
void es_aws_fetch_begin(struct es_aws_creds *p);

/* es_aws_fetch.c: the provider is going away; the request's answer will
 * be dropped and its storage freed when it comes. */
void es_aws_op_detach(struct es_aws_op *op);

/* es_aws_creds.c: the fetch ended; rc 0 means p->fetch.key holds the
 * credentials, else p->err says why (never a secret). */
void es_aws_fetch_done(struct es_aws_creds *p, int rc);

#endif
