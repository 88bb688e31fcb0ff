/*
 * AWS SigV4 for every request of the Elasticsearch output (es_auth.h):
 * the <endpoint> section, the credential provider's life cycle, and the
 * one signing helper that bulk, GET /, sniffing, probes and index set-up
 * requests all call right before sk_http_submit().
 */
#include "out_elasticsearch/es_auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/config.h"
#include "config/diag.h"
#include "log/log.h"
#include "out_elasticsearch/es.h"
#include "out_elasticsearch/es_aws_creds.h"
#include "out_elasticsearch/es_sigv4.h"
#include "util/alloc.h"

#define ES_AUTH_PLUGIN "aws-elasticsearch-service"
#define ES_AUTH_HOST_MAX 512
#define ES_AUTH_HEADERS_MAX 64
#define ES_AUTH_URL_MAX 65536

struct es_auth {
    struct es_aws_creds_conf conf; /* table-filled: sk_param_release */
    bool conf_applied;
    struct es_aws_creds *creds;    /* owned; NULL before start / after stop */
    struct es_sigv4_config sig;
    struct es_sigv4_key_cache cache;
    struct es_sigv4_result res;    /* the last signature: values of the added headers */
    char host[ES_AUTH_HOST_MAX];   /* the Host value of the last signature */
    char *scratch;                 /* owned: path and query of the last URL */
    size_t scratch_cap;
    struct sk_log_limit wait_log;
};

/* --- configuration --------------------------------------------------------------- */

static void auth_diag(struct sk_instance *ins, struct sk_diag *d, const struct sk_conf_section *sec,
                      const char *msg)
{
    char where[256];

    sk_diag_add(d, SK_DIAG_ERROR, sec != NULL ? sec->file : ins->section->file,
                sec != NULL ? sec->line : ins->section->line,
                sk_instance_where(ins, where, sizeof(where)), "%s", msg);
}

static struct sk_conf_section *find_endpoint(struct sk_instance *ins, int *count)
{
    struct sk_conf_section *found = NULL;

    *count = 0;
    for (size_t i = 0; i < ins->section->nchildren; i++) {
        struct sk_conf_section *s = ins->section->children[i];

        if (strcmp(s->name, "endpoint") == 0) {
            (*count)++;
            found = found != NULL ? found : s;
        }
    }
    return found;
}

/* Parameters that authenticate in another way: with SigV4 they would put
 * a second Authorization header on the request. */
static const char *conflicting_param(const struct es_conf *c)
{
    if (c->api_key != NULL) {
        return "api_key";
    }
    if (c->user != NULL || c->password != NULL) {
        return "user/password";
    }
    if (c->cloud_id != NULL || c->cloud_auth != NULL) {
        return "cloud_id/cloud_auth";
    }
    return NULL;
}

static int add_url_host(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d,
                        const struct sk_conf_section *sec)
{
    const char *url = es->auth->conf.url;
    bool https = strncasecmp(url, "https://", 8) == 0;
    char bad[256] = "";
    char msg[512];
    int rc;

    if (*url == '\0') {
        /* "#{ENV['AWS_ELASTICSEARCH_URL']}" with the variable unset here:
         * fine for --dry-run elsewhere, fatal at start. */
        char where[256];

        sk_diag_add(d, SK_DIAG_WARN, sec->file, sec->line,
                    sk_instance_where(ins, where, sizeof(where)), "%s",
                    "<endpoint> url is empty: nothing can be sent");
        return 0;
    }
    if (!https && strncasecmp(url, "http://", 7) != 0) {
        snprintf(msg, sizeof(msg), "<endpoint> url '%s' is not an http(s) URL", url);
        auth_diag(ins, d, sec, msg);
        return SK_ECONFIG;
    }
    if (strchr(url, '@') != NULL) {
        snprintf(msg, sizeof(msg), "<endpoint> url must not hold user:password (requests are "
                                   "signed with SigV4)");
        auth_diag(ins, d, sec, msg);
        return SK_ECONFIG;
    }
    rc = es_pool_add_hosts(&es->pool, url, https ? "https" : "http", https ? 443 : 80, NULL, NULL,
                           NULL, bad, sizeof(bad));
    if (rc == SK_EINVAL) {
        snprintf(msg, sizeof(msg), "<endpoint> url '%s' is invalid", bad);
        auth_diag(ins, d, sec, msg);
        return SK_ECONFIG;
    }
    return rc;
}

