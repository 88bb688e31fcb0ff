#ifndef SK_BUFFER_BUFFER_H
#define SK_BUFFER_BUFFER_H

#include <stdbool.h>
#include <stdint.h>

#include "config/diag.h"
#include "param/param.h"
#include "retry/retry.h"
#include "util/err.h"

/*
 * The buffer in front of every buffered output, with Fluentd's meaning:
 * events are appended to a staged chunk per chunk key (tag, timekey), a
 * chunk is queued when full or when its flush time comes, queued chunks
 * are handed to the output oldest first (flush_thread_count at a time),
 * and a failed chunk waits with backoff on its own, so one bad chunk does
 * not hold the others back.
 *
 *   write ──▶ [staged b] ──full / flush_interval / timekey──▶ [queued q]
 *                                                        │ dispatch
 *                        retry (backoff) ◀──RETRY── [flushing] ──OK──▶ freed
 */
struct sk_instance;
struct sk_loop;
struct sk_buffer;

enum sk_buffer_type { SK_BUFFER_MEMORY, SK_BUFFER_FILE };
enum sk_flush_mode { SK_FLUSH_MODE_DEFAULT, SK_FLUSH_MODE_LAZY, SK_FLUSH_MODE_INTERVAL,
                     SK_FLUSH_MODE_IMMEDIATE };
enum sk_overflow { SK_OVERFLOW_THROW, SK_OVERFLOW_BLOCK, SK_OVERFLOW_DROP_OLDEST };
enum sk_tristate { SK_AUTO, SK_FALSE, SK_TRUE };

struct sk_buffer_conf {
    int type;                       /* enum sk_buffer_type */
    char *path;
    char *path_suffix;
    uint64_t chunk_limit_size;
    int64_t chunk_limit_records;
    uint64_t total_limit_size;
    int64_t queue_limit_length;
    int64_t queued_chunks_limit_size;
    int compress;                   /* 0 text, 1 gzip */
    int flush_mode;                 /* enum sk_flush_mode */
    int64_t flush_interval_ms;
    int64_t flush_thread_count;
    int64_t flush_thread_interval_ms;
    int64_t flush_thread_burst_interval_ms;
    int flush_at_shutdown;          /* enum sk_tristate */
    int64_t delayed_commit_timeout_ms;
    int retry_type;                 /* enum sk_retry_type */
    int64_t retry_wait_ms;
    double retry_exponential_backoff_base;
    int64_t retry_max_interval_ms;
    bool retry_randomize;
    int64_t retry_timeout_ms;
    int64_t retry_max_times;
    bool retry_forever;
    double retry_secondary_threshold;
    int overflow_action;            /* enum sk_overflow */
    int64_t timekey_ms;
    int64_t timekey_wait_ms;
    bool timekey_use_utc;
    char *timekey_zone;
    double chunk_full_threshold;
    int fsync;                      /* enum sk_chunk_sync: none, commit, append */
};

extern const struct sk_param_def sk_buffer_params[];

/* v0.12 parameters written directly in <match> that mean buffer settings:
 * {old name, <buffer> name}, NULL-terminated. The engine moves them. */
extern const char *const sk_buffer_v012_names[][2];

struct sk_buffer_stats {
    uint64_t events_in;
    uint64_t events_flushed;
    uint64_t events_dropped;    /* given up on: logged, sent to @ERROR */
    uint64_t chunks_flushed;
    uint64_t retries;
    uint64_t overflows;
    uint64_t bytes_queued;      /* current, staged + queued */
};

/*
 * Creates the buffer of output `out` (conf and chunk_keys borrowed for the
 * buffer's lifetime). `chunk_keys` is the <buffer> argument ("tag,time").
 * A file buffer resumes the chunks it finds (td-agent's or skiff's) and
 * queues them; `root_dir` (<system>) places it when `path` is not set.
 * Returns NULL after adding the reason to d.
 */
struct sk_buffer *sk_buffer_create(struct sk_instance *out, const struct sk_buffer_conf *conf,
                                   const char *chunk_keys, struct sk_loop *loop,
                                   const char *root_dir, struct sk_diag *d, const char *file,
                                   int line);

/* The directory of a file buffer's chunks (for files kept beside them),
 * or NULL for a memory buffer. Borrowed. */
const char *sk_buffer_dir(const struct sk_buffer *b);

/* Chunks given up on (retry limits, unrecoverable) are handed to this
 * output (<secondary>) before @ERROR / failed/. Borrowed. */
void sk_buffer_set_secondary(struct sk_buffer *b, struct sk_instance *secondary);

/* True for a file buffer: what it holds survives a stop or a crash. */
bool sk_buffer_persistent(const struct sk_buffer *b);

/* Appends events; 0, or SK_EFULL when the overflow action refuses them. */
int sk_buffer_write(struct sk_buffer *b, const char *tag, const char *data, size_t len,
                    size_t count) SK_WUR;

/* SIGUSR1: queue every staged chunk and try every queued one now. */
void sk_buffer_flush_now(struct sk_buffer *b);

/* Stop: queue everything when flush_at_shutdown; no new writes arrive. */
void sk_buffer_begin_shutdown(struct sk_buffer *b);

/* True when nothing more will happen before a retry wait (or ever). */
bool sk_buffer_settled(const struct sk_buffer *b);

/* Events still held (staged + queued + flushing). */
uint64_t sk_buffer_pending_events(const struct sk_buffer *b);

const struct sk_buffer_stats *sk_buffer_stats(const struct sk_buffer *b);

void sk_buffer_destroy(struct sk_buffer *b);

#endif
