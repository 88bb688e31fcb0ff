#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_url.h"
#include "util/buf.h"

/*
 * URLs, proxy URLs, the proxy environment and NO_PROXY matching. Every
 * table row is its own cmocka test, named after the row.
 */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- sk_url_parse ------------------------------------------------------ */

struct url_case {
    const char *name;
    const char *in;
    int rc;
    bool tls;
    const char *host;
    unsigned port;
    const char *target;    /* what sk_url_append_target gives */
    const char *raw;       /* target/target_len when it differs from `target` */
    bool has_userinfo;
    const char *user;
    const char *password;
};

static const struct url_case url_cases[] = {
    { .name = "url_http_plain", .in = "http://localhost", .host = "localhost", .port = 80,
      .target = "/" },
    { .name = "url_https_default_port", .in = "https://es.example.com", .tls = true,
      .host = "es.example.com", .port = 443, .target = "/" },
    { .name = "url_explicit_port", .in = "http://es:9200", .host = "es", .port = 9200, .target = "/" },
    { .name = "url_path_and_query", .in = "http://es:9200/_bulk?refresh=true&x=%20",
      .host = "es", .port = 9200, .target = "/_bulk?refresh=true&x=%20" },
    { .name = "url_root_path", .in = "https://es:9243/", .tls = true, .host = "es", .port = 9243,
      .target = "/" },
    { .name = "url_fragment_dropped", .in = "http://h/p?q=1#frag", .host = "h", .port = 80,
      .target = "/p?q=1" },
    { .name = "url_fragment_only", .in = "http://h#frag", .host = "h", .port = 80, .target = "/" },
    { .name = "url_slash_fragment", .in = "http://h/#frag", .host = "h", .port = 80, .target = "/" },
    { .name = "url_query_without_path", .in = "http://h:81?x=1#f", .host = "h", .port = 81,
      .target = "/?x=1", .raw = "?x=1" },
    { .name = "url_upper_case", .in = "HTTPS://ES.Example.COM:9243/Path/To", .tls = true,
      .host = "es.example.com", .port = 9243, .target = "/Path/To" },
    { .name = "url_userinfo", .in = "https://elastic:changeme@es:9200/", .tls = true, .host = "es",
      .port = 9200, .target = "/", .has_userinfo = true, .user = "elastic",
      .password = "changeme" },
    { .name = "url_userinfo_percent", .in = "http://us%40er:p%3Ass%2Fw%25rd%2b+@h", .host = "h",
      .port = 80, .target = "/", .has_userinfo = true, .user = "us@er",
      .password = "p:ss/w%rd++" },
    { .name = "url_userinfo_user_only", .in = "http://bob@h/x", .host = "h", .port = 80,
      .target = "/x", .has_userinfo = true, .user = "bob", .password = "" },
    { .name = "url_userinfo_empty_password", .in = "http://bob:@h", .host = "h", .port = 80,
      .target = "/", .has_userinfo = true, .user = "bob", .password = "" },
    { .name = "url_userinfo_at_in_password", .in = "http://u:p@ss@h", .host = "h", .port = 80,
      .target = "/", .has_userinfo = true, .user = "u", .password = "p@ss" },
    { .name = "url_userinfo_colon_in_password", .in = "http://u:a:b@h", .host = "h", .port = 80,
      .target = "/", .has_userinfo = true, .user = "u", .password = "a:b" },
    { .name = "url_at_in_path_is_not_userinfo", .in = "http://h/a@b", .host = "h", .port = 80,
      .target = "/a@b" },
    { .name = "url_ipv6", .in = "http://[::1]:9200/x", .host = "::1", .port = 9200, .target = "/x" },
    { .name = "url_ipv6_default_port", .in = "https://[2001:DB8::1]", .tls = true,
      .host = "2001:db8::1", .port = 443, .target = "/" },
    { .name = "url_ipv6_userinfo", .in = "http://u:p@[fd00::2]:80/", .host = "fd00::2", .port = 80,
      .target = "/", .has_userinfo = true, .user = "u", .password = "p" },
    { .name = "url_ipv4", .in = "http://127.0.0.1:8080/", .host = "127.0.0.1", .port = 8080,
      .target = "/" },
    { .name = "url_port_max", .in = "http://h:65535", .host = "h", .port = 65535, .target = "/" },
    { .name = "url_port_min", .in = "http://h:1", .host = "h", .port = 1, .target = "/" },
    { .name = "url_port_leading_zeros", .in = "http://h:00080", .host = "h", .port = 80,
      .target = "/" },
    { .name = "url_port_empty", .in = "http://h:/p", .host = "h", .port = 80, .target = "/p" },
    { .name = "url_underscore_dash_host", .in = "http://es_node-1.local", .host = "es_node-1.local",
      .port = 80, .target = "/" },
    { .name = "url_port_zero", .in = "http://h:0/", .rc = SK_EINVAL },
    { .name = "url_port_too_big", .in = "http://h:65536/", .rc = SK_EINVAL },
    { .name = "url_port_six_digits", .in = "http://h:000080/", .rc = SK_EINVAL },
    { .name = "url_port_letters", .in = "http://h:9x/", .rc = SK_EINVAL },
    { .name = "url_port_negative", .in = "http://h:-1/", .rc = SK_EINVAL },
    { .name = "url_two_ports", .in = "http://h:1:2/", .rc = SK_EINVAL },
    { .name = "url_no_scheme", .in = "es:9200", .rc = SK_EINVAL },
    { .name = "url_no_scheme_path", .in = "es/x", .rc = SK_EINVAL },
    { .name = "url_one_slash", .in = "http:/h", .rc = SK_EINVAL },
    { .name = "url_empty", .in = "", .rc = SK_EINVAL },
    { .name = "url_scheme_only", .in = "http://", .rc = SK_EINVAL },
    { .name = "url_empty_host", .in = "http://:9200/", .rc = SK_EINVAL },
    { .name = "url_empty_host_with_userinfo", .in = "http://u:p@/", .rc = SK_EINVAL },
    { .name = "url_triple_slash", .in = "http:///path", .rc = SK_EINVAL },
    { .name = "url_space_in_path", .in = "http://h/a b", .rc = SK_EINVAL },
    { .name = "url_space_in_host", .in = "http://a b/", .rc = SK_EINVAL },
    { .name = "url_leading_space", .in = " http://h/", .rc = SK_EINVAL },
    { .name = "url_tab", .in = "http://h/\t", .rc = SK_EINVAL },
    { .name = "url_crlf_injection", .in = "http://h/x\r\nX-Evil: 1", .rc = SK_EINVAL },
    { .name = "url_del_char", .in = "http://h/\x7f", .rc = SK_EINVAL },
    { .name = "url_control_in_userinfo", .in = "http://u\x01:p@h/", .rc = SK_EINVAL },
    { .name = "url_host_bang", .in = "http://ex!ample.com/", .rc = SK_EINVAL },
    { .name = "url_host_percent", .in = "http://exa%41mple.com/", .rc = SK_EINVAL },
    { .name = "url_host_non_ascii", .in = "http://b\xc3\xbc" "cher.de/", .rc = SK_EINVAL },
    { .name = "url_ipv6_bad", .in = "http://[::g]/", .rc = SK_EINVAL },
    { .name = "url_ipv6_unbracketed", .in = "http://::1/", .rc = SK_EINVAL },
    { .name = "url_ipv6_unclosed", .in = "http://[::1/", .rc = SK_EINVAL },
    { .name = "url_ipv6_junk_after", .in = "http://[::1]x/", .rc = SK_EINVAL },
    { .name = "url_ipv6_empty", .in = "http://[]/", .rc = SK_EINVAL },
    { .name = "url_ipv6_zone", .in = "http://[fe80::1%25eth0]/", .rc = SK_EINVAL },
    { .name = "url_ipv4_in_brackets", .in = "http://[127.0.0.1]/", .rc = SK_EINVAL },
    { .name = "url_percent_bad_hex", .in = "http://u%zz@h/", .rc = SK_EINVAL },
    { .name = "url_percent_truncated", .in = "http://u%4@h/", .rc = SK_EINVAL },
    { .name = "url_percent_at_end", .in = "http://u:p%@h/", .rc = SK_EINVAL },
    { .name = "url_percent_nul", .in = "http://u%00@h/", .rc = SK_EINVAL },
    { .name = "url_scheme_ftp", .in = "ftp://h/", .rc = SK_EUNSUPPORTED },
    { .name = "url_scheme_socks5", .in = "socks5://h:1080", .rc = SK_EUNSUPPORTED },
    { .name = "url_scheme_ws", .in = "ws://h/", .rc = SK_EUNSUPPORTED },
    { .name = "url_scheme_httpx", .in = "httpx://h/", .rc = SK_EUNSUPPORTED },
    { .name = "url_scheme_bad_chars", .in = "ht_tp://h/", .rc = SK_EINVAL },
};

