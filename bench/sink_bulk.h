/*
 * The bulk half of skiff-bench-sink: scans `_bulk` NDJSON bodies without a
 * JSON parser, counts documents per index, and writes the ES 8 response.
 *
 * Scanning is one memchr per line plus a short look inside action lines,
 * which is what lets the sink run at several GB/s of NDJSON, far above any
 * shipper, so it never becomes the figure being measured.
 */
#ifndef SK_BENCH_SINK_BULK_H
#define SK_BENCH_SINK_BULK_H

#include <stddef.h>
#include <stdint.h>

#define SINK_INDEX_NAME_MAX 255
#define SINK_MAX_INDICES 4096
/* Log-linear latency histogram: 64 exact buckets below 64 us, then 64
 * sub-buckets per power of two up to 2^40 us (about 12 days): ~1.6 % error. */
#define SINK_LAT_BUCKETS (64 + 35 * 64)
/* Sequence numbers tracked for duplicate detection (32 MiB bitmap). */
#define SINK_SEQ_MAX (1ull << 28)

/* A growable byte buffer with a hard maximum. */
struct sink_buf {
    char *data; /* owned */
    size_t len;
    size_t cap;
    size_t max;
};

/* Makes room for extra more bytes. Returns 0, or -1 if that would pass max
 * or memory is short (the buffer is then unchanged). */
int sink_buf_reserve(struct sink_buf *b, size_t extra);
void sink_buf_free(struct sink_buf *b);

struct sink_index {
    char name[SINK_INDEX_NAME_MAX + 1];
    size_t len;
    uint64_t docs;
    uint64_t pending; /* docs of the request being scanned, added once it is accepted */
    int invalid; /* nonzero: why the name breaks ES index naming rules; items fail with 400 */
};

struct sink_stats {
    uint64_t docs;          /* index/create actions accepted */
    uint64_t actions;       /* all actions, including delete/update and failed items */
    uint64_t item_errors;   /* items answered with an error */
    uint64_t requests;      /* _bulk requests answered 200 */
    uint64_t bytes;         /* NDJSON bytes of those requests, after gunzip */
    uint64_t wire_bytes;    /* request body bytes as received */
    uint64_t resp_bytes;    /* bytes of all answers except to /_sink: what a shipper reads */
    uint64_t gzip_requests;
    uint64_t rejected;      /* _bulk requests refused (503 while down, 413, 400) */
    int64_t first_bulk_ns;  /* CLOCK_REALTIME of the first and last accepted _bulk */
    int64_t last_bulk_ns;
    uint64_t lat_count;
    uint64_t lat_max_us;
    uint64_t seq_unique;
    uint64_t seq_dups;
};

struct sink_state {
    struct sink_stats st;
    struct sink_index *indices; /* owned, SINK_MAX_INDICES entries */
    size_t nindices;
    size_t last_hit;
    struct sink_index **touched; /* owned: indices with pending docs */
    size_t ntouched;
    int latency_on;
    uint64_t lat_hist[SINK_LAT_BUCKETS];
    uint8_t *seq_bits; /* owned, grows up to SINK_SEQ_MAX bits */
    size_t seq_bytes;
    char next_id[20]; /* the next generated _id, incremented in place */
};

/* What `filter_path` keeps of a bulk answer. Elasticsearch filters its
 * generated JSON with a streaming path filter (FilterPathBasedFilter); the
 * bulk answer has a fixed shape, so the filter is evaluated once per request
 * against each leaf of that shape and the writer emits only the kept
 * leaves, in ES's order. An object or array is written only when something
 * inside it is kept; the root object always is. Error answers (HTTP 4xx/5xx)
 * are never filtered, as in ES (AbstractRestChannel.newErrorBuilder). */
enum sink_leaf {
    SL_INDEX,          /* items.<action>._index */
    SL_ID,             /* items.<action>._id */
    SL_VERSION,        /* success only: _version, result, _shards.*, _seq_no, _primary_term */
    SL_RESULT,
    SL_SH_TOTAL,
    SL_SH_SUCCESSFUL,
    SL_SH_FAILED,
    SL_SEQ_NO,
    SL_PRIMARY_TERM,
    SL_STATUS,         /* items.<action>.status */
    SL_ERR_TYPE,       /* failure only: error.type, error.reason, error.index_uuid, error.index */
    SL_ERR_REASON,
    SL_ERR_INDEX_UUID,
    SL_ERR_INDEX,
    SL_COUNT
};
#define SL_BIT(l) (1u << (l))
#define SINK_TOP_ERRORS 1u
#define SINK_TOP_TOOK 2u

struct sink_filter {
    int full;          /* no filter_path (or one that keeps everything): the whole answer */
    unsigned top;      /* SINK_TOP_* kept */
    uint32_t item[4];  /* per action (index, create, update, delete): SL_BIT()s kept */
};

/* The unfiltered answer. */
void sink_filter_full(struct sink_filter *f);
/* Evaluates a filter_path value (as in the query string: percent-encoded,
 * comma list, `*` and `**` wildcards, `-` prefix to exclude). Returns 0, or
 * -1 if memory is short (f is then the unfiltered answer). */
int sink_filter_compile(struct sink_filter *f, const char *value, size_t len);

/* Allocates the index table. Returns 0 or -1 (out of memory). */
int sink_state_init(struct sink_state *s, int latency_on);
/* Forgets all counts (POST /_sink/reset); keeps the allocations. */
void sink_state_reset(struct sink_state *s);
void sink_state_cleanup(struct sink_state *s);

/* Handles one _bulk body (already decompressed). Appends the items of the
 * response, as kept by filter f and comma separated, to out (starting at
 * out->len); the caller wraps them. default_index (may be NULL) is the
 * <index> of POST /<index>/_bulk. now_ns is CLOCK_REALTIME at request
 * completion, used for latency samples. Sets *errors_out (some item failed)
 * and *items_out (items written). Returns the HTTP status: 200, or 400 for a
 * malformed request, in which case out holds an ES error body instead.
 * -1: out could not grow. */
int sink_bulk_handle(struct sink_state *s, const char *body, size_t len, const char *default_index,
                     size_t default_len, const struct sink_filter *f, int64_t now_ns,
                     struct sink_buf *out, int *errors_out, uint64_t *items_out);

/* Appends the GET /_sink/stats JSON to out. Returns 0 or -1. */
int sink_stats_json(const struct sink_state *s, int down, uint64_t connections,
                    struct sink_buf *out);

#endif
