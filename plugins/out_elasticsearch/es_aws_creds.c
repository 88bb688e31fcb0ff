/*
 * The AWS credentials provider: the <endpoint> parameter table and the
 * object's life cycle. One fetch at a time; between fetches exactly one
 * timer is armed (refresh before expiry, or retry after a failure), except
 * for keys that never expire.
 *
 *   create --> fetch --ok--> install --timer(before expiry)--> fetch ...
 *                 \--fail--> log, timer(backoff) --> fetch ...
 *   invalidate(gen) --> drop, timer(0) --> fetch
 *
 * The network steps live in es_aws_fetch.c, the chain in es_aws_plan.c.
 */
#include "out_elasticsearch/es_aws_creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "config/diag.h"
#include "log/log.h"
#include "loop/loop.h"
#include "out_elasticsearch/es_aws_creds_int.h"
#include "out_elasticsearch/es_sigv4.h"
#include "util/alloc.h"

#define OFF(f) offsetof(struct es_aws_creds_conf, f)
#define DEF_TIMEOUT_MS 5000
#define DEF_REFRESH_BEFORE_MS 300000
#define DEF_RETRY_WAIT_MS 1000
#define DEF_RETRY_MAX_MS 60000

static const char *const services[] = {"es", "aoss", NULL};

/* clang-format off */
const struct sk_param_def es_aws_endpoint_params[] = {
    {.name = "url", .type = SK_PARAM_STRING, .offset = OFF(url),
     .desc = "Domain endpoint, https://search-<domain>-<id>.<region>.es.amazonaws.com."},
    {.name = "region", .type = SK_PARAM_STRING, .offset = OFF(region),
     .desc = "Region of the domain, for signing (unset: AWS_REGION, AWS_DEFAULT_REGION)."},
    {.name = "aws_service_name", .type = SK_PARAM_ENUM, .def = "es", .choices = services,
     .offset = OFF(aws_service_name),
     .desc = "SigV4 signing name: es (managed domains) or aoss (OpenSearch Serverless)."},
    {.name = "access_key_id", .type = SK_PARAM_STRING, .flags = SK_PARAM_SECRET,
     .offset = OFF(access_key_id), .desc = "Static access key id (else the AWS credential chain)."},
    {.name = "secret_access_key", .type = SK_PARAM_STRING, .flags = SK_PARAM_SECRET,
     .offset = OFF(secret_access_key), .desc = "Static secret access key, with access_key_id."},
    {.name = "assume_role_arn", .type = SK_PARAM_STRING, .offset = OFF(assume_role_arn),
     .desc = "Role to assume with STS (AssumeRole on the chain's credentials)."},
    {.name = "assume_role_session_name", .type = SK_PARAM_STRING, .def = "fluentd",
     .offset = OFF(assume_role_session_name), .desc = "RoleSessionName of the assumed role."},
    {.name = "assume_role_web_identity_token_file", .type = SK_PARAM_STRING,
     .offset = OFF(assume_role_web_identity_token_file),
     .desc = "OIDC token file: assume assume_role_arn with AssumeRoleWithWebIdentity."},
    {.name = "assume_role_external_id", .type = SK_PARAM_STRING,
     .offset = OFF(assume_role_external_id), .desc = "ExternalId for AssumeRole (skiff)."},
    {.name = "ecs_container_credentials_relative_uri", .type = SK_PARAM_STRING,
     .offset = OFF(ecs_container_credentials_relative_uri),
     .desc = "Container credentials path (unset: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)."},
    {.name = "sts_credentials_region", .type = SK_PARAM_STRING,
     .offset = OFF(sts_credentials_region), .desc = "Region of the STS endpoint (unset: region)."},
    {.name = "sts_endpoint", .type = SK_PARAM_STRING, .offset = OFF(sts_endpoint),
     .desc = "STS URL (unset: AWS_ENDPOINT_URL_STS, AWS_STS_ENDPOINT, the regional one)."},
    {.name = "imds_endpoint", .type = SK_PARAM_STRING, .offset = OFF(imds_endpoint),
     .desc = "Instance metadata URL (unset: AWS_EC2_METADATA_SERVICE_ENDPOINT, 169.254.169.254)."},
    {.name = "ecs_endpoint", .type = SK_PARAM_STRING, .offset = OFF(ecs_endpoint),
     .desc = "Base URL of relative container credentials paths (unset: http://169.254.170.2)."},
    {.name = "profile", .type = SK_PARAM_STRING, .offset = OFF(profile),
     .desc = "Profile of the shared credentials/config files (unset: AWS_PROFILE, default)."},
    {.name = "credentials_timeout", .type = SK_PARAM_TIME, .def = "5s", .min = "100ms",
     .max = "5m", .offset = OFF(credentials_timeout_ms),
     .desc = "Timeout of each request to STS, instance metadata or the container endpoint."},
    {.name = "credentials_refresh_before", .type = SK_PARAM_TIME, .def = "5m", .min = "1s",
     .max = "1h", .offset = OFF(credentials_refresh_before_ms),
     .desc = "Fetch temporary credentials again this long before they expire."},
    {.name = "credentials_retry_wait", .type = SK_PARAM_TIME, .def = "1s", .min = "10ms",
     .max = "1h", .offset = OFF(credentials_retry_wait_ms),
     .desc = "First wait after a failed fetch (doubles per failure)."},
    {.name = "credentials_retry_max_wait", .type = SK_PARAM_TIME, .def = "60s", .min = "10ms",
     .max = "1h", .offset = OFF(credentials_retry_max_wait_ms),
     .desc = "Longest wait between fetch attempts."},
    SK_PARAM_END,
};
/* clang-format on */

