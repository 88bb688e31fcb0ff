#include "out_elasticsearch/es_pool.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/buf.h"

#define ES_POOL_URL_MAX 4096

void es_pool_init(struct es_pool *p, int64_t resurrect_after_ms, es_pool_change_cb cb, void *arg)
{
    memset(p, 0, sizeof(*p));
    p->resurrect_after_ms = resurrect_after_ms;
    p->on_change = cb;
    p->cb_arg = arg;
}

static void host_free(struct es_host *h)
{
    if (h == NULL) {
        return;
    }
    sk_free(h->scheme);
    sk_free(h->host);
    sk_free(h->path);
    sk_free(h->user);
    sk_free(h->password);
    sk_free(h->base_url);
    sk_free(h->label);
    sk_free(h);
}

void es_pool_cleanup(struct es_pool *p)
{
    for (size_t i = 0; i < p->n; i++) {
        host_free(p->hosts[i]);
    }
    for (size_t i = 0; i < p->ngone; i++) {
        host_free(p->gone[i]);
    }
    sk_free(p->hosts);
    sk_free(p->gone);
    es_pool_init(p, p->resurrect_after_ms, p->on_change, p->cb_arg);
}

static void notify(struct es_pool *p, const struct es_host *h, enum es_pool_event ev,
                   const char *reason)
{
    if (p->on_change != NULL) {
        p->on_change(h, ev, reason, p->cb_arg);
    }
}

static char *dup_or_null(const char *s)
{
    return s == NULL ? NULL : sk_strdup(s);
}

/* "" or "/a/b" (leading '/', no trailing '/'). */
static char *normalize_path(const char *path)
{
    struct sk_buf b;
    size_t len;

    sk_buf_init(&b, ES_POOL_URL_MAX);
    if (path == NULL) {
        path = "";
    }
    while (*path == '/') {
        path++;
    }
    len = strlen(path);
    while (len > 0 && path[len - 1] == '/') {
        len--;
    }
    if (sk_buf_append(&b, "", 0) < 0 ||
        (len > 0 && (sk_buf_putc(&b, '/') < 0 || sk_buf_append(&b, path, len) < 0))) {
        sk_buf_cleanup(&b);
        return NULL;
    }
    return sk_buf_take(&b, NULL);
}

static int host_urls(struct es_host *h)
{
    struct sk_buf b;

    sk_buf_init(&b, ES_POOL_URL_MAX);
    if (sk_buf_printf(&b, "%s://%s:%d", h->scheme, h->host, h->port) < 0) {
        sk_buf_cleanup(&b);
        return SK_ENOMEM;
    }
    h->label = sk_strdup(b.data);
    if (h->label == NULL || sk_buf_append_str(&b, h->path) < 0) {
        sk_buf_cleanup(&b);
        return SK_ENOMEM;
    }
    h->base_url = sk_buf_take(&b, NULL);
    return h->base_url == NULL ? SK_ENOMEM : 0;
}

static int pool_grow(struct es_host ***arr, size_t n, size_t *cap)
{
    struct es_host **a;
    size_t c;

    if (n < *cap) {
        return 0;
    }
    c = *cap ? *cap * 2 : 4;
    a = sk_realloc(*arr, c * sizeof(*a));
    if (a == NULL) {
        return SK_ENOMEM;
    }
    *arr = a;
    *cap = c;
    return 0;
}

struct es_host *es_pool_add(struct es_pool *p, const char *scheme, const char *host, int port,
                            const char *path, const char *user, const char *password, bool seed)
{
    struct es_host *h;

    if (pool_grow(&p->hosts, p->n, &p->cap) < 0) {
        return NULL;
    }
    h = sk_calloc(1, sizeof(*h));
    if (h == NULL) {
        return NULL;
    }
    h->scheme = sk_strdup(scheme);
    h->host = sk_strdup(host);
    h->path = normalize_path(path);
    h->user = dup_or_null(user);
    h->password = dup_or_null(password);
    h->port = port;
    h->seed = seed;
    h->state = seed ? ES_HOST_ALIVE : ES_HOST_PROBING;
    if (h->scheme == NULL || h->host == NULL || h->path == NULL ||
        (user != NULL && h->user == NULL) || (password != NULL && h->password == NULL) ||
        host_urls(h) < 0) {
        host_free(h);
        return NULL;
    }
    p->hosts[p->n++] = h;
    return h;
}

