/*
 * The network steps of a credentials fetch, one request in flight at a
 * time, each answer handled on the loop:
 *
 *   IMDS   PUT /latest/api/token ------(403/404/405/timeout: IMDSv1)--+
 *            | token                                                 |
 *          GET /latest/meta-data/iam/security-credentials/  <--------+
 *            | role name            (401: new token once)
 *          GET /latest/meta-data/iam/security-credentials/<role> -> JSON
 *   ECS    GET <relative or full URI> [Authorization: token]        -> JSON
 *   STS    POST Action=AssumeRoleWithWebIdentity (unsigned)         -> XML
 *   then for each role: POST Action=AssumeRole, SigV4 "sts"         -> XML
 *
 * Instance metadata and container endpoints are local to the host: no
 * proxy. STS goes through conf.sts_proxy. Answers are capped at
 * ES_AWS_ANSWER_MAX; what reaches the log is status codes, the HTTP client's words
 * and AWS error codes/messages, never a body that could hold a secret.
 */
#include "out_elasticsearch/es_aws_creds_int.h"

#include <string.h>
#include <time.h>

#include "http/http.h"
#include "loop/loop.h"
#include "out_elasticsearch/es_sigv4.h"
#include "util/alloc.h"

#define STS_VERSION "2011-06-15"
#define FORM_TYPE "application/x-www-form-urlencoded; charset=utf-8"
#define IMDS_TOKEN_PATH "/latest/api/token"
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"
#define IMDS_TOKEN_MAX 4096
#define HOST_MAX 512

struct es_aws_op {
    struct es_aws_creds *p; /* NULL once the provider is gone */
    struct sk_buf body;     /* the request body: sk_http sends it from here */
};

static void next_role(struct es_aws_creds *p);
static void imds_token(struct es_aws_creds *p);

void es_aws_op_detach(struct es_aws_op *op)
{
    op->p = NULL;
}

static void op_free(struct es_aws_op *op)
{
    if (op->body.data != NULL) {
        explicit_bzero(op->body.data, op->body.len);
    }
    sk_buf_cleanup(&op->body);
    sk_free(op);
}

static void wipe_buf(struct sk_buf *b)
{
    if (b->data != NULL) {
        explicit_bzero(b->data, b->len);
    }
    sk_buf_cleanup(b);
}

/* Ends the fetch with `rc`, noting "what: why" for the log. */
static void stop(struct es_aws_creds *p, int rc, const char *what, const char *why)
{
    if (sk_buf_printf(&p->err, "%s%s%s", what, why != NULL ? ": " : "", why != NULL ? why : "") <
        0) {
        rc = rc == 0 ? SK_ENOMEM : rc;
    }
    es_aws_fetch_done(p, rc);
}

/* Ends the fetch for an unusable HTTP answer. */
static void stop_http(struct es_aws_creds *p, const char *what, const struct sk_http_response *res)
{
    int rc = res->err != 0 ? res->err : SK_EPROTO;

    if (res->err != 0) {
        if (sk_buf_printf(&p->err, "%s: %s", what,
                          res->err_text != NULL ? res->err_text : sk_strerror(res->err)) < 0) {
            rc = SK_ENOMEM;
        }
    } else if (sk_buf_printf(&p->err, "%s: HTTP %d", what, res->status) < 0) {
        rc = SK_ENOMEM;
    }
    es_aws_fetch_done(p, rc);
}

static void on_answer(const struct sk_http_response *res, void *arg);

/*
 * Sends one request for `step`. Takes `body` (NULL: none; it is reset).
 * Local endpoints go without a proxy, STS through conf.sts_proxy.
 */
static void send_req(struct es_aws_creds *p, enum es_aws_step step, const char *method,
                     const char *url, const struct sk_http_header *h, size_t nh,
                     struct sk_buf *body, bool sts)
{
    struct es_aws_op *op;
    struct sk_http_request req = {0};
    int rc;

