/*
 * A seeded statistical model of nginx access-log traffic, shared by the
 * generator (which writes `combined` lines) and the replay client (which
 * writes the documents skiff would make from those lines).
 *
 * A record is one request: a client (address + user agent, reused so that
 * addresses repeat as in real logs), a request line, status, size, referer.
 * Strings are already escaped the way nginx's default log escaping writes
 * them: '"' as \x22, '\' as \x5C, bytes < 0x20 or >= 0x7f as \xHH.
 */
#ifndef SK_BENCH_NGINX_MODEL_H
#define SK_BENCH_NGINX_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "bench_util.h"

/* Upper bound of one formatted line, including the live-mode marker. */
#define NX_LINE_MAX 2048
#define NX_PATH_MAX 640
#define NX_REQUEST_MAX 768
#define NX_REFERER_MAX 256
/* "19/Jul/2018:00:00:00 +0000" */
#define NX_TIME_LOCAL_LEN 26

struct nx_client;

struct nx_model {
    struct bench_rng rng;
    struct nx_client *clients; /* owned */
    size_t nclients;
    char *agent_buf; /* owned: the escaped agent strings clients point to */
    int backslash_quotes;
};

/* One synthesized request. Pointers refer to the record's own arrays or to
 * static tables; they stay valid until the next nx_model_next() on it. */
struct nx_record {
    const char *remote;
    size_t remote_len;
    const char *user;
    size_t user_len;
    /* For normal requests method/path/proto are the three request parts.
     * For junk requests (TLS handshakes, "-") method is the whole request,
     * path_len is 0 and proto is NULL, as nginx's parser regex sees it. */
    const char *method;
    size_t method_len;
    char path[NX_PATH_MAX];
    size_t path_len;
    const char *proto;
    size_t proto_len;
    unsigned status;
    uint32_t body_bytes;
    char referer[NX_REFERER_MAX];
    size_t referer_len;
    const char *agent;
    size_t agent_len;
};

/* Builds the client pool from seed. backslash_quotes nonzero writes quotes
 * as \" (what `escape=json` or some proxies produce) instead of \x22;
 * note that the Fluentd nginx regex cannot parse such lines.
 * Returns 0, or -1 if memory is short (m is then safe to clean up). */
int nx_model_init(struct nx_model *m, uint64_t seed, int backslash_quotes);

/* Frees the pool; accepts a zeroed or half-built model. */
void nx_model_cleanup(struct nx_model *m);

/* Draws the next request into r. */
void nx_model_next(struct nx_model *m, struct nx_record *r);

/* Writes "19/Jul/2018:00:00:00 +0000" (NX_TIME_LOCAL_LEN bytes, no NUL)
 * for epoch second t. */
void nx_format_time_local(char *dst, int64_t t);

/* Writes r as one `combined` line ending in '\n' at dst (NX_LINE_MAX bytes).
 * mark, if mark_len > 0, is appended to the path's query string (with '?'
 * or '&'), which is how live mode smuggles sequence numbers and send times
 * to the sink. Returns the line length. */
size_t nx_format_line(const struct nx_record *r, const char *time_local, const char *mark,
                      size_t mark_len, char *dst);

#endif