static void check_target(const struct sk_url *u, const char *want, const char *raw)
{
    struct sk_buf b;

    if (raw == NULL) {
        raw = want;
    }
    assert_int_equal(u->target_len, strlen(raw));
    assert_memory_equal(u->target, raw, u->target_len);
    sk_buf_init(&b, 1024);
    assert_int_equal(sk_url_append_target(&b, u), 0);
    assert_string_equal(b.data, want);
    sk_buf_cleanup(&b);
}

static void run_url_case(void **state)
{
    const struct url_case *c = *state;
    struct sk_url u;

    assert_int_equal(sk_url_parse(c->in, &u), c->rc);
    if (c->rc != 0) {
        return;
    }
    assert_int_equal(u.tls, c->tls);
    assert_string_equal(u.host, c->host);
    assert_int_equal(u.port, c->port);
    check_target(&u, c->target, c->raw);
    assert_int_equal(u.has_userinfo, c->has_userinfo);
    assert_string_equal(u.user, c->user != NULL ? c->user : "");
    assert_string_equal(u.password, c->password != NULL ? c->password : "");
}

/* ---- sk_url_parse_proxy ------------------------------------------------ */

struct proxy_case {
    const char *name;
    const char *in;
    int rc;
    const char *host;
    unsigned port;
    const char *user;     /* NULL: no userinfo */
    const char *password;
};