    if (p->http_closed || p->http == NULL) {
        stop(p, SK_ECLOSED, "http client", p->http == NULL ? "none (dry run?)" : "shut down");
        return;
    }
    op = sk_calloc(1, sizeof(*op));
    if (op == NULL) {
        stop(p, SK_ENOMEM, "request", NULL);
        return;
    }
    op->p = p;
    sk_buf_init(&op->body, ES_AWS_ANSWER_MAX);
    if (body != NULL) {
        op->body = *body;
        sk_buf_init(body, body->max);
    }
    req.method = method;
    req.url = url;
    req.headers = h;
    req.nheaders = nh;
    req.body = op->body.data != NULL ? op->body.data : "";
    req.body_len = op->body.len;
    req.proxy = sts ? p->conf.sts_proxy : "";
    req.tls = sts ? p->conf.sts_tls : NULL;
    req.timeout_ms = p->conf.credentials_timeout_ms;
    req.connect_timeout_ms = p->conf.credentials_timeout_ms;
    req.max_response = ES_AWS_ANSWER_MAX;
    p->step = step;
    p->op = op;
    rc = sk_http_submit(p->http, &req, on_answer, op);
    if (rc < 0) {
        p->op = NULL;
        op_free(op);
        stop(p, rc, "submitting the request", NULL);
    }
}

/* Base URL without trailing slashes + path, into out (reset). */
static int join_url(struct sk_buf *out, const char *base, const char *path)
{
    size_t n = base != NULL ? strlen(base) : 0;

    while (n > 0 && base[n - 1] == '/') {
        n--;
    }
    sk_buf_reset(out);
    if (n > 0 && sk_buf_append(out, base, n) < 0) {
        return SK_ETOOBIG;
    }
    return sk_buf_append_str(out, path);
}

/* ------------------------------------------------------------------ */
/* Instance metadata                                                   */
/* ------------------------------------------------------------------ */

static void imds_get(struct es_aws_creds *p, enum es_aws_step step, const char *role)
{
    struct es_aws_fetch *f = &p->fetch;
    struct sk_http_header h = {"X-aws-ec2-metadata-token", p->imds_token};
    struct sk_buf url;

    sk_buf_init(&url, 4096);
    if (join_url(&url, f->plan.imds_endpoint, IMDS_CREDS_PATH) < 0 ||
        (role != NULL && sk_buf_append_str(&url, role) < 0)) {
        sk_buf_cleanup(&url);
        stop(p, SK_ETOOBIG, "imds", "endpoint URL too long");
        return;
    }
    send_req(p, step, "GET", url.data, &h, f->imds_v1 || p->imds_token == NULL ? 0 : 1, NULL,
             false);
    sk_buf_cleanup(&url);
}

static void imds_token(struct es_aws_creds *p)
{
    struct es_aws_fetch *f = &p->fetch;
    struct sk_http_header h = {"X-aws-ec2-metadata-token-ttl-seconds", "21600"};
    struct sk_buf url;

    if (p->imds_token != NULL && sk_loop_update_now_ms(p->loop) < p->imds_token_until_ms) {
        imds_get(p, ES_AWS_STEP_IMDS_ROLE, NULL);
        return;
    }
    es_aws_wipe_free(p->imds_token);
    p->imds_token = NULL;
    sk_buf_init(&url, 4096);
    if (join_url(&url, f->plan.imds_endpoint, IMDS_TOKEN_PATH) < 0) {
        sk_buf_cleanup(&url);
        stop(p, SK_ETOOBIG, "imds", "endpoint URL too long");
        return;
    }
    send_req(p, ES_AWS_STEP_IMDS_TOKEN, "PUT", url.data, &h, 1, NULL, false);
    sk_buf_cleanup(&url);
}

static void on_imds_token(struct es_aws_creds *p, const struct sk_http_response *res)
{
    struct es_aws_fetch *f = &p->fetch;
    const struct sk_buf *b = &res->body;

    if (res->err == 0 && res->status == 200 && b->len > 0 && b->len < IMDS_TOKEN_MAX &&
        strpbrk(b->data, "\r\n") == NULL) {
        p->imds_token = sk_strndup(b->data, b->len);
        if (p->imds_token == NULL) {
            stop(p, SK_ENOMEM, "imds token", NULL);
            return;
        }
        p->imds_token_until_ms =
            sk_loop_update_now_ms(p->loop) + (ES_AWS_IMDS_TOKEN_TTL_S - 60) * 1000LL;
        imds_get(p, ES_AWS_STEP_IMDS_ROLE, NULL);
        return;
    }
    if (f->plan.imds_v1_fallback &&
        (res->err == SK_ETIMEOUT ||
         (res->err == 0 && (res->status == 403 || res->status == 404 || res->status == 405)))) {
        sk_debug("aws credentials: imds gave no token (%s %d); trying IMDSv1",
                 res->err != 0 ? sk_strerror(res->err) : "HTTP", res->status);
        f->imds_v1 = true;
        imds_get(p, ES_AWS_STEP_IMDS_ROLE, NULL);
        return;
    }
    stop_http(p, "imds PUT " IMDS_TOKEN_PATH, res);
}

