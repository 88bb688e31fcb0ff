#ifndef SK_BUFFER_CHUNK_FILE_H
#define SK_BUFFER_CHUNK_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

struct sk_fileops;

/*
 * One file-buffer chunk, named and laid out exactly as Fluentd's
 * buf_file / FileChunk writes it, so td-agent and skiff can take over each
 * other's buffer directory.
 *
 * Names (pattern "<dir>/buffer.*.log": the first ".*." is replaced):
 *
 *   <dir>/buffer.b60a2418202240abc0123456789abcdef.log     staged (still filled)
 *   <dir>/buffer.q60a2418202240abc0123456789abcdef.log     queued (never appended to)
 *   <chunk path>.meta                                     its metadata
 *   <chunk path>.tmp                                      skiff only: shrink in progress
 *                 |<------- id, 32 hex digits ---->|
 *
 * Chunk id (Fluent::UniqueId), 16 bytes, big-endian:
 *
 *   +-------------------------------------------+---------------+---------------+
 *   | (microseconds since epoch << 12) | rand12 |    rand32     |    rand32     |
 *   +-------------------------------------------+---------------+---------------+
 *    bytes 0..7 (first 13 hex digits = time)     bytes 8..11     bytes 12..15
 *
 * Data file: the concatenation of what was appended, i.e. a msgpack stream
 * of events, no header, no separators:
 *
 *   +------+------------------------+-----------+------+-------------+----
 *   | 0x92 | d7 00 SSSSSSSS NNNNNNNN | map ...   | 0x92 | time        | ...
 *   +------+------------------------+-----------+------+-------------+----
 *    [EventTime (fixext 8, type 0) or int seconds, record map] per event
 *
 * With "compress gzip" every append is one gzip member (RFC 1952); the
 * file is their concatenation and the stream above is what they inflate to.
 *
 * Meta file (Fluentd >= 1.7; rewritten from offset 0 on every commit):
 *
 *   offset 0  +------+------+
 *             | 0xC1 | 0x00 |        header (0xC1: a byte msgpack never uses)
 *   offset 2  +------+------+------+------+
 *             |  N, uint32 big-endian     |
 *   offset 6  +---------------------------+-------------------------------+
 *             | msgpack map(8), N bytes, keys str, in this order:         |
 *             |  "timekey" int|nil  "tag" str|nil  "variables" map|nil    |
 *             |  "seq" int  "id" bin8(16)  "s" int (events)               |
 *             |  "c" int (created, unix s)  "m" int (modified, unix s)    |
 *             +-----------------------------------------------------------+
 *
 * Before 1.7 the meta file was the bare map; the reader accepts both and
 * ignores keys it does not know.
 *
 * Durability (enum sk_chunk_sync) and what a crash leaves: see the comments
 * of each call below and chunk_recover.h for how a restart reads it all.
 */

#define SK_CHUNK_ID_SIZE 16
#define SK_CHUNK_ID_HEX_SIZE 33 /* 32 hex digits and a NUL */

enum sk_chunk_state {
    SK_CHUNK_STAGED, /* ".b": appendable */
    SK_CHUNK_QUEUED, /* ".q" (or a meta-less v0.12 ".b"): read-only */
    SK_CHUNK_PURGED, /* files unlinked; only sk_chunk_destroy is left */
};

/*
 * When data reaches the disk itself (not just the page cache). Every mode
 * survives kill -9 of skiff: after sk_chunk_append returns 0 the bytes are
 * in the file. The modes differ for power cuts and kernel crashes:
 *
 *  NONE    no fsync, as td-agent (Ruby's IO#sync is not fsync). Cost: one
 *          pwrite per append. A power cut may lose what the kernel had not
 *          written back yet (typically the last ~30 s).
 *  COMMIT  fsync of the data, then of the meta, in sk_chunk_commit;
 *          fsync of the directory after create, enqueue and shrink. Cost:
 *          two flushes per commit (batch), ~0.1-1 ms on SSD, ~10 ms on disk.
 *  APPEND  COMMIT, plus an fsync after every append. Cost: one more
 *          flush per append; throughput is bounded by the disk's flush rate.
 */
enum sk_chunk_sync { SK_CHUNK_SYNC_NONE, SK_CHUNK_SYNC_COMMIT, SK_CHUNK_SYNC_APPEND };