static const struct proxy_case proxy_cases[] = {
    { .name = "proxy_host_port", .in = "proxy.local:3128", .host = "proxy.local", .port = 3128 },
    { .name = "proxy_host_only", .in = "proxy.local", .host = "proxy.local", .port = 1080 },
    { .name = "proxy_http_scheme", .in = "http://proxy:8080", .host = "proxy", .port = 8080 },
    { .name = "proxy_http_scheme_default_port", .in = "http://proxy", .host = "proxy", .port = 1080 },
    { .name = "proxy_trailing_slash", .in = "http://proxy:3128/", .host = "proxy", .port = 3128 },
    { .name = "proxy_path_ignored", .in = "proxy:3128/some/path?x", .host = "proxy", .port = 3128 },
    { .name = "proxy_upper_case", .in = "HTTP://PROXY.Corp:3128", .host = "proxy.corp", .port = 3128 },
    { .name = "proxy_auth", .in = "http://user:p%40ss@proxy:3128", .host = "proxy", .port = 3128,
      .user = "user", .password = "p@ss" },
    { .name = "proxy_auth_without_scheme", .in = "user:pw@proxy:3128", .host = "proxy", .port = 3128,
      .user = "user", .password = "pw" },
    { .name = "proxy_ipv6", .in = "[::1]:3128", .host = "::1", .port = 3128 },
    { .name = "proxy_ipv6_scheme_default", .in = "http://[fd00::1]", .host = "fd00::1", .port = 1080 },
    { .name = "proxy_ipv4", .in = "10.0.0.1:8080", .host = "10.0.0.1", .port = 8080 },
    { .name = "proxy_https_refused", .in = "https://proxy:443", .rc = SK_EUNSUPPORTED },
    { .name = "proxy_https_upper_refused", .in = "HTTPS://proxy", .rc = SK_EUNSUPPORTED },
    { .name = "proxy_socks4_refused", .in = "socks4://proxy:1080", .rc = SK_EUNSUPPORTED },
    { .name = "proxy_socks4a_refused", .in = "socks4a://proxy", .rc = SK_EUNSUPPORTED },
    { .name = "proxy_socks5_refused", .in = "socks5://proxy:1080", .rc = SK_EUNSUPPORTED },
    { .name = "proxy_socks5h_refused", .in = "socks5h://user:pw@proxy", .rc = SK_EUNSUPPORTED },
    { .name = "proxy_empty", .in = "", .rc = SK_EINVAL },
    { .name = "proxy_scheme_only", .in = "http://", .rc = SK_EINVAL },
    { .name = "proxy_port_zero", .in = "proxy:0", .rc = SK_EINVAL },
    { .name = "proxy_port_too_big", .in = "proxy:99999", .rc = SK_EINVAL },
    { .name = "proxy_port_letters", .in = "proxy:http", .rc = SK_EINVAL },
    { .name = "proxy_space", .in = "pro xy:3128", .rc = SK_EINVAL },
    { .name = "proxy_newline", .in = "http://proxy:3128\n", .rc = SK_EINVAL },
};