/* A 401 with a token: it expired or the service restarted; one new token. */
static bool imds_retry_token(struct es_aws_creds *p, const struct sk_http_response *res)
{
    struct es_aws_fetch *f = &p->fetch;

    if (res->err != 0 || res->status != 401 || f->imds_v1 || f->imds_retried) {
        return false;
    }
    f->imds_retried = true;
    es_aws_wipe_free(p->imds_token);
    p->imds_token = NULL;
    imds_token(p);
    return true;
}

static void on_imds_role(struct es_aws_creds *p, const struct sk_http_response *res)
{
    struct es_aws_fetch *f = &p->fetch;

    if (imds_retry_token(p, res)) {
        return;
    }
    if (res->err == 0 && res->status == 404) {
        stop(p, SK_ENOENT, "imds", "no IAM role is attached to this instance (HTTP 404)");
        return;
    }
    if (res->err != 0 || res->status != 200) {
        stop_http(p, "imds GET " IMDS_CREDS_PATH, res);
        return;
    }
    sk_buf_reset(&f->role_name);
    if (es_aws_parse_imds_role(res->body.data, res->body.len, &f->role_name) < 0) {
        stop(p, SK_EPARSE, "imds", "the role list holds no valid role name");
        return;
    }
    imds_get(p, ES_AWS_STEP_IMDS_CREDS, f->role_name.data);
}

static void on_json_creds(struct es_aws_creds *p, const char *what,
                          const struct sk_http_response *res)
{
    struct es_aws_fetch *f = &p->fetch;
    struct sk_buf why;
    int rc;

    if (res->err != 0 || res->status != 200) {
        stop_http(p, what, res);
        return;
    }
    sk_buf_init(&why, 512);
    rc = es_aws_parse_json_creds(res->body.data, res->body.len, &f->key, &why);
    if (rc < 0) {
        stop(p, rc, what, why.len > 0 ? why.data : NULL);
    } else {
        next_role(p);
    }
    sk_buf_cleanup(&why);
}

static void on_imds_creds(struct es_aws_creds *p, const struct sk_http_response *res)
{
    if (imds_retry_token(p, res)) {
        return;
    }
    on_json_creds(p, "imds credentials", res);
}

/* ------------------------------------------------------------------ */
/* Container credentials                                               */
/* ------------------------------------------------------------------ */

static void ecs_begin(struct es_aws_creds *p)
{
    const struct es_aws_plan *plan = &p->fetch.plan;
    struct sk_http_header h[2] = {{"Accept", "application/json"}, {"Authorization", NULL}};
    struct sk_buf url, token;
    size_t nh = 1;
    int rc = 0;

    sk_buf_init(&url, 4096);
    sk_buf_init(&token, ES_AWS_TOKEN_FILE_MAX);
    if (join_url(&url, plan->ecs_base, plan->ecs_uri) < 0) {
        rc = SK_ETOOBIG;
    } else if (plan->ecs_auth_token_file != NULL) {
        rc = es_aws_read_token_file(plan->ecs_auth_token_file, &token);
    } else if (plan->ecs_auth_token != NULL) {
        rc = sk_buf_append_str(&token, plan->ecs_auth_token);
    }
    if (rc == 0 && token.len > 0) {
        if (strpbrk(token.data, "\r\n") != NULL) {
            rc = SK_EINVAL;
        }
        h[1].value = token.data;
        nh = 2;
    }
    if (rc < 0) {
        stop(p, rc, "ecs", rc == SK_ETOOBIG ? "URL or token too long"
                               : "cannot use the container authorization token (file)");
    } else {
        send_req(p, ES_AWS_STEP_ECS, "GET", url.data, h, nh, NULL, false);
    }
    wipe_buf(&token);
    sk_buf_cleanup(&url);
}

