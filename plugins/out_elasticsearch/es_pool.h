#ifndef SK_OUT_ELASTICSEARCH_ES_POOL_H
#define SK_OUT_ELASTICSEARCH_ES_POOL_H

/*
 * The connection pool of the Elasticsearch output: which endpoint the next
 * request goes to. A pure state machine: no I/O, no clock of its own (every
 * call takes `now_ms`), so tests drive it step by step.
 *
 *            request ok / probe ok
 *      +--------------------------------+
 *      v                                |
 *   ALIVE --- connect error, timeout, --> DEAD --- resurrect_after ---+
 *      ^      reset, 502/503/504          ^        elapsed: picked    |
 *      |                                  |        once as a trial    |
 *      |                                  +---- trial fails ----------+
 *   PROBING (added by a sniff; not picked until a probe answers)
 *      |--- probe fails --> removed again (seed hosts are never removed)
 *
 * Picking: round-robin over ALIVE hosts, plus DEAD hosts whose resurrect
 * time has come (they get one trial request). When nothing is ALIVE or due,
 * the host that died first is tried anyway: the pool never refuses to
 * answer ("Cannot get new connection from pool" cannot happen here).
 *
 * Sniffing (`_nodes/http`) only ever adds PROBING hosts and removes sniffed
 * hosts that the cluster no longer lists; seed hosts (from host/hosts) stay,
 * so a sniff that returns nothing (Amazon) or private addresses that do not
 * answer (behind a proxy) leaves a working pool working.
 *
 * Every state change is reported once through the `on_change` callback
 * (the output logs it); tests count the calls.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* One sniffed endpoint (es_info.h parses `_nodes/http` into these). */
struct es_sniff_addr {
    char host[256]; /* name or address; IPv6 in brackets */
    int port;
};

/* A sniffed address whose probe failed is not offered again for this long
 * (at least resurrect_after): a proxy-hidden cluster answers every sniff
 * with the same unreachable addresses. */
#define ES_POOL_REFUSED_MS (5 * 60 * 1000)
#define ES_POOL_REFUSED_MAX 32

enum es_host_state {
    ES_HOST_ALIVE,
    ES_HOST_DEAD,
    ES_HOST_PROBING,
};

struct es_host {
    char *scheme;   /* owned: "http" / "https" */
    char *host;     /* owned: name or address ("[::1]" for IPv6) */
    int port;
    char *path;     /* owned: "" or "/prefix" without a trailing '/' */
    char *user;     /* owned, or NULL */
    char *password; /* owned, or NULL */
    char *base_url; /* owned: scheme://host:port/path (no trailing '/') */
    char *label;    /* owned: scheme://host:port for logs (no credentials) */
    bool seed;      /* from the configuration: never removed */
    enum es_host_state state;
    int64_t dead_since_ms;  /* when it died (first failure of the streak) */
    int64_t retry_at_ms;    /* DEAD: when it may be tried again */
    unsigned int failures;  /* consecutive failures */
    bool trial;             /* DEAD host handed out for one trial request */
    bool probe_sent;        /* PROBING host handed out for its probe */
    bool seen;              /* scratch for sniff merging */
    bool removed;           /* left the pool; freed when refs drops to 0 */
    unsigned int refs;      /* requests/probes in flight holding it */
};

struct es_refused {
    struct es_sniff_addr addr;
    int64_t until_ms;
};

enum es_pool_event {
    ES_POOL_DEAD,        /* ALIVE -> DEAD */
    ES_POOL_RESURRECTED, /* DEAD -> ALIVE */
    ES_POOL_ADDED,       /* a sniffed host entered PROBING */
    ES_POOL_PROBE_OK,    /* PROBING -> ALIVE */
    ES_POOL_REMOVED,     /* a sniffed host left the pool */
    ES_POOL_LAST_RESORT, /* every host dead: trying the longest-dead one */
};

typedef void (*es_pool_change_cb)(const struct es_host *h, enum es_pool_event ev,
                                  const char *reason, void *arg);