static void run_proxy_case(void **state)
{
    const struct proxy_case *c = *state;
    struct sk_url u;

    assert_int_equal(sk_url_parse_proxy(c->in, &u), c->rc);
    if (c->rc != 0) {
        return;
    }
    assert_false(u.tls);
    assert_string_equal(u.host, c->host);
    assert_int_equal(u.port, c->port);
    assert_int_equal(u.has_userinfo, c->user != NULL);
    assert_string_equal(u.user, c->user != NULL ? c->user : "");
    assert_string_equal(u.password, c->password != NULL ? c->password : "");
    check_target(&u, "/", NULL);
}

/* ---- sk_url_env_proxy -------------------------------------------------- */

enum { HTTP_L, HTTP_U, HTTPS_L, HTTPS_U, ALL_L, ALL_U, NO_L, NO_U, NVARS };

static const char *const var_names[NVARS] = {
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
    "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY",
};

struct env_case {
    const char *name;
    const char *url;
    const char *env[NVARS]; /* NULL: unset */
    const char *want;       /* NULL: direct */
};

static const struct env_case env_cases[] = {
    { .name = "env_nothing_set", .url = "http://h/" },
    { .name = "env_http_lower", .url = "http://h/", .env = { [HTTP_L] = "p1:1" }, .want = "p1:1" },
    { .name = "env_http_upper", .url = "http://h/", .env = { [HTTP_U] = "p2:2" }, .want = "p2:2" },
    { .name = "env_http_lower_before_upper", .url = "http://h/",
      .env = { [HTTP_L] = "p1:1", [HTTP_U] = "p2:2" }, .want = "p1:1" },
    { .name = "env_http_lower_empty_is_none", .url = "http://h/",
      .env = { [HTTP_L] = "", [HTTP_U] = "p2:2", [ALL_L] = "p3:3" } },
    { .name = "env_http_upper_empty_is_none", .url = "http://h/",
      .env = { [HTTP_U] = "", [ALL_L] = "p3:3" } },
    { .name = "env_https_lower", .url = "https://h/", .env = { [HTTPS_L] = "s1:1" }, .want = "s1:1" },
    { .name = "env_https_upper", .url = "https://h/", .env = { [HTTPS_U] = "s2:2" }, .want = "s2:2" },
    { .name = "env_https_lower_before_upper", .url = "https://h/",
      .env = { [HTTPS_L] = "s1:1", [HTTPS_U] = "s2:2" }, .want = "s1:1" },
    { .name = "env_https_lower_empty_is_none", .url = "https://h/",
      .env = { [HTTPS_L] = "", [HTTPS_U] = "s2:2", [ALL_U] = "p4:4" } },
    { .name = "env_https_ignores_http_proxy", .url = "https://h/",
      .env = { [HTTP_L] = "p1:1", [HTTP_U] = "p2:2" } },
    { .name = "env_http_ignores_https_proxy", .url = "http://h/",
      .env = { [HTTPS_L] = "s1:1", [HTTPS_U] = "s2:2" } },
    { .name = "env_all_proxy_for_http", .url = "http://h/", .env = { [ALL_L] = "p3:3" },
      .want = "p3:3" },
    { .name = "env_all_proxy_for_https", .url = "https://h/", .env = { [ALL_L] = "p3:3" },
      .want = "p3:3" },
    { .name = "env_ALL_PROXY", .url = "https://h/", .env = { [ALL_U] = "p4:4" }, .want = "p4:4" },
    { .name = "env_all_lower_before_upper", .url = "http://h/",
      .env = { [ALL_L] = "p3:3", [ALL_U] = "p4:4" }, .want = "p3:3" },
    { .name = "env_all_empty_is_none", .url = "http://h/", .env = { [ALL_L] = "", [ALL_U] = "p4:4" } },
    { .name = "env_scheme_before_all", .url = "http://h/",
      .env = { [HTTP_U] = "p2:2", [ALL_L] = "p3:3" }, .want = "p2:2" },
    { .name = "env_no_proxy_exempts", .url = "http://www.example.com:9200/",
      .env = { [HTTP_L] = "p1:1", [NO_L] = "localhost,example.com" } },
    { .name = "env_NO_PROXY_exempts", .url = "https://es.example.com/",
      .env = { [HTTPS_L] = "s1:1", [NO_U] = ".example.com" } },
    { .name = "env_no_proxy_lower_before_upper", .url = "http://www.example.com/",
      .env = { [HTTP_L] = "p1:1", [NO_L] = "other.com", [NO_U] = "example.com" },
      .want = "p1:1" },
    { .name = "env_no_proxy_empty_before_upper", .url = "http://www.example.com/",
      .env = { [HTTP_L] = "p1:1", [NO_L] = "", [NO_U] = "*" }, .want = "p1:1" },
    { .name = "env_no_proxy_star", .url = "http://h/", .env = { [ALL_L] = "p3:3", [NO_L] = "*" } },
    { .name = "env_no_proxy_other_host", .url = "http://h.example.org/",
      .env = { [HTTP_L] = "p1:1", [NO_L] = "example.com" }, .want = "p1:1" },
    { .name = "env_no_proxy_cidr", .url = "http://10.1.2.3:9200/",
      .env = { [HTTP_L] = "p1:1", [NO_L] = "10.0.0.0/8" } },
    { .name = "env_no_proxy_ipv6", .url = "http://[::1]:9200/",
      .env = { [HTTP_L] = "p1:1", [NO_L] = "::1" } },
    { .name = "env_no_proxy_alone", .url = "http://h/", .env = { [NO_L] = "example.com" } },
};