static bool eligible(const struct es_host *h, int64_t now_ms)
{
    if (h->state == ES_HOST_ALIVE) {
        return true;
    }
    return h->state == ES_HOST_DEAD && now_ms >= h->retry_at_ms;
}

static struct es_host *take(struct es_pool *p, struct es_host *h, int64_t now_ms)
{
    if (h->state == ES_HOST_DEAD) {
        /* One trial at a time: push the next resurrection out until this
         * trial has answered. */
        h->trial = true;
        h->retry_at_ms = now_ms + p->resurrect_after_ms;
    }
    h->refs++;
    p->requests++;
    return h;
}

struct es_host *es_pool_pick(struct es_pool *p, int64_t now_ms)
{
    struct es_host *oldest = NULL;

    if (p->n == 0) {
        return NULL;
    }
    for (size_t k = 0; k < p->n; k++) {
        size_t i = (p->next + k) % p->n;

        if (eligible(p->hosts[i], now_ms)) {
            p->next = (i + 1) % p->n;
            return take(p, p->hosts[i], now_ms);
        }
    }
    /* Nothing alive or due: the host that died first gets tried anyway. */
    for (size_t i = 0; i < p->n; i++) {
        struct es_host *h = p->hosts[i];

        if (h->state == ES_HOST_DEAD && (oldest == NULL || h->dead_since_ms < oldest->dead_since_ms)) {
            oldest = h;
        }
    }
    if (oldest == NULL) {
        oldest = p->hosts[p->next % p->n]; /* only PROBING hosts: try one */
        p->next = (p->next + 1) % p->n;
    }
    if (!p->last_resort_logged) {
        p->last_resort_logged = true;
        notify(p, oldest, ES_POOL_LAST_RESORT, "every connection is dead");
    }
    return take(p, oldest, now_ms);
}

void es_pool_put(struct es_pool *p, struct es_host *h)
{
    if (h == NULL) {
        return;
    }
    if (h->refs > 0) {
        h->refs--;
    }
    if (!h->removed || h->refs > 0) {
        return;
    }
    for (size_t i = 0; i < p->ngone; i++) {
        if (p->gone[i] == h) {
            p->gone[i] = p->gone[--p->ngone];
            host_free(h);
            return;
        }
    }
}

void es_pool_failed(struct es_pool *p, struct es_host *h, int64_t now_ms, const char *reason)
{
    h->failures++;
    h->trial = false;
    h->retry_at_ms = now_ms + p->resurrect_after_ms;
    if (h->state == ES_HOST_DEAD || h->removed) {
        return; /* already reported */
    }
    h->state = ES_HOST_DEAD;
    h->dead_since_ms = now_ms;
    notify(p, h, ES_POOL_DEAD, reason);
}

void es_pool_succeeded(struct es_pool *p, struct es_host *h, int64_t now_ms)
{
    (void)now_ms;
    h->failures = 0;
    h->trial = false;
    if (h->state == ES_HOST_ALIVE || h->removed) {
        return;
    }
    h->state = ES_HOST_ALIVE;
    p->last_resort_logged = false;
    notify(p, h, ES_POOL_RESURRECTED, NULL);
}

size_t es_pool_count(const struct es_pool *p, enum es_host_state s)
{
    size_t n = 0;

    for (size_t i = 0; i < p->n; i++) {
        n += p->hosts[i]->state == s;
    }
    return n;
}

bool es_pool_sniff_due(const struct es_pool *p, int64_t reload_after)
{
    return reload_after > 0 && p->requests >= (uint64_t)reload_after;
}

/* Takes host i out of the array; frees it unless a request still holds it. */
static int remove_at(struct es_pool *p, size_t i, const char *reason)
{
    struct es_host *h = p->hosts[i];

    if (h->refs > 0) {
        if (pool_grow(&p->gone, p->ngone, &p->gone_cap) < 0) {
            return SK_ENOMEM;
        }
        p->gone[p->ngone++] = h;
    }
    memmove(&p->hosts[i], &p->hosts[i + 1], (p->n - i - 1) * sizeof(*p->hosts));
    p->n--;
    if (p->next > i) {
        p->next--;
    }
    if (p->n > 0) {
        p->next %= p->n;
    } else {
        p->next = 0;
    }
    h->removed = true;
    notify(p, h, ES_POOL_REMOVED, reason);
    if (h->refs == 0) {
        host_free(h);
    }
    return 0;
}

