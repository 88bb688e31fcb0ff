#include "testutil.h"

/*
 * The AWS credentials provider on a real event loop against the loopback
 * doubles of tests/awsdouble/awsdouble.py (IMDS, STS, ECS): each source,
 * AssumeRole on top, expiry and refresh while credentials are in constant
 * use, invalidation after an "expired token" answer, failures and retries,
 * shutdown with a request in flight, and secrets kept out of the log.
 * The double runs as a child process (python3) on a free port; the script
 * is found next to this source (__FILE__), so no environment is needed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "http/http.h"
#include "json/json.h"
#include "log/log.h"
#include "loop/loop.h"
#include "out_elasticsearch/es_aws_creds.h"
#include "out_elasticsearch/es_aws_creds_int.h"
#include "out_elasticsearch/es_sigv4.h"
#include "util/buf.h"

#define BASE_AKID "AKIDEXAMPLEBASE00001"
#define BASE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define ROLE_ARN "arn:aws:iam::123456789012:role/shipper"
#define WEB_TOKEN "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJza2lmZiJ9.c2lnbmF0dXJl"
#define ECS_TOKEN "Bearer ecs-container-secret-token"
#define MAX_ARGS 24

struct fx {
    pid_t pid;
    pid_t proxy_pid;
    int proxy_port;
    int port;
    char url[64];
    char dir[256];
    struct sk_loop *loop;
    struct sk_http *http;
    struct es_aws_creds *p;
    int ready;
    /* load: signatures made while the test runs */
    bool load;
    bool saw_gap;
    unsigned long signatures;
    char first_akid[64];
    int64_t first_expiration;
    bool rotated_before_expiry;
};

/* ------------------------------------------------------------------ */
/* The double as a child process                                       */
/* ------------------------------------------------------------------ */

static void script_path(char *out, size_t size)
{
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    int n = slash != NULL ? (int)(slash - file) : 1;

    snprintf(out, size, "%.*s/../../../awsdouble/awsdouble.py", n, slash != NULL ? file : ".");
}

static void start_double(struct fx *fx, const char *const *extra)
{
    char script[1024], portfile[512];
    const char *argv[MAX_ARGS];
    size_t n = 0;

    script_path(script, sizeof(script));
    if (access(script, R_OK) != 0) {
        fail_msg("cannot find %s", script);
    }
    snprintf(portfile, sizeof(portfile), "%s/port", fx->dir);
    argv[n++] = "python3";
    argv[n++] = script;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--base-key";
    argv[n++] = BASE_AKID ":" BASE_SECRET;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n + 1 < MAX_ARGS; i++) {
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    fx->pid = fork();
    assert_true(fx->pid >= 0);
    if (fx->pid == 0) {
        setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 400; i++) { /* up to 20 s */
        FILE *f = fopen(portfile, "r");
        int status;

        if (waitpid(fx->pid, &status, WNOHANG) == fx->pid) {
            fx->pid = 0;
            fail_msg("awsdouble exited at start (status %d): is python3 installed?", status);
        }

        if (f != NULL) {
            int ok = fscanf(f, "%d", &fx->port);

            fclose(f);
            if (ok == 1) {
                snprintf(fx->url, sizeof(fx->url), "http://127.0.0.1:%d", fx->port);
                return;
            }
        }
        usleep(50000);
    }
    fail_msg("awsdouble did not start");
}

static void stop_double(struct fx *fx)
{
    int status;

    if (fx->pid > 0) {
        kill(fx->pid, SIGTERM);
        waitpid(fx->pid, &status, 0);
        fx->pid = 0;
    }
}

/* A free loopback port (bound then released: tinyproxy needs a number). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static bool port_open(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* tinyproxy on loopback, the stand-in for the VPC proxy; skips the test
 * when it is not installed. */
static void start_proxy(struct fx *fx)
{
    char conf[512];
    FILE *f;

    if (access("/usr/bin/tinyproxy", X_OK) != 0) {
        skip();
    }
    fx->proxy_port = free_port();
    snprintf(conf, sizeof(conf), "%s/tinyproxy.conf", fx->dir);
    f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "Port %d\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nAllow 127.0.0.1\n"
               "LogLevel Critical\n",
            fx->proxy_port);
    fclose(f);
    fx->proxy_pid = fork();
    assert_true(fx->proxy_pid >= 0);
    if (fx->proxy_pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execl("/usr/bin/tinyproxy", "tinyproxy", "-d", "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !port_open(fx->proxy_port); i++) {
        usleep(25000);
    }
    assert_true(port_open(fx->proxy_port));
}

