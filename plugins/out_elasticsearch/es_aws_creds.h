#ifndef SK_OUT_ELASTICSEARCH_ES_AWS_CREDS_H
#define SK_OUT_ELASTICSEARCH_ES_AWS_CREDS_H

/*
 * AWS credentials for signing requests to Amazon Elasticsearch / OpenSearch
 * Service: the <endpoint> section of fluent-plugin-aws-elasticsearch-service
 * and a provider object that finds credentials the way the AWS SDKs do,
 * keeps them fresh on the event loop and never blocks it.
 *
 *   <endpoint>
 *     url https://search-logs-abc.eu-west-1.es.amazonaws.com
 *     region eu-west-1
 *     assume_role_arn arn:aws:iam::123456789012:role/shipper   # optional
 *   </endpoint>
 *
 * Where the credentials come from (first that applies; es_aws_plan_make):
 *
 *   1 access_key_id + secret_access_key in <endpoint>      never expire
 *   2 assume_role_web_identity_token_file (+ assume_role_arn)   STS
 *   3 ecs_container_credentials_relative_uri                 ECS endpoint
 *   4 AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN],
 *     unless `profile` is set in <endpoint>
 *   5 shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and
 *     AWS_CONFIG_FILE (~/.aws/config), profile `profile` / AWS_PROFILE /
 *     "default": keys, or role_arn with web_identity_token_file,
 *     source_profile or credential_source
 *   6 AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME]
 *   7 AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI
 *     [+ AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)]
 *   8 EC2 instance metadata (IMDSv2 token, IMDSv1 fallback) unless
 *     AWS_EC2_METADATA_DISABLED=true
 *
 * then, when assume_role_arn is set (and 2 did not already use it), STS
 * AssumeRole signed with those credentials. Temporary credentials are
 * fetched again `credentials_refresh_before` before they expire (halfway
 * through their life when that is shorter), failures are logged with the
 * source's name and retried with a doubling wait. Secrets (secret key,
 * session token, web identity and container tokens) are never logged.
 *
 * Endpoints for tests and unusual networks: sts_endpoint (else
 * AWS_ENDPOINT_URL_STS, AWS_STS_ENDPOINT, https://sts.<region>.amazonaws.com),
 * imds_endpoint (else AWS_EC2_METADATA_SERVICE_ENDPOINT, http://169.254.169.254),
 * ecs_endpoint (base of relative container URIs, http://169.254.170.2).
 * Instance metadata and container endpoints are reached without a proxy;
 * STS through `sts_proxy`.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "param/param.h"
#include "util/err.h"

struct sk_loop;
struct sk_http;
struct sk_http_tls;
struct sk_diag;
struct sk_conf_section;
struct es_sigv4_creds;
struct es_aws_creds;

enum es_aws_service {
    ES_AWS_SERVICE_ES = 0,  /* managed domains */
    ES_AWS_SERVICE_AOSS = 1 /* OpenSearch Serverless */
};

/* The <endpoint> section. Filled by es_aws_endpoint_params (strings belong
 * to the param engine: sk_param_release(es_aws_endpoint_params, &conf)). */
struct es_aws_creds_conf {
    char *url;
    char *region;
    int aws_service_name; /* enum es_aws_service */
    char *access_key_id;
    char *secret_access_key;
    char *assume_role_arn;
    char *assume_role_session_name;
    char *assume_role_web_identity_token_file;
    char *assume_role_external_id;
    char *ecs_container_credentials_relative_uri;
    char *sts_credentials_region;
    char *sts_endpoint;
    char *imds_endpoint;
    char *ecs_endpoint;
    char *profile;
    int64_t credentials_timeout_ms;
    int64_t credentials_refresh_before_ms;
    int64_t credentials_retry_wait_ms;
    int64_t credentials_retry_max_wait_ms;

    /* Not in the table: set by the caller before es_aws_creds_create. */
    const char *sts_proxy;             /* borrowed; NULL: environment, "": none */
    const struct sk_http_tls *sts_tls; /* borrowed; NULL: system CA store, verified */
};

/* The parameter table of <endpoint> (NULL-terminated), for
 * sk_param_apply(es_aws_endpoint_params, endpoint_section, &conf, d). */
extern const struct sk_param_def es_aws_endpoint_params[];

/*
 * Cross-field checks after sk_param_apply: one of access_key_id /
 * secret_access_key without the other, a web identity token file without
 * assume_role_arn, endpoints that are not http(s) URLs, a relative URI not
 * starting with '/'. Problems go to `d` with `sec`'s location (sec may be
 * NULL). Returns 0 or SK_ECONFIG. Does not check url or region: the
 * output decides whether it needs them (see es_aws_conf_region).
 */