static struct es_host *find_host(struct es_pool *p, const char *host, int port)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->hosts[i]->port == port && strcasecmp(p->hosts[i]->host, host) == 0) {
            return p->hosts[i];
        }
    }
    return NULL;
}

static const struct es_host *first_seed(const struct es_pool *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->hosts[i]->seed) {
            return p->hosts[i];
        }
    }
    return p->n > 0 ? p->hosts[0] : NULL;
}

static struct es_refused *refused_slot(struct es_pool *p, const char *host, int port)
{
    for (size_t i = 0; i < ES_POOL_REFUSED_MAX; i++) {
        if (p->refused[i].addr.port == port && strcasecmp(p->refused[i].addr.host, host) == 0) {
            return &p->refused[i];
        }
    }
    return NULL;
}

static bool is_refused(struct es_pool *p, const struct es_sniff_addr *a, int64_t now_ms)
{
    struct es_refused *r = refused_slot(p, a->host, a->port);

    return r != NULL && now_ms < r->until_ms;
}

static void refuse(struct es_pool *p, const struct es_host *h, int64_t now_ms)
{
    struct es_refused *r = refused_slot(p, h->host, h->port);
    int64_t hold = p->resurrect_after_ms > ES_POOL_REFUSED_MS ? p->resurrect_after_ms
                                                              : ES_POOL_REFUSED_MS;

    if (r == NULL) {
        /* The oldest entry makes room. */
        r = &p->refused[0];
        for (size_t i = 1; i < ES_POOL_REFUSED_MAX; i++) {
            if (p->refused[i].until_ms < r->until_ms) {
                r = &p->refused[i];
            }
        }
        snprintf(r->addr.host, sizeof(r->addr.host), "%s", h->host);
        r->addr.port = h->port;
    }
    r->until_ms = now_ms + hold;
}

int es_pool_merge_sniffed(struct es_pool *p, const struct es_sniff_addr *addrs, size_t n,
                          int64_t now_ms)
{
    const struct es_host *tmpl = first_seed(p);
    int added = 0;

    p->requests = 0;
    if (n == 0 || tmpl == NULL) {
        return 0; /* never empty the pool on a sniff that found nothing */
    }
    for (size_t i = 0; i < p->n; i++) {
        p->hosts[i]->seen = false;
    }
    for (size_t i = 0; i < n; i++) {
        struct es_host *h = find_host(p, addrs[i].host, addrs[i].port);

        if (h == NULL && is_refused(p, &addrs[i], now_ms)) {
            continue; /* did not answer a little while ago */
        }
        if (h == NULL) {
            h = es_pool_add(p, tmpl->scheme, addrs[i].host, addrs[i].port, NULL, tmpl->user,
                            tmpl->password, false);
            if (h == NULL) {
                return SK_ENOMEM;
            }
            added++;
            notify(p, h, ES_POOL_ADDED, "listed by _nodes/http");
        }
        h->seen = true;
    }
    for (size_t i = p->n; i-- > 0;) {
        if (!p->hosts[i]->seed && !p->hosts[i]->seen &&
            remove_at(p, i, "no longer listed by _nodes/http") < 0) {
            return SK_ENOMEM;
        }
    }
    return added;
}

struct es_host *es_pool_next_probe(struct es_pool *p)
{
    for (size_t i = 0; i < p->n; i++) {
        struct es_host *h = p->hosts[i];

        if (h->state == ES_HOST_PROBING && !h->probe_sent) {
            h->probe_sent = true;
            h->refs++;
            return h;
        }
    }
    return NULL;
}

void es_pool_probe_result(struct es_pool *p, struct es_host *h, bool ok, int64_t now_ms,
                          const char *reason)
{
    h->probe_sent = false;
    if (h->removed || h->state != ES_HOST_PROBING) {
        return;
    }
    if (ok) {
        h->state = ES_HOST_ALIVE;
        h->failures = 0;
        p->last_resort_logged = false;
        notify(p, h, ES_POOL_PROBE_OK, NULL);
        return;
    }
    if (h->seed) {
        h->state = ES_HOST_ALIVE; /* so that es_pool_failed reports it */
        es_pool_failed(p, h, now_ms, reason);
        return;
    }
    refuse(p, h, now_ms);
    for (size_t i = 0; i < p->n; i++) {
        if (p->hosts[i] == h) {
            /* On ENOMEM the host simply stays PROBING and is probed again. */
            (void)remove_at(p, i, reason != NULL ? reason : "does not answer");
            return;
        }
    }
}

