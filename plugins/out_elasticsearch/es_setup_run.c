/*
 * The steps of one set-up target (es_setup.h) as a little state machine:
 * one request in flight per target, every answer decides the next step,
 * a failure arms a backoff timer. Nothing here blocks; every callback
 * copes with the output stopping under it.
 */
#include "out_elasticsearch/es_setup_int.h"

#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "json/json.h"
#include "loop/loop.h"
#include "out_elasticsearch/es_auth.h"
#include "util/alloc.h"

#define ES_SETUP_HEADERS 24
#define ES_SETUP_URL_MAX 8192
#define ES_SETUP_BODY_MAX (8u << 20)
#define ES_SETUP_RESPONSE_MAX (16u << 20)

struct es_setup_req {
    struct es_target *t; /* NULL once the target forgot the request */
    struct es_ctx *es;
    struct es_host *host; /* a pool reference */
    uint64_t auth_gen;    /* AWS credentials it was signed with */
    struct sk_buf url;
    struct sk_buf body;
    struct sk_http_header hdrs[ES_SETUP_HEADERS];
    struct sk_http_request http;
};

static void send_step(struct es_target *t);
static void on_timer(struct sk_timer *timer, void *arg);

/* --- bookkeeping ------------------------------------------------------------------ */

struct es_target *es_target_find(struct es_setup *s, enum es_target_kind kind, const char *name)
{
    for (struct es_target *t = s->targets; t != NULL; t = t->next) {
        if (t->kind == kind && strcmp(t->name, name) == 0) {
            return t;
        }
    }
    return NULL;
}

static void req_free(struct es_setup_req *r)
{
    if (r == NULL) {
        return;
    }
    es_pool_put(&r->es->pool, r->host);
    sk_buf_cleanup(&r->url);
    sk_buf_cleanup(&r->body);
    sk_free(r);
}

void es_target_free(struct es_target *t)
{
    if (t == NULL) {
        return;
    }
    if (t->req != NULL) {
        t->req->t = NULL; /* its callback frees it */
    }
    sk_timer_destroy(t->timer);
    sk_free(t->name);
    sk_free(t->policy);
    sk_free(t->template_name);
    sk_free(t->template_json);
    sk_free(t->pattern);
    sk_free(t->ism_patterns[0]);
    sk_free(t->ism_patterns[1]);
    sk_free(t->bootstrap);
    sk_free(t);
}

/* Forgets the oldest ready dynamic target when the table is full: a
 * forgotten alias costs one HEAD when it is needed again. */
static void evict(struct es_setup *s)
{
    struct es_target **victim = NULL;

    for (struct es_target **p = &s->targets; *p != NULL; p = &(*p)->next) {
        if ((*p)->state == ES_TARGET_READY && !(*p)->is_static) {
            victim = p;
        }
    }
    if (victim != NULL) {
        struct es_target *t = *victim;

        *victim = t->next;
        es_target_free(t);
        s->ntargets--;
    }
}

struct es_target *es_target_add(struct es_setup *s, struct es_target *t)
{
    if (s->ntargets >= ES_SETUP_TARGETS_MAX) {
        evict(s);
    }
    t->s = s;
    t->timer = sk_timer_create(s->es->loop, on_timer, t);
    if (t->timer == NULL) {
        es_target_free(t);
        return NULL;
    }
    /* New targets go last: start-up order is configuration order. */
    {
        struct es_target **p = &s->targets;

        while (*p != NULL) {
            p = &(*p)->next;
        }
        *p = t;
    }
    s->ntargets++;
    return t;
}

static bool overwritten(const struct es_setup *s, char kind, const char *name)
{
    for (size_t i = 0; i < s->overwritten.n; i++) {
        const char *v = s->overwritten.v[i];

        if (v[0] == kind && strcmp(v + 2, name) == 0) {
            return true;
        }
    }
    return false;
}

