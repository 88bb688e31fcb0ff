#include "sink_bulk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

/* The largest single item we write, _id aside: fixed text plus the index
 * name three times (_index, error.reason, error.index). */
#define ITEM_MAX (640 + 3 * SINK_INDEX_NAME_MAX)

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

/* Why ES refuses an index name, in the order MetadataCreateIndexService
 * checks (validateIndexOrAliasName, then lower case); 0: valid. The text
 * follows "Invalid index name [<name>], " in the item's error.reason. */
static const char *const invalid_reasons[] = {
    NULL,
    /* Strings.INVALID_FILENAME_CHARS as its HashSet prints (ES 7/8), JSON-escaped. */
    "must not contain the following characters [ , \\\", *, \\\\, <, |, ,, >, /, ?]",
    "must not be empty",
    "must not contain '#'",
    "must not contain ':'",
    "must not start with '_', '-', or '+'",
    "must not be '.' or '..'",
    "must be lowercase",
};

static int index_name_invalid(const char *n, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        /* The raw (still JSON-escaped) name: \" and \\ stand for " and \. */
        if (n[i] != '\0' && strchr("\\/*?\"<>| ,", n[i]) != NULL) {
            return 1;
        }
    }
    if (len == 0) {
        return 2;
    }
    if (memchr(n, '#', len) != NULL) {
        return 3;
    }
    if (memchr(n, ':', len) != NULL) {
        return 4;
    }
    if (n[0] == '-' || n[0] == '_' || n[0] == '+') {
        return 5;
    }
    if ((len == 1 && n[0] == '.') || (len == 2 && n[0] == '.' && n[1] == '.')) {
        return 6;
    }
    for (size_t i = 0; i < len; i++) {
        if (n[i] >= 'A' && n[i] <= 'Z') {
            return 7;
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

#define OK_LEAVES                                                                              \
    (SL_BIT(SL_INDEX) | SL_BIT(SL_ID) | SL_BIT(SL_VERSION) | SL_BIT(SL_RESULT) |                 \
     SL_BIT(SL_SH_TOTAL) | SL_BIT(SL_SH_SUCCESSFUL) | SL_BIT(SL_SH_FAILED) | SL_BIT(SL_SEQ_NO) |  \
     SL_BIT(SL_PRIMARY_TERM) | SL_BIT(SL_STATUS))
#define SHARDS_LEAVES (SL_BIT(SL_SH_TOTAL) | SL_BIT(SL_SH_SUCCESSFUL) | SL_BIT(SL_SH_FAILED))
#define ERROR_LEAVES                                                                           \
    (SL_BIT(SL_ERR_TYPE) | SL_BIT(SL_ERR_REASON) | SL_BIT(SL_ERR_INDEX_UUID) | SL_BIT(SL_ERR_INDEX))
#define FAIL_LEAVES (SL_BIT(SL_INDEX) | SL_BIT(SL_ID) | SL_BIT(SL_STATUS) | ERROR_LEAVES)
#define ALL_LEAVES (OK_LEAVES | FAIL_LEAVES)

/* A comma unless p is still at the start of its object. */
#define SEP(p, start)                                                                          \
    do {                                                                                       \
        if ((p) != (start)) {                                                                  \
            *(p)++ = ',';                                                                      \
        }                                                                                      \
    } while (0)

/* Writes one response item in the ES 8 shape (es-api.md section 3.6),
 * keeping only the leaves in mask, each written only if kept, in ES's
 * order. Returns p unchanged when nothing of the item is kept. */
static char *write_item(struct sink_state *s, char *p, enum action a, const struct sink_index *ix,
                        const char *id, size_t id_len, uint32_t mask)
{
    uint32_t m = mask & (ix->invalid ? FAIL_LEAVES : OK_LEAVES);
    if (m == 0) {
        return p;
    }
    p = PUT_LIT(p, "{\"");
    p = put(p, action_names[a], action_lens[a]);
    p = PUT_LIT(p, "\":{");
    char *const obj = p;
    if (m & SL_BIT(SL_INDEX)) {
        p = PUT_LIT(p, "\"_index\":\"");
        p = put(p, ix->name, ix->len);
        *p++ = '"';
    }
    if (m & SL_BIT(SL_ID)) {
        SEP(p, obj);
        if (id != NULL) {
            p = PUT_LIT(p, "\"_id\":\"");
            p = put(p, id, id_len);
            *p++ = '"';
        } else if (ix->invalid) {
            /* Failed before an _id was generated: BulkItemResponse writes null. */
            p = PUT_LIT(p, "\"_id\":null");
        } else {
            p = PUT_LIT(p, "\"_id\":\"");
            p = put(p, s->next_id, 20);
            *p++ = '"';
            next_id(s);
        }
    }
    if (ix->invalid) {
        if (m & SL_BIT(SL_STATUS)) {
            SEP(p, obj);
            p = PUT_LIT(p, "\"status\":400");
        }
        if (m & ERROR_LEAVES) {
            SEP(p, obj);
            p = PUT_LIT(p, "\"error\":{");
            char *const err = p;
            if (m & SL_BIT(SL_ERR_TYPE)) {
                p = PUT_LIT(p, "\"type\":\"invalid_index_name_exception\"");
            }
            if (m & SL_BIT(SL_ERR_REASON)) {
                SEP(p, err);
                p = PUT_LIT(p, "\"reason\":\"Invalid index name [");
                p = put(p, ix->name, ix->len);
                p = PUT_LIT(p, "], ");
                const char *why = invalid_reasons[ix->invalid];
                p = put(p, why, strlen(why));
                *p++ = '"';
            }
            if (m & SL_BIT(SL_ERR_INDEX_UUID)) {
                SEP(p, err);
                p = PUT_LIT(p, "\"index_uuid\":\"_na_\"");
            }
            if (m & SL_BIT(SL_ERR_INDEX)) {
                SEP(p, err);
                p = PUT_LIT(p, "\"index\":\"");
                p = put(p, ix->name, ix->len);
                *p++ = '"';
            }
            *p++ = '}';
        }
        return PUT_LIT(p, "}}");
    }
    static const char *const results[] = {"created", "created", "updated", "not_found"};
    static const size_t result_lens[] = {7, 7, 7, 9};
    static const char *const codes[] = {"201", "201", "200", "404"};
    if ((m & OK_LEAVES) == OK_LEAVES) {
        /* The whole item: the common unfiltered case in one go. */
        SEP(p, obj);
        p = PUT_LIT(p, "\"_version\":1,\"result\":\"");
        p = put(p, results[a], result_lens[a]);
        p = PUT_LIT(p, "\",\"_shards\":{\"total\":2,\"successful\":1,\"failed\":0},\"_seq_no\":");
        p += bench_fmt_u64(p, ix->docs + ix->pending);
        p = PUT_LIT(p, ",\"_primary_term\":1,\"status\":");
        p = put(p, codes[a], 3);
        return PUT_LIT(p, "}}");
    }
    if (m & SL_BIT(SL_VERSION)) {
        SEP(p, obj);
        p = PUT_LIT(p, "\"_version\":1");
    }
    if (m & SL_BIT(SL_RESULT)) {
        SEP(p, obj);
        p = PUT_LIT(p, "\"result\":\"");
        p = put(p, results[a], result_lens[a]);
        *p++ = '"';
    }
    if (m & SHARDS_LEAVES) {
        SEP(p, obj);
        p = PUT_LIT(p, "\"_shards\":{");
        char *const sh = p;
        if (m & SL_BIT(SL_SH_TOTAL)) {
            p = PUT_LIT(p, "\"total\":2");
        }
        if (m & SL_BIT(SL_SH_SUCCESSFUL)) {
            SEP(p, sh);
            p = PUT_LIT(p, "\"successful\":1");
        }
        if (m & SL_BIT(SL_SH_FAILED)) {
            SEP(p, sh);
            p = PUT_LIT(p, "\"failed\":0");
        }
        *p++ = '}';
    }
    if (m & SL_BIT(SL_SEQ_NO)) {
        SEP(p, obj);
        p = PUT_LIT(p, "\"_seq_no\":");
        p += bench_fmt_u64(p, ix->docs + ix->pending);
    }
    if (m & SL_BIT(SL_PRIMARY_TERM)) {
        SEP(p, obj);
        p = PUT_LIT(p, "\"_primary_term\":1");
    }
    if (m & SL_BIT(SL_STATUS)) {
        SEP(p, obj);
        p = PUT_LIT(p, "\"status\":");
        p = put(p, codes[a], 3);
    }
    return PUT_LIT(p, "}}");
}

/* ---- filter_path ------------------------------------------------------ */

/* One dotted path of filter_path, split into segments. */
struct fp_seg {
    const char *p;
    size_t len;
    int wild;  /* contains '*': matched as a glob */
    int dstar; /* exactly "**": matches one or more levels */
};
struct fp_pat {
    struct fp_seg *segs;
    size_t n;
};

/* org.elasticsearch.core.Glob.globMatch: '*' matches any run of characters. */
static int glob_match(const char *p, size_t pl, const char *s, size_t sl)
{
    size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;
    while (si < sl) {
        if (pi < pl && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (pi < pl && p[pi] == s[si]) {
            pi++;
            si++;
        } else if (star != SIZE_MAX) {
            pi = star + 1;
            si = ++mark;
        } else {
            return 0;
        }
    }
    while (pi < pl && p[pi] == '*') {
        pi++;
    }
    return pi == pl;
}

static int seg_match(const struct fp_seg *g, const char *name)
{
    size_t nl = strlen(name);
    return g->wild ? glob_match(g->p, g->len, name, nl) : (g->len == nl && memcmp(g->p, name, nl) == 0);
}

/* Whether one of the patterns selects path[0..depth) or an ancestor of it,
 * walking the keys as FilterPath.matches does: a pattern's state is the set
 * of its prefixes matched so far; "**" keeps its place for any further key. */
static int fp_selects(const struct fp_pat *pats, size_t npats, const char *const *path,
                      size_t depth)
{
    for (size_t i = 0; i < npats; i++) {
        const struct fp_pat *pt = &pats[i];
        if (pt->n > depth) {
            continue; /* every segment takes at least one key */
        }
        uint32_t state = 1; /* bit j: segs[0..j) matched */
        for (size_t k = 0; k < depth && state != 0; k++) {
            uint32_t next = 0;
            for (size_t j = 0; j < pt->n; j++) {
                if (!(state & (1u << j))) {
                    continue;
                }
                if (seg_match(&pt->segs[j], path[k])) {
                    if (j + 1 == pt->n) {
                        return 1;
                    }
                    next |= 1u << (j + 1);
                }
                if (j > 0 && pt->segs[j - 1].dstar) {
                    next |= 1u << j;
                }
            }
            state = next;
        }
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int is_trim(char c)
{
    return (unsigned char)c <= ' '; /* String.trim() */
}

/* Splits [b, e) into segments as FilterPathBuilder.insertNode does: at the
 * first '.' not escaped as "\." and not at the start; the rest is one
 * segment otherwise. Escaped segments have every "\x" turned into "." (the
 * replaceAll("\\\\.", ".") ES applies). */
static size_t split_pattern(char *b, char *e, struct fp_seg *segs)
{
    size_t n = 0;
    for (;;) {
        char *split = NULL;
        int escapes = 0;
        for (char *q = b; q < e; q++) {
            if (*q == '.') {
                split = q;
                break;
            }
            if (*q == '\\' && q + 1 < e && q[1] == '.') {
                q++;
                escapes = 1;
            }
        }
        char *end = (split != NULL && split > b) ? split : e;
        size_t len = (size_t)(end - b);
        if (escapes) {
            char *w = b;
            for (char *r = b; r < end; r++) {
                if (*r == '\\' && r + 1 < end) {
                    r++;
                    *w++ = '.';
                } else {
                    *w++ = *r;
                }
            }
            len = (size_t)(w - b);
        }
        segs[n].p = b;
        segs[n].len = len;
        segs[n].wild = memchr(b, '*', len) != NULL;
        segs[n].dstar = len == 2 && b[0] == '*' && b[1] == '*';
        n++;
        if (end == e) {
            return n;
        }
        b = end + 1;
    }
}

void sink_filter_full(struct sink_filter *f)
{
    f->full = 1;
    f->top = SINK_TOP_ERRORS | SINK_TOP_TOOK;
    for (int a = 0; a < 4; a++) {
        f->item[a] = ALL_LEAVES;
    }
}

static const char *const leaf_path[SL_COUNT][2] = {
    [SL_INDEX] = {"_index", NULL},         [SL_ID] = {"_id", NULL},
    [SL_VERSION] = {"_version", NULL},     [SL_RESULT] = {"result", NULL},
    [SL_SH_TOTAL] = {"_shards", "total"},  [SL_SH_SUCCESSFUL] = {"_shards", "successful"},
    [SL_SH_FAILED] = {"_shards", "failed"}, [SL_SEQ_NO] = {"_seq_no", NULL},
    [SL_PRIMARY_TERM] = {"_primary_term", NULL}, [SL_STATUS] = {"status", NULL},
    [SL_ERR_TYPE] = {"error", "type"},     [SL_ERR_REASON] = {"error", "reason"},
    [SL_ERR_INDEX_UUID] = {"error", "index_uuid"}, [SL_ERR_INDEX] = {"error", "index"},
};

static int leaf_kept(const struct fp_pat *inc, size_t ninc, const struct fp_pat *exc, size_t nexc,
                     const char *const *path, size_t depth)
{
    /* The include filter wraps the exclude filter (JsonXContentGenerator):
     * a leaf is written when an include selects it (or there are none) and
     * no exclude does. */
    return (ninc == 0 || fp_selects(inc, ninc, path, depth)) &&
           !fp_selects(exc, nexc, path, depth);
}

int sink_filter_compile(struct sink_filter *f, const char *value, size_t len)
{
    sink_filter_full(f);
    size_t ntok = 1;
    for (size_t i = 0; i < len; i++) {
        ntok += value[i] == ',' || value[i] == '%'; /* "%2C" may be a comma too */
    }
    char *buf = malloc(len + 1);
    struct fp_seg *segs = malloc((len + ntok) * sizeof(*segs));
    struct fp_pat *inc = malloc(ntok * sizeof(*inc));
    struct fp_pat *exc = malloc(ntok * sizeof(*exc));
    if (buf == NULL || segs == NULL || inc == NULL || exc == NULL) {
        free(buf);
        free(segs);
        free(inc);
        free(exc);
        return -1;
    }
    /* Query-string decoding (RestUtils.decodeComponent): %XX, and '+' is a space. */
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (value[i] == '%' && i + 2 < len && (hi = hexval(value[i + 1])) >= 0 && (lo = hexval(value[i + 2])) >= 0) {
            buf[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            buf[n++] = value[i] == '+' ? ' ' : value[i];
        }
    }
    /* Comma list, tokens trimmed, empty ones dropped (Strings.tokenizeByCommaToSet);
     * "-x" excludes x (trimmed again by FilterPath.compile). */
    size_t ninc = 0, nexc = 0, nsegs = 0;
    char *end = buf + n;
    for (char *b = buf; b < end;) {
        char *comma = memchr(b, ',', (size_t)(end - b));
        char *e = comma != NULL ? comma : end;
        char *next = comma != NULL ? comma + 1 : end;
        while (b < e && is_trim(*b)) {
            b++;
        }
        while (e > b && is_trim(e[-1])) {
            e--;
        }
        if (b < e) {
            struct fp_pat *pt = NULL;
            if (*b == '-') {
                for (b++; b < e && is_trim(*b); b++) {
                }
                if (b < e) {
                    pt = &exc[nexc++];
                }
            } else {
                pt = &inc[ninc++];
            }
            if (pt != NULL) {
                pt->segs = segs + nsegs;
                pt->n = split_pattern(b, e, pt->segs);
                nsegs += pt->n;
            }
        }
        b = next;
    }
    if (ninc > 0 || nexc > 0) {
        const char *path[4];
        path[0] = "errors";
        f->top = leaf_kept(inc, ninc, exc, nexc, path, 1) ? SINK_TOP_ERRORS : 0;
        path[0] = "took";
        f->top |= leaf_kept(inc, ninc, exc, nexc, path, 1) ? SINK_TOP_TOOK : 0;
        int full = f->top == (SINK_TOP_ERRORS | SINK_TOP_TOOK);
        path[0] = "items";
        for (int a = 0; a < 4; a++) {
            path[1] = action_names[a];
            f->item[a] = 0;
            for (int l = 0; l < SL_COUNT; l++) {
                path[2] = leaf_path[l][0];
                path[3] = leaf_path[l][1];
                if (leaf_kept(inc, ninc, exc, nexc, path, path[3] != NULL ? 4 : 3)) {
                    f->item[a] |= SL_BIT(l);
                }
            }
            full = full && f->item[a] == ALL_LEAVES;
        }
        f->full = full;
    }
    free(buf);
    free(segs);
    free(inc);
    free(exc);
    return 0;
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
    const struct sink_filter *filter;
    int64_t now_ns;
    struct sink_buf *out;
    size_t start_len; /* out->len before the request, to roll back on 400 */
    uint64_t line_no, docs, actions, items;
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
    if (ix->invalid) {
        sc->failed++;
    }
    uint32_t mask = sc->filter->item[a];
    if (mask != 0) {
        if (sink_buf_reserve(sc->out, ITEM_MAX + id_len) != 0) {
            return -1;
        }
        char *w0 = sc->out->data + sc->out->len;
        char *w = w0;
        if (sc->items > 0) {
            *w++ = ',';
        }
        char *we = write_item(sc->s, w, a, ix, id, id_len, mask);
        if (we != w) {
            sc->items++;
            sc->out->len += (size_t)(we - w0);
        }
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
                     size_t default_len, const struct sink_filter *f, int64_t now_ns,
                     struct sink_buf *out, int *errors_out, uint64_t *items_out)
{
    struct scan sc = {.s = s, .end = body + len, .def = default_index, .def_len = default_len,
                      .filter = f, .now_ns = now_ns, .out = out, .start_len = out->len};
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
    if (sc.actions == 0) {
        /* Only blank lines: nothing was added (BulkRequest.validate). */
        return bad_request(out, "action_request_validation_exception",
                           "Validation Failed: 1: no requests added;", 0);
    }
    commit_pending(s, 1);
    s->st.docs += sc.docs;
    s->st.actions += sc.actions;
    s->st.item_errors += (uint64_t)sc.failed;
    *errors_out = sc.failed > 0;
    *items_out = sc.items;
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