static void stop_proxy(struct fx *fx)
{
    int status;
    char conf[512];

    if (fx->proxy_pid > 0) {
        kill(fx->proxy_pid, SIGTERM);
        waitpid(fx->proxy_pid, &status, 0);
        fx->proxy_pid = 0;
        snprintf(conf, sizeof(conf), "%s/tinyproxy.conf", fx->dir);
        remove(conf);
    }
}

static const char *const aws_vars[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_V1_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_ENDPOINT_URL_STS", "AWS_STS_ENDPOINT",
    "AWS_REGION", "AWS_DEFAULT_REGION", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
    "https_proxy", "ALL_PROXY", "all_proxy"};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    for (size_t i = 0; i < sizeof(aws_vars) / sizeof(aws_vars[0]); i++) {
        unsetenv(aws_vars[i]);
    }
    setenv("HOME", "/nonexistent-skiff-home", 1);
    snprintf(fx->dir, sizeof(fx->dir), "%s", sk_test_tmpdir());
    fx->loop = sk_loop_create();
    fx->http = sk_http_create(fx->loop, 8);
    assert_non_null(fx->http);
    *state = fx;
    return 0;
}

static void drain(struct fx *fx);

static int teardown(void **state)
{
    struct fx *fx = *state;
    char path[512];

    es_aws_creds_destroy(fx->p);
    drain(fx);
    sk_http_destroy(fx->http);
    sk_loop_destroy(fx->loop);
    stop_double(fx);
    stop_proxy(fx);
    snprintf(path, sizeof(path), "%s/port", fx->dir);
    remove(path);
    snprintf(path, sizeof(path), "%s/token", fx->dir);
    remove(path);
    snprintf(path, sizeof(path), "%s/log", fx->dir);
    remove(path);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Running the loop                                                    */
/* ------------------------------------------------------------------ */

typedef bool (*pred_fn)(struct fx *fx);

struct waiter {
    struct fx *fx;
    pred_fn pred;
    int64_t deadline;
    bool ok;
};

/* One signature with the current credentials, as the output would make. */
static void use_credentials(struct fx *fx)
{
    struct es_sigv4_config cfg = {.region = "eu-west-1", .service = "es"};
    struct es_sigv4_header h[1] = {{"Host", "search-x.eu-west-1.es.amazonaws.com"}};
    struct es_sigv4_request rq = {.method = "POST", .path = "/_bulk", .headers = h,
                                  .nheaders = 1, .body = "{}\n", .body_len = 3};
    struct es_sigv4_creds c;
    struct es_sigv4_result r;
    int64_t now = (int64_t)time(NULL);

    if (es_aws_creds_get(fx->p, &c) != 0) {
        if (fx->first_akid[0] != '\0') {
            fx->saw_gap = true;
        }
        return;
    }
    if (fx->first_akid[0] == '\0') {
        snprintf(fx->first_akid, sizeof(fx->first_akid), "%s", c.access_key_id);
        fx->first_expiration = fx->p->cur.expiration;
    } else if (strcmp(fx->first_akid, c.access_key_id) != 0 && now < fx->first_expiration) {
        fx->rotated_before_expiry = true;
    }
    es_sigv4_result_init(&r);
    assert_int_equal(es_sigv4_sign(&cfg, &c, &rq, time(NULL), NULL, &r), 0);
    es_sigv4_result_cleanup(&r);
    fx->signatures++;
}

static void tick(struct sk_timer *t, void *arg)
{
    struct waiter *w = arg;

    (void)t;
    if (w->fx->load && w->fx->p != NULL) {
        use_credentials(w->fx);
    }
    if (w->pred != NULL && w->pred(w->fx)) {
        w->ok = true;
        sk_loop_stop(w->fx->loop);
    } else if (sk_loop_update_now_ms(w->fx->loop) >= w->deadline) {
        sk_loop_stop(w->fx->loop);
    }
}

/* Runs the loop until pred holds (true) or timeout_ms passes (false). */
static bool run_until(struct fx *fx, pred_fn pred, int64_t timeout_ms)
{
    struct waiter w = {fx, pred, sk_loop_update_now_ms(fx->loop) + timeout_ms, false};
    struct sk_timer *t = sk_timer_create(fx->loop, tick, &w);

    assert_non_null(t);
    sk_timer_start(t, 2, 2);
    sk_loop_run(fx->loop);
    sk_timer_destroy(t);
    return w.ok;
}

static bool no_requests(struct fx *fx)
{
    return sk_http_pending(fx->http) == 0;
}

static void drain(struct fx *fx)
{
    (void)run_until(fx, no_requests, 5000);
}

static int ready_gen;

static bool have_gen(struct fx *fx)
{
    return fx->p != NULL && es_aws_creds_generation(fx->p) >= (uint64_t)ready_gen;
}

/* Waits until generation `gen` is installed. */
static void wait_gen(struct fx *fx, int gen, int64_t timeout_ms)
{
    ready_gen = gen;
    if (!run_until(fx, have_gen, timeout_ms)) {
        fail_msg("no credentials generation %d within %lld ms (have %llu)", gen,
                 (long long)timeout_ms, (unsigned long long)es_aws_creds_generation(fx->p));
    }
}

static bool failed_twice(struct fx *fx)
{
    return fx->p->failures >= 2;
}

static void on_ready(void *arg)
{
    ((struct fx *)arg)->ready++;
}

static void create(struct fx *fx, const struct es_aws_creds_conf *conf)
{
    fx->p = es_aws_creds_create(fx->loop, fx->http, conf);
    assert_non_null(fx->p);
    es_aws_creds_on_ready(fx->p, on_ready, fx);
}

/* ------------------------------------------------------------------ */
/* Talking to the double's control API                                 */
/* ------------------------------------------------------------------ */

struct ctl {
    bool done;
    int status;
    struct sk_buf *out;
};

static void on_ctl(const struct sk_http_response *res, void *arg)
{
    struct ctl *c = arg;

    c->done = true;
    c->status = res->status;
    if (c->out != NULL && res->body.len > 0) {
        assert_int_equal(sk_buf_append(c->out, res->body.data, res->body.len), 0);
    }
}

static struct ctl *cur_ctl;

static bool ctl_done(struct fx *fx)
{
    (void)fx;
    return cur_ctl->done;
}

/* A control request; the answer body goes to out (may be NULL). */
static int control(struct fx *fx, const char *method, const char *path, const char *body,
                   struct sk_buf *out)
{
    char url[256];
    struct sk_http_request req = {0};
    struct ctl c = {false, 0, out};

    snprintf(url, sizeof(url), "%s%s", fx->url, path);
    req.method = method;
    req.url = url;
    req.body = body;
    req.body_len = body != NULL ? strlen(body) : 0;
    req.proxy = "";
    req.timeout_ms = 5000;
    assert_int_equal(sk_http_submit(fx->http, &req, on_ctl, &c), 0);
    cur_ctl = &c;
    assert_true(run_until(fx, ctl_done, 10000));
    return c.status;
}

/* "key": N in the counts document. */
static long count_of(struct fx *fx, const char *key)
{
    struct sk_buf out;
    char needle[64];
    const char *at;
    long v = -1;

    sk_buf_init(&out, 1 << 16);
    assert_int_equal(control(fx, "GET", "/_aws/counts", NULL, &out), 200);
    snprintf(needle, sizeof(needle), "\"%s\": ", key);
    at = strstr(out.data, needle);
    if (at != NULL) {
        v = strtol(at + strlen(needle), NULL, 10);
    }
    sk_buf_cleanup(&out);
    return v;
}

/* "key": N inside "section": {...} of the counts document. */
static long count_in(struct fx *fx, const char *section, const char *key)
{
    struct sk_buf out;
    char needle[64];
    const char *at;
    long v = -1;

    sk_buf_init(&out, 1 << 16);
    assert_int_equal(control(fx, "GET", "/_aws/counts", NULL, &out), 200);
    snprintf(needle, sizeof(needle), "\"%s\": {", section);
    at = strstr(out.data, needle);
    snprintf(needle, sizeof(needle), "\"%s\": ", key);
    at = at != NULL ? strstr(at, needle) : NULL;
    if (at != NULL) {
        v = strtol(at + strlen(needle), NULL, 10);
    }
    sk_buf_cleanup(&out);
    return v;
}

/* Whether the double issued a credential with this key id and secret. */
static bool issued(struct fx *fx, const char *akid, const char *secret, const char *source)
{
    struct sk_buf out;
    char a[128], s[128], src[64];
    bool found;

    sk_buf_init(&out, 1 << 22);
    assert_int_equal(control(fx, "GET", "/_aws/credentials", NULL, &out), 200);
    snprintf(a, sizeof(a), "\"access_key_id\": \"%s\"", akid);
    snprintf(s, sizeof(s), "\"secret_access_key\": \"%s\"", secret);
    snprintf(src, sizeof(src), "\"source\": \"%s\"", source);
    found = strstr(out.data, a) != NULL && strstr(out.data, s) != NULL &&
            strstr(strstr(out.data, a), src) != NULL;
    sk_buf_cleanup(&out);
    return found;
}

static void write_token(struct fx *fx, const char *token, char *path, size_t size)
{
    FILE *f;

    snprintf(path, size, "%s/token", fx->dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", token);
    fclose(f);
}

static void expect_creds(struct fx *fx, const char *source, const char *issued_by)
{
    struct es_sigv4_creds c;

    assert_int_equal(es_aws_creds_get(fx->p, &c), 0);
    assert_non_null(c.session_token);
    assert_true(strncmp(c.access_key_id, "ASIA", 4) == 0);
    assert_string_equal(es_aws_creds_source(fx->p), source);
    assert_true(issued(fx, c.access_key_id, c.secret_access_key, issued_by));
}

/* ------------------------------------------------------------------ */
/* Sources                                                             */
/* ------------------------------------------------------------------ */

static void test_imds_v2(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {0};
    struct es_sigv4_creds c;

    start_double(fx, (const char *const[]){"--imds-mode", "v2-required", NULL});
    conf.imds_endpoint = fx->url;
    create(fx, &conf);
    assert_int_equal(es_aws_creds_get(fx->p, &c), SK_EAGAIN);
    wait_gen(fx, 1, 10000);
    expect_creds(fx, "imds", "imds");
    assert_int_equal(fx->ready, 1);
    assert_int_equal(count_of(fx, "imds_tokens"), 1);
    assert_int_equal(count_of(fx, "imds"), 1);
}

static void test_imds_v1_fallback_from_env(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {0};

    start_double(fx, (const char *const[]){"--imds-mode", "v1", NULL});
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fx->url, 1);
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    expect_creds(fx, "imds", "imds");
    assert_int_equal(count_of(fx, "imds_tokens"), 0);
    assert_int_equal(count_of(fx, "imds-token"), 1); /* the PUT was tried */
}

static void test_imds_v1_disabled(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.credentials_retry_wait_ms = 50,
                                     .credentials_retry_max_wait_ms = 50};
    struct es_sigv4_creds c;

    start_double(fx, (const char *const[]){"--imds-mode", "v1", NULL});
    setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
    conf.imds_endpoint = fx->url;
    create(fx, &conf);
    assert_true(run_until(fx, failed_twice, 10000));
    assert_int_equal(es_aws_creds_get(fx->p, &c), SK_EAGAIN);
    assert_int_equal(count_of(fx, "imds-role"), 0);
}