static void note_overwritten(struct es_setup *s, char kind, const char *name)
{
    size_t n = strlen(name) + 3;
    char **v = sk_realloc(s->overwritten.v, (s->overwritten.n + 1) * sizeof(*v));
    char *e;

    if (v == NULL) {
        return; /* worst case: replaced once more later */
    }
    s->overwritten.v = v;
    e = sk_malloc(n);
    if (e != NULL) {
        snprintf(e, n, "%c:%s", kind, name);
        v[s->overwritten.n++] = e;
    }
}

static bool policy_overwrite_now(const struct es_target *t)
{
    return t->policy_overwrite && !overwritten(t->s, 'p', t->policy);
}

static bool template_overwrite_now(const struct es_target *t)
{
    return t->template_overwrite && !overwritten(t->s, 't', t->template_name);
}

/* --- the order of steps ----------------------------------------------------------- */

static enum es_step after_template(const struct es_target *t)
{
    switch (t->kind) {
    case ES_TARGET_ALIAS:
        return ES_STEP_ALIAS_HEAD;
    case ES_TARGET_DATA_STREAM:
        return ES_STEP_DS_GET;
    case ES_TARGET_TEMPLATE:
        break;
    }
    return ES_STEP_DONE;
}

static enum es_step after_policy(const struct es_target *t)
{
    if (t->template_name == NULL) {
        return after_template(t);
    }
    /* An overwrite needs no look first (fluent-plugin's template_install). */
    return template_overwrite_now(t) ? ES_STEP_TEMPLATE_PUT : ES_STEP_TEMPLATE_GET;
}

static enum es_step first_step(const struct es_target *t)
{
    if (t->policy == NULL) {
        return after_policy(t);
    }
    /* ISM needs the current seq_no to replace a policy: look first. */
    return policy_overwrite_now(t) && t->s->lc == ES_LIFECYCLE_ILM ? ES_STEP_POLICY_PUT
                                                                   : ES_STEP_POLICY_GET;
}

static const char *step_text(const struct es_target *t, char *buf, size_t size)
{
    const char *pol = t->s->lc == ES_LIFECYCLE_ILM ? "ILM" : "ISM";

    switch (t->step) {
    case ES_STEP_POLICY_GET:
        snprintf(buf, size, "looking up %s policy '%s'", pol, t->policy);
        break;
    case ES_STEP_POLICY_PUT:
        snprintf(buf, size, "installing %s policy '%s'", pol, t->policy);
        break;
    case ES_STEP_TEMPLATE_GET:
        snprintf(buf, size, "looking up index template '%s'", t->template_name);
        break;
    case ES_STEP_TEMPLATE_PUT:
        snprintf(buf, size, "installing index template '%s'", t->template_name);
        break;
    case ES_STEP_ALIAS_HEAD:
    case ES_STEP_ALIAS_RECHECK:
        snprintf(buf, size, "looking up alias '%s'", t->name);
        break;
    case ES_STEP_INDEX_PUT:
        snprintf(buf, size, "creating the first index %s of alias '%s'", t->bootstrap, t->name);
        break;
    case ES_STEP_ALIAS_PUT:
        snprintf(buf, size, "pointing alias '%s' at %s", t->name, t->bootstrap);
        break;
    case ES_STEP_DS_GET:
        snprintf(buf, size, "looking up data stream '%s'", t->name);
        break;
    case ES_STEP_DS_PUT:
        snprintf(buf, size, "creating data stream '%s'", t->name);
        break;
    case ES_STEP_DONE:
        snprintf(buf, size, "done");
        break;
    }
    return buf;
}

static void on_answer(const struct sk_http_response *res, void *arg);
static void fail(struct es_target *t, int status, const char *reason);

static bool policy_step(enum es_step st)
{
    return st == ES_STEP_POLICY_GET || st == ES_STEP_POLICY_PUT;
}

/* Another target of this output is busy with the same policy: aliases of
 * several days (or tags) met in one chunk share one policy, which is then
 * looked up and installed once rather than raced for. */