static void clear_env(void)
{
    size_t i;

    for (i = 0; i < NVARS; i++) {
        assert_int_equal(unsetenv(var_names[i]), 0);
    }
}

static void run_env_case(void **state)
{
    const struct env_case *c = *state;
    struct sk_url u;
    const char *got;
    const char *var;
    size_t i;

    clear_env();
    for (i = 0; i < NVARS; i++) {
        if (c->env[i] != NULL) {
            assert_int_equal(setenv(var_names[i], c->env[i], 1), 0);
        }
    }
    assert_int_equal(sk_url_parse(c->url, &u), 0);
    got = sk_url_env_proxy(&u);
    /* The variable named for warnings is the one the value came from. */
    var = sk_url_env_proxy_var(&u);
    if (got == NULL) {
        assert_null(var);
    } else {
        assert_non_null(var);
        assert_ptr_equal(getenv(var), got);
    }
    clear_env();
    if (c->want == NULL) {
        assert_null(got);
    } else {
        assert_non_null(got);
        assert_string_equal(got, c->want);
    }
}

/* ---- sk_url_no_proxy_match --------------------------------------------- */

struct no_proxy_case {
    const char *name;
    const char *list;
    const char *host;
    bool want;
};

static const struct no_proxy_case no_proxy_cases[] = {
    { "np_star", "*", "anything.example", true },
    { "np_star_in_list", "foo.com, *", "anything.example", true },
    { "np_star_for_ip", "*", "10.0.0.1", true },
    { "np_exact", "example.com", "example.com", true },
    { "np_subdomain", "example.com", "www.example.com", true },
    { "np_deep_subdomain", "example.com", "a.b.example.com", true },
    { "np_not_a_word_suffix", "example.com", "notexample.com", false },
    { "np_leading_dot_self", ".example.com", "example.com", true },
    { "np_leading_dot_sub", ".example.com", "www.example.com", true },
    { "np_leading_dot_not_word", ".example.com", "notexample.com", false },
    { "np_case", "Example.COM", "WWW.example.Com", true },
    { "np_trailing_dot_host", "example.com", "www.example.com.", true },
    { "np_trailing_dot_entry", "example.com.", "example.com", true },
    { "np_entry_longer", "www.example.com", "example.com", false },
    { "np_other_domain", "example.com", "example.org", false },
    { "np_prefix_only", "example", "example.com", false },
    { "np_list_commas_spaces", " foo.com , example.com ,", "es.example.com", true },
    { "np_list_spaces_only", "foo.com example.com", "es.example.com", true },
    { "np_list_tabs", "foo.com\texample.com", "es.example.com", true },
    { "np_list_miss", "foo.com,bar.com", "es.example.com", false },
    { "np_empty_list", "", "example.com", false },
    { "np_only_separators", ", ,, ", "example.com", false },
    { "np_lone_dot", ".", "example.com", false },
    { "np_empty_host", "example.com", "", false },
    { "np_localhost", "localhost,127.0.0.1", "localhost", true },
    { "np_ipv4_exact", "10.1.2.3", "10.1.2.3", true },
    { "np_ipv4_other", "10.1.2.3", "10.1.2.4", false },
    { "np_ipv4_not_name_suffix", "2.3", "10.1.2.3", false },
    { "np_ipv4_cidr", "10.0.0.0/8", "10.200.3.4", true },
    { "np_ipv4_cidr_out", "10.0.0.0/8", "11.0.0.1", false },
    { "np_ipv4_cidr_host_bits", "10.1.2.3/8", "10.9.9.9", true },
    { "np_ipv4_cidr_zero", "0.0.0.0/0", "203.0.113.9", true },
    { "np_ipv4_cidr_32", "192.168.1.1/32", "192.168.1.1", true },
    { "np_ipv4_cidr_32_out", "192.168.1.1/32", "192.168.1.2", false },
    { "np_ipv4_cidr_odd_in", "192.168.0.0/23", "192.168.1.7", true },
    { "np_ipv4_cidr_odd_out", "192.168.0.0/23", "192.168.2.1", false },
    { "np_ipv4_cidr_bits_too_big", "10.0.0.0/33", "10.0.0.1", false },
    { "np_ipv4_cidr_bits_letters", "10.0.0.0/x", "10.0.0.1", false },
    { "np_ipv4_cidr_bits_empty", "10.0.0.0/", "10.0.0.1", false },
    { "np_ipv4_cidr_in_list", "example.com, 172.16.0.0/12", "172.31.255.255", true },
    { "np_ipv6_exact", "::1", "::1", true },
    { "np_ipv6_other_spelling", "0:0::0:1", "::1", true },
    { "np_ipv6_bracketed_entry", "[::1]", "::1", true },
    { "np_ipv6_bracketed_host", "::1", "[::1]", true },
    { "np_ipv6_other", "::1", "::2", false },
    { "np_ipv6_cidr", "fd00::/8", "fd12:3456::1", true },
    { "np_ipv6_cidr_out", "fd00::/8", "fe80::1", false },
    { "np_ipv6_cidr_128", "::1/128", "::1", true },
    { "np_ipv6_cidr_127_in", "2001:db8::/127", "2001:db8::1", true },
    { "np_ipv6_cidr_127_out", "2001:db8::/127", "2001:db8::2", false },
    { "np_ipv6_cidr_too_big", "::/129", "::1", false },
    { "np_family_v4_entry_v6_host", "127.0.0.1", "::1", false },
    { "np_family_v6_entry_v4_host", "::/0", "127.0.0.1", false },
    { "np_cidr_entry_name_host", "10.0.0.0/8", "ten.example", false },
    { "np_name_entry_ip_host", "localhost", "127.0.0.1", false },
};