static void test_web_identity(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.assume_role_arn = ROLE_ARN,
                                     .assume_role_session_name = "fluentd"};
    char token[512];

    start_double(fx, (const char *const[]){"--web-identity-token", WEB_TOKEN, NULL});
    write_token(fx, WEB_TOKEN, token, sizeof(token));
    conf.assume_role_web_identity_token_file = token;
    conf.sts_endpoint = fx->url;
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    expect_creds(fx, "web-identity", "web_identity");
    assert_int_equal(count_of(fx, "web_identity"), 1);
    assert_int_equal(count_of(fx, "assume_role"), 0);
}

static void test_web_identity_env_token_rotation(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.credentials_retry_wait_ms = 50,
                                     .credentials_retry_max_wait_ms = 100};
    char token[512];
    struct es_sigv4_creds c;

    start_double(fx, (const char *const[]){"--web-identity-token", WEB_TOKEN, NULL});
    write_token(fx, "an-old-token", token, sizeof(token));
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
    setenv("AWS_ROLE_ARN", ROLE_ARN, 1);
    setenv("AWS_STS_ENDPOINT", fx->url, 1);
    create(fx, &conf);
    assert_true(run_until(fx, failed_twice, 10000));
    assert_int_equal(es_aws_creds_get(fx->p, &c), SK_EAGAIN); /* InvalidIdentityToken */
    assert_true(count_of(fx, "sts") >= 2);
    /* The token file is rotated (as EKS does): the next retry works. */
    write_token(fx, WEB_TOKEN, token, sizeof(token));
    wait_gen(fx, 1, 5000);
    expect_creds(fx, "web-identity", "web_identity");
}