static int check_endpoint(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d,
                          const struct sk_conf_section *sec, bool aws_type)
{
    const struct es_aws_creds_conf *c = &es->auth->conf;
    const char *other = conflicting_param(es->conf);
    char msg[512];

    if (es_aws_creds_conf_validate(c, sec, d) < 0) {
        return SK_ECONFIG;
    }
    if (aws_type && c->url == NULL) {
        auth_diag(ins, d, sec, "<endpoint> needs url (https://search-<domain>.<region>.es.amazonaws.com)");
        return SK_ECONFIG;
    }
    if (es_aws_conf_region(c) == NULL) {
        /* Often "#{ENV['AWS_REGION']}" from the service's environment:
         * checked again at start, where it is fatal. */
        char where[256];

        sk_diag_add(d, SK_DIAG_WARN, sec->file, sec->line,
                    sk_instance_where(ins, where, sizeof(where)), "%s",
                    "<endpoint> has no region and neither AWS_REGION nor AWS_DEFAULT_REGION is "
                    "set: requests cannot be signed");
    }
    if (other != NULL) {
        snprintf(msg, sizeof(msg), "%s cannot be used with <endpoint>: requests are signed with "
                                   "AWS SigV4",
                 other);
        auth_diag(ins, d, sec, msg);
        return SK_ECONFIG;
    }
    return c->url != NULL ? add_url_host(es, ins, d, sec) : 0;
}

int es_auth_create(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d)
{
    bool aws_type = strcmp(ins->plugin->name, ES_AUTH_PLUGIN) == 0;
    int count = 0;
    struct sk_conf_section *sec = find_endpoint(ins, &count);
    struct es_auth *a;

    if (sec == NULL) {
        if (aws_type) {
            auth_diag(ins, d, NULL, "@type " ES_AUTH_PLUGIN " needs an <endpoint> section "
                                    "(url, region, credentials)");
            return SK_ECONFIG;
        }
        return 0;
    }
    if (count > 1) {
        auth_diag(ins, d, sec, "only one <endpoint> section is allowed");
        return SK_ECONFIG;
    }
    sec->used = true;
    a = sk_calloc(1, sizeof(*a));
    if (a == NULL) {
        return SK_ENOMEM;
    }
    es->auth = a;
    es_sigv4_key_cache_init(&a->cache);
    es_sigv4_result_init(&a->res);
    a->wait_log = (struct sk_log_limit)SK_LOG_LIMIT_INIT(10000, 3);
    a->conf_applied = true;
    if (sk_param_apply(es_aws_endpoint_params, sec, &a->conf, d) < 0) {
        return SK_ECONFIG;
    }
    return check_endpoint(es, ins, d, sec, aws_type);
}

bool es_auth_has_url(const struct es_ctx *es)
{
    return es->auth != NULL && es->auth->conf.url != NULL;
}

void es_auth_destroy(struct es_ctx *es)
{
    struct es_auth *a = es->auth;

    if (a == NULL) {
        return;
    }
    es_auth_stop(es);
    es_sigv4_result_cleanup(&a->res);
    es_sigv4_key_cache_cleanup(&a->cache);
    if (a->conf_applied) {
        sk_param_release(es_aws_endpoint_params, &a->conf);
    }
    sk_free(a->scratch);
    sk_free(a);
    es->auth = NULL;
}

/* --- life cycle ------------------------------------------------------------------- */

static void on_ready(void *arg)
{
    struct es_ctx *es = arg;

    sk_debug("%s: AWS credentials ready (from %s)", es->ins->id,
             es_aws_creds_source(es->auth->creds));
    if (!es->stopping && es->http != NULL && es->version_state == ES_VERSION_UNKNOWN &&
        es->conf->verify_es_version_at_startup) {
        es_version_detect(es);
    }
}