static bool policy_busy(const struct es_target *t)
{
    for (const struct es_target *o = t->s->targets; o != NULL; o = o->next) {
        if (o != t && o->policy != NULL && strcmp(o->policy, t->policy) == 0 &&
            o->state == ES_TARGET_RUNNING && policy_step(o->step)) {
            return true;
        }
    }
    return false;
}

/* A target left its policy steps: the ones parked behind it go on. */
static void unpark(const struct es_target *t)
{
    for (struct es_target *o = t->s->targets; o != NULL; o = o->next) {
        if (o->parked && strcmp(o->policy, t->policy) == 0) {
            o->parked = false;
            send_step(o);
            return; /* one at a time: it may park the others again */
        }
    }
}

static void send_step(struct es_target *t)
{
    struct es_ctx *es = t->s->es;
    struct es_setup_req *r;
    const char *method = "GET";
    char err[256] = "";
    int rc;

    if (es->http == NULL || es->stopping) {
        t->state = ES_TARGET_IDLE;
        return;
    }
    if (policy_step(t->step) && policy_busy(t)) {
        t->parked = true;
        t->state = ES_TARGET_WAITING;
        return;
    }
    t->state = ES_TARGET_RUNNING;
    r = sk_calloc(1, sizeof(*r));
    if (r == NULL) {
        fail(t, 0, sk_strerror(SK_ENOMEM));
        return;
    }
    r->es = es;
    r->t = t;
    sk_buf_init(&r->url, ES_SETUP_URL_MAX);
    sk_buf_init(&r->body, ES_SETUP_BODY_MAX);
    r->host = es_pool_pick(&es->pool, sk_loop_update_now_ms(es->loop));
    rc = r->host != NULL
             ? es_setup_build(t, r->host->base_url, &r->url, &r->body, &method, err, sizeof(err))
             : SK_EINVAL;
    if (rc == 0) {
        r->http.method = method;
        r->http.url = r->url.data;
        r->http.headers = r->hdrs;
        /* Room is left for Host and the SigV4 headers (es_auth.h). */
        rc = es_auth_sign(es, method, r->url.data, r->body.len > 0 ? r->body.data : NULL,
                          r->body.len, r->hdrs,
                          es_setup_headers(es, r->body.len > 0, r->hdrs, ES_SETUP_HEADERS - 6),
                          ES_SETUP_HEADERS, &r->auth_gen);
        r->http.nheaders = rc >= 0 ? (size_t)rc : 0;
        r->http.body = r->body.len > 0 ? r->body.data : NULL;
        r->http.body_len = r->body.len;
        r->http.user = r->host->user;
        r->http.password = r->host->password;
        r->http.proxy = es->conf->proxy;
        r->http.tls = &es->tls;
        r->http.timeout_ms = es->conf->request_timeout_ms;
        r->http.connect_timeout_ms = es->conf->request_timeout_ms;
        r->http.max_response = ES_SETUP_RESPONSE_MAX;
    }
    if (rc >= 0) {
        t->req = r;
        rc = sk_http_submit(es->http, &r->http, on_answer, r);
        if (rc < 0) {
            t->req = NULL;
        }
    }
    if (rc < 0) {
        req_free(r);
        fail(t, 0, err[0] != '\0' ? err : sk_strerror(rc));
    }
}

/* --- answers -------------------------------------------------------------------------- */

static void ready(struct es_target *t)
{
    const struct es_setup *s = t->s;

    t->state = ES_TARGET_READY;
    t->attempts = 0;
    t->step_failures = 0;
    switch (t->kind) {
    case ES_TARGET_ALIAS:
        sk_info("%s: rollover alias '%s' is ready (first index %s%s%s%s%s%s%s)", s->es->ins->id,
                t->name, t->bootstrap, t->policy != NULL ? ", policy '" : "",
                t->policy != NULL ? t->policy : "", t->policy != NULL ? "'" : "",
                t->template_name != NULL ? ", template '" : "",
                t->template_name != NULL ? t->template_name : "",
                t->template_name != NULL ? "'" : "");
        break;
    case ES_TARGET_DATA_STREAM:
        sk_info("%s: data stream '%s' is ready", s->es->ins->id, t->name);
        break;
    case ES_TARGET_TEMPLATE:
        sk_info("%s: index template '%s' is in place", s->es->ins->id, t->name);
        break;
    }
}