static void test_ecs_relative(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.ecs_container_credentials_relative_uri =
                                         "/v2/credentials/skiff-test"};

    start_double(fx, (const char *const[]){"--ecs-auth", ECS_TOKEN, NULL});
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", ECS_TOKEN, 1);
    conf.ecs_endpoint = fx->url;
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    expect_creds(fx, "ecs", "ecs");
}

static void test_ecs_full_uri_token_file(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {0};
    char uri[256], token[512];

    start_double(fx, (const char *const[]){"--ecs-auth", ECS_TOKEN, "--ecs-path", "/creds",
                                           NULL});
    snprintf(uri, sizeof(uri), "%s/creds", fx->url);
    write_token(fx, ECS_TOKEN, token, sizeof(token));
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-one", 1); /* the file wins */
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    expect_creds(fx, "ecs", "ecs");
}

static void test_assume_role_on_static_keys(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.access_key_id = BASE_AKID,
                                     .secret_access_key = BASE_SECRET,
                                     .assume_role_arn = ROLE_ARN,
                                     .assume_role_session_name = "fluentd",
                                     .assume_role_external_id = "ext-42",
                                     .sts_credentials_region = "eu-west-1"};
    struct sk_buf out;

    start_double(fx, (const char *const[]){"--sts-region", "eu-west-1", NULL});
    conf.sts_endpoint = fx->url;
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    expect_creds(fx, "sts assume-role on config", "assume_role");
    sk_buf_init(&out, 1 << 20);
    assert_int_equal(control(fx, "GET", "/_aws/credentials", NULL, &out), 200);
    assert_non_null(strstr(out.data, "\"base\": \"" BASE_AKID "\""));
    sk_buf_cleanup(&out);
}