static void run_no_proxy_case(void **state)
{
    const struct no_proxy_case *c = *state;

    assert_int_equal(sk_url_no_proxy_match(c->list, c->host), c->want);
}

/* ---- sk_url_append_authority ------------------------------------------- */

struct authority_case {
    const char *name;
    const char *url;
    const char *want;
};

static const struct authority_case authority_cases[] = {
    { "auth_http_default", "http://h/", "h" },
    { "auth_http_explicit_default", "http://h:80/", "h" },
    { "auth_http_other_port", "http://h:8080/", "h:8080" },
    { "auth_https_default", "https://h:443/", "h" },
    { "auth_https_port_80", "https://h:80/", "h:80" },
    { "auth_ipv6", "http://[::1]/", "[::1]" },
    { "auth_ipv6_port", "https://[fd00::1]:9200/", "[fd00::1]:9200" },
    { "auth_ipv4_port", "http://10.0.0.1:9200/", "10.0.0.1:9200" },
    { "auth_lower_case", "HTTP://UPPER.Example:9200/", "upper.example:9200" },
    { "auth_no_userinfo", "http://u:p@h:81/", "h:81" },
};

static void run_authority_case(void **state)
{
    const struct authority_case *c = *state;
    struct sk_url u;
    struct sk_buf b;

    assert_int_equal(sk_url_parse(c->url, &u), 0);
    sk_buf_init(&b, 1024);
    assert_int_equal(sk_buf_append_str(&b, "Host: "), 0);
    assert_int_equal(sk_url_append_authority(&b, &u), 0);
    assert_string_equal(b.data + 6, c->want);
    sk_buf_cleanup(&b);
}