struct es_pool {
    struct es_host **hosts; /* owned array of owned hosts */
    size_t n;
    size_t cap;
    struct es_host **gone;  /* owned: removed hosts still referenced */
    size_t ngone;
    size_t gone_cap;
    size_t next;                /* round-robin cursor */
    int64_t resurrect_after_ms;
    uint64_t requests;          /* picks since the last sniff */
    bool last_resort_logged;    /* LAST_RESORT reported for this outage */
    struct es_refused refused[ES_POOL_REFUSED_MAX]; /* sniffed addresses that did not answer */
    es_pool_change_cb on_change;
    void *cb_arg;
};

/* Prepares an empty pool. `cb` may be NULL. */
void es_pool_init(struct es_pool *p, int64_t resurrect_after_ms, es_pool_change_cb cb, void *arg);

/* Frees every host. The pool is empty and reusable afterwards. */
void es_pool_cleanup(struct es_pool *p);

/*
 * Adds a host (state ALIVE for seeds, PROBING for sniffed ones). Copies the
 * strings; `path` may be NULL or "/" (both mean none), user/password may be
 * NULL. Returns the host (owned by the pool) or NULL for SK_ENOMEM.
 */
struct es_host *es_pool_add(struct es_pool *p, const char *scheme, const char *host, int port,
                            const char *path, const char *user, const char *password, bool seed);

/*
 * The host to send the next request to; NULL only for an empty pool. The
 * caller holds a reference until es_pool_put (a sniff may remove the host
 * meanwhile; it stays valid until then).
 */
struct es_host *es_pool_pick(struct es_pool *p, int64_t now_ms);

/* Drops the reference taken by es_pool_pick / es_pool_next_probe. */
void es_pool_put(struct es_pool *p, struct es_host *h);

/* Reports a request outcome. A failure (connect error, timeout, reset,
 * 502/503/504) marks the host DEAD until now + resurrect_after; success
 * marks it ALIVE. Each transition is reported once. */
void es_pool_failed(struct es_pool *p, struct es_host *h, int64_t now_ms, const char *reason);
void es_pool_succeeded(struct es_pool *p, struct es_host *h, int64_t now_ms);

/* Counts of hosts by state. */
size_t es_pool_count(const struct es_pool *p, enum es_host_state s);

/* True when `reload_after` picks have happened since the last sniff
 * (reload_after <= 0: never). */
bool es_pool_sniff_due(const struct es_pool *p, int64_t reload_after);

/* --- Sniffing --------------------------------------------------------------- */


/*
 * Merges a sniff result: sniffed hosts not yet known are added in PROBING
 * state (scheme, user and password copied from the first seed host),
 * unless their probe failed recently (ES_POOL_REFUSED_MS); sniffed hosts no
 * longer listed are removed; seeds are never touched. An empty result
 * changes nothing. Returns the number of hosts added, or SK_ENOMEM (the
 * pool is then still consistent). Resets the sniff counter.
 */
int es_pool_merge_sniffed(struct es_pool *p, const struct es_sniff_addr *addrs, size_t n,
                          int64_t now_ms) SK_WUR;

/* The next PROBING host not yet handed out (a reference for the caller to
 * es_pool_put after es_pool_probe_result), or NULL. */
struct es_host *es_pool_next_probe(struct es_pool *p);

/* A probe answered (any HTTP status below 500): the host becomes ALIVE; a
 * failed probe removes a sniffed host (a seed in PROBING becomes DEAD). */
void es_pool_probe_result(struct es_pool *p, struct es_host *h, bool ok, int64_t now_ms,
                          const char *reason);

/*
 * Splits `hosts` (Fluentd syntax: "h1:9200,h2", or URLs
 * "https://user:pass@h3:9243/prefix", IPv6 as "http://[::1]:9200") and adds
 * each as a seed. Missing parts come from the defaults. Percent-escapes in
 * URL credentials are decoded. Returns 0, SK_EINVAL (the bad item is
 * copied into `bad`), SK_ENOMEM.
 */
int es_pool_add_hosts(struct es_pool *p, const char *hosts, const char *def_scheme, int def_port,
                      const char *def_path, const char *def_user, const char *def_password,
                      char *bad, size_t bad_size) SK_WUR;

/* True when `host` is an Amazon managed endpoint (*.es.amazonaws.com[.cn],
 * *.aos.<region>.on.aws, *.aoss.amazonaws.com), where sniffing never works. */
bool es_host_is_managed(const char *host);

#endif
