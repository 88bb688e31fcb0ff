#include "sink_bulk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

/* The largest single item we write: fixed text plus index name and _id. */
#define ITEM_MAX (256 + SINK_INDEX_NAME_MAX + 512)

int sink_buf_reserve(struct sink_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra) {
        return 0;
    }
    if (extra > b->max - b->len) {
        return -1;
    }
    size_t want = b->len + extra;
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < want) {
        ncap *= 2;
    }
    if (ncap > b->max) {
        ncap = b->max;
    }
    char *p = realloc(b->data, ncap);
    if (p == NULL) {
        return -1;
    }
    b->data = p;
    b->cap = ncap;
    return 0;
}

void sink_buf_free(struct sink_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int sink_state_init(struct sink_state *s, int latency_on)
{
    memset(s, 0, sizeof(*s));
    s->latency_on = latency_on;
    s->indices = calloc(SINK_MAX_INDICES, sizeof(*s->indices));
    s->touched = calloc(SINK_MAX_INDICES, sizeof(*s->touched));
    if (s->indices == NULL || s->touched == NULL) {
        return -1;
    }
    sink_state_reset(s);
    return 0;
}

void sink_state_reset(struct sink_state *s)
{
    memset(&s->st, 0, sizeof(s->st));
    memset(s->lat_hist, 0, sizeof(s->lat_hist));
    s->nindices = 0;
    s->last_hit = 0;
    if (s->seq_bits != NULL) {
        memset(s->seq_bits, 0, s->seq_bytes);
    }
    /* Auto ids look like ES's 20-character ones and stay unique across resets. */
    if (s->next_id[0] == '\0') {
        memcpy(s->next_id, "sk000000000000000000", 20);
    }
}

void sink_state_cleanup(struct sink_state *s)
{
    free(s->indices);
    free(s->touched);
    free(s->seq_bits);
    s->indices = NULL;
    s->touched = NULL;
    s->seq_bits = NULL;
}

static void next_id(struct sink_state *s)
{
    for (int i = 19; i >= 2; i--) {
        if (s->next_id[i] != '9') {
            s->next_id[i]++;
            return;
        }
        s->next_id[i] = '0';
    }
}

/* ES index name rules (es-api.md section 3.2): lower case, <= 255 bytes, no
 * leading - _ +, none of \ / * ? " < > | , # or space. */
static int index_name_invalid(const char *n, size_t len)
{
    if (len == 0 || n[0] == '-' || n[0] == '_' || n[0] == '+') {
        return 1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        if ((c >= 'A' && c <= 'Z') || strchr("\\/*?\"<>|,# ", c) != NULL) {
            return 1;
        }
    }
    return 0;
}

static struct sink_index *find_index(struct sink_state *s, const char *name, size_t len)
{
    /* Consecutive documents nearly always share an index: try the last one first. */
    struct sink_index *ix = &s->indices[s->last_hit];
    if (s->nindices > 0 && ix->len == len && memcmp(ix->name, name, len) == 0) {
        return ix;
    }
    for (size_t i = 0; i < s->nindices; i++) {
        ix = &s->indices[i];
        if (ix->len == len && memcmp(ix->name, name, len) == 0) {
            s->last_hit = i;
            return ix;
        }
    }
    if (s->nindices == SINK_MAX_INDICES || len > SINK_INDEX_NAME_MAX) {
        return NULL;
    }
    ix = &s->indices[s->nindices];
    memcpy(ix->name, name, len);
    ix->name[len] = '\0';
    ix->len = len;
    ix->docs = 0;
    ix->pending = 0;
    ix->invalid = index_name_invalid(name, len);
    s->last_hit = s->nindices++;
    return ix;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) {
        p++;
    }
    return p;
}

enum action { A_INDEX, A_CREATE, A_UPDATE, A_DELETE, A_BAD };
static const char *const action_names[] = {"index", "create", "update", "delete"};
static const size_t action_lens[] = {5, 6, 6, 6};