#define CONF_STRINGS(X)                         \
    X(url)                                      \
    X(region)                                   \
    X(access_key_id)                            \
    X(secret_access_key)                        \
    X(assume_role_arn)                          \
    X(assume_role_session_name)                 \
    X(assume_role_web_identity_token_file)      \
    X(assume_role_external_id)                  \
    X(ecs_container_credentials_relative_uri)   \
    X(sts_credentials_region)                   \
    X(sts_endpoint)                             \
    X(imds_endpoint)                            \
    X(ecs_endpoint)                             \
    X(profile)

static bool set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

static bool session_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n < 2 || n > 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("+=,.@_-", c) != NULL)) {
            return false;
        }
    }
    return true;
}

int es_aws_creds_conf_validate(const struct es_aws_creds_conf *c,
                               const struct sk_conf_section *sec, struct sk_diag *d)
{
    const char *urls[] = {c->sts_endpoint, c->imds_endpoint, c->ecs_endpoint};
    const char *names[] = {"sts_endpoint", "imds_endpoint", "ecs_endpoint"};
    const char *file = sec != NULL ? sec->file : NULL;
    int line = sec != NULL ? sec->line : 0;
    char where[256];
    size_t errors = d->errors;

    if (sec != NULL) {
        sk_conf_section_label(sec, where, sizeof(where));
    }
#define BAD(...) sk_diag_add(d, SK_DIAG_ERROR, file, line, sec != NULL ? where : NULL, __VA_ARGS__)
    if (set(c->access_key_id) != set(c->secret_access_key)) {
        BAD("access_key_id and secret_access_key must be given together");
    }
    if (set(c->assume_role_web_identity_token_file) && !set(c->assume_role_arn)) {
        BAD("assume_role_web_identity_token_file needs assume_role_arn");
    }
    if (set(c->ecs_container_credentials_relative_uri) &&
        c->ecs_container_credentials_relative_uri[0] != '/') {
        BAD("ecs_container_credentials_relative_uri must start with '/'");
    }
    if (set(c->assume_role_session_name) && !session_name_ok(c->assume_role_session_name)) {
        BAD("assume_role_session_name must be 2-64 characters of [A-Za-z0-9+=,.@_-]");
    }
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        const char *host, *path;
        size_t hlen;
        bool https;

        if (set(urls[i]) && es_aws_url_split(urls[i], &https, &host, &hlen, &path) < 0) {
            BAD("%s '%s' is not an http:// or https:// URL without query", names[i], urls[i]);
        }
    }
    if (c->credentials_retry_max_wait_ms < c->credentials_retry_wait_ms) {
        BAD("credentials_retry_max_wait is shorter than credentials_retry_wait");
    }
