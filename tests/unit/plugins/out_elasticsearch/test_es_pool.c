#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "out_elasticsearch/es_pool.h"
#include "util/alloc.h"

/* Records every on_change call so tests can assert "logged exactly once". */
struct events {
    int count[ES_POOL_LAST_RESORT + 1];
    char last_host[256];
};

static void on_change(const struct es_host *h, enum es_pool_event ev, const char *reason,
                      void *arg)
{
    struct events *e = arg;

    (void)reason;
    e->count[ev]++;
    snprintf(e->last_host, sizeof(e->last_host), "%s", h->label);
}

static struct es_pool pool;
static struct events evs;

static int setup3(void **state)
{
    (void)state;
    memset(&evs, 0, sizeof(evs));
    es_pool_init(&pool, 60000, on_change, &evs);
    assert_non_null(es_pool_add(&pool, "http", "a", 9200, NULL, NULL, NULL, true));
    assert_non_null(es_pool_add(&pool, "http", "b", 9200, NULL, NULL, NULL, true));
    assert_non_null(es_pool_add(&pool, "http", "c", 9200, NULL, NULL, NULL, true));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    es_pool_cleanup(&pool);
    return 0;
}

/* Picks and immediately releases; returns the host name. */
static const char *pick(int64_t now)
{
    struct es_host *h = es_pool_pick(&pool, now);

    assert_non_null(h);
    es_pool_put(&pool, h);
    return h->host;
}

static struct es_host *host_named(const char *name)
{
    for (size_t i = 0; i < pool.n; i++) {
        if (strcmp(pool.hosts[i]->host, name) == 0) {
            return pool.hosts[i];
        }
    }
    return NULL;
}

static void test_round_robin(void **state)
{
    (void)state;
    assert_string_equal(pick(0), "a");
    assert_string_equal(pick(0), "b");
    assert_string_equal(pick(0), "c");
    assert_string_equal(pick(0), "a");
    assert_int_equal(es_pool_count(&pool, ES_HOST_ALIVE), 3);
}

static void test_dead_is_skipped_and_logged_once(void **state)
{
    struct es_host *b = host_named("b");

    (void)state;
    es_pool_failed(&pool, b, 1000, "connect refused");
    es_pool_failed(&pool, b, 1500, "connect refused");
    es_pool_failed(&pool, b, 2000, "timeout");
    assert_int_equal(evs.count[ES_POOL_DEAD], 1);
    assert_int_equal(b->state, ES_HOST_DEAD);
    assert_int_equal(b->dead_since_ms, 1000);
    for (int i = 0; i < 6; i++) {
        assert_string_not_equal(pick(3000), "b");
    }
}

static void test_resurrect_after(void **state)
{
    struct es_host *b = host_named("b");
    struct es_host *h;
    int seen_b = 0;

    (void)state;
    es_pool_failed(&pool, b, 1000, "reset");
    /* One millisecond early: never picked. */
    for (int i = 0; i < 6; i++) {
        assert_string_not_equal(pick(60999), "b");
    }
    /* Due: picked once as a trial, then not again until it answers. */
    for (int i = 0; i < 6; i++) {
        h = es_pool_pick(&pool, 61000);
        if (h == b) {
            seen_b++;
        }
        es_pool_put(&pool, h);
    }
    assert_int_equal(seen_b, 1);
    assert_true(b->trial);
    es_pool_succeeded(&pool, b, 61100);
    assert_int_equal(b->state, ES_HOST_ALIVE);
    assert_int_equal(evs.count[ES_POOL_RESURRECTED], 1);
    assert_int_equal(evs.count[ES_POOL_DEAD], 1);
}

static void test_trial_failure_stays_dead_silently(void **state)
{
    struct es_host *b = host_named("b");

    (void)state;
    es_pool_failed(&pool, b, 0, "reset");
    es_pool_failed(&pool, b, 60000, "reset again"); /* the trial failed */
    assert_int_equal(b->state, ES_HOST_DEAD);
    assert_int_equal(b->retry_at_ms, 120000);
    assert_int_equal(b->dead_since_ms, 0);
    assert_int_equal(evs.count[ES_POOL_DEAD], 1);
    assert_int_equal(evs.count[ES_POOL_RESURRECTED], 0);
}