int es_aws_creds_conf_validate(const struct es_aws_creds_conf *conf,
                               const struct sk_conf_section *sec, struct sk_diag *d) SK_WUR;

/* The signing region: conf->region, else $AWS_REGION, else
 * $AWS_DEFAULT_REGION; NULL when none is set. Borrowed. */
const char *es_aws_conf_region(const struct es_aws_creds_conf *conf);

/* The SigV4 signing name for conf->aws_service_name: "es" or "aoss". */
const char *es_aws_conf_service(const struct es_aws_creds_conf *conf);

/*
 * Creates a provider for `conf` (copied: the provider keeps no pointer into
 * it except conf->sts_tls, which must outlive the provider) on `loop`,
 * fetching through `http` (borrowed; destroy the provider before the
 * client). Resolution starts at once: static keys are ready on return,
 * everything else arrives later on the loop. Returns NULL only when memory
 * runs out; a source that fails is logged and retried, never fatal.
 */
struct es_aws_creds *es_aws_creds_create(struct sk_loop *loop, struct sk_http *http,
                                         const struct es_aws_creds_conf *conf);

/*
 * Stops the timer, abandons a fetch in flight (its answer is dropped when it
 * comes), wipes the secrets and frees. Accepts NULL. Must not be called
 * from the ready callback.
 */
void es_aws_creds_destroy(struct es_aws_creds *p);

/*
 * Fills `out` with the current credentials: pointers into the provider,
 * valid until control returns to the loop or es_aws_creds_invalidate* is
 * called (sign and submit in the same callback: sk_http copies headers).
 * Returns 0, or SK_EAGAIN when there are none yet or they have expired
 * (a fetch is then in flight or scheduled: keep the events buffered and
 * retry later, or wait for the ready callback). `out` is untouched on
 * failure.
 */
int es_aws_creds_get(struct es_aws_creds *p, struct es_sigv4_creds *out) SK_WUR;

/*
 * es_aws_creds_get then es_sigv4_sign (see es_sigv4.h for cfg, req, now,
 * cache and out): signs `req` with the current credentials and sets *gen
 * (may be NULL) to their generation, to pass to es_aws_creds_invalidate_gen
 * if the domain answers that the token expired. The X-Amz-Security-Token
 * value in out borrows from the provider: submit before returning to the
 * loop. SK_EAGAIN when there are no credentials (out->nheaders is 0), else
 * what es_sigv4_sign returns.
 */
struct es_sigv4_config;
struct es_sigv4_request;
struct es_sigv4_key_cache;
struct es_sigv4_result;
int es_aws_creds_sign(struct es_aws_creds *p, const struct es_sigv4_config *cfg,
                      const struct es_sigv4_request *req, time_t now,
                      struct es_sigv4_key_cache *cache, struct es_sigv4_result *out,
                      uint64_t *gen) SK_WUR;

/* Increases each time new credentials are installed (0: none yet). Keep it
 * with a request to tell es_aws_creds_invalidate_gen what was refused. */
uint64_t es_aws_creds_generation(const struct es_aws_creds *p);

/*
 * A request signed with generation `gen` was refused because the token
 * expired (es_aws_token_expired): drops those credentials and fetches new
 * ones at once (not sooner than credentials_retry_wait after the previous
 * fetch began). Calls for an older generation, and calls while a fetch is
 * in flight, change nothing: many refused requests cause one refresh.
 * Keys that never expire are re-read (a rotated profile) but not dropped.
 */
void es_aws_creds_invalidate_gen(struct es_aws_creds *p, uint64_t gen);

/* es_aws_creds_invalidate_gen for the current generation. */
void es_aws_creds_invalidate(struct es_aws_creds *p);

/*
 * `cb(arg)` runs on the loop each time new credentials are installed
 * (after a start, a refresh, an invalidation), so callers that got
 * SK_EAGAIN can send at once. NULL cb turns it off. cb must not destroy
 * the provider.
 */
typedef void (*es_aws_ready_cb)(void *arg);
void es_aws_creds_on_ready(struct es_aws_creds *p, es_aws_ready_cb cb, void *arg);

/* Where the current credentials come from, for logs ("imds", "sts
 * assume-role on imds", ...); never NULL. */
const char *es_aws_creds_source(const struct es_aws_creds *p);

/*
 * True when an HTTP answer says the security token has expired: status
 * 400/401/403 and a body with "security token included in the request is
 * expired" (es-api.md §12.5) or STS's "ExpiredToken", any case.
 */
bool es_aws_token_expired(int status, const char *body, size_t len);

#endif