int es_auth_start(struct es_ctx *es)
{
    struct es_auth *a = es->auth;

    if (a == NULL) {
        return 0;
    }
    a->conf.sts_proxy = es->conf->proxy; /* a VPC without an STS endpoint: the same proxy */
    a->conf.sts_tls = NULL;
    a->sig.region = es_aws_conf_region(&a->conf);
    if (a->conf.url != NULL && a->conf.url[0] == '\0') {
        sk_error("%s: <endpoint> url is empty: nowhere to send", es->ins->id);
        return SK_ECONFIG;
    }
    if (a->sig.region == NULL) {
        sk_error("%s: <endpoint> has no region (nor AWS_REGION / AWS_DEFAULT_REGION): cannot "
                 "sign requests",
                 es->ins->id);
        return SK_ECONFIG;
    }
    a->sig.service = es_aws_conf_service(&a->conf);
    a->sig.flags = a->conf.aws_service_name == ES_AWS_SERVICE_AOSS ? ES_SIGV4_CONTENT_SHA256 : 0;
    a->creds = es_aws_creds_create(es->loop, es->http, &a->conf);
    if (a->creds == NULL) {
        return SK_ENOMEM;
    }
    es_aws_creds_on_ready(a->creds, on_ready, es);
    sk_info("%s: signing requests with AWS SigV4 (region %s, service %s)", es->ins->id,
            a->sig.region, a->sig.service);
    return 0;
}

void es_auth_stop(struct es_ctx *es)
{
    if (es->auth != NULL && es->auth->creds != NULL) {
        es_aws_creds_on_ready(es->auth->creds, NULL, NULL);
        es_aws_creds_destroy(es->auth->creds);
        es->auth->creds = NULL;
    }
}

bool es_auth_ready(const struct es_ctx *es)
{
    return es->auth == NULL ||
           (es->auth->creds != NULL && es_aws_creds_generation(es->auth->creds) > 0);
}

/* --- signing ---------------------------------------------------------------------- */

/* Splits `url` into the Host value (default port dropped, as sk_http sends
 * it), and NUL-terminated path and query in a->scratch. */