/* --- hosts parsing ------------------------------------------------------------ */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies [s, s+len) decoding %XX; a "%{...}" wrapper (Fluentd's way to
 * write raw special characters) is unwrapped verbatim. */
static char *decode_cred(const char *s, size_t len)
{
    char *out;
    size_t o = 0;

    if (len >= 3 && s[0] == '%' && s[1] == '{' && s[len - 1] == '}') {
        return sk_strndup(s + 2, len - 3);
    }
    out = sk_malloc(len + 1);
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static bool parse_port(const char *s, size_t len, int *port)
{
    long v = 0;

    if (len == 0 || len > 5) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535) {
        return false;
    }
    *port = (int)v;
    return true;
}

/* A bare IPv6 address such as "::1" or "2404:7a80::1" (hex and colons,
 * at least two colons). */
static bool is_raw_ipv6(const char *s, size_t len)
{
    size_t colons = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == ':') {
            colons++;
        } else if (!isxdigit((unsigned char)s[i]) && s[i] != '.') {
            return false;
        }
    }
    return colons >= 2;
}

struct host_spec {
    char scheme[8];
    char host[256];
    int port;
    const char *path; /* into the item, or NULL */
    size_t path_len;
    char *user;       /* owned */
    char *password;   /* owned */
};

/* "host" / "host:port": the legacy form. */
static bool parse_legacy(const char *s, size_t len, struct host_spec *hs)
{
    const char *colon = memchr(s, ':', len);
    size_t hlen = colon != NULL ? (size_t)(colon - s) : len;

    if (hlen == 0 || hlen >= sizeof(hs->host) || memchr(s, '/', len) != NULL) {
        return false;
    }
    if (colon != NULL && !parse_port(colon + 1, len - hlen - 1, &hs->port)) {
        return false;
    }
    memcpy(hs->host, s, hlen);
    hs->host[hlen] = '\0';
    return true;
}

static int parse_userinfo(const char *s, size_t len, struct host_spec *hs)
{
    const char *colon;

    /* "%{user}:%{pass}" may hold ':' inside the braces. */
    if (len >= 3 && s[0] == '%' && s[1] == '{') {
        const char *close = memchr(s, '}', len);

        colon = close != NULL && close + 1 < s + len && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(s, ':', len);
    }
    hs->user = decode_cred(s, colon != NULL ? (size_t)(colon - s) : len);
    if (hs->user == NULL) {
        return SK_ENOMEM;
    }
    if (colon != NULL) {
        hs->password = decode_cred(colon + 1, len - (size_t)(colon - s) - 1);
        return hs->password != NULL ? 0 : SK_ENOMEM;
    }
    return 0;
}

/* "scheme://[user[:pass]@]host[:port][/path]". 0, SK_EINVAL, SK_ENOMEM. */
static int parse_url(const char *s, size_t len, struct host_spec *hs)
{
    const char *sep = strstr(s, "://");
    const char *auth;
    const char *end = s + len;
    const char *slash;
    const char *at;
    const char *hp;
    const char *colon;

    if (sep == NULL || sep >= end || (size_t)(sep - s) >= sizeof(hs->scheme)) {
        return SK_EINVAL;
    }
    memcpy(hs->scheme, s, (size_t)(sep - s));
    hs->scheme[sep - s] = '\0';
    for (char *c = hs->scheme; *c; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    if (strcmp(hs->scheme, "http") != 0 && strcmp(hs->scheme, "https") != 0) {
        return SK_EINVAL;
    }
    hs->port = strcmp(hs->scheme, "https") == 0 ? 443 : 80;
    auth = sep + 3;
    slash = memchr(auth, '/', (size_t)(end - auth));
    if (slash == NULL) {
        slash = end;
    }
    at = NULL;
    for (const char *q = auth; q < slash; q++) {
        if (*q == '@') {
            at = q; /* the last '@' before the path ends the userinfo */
        }
    }
    hp = auth;
    if (at != NULL) {
        int rc = parse_userinfo(auth, (size_t)(at - auth), hs);

        if (rc < 0) {
            return rc;
        }
        hp = at + 1;
    }
    if (hp < slash && *hp == '[') {
        const char *rb = memchr(hp, ']', (size_t)(slash - hp));

        if (rb == NULL || (size_t)(rb - hp + 1) >= sizeof(hs->host)) {
            return SK_EINVAL;
        }
        memcpy(hs->host, hp, (size_t)(rb - hp + 1));
        hs->host[rb - hp + 1] = '\0';
        colon = rb + 1 < slash && rb[1] == ':' ? rb + 1 : NULL;
        if (rb + 1 < slash && colon == NULL) {
            return SK_EINVAL;
        }
    } else {
        colon = memchr(hp, ':', (size_t)(slash - hp));
        size_t hlen = colon != NULL ? (size_t)(colon - hp) : (size_t)(slash - hp);

        if (hlen == 0 || hlen >= sizeof(hs->host)) {
            return SK_EINVAL;
        }
        memcpy(hs->host, hp, hlen);
        hs->host[hlen] = '\0';
    }
    if (colon != NULL && !parse_port(colon + 1, (size_t)(slash - colon - 1), &hs->port)) {
        return SK_EINVAL;
    }
    if (slash < end && end - slash > 1) {
        hs->path = slash;
        hs->path_len = (size_t)(end - slash);
    }
    return 0;
}

static bool has_scheme(const char *s, size_t len)
{
    for (size_t i = 0; i + 3 <= len; i++) {
        if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
            return true;
        }
    }
    return false;
}