/* Settings shared by the chunks of one buffer (borrowed by every chunk). */
struct sk_chunk_opts {
    const struct sk_fileops *ops; /* NULL: sk_fileops_libc */
    enum sk_chunk_sync sync;
    bool gzip;                    /* "compress gzip": new chunks hold gzip members */
    unsigned int file_mode;       /* 0: 0600 */
    unsigned int dir_mode;        /* 0: 0700 */
    int64_t (*clock)(void);       /* unix seconds for "c"/"m"; NULL: time(2) */
    size_t max_size;              /* largest chunk recovery loads (file and inflated); 0: 1 GiB */
};

/* A chunk's metadata, as the .meta file holds it. */
struct sk_chunk_meta {
    int64_t timekey;              /* time slice start; -1: nil */
    char *tag;                    /* owned; NULL: nil */
    char *variables;              /* owned msgpack map, copied verbatim; NULL: nil */
    size_t variables_len;
    uint64_t seq;
    uint8_t id[SK_CHUNK_ID_SIZE];
    uint64_t records;             /* "s" */
    int64_t created;              /* "c" */
    int64_t modified;             /* "m" */
};

/* What a chunk is keyed by (all borrowed; copied by sk_chunk_create). */
struct sk_chunk_key {
    const char *tag;              /* NULL: nil */
    int64_t timekey;              /* -1: nil */
    const char *variables;        /* msgpack map or NULL */
    size_t variables_len;
};

/* Set by recovery on the chunks it loads (sk_chunk.recovered). */
enum sk_chunk_recovered {
    SK_CHUNK_REC_TORN = 1u << 0,        /* a torn last record was cut off */
    SK_CHUNK_REC_META_REBUILT = 1u << 1, /* .meta missing or damaged: rebuilt from data */
    SK_CHUNK_REC_LEGACY = 1u << 2,      /* ".b" without .meta (v0.12): read-only, queued */
    SK_CHUNK_REC_CORRUPT = 1u << 3,     /* unreadable bytes cut; original copied to backup */
    SK_CHUNK_REC_COUNT_FIXED = 1u << 4, /* meta "s" disagreed with the data */
};

/* Fields are read-only for callers: only the calls below change them. */
struct sk_chunk {
    const struct sk_chunk_opts *opts; /* borrowed */
    char *path;                   /* owned: the data file */
    char *meta_path;              /* owned */
    int fd;                       /* data, O_RDWR; -1 when released (reopened on use) */
    int meta_fd;                  /* -1 until the meta is next written */
    enum sk_chunk_state state;
    struct sk_chunk_meta meta;    /* meta.records counts appended events */
    char id_hex[SK_CHUNK_ID_HEX_SIZE];
    uint64_t bytes;               /* length of the data file (compressed when gzip) */
    size_t meta_len;              /* length last written to the meta file */
    bool gzip;                    /* this chunk's data is gzip members */
    bool torn;                    /* a failed append could not be cut back */
    unsigned int recovered;       /* enum sk_chunk_recovered bits */
};

/* --- Chunk life cycle ------------------------------------------------------ */

/*
 * Creates a staged chunk under `pattern` (a resolved buffer path holding
 * ".*.", see sk_chunk_paths_resolve): a new id, "<...>.b<id>.<...>" created
 * empty with opts->file_mode (the directory, when missing, with dir_mode),
 * and its .meta written (s=0, c=m=now). Borrows opts for the chunk's life.
 * Returns 0 and *out for the caller to sk_chunk_destroy; on failure
 * (SK_EINVAL pattern, SK_ENOMEM, SK_ENOSPC, SK_EPERM, SK_EIO) nothing is
 * left on disk and *out is NULL.
 * Crash: an empty .b with or without .meta, which recovery removes.
 */
int sk_chunk_create(const struct sk_chunk_opts *opts, const char *pattern,
                    const struct sk_chunk_key *key, struct sk_chunk **out) SK_WUR;

/*
 * Appends `len` bytes holding `count` whole events (gzip: as one member).
 * Write-ahead: when it returns 0 every byte is in the file (APPEND mode:
 * on the disk). On failure (SK_ENOSPC, SK_EIO, SK_ENOMEM, SK_EINVAL for
 * a chunk that is not staged) the file is cut back to its length before
 * the call, so it holds exactly the events appended before; if even that
 * fails the chunk refuses appends (SK_EIO) until a later call manages the
 * cut, and recovery would drop the torn tail. The caller should queue a
 * chunk that failed and go on with a new one.
 * Crash: whole events before the call plus maybe a torn part of this one.
 */