static int split_url(struct es_auth *a, const char *url, const char **path, const char **query)
{
    const char *sep = strstr(url, "://");
    const char *auth;
    size_t alen;
    size_t rest;
    char *q;

    if (sep == NULL) {
        return SK_EINVAL;
    }
    auth = sep + 3;
    alen = strcspn(auth, "/?#");
    for (const char *at = memchr(auth, '@', alen); at != NULL; at = memchr(auth, '@', alen)) {
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    if (sep - url == 5 && alen > 4 && memcmp(auth + alen - 4, ":443", 4) == 0) {
        alen -= 4; /* https */
    } else if (sep - url == 4 && alen > 3 && memcmp(auth + alen - 3, ":80", 3) == 0) {
        alen -= 3; /* http */
    }
    if (alen == 0 || alen >= sizeof(a->host)) {
        return SK_EINVAL;
    }
    memcpy(a->host, auth, alen);
    a->host[alen] = '\0';
    rest = strcspn(auth + alen, "#");
    if (rest + 2 > ES_AUTH_URL_MAX) {
        return SK_ETOOBIG;
    }
    if (rest + 2 > a->scratch_cap) {
        char *p = sk_realloc(a->scratch, rest + 2);

        if (p == NULL) {
            return SK_ENOMEM;
        }
        a->scratch = p;
        a->scratch_cap = rest + 2;
    }
    /* "/" for an empty path; the query after the first '?'. */
    if (rest == 0 || auth[alen] != '/') {
        a->scratch[0] = '/';
        memcpy(a->scratch + 1, auth + alen, rest);
        a->scratch[rest + 1] = '\0';
    } else {
        memcpy(a->scratch, auth + alen, rest);
        a->scratch[rest] = '\0';
    }
    q = strchr(a->scratch, '?');
    *query = "";
    if (q != NULL) {
        *q = '\0';
        *query = q + 1;
    }
    *path = a->scratch;
    return 0;
}

int es_auth_sign(struct es_ctx *es, const char *method, const char *url, const void *body,
                 size_t body_len, struct sk_http_header *hdrs, size_t n, size_t cap,
                 uint64_t *gen)
{
    struct es_auth *a = es->auth;
    struct es_sigv4_header sh[ES_AUTH_HEADERS_MAX];
    struct es_sigv4_request req;
    bool has_host = false;
    size_t k = 0;
    int rc;

    if (a == NULL) {
        return (int)n;
    }
    if (a->creds == NULL) {
        return SK_EAGAIN;
    }
    memset(&req, 0, sizeof(req));
    rc = split_url(a, url, &req.path, &req.query);
    if (rc < 0) {
        return rc;
    }
    for (size_t i = 0; i < n && k < ES_AUTH_HEADERS_MAX; i++) {
        has_host = has_host || strcasecmp(hdrs[i].name, "Host") == 0;
        sh[k].name = hdrs[i].name;
        sh[k++].value = hdrs[i].value;
    }
    if (k + 1 >= ES_AUTH_HEADERS_MAX || n + 1 + ES_SIGV4_MAX_ADDED > cap) {
        return SK_ETOOBIG;
    }
    if (!has_host) {
        /* Sent explicitly so that sk_http and a forwarding proxy keep exactly
         * the value signed (es-api.md §12.2). */
        sh[k].name = "Host";
        sh[k++].value = a->host;
    }
    req.method = method;
    req.headers = sh;
    req.nheaders = k;
    req.body = body != NULL ? body : "";
    req.body_len = body != NULL ? body_len : 0;
    rc = es_aws_creds_sign(a->creds, &a->sig, &req, time(NULL), &a->cache, &a->res, gen);
    if (rc == SK_EAGAIN) {
        sk_log_limited(&a->wait_log, SK_LOG_WARN,
                       "%s: no AWS credentials yet (%s); requests wait and are retried",
                       es->ins->id, es_aws_creds_source(a->creds));
        return rc;
    }
    if (rc < 0) {
        sk_log_limited(&a->wait_log, SK_LOG_ERROR, "%s: cannot sign %s %s: %s", es->ins->id,
                       method, req.path, sk_strerror(rc));
        return rc;
    }
    if (!has_host) {
        hdrs[n].name = "Host";
        hdrs[n++].value = a->host;
    }
    for (size_t i = 0; i < a->res.nheaders; i++) {
        hdrs[n].name = a->res.headers[i].name;
        hdrs[n++].value = a->res.headers[i].value;
    }
    return (int)n;
}

/* --- answers ---------------------------------------------------------------------- */

static bool body_has(const char *body, size_t len, const char *needle)
{
    size_t nl = strlen(needle);

    for (size_t i = 0; body != NULL && i + nl <= len; i++) {
        if (strncasecmp(body + i, needle, nl) == 0) {
            return true;
        }
    }
    return false;
}

bool es_auth_expired(struct es_ctx *es, uint64_t gen, int status, const char *body, size_t len)
{
    if (es->auth == NULL || es->auth->creds == NULL || !es_aws_token_expired(status, body, len)) {
        return false;
    }
    sk_warn("%s: the domain says the AWS security token expired; fetching new credentials (%s)",
            es->ins->id, es_aws_creds_source(es->auth->creds));
    if (gen == 0) {
        es_aws_creds_invalidate(es->auth->creds);
    } else {
        es_aws_creds_invalidate_gen(es->auth->creds, gen);
    }
    return true;
}

bool es_auth_refused(const struct es_ctx *es, int status, const char *body, size_t len)
{
    static const char *const words[] = {
        "security token included in the request is",
        "signature we calculated does not match",
        "Signature expired",
        "Signature not yet current",
        "Credential should be scoped",
        "Authorization header requires",
        NULL,
    };

    if (es->auth == NULL || status != 403) {
        return false;
    }
    for (size_t i = 0; words[i] != NULL; i++) {
        if (body_has(body, len, words[i])) {
            return true;
        }
    }
    return false;
}