static void test_assume_role_on_imds(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.assume_role_arn = ROLE_ARN};

    start_double(fx, NULL);
    conf.imds_endpoint = fx->url;
    conf.sts_endpoint = fx->url;
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    expect_creds(fx, "sts assume-role on imds", "assume_role");
    assert_int_equal(count_of(fx, "imds"), 1);
    assert_int_equal(count_of(fx, "assume_role"), 1);
}

static void test_assume_role_refused(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.access_key_id = "AKIDUNKNOWN000000001",
                                     .secret_access_key = "nope",
                                     .assume_role_arn = ROLE_ARN,
                                     .credentials_retry_wait_ms = 50,
                                     .credentials_retry_max_wait_ms = 50};
    struct es_sigv4_creds c;

    start_double(fx, NULL);
    conf.sts_endpoint = fx->url;
    create(fx, &conf);
    assert_true(run_until(fx, failed_twice, 10000));
    assert_int_equal(es_aws_creds_get(fx->p, &c), SK_EAGAIN);
    assert_true(count_of(fx, "sts") >= 2);
    assert_int_equal(count_of(fx, "assume_role"), 0);
}

/* ------------------------------------------------------------------ */
/* Expiry, refresh, invalidation                                       */
/* ------------------------------------------------------------------ */

static bool four_generations(struct fx *fx)
{
    return es_aws_creds_generation(fx->p) >= 4;
}

/* Credentials valid 3 s, signed with every 2 ms: new ones arrive before
 * the old expire, and no signature ever finds none. */
static void expiry_under_load(struct fx *fx, const struct es_aws_creds_conf *conf)
{
    create(fx, conf);
    wait_gen(fx, 1, 10000);
    fx->load = true;
    assert_true(run_until(fx, four_generations, 12000));
    fx->load = false;
    assert_false(fx->saw_gap);
    assert_true(fx->rotated_before_expiry);
    assert_true(fx->signatures > 500);
    assert_int_equal(fx->p->failures, 0);
}

static void test_expiry_refresh_web_identity(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.assume_role_arn = ROLE_ARN};
    char token[512];

    start_double(fx, (const char *const[]){"--expiry-s", "3", NULL});
    write_token(fx, WEB_TOKEN, token, sizeof(token));
    conf.assume_role_web_identity_token_file = token;
    conf.sts_endpoint = fx->url;
    expiry_under_load(fx, &conf);
    assert_true(count_of(fx, "web_identity") >= 4);
}

static void test_expiry_refresh_imds_assume_role(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.assume_role_arn = ROLE_ARN};

    start_double(fx, (const char *const[]){"--expiry-s", "3", NULL});
    conf.imds_endpoint = fx->url;
    conf.sts_endpoint = fx->url;
    expiry_under_load(fx, &conf);
    assert_true(count_of(fx, "assume_role") >= 4);
    assert_int_equal(count_of(fx, "imds_tokens"), 1); /* the token is reused */
}