/* Reads `{"<action>"` and sets *after to just past the closing quote. */
static enum action parse_action(const char *p, const char *end, const char **after)
{
    p = skip_ws(p, end);
    if (p >= end || *p != '{') {
        return A_BAD;
    }
    p = skip_ws(p + 1, end);
    if (p >= end || *p != '"') {
        return A_BAD;
    }
    p++;
    for (int a = A_INDEX; a < A_BAD; a++) {
        size_t n = action_lens[a];
        if ((size_t)(end - p) > n && memcmp(p, action_names[a], n) == 0 && p[n] == '"') {
            *after = p + n + 1;
            return (enum action)a;
        }
    }
    return A_BAD;
}

/* Skips a JSON string starting at the opening quote; returns the position
 * after the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\') {
            p++;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

/* Skips a non-string value (number, literal, object, array) up to the ','
 * or '}' that ends it at depth 0. */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            p = skip_string(p, end);
            if (p == NULL) {
                return NULL;
            }
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) {
                return p;
            }
            depth--;
        } else if (c == ',' && depth == 0) {
            return p;
        }
        p++;
    }
    return NULL;
}

enum meta_rc { META_OK = 0, META_MALFORMED = -1, META_TYPE = -2 };

/* Reads the metadata object of an action line in one pass: p is just past
 * the action name's closing quote. Picks up _index and _id (raw, still
 * JSON-escaped: we echo them back) and rejects _type as ES 8 does. One pass
 * without memmem matters: this runs for every document. */
static enum meta_rc parse_meta(const char *p, const char *end, const char **index,
                               size_t *index_len, const char **id, size_t *id_len)
{
    p = skip_ws(p, end);
    if (p >= end || *p != ':') {
        return META_MALFORMED;
    }
    p = skip_ws(p + 1, end);
    if (p >= end || *p != '{') {
        return META_MALFORMED;
    }
    p = skip_ws(p + 1, end);
    while (p < end && *p == '"') {
        const char *key = p + 1;
        p = skip_string(p, end);
        if (p == NULL) {
            return META_MALFORMED;
        }
        size_t klen = (size_t)(p - 1 - key);
        p = skip_ws(p, end);
        if (p >= end || *p != ':') {
            return META_MALFORMED;
        }
        p = skip_ws(p + 1, end);
        if (p >= end) {
            return META_MALFORMED;
        }
        if (klen == 5 && memcmp(key, "_type", 5) == 0) {
            return META_TYPE;
        }
        const char *v = p + 1;
        p = *p == '"' ? skip_string(p, end) : skip_value(p, end);
        if (p == NULL) {
            return META_MALFORMED;
        }
        if (klen == 6 && memcmp(key, "_index", 6) == 0 && v[-1] == '"') {
            *index = v;
            *index_len = (size_t)(p - 1 - v);
        } else if (klen == 3 && memcmp(key, "_id", 3) == 0 && v[-1] == '"') {
            *id = v;
            *id_len = (size_t)(p - 1 - v);
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
        }
    }
    /* The metadata object, then the action object, then nothing. */
    if (p >= end || *p != '}') {
        return META_MALFORMED;
    }
    p = skip_ws(p + 1, end);
    if (p >= end || *p != '}') {
        return META_MALFORMED;
    }
    return skip_ws(p + 1, end) == end ? META_OK : META_MALFORMED;
}

static size_t lat_bucket(uint64_t us)
{
    if (us < 64) {
        return (size_t)us;
    }
    unsigned e = 63u - (unsigned)__builtin_clzll(us);
    if (e > 40) {
        return SINK_LAT_BUCKETS - 1;
    }
    return 64 + (size_t)(e - 6) * 64 + (size_t)((us >> (e - 6)) & 63);
}

/* The middle of a bucket, used when reporting percentiles. */
static uint64_t lat_bucket_value(size_t b)
{
    if (b < 64) {
        return b;
    }
    unsigned e = (unsigned)((b - 64) / 64) + 6;
    uint64_t sub = (b - 64) % 64;
    uint64_t lo = (64 + sub) << (e - 6);
    return lo + ((1ull << (e - 6)) >> 1);
}

static void mark_seq(struct sink_state *s, uint64_t seq)
{
    if (seq >= SINK_SEQ_MAX) {
        return;
    }
    size_t byte = (size_t)(seq >> 3);
    if (byte >= s->seq_bytes) {
        size_t nb = s->seq_bytes ? s->seq_bytes : 1u << 16;
        while (nb <= byte) {
            nb *= 2;
        }
        uint8_t *p = realloc(s->seq_bits, nb);
        if (p == NULL) {
            return;
        }
        memset(p + s->seq_bytes, 0, nb - s->seq_bytes);
        s->seq_bits = p;
        s->seq_bytes = nb;
    }
    uint8_t bit = (uint8_t)(1u << (seq & 7));
    if (s->seq_bits[byte] & bit) {
        s->st.seq_dups++;
    } else {
        s->seq_bits[byte] |= bit;
        s->st.seq_unique++;
    }
}