/* ------------------------------------------------------------------ */
/* STS                                                                 */
/* ------------------------------------------------------------------ */

static int form_pair(struct sk_buf *b, const char *name, const char *value)
{
    int rc = sk_buf_printf(b, "%s%s=", b->len > 0 ? "&" : "", name);

    return rc == 0 ? es_aws_form_escape(b, value) : rc;
}

static void web_identity_begin(struct es_aws_creds *p)
{
    struct es_aws_fetch *f = &p->fetch;
    struct sk_http_header h = {"Content-Type", FORM_TYPE};
    struct sk_buf token, body;
    int rc;

    sk_buf_init(&body, ES_AWS_ANSWER_MAX);
    rc = es_aws_read_token_file(f->plan.wi_token_file, &token);
    if (rc < 0) {
        wipe_buf(&token);
        sk_buf_cleanup(&body);
        stop(p, rc, "web identity token file", f->plan.wi_token_file);
        return;
    }
    rc = form_pair(&body, "Action", "AssumeRoleWithWebIdentity");
    rc = rc == 0 ? form_pair(&body, "RoleArn", f->plan.wi_role_arn) : rc;
    rc = rc == 0 ? form_pair(&body, "RoleSessionName", f->plan.wi_session_name) : rc;
    rc = rc == 0 ? form_pair(&body, "Version", STS_VERSION) : rc;
    rc = rc == 0 ? form_pair(&body, "WebIdentityToken", token.data) : rc;
    wipe_buf(&token);
    if (rc < 0) {
        wipe_buf(&body);
        stop(p, rc, "sts AssumeRoleWithWebIdentity", "request too large");
        return;
    }
    send_req(p, ES_AWS_STEP_WEB_IDENTITY, "POST", f->sts_url.data, &h, 1, &body, true);
    wipe_buf(&body);
}

/* Signs and sends AssumeRole for role `r` with the credentials so far. */
static int assume_send(struct es_aws_creds *p, const struct es_aws_role *r, struct sk_buf *body)
{
    struct es_aws_fetch *f = &p->fetch;
    struct es_sigv4_config cfg = {.region = f->sts_region, .service = "sts", .flags = 0};
    struct es_sigv4_creds c = {f->key.access_key_id, f->key.secret_access_key,
                               f->key.session_token};
    struct sk_http_header h[2 + ES_SIGV4_MAX_ADDED];
    struct es_sigv4_header sh[2];
    struct es_sigv4_request rq = {0};
    struct es_sigv4_result res;
    const char *host, *path;
    char host_buf[HOST_MAX];
    size_t hlen, n = 2;
    bool https;
    int rc;

    rc = form_pair(body, "Action", "AssumeRole");
    rc = rc == 0 && r->external_id != NULL ? form_pair(body, "ExternalId", r->external_id) : rc;
    rc = rc == 0 ? form_pair(body, "RoleArn", r->arn) : rc;
    rc = rc == 0 ? form_pair(body, "RoleSessionName", r->session_name) : rc;
    rc = rc == 0 ? form_pair(body, "Version", STS_VERSION) : rc;
    if (rc == 0) {
        rc = es_aws_url_split(f->sts_url.data, &https, &host, &hlen, &path);
    }
    if (rc < 0 || hlen >= sizeof(host_buf)) {
        return rc < 0 ? rc : SK_ETOOBIG;
    }
    memcpy(host_buf, host, hlen);
    host_buf[hlen] = '\0';
    sh[0] = (struct es_sigv4_header){"Host", host_buf};
    sh[1] = (struct es_sigv4_header){"Content-Type", FORM_TYPE};
    rq.method = "POST";
    rq.path = path[0] == '/' ? path : "/";
    rq.headers = sh;
    rq.nheaders = 2;
    rq.body = body->data;
    rq.body_len = body->len;
    es_sigv4_result_init(&res);
    rc = es_sigv4_sign(&cfg, &c, &rq, time(NULL), NULL, &res);
    if (rc == 0) {
        h[0] = (struct sk_http_header){"Host", host_buf};
        h[1] = (struct sk_http_header){"Content-Type", FORM_TYPE};
        for (size_t i = 0; i < res.nheaders; i++) {
            h[n++] = (struct sk_http_header){res.headers[i].name, res.headers[i].value};
        }
        send_req(p, ES_AWS_STEP_ASSUME_ROLE, "POST", f->sts_url.data, h, n, body, true);
    }
    es_sigv4_result_cleanup(&res);
    return rc;
}