static void test_all_dead_picks_longest_dead(void **state)
{
    (void)state;
    es_pool_failed(&pool, host_named("b"), 100, "x");
    es_pool_failed(&pool, host_named("a"), 200, "x");
    es_pool_failed(&pool, host_named("c"), 300, "x");
    /* Nobody is due at 1000: the one that died first is tried anyway. */
    assert_string_equal(pick(1000), "b");
    assert_int_equal(evs.count[ES_POOL_LAST_RESORT], 1);
    /* Never NULL, and the outage is reported once. */
    for (int i = 0; i < 5; i++) {
        assert_non_null(es_pool_pick(&pool, 1001 + i));
    }
    assert_int_equal(evs.count[ES_POOL_LAST_RESORT], 1);
    es_pool_succeeded(&pool, host_named("b"), 2000);
    assert_int_equal(evs.count[ES_POOL_RESURRECTED], 1);
    es_pool_failed(&pool, host_named("b"), 3000, "x");
    assert_non_null(es_pool_pick(&pool, 3001));
    assert_int_equal(evs.count[ES_POOL_LAST_RESORT], 2);
}

static void test_empty_pool_returns_null(void **state)
{
    struct es_pool p;

    (void)state;
    es_pool_init(&p, 1000, NULL, NULL);
    assert_null(es_pool_pick(&p, 0));
    es_pool_cleanup(&p);
}

static void test_sniff_due(void **state)
{
    (void)state;
    assert_false(es_pool_sniff_due(&pool, 3));
    pick(0);
    pick(0);
    assert_false(es_pool_sniff_due(&pool, 3));
    pick(0);
    assert_true(es_pool_sniff_due(&pool, 3));
    assert_false(es_pool_sniff_due(&pool, -1));
    assert_false(es_pool_sniff_due(&pool, 0));
    assert_int_equal(es_pool_merge_sniffed(&pool, NULL, 0, 0), 0);
    assert_false(es_pool_sniff_due(&pool, 3));
}

static void test_sniff_empty_keeps_pool(void **state)
{
    (void)state;
    assert_int_equal(es_pool_merge_sniffed(&pool, NULL, 0, 0), 0);
    assert_int_equal(pool.n, 3);
    assert_int_equal(es_pool_count(&pool, ES_HOST_ALIVE), 3);
    assert_int_equal(evs.count[ES_POOL_REMOVED], 0);
}

static void test_sniff_good_probe_then_use(void **state)
{
    struct es_sniff_addr addrs[2] = {{"127.0.0.2", 9200}, {"a", 9200}};
    struct es_host *h;
    int seen = 0;

    (void)state;
    pool.hosts[0]->user = sk_strdup("elastic");
    assert_int_equal(es_pool_merge_sniffed(&pool, addrs, 2, 0), 1);
    assert_int_equal(pool.n, 4);
    h = host_named("127.0.0.2");
    assert_non_null(h);
    assert_false(h->seed);
    assert_int_equal(h->state, ES_HOST_PROBING);
    assert_string_equal(h->user, "elastic");
    assert_int_equal(evs.count[ES_POOL_ADDED], 1);
    /* Not used before its probe answered. */
    for (int i = 0; i < 8; i++) {
        assert_string_not_equal(pick(0), "127.0.0.2");
    }
    assert_ptr_equal(es_pool_next_probe(&pool), h);
    assert_null(es_pool_next_probe(&pool));
    es_pool_probe_result(&pool, h, true, 10, NULL);
    es_pool_put(&pool, h);
    assert_int_equal(h->state, ES_HOST_ALIVE);
    assert_int_equal(evs.count[ES_POOL_PROBE_OK], 1);
    for (int i = 0; i < 8; i++) {
        seen += strcmp(pick(20), "127.0.0.2") == 0;
    }
    assert_int_equal(seen, 2);
}

static void test_sniff_unreachable_never_replaces_seeds(void **state)
{
    /* What a cluster behind a VPC proxy answers: private addresses that
     * cannot be reached from here. */
    struct es_sniff_addr addrs[2] = {{"127.0.0.9", 1}, {"127.0.0.10", 1}};
    struct es_host *h;

    (void)state;
    assert_int_equal(es_pool_merge_sniffed(&pool, addrs, 2, 0), 2);
    while ((h = es_pool_next_probe(&pool)) != NULL) {
        es_pool_probe_result(&pool, h, false, 5, "connection refused");
        es_pool_put(&pool, h);
    }
    assert_int_equal(pool.n, 3);
    assert_int_equal(es_pool_count(&pool, ES_HOST_ALIVE), 3);
    assert_int_equal(evs.count[ES_POOL_REMOVED], 2);
    assert_non_null(host_named("a"));
    assert_non_null(host_named("b"));
    assert_non_null(host_named("c"));
}

/* Behind a proxy every sniff names the same unreachable nodes: they are
 * not re-added (nor logged) again until ES_POOL_REFUSED_MS has passed. */