static void test_invalidate(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.assume_role_arn = ROLE_ARN,
                                     .credentials_retry_wait_ms = 10};
    char token[512], first[64];
    struct es_sigv4_creds c;
    uint64_t gen;

    start_double(fx, NULL);
    write_token(fx, WEB_TOKEN, token, sizeof(token));
    conf.assume_role_web_identity_token_file = token;
    conf.sts_endpoint = fx->url;
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    assert_int_equal(es_aws_creds_get(fx->p, &c), 0);
    snprintf(first, sizeof(first), "%s", c.access_key_id);
    gen = es_aws_creds_generation(fx->p);
    (void)run_until(fx, NULL, 20); /* past the minimum interval */

    /* Many requests refused at once: one refresh. */
    for (int i = 0; i < 50; i++) {
        es_aws_creds_invalidate_gen(fx->p, gen);
    }
    assert_int_equal(es_aws_creds_get(fx->p, &c), SK_EAGAIN);
    wait_gen(fx, 2, 10000);
    assert_int_equal(es_aws_creds_get(fx->p, &c), 0);
    assert_string_not_equal(c.access_key_id, first);
    assert_int_equal(fx->ready, 2);
    /* A late answer for the old generation changes nothing. */
    es_aws_creds_invalidate_gen(fx->p, gen);
    assert_int_equal(es_aws_creds_get(fx->p, &c), 0);
    (void)run_until(fx, NULL, 100);
    assert_int_equal(es_aws_creds_generation(fx->p), 2);
    assert_int_equal(count_of(fx, "web_identity"), 2);
}

static void test_invalidate_same_credentials_served(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.credentials_retry_wait_ms = 300,
                                     .credentials_retry_max_wait_ms = 300};
    struct es_sigv4_creds c;
    char first[64];

    start_double(fx, NULL); /* IMDS credentials for an hour: served again */
    conf.imds_endpoint = fx->url;
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    assert_int_equal(es_aws_creds_get(fx->p, &c), 0);
    snprintf(first, sizeof(first), "%s", c.access_key_id);
    (void)run_until(fx, NULL, 300);
    es_aws_creds_invalidate(fx->p);
    (void)run_until(fx, NULL, 150);
    /* The same refused key is not installed again: still waiting. */
    assert_int_equal(es_aws_creds_get(fx->p, &c), SK_EAGAIN);
    assert_int_equal(fx->p->failures, 1);
    assert_int_equal(fx->p->refusals, 1);
    /* The service rotates them: the next attempt gets new ones. */
    assert_int_equal(control(fx, "POST", "/_aws/expire", "{}", NULL), 200);
    wait_gen(fx, 2, 5000);
    assert_int_equal(es_aws_creds_get(fx->p, &c), 0);
    assert_string_not_equal(c.access_key_id, first);
}

static void test_invalidate_same_credentials_taken_back(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.credentials_retry_wait_ms = 10,
                                     .credentials_retry_max_wait_ms = 20};
    struct es_sigv4_creds c;
    char first[64];

    start_double(fx, NULL);
    conf.imds_endpoint = fx->url;
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    assert_int_equal(es_aws_creds_get(fx->p, &c), 0);
    snprintf(first, sizeof(first), "%s", c.access_key_id);
    (void)run_until(fx, NULL, 20);
    es_aws_creds_invalidate(fx->p);
    /* The source never rotates: after ES_AWS_MAX_REFUSALS tries the key
     * the domain refused is used again rather than waiting forever. */
    wait_gen(fx, 2, 5000);
    assert_int_equal(es_aws_creds_get(fx->p, &c), 0);
    assert_string_equal(c.access_key_id, first);
    assert_int_equal(count_in(fx, "requests", "imds-creds"), 1 + ES_AWS_MAX_REFUSALS + 1);
    assert_int_equal(fx->p->refusals, 0);
}

static void test_sts_failures_retried(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.assume_role_arn = ROLE_ARN,
                                     .credentials_retry_wait_ms = 20,
                                     .credentials_retry_max_wait_ms = 50};
    char token[512];

    start_double(fx, NULL);
    assert_int_equal(control(fx, "POST", "/_aws/fail",
                             "{\"route\": \"sts\", \"status\": 503, \"count\": 2}", NULL),
                     200);
    write_token(fx, WEB_TOKEN, token, sizeof(token));
    conf.assume_role_web_identity_token_file = token;
    conf.sts_endpoint = fx->url;
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    assert_int_equal(count_of(fx, "sts"), 3);
    assert_int_equal(fx->p->failures, 0);
}