int sk_chunk_append(struct sk_chunk *c, const char *data, size_t len, size_t count) SK_WUR;

/*
 * Cuts the chunk back to `bytes` holding `records` events, a length it had
 * after an earlier append (the buffer undoes a write that could not be
 * taken whole). Works on staged and queued chunks; the meta is rewritten
 * by the next sk_chunk_commit. 0, or SK_EIO when the cut fails (staged:
 * it is tried again before the next append; recovery cuts it otherwise).
 */
int sk_chunk_truncate(struct sk_chunk *c, uint64_t bytes, uint64_t records) SK_WUR;

/*
 * Records the appends: rewrites the meta (s, m=now). COMMIT/APPEND modes
 * first flush the data, then the meta, so the meta never counts events
 * the disk does not hold. 0 or SK_E*; the data is unaffected by failure.
 * Crash: the previous meta (its "s" may lag; recovery counts the stream).
 */
int sk_chunk_commit(struct sk_chunk *c) SK_WUR;

/*
 * Queues a staged chunk as Fluentd does: rewrites the meta, (COMMIT/APPEND:
 * flushes both files), renames the data ".b" -> ".q", then the meta, then
 * (COMMIT/APPEND) flushes the directory. Returns 0 once the data is
 * renamed (state QUEUED); a failing meta rename is tolerated (recovery
 * finds the meta under its staged name). On failure the chunk is still
 * staged and unchanged. Queuing a queued chunk does nothing.
 * Crash: ".b"+".b.meta" (queued again at start) or ".q"+".b.meta".
 */
int sk_chunk_enqueue(struct sk_chunk *c) SK_WUR;

/*
 * Appends the chunk's whole event stream (gzip: inflated) to `out`, which
 * the caller prepared with a maximum. 0, SK_EIO (short or failed read,
 * damaged gzip), SK_ETOOBIG, SK_ENOMEM; `out` keeps its old length then.
 */
int sk_chunk_read(struct sk_chunk *c, struct sk_buf *out) SK_WUR;

/*
 * Maps the event stream of an uncompressed, non-empty chunk read-only, so
 * a flush reads the page cache in place instead of copying the chunk into
 * the heap. 0 with data and len set (undo with sk_chunk_unmap); SK_EINVAL
 * when the chunk cannot be mapped (gzip, empty): use sk_chunk_read. The
 * mapping stays valid after a shrink or purge (those replace or unlink
 * the file; the mapped inode lives on until unmapped).
 */
int sk_chunk_map(struct sk_chunk *c, const char **data, size_t *len) SK_WUR;
void sk_chunk_unmap(const char *data, size_t len);

/*
 * Makes the chunk hold only `data` (`count` events still owed after a
 * partial bulk failure); len 0 purges it. Crash-safe by write-and-rename:
 * the events go to "<path>.tmp" (COMMIT/APPEND: flushed), which is renamed
 * over the data file (COMMIT/APPEND: directory flushed), then the meta is
 * rewritten (s=count). Returns 0 when the data file holds exactly `data`;
 * a failing meta rewrite after the rename is tolerated (recovery counts
 * the stream). On failure the chunk is unchanged and the temp file gone.
 * Crash before the rename: the old content plus a stale .tmp (recovery
 * deletes it): everything is resent. After it: only `data` is resent.
 */
int sk_chunk_shrink(struct sk_chunk *c, const char *data, size_t len, size_t count) SK_WUR;

/*
 * Deletes the chunk (data file, then meta) after a successful flush and
 * closes it; state PURGED. SK_E* when the data file could not be unlinked
 * (it is then resent after a restart: a duplicate, never a loss).
 * Crash between the unlinks: an orphan .meta, which recovery removes.
 */
int sk_chunk_purge(struct sk_chunk *c) SK_WUR;

/*
 * Closes the chunk's descriptors (e.g. while it waits in the queue, so a
 * long queue does not hold two fds per chunk). Every call above reopens
 * the files when it needs them. Files and state are unchanged.
 */
void sk_chunk_release(struct sk_chunk *c);

/* Closes and frees the chunk, keeping its files for the next start; an
 * empty chunk (no bytes) still open is unlinked as Fluentd does. Accepts NULL. */
void sk_chunk_destroy(struct sk_chunk *c);

/* --- Building blocks (also used by recovery and tests) --------------------- */