static void test_sniff_refused_addresses_rest(void **state)
{
    struct es_sniff_addr addrs[1] = {{"127.0.0.9", 1}};
    struct es_host *h;

    (void)state;
    assert_int_equal(es_pool_merge_sniffed(&pool, addrs, 1, 1000), 1);
    h = es_pool_next_probe(&pool);
    es_pool_probe_result(&pool, h, false, 1000, "refused");
    es_pool_put(&pool, h);
    assert_int_equal(es_pool_merge_sniffed(&pool, addrs, 1, 2000), 0);
    assert_int_equal(es_pool_merge_sniffed(&pool, addrs, 1, 1000 + ES_POOL_REFUSED_MS - 1), 0);
    assert_int_equal(evs.count[ES_POOL_ADDED], 1);
    assert_int_equal(es_pool_merge_sniffed(&pool, addrs, 1, 1000 + ES_POOL_REFUSED_MS), 1);
    assert_int_equal(evs.count[ES_POOL_ADDED], 2);
}

static void test_sniff_removes_stale_sniffed_only(void **state)
{
    struct es_sniff_addr first[2] = {{"127.0.0.2", 9200}, {"127.0.0.3", 9200}};
    struct es_sniff_addr second[1] = {{"127.0.0.3", 9200}};
    struct es_host *held;
    struct es_host *h;

    (void)state;
    assert_int_equal(es_pool_merge_sniffed(&pool, first, 2, 0), 2);
    while ((h = es_pool_next_probe(&pool)) != NULL) {
        es_pool_probe_result(&pool, h, true, 5, NULL);
        es_pool_put(&pool, h);
    }
    /* A request in flight holds 127.0.0.2 while the next sniff drops it. */
    do {
        held = es_pool_pick(&pool, 10);
        if (strcmp(held->host, "127.0.0.2") != 0) {
            es_pool_put(&pool, held);
            held = NULL;
        }
    } while (held == NULL);
    assert_int_equal(es_pool_merge_sniffed(&pool, second, 1, 0), 0);
    assert_int_equal(pool.n, 4);
    assert_null(host_named("127.0.0.2"));
    assert_true(held->removed);
    /* Still valid for the request that holds it; reporting on it is harmless. */
    es_pool_failed(&pool, held, 11, "late failure");
    assert_string_equal(held->host, "127.0.0.2");
    es_pool_put(&pool, held); /* freed now (ASan checks) */
    assert_int_equal(pool.ngone, 0);
    assert_int_equal(evs.count[ES_POOL_DEAD], 0);
}

struct hosts_case {
    const char *name;
    const char *hosts;
    int rc;
    size_t n;
    const char *url0; /* base_url of the first host */
    const char *user0;
    const char *pass0;
    const char *url1;
};

static const struct hosts_case hosts_cases[] = {
    {"legacy host:port list", "h1:9201,h2", 0, 2, "http://h1:9201", NULL, NULL, "http://h2:9200"},
    {"spaces around items", " h1:9201 , h2 ", 0, 2, "http://h1:9201", NULL, NULL, "http://h2:9200"},
    {"url with credentials and path", "https://john:pass@logs2.foo.com:9243/elastic/", 0, 1,
     "https://logs2.foo.com:9243/elastic", "john", "pass", NULL},
    {"url default port follows the scheme", "https://search-x.eu-west-1.es.amazonaws.com", 0, 1,
     "https://search-x.eu-west-1.es.amazonaws.com:443", NULL, NULL, NULL},
    {"percent-escaped credentials", "http://us%40r:p%3Ass@h:9200", 0, 1, "http://h:9200", "us@r",
     "p:ss", NULL},
    {"raw credentials in %{}", "http://%{j+hn}:%{p@ss:w}@h:9200", 0, 1, "http://h:9200", "j+hn",
     "p@ss:w", NULL},
    {"ipv6 url", "http://[::1]:9201,http://[2404:7a80::1]:9202", 0, 2, "http://[::1]:9201", NULL,
     NULL, "http://[2404:7a80::1]:9202"},
    {"raw ipv6 uses the default port", "2404:7a80:d440:3000:192a:a292:bd7f:ca10", 0, 1,
     "http://[2404:7a80:d440:3000:192a:a292:bd7f:ca10]:9200", NULL, NULL, NULL},
    {"defaults fill user", "h1", 0, 1, "http://h1:9200", "defuser", "defpass", NULL},
    {"bad port", "h1:99999", SK_EINVAL, 0, NULL, NULL, NULL, NULL},
    {"unsupported scheme", "ftp://h1", SK_EINVAL, 0, NULL, NULL, NULL, NULL},
    {"empty host in url", "http://:9200", SK_EINVAL, 0, NULL, NULL, NULL, NULL},
    {"nothing at all", " , ", SK_EINVAL, 0, NULL, NULL, NULL, NULL},
};

