/*
 * skiff-bench-replay: the "sink limit" baseline.
 *
 * Builds `_bulk` bodies of the documents skiff would send for the generator's
 * log (same model, same seed, same daily indices) in memory before the clock
 * starts, then POSTs them over one keep-alive connection, one request in
 * flight, as a shipper does, with skiff's filter_path. Whatever rate this reaches is the most any
 * shipper could show against this sink on this machine.
 *
 * Each round prints one JSON line on stdout:
 *   {"round":1,"docs":N,"requests":N,"bytes":N,"wire_bytes":N,"seconds":S,
 *    "docs_per_s":R,"mb_per_s":R,"client_cpu_s":S,"verified":true}
 * With --reset the sink's counters are zeroed before each round and its
 * per-index counts are checked against what was sent afterwards.
 */
#include "bench_util.h"
#include "nginx_model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_DAYS 64
/* The query skiff's Elasticsearch output puts on every bulk request
 * (plugins/out_elasticsearch/es_flush.c, ES_BULK_QUERY): the sink's answer,
 * and the bytes read back, are then the same for both. */
#define SKIFF_FILTER_PATH "errors,items.*.status,items.*.error,error,status"
#define RESP_MAX ((size_t)1 << 30)

struct replay_opts {
    uint16_t port;
    uint64_t docs;
    uint64_t body_size;
    uint64_t days;
    uint64_t seed;
    uint64_t rounds;
    uint64_t distinct_bytes;
    int64_t start;
    const char *prefix;
    char bulk_path[320]; /* /_bulk, with skiff's filter_path unless told otherwise */
    int gzip;
    int reset;
};

/* One prebuilt request body and the documents it holds per day. */
struct body {
    char *data; /* owned; NDJSON, or gzip of it */
    size_t len;
    size_t ndjson_len;
    uint64_t docs;
    uint64_t per_day[MAX_DAYS];
};

struct bodies {
    struct body *v; /* owned */
    size_t n;
    int64_t first_day;
};

/* JSON string contents for s: the escaped-log text holds backslashes (\x22)
 * and must be escaped again, as skiff's JSON writer does. */
static char *json_str(char *p, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            memcpy(p, "\\u00", 4);
            p[4] = hex[c >> 4];
            p[5] = hex[c & 15];
            p += 6;
        } else {
            *p++ = (char)c;
        }
    }
    return p;
}

#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

/* Writes action + document for r at time t (the fields Fluentd's nginx parser
 * yields, plus logstash_format's @timestamp). dst needs 2 * NX_LINE_MAX. */
static size_t format_doc(char *dst, const struct nx_record *r, const char *index, size_t ilen,
                         int64_t t)
{
    char *p = dst;
    p = PUT_LIT(p, "{\"index\":{\"_index\":\"");
    memcpy(p, index, ilen);
    p += ilen;
    p = PUT_LIT(p, "\"}}\n{\"remote\":\"");
    p = json_str(p, r->remote, r->remote_len);
    p = PUT_LIT(p, "\",\"host\":\"-\",\"user\":\"");
    p = json_str(p, r->user, r->user_len);
    p = PUT_LIT(p, "\",\"method\":\"");
    p = json_str(p, r->method, r->method_len);
    if (r->proto != NULL) {
        p = PUT_LIT(p, "\",\"path\":\"");
        p = json_str(p, r->path, r->path_len);
    }
    p = PUT_LIT(p, "\",\"code\":\"");
    p += bench_fmt_u64(p, r->status);
    p = PUT_LIT(p, "\",\"size\":\"");
    p += bench_fmt_u64(p, r->body_bytes);
    p = PUT_LIT(p, "\",\"referer\":\"");
    p = json_str(p, r->referer, r->referer_len);
    p = PUT_LIT(p, "\",\"agent\":\"");
    p = json_str(p, r->agent, r->agent_len);
    p = PUT_LIT(p, "\",\"@timestamp\":\"");
    int y;
    unsigned mo, d;
    int64_t days = t / 86400;
    unsigned sod = (unsigned)(t - days * 86400);
    bench_civil_from_days(days, &y, &mo, &d);
    bench_fmt_pad(p, (unsigned)y, 4);
    p[4] = '-';
    bench_fmt_pad(p + 5, mo, 2);
    p[7] = '-';
    bench_fmt_pad(p + 8, d, 2);
    p[10] = 'T';
    bench_fmt_pad(p + 11, sod / 3600, 2);
    p[13] = ':';
    bench_fmt_pad(p + 14, sod / 60 % 60, 2);
    p[16] = ':';
    bench_fmt_pad(p + 17, sod % 60, 2);
    p += 19;
    p = PUT_LIT(p, ".000000000+00:00\"}\n");
    return (size_t)(p - dst);
}