/* Allocates a closed chunk for the existing data file `path` (copied),
 * with meta_path "<path>.meta"; NULL when out of memory. */
struct sk_chunk *sk_chunk_alloc(const struct sk_chunk_opts *opts, const char *path);

/* A new Fluent::UniqueId from the clock and getrandom(2). */
void sk_chunk_id_generate(uint8_t id[SK_CHUNK_ID_SIZE]);

/* The id for `usec` since the epoch and the given random parts (pure). */
void sk_chunk_id_make(uint8_t id[SK_CHUNK_ID_SIZE], uint64_t usec, uint32_t rand12,
                      uint32_t rand_a, uint32_t rand_b);

/* 32 lower-case hex digits and a NUL. */
void sk_chunk_id_hex(const uint8_t id[SK_CHUNK_ID_SIZE], char hex[SK_CHUNK_ID_HEX_SIZE]);

/* Parses exactly 32 hex digits; 0 or SK_EPARSE. */
int sk_chunk_id_parse(const char *hex, size_t len, uint8_t id[SK_CHUNK_ID_SIZE]) SK_WUR;

/* Microseconds since the epoch encoded in an id (its first 52 bits). */
uint64_t sk_chunk_id_usec(const uint8_t id[SK_CHUNK_ID_SIZE]);

/*
 * The chunk path for `pattern` (its file name holds ".*."; the first one is
 * replaced by ".<state><hex>."), state 'b' or 'q' and a hex id, for the
 * caller to sk_free. SK_EINVAL without ".*." in the file name, SK_ENOMEM.
 */
int sk_chunk_path_make(const char *pattern, char state, const char *hex, char **out) SK_WUR;

/* Packs the meta file bytes (header and map) into `out`: 0, SK_ENOMEM, SK_ETOOBIG. */
int sk_chunk_meta_encode(const struct sk_chunk_meta *m, struct sk_buf *out) SK_WUR;

enum sk_chunk_meta_have {
    SK_META_HAVE_ID = 1u << 0,
    SK_META_HAVE_S = 1u << 1,
    SK_META_HAVE_C = 1u << 2, /* and > 0 */
    SK_META_HAVE_M = 1u << 3, /* and > 0 */
};

/*
 * Decodes meta file bytes (with the 1.7 header, or a bare pre-1.7 map)
 * into *m, which the caller zeroed; *have says which keys were valid.
 * Returns 0 (m owns its strings: sk_chunk_meta_cleanup), SK_EPARSE for
 * bytes that are not a meta map (m untouched), SK_ENOMEM.
 */
int sk_chunk_meta_decode(const char *p, size_t len, struct sk_chunk_meta *m,
                         unsigned int *have) SK_WUR;

/* Frees what *m owns; it is then empty (tag/variables NULL). */
void sk_chunk_meta_cleanup(struct sk_chunk_meta *m);

/* Compresses p[0..n) as one gzip member appended to `out`. 0, SK_ENOMEM, SK_ETOOBIG. */
int sk_chunk_gzip(const char *p, size_t n, struct sk_buf *out) SK_WUR;

/*
 * Inflates the one gzip member at p[0..len), appending it to `out`.
 * Returns 0 and *used (its compressed length) for a whole member,
 * SK_EAGAIN when the member is cut short, SK_EPARSE when it is damaged,
 * SK_ENOMEM, SK_ETOOBIG. `out` keeps its old length on failure.
 */
int sk_chunk_gunzip_member(const char *p, size_t len, struct sk_buf *out, size_t *used) SK_WUR;

/* What walking a chunk's content found. */
struct sk_chunk_scan {
    size_t keep;       /* leading bytes holding whole events (gzip: whole members) */
    uint64_t records;  /* events in them */
    bool gzip;
    bool torn;         /* the bytes after `keep` are one record (or member) cut short */
    bool garbage;      /* the bytes after `keep` are not events (or a damaged member) */
};

/*
 * Walks the data file bytes p[0..len) (plain, or gzip members when they
 * start with 1f 8b): only whole [time, map] events count (time an
 * EventTime ext, int or float). A gzip member must inflate (at most `max`
 * bytes) to whole events, so `keep` is always a member boundary. Returns
 * 0 (then *s says where to cut and why), or SK_ENOMEM.
 */
int sk_chunk_scan(const char *p, size_t len, size_t max, struct sk_chunk_scan *s) SK_WUR;

#endif