static int64_t backoff_ms(unsigned int attempts)
{
    int64_t ms = ES_SETUP_BACKOFF_MIN_MS;

    for (unsigned int i = 1; i < attempts && ms < ES_SETUP_BACKOFF_MAX_MS; i++) {
        ms *= 2;
    }
    return ms < ES_SETUP_BACKOFF_MAX_MS ? ms : ES_SETUP_BACKOFF_MAX_MS;
}

static void on_timer(struct sk_timer *timer, void *arg)
{
    struct es_target *t = arg;

    (void)timer;
    if (t->state == ES_TARGET_WAITING) {
        send_step(t);
    }
}

static bool optional_step(enum es_step st)
{
    return st == ES_STEP_POLICY_GET || st == ES_STEP_POLICY_PUT || st == ES_STEP_TEMPLATE_GET ||
           st == ES_STEP_TEMPLATE_PUT;
}

static void fail(struct es_target *t, int status, const char *reason)
{
    struct es_setup *s = t->s;
    const struct es_conf *c = s->conf;
    bool optional = optional_step(t->step);
    char what[512];
    char code[24] = "";
    int64_t delay;

    step_text(t, what, sizeof(what));
    t->attempts++;
    t->step_failures += optional;
    if (optional && !c->fail_on_putting_template_retry_exceed &&
        t->step_failures > (unsigned int)c->max_retry_putting_template) {
        sk_warn("%s: %s failed %u times (%s); going on without it "
                "(fail_on_putting_template_retry_exceed false)",
                s->es->ins->id, what, t->step_failures, reason);
        bool policy = policy_step(t->step);

        t->step = policy ? after_policy(t) : after_template(t);
        t->step_failures = 0;
        if (t->step == ES_STEP_DONE) {
            ready(t);
        } else {
            send_step(t);
        }
        if (policy) {
            unpark(t);
        }
        return;
    }
    delay = backoff_ms(t->attempts);
    if (status > 0) {
        snprintf(code, sizeof(code), "HTTP %d: ", status);
    }
    sk_error("%s: %s failed (%s%s): events for '%s' stay buffered; next attempt in %lld ms",
             s->es->ins->id, what, code, reason, t->name, (long long)delay);
    if (optional && t->step_failures > (unsigned int)c->max_retry_putting_template &&
        !t->told_exceeded) {
        t->told_exceeded = true;
        sk_error("%s: %s failed %u times: td-agent would stop here "
                 "(fail_on_putting_template_retry_exceed); skiff keeps the events buffered "
                 "and keeps trying",
                 s->es->ins->id, what, t->step_failures);
    }
    t->state = ES_TARGET_WAITING;
    sk_timer_start(t->timer, delay, 0);
    if (policy_step(t->step)) {
        unpark(t);
    }
}

/* Reads _seq_no / _primary_term of an ISM policy GET answer. */
static void read_seq(struct es_target *t, const char *body, size_t len)
{
    struct sk_buf scratch;
    msgpack_unpacked up;

    t->have_seq = false;
    sk_buf_init(&scratch, ES_SETUP_RESPONSE_MAX);
    msgpack_unpacked_init(&up);
    if (sk_json_parse(body, len, &scratch, &up) == 0 && up.data.type == MSGPACK_OBJECT_MAP) {
        int found = 0;

        for (uint32_t i = 0; i < up.data.via.map.size; i++) {
            const msgpack_object *k = &up.data.via.map.ptr[i].key;
            const msgpack_object *v = &up.data.via.map.ptr[i].val;

            if (k->type != MSGPACK_OBJECT_STR || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
                continue;
            }
            if (k->via.str.size == 7 && memcmp(k->via.str.ptr, "_seq_no", 7) == 0) {
                t->if_seq_no = (int64_t)v->via.u64;
                found |= 1;
            } else if (k->via.str.size == 13 && memcmp(k->via.str.ptr, "_primary_term", 13) == 0) {
                t->if_primary_term = (int64_t)v->via.u64;
                found |= 2;
            }
        }
        t->have_seq = found == 3;
    }
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);
}