static void test_timeout_retried(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.credentials_timeout_ms = 200,
                                     .credentials_retry_wait_ms = 20};

    start_double(fx, NULL);
    assert_int_equal(control(fx, "POST", "/_aws/fail",
                             "{\"route\": \"imds-creds\", \"delay_s\": 1, \"count\": 1}", NULL),
                     200);
    conf.imds_endpoint = fx->url;
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    assert_int_equal(count_of(fx, "imds-creds"), 2);
}

/* ------------------------------------------------------------------ */
/* Shutdown                                                            */
/* ------------------------------------------------------------------ */

static void test_destroy_in_flight(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {0};

    start_double(fx, NULL);
    assert_int_equal(control(fx, "POST", "/_aws/fail",
                             "{\"route\": \"imds-role\", \"delay_s\": 0.5, \"count\": 1}", NULL),
                     200);
    conf.imds_endpoint = fx->url;
    create(fx, &conf);
    (void)run_until(fx, NULL, 100);
    assert_true(sk_http_pending(fx->http) == 1);
    es_aws_creds_destroy(fx->p);
    fx->p = NULL;
    drain(fx); /* the answer comes and is dropped */
    assert_int_equal(sk_http_pending(fx->http), 0);
}

static void test_http_destroyed_first(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {0};

    start_double(fx, NULL);
    assert_int_equal(control(fx, "POST", "/_aws/fail",
                             "{\"route\": \"imds-role\", \"delay_s\": 0.5, \"count\": 1}", NULL),
                     200);
    conf.imds_endpoint = fx->url;
    create(fx, &conf);
    (void)run_until(fx, NULL, 100);
    sk_http_destroy(fx->http); /* the request completes with SK_ECLOSED */
    fx->http = NULL;
    assert_false(sk_timer_active(fx->p->timer)); /* no retry on a closed client */
    es_aws_creds_destroy(fx->p);
    fx->p = NULL;
    fx->http = sk_http_create(fx->loop, 8);
}

/* ------------------------------------------------------------------ */
/* Through a proxy                                                     */
/* ------------------------------------------------------------------ */

static void test_sts_through_proxy(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.assume_role_arn = ROLE_ARN};
    char token[512], proxy[64];

    start_double(fx, NULL);
    start_proxy(fx);
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", fx->proxy_port);
    write_token(fx, WEB_TOKEN, token, sizeof(token));
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod", 1);
    conf.sts_endpoint = fx->url;
    conf.sts_proxy = proxy;
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    /* AssumeRoleWithWebIdentity then the signed AssumeRole, both proxied. */
    expect_creds(fx, "sts assume-role on web-identity", "assume_role");
    assert_int_equal(count_in(fx, "proxied", "sts"), 2);
    assert_int_equal(count_in(fx, "requests", "sts"), 2);
}

static void test_local_endpoints_bypass_env_proxy(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.assume_role_arn = ROLE_ARN};
    char proxy[64];

    start_double(fx, NULL);
    start_proxy(fx);
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", fx->proxy_port);
    setenv("http_proxy", proxy, 1); /* STS follows it (sts_proxy unset), IMDS never */
    conf.imds_endpoint = fx->url;
    conf.sts_endpoint = fx->url;
    create(fx, &conf);
    wait_gen(fx, 1, 10000);
    unsetenv("http_proxy");
    expect_creds(fx, "sts assume-role on imds", "assume_role");
    assert_int_equal(count_in(fx, "proxied", "sts"), 1);
    assert_int_equal(count_in(fx, "proxied", "imds-token"), 0);
    assert_int_equal(count_in(fx, "proxied", "imds-creds"), 0);
    assert_int_equal(count_in(fx, "requests", "imds-creds"), 1);
}

/* ------------------------------------------------------------------ */
/* Secrets stay out of the log                                         */
/* ------------------------------------------------------------------ */

static bool log_has(const char *log, size_t len, const char *s, size_t n)
{
    return n > 0 && memmem(log, len, s, n) != NULL;
}

static bool key_is(const msgpack_object *k, const char *name)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(name) &&
           memcmp(k->via.str.ptr, name, k->via.str.size) == 0;
}

