/*
 * Talking to the cluster about itself: the version (GET /, which decides
 * the bulk dialect), sniffing (GET /_nodes/http, merged by es_pool.c so it
 * can never empty the pool), probes of sniffed hosts (HEAD /), and the log
 * line for every connection state change.
 */
#include "out_elasticsearch/es.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_url.h"
#include "loop/loop.h"
#include "out_elasticsearch/es_auth.h"
#include "util/alloc.h"

#define ES_CLUSTER_HEADERS 24
#define ES_SNIFF_MAX_NODES 256
#define ES_INFO_RESPONSE_MAX (16u << 20)

enum cluster_kind {
    REQ_VERSION,
    REQ_SNIFF,
    REQ_PROBE,
};

struct cluster_req {
    struct es_ctx *es;
    enum cluster_kind kind;
    struct es_host *host; /* a pool reference */
    struct sk_buf url;
    struct sk_http_header hdrs[ES_CLUSTER_HEADERS];
    struct sk_http_request http;
};

static void req_free(struct cluster_req *r)
{
    if (r == NULL) {
        return;
    }
    es_pool_put(&r->es->pool, r->host);
    sk_buf_cleanup(&r->url);
    sk_free(r);
}

/* Sends `method` `path` to `host` (a reference the request takes over). */
static int cluster_send(struct es_ctx *es, enum cluster_kind kind, struct es_host *host,
                        const char *method, const char *path, sk_http_cb cb)
{
    struct cluster_req *r;
    int rc;

    if (host == NULL) {
        return SK_EINVAL;
    }
    r = sk_calloc(1, sizeof(*r));
    if (r == NULL) {
        es_pool_put(&es->pool, host);
        return SK_ENOMEM;
    }
    r->es = es;
    r->kind = kind;
    r->host = host;
    sk_buf_init(&r->url, 8192);
    rc = sk_buf_printf(&r->url, "%s%s", host->base_url, path);
    if (rc == 0) {
        r->http.method = method;
        r->http.url = r->url.data;
        r->http.headers = r->hdrs;
        rc = es_auth_sign(es, method, r->url.data, NULL, 0, r->hdrs,
                          es_build_headers(es, NULL, 0, r->hdrs, ES_CLUSTER_HEADERS),
                          ES_CLUSTER_HEADERS, NULL);
        r->http.nheaders = rc >= 0 ? (size_t)rc : 0;
        r->http.user = host->user;
        r->http.password = host->password;
        r->http.proxy = es->conf->proxy;
        r->http.tls = &es->tls;
        r->http.timeout_ms = es->conf->request_timeout_ms;
        r->http.connect_timeout_ms = es->conf->request_timeout_ms;
        r->http.max_response = ES_INFO_RESPONSE_MAX;
        rc = rc >= 0 ? sk_http_submit(es->http, &r->http, cb, r) : rc;
    }
    if (rc < 0) {
        req_free(r);
    }
    return rc;
}

/* --- connection state logs ----------------------------------------------------------- */

void es_pool_log(const struct es_host *h, enum es_pool_event ev, const char *reason, void *arg)
{
    struct es_ctx *es = arg;
    const char *id = es->ins->id;

    switch (ev) {
    case ES_POOL_DEAD:
        sk_warn("%s: connection %s is dead (%s); trying it again in %lld s", id, h->label,
                reason != NULL ? reason : "failed", (long long)(es->pool.resurrect_after_ms / 1000));
        break;
    case ES_POOL_RESURRECTED:
        sk_info("%s: connection %s is alive again", id, h->label);
        break;
    case ES_POOL_ADDED:
        sk_info("%s: sniffing found %s; probing it before use", id, h->label);
        break;
    case ES_POOL_PROBE_OK:
        sk_info("%s: %s answered; now in use", id, h->label);
        break;
    case ES_POOL_REMOVED:
        sk_info("%s: %s left the pool (%s)", id, h->label, reason != NULL ? reason : "");
        break;
    case ES_POOL_LAST_RESORT:
        sk_error("%s: every Elasticsearch connection is dead; trying %s anyway", id, h->label);
        break;
    }
}

/* --- version ---------------------------------------------------------------------------- */

static void set_dialect(struct es_ctx *es)
{
    es_dialect_for(es->version.opensearch, es->version.major, es->conf->type_name,
                   es->conf->suppress_type_name, &es->dialect);
    es->version_state = ES_VERSION_KNOWN;
}

void es_version_assume_default(struct es_ctx *es, const char *why)
{
    memset(&es->version, 0, sizeof(es->version));
    es->version.major = (int)es->conf->default_elasticsearch_version;
    snprintf(es->version.number, sizeof(es->version.number), "%d", es->version.major);
    set_dialect(es);
    if (why != NULL) {
        sk_warn("%s: %s; assuming Elasticsearch %d (default_elasticsearch_version)", es->ins->id,
                why, es->version.major);
    }
}