#undef BAD
    return d->errors > errors ? SK_ECONFIG : 0;
}

const char *es_aws_conf_region(const struct es_aws_creds_conf *conf)
{
    if (set(conf->region)) {
        return conf->region;
    }
    if (set(getenv("AWS_REGION"))) {
        return getenv("AWS_REGION");
    }
    return set(getenv("AWS_DEFAULT_REGION")) ? getenv("AWS_DEFAULT_REGION") : NULL;
}

const char *es_aws_conf_service(const struct es_aws_creds_conf *conf)
{
    return conf->aws_service_name == ES_AWS_SERVICE_AOSS ? "aoss" : "es";
}

/* ------------------------------------------------------------------ */
/* Fetch state                                                         */
/* ------------------------------------------------------------------ */

static void fetch_reset(struct es_aws_fetch *f)
{
    es_aws_env_free(&f->env);
    es_aws_profile_clear(&f->prof);
    es_aws_profile_clear(&f->source);
    es_aws_key_clear(&f->key);
    memset(&f->plan, 0, sizeof(f->plan));
    sk_buf_reset(&f->role_name);
    sk_buf_reset(&f->sts_url);
    f->sts_region = NULL;
    f->role = 0;
    f->imds_v1 = false;
    f->imds_retried = false;
}

static void note(struct sk_buf *err, const char *what)
{
    if (sk_buf_append_str(err, what) < 0) {
        return;
    }
}

/* Reads the profile (and its source_profile). A file that cannot be read
 * is noted in p->err and treated as missing. */
static int load_profiles(struct es_aws_creds *p)
{
    struct es_aws_fetch *f = &p->fetch;
    struct sk_buf cred, cfg;
    int rc;

    sk_buf_init(&cred, 4096);
    sk_buf_init(&cfg, 4096);
    rc = es_aws_profile_paths(&f->env, &cred, &cfg);
    if (rc == 0) {
        rc = es_aws_profile_load(cred.data, cfg.data, es_aws_profile_name(&p->conf, &f->env),
                                 &f->prof);
    }
    if (rc == 0 && f->prof.found && set(f->prof.role_arn) && set(f->prof.source_profile)) {
        rc = es_aws_profile_load(cred.data, cfg.data, f->prof.source_profile, &f->source);
    }
    if (rc < 0 && rc != SK_ENOMEM) {
        note(&p->err, "cannot read the shared credentials/config files");
        es_aws_profile_clear(&f->prof);
        es_aws_profile_clear(&f->source);
        rc = 0;
    }
    sk_buf_cleanup(&cred);
    sk_buf_cleanup(&cfg);
    return rc;
}

/* Decides what this fetch does. 0, or an error with p->err set. */
static int make_plan(struct es_aws_creds *p)
{
    struct es_aws_fetch *f = &p->fetch;
    const char *why = NULL;
    int rc;

    fetch_reset(f);
    rc = es_aws_env_read(&f->env);
    if (rc == 0) {
        rc = load_profiles(p);
    }
    if (rc == 0) {
        rc = es_aws_plan_make(&p->conf, &f->env, &f->prof, &f->source, &f->plan, &why);
        if (rc < 0 && sk_buf_printf(&p->err, "%s%s", p->err.len ? "; " : "", why) < 0) {
            rc = SK_ENOMEM;
        }
        if (rc < 0 && rc != SK_ENOMEM && strstr(why, "profile") != NULL &&
            sk_buf_printf(&p->err, " (profile '%.64s')",
                          es_aws_profile_name(&p->conf, &f->env)) < 0) {
            rc = SK_ENOMEM;
        }
    }
    if (rc == 0) {
        sk_buf_reset(&p->err);
        rc = es_aws_sts_target(&p->conf, &f->env, &f->prof, &f->sts_url, &f->sts_region);
    }
    if (rc == SK_ENOMEM) {
        sk_buf_reset(&p->err);
        note(&p->err, "planning");
    }
    return rc;
}