static bool has(const struct sk_http_response *res, const char *what)
{
    return res->body.data != NULL && strstr(res->body.data, what) != NULL;
}

/* Decides the next step from a 2xx / 404 / 400 / 409 answer; false when
 * the answer is a failure. */
static bool advance(struct es_target *t, const struct sk_http_response *res)
{
    struct es_setup *s = t->s;
    int st = res->status;
    bool ok = st >= 200 && st < 300;

    switch (t->step) {
    case ES_STEP_POLICY_GET:
        if (ok && policy_overwrite_now(t)) {
            read_seq(t, res->body.data, res->body.len);
            t->step = ES_STEP_POLICY_PUT;
        } else {
            t->step = ok ? after_policy(t) : ES_STEP_POLICY_PUT;
        }
        return ok || st == 404;
    case ES_STEP_POLICY_PUT:
        if (st == 409 && s->lc != ES_LIFECYCLE_ILM && !policy_overwrite_now(t)) {
            ok = true; /* another shipper created it a moment ago */
        } else if (st == 409 && s->lc != ES_LIFECYCLE_ILM) {
            t->step = ES_STEP_POLICY_GET; /* replaced meanwhile: read its seq_no again */
            t->have_seq = false;
            return false;
        } else if (ok) {
            sk_info("%s: %s policy '%s' installed", s->es->ins->id,
                    s->lc == ES_LIFECYCLE_ILM ? "ILM" : "ISM", t->policy);
        }
        if (ok && t->policy_overwrite) {
            note_overwritten(s, 'p', t->policy);
        }
        t->step = ok ? after_policy(t) : t->step;
        return ok;
    case ES_STEP_TEMPLATE_GET:
        t->step = ok && !template_overwrite_now(t) ? after_template(t) : ES_STEP_TEMPLATE_PUT;
        return ok || st == 404;
    case ES_STEP_TEMPLATE_PUT:
        if (ok) {
            sk_info("%s: index template '%s' installed", s->es->ins->id, t->template_name);
            if (t->template_overwrite) {
                note_overwritten(s, 't', t->template_name);
            }
            t->step = after_template(t);
        }
        return ok;
    case ES_STEP_ALIAS_HEAD:
    case ES_STEP_ALIAS_RECHECK:
        t->step = ok ? ES_STEP_DONE
                     : (t->step == ES_STEP_ALIAS_HEAD ? ES_STEP_INDEX_PUT : ES_STEP_ALIAS_PUT);
        return ok || st == 404;
    case ES_STEP_INDEX_PUT:
        if (st == 400 && has(res, "resource_already_exists_exception")) {
            sk_info("%s: %s already exists (another shipper?); checking alias '%s' again",
                    s->es->ins->id, t->bootstrap, t->name);
            t->step = ES_STEP_ALIAS_RECHECK;
            return true;
        }
        if (ok) {
            sk_info("%s: created %s with the write alias '%s'", s->es->ins->id, t->bootstrap,
                    t->name);
        }
        t->step = ok ? ES_STEP_DONE : t->step;
        return ok;
    case ES_STEP_ALIAS_PUT:
    case ES_STEP_DS_PUT:
        ok = ok || (t->step == ES_STEP_DS_PUT && st == 400 &&
                    has(res, "resource_already_exists_exception"));
        t->step = ok ? ES_STEP_DONE : t->step;
        return ok;
    case ES_STEP_DS_GET:
        t->step = ok ? ES_STEP_DONE : ES_STEP_DS_PUT;
        return ok || st == 404;
    case ES_STEP_DONE:
        break;
    }
    return false;
}