static int gzip_body(struct body *b, int level)
{
    uLongf cap = compressBound((uLong)b->len) + 64;
    char *out = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (out == NULL || deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8,
                                    Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return -1;
    }
    z.next_in = (Bytef *)b->data;
    z.avail_in = (uInt)b->len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int zrc = deflate(&z, Z_FINISH);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    if (zrc != Z_STREAM_END) {
        free(out);
        return -1;
    }
    free(b->data);
    b->data = out;
    b->len = n;
    return 0;
}

/* Builds bodies for up to o->docs documents or o->distinct_bytes of NDJSON,
 * whichever comes first; rounds cycle over them. Returns 0 or -1. */
static int build_bodies(const struct replay_opts *o, struct bodies *bs)
{
    struct nx_model m;
    struct nx_record rec;
    const uint64_t span = o->days * 86400;
    uint64_t built = 0;
    size_t cap_bodies = 16;
    int rc = -1;
    memset(&m, 0, sizeof(m));
    bs->first_day = o->start / 86400;
    bs->v = calloc(cap_bodies, sizeof(*bs->v));
    if (bs->v == NULL || nx_model_init(&m, o->seed, 0) != 0) {
        goto cleanup;
    }
    char index[128];
    size_t ilen = 0;
    int64_t index_day = -1;
    struct body *b = NULL;
    for (uint64_t i = 0; i < o->docs && built < o->distinct_bytes; i++) {
        if (b == NULL || b->len + 2 * NX_LINE_MAX > o->body_size) {
            if (bs->n == cap_bodies) {
                struct body *nv = realloc(bs->v, 2 * cap_bodies * sizeof(*nv));
                if (nv == NULL) {
                    goto cleanup;
                }
                memset(nv + cap_bodies, 0, cap_bodies * sizeof(*nv));
                bs->v = nv;
                cap_bodies *= 2;
            }
            b = &bs->v[bs->n++];
            b->data = malloc(o->body_size + 2 * NX_LINE_MAX);
            if (b->data == NULL) {
                goto cleanup;
            }
        }
        int64_t t = o->start + (int64_t)(i * span / o->docs);
        if (t / 86400 != index_day) {
            index_day = t / 86400;
            ilen = bench_index_name(index, sizeof(index), o->prefix, t);
        }
        nx_model_next(&m, &rec);
        size_t n = format_doc(b->data + b->len, &rec, index, ilen, t);
        b->len += n;
        b->docs++;
        b->per_day[index_day - bs->first_day]++;
        built += n;
    }
    for (size_t i = 0; i < bs->n; i++) {
        bs->v[i].ndjson_len = bs->v[i].len;
        if (o->gzip && gzip_body(&bs->v[i], 1) != 0) {
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    nx_model_cleanup(&m);
    return rc;
}

static void free_bodies(struct bodies *bs)
{
    for (size_t i = 0; i < bs->n; i++) {
        free(bs->v[i].data);
    }
    free(bs->v);
    bs->v = NULL;
    bs->n = 0;
}

/* ---- a minimal keep-alive HTTP client -------------------------------- */

struct client {
    int fd;
    uint16_t port;
    char *resp; /* owned */
    size_t resp_cap;
};

static int client_connect(struct client *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(c->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(c->fd, (struct sockaddr *)&sa, sizeof(sa));
}

/* Sends a request and reads the whole response into c->resp. Returns the
 * HTTP status (and sets *body, *blen), or -1 on a transport error. */
static int client_request(struct client *c, const char *method, const char *path, int gzip,
                          const char *data, size_t len, const char **body, size_t *blen)
{
    char hdr[512];
    int hn = snprintf(hdr, sizeof(hdr),
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                      "Content-Type: application/x-ndjson\r\n%sContent-Length: %zu\r\n\r\n",
                      method, path, (unsigned)c->port, gzip ? "Content-Encoding: gzip\r\n" : "",
                      len);
    if (hn < 0 || (size_t)hn >= sizeof(hdr)) {
        return -1;
    }
    struct iovec iov[2] = {{hdr, (size_t)hn}, {(void *)(uintptr_t)data, len}};
    size_t left = (size_t)hn + len;
    while (left > 0) {
        ssize_t n = writev(c->fd, iov, 2);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        left -= (size_t)n;
        for (int i = 0; i < 2 && n > 0; i++) {
            size_t take = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
            iov[i].iov_base = (char *)iov[i].iov_base + take;
            iov[i].iov_len -= take;
            n -= (ssize_t)take;
        }
    }
    size_t got = 0, hdr_len = 0, total = 0;
    for (;;) {
        if (c->resp_cap - got < 65536) {
            size_t ncap = c->resp_cap ? c->resp_cap * 2 : 1 << 20;
            char *p = ncap <= RESP_MAX ? realloc(c->resp, ncap) : NULL;
            if (p == NULL) {
                return -1;
            }
            c->resp = p;
            c->resp_cap = ncap;
        }
        ssize_t n = read(c->fd, c->resp + got, c->resp_cap - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return -1;
        }
        got += (size_t)n;
        if (hdr_len == 0) {
            const char *e = memmem(c->resp, got, "\r\n\r\n", 4);
            if (e == NULL) {
                continue;
            }
            hdr_len = (size_t)(e - c->resp) + 4;
            const char *cl = memmem(c->resp, hdr_len, "content-length: ", 16);
            if (cl == NULL) {
                return -1; /* the sink always sends it */
            }
            total = hdr_len + strtoull(cl + 16, NULL, 10);
        }
        if (got >= total) {
            break;
        }
    }
    *body = c->resp + hdr_len;
    *blen = total - hdr_len;
    return (int)strtol(c->resp + 9, NULL, 10);
}

/* ---- rounds ---------------------------------------------------------- */

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Compares the sink's per-index counts with what was sent. */
static int verify(struct client *c, const struct replay_opts *o, const struct bodies *bs,
                  const uint64_t *sent_per_day)
{
    const char *body;
    size_t blen;
    if (client_request(c, "GET", "/_sink/stats", 0, "", 0, &body, &blen) != 200) {
        return -1;
    }
    int ok = 1;
    for (int d = 0; d < MAX_DAYS; d++) {
        if (sent_per_day[d] == 0) {
            continue;
        }
        char key[160];
        size_t kl = bench_index_name(key + 1, sizeof(key) - 3, o->prefix,
                                     (bs->first_day + d) * 86400);
        key[0] = '"';
        key[kl + 1] = '"';
        key[kl + 2] = ':';
        const char *hit = memmem(body, blen, key, kl + 3);
        unsigned long long got = hit ? strtoull(hit + kl + 3, NULL, 10) : 0;
        if (got != sent_per_day[d]) {
            fprintf(stderr, "skiff-bench-replay: %.*s: sink has %llu, sent %llu\n", (int)kl,
                    key + 1, got, (unsigned long long)sent_per_day[d]);
            ok = 0;
        }
    }
    return ok;
}

static int run_round(struct client *c, const struct replay_opts *o, const struct bodies *bs,
                     uint64_t round)
{
    uint64_t per_day[MAX_DAYS] = {0};
    uint64_t docs = 0, requests = 0, bytes = 0, wire = 0;
    const char *rbody;
    size_t rlen;
    if (o->reset && client_request(c, "POST", "/_sink/reset", 0, "", 0, &rbody, &rlen) != 200) {
        fputs("skiff-bench-replay: reset failed\n", stderr);
        return -1;
    }
    double cpu0 = cpu_seconds();
    int64_t t0 = bench_mono_ns();
    for (size_t i = 0; docs < o->docs; i = (i + 1) % bs->n) {
        const struct body *b = &bs->v[i];
        int st = client_request(c, "POST", o->bulk_path, o->gzip, b->data, b->len, &rbody, &rlen);
        /* "errors":false sits near the start of every successful answer. */
        if (st != 200 || memmem(rbody, rlen < 64 ? rlen : 64, "\"errors\":false", 14) == NULL) {
            fprintf(stderr, "skiff-bench-replay: bulk answered %d: %.200s\n", st,
                    st < 0 ? "(transport error)" : rbody);
            return -1;
        }
        docs += b->docs;
        requests++;
        bytes += b->ndjson_len;
        wire += b->len;
        for (int d = 0; d < MAX_DAYS; d++) {
            per_day[d] += b->per_day[d];
        }
    }
    double secs = (double)(bench_mono_ns() - t0) / 1e9;
    double cpu = cpu_seconds() - cpu0;
    int verified = o->reset ? verify(c, o, bs, per_day) : -1;
    printf("{\"round\":%llu,\"docs\":%llu,\"requests\":%llu,\"bytes\":%llu,\"wire_bytes\":%llu,"
           "\"seconds\":%.6f,\"docs_per_s\":%.0f,\"mb_per_s\":%.1f,\"client_cpu_s\":%.3f,"
           "\"gzip\":%s,\"verified\":%s}\n",
           (unsigned long long)round, (unsigned long long)docs, (unsigned long long)requests,
           (unsigned long long)bytes, (unsigned long long)wire, secs, (double)docs / secs,
           (double)bytes / 1e6 / secs, cpu, o->gzip ? "true" : "false",
           verified < 0 ? "null" : verified ? "true" : "false");
    fflush(stdout);
    fprintf(stderr, "skiff-bench-replay: round %llu: %llu docs in %.3f s = %.0f docs/s, %.0f MB/s\n",
            (unsigned long long)round, (unsigned long long)docs, secs, (double)docs / secs,
            (double)bytes / 1e6 / secs);
    return verified == 0 ? 1 : 0;
}

static void usage(void)
{
    fputs("usage: skiff-bench-replay --port N [--docs 2000000] [--body-size 5m] [--days 3]\n"
          "         [--start 2018-07-19] [--seed 1] [--prefix es-log] [--gzip]\n"
          "         [--rounds 1] [--distinct 1g] [--reset] [--filter-path LIST]\n"
          "  --distinct caps the NDJSON built up front; rounds cycle over it.\n"
          "  --reset zeroes the sink before each round and verifies its counts after.\n"
          "  --filter-path defaults to what skiff sends (" SKIFF_FILTER_PATH ");\n"
          "    an empty value sends none, for the full answer.\n",
          stderr);
}

static int parse_args(int argc, char **argv, struct replay_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->docs = 2000000;
    o->body_size = 5u << 20;
    o->days = 3;
    o->seed = 1;
    o->rounds = 1;
    o->distinct_bytes = 1u << 30;
    o->prefix = "es-log";
    const char *filter = SKIFF_FILTER_PATH;
    if (bench_parse_date("2018-07-19", &o->start) != 0) {
        return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--gzip") == 0) {
            o->gzip = 1;
            continue;
        }
        if (strcmp(a, "--reset") == 0) {
            o->reset = 1;
            continue;
        }
        if (i + 1 >= argc) {
            return -1;
        }
        const char *v = argv[++i];
        uint64_t n = 0;
        int rc = 0;
        if (strcmp(a, "--port") == 0) {
            rc = bench_parse_u64(v, 0, &n) != 0 || n == 0 || n > 65535 ? -1 : 0;
            o->port = (uint16_t)n;
        } else if (strcmp(a, "--docs") == 0) {
            rc = bench_parse_u64(v, 0, &o->docs);
        } else if (strcmp(a, "--body-size") == 0) {
            rc = bench_parse_u64(v, 1, &o->body_size);
        } else if (strcmp(a, "--days") == 0) {
            rc = bench_parse_u64(v, 0, &o->days);
        } else if (strcmp(a, "--start") == 0) {
            rc = bench_parse_date(v, &o->start);
        } else if (strcmp(a, "--seed") == 0) {
            rc = bench_parse_u64(v, 0, &o->seed);
        } else if (strcmp(a, "--prefix") == 0) {
            o->prefix = v;
        } else if (strcmp(a, "--rounds") == 0) {
            rc = bench_parse_u64(v, 0, &o->rounds);
        } else if (strcmp(a, "--filter-path") == 0) {
            filter = v;
            rc = strlen(v) > 256 || strpbrk(v, " \r\n") != NULL ? -1 : 0;
        } else if (strcmp(a, "--distinct") == 0) {
            rc = bench_parse_u64(v, 1, &o->distinct_bytes);
        } else {
            rc = -1;
        }
        if (rc != 0) {
            return -1;
        }
    }
    if (o->port == 0 || o->docs == 0 || o->days < 1 || o->days > MAX_DAYS ||
        o->body_size < 4 * NX_LINE_MAX || strlen(o->prefix) > 64) {
        return -1;
    }
    snprintf(o->bulk_path, sizeof(o->bulk_path), "/_bulk%s%s", *filter ? "?filter_path=" : "",
             filter);
    return 0;
}

int main(int argc, char **argv)
{
    struct replay_opts o;
    struct bodies bs = {0};
    struct client c = {.fd = -1};
    int rc = 1;
    if (parse_args(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    int64_t t0 = bench_mono_ns();
    if (build_bodies(&o, &bs) != 0) {
        fputs("skiff-bench-replay: out of memory building bodies\n", stderr);
        goto cleanup;
    }
    fprintf(stderr, "skiff-bench-replay: built %zu bodies in %.2f s\n", bs.n,
            (double)(bench_mono_ns() - t0) / 1e9);
    c.port = o.port;
    if (client_connect(&c) != 0) {
        fprintf(stderr, "skiff-bench-replay: connect to port %u: %s\n", (unsigned)o.port,
                strerror(errno));
        goto cleanup;
    }
    rc = 0;
    for (uint64_t r = 1; r <= o.rounds && rc == 0; r++) {
        rc = run_round(&c, &o, &bs, r) != 0;
    }

cleanup:
    if (c.fd >= 0) {
        close(c.fd);
    }
    free(c.resp);
    free_bodies(&bs);
    return rc;
}