static uint64_t parse_digits(const char *p, const char *end, int *ok)
{
    uint64_t v = 0;
    const char *start = p;
    while (p < end && *p >= '0' && *p <= '9' && p - start < 19) {
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    *ok = p > start;
    return v;
}

/* Looks in a document for the generator's live-mode markers
 * bench_seq=<n>&bench_t=<realtime ns> and records delay and sequence. */
static void record_markers(struct sink_state *s, const char *src, const char *end, int64_t now)
{
    const char *p = memmem(src, (size_t)(end - src), "bench_seq=", 10);
    if (p == NULL) {
        return;
    }
    int ok;
    uint64_t seq = parse_digits(p + 10, end, &ok);
    if (ok) {
        mark_seq(s, seq);
    }
    p = memmem(p, (size_t)(end - p), "bench_t=", 8);
    if (p == NULL) {
        return;
    }
    uint64_t t = parse_digits(p + 8, end, &ok);
    if (!ok) {
        return;
    }
    uint64_t us = (int64_t)t < now ? (uint64_t)(now - (int64_t)t) / 1000 : 0;
    s->lat_hist[lat_bucket(us)]++;
    s->st.lat_count++;
    if (us > s->st.lat_max_us) {
        s->st.lat_max_us = us;
    }
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}
#define PUT_LIT(p, lit) put((p), (lit), sizeof(lit) - 1)

/* Writes one response item. ES 8 shape (es-api.md section 3.6). */
static char *write_item(struct sink_state *s, char *p, enum action a, struct sink_index *ix,
                        const char *id, size_t id_len, int *failed)
{
    p = PUT_LIT(p, "{\"");
    p = put(p, action_names[a], action_lens[a]);
    p = PUT_LIT(p, "\":{\"_index\":\"");
    p = put(p, ix->name, ix->len);
    p = PUT_LIT(p, "\",\"_id\":\"");
    if (id != NULL) {
        p = put(p, id, id_len);
    } else {
        p = put(p, s->next_id, 20);
        next_id(s);
    }
    if (ix->invalid) {
        (*failed)++;
        p = PUT_LIT(p, "\",\"status\":400,\"error\":{\"type\":\"invalid_index_name_exception\","
                       "\"reason\":\"Invalid index name, must be lowercase and must not contain "
                       "forbidden characters\",\"index\":\"");
        p = put(p, ix->name, ix->len);
        return PUT_LIT(p, "\"}}}");
    }
    static const char *const results[] = {"created", "created", "updated", "not_found"};
    static const size_t result_lens[] = {7, 7, 7, 9};
    static const char *const codes[] = {"201", "201", "200", "404"};
    p = PUT_LIT(p, "\",\"_version\":1,\"result\":\"");
    p = put(p, results[a], result_lens[a]);
    p = PUT_LIT(p, "\",\"_shards\":{\"total\":2,\"successful\":1,\"failed\":0},\"_seq_no\":");
    p += bench_fmt_u64(p, ix->docs + ix->pending);
    p = PUT_LIT(p, ",\"_primary_term\":1,\"status\":");
    p = put(p, codes[a], 3);
    return PUT_LIT(p, "}}");
}

static int bad_request(struct sink_buf *out, const char *type, const char *reason, uint64_t line)
{
    char msg[512];
    if (line > 0) {
        snprintf(msg, sizeof(msg), "%s [%llu]", reason, (unsigned long long)line);
    } else {
        snprintf(msg, sizeof(msg), "%s", reason);
    }
    if (sink_buf_reserve(out, 2 * strlen(msg) + 2 * strlen(type) + 128) != 0) {
        return -1;
    }
    int n = snprintf(out->data + out->len, out->cap - out->len,
                     "{\"error\":{\"root_cause\":[{\"type\":\"%s\",\"reason\":\"%s\"}],"
                     "\"type\":\"%s\",\"reason\":\"%s\"},\"status\":400}",
                     type, msg, type, msg);
    out->len += (size_t)n;
    return 400;
}

/* Adds (or, for a rejected request, drops) the docs counted while scanning:
 * ES applies none of a request it refuses as a whole. */
static void commit_pending(struct sink_state *s, int accept)
{
    for (size_t i = 0; i < s->ntouched; i++) {
        if (accept) {
            s->touched[i]->docs += s->touched[i]->pending;
        }
        s->touched[i]->pending = 0;
    }
    s->ntouched = 0;
}

static int reject(struct sink_state *s, struct sink_buf *out, size_t start_len, const char *type,
                  const char *reason, uint64_t line)
{
    commit_pending(s, 0);
    out->len = start_len;
    return bad_request(out, type, reason, line);
}

/* One _bulk request being scanned. */
struct scan {
    struct sink_state *s;
    const char *end;
    const char *def; /* default index from the URL, may be NULL */
    size_t def_len;
    int want_items;
    int64_t now_ns;
    struct sink_buf *out;
    size_t start_len; /* out->len before the request, to roll back on 400 */
    uint64_t line_no, docs, actions;
    int failed;
};

static int scan_reject(struct scan *sc, const char *type, const char *reason)
{
    return reject(sc->s, sc->out, sc->start_len, type, reason, sc->line_no);
}

/* Handles the action line at *pp (ending at nl) and the source line after
 * it, advancing *pp. Returns 0, 400 (out then holds the error) or -1. */
static int scan_action(struct scan *sc, const char **pp, const char *nl)
{
    const char *p = *pp;
    const char *after = NULL;
    enum action a = parse_action(p, nl, &after);
    if (a == A_BAD) {
        return scan_reject(sc, "illegal_argument_exception", "Malformed action/metadata line");
    }
    const char *name = sc->def, *id = NULL;
    size_t name_len = sc->def_len, id_len = 0;
    enum meta_rc mrc = parse_meta(after, nl, &name, &name_len, &id, &id_len);
    if (mrc == META_TYPE) {
        return scan_reject(sc, "illegal_argument_exception",
                           "Action/metadata line contains an unknown parameter [_type], line");
    }
    if (mrc != META_OK) {
        return scan_reject(sc, "illegal_argument_exception", "Malformed action/metadata line");
    }
    if (name == NULL) {
        return scan_reject(sc, "action_request_validation_exception",
                           "Validation Failed: 1: index is missing; line");
    }
    struct sink_index *ix = find_index(sc->s, name, name_len);
    if (ix == NULL) {
        return scan_reject(sc, "illegal_argument_exception",
                           "index name too long, or too many indices for the sink; line");
    }
    p = nl + 1;
    if (a != A_DELETE) {
        /* index, create and update are followed by one more line. */
        if (p >= sc->end) {
            return scan_reject(sc, "illegal_argument_exception",
                               "Validation Failed: source is missing, line");
        }
        const char *src_end = memchr(p, '\n', (size_t)(sc->end - p));
        sc->line_no++;
        if (sc->s->latency_on && a != A_UPDATE) {
            record_markers(sc->s, p, src_end, sc->now_ns);
        }
        p = src_end + 1;
    }
    *pp = p;
    sc->actions++;
    if (sc->want_items) {
        if (sink_buf_reserve(sc->out, ITEM_MAX + id_len) != 0) {
            return -1;
        }
        char *w = sc->out->data + sc->out->len;
        if (sc->actions > 1) {
            *w++ = ',';
        }
        w = write_item(sc->s, w, a, ix, id, id_len, &sc->failed);
        sc->out->len = (size_t)(w - sc->out->data);
    } else if (ix->invalid) {
        sc->failed++;
    }
    if ((a == A_INDEX || a == A_CREATE) && !ix->invalid) {
        if (ix->pending++ == 0) {
            sc->s->touched[sc->s->ntouched++] = ix;
        }
        sc->docs++;
    }
    return 0;
}

int sink_bulk_handle(struct sink_state *s, const char *body, size_t len, const char *default_index,
                     size_t default_len, int want_items, int64_t now_ns, struct sink_buf *out,
                     int *errors_out)
{
    struct scan sc = {.s = s, .end = body + len, .def = default_index, .def_len = default_len,
                      .want_items = want_items, .now_ns = now_ns, .out = out,
                      .start_len = out->len};
    if (len == 0) {
        return bad_request(out, "action_request_validation_exception",
                           "Validation Failed: 1: no requests added;", 0);
    }
    if (body[len - 1] != '\n') {
        return bad_request(out, "illegal_argument_exception",
                           "The bulk request must be terminated by a newline [\\\\n]", 0);
    }
    const char *p = body;
    while (p < sc.end) {
        const char *nl = memchr(p, '\n', (size_t)(sc.end - p));
        sc.line_no++;
        if (skip_ws(p, nl) == nl) {
            p = nl + 1; /* ES skips empty lines */
            continue;
        }
        int rc = scan_action(&sc, &p, nl);
        if (rc != 0) {
            commit_pending(s, 0);
            return rc;
        }
    }
    commit_pending(s, 1);
    s->st.docs += sc.docs;
    s->st.actions += sc.actions;
    s->st.item_errors += (uint64_t)sc.failed;
    *errors_out = sc.failed > 0;
    return 200;
}

static uint64_t lat_percentile(const struct sink_state *s, double q)
{
    if (s->st.lat_count == 0) {
        return 0;
    }
    uint64_t rank = (uint64_t)(q * (double)s->st.lat_count);
    if (rank >= s->st.lat_count) {
        rank = s->st.lat_count - 1;
    }
    uint64_t seen = 0;
    for (size_t b = 0; b < SINK_LAT_BUCKETS; b++) {
        seen += s->lat_hist[b];
        if (seen > rank) {
            uint64_t v = lat_bucket_value(b);
            return v < s->st.lat_max_us ? v : s->st.lat_max_us;
        }
    }
    return s->st.lat_max_us;
}

int sink_stats_json(const struct sink_state *s, int down, uint64_t connections,
                    struct sink_buf *out)
{
    size_t need = 2048 + s->nindices * (SINK_INDEX_NAME_MAX + 32);
    if (sink_buf_reserve(out, need) != 0) {
        return -1;
    }
    char *p = out->data + out->len;
    size_t cap = out->cap - out->len;
    const struct sink_stats *t = &s->st;
    int n = snprintf(p, cap,
                     "{\"docs\":%llu,\"requests\":%llu,\"bytes\":%llu,\"wire_bytes\":%llu,"
                     "\"resp_bytes\":%llu,"
                     "\"actions\":%llu,\"item_errors\":%llu,\"gzip_requests\":%llu,"
                     "\"rejected\":%llu,\"first_bulk_ns\":%lld,\"last_bulk_ns\":%lld,"
                     "\"down\":%s,\"connections\":%llu,"
                     "\"latency_us\":{\"count\":%llu,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,"
                     "\"max\":%llu},\"seq\":{\"unique\":%llu,\"dups\":%llu},\"indices\":{",
                     (unsigned long long)t->docs, (unsigned long long)t->requests,
                     (unsigned long long)t->bytes, (unsigned long long)t->wire_bytes,
                     (unsigned long long)t->resp_bytes,
                     (unsigned long long)t->actions, (unsigned long long)t->item_errors,
                     (unsigned long long)t->gzip_requests, (unsigned long long)t->rejected,
                     (long long)t->first_bulk_ns, (long long)t->last_bulk_ns,
                     down ? "true" : "false", (unsigned long long)connections,
                     (unsigned long long)t->lat_count,
                     (unsigned long long)lat_percentile(s, 0.50),
                     (unsigned long long)lat_percentile(s, 0.90),
                     (unsigned long long)lat_percentile(s, 0.99),
                     (unsigned long long)t->lat_max_us, (unsigned long long)t->seq_unique,
                     (unsigned long long)t->seq_dups);
    size_t len = (size_t)n;
    for (size_t i = 0; i < s->nindices; i++) {
        /* Index names were validated to contain no quote or backslash only if
         * valid; invalid ones are still safe JSON since they came from JSON. */
        n = snprintf(p + len, cap - len, "%s\"%s\":%llu", i ? "," : "", s->indices[i].name,
                     (unsigned long long)s->indices[i].docs);
        len += (size_t)n;
    }
    n = snprintf(p + len, cap - len, "}}\n");
    len += (size_t)n;
    out->len += len;
    return 0;
}