static void start_fetch(struct es_aws_creds *p)
{
    int rc;

    if (p->busy || p->http_closed) {
        return;
    }
    sk_timer_stop(p->timer);
    p->busy = true;
    p->last_fetch_ms = sk_loop_update_now_ms(p->loop);
    p->fetch.started_ms = p->last_fetch_ms;
    sk_buf_reset(&p->err);
    rc = make_plan(p);
    if (rc < 0) {
        es_aws_fetch_done(p, rc);
        return;
    }
    es_aws_fetch_begin(p);
}

static void on_timer(struct sk_timer *t, void *arg)
{
    (void)t;
    start_fetch(arg);
}

/* ------------------------------------------------------------------ */
/* Results                                                             */
/* ------------------------------------------------------------------ */

static bool same_key(const struct es_aws_key *a, const struct es_aws_key *b)
{
    const char *ta = a->session_token != NULL ? a->session_token : "";
    const char *tb = b->session_token != NULL ? b->session_token : "";

    return a->access_key_id != NULL && b->access_key_id != NULL &&
           strcmp(a->access_key_id, b->access_key_id) == 0 &&
           strcmp(a->secret_access_key, b->secret_access_key) == 0 && strcmp(ta, tb) == 0 &&
           a->expiration == b->expiration;
}

static void describe(struct es_aws_creds *p, const struct es_aws_plan *plan)
{
    const char *name = es_aws_source_name(plan->source);
    char base[40];

    if (plan->profile_name == NULL) {
        snprintf(base, sizeof(base), "%s", name);
    } else if (plan->source == ES_AWS_SRC_PROFILE) {
        snprintf(base, sizeof(base), "profile %.24s", plan->profile_name);
    } else {
        snprintf(base, sizeof(base), "%s (profile %.16s)", name, plan->profile_name);
    }
    if (plan->nroles == 0) {
        snprintf(p->source_desc, sizeof(p->source_desc), "%s", base);
    } else {
        snprintf(p->source_desc, sizeof(p->source_desc), "sts assume-role%s on %s",
                 plan->nroles > 1 ? " x2" : "", base);
    }
}

static void format_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, 32, "%lld", (long long)t);
    }
}

static void install(struct es_aws_creds *p, int64_t now)
{
    struct es_aws_fetch *f = &p->fetch;
    int64_t delay = es_aws_refresh_delay_ms(now, f->key.expiration,
                                            p->conf.credentials_refresh_before_ms);
    bool same = p->have && same_key(&p->cur, &f->key);
    char masked[16], when[32];

    es_aws_key_mask(f->key.access_key_id, masked);
    describe(p, &f->plan);
    es_aws_key_move(&p->cur, &f->key);
    p->cur_source = f->plan.source;
    p->cur_nroles = f->plan.nroles;
    p->have = true;
    p->failures = 0;
    p->refusals = 0;
    p->refused_akid[0] = '\0';
    if (delay >= 0) {
        sk_timer_start(p->timer, delay, 0);
    }
    if (same) {
        return;
    }
    p->gen++;
    if (p->cur.expiration != 0) {
        format_time(p->cur.expiration, when);
        sk_info("aws credentials: got %s credentials from %s, key %s, expiring %s; "
                "next refresh in %.1fs",
                p->cur.session_token != NULL ? "temporary" : "long-term", p->source_desc, masked,
                when, (double)delay / 1000.0);
    } else {
        sk_info("aws credentials: using %s credentials from %s, key %s",
                p->cur.session_token != NULL ? "session" : "long-term", p->source_desc, masked);
    }
    if (p->ready_cb != NULL) {
        p->ready_cb(p->ready_arg);
    }
}

static void fail(struct es_aws_creds *p, int rc)
{
    int64_t delay;

    p->failures++;
    delay = es_aws_backoff_ms(p->failures, p->conf.credentials_retry_wait_ms,
                              p->conf.credentials_retry_max_wait_ms);
    if (p->http_closed) {
        return;
    }
    if (p->fetch.plan.source != ES_AWS_SRC_NONE) {
        describe(p, &p->fetch.plan);
    }
    sk_timer_start(p->timer, delay, 0);
    sk_log(p->have ? SK_LOG_WARN : SK_LOG_ERROR,
           "aws credentials: cannot get credentials from %s: %s (%s); %s; attempt %u, "
           "next in %.2fs",
           p->fetch.plan.source != ES_AWS_SRC_NONE ? p->source_desc : "the credential chain",
           p->err.len > 0 ? p->err.data : "failed", sk_strerror(rc),
           p->have ? "still using the current ones" : "events stay buffered", p->failures,
           (double)delay / 1000.0);
}