static void version_failed(struct es_ctx *es, const char *reason)
{
    char why[ES_REASON_MAX + 64];

    es->version_attempts++;
    if (!es->conf->fail_on_detecting_es_version_retry_exceed &&
        es->version_attempts > es->conf->max_retry_get_es_version) {
        snprintf(why, sizeof(why), "cannot read the server version after %lld attempts (%s)",
                 (long long)es->version_attempts, reason);
        es_version_assume_default(es, why);
        es_jobs_version_ready(es, true);
        return;
    }
    es->version_state = ES_VERSION_UNKNOWN;
    sk_log_limited(&es->fail_log, SK_LOG_ERROR,
                   "%s: cannot read the Elasticsearch version (attempt %lld): %s; chunks wait",
                   es->ins->id, (long long)es->version_attempts, reason);
    es_jobs_version_ready(es, false);
}

static void on_version(const struct sk_http_response *res, void *arg)
{
    struct cluster_req *r = arg;
    struct es_ctx *es = r->es;
    char reason[ES_REASON_MAX];
    enum es_http_verdict v;
    char why[ES_REASON_MAX + 64];

    v = es_response_http(res->status, res->err, res->body.data, res->body.len, reason,
                         sizeof(reason));
    if (res->status == 0 && res->err_text != NULL) {
        snprintf(reason, sizeof(reason), "%s", res->err_text); /* the client's words */
    }
    if (es->stopping) {
        es->version_state = ES_VERSION_UNKNOWN;
        req_free(r);
        es_jobs_version_ready(es, false);
        return;
    }
    if (v == ES_HTTP_HOST_DOWN) {
        es_pool_failed(&es->pool, r->host, sk_loop_update_now_ms(es->loop), reason);
        if (es_pool_count(&es->pool, ES_HOST_ALIVE) > 0) {
            /* Another host may answer (a node down while skiff starts):
             * ask it now instead of failing the waiting chunks. Bounded:
             * each failure takes one host out of ALIVE. */
            req_free(r);
            es->version_state = ES_VERSION_UNKNOWN;
            es_version_detect(es);
            return;
        }
    } else {
        es_pool_succeeded(&es->pool, r->host, sk_loop_now_ms(es->loop));
    }
    if (v == ES_HTTP_BULK &&
        es_info_parse_version(res->body.data, res->body.len, &es->version) == 0) {
        set_dialect(es);
        sk_info("%s: %s %s at %s: documents sent %s%s%s, routing as \"%s\"", es->ins->id,
                es->version.opensearch ? "OpenSearch" : "Elasticsearch", es->version.number,
                r->host->label, es->dialect.type_name != NULL ? "with _type \"" : "without _type",
                es->dialect.type_name != NULL ? es->dialect.type_name : "",
                es->dialect.type_name != NULL ? "\"" : "", es->dialect.routing);
        req_free(r);
        es_jobs_version_ready(es, true);
        return;
    }
    if (v == ES_HTTP_AUTH) {
        (void)es_auth_expired(es, 0, res->status, res->body.data, res->body.len);
    }
    if (v == ES_HTTP_AUTH &&
        (res->status == 401 || res->status == 407 ||
         es_auth_refused(es, res->status, res->body.data, res->body.len))) {
        /* Wrong credentials: bulk requests would be refused too, and a
         * guessed version (_type "fluentd" on ES 7) would outlive the fix.
         * Chunks wait; the next flush asks again. */
        snprintf(why, sizeof(why), "GET / refused (HTTP %d: %s)", res->status, reason);
        req_free(r);
        version_failed(es, why);
        return;
    }
    if (v == ES_HTTP_AUTH) {
        /* As the official clients do: a user allowed to write but not to
         * read the cluster info (403) is fine. */
        snprintf(why, sizeof(why), "GET / refused (HTTP %d: %s)", res->status, reason);
        es_version_assume_default(es, why);
        req_free(r);
        es_jobs_version_ready(es, true);
        return;
    }
    if (v == ES_HTTP_BULK) {
        snprintf(reason, sizeof(reason), "GET / answer has no version.number");
    }
    req_free(r);
    version_failed(es, reason);
}

void es_version_detect(struct es_ctx *es)
{
    struct es_host *h;
    int rc;

    if (es->version_state != ES_VERSION_UNKNOWN || es->http == NULL || es->stopping) {
        return;
    }
    es->version_state = ES_VERSION_DETECTING;
    h = es_pool_pick(&es->pool, sk_loop_update_now_ms(es->loop));
    rc = cluster_send(es, REQ_VERSION, h, "GET", "/", on_version);
    if (rc < 0) {
        version_failed(es, rc == SK_EAGAIN ? "no AWS credentials yet" : sk_strerror(rc));
    }
}

/* --- sniffing ---------------------------------------------------------------------------- */

static void on_probe(const struct sk_http_response *res, void *arg)
{
    struct cluster_req *r = arg;
    struct es_ctx *es = r->es;
    char reason[160];

    es->probes_in_flight--;
    if (!es->stopping) {
        bool ok = res->status >= 200 && res->status < 300;

        if (!ok) {
            snprintf(reason, sizeof(reason), "probe: %s",
                     res->err_text != NULL ? res->err_text
                                           : sk_strerror(res->err != 0 ? res->err : SK_EIO));
            if (res->status != 0) {
                snprintf(reason, sizeof(reason), "probe: HTTP %d", res->status);
            }
        }
        es_pool_probe_result(&es->pool, r->host, ok, sk_loop_update_now_ms(es->loop),
                             ok ? NULL : reason);
    }
    req_free(r);
}