/* ---- fixed tests ------------------------------------------------------- */

/* "http://<host of n bytes>/" */
static char *url_with_host(size_t n)
{
    char *s = malloc(n + 16);

    assert_non_null(s);
    memcpy(s, "http://", 7);
    memset(s + 7, 'h', n);
    memcpy(s + 7 + n, "/", 2);
    return s;
}

/* "http://<user of n bytes>:<password of n bytes>@h/" */
static char *url_with_userinfo(size_t n)
{
    char *s = malloc(2 * n + 16);

    assert_non_null(s);
    memcpy(s, "http://", 7);
    memset(s + 7, 'u', n);
    s[7 + n] = ':';
    memset(s + 8 + n, 'p', n);
    memcpy(s + 8 + 2 * n, "@h/", 4);
    return s;
}

static void test_field_sizes(void **state)
{
    struct sk_url u;
    char *s;

    (void)state;
    s = url_with_host(sizeof(u.host) - 1);
    assert_int_equal(sk_url_parse(s, &u), 0);
    assert_int_equal(strlen(u.host), sizeof(u.host) - 1);
    free(s);
    s = url_with_host(sizeof(u.host));
    assert_int_equal(sk_url_parse(s, &u), SK_EINVAL);
    free(s);
    s = url_with_userinfo(sizeof(u.user) - 1);
    assert_int_equal(sk_url_parse(s, &u), 0);
    assert_int_equal(strlen(u.user), sizeof(u.user) - 1);
    assert_int_equal(strlen(u.password), sizeof(u.password) - 1);
    free(s);
    s = url_with_userinfo(sizeof(u.user));
    assert_int_equal(sk_url_parse(s, &u), SK_EINVAL);
    free(s);
}

/* The target points into the caller's string. */
static void test_target_points_into_url(void **state)
{
    static const char url[] = "http://h:1/a/b?c=d#e";
    struct sk_url u;

    (void)state;
    assert_int_equal(sk_url_parse(url, &u), 0);
    assert_ptr_equal(u.target, url + 10);
    assert_int_equal(u.target_len, 8);
}

static void test_append_errors(void **state)
{
    struct sk_url u;
    struct sk_buf b;

    (void)state;
    assert_int_equal(sk_url_parse("http://long-host-name:8080/some/path", &u), 0);
    sk_buf_init(&b, 8);
    assert_int_equal(sk_url_append_authority(&b, &u), SK_ETOOBIG);
    sk_buf_reset(&b);
    assert_int_equal(sk_url_append_target(&b, &u), SK_ETOOBIG);
    sk_buf_cleanup(&b);
}

static void test_no_proxy_null(void **state)
{
    (void)state;
    assert_false(sk_url_no_proxy_match(NULL, "h"));
    assert_false(sk_url_no_proxy_match("*", NULL));
}

#define ADD_ROWS(table, fn)                                                                    \
    for (i = 0; i < NELEM(table); i++) {                                                       \
        t[n++] = (struct CMUnitTest){ table[i].name, fn, NULL, NULL, (void *)&table[i] };      \
    }

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_field_sizes),
        cmocka_unit_test(test_target_points_into_url),
        cmocka_unit_test(test_append_errors),
        cmocka_unit_test(test_no_proxy_null),
    };
    size_t total = NELEM(url_cases) + NELEM(proxy_cases) + NELEM(env_cases) +
                   NELEM(no_proxy_cases) + NELEM(authority_cases) + NELEM(fixed);
    struct CMUnitTest *t = calloc(total, sizeof(*t));
    size_t n = 0;
    size_t i;
    int failed;

    assert_non_null(t);
    ADD_ROWS(url_cases, run_url_case)
    ADD_ROWS(proxy_cases, run_proxy_case)
    ADD_ROWS(env_cases, run_env_case)
    ADD_ROWS(no_proxy_cases, run_no_proxy_case)
    ADD_ROWS(authority_cases, run_authority_case)
    for (i = 0; i < NELEM(fixed); i++) {
        t[n++] = fixed[i];
    }
    failed = _cmocka_run_group_tests("http_url", t, n, NULL, NULL);
    free(t);
    return failed;
}