static void test_add_hosts_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(hosts_cases) / sizeof(hosts_cases[0]); i++) {
        const struct hosts_case *c = &hosts_cases[i];
        const char *du = strcmp(c->name, "defaults fill user") == 0 ? "defuser" : NULL;
        const char *dp = du != NULL ? "defpass" : NULL;
        struct es_pool p;
        char bad[128] = "";
        int rc;

        es_pool_init(&p, 1000, NULL, NULL);
        rc = es_pool_add_hosts(&p, c->hosts, "http", 9200, NULL, du, dp, bad, sizeof(bad));
        if (rc != c->rc) {
            fail_msg("case '%s': rc %d, want %d", c->name, rc, c->rc);
        }
        if (rc == 0) {
            if (p.n != c->n) {
                fail_msg("case '%s': %zu hosts, want %zu", c->name, p.n, c->n);
            }
            assert_string_equal(p.hosts[0]->base_url, c->url0);
            if (c->user0 != NULL) {
                assert_string_equal(p.hosts[0]->user, c->user0);
                assert_string_equal(p.hosts[0]->password, c->pass0);
            } else {
                assert_null(p.hosts[0]->user);
            }
            if (c->url1 != NULL) {
                assert_string_equal(p.hosts[1]->base_url, c->url1);
            }
        } else {
            assert_true(bad[0] != '\0');
        }
        es_pool_cleanup(&p);
    }
}

static void test_label_has_no_credentials(void **state)
{
    struct es_pool p;
    char bad[64];

    (void)state;
    es_pool_init(&p, 1000, NULL, NULL);
    assert_int_equal(es_pool_add_hosts(&p, "https://u:secret@h:9243/x", "http", 9200, NULL, NULL,
                                       NULL, bad, sizeof(bad)),
                     0);
    assert_string_equal(p.hosts[0]->label, "https://h:9243");
    assert_null(strstr(p.hosts[0]->base_url, "secret"));
    es_pool_cleanup(&p);
}

static void test_managed_endpoints(void **state)
{
    static const struct {
        const char *host;
        bool managed;
    } cases[] = {
        {"vpc-logs-abc123.eu-west-1.es.amazonaws.com", true},
        {"search-logs-abc123.cn-north-1.es.amazonaws.com.cn", true},
        {"search-logs-abc123.aos.us-east-1.on.aws", true},
        {"abc123.us-east-1.aoss.amazonaws.com", true},
        {"SEARCH-X.EU-WEST-1.ES.AMAZONAWS.COM", true},
        {"es.example.com", false},
        {"localhost", false},
        {"amazonaws.com.evil", false},
        {"x.on.aws", false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (es_host_is_managed(cases[i].host) != cases[i].managed) {
            fail_msg("host '%s': want %d", cases[i].host, cases[i].managed);
        }
    }
}

static void test_alloc_failure_add(void **state)
{
    struct es_pool p;
    char bad[64];

    (void)state;
    /* Step the failing allocation until the call succeeds: each failure is
     * a clean SK_ENOMEM and leaves nothing behind (ASan/LSan check). */
    for (long n = 1; n < 100; n++) {
        int rc;

        es_pool_init(&p, 1000, NULL, NULL);
        sk_alloc_fail_after(n, 0);
        rc = es_pool_add_hosts(&p, "https://u:p@h:1/x,h2", "http", 9200, NULL, NULL, NULL, bad,
                               sizeof(bad));
        sk_alloc_fail_after(0, 0);
        es_pool_cleanup(&p);
        if (rc == 0) {
            return;
        }
        assert_int_equal(rc, SK_ENOMEM);
    }
    fail_msg("never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_robin, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_dead_is_skipped_and_logged_once, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_resurrect_after, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_trial_failure_stays_dead_silently, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_all_dead_picks_longest_dead, setup3, teardown),
        cmocka_unit_test(test_empty_pool_returns_null),
        cmocka_unit_test_setup_teardown(test_sniff_due, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_sniff_empty_keeps_pool, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_sniff_good_probe_then_use, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_sniff_unreachable_never_replaces_seeds, setup3,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sniff_refused_addresses_rest, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_sniff_removes_stale_sniffed_only, setup3, teardown),
        cmocka_unit_test(test_add_hosts_table),
        cmocka_unit_test(test_label_has_no_credentials),
        cmocka_unit_test(test_managed_endpoints),
        cmocka_unit_test(test_alloc_failure_add),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