static void probe_new_hosts(struct es_ctx *es)
{
    struct es_host *h;

    while ((h = es_pool_next_probe(&es->pool)) != NULL) {
        if (cluster_send(es, REQ_PROBE, h, "HEAD", "/", on_probe) < 0) {
            es_pool_probe_result(&es->pool, h, false, sk_loop_now_ms(es->loop), "probe not sent");
            continue; /* cluster_send released the reference */
        }
        es->probes_in_flight++;
    }
}

static void on_sniff(const struct sk_http_response *res, void *arg)
{
    struct cluster_req *r = arg;
    struct es_ctx *es = r->es;
    struct es_sniff_addr *addrs;
    int n = SK_EPARSE;
    int added;

    es->sniffing = false;
    if (es->stopping) {
        req_free(r);
        return;
    }
    addrs = sk_calloc(ES_SNIFF_MAX_NODES, sizeof(*addrs));
    if (addrs != NULL && res->status >= 200 && res->status < 300) {
        n = es_sniff_parse(res->body.data, res->body.len, addrs, ES_SNIFF_MAX_NODES);
    }
    if (n < 0) {
        sk_log_limited(&es->fail_log, SK_LOG_WARN,
                       "%s: sniffing %s/_nodes/http failed (%s); the pool stays as it is",
                       es->ins->id, r->host->label,
                       res->status != 0       ? "no usable answer"
                       : res->err_text != NULL ? res->err_text
                                               : sk_strerror(res->err != 0 ? res->err : SK_EIO));
        n = 0;
    } else if (n == 0 && !es->sniff_empty_logged) {
        es->sniff_empty_logged = true;
        sk_info("%s: _nodes/http lists no HTTP addresses (as Amazon's does); keeping the %zu "
                "configured hosts",
                es->ins->id, es->pool.n);
    }
    added = es_pool_merge_sniffed(&es->pool, addrs, (size_t)n, sk_loop_update_now_ms(es->loop));
    sk_free(addrs);
    req_free(r);
    if (added > 0) {
        probe_new_hosts(es);
    }
}

void es_sniff(struct es_ctx *es, const char *why)
{
    struct es_host *h;

    if (es->sniffing || es->http == NULL || es->stopping) {
        return;
    }
    h = es_pool_pick(&es->pool, sk_loop_update_now_ms(es->loop));
    sk_debug("%s: sniffing _nodes/http on %s: %s", es->ins->id, h != NULL ? h->label : "-", why);
    if (cluster_send(es, REQ_SNIFF, h, "GET", "/_nodes/http", on_sniff) == 0) {
        es->sniffing = true;
    } else {
        es->pool.requests = 0; /* not again on the very next request */
    }
}

void es_after_request(struct es_ctx *es)
{
    if (es->reload_after > 0 && es_pool_sniff_due(&es->pool, es->reload_after)) {
        es_sniff(es, "reload_after requests");
    }
}

/* The environment variable sk_http would take a proxy from for `h`, or NULL. */
static const char *env_proxy_for(const struct es_host *h)
{
    struct sk_url u = {.tls = strcmp(h->scheme, "https") == 0};
    const char *host = h->host;
    size_t len = strlen(host);

    if (len >= 2 && host[0] == '[') {
        host++;
        len -= 2;
    }
    if (len >= sizeof(u.host)) {
        return NULL;
    }
    memcpy(u.host, host, len);
    u.host[len] = '\0';
    return sk_url_env_proxy_var(&u);
}

void es_warn_sniffing(const struct es_ctx *es)
{
    const char *managed = NULL;
    const char *proxy = NULL;

    if (es->reload_after == 0 && !es->sniff_on_failure) {
        return;
    }
    if (es->conf->proxy != NULL && *es->conf->proxy != '\0') {
        proxy = "the proxy parameter";
    }
    for (size_t i = 0; i < es->pool.n; i++) {
        if (managed == NULL && es_host_is_managed(es->pool.hosts[i]->host)) {
            managed = es->pool.hosts[i]->host;
        }
        if (proxy == NULL) {
            proxy = env_proxy_for(es->pool.hosts[i]);
        }
    }
    if (managed != NULL) {
        sk_warn("%s: reload_connections/reload_on_failure sniff _nodes/http, which never works for "
                "the managed endpoint %s; skiff keeps the configured hosts whatever the answer, but "
                "set 'reload_connections false' and 'reload_on_failure false' to stop asking",
                es->ins->id, managed);
    } else if (proxy != NULL) {
        sk_warn("%s: reload_connections/reload_on_failure sniff _nodes/http while requests go "
                "through a proxy (%s): the nodes' own addresses are usually unreachable from here; "
                "skiff only adds those that answer, but set 'reload_connections false' and "
                "'reload_on_failure false' if the cluster is behind the proxy",
                es->ins->id, proxy);
    }
}