static void check_secrets_absent(struct fx *fx, const char *log, size_t len)
{
    struct sk_buf out, scratch;
    msgpack_unpacked u;
    size_t checked = 0;

    sk_buf_init(&out, 1 << 22);
    sk_buf_init(&scratch, 1 << 23);
    msgpack_unpacked_init(&u);
    assert_int_equal(control(fx, "GET", "/_aws/credentials", NULL, &out), 200);
    assert_int_equal(sk_json_parse(out.data, out.len, &scratch, &u), 0);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_ARRAY);
    for (uint32_t i = 0; i < u.data.via.array.size; i++) {
        const msgpack_object *m = &u.data.via.array.ptr[i];

        for (uint32_t k = 0; k < m->via.map.size; k++) {
            const msgpack_object *key = &m->via.map.ptr[k].key;
            const msgpack_object *v = &m->via.map.ptr[k].val;

            if (v->type != MSGPACK_OBJECT_STR || !(key_is(key, "secret_access_key") ||
                                                   key_is(key, "session_token"))) {
                continue;
            }
            assert_false(log_has(log, len, v->via.str.ptr, v->via.str.size));
            checked++;
        }
    }
    assert_true(checked >= 4);
    msgpack_unpacked_destroy(&u);
    sk_buf_cleanup(&scratch);
    sk_buf_cleanup(&out);
}

static void test_secrets_not_logged(void **state)
{
    struct fx *fx = *state;
    struct es_aws_creds_conf conf = {.access_key_id = BASE_AKID,
                                     .secret_access_key = BASE_SECRET,
                                     .assume_role_arn = ROLE_ARN,
                                     .credentials_retry_wait_ms = 20};
    char logpath[512], token[512];
    struct es_aws_creds *ecs, *web;
    struct es_aws_creds_conf econf = {.ecs_container_credentials_relative_uri =
                                          "/v2/credentials/skiff-test"};
    struct es_aws_creds_conf wconf = {.assume_role_arn = ROLE_ARN};
    char *log;
    size_t len;

    start_double(fx, (const char *const[]){"--ecs-auth", ECS_TOKEN, "--web-identity-token",
                                           WEB_TOKEN, "--expiry-s", "2", NULL});
    snprintf(logpath, sizeof(logpath), "%s/log", fx->dir);
    assert_int_equal(sk_log_open(logpath), 0);
    sk_log_set_level(SK_LOG_TRACE);
    conf.sts_endpoint = fx->url;
    create(fx, &conf);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", ECS_TOKEN, 1);
    econf.ecs_endpoint = fx->url;
    ecs = es_aws_creds_create(fx->loop, fx->http, &econf);
    write_token(fx, WEB_TOKEN, token, sizeof(token));
    wconf.assume_role_web_identity_token_file = token;
    wconf.sts_endpoint = fx->url;
    web = es_aws_creds_create(fx->loop, fx->http, &wconf);
    wait_gen(fx, 2, 10000); /* one refresh too */
    /* A failure and an invalidation write their own lines. */
    assert_int_equal(control(fx, "POST", "/_aws/fail",
                             "{\"route\": \"sts\", \"status\": 500, \"count\": 1}", NULL),
                     200);
    es_aws_creds_invalidate(fx->p);
    wait_gen(fx, 3, 10000);
    es_aws_creds_destroy(ecs);
    es_aws_creds_destroy(web);
    sk_log_close();
    sk_log_set_level(SK_LOG_INFO);
    log = sk_test_read_file(logpath, &len);
    assert_non_null(log);
    assert_non_null(strstr(log, "aws credentials"));
    assert_non_null(strstr(log, "cannot get credentials"));
    assert_false(log_has(log, len, BASE_SECRET, strlen(BASE_SECRET)));
    assert_false(log_has(log, len, WEB_TOKEN, strlen(WEB_TOKEN)));
    assert_false(log_has(log, len, "ecs-container-secret-token", 26));
    check_secrets_absent(fx, log, len);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_imds_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imds_v1_fallback_from_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imds_v1_disabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_web_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_web_identity_env_token_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecs_relative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecs_full_uri_token_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assume_role_on_static_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assume_role_on_imds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assume_role_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_refresh_web_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_refresh_imds_assume_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalidate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalidate_same_credentials_served, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalidate_same_credentials_taken_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sts_failures_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_destroyed_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sts_through_proxy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_endpoints_bypass_env_proxy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_not_logged, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