static int parse_item(const char *s, size_t len, struct host_spec *hs)
{
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']' && len < sizeof(hs->host)) {
        memcpy(hs->host, s, len);
        hs->host[len] = '\0';
        return 0;
    }
    if (is_raw_ipv6(s, len)) {
        if (len + 3 > sizeof(hs->host)) {
            return SK_EINVAL;
        }
        snprintf(hs->host, sizeof(hs->host), "[%.*s]", (int)len, s);
        return 0;
    }
    if (!has_scheme(s, len)) {
        return parse_legacy(s, len, hs) ? 0 : SK_EINVAL;
    }
    return parse_url(s, len, hs);
}

static int add_spec(struct es_pool *p, struct host_spec *hs, const char *def_path,
                    const char *def_user, const char *def_password)
{
    char *path = NULL;
    int rc = 0;

    if (hs->path != NULL) {
        path = sk_strndup(hs->path, hs->path_len);
        if (path == NULL) {
            return SK_ENOMEM;
        }
    }
    if (hs->user == NULL && def_user != NULL) {
        if (es_pool_add(p, hs->scheme, hs->host, hs->port, path ? path : def_path, def_user,
                        def_password, true) == NULL) {
            rc = SK_ENOMEM;
        }
    } else if (es_pool_add(p, hs->scheme, hs->host, hs->port, path ? path : def_path, hs->user,
                           hs->password, true) == NULL) {
        rc = SK_ENOMEM;
    }
    sk_free(path);
    return rc;
}

int es_pool_add_hosts(struct es_pool *p, const char *hosts, const char *def_scheme, int def_port,
                      const char *def_path, const char *def_user, const char *def_password,
                      char *bad, size_t bad_size)
{
    size_t pos = 0;
    size_t total = strlen(hosts);
    int rc = 0;

    while (rc == 0 && pos < total) {
        size_t len = strcspn(hosts + pos, ",");
        const char *item = hosts + pos;
        struct host_spec hs;

        pos += len + 1;
        while (len > 0 && isspace((unsigned char)*item)) {
            item++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)item[len - 1])) {
            len--;
        }
        if (len == 0) {
            continue;
        }
        memset(&hs, 0, sizeof(hs));
        snprintf(hs.scheme, sizeof(hs.scheme), "%s", def_scheme);
        hs.port = def_port;
        rc = parse_item(item, len, &hs);
        if (rc == SK_EINVAL) {
            snprintf(bad, bad_size, "%.*s", (int)len, item);
        } else if (rc == 0) {
            rc = add_spec(p, &hs, def_path, def_user, def_password);
        }
        sk_free(hs.user);
        sk_free(hs.password);
    }
    if (rc == 0 && p->n == 0) {
        snprintf(bad, bad_size, "%s", hosts);
        rc = SK_EINVAL;
    }
    return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t m = strlen(suffix);

    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

bool es_host_is_managed(const char *host)
{
    if (host == NULL) {
        return false;
    }
    if (ends_with(host, ".es.amazonaws.com") || ends_with(host, ".es.amazonaws.com.cn") ||
        ends_with(host, ".aoss.amazonaws.com")) {
        return true;
    }
    return ends_with(host, ".on.aws") && strcasestr(host, ".aos.") != NULL;
}