static void explain(const struct es_target *t, const struct sk_http_response *res, char *reason,
                    size_t size)
{
    char orig[ES_REASON_MAX];

    snprintf(orig, sizeof(orig), "%.*s", (int)sizeof(orig) - 1, reason);
    if (res->status == 400 && has(res, "no handler found")) {
        snprintf(reason, size,
                 "%s; the server has no such API: set lifecycle_api to what it speaks (ilm, ism, "
                 "opendistro_ism)",
                 orig);
    } else if (res->status == 401 && t->s->lc == ES_LIFECYCLE_ILM &&
               (t->step == ES_STEP_POLICY_GET || t->step == ES_STEP_POLICY_PUT) &&
               has(res, "is not allowed")) {
        snprintf(reason, size,
                 "%s; Amazon Elasticsearch Service has no ILM: set lifecycle_api opendistro_ism",
                 orig);
    } else if (t->step == ES_STEP_INDEX_PUT && has(res, "invalid_alias_name_exception")) {
        snprintf(reason, size,
                 "%s; an index named '%s' exists (written without the alias): reindex or delete "
                 "it so that '%s' can become the rollover alias",
                 orig, t->name, t->name);
    }
}

static void on_answer(const struct sk_http_response *res, void *arg)
{
    struct es_setup_req *r = arg;
    struct es_target *t = r->t;
    struct es_ctx *es = r->es;
    char reason[ES_REASON_MAX + 256];
    enum es_http_verdict v;
    enum es_step was;

    if (t != NULL) {
        t->req = NULL;
    }
    if (t == NULL || es->stopping || res->err == SK_ECLOSED) {
        if (t != NULL) {
            t->state = ES_TARGET_IDLE;
        }
        req_free(r);
        return;
    }
    v = es_response_http(res->status, res->err, res->body.data, res->body.len, reason,
                         ES_REASON_MAX);
    if (v == ES_HTTP_HOST_DOWN) {
        es_pool_failed(&es->pool, r->host, sk_loop_update_now_ms(es->loop), reason);
    } else {
        es_pool_succeeded(&es->pool, r->host, sk_loop_now_ms(es->loop));
    }
    /* An expired AWS token: new credentials are fetched for the retry. */
    (void)es_auth_expired(es, r->auth_gen, res->status, res->body.data, res->body.len);
    req_free(r);
    was = t->step;
    if (v != ES_HTTP_HOST_DOWN && advance(t, res)) {
        t->attempts = 0;
        if (t->step != was) {
            t->step_failures = 0;
        }
        if (t->step == ES_STEP_DONE) {
            ready(t);
        } else {
            send_step(t);
        }
        if (policy_step(was) && !policy_step(t->step)) {
            unpark(t);
        }
        return;
    }
    explain(t, res, reason, sizeof(reason));
    fail(t, res->status, reason);
}

/* --- entry points ------------------------------------------------------------------------ */

void es_target_run(struct es_target *t)
{
    if (t->state != ES_TARGET_IDLE) {
        return;
    }
    t->attempts = 0;
    t->step_failures = 0;
    t->have_seq = false;
    t->parked = false;
    t->step = first_step(t);
    if (t->step == ES_STEP_DONE) {
        ready(t);
        return;
    }
    send_step(t);
}

void es_targets_stop(struct es_setup *s)
{
    /* A backoff timer still armed finds its target IDLE and does nothing. */
    for (struct es_target *t = s->targets; t != NULL; t = t->next) {
        if (t->req != NULL) {
            t->req->t = NULL;
            t->req = NULL;
        }
        t->parked = false;
        if (t->state != ES_TARGET_READY) {
            t->state = ES_TARGET_IDLE;
        }
    }
}