void es_aws_fetch_done(struct es_aws_creds *p, int rc)
{
    struct es_aws_fetch *f = &p->fetch;
    int64_t now = (int64_t)time(NULL);

    p->busy = false;
    p->step = ES_AWS_STEP_IDLE;
    if (rc == 0 && f->key.expiration != 0 && f->key.expiration <= now) {
        note(&p->err, "the credentials received have already expired (is the clock right?)");
        rc = SK_ERANGE;
    }
    if (rc == 0 && p->refused_akid[0] != '\0' &&
        strcmp(p->refused_akid, f->key.access_key_id) == 0) {
        /* Wait for the source to rotate them, but not forever: if it keeps
         * saying they are good, the domain's answer may have been wrong. */
        if (p->refusals < ES_AWS_MAX_REFUSALS) {
            p->refusals++;
            note(&p->err, "the source still serves the credentials the domain refused as "
                          "expired");
            rc = SK_EAGAIN;
        } else {
            sk_warn("aws credentials: %s keeps serving the credentials the domain refused as "
                    "expired; using them again",
                    es_aws_source_name(f->plan.source));
        }
    }
    if (rc == 0) {
        install(p, now);
    } else {
        fail(p, rc);
    }
    fetch_reset(f);
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

static int copy_conf(struct es_aws_creds_conf *dst, const struct es_aws_creds_conf *src)
{
    int rc = 0;

    *dst = *src;
#define DUP(f)                                 \
    dst->f = NULL;                             \
    if (src->f != NULL) {                      \
        dst->f = sk_strdup(src->f);            \
        rc = dst->f == NULL ? SK_ENOMEM : rc;  \
    }
    CONF_STRINGS(DUP)
#undef DUP
    if (dst->credentials_timeout_ms <= 0) {
        dst->credentials_timeout_ms = DEF_TIMEOUT_MS;
    }
    if (dst->credentials_refresh_before_ms <= 0) {
        dst->credentials_refresh_before_ms = DEF_REFRESH_BEFORE_MS;
    }
    if (dst->credentials_retry_wait_ms <= 0) {
        dst->credentials_retry_wait_ms = DEF_RETRY_WAIT_MS;
    }
    if (dst->credentials_retry_max_wait_ms < dst->credentials_retry_wait_ms) {
        dst->credentials_retry_max_wait_ms = dst->credentials_retry_wait_ms > DEF_RETRY_MAX_MS
                                                 ? dst->credentials_retry_wait_ms
                                                 : DEF_RETRY_MAX_MS;
    }
    dst->sts_proxy = NULL;
    if (rc == 0 && src->sts_proxy != NULL) {
        dst->sts_proxy = sk_strdup(src->sts_proxy);
        rc = dst->sts_proxy == NULL ? SK_ENOMEM : 0;
    }
    return rc;
}

static void free_conf(struct es_aws_creds_conf *c)
{
#define FREE(f) es_aws_wipe_free(c->f);
    CONF_STRINGS(FREE)
#undef FREE
    sk_free((char *)c->sts_proxy);
    memset(c, 0, sizeof(*c));
}

struct es_aws_creds *es_aws_creds_create(struct sk_loop *loop, struct sk_http *http,
                                         const struct es_aws_creds_conf *conf)
{
    struct es_aws_creds *p = sk_calloc(1, sizeof(*p));

    if (p == NULL) {
        return NULL;
    }
    p->loop = loop;
    p->http = http;
    sk_buf_init(&p->err, 1024);
    sk_buf_init(&p->fetch.role_name, 256);
    sk_buf_init(&p->fetch.sts_url, 2048);
    p->refuse_log = (struct sk_log_limit)SK_LOG_LIMIT_INIT(60000, 3);
    if (copy_conf(&p->conf, conf) < 0) {
        es_aws_creds_destroy(p);
        return NULL;
    }
    p->timer = sk_timer_create(loop, on_timer, p);
    if (p->timer == NULL) {
        es_aws_creds_destroy(p);
        return NULL;
    }
    start_fetch(p);
    return p;
}

void es_aws_creds_destroy(struct es_aws_creds *p)
{
    if (p == NULL) {
        return;
    }
    if (p->op != NULL) {
        es_aws_op_detach(p->op);
        p->op = NULL;
    }
    sk_timer_destroy(p->timer);
    fetch_reset(&p->fetch);
    sk_buf_cleanup(&p->fetch.role_name);
    sk_buf_cleanup(&p->fetch.sts_url);
    es_aws_key_clear(&p->cur);
    es_aws_wipe_free(p->imds_token);
    free_conf(&p->conf);
    sk_buf_cleanup(&p->err);
    sk_free(p);
}

int es_aws_creds_get(struct es_aws_creds *p, struct es_sigv4_creds *out)
{
    if (!p->have) {
        return SK_EAGAIN;
    }
    if (p->cur.expiration != 0 && (int64_t)time(NULL) >= p->cur.expiration) {
        p->have = false;
        if (!p->busy && !sk_timer_active(p->timer) && !p->http_closed) {
            sk_timer_start(p->timer, 0, 0);
        }
        sk_warn("aws credentials from %s expired before new ones arrived", p->source_desc);
        return SK_EAGAIN;
    }
    out->access_key_id = p->cur.access_key_id;
    out->secret_access_key = p->cur.secret_access_key;
    out->session_token = p->cur.session_token;
    return 0;
}

int es_aws_creds_sign(struct es_aws_creds *p, const struct es_sigv4_config *cfg,
                      const struct es_sigv4_request *req, time_t now,
                      struct es_sigv4_key_cache *cache, struct es_sigv4_result *out,
                      uint64_t *gen)
{
    struct es_sigv4_creds c;
    int rc = es_aws_creds_get(p, &c);

    if (rc < 0) {
        out->nheaders = 0;
        return rc;
    }
    if (gen != NULL) {
        *gen = p->gen;
    }
    return es_sigv4_sign(cfg, &c, req, now, cache, out);
}

uint64_t es_aws_creds_generation(const struct es_aws_creds *p)
{
    return p->gen;
}

void es_aws_creds_invalidate_gen(struct es_aws_creds *p, uint64_t gen)
{
    int64_t now, delay;

    if (!p->have || gen != p->gen || p->busy || p->http_closed) {
        return; /* nothing to drop, already replaced, or being replaced */
    }
    now = sk_loop_update_now_ms(p->loop);
    delay = p->last_fetch_ms + p->conf.credentials_retry_wait_ms - now;
    if (p->cur.expiration == 0 && p->cur_nroles == 0) {
        /* Keys that never expire: read them again (a rotated profile) but
         * keep using them; the domain will keep refusing if they are bad. */
        sk_log_limited(&p->refuse_log, SK_LOG_WARN,
                       "aws credentials: the domain says the token of the %s credentials "
                       "expired; they cannot be refreshed, reading them again",
                       p->source_desc);
        sk_timer_start(p->timer, delay > 0 ? delay : 0, 0);
        return;
    }
    snprintf(p->refused_akid, sizeof(p->refused_akid), "%s", p->cur.access_key_id);
    p->refusals = 0;
    p->have = false;
    sk_timer_start(p->timer, delay > 0 ? delay : 0, 0);
    sk_warn("aws credentials: the domain refused the %s credentials as expired; fetching new "
            "ones%s",
            p->source_desc, delay > 0 ? " shortly" : " now");
}

void es_aws_creds_invalidate(struct es_aws_creds *p)
{
    es_aws_creds_invalidate_gen(p, p->gen);
}

void es_aws_creds_on_ready(struct es_aws_creds *p, es_aws_ready_cb cb, void *arg)
{
    p->ready_cb = cb;
    p->ready_arg = arg;
}

const char *es_aws_creds_source(const struct es_aws_creds *p)
{
    return p->source_desc[0] != '\0' ? p->source_desc : "none";
}