static void next_role(struct es_aws_creds *p)
{
    struct es_aws_fetch *f = &p->fetch;
    struct sk_buf body;
    int rc;

    if (f->role >= f->plan.nroles) {
        es_aws_fetch_done(p, 0);
        return;
    }
    sk_buf_init(&body, ES_AWS_ANSWER_MAX);
    rc = assume_send(p, &f->plan.roles[f->role], &body);
    sk_buf_cleanup(&body);
    if (rc < 0) {
        stop(p, rc, "sts AssumeRole", "cannot build or sign the request (sts_endpoint, region?)");
    }
}

static void on_sts(struct es_aws_creds *p, const char *what, const struct sk_http_response *res)
{
    struct es_aws_fetch *f = &p->fetch;
    struct es_aws_key key = {0};
    struct sk_buf why;
    int rc;

    if (res->err != 0) {
        stop_http(p, what, res);
        return;
    }
    sk_buf_init(&why, 512);
    rc = es_aws_parse_sts(res->body.data, res->body.len, &key, &why);
    if (res->status != 200 && rc != SK_EPROTO) {
        /* Not an AWS error document (a proxy's page, a 5xx): the status says more. */
        es_aws_key_clear(&key);
        sk_buf_cleanup(&why);
        stop_http(p, what, res);
        return;
    }
    if (rc < 0) {
        if (res->status != 200 && sk_buf_printf(&why, " (HTTP %d)", res->status) < 0) {
            rc = SK_ENOMEM;
        }
        es_aws_key_clear(&key);
        stop(p, rc, what, why.data);
    } else {
        es_aws_key_move(&f->key, &key);
        if (p->step == ES_AWS_STEP_ASSUME_ROLE) {
            f->role++;
        }
        next_role(p);
    }
    sk_buf_cleanup(&why);
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */
/* ------------------------------------------------------------------ */

static void on_answer(const struct sk_http_response *res, void *arg)
{
    struct es_aws_op *op = arg;
    struct es_aws_creds *p = op->p;

    if (p == NULL) {
        op_free(op);
        return;
    }
    p->op = NULL;
    if (res->err == SK_ECLOSED) {
        p->http_closed = true;
    }
    switch (p->step) {
    case ES_AWS_STEP_IMDS_TOKEN:
        on_imds_token(p, res);
        break;
    case ES_AWS_STEP_IMDS_ROLE:
        on_imds_role(p, res);
        break;
    case ES_AWS_STEP_IMDS_CREDS:
        on_imds_creds(p, res);
        break;
    case ES_AWS_STEP_ECS:
        on_json_creds(p, "ecs credentials", res);
        break;
    case ES_AWS_STEP_WEB_IDENTITY:
        on_sts(p, "sts AssumeRoleWithWebIdentity", res);
        break;
    case ES_AWS_STEP_ASSUME_ROLE:
        on_sts(p, "sts AssumeRole", res);
        break;
    default:
        es_aws_fetch_done(p, SK_EPROTO);
        break;
    }
    op_free(op);
}

void es_aws_fetch_begin(struct es_aws_creds *p)
{
    struct es_aws_fetch *f = &p->fetch;
    const struct es_aws_plan *plan = &f->plan;
    int rc;

    switch (plan->source) {
    case ES_AWS_SRC_CONFIG:
    case ES_AWS_SRC_ENV:
    case ES_AWS_SRC_PROFILE:
        rc = es_aws_key_set(&f->key, plan->access_key_id, plan->secret_access_key,
                            plan->session_token, 0);
        if (rc < 0) {
            stop(p, rc, "keys", NULL);
            return;
        }
        next_role(p);
        break;
    case ES_AWS_SRC_WEB_IDENTITY:
        web_identity_begin(p);
        break;
    case ES_AWS_SRC_ECS:
        ecs_begin(p);
        break;
    case ES_AWS_SRC_IMDS:
        imds_token(p);
        break;
    default:
        stop(p, SK_ENOENT, "credential chain", "no source");
        break;
    }
}
