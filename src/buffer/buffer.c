/* Chunk staging, queueing, dispatch and retry for one buffered output. */
#include "buffer/buffer.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buffer/buffer_int.h"
#include "event/event.h"
#include "loop/loop.h"
#include "plugin/plugin.h"
#include "util/alloc.h"
#include "util/buf.h"

void chunk_list_push(struct chunk_list *l, struct chunk *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail != NULL) {
        l->tail->next = c;
    } else {
        l->head = c;
    }
    l->tail = c;
    l->n++;
}

void chunk_list_remove(struct chunk_list *l, struct chunk *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        l->head = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    } else {
        l->tail = c->prev;
    }
    c->prev = c->next = NULL;
    l->n--;
}

static struct chunk *chunk_new(struct sk_buffer *b, const char *tag, int64_t timekey)
{
    struct chunk *c = sk_calloc(1, sizeof(*c));
    struct sk_time now = sk_time_now();
    int rc;

    if (c == NULL) {
        return NULL;
    }
    if (b->key_tag && tag != NULL) {
        c->tag = sk_strdup(tag);
        if (c->tag == NULL) {
            sk_free(c);
            return NULL;
        }
    }
    c->b = b;
    c->timekey = timekey;
    /* Room for a whole chunk plus the largest single event that may exceed it. */
    sk_buf_init(&c->data, b->conf->chunk_limit_size + (64u << 20));
    c->state = CHUNK_STAGED;
    c->created_ms = sk_loop_now_ms(b->loop);
    /* Fluentd's unique id layout: microseconds << 12 | random, then random. */
    snprintf(c->flush.chunk_id, sizeof(c->flush.chunk_id), "%013llx%03llx%016llx",
             (unsigned long long)(now.sec * 1000000 + now.nsec / 1000),
             (unsigned long long)(b->next_id & 0xfff), (unsigned long long)(b->seed ^ b->next_id));
    b->next_id++;
    rc = store_create(b, c);
    if (rc < 0) {
        sk_log_limited(&b->store_log, SK_LOG_ERROR, "%s: cannot create a chunk file: %s",
                       b->out->id, sk_strerror(rc));
        store_free(c);
        return NULL;
    }
    chunk_list_push(&b->staged, c);
    return c;
}

static void schedule(struct sk_buffer *b);

static void enqueue(struct sk_buffer *b, struct chunk *c)
{
    chunk_list_remove(&b->staged, c);
    store_enqueue(b, c);
    c->state = CHUNK_QUEUED;
    c->next_try_ms = 0;
    chunk_list_push(&b->queue, c);
}

static void forget(struct sk_buffer *b, struct chunk *c)
{
    chunk_list_remove(&b->queue, c);
    b->bytes -= c->bytes;
    b->events -= c->count;
    store_free(c);
}

/* Gives a chunk up: its events go to @ERROR (or the error log), counted. */
static void give_up(struct sk_buffer *b, struct chunk *c, const char *why)
{
    const char *tag = c->tag != NULL ? c->tag : "";

    b->stats.events_dropped += c->count;
    sk_log(SK_LOG_ERROR, "%s: giving up chunk %s (%zu events) after %u attempts: %s", b->out->id,
           c->flush.chunk_id, c->count, c->attempts, why);
    if (store_load(b, c) == 0) {
        struct sk_events ev = {tag, chunk_bytes(c), chunk_len(c), c->count};

        if (b->secondary != NULL && sk_output_write(b->secondary, tag, &ev) == 0) {
            sk_log(SK_LOG_WARN, "%s: chunk %s handed to <secondary> %s", b->out->id,
                   c->flush.chunk_id, b->secondary->id);
            store_delete(b, c);
            forget(b, c);
            return;
        }
        (void)sk_emit_error(b->out, tag, &ev, why);
    }
    store_set_aside(b, c);
    forget(b, c);
}

void sk_buffer_set_secondary(struct sk_buffer *b, struct sk_instance *secondary)
{
    b->secondary = secondary;
}

static bool flush_at_shutdown(const struct sk_buffer *b)
{
    return b->conf->flush_at_shutdown == SK_TRUE ||
           (b->conf->flush_at_shutdown == SK_AUTO && b->conf->type == SK_BUFFER_MEMORY);
}

static void dispatch(struct sk_buffer *b)
{
    int64_t now = sk_loop_update_now_ms(b->loop);
    struct chunk *c = b->queue.head;

    if (b->shutting_down && !flush_at_shutdown(b)) {
        return; /* stopping: only the flushes in flight finish; the rest stays on disk */
    }

    while (c != NULL && b->inflight < (size_t)b->conf->flush_thread_count) {
        struct chunk *next = c->next;

        if (c->state == CHUNK_QUEUED && c->next_try_ms <= now) {
            struct sk_flush *f = &c->flush;
            int rc = store_load(b, c);

            if (rc < 0) {
                sk_log_limited(&b->store_log, SK_LOG_ERROR, "%s: cannot read chunk %s: %s",
                               b->out->id, c->flush.chunk_id, sk_strerror(rc));
                c->attempts++;
                c->next_try_ms = now + sk_retry_wait_ms(&b->retry, c->attempts, &b->seed);
                c = next;
                continue;
            }
            c->state = CHUNK_FLUSHING;
            f->ins = b->out;
            f->tag = c->tag;
            f->timekey = c->timekey;
            f->events.tag = c->tag != NULL ? c->tag : "";
            f->events.data = chunk_bytes(c);
            f->events.len = chunk_len(c);
            f->events.count = c->count;
            f->attempt = c->attempts;
            f->priv = c;
            b->inflight++;
            if (b->out->plugin->flush(f) != 0) {
                sk_flush_done(f, SK_FLUSH_RETRY, NULL);
            }
        }
        c = next;
    }
}

/* Queues staged chunks whose time has come. */
static void enqueue_due(struct sk_buffer *b, int64_t now)
{
    time_t wall = time(NULL);
    struct chunk *c = b->staged.head;

    while (c != NULL) {
        struct chunk *next = c->next;
        bool due;

        if (b->flush_mode == SK_FLUSH_MODE_LAZY) {
            due = c->timekey >= 0 &&
                  (int64_t)wall * 1000 >= c->timekey * 1000 + b->conf->timekey_ms +
                                              b->conf->timekey_wait_ms;
        } else {
            due = b->flush_mode == SK_FLUSH_MODE_IMMEDIATE ||
                  now - c->created_ms >= b->conf->flush_interval_ms;
        }
        if (due || b->shutting_down) {
            enqueue(b, c);
        }
        c = next;
    }
}

static void on_timer(struct sk_timer *t, void *arg)
{
    struct sk_buffer *b = arg;

    (void)t;
    enqueue_due(b, sk_loop_update_now_ms(b->loop));
    dispatch(b);
    schedule(b);
}

/* Arms the timer for the earliest thing that will need doing. */
static void schedule(struct sk_buffer *b)
{
    int64_t now = sk_loop_now_ms(b->loop);
    int64_t next = INT64_MAX;

    for (struct chunk *c = b->staged.head; c != NULL; c = c->next) {
        int64_t due;

        if (b->flush_mode == SK_FLUSH_MODE_LAZY) {
            due = now + b->conf->flush_thread_interval_ms; /* wall-clock slices: poll */
        } else {
            due = c->created_ms + b->conf->flush_interval_ms;
        }
        next = due < next ? due : next;
    }
    if (b->inflight < (size_t)b->conf->flush_thread_count) {
        for (struct chunk *c = b->queue.head; c != NULL; c = c->next) {
            if (c->state == CHUNK_QUEUED) {
                next = c->next_try_ms < next ? c->next_try_ms : next;
            }
        }
    }
    if (next == INT64_MAX) {
        sk_timer_stop(b->timer);
        return;
    }
    sk_timer_start(b->timer, next > now ? next - now : 0, 0);
}

void sk_flush_consumed(struct sk_flush *f, size_t upto)
{
    struct chunk *c = f->priv;

    if (c != NULL && c->map != NULL) {
        store_release_mapped(c, upto);
    }
}

void sk_flush_done(struct sk_flush *f, enum sk_flush_result r, const struct sk_events *remaining)
{
    struct chunk *c = f->priv;
    struct sk_buffer *b = c->b;
    int64_t now = sk_loop_update_now_ms(b->loop);

    SK_BUG_ON(c->state != CHUNK_FLUSHING);
    b->inflight--;
    if (r == SK_FLUSH_OK) {
        b->stats.events_flushed += c->count;
        b->stats.chunks_flushed++;
        store_delete(b, c);
        forget(b, c);
        /* The destination takes chunks again. Fluentd keeps one retry state
         * per output and flushes its whole queue now; waiting out each
         * chunk's own backoff would drain a backlog at the pace of
         * retry_max_interval. (Each chunk keeps its attempt count.) */
        for (struct chunk *q = b->queue.head; q != NULL; q = q->next) {
            if (q->state == CHUNK_QUEUED && q->next_try_ms > now) {
                q->next_try_ms = now;
            }
        }
    } else if (r == SK_FLUSH_DROP) {
        c->state = CHUNK_QUEUED;
        give_up(b, c, "the output reported the chunk can never be delivered");
    } else {
        if (remaining != NULL && remaining->count < c->count) {
            /* Shrink the chunk to what is still owed. */
            size_t before = c->bytes;
            size_t before_n = c->count;

            if (store_shrink(b, c, remaining) == 0) {
                b->bytes -= before - c->bytes;
                b->events -= before_n - c->count;
                b->stats.events_flushed += before_n - c->count;
            }
        }
        store_unload(b, c);
        c->state = CHUNK_QUEUED;
        c->attempts++;
        b->stats.retries++;
        if (c->first_fail_ms == 0) {
            c->first_fail_ms = now;
        }
        if (c->count == 0) {
            store_delete(b, c);
            forget(b, c);
        } else if (sk_retry_exhausted(&b->retry, c->attempts, c->first_fail_ms, now)) {
            give_up(b, c, "retry limit reached (retry_timeout / retry_max_times)");
        } else {
            c->next_try_ms = now + sk_retry_wait_ms(&b->retry, c->attempts, &b->seed);
            sk_log(SK_LOG_WARN, "%s: flush of chunk %s failed, retry %u in %lld ms", b->out->id,
                   c->flush.chunk_id, c->attempts, (long long)(c->next_try_ms - now));
        }
    }
    /* Never flush again from inside a flush callback: defer to the loop. */
    sk_timer_start(b->timer, 0, 0);
}

static struct chunk *find_staged(struct sk_buffer *b, const char *tag, int64_t timekey)
{
    for (struct chunk *c = b->staged.head; c != NULL; c = c->next) {
        if (c->timekey != timekey) {
            continue;
        }
        if (!b->key_tag || (c->tag != NULL && tag != NULL && strcmp(c->tag, tag) == 0)) {
            return c;
        }
    }
    return NULL;
}

static bool chunk_full(const struct sk_buffer *b, const struct chunk *c, size_t more, size_t n)
{
    const struct sk_buffer_conf *conf = b->conf;

    if (c->count == 0) {
        return false;
    }
    if (conf->chunk_limit_records > 0 && c->count + n > (size_t)conf->chunk_limit_records) {
        return true;
    }
    return c->bytes + more > conf->chunk_limit_size;
}

/* Remembers a chunk's size before this write first touches it. */
static int undo_note(struct sk_buffer *b, struct chunk *c, bool created)
{
    for (size_t i = 0; i < b->nundo; i++) {
        if (b->undo[i].c == c) {
            return 0;
        }
    }
    if (b->nundo == b->cap_undo) {
        size_t cap = b->cap_undo ? b->cap_undo * 2 : 16;
        struct write_undo *u = sk_realloc(b->undo, cap * sizeof(*u));

        if (u == NULL) {
            return SK_ENOMEM;
        }
        b->undo = u;
        b->cap_undo = cap;
    }
    b->undo[b->nundo++] = (struct write_undo){c, c->bytes, c->count, created};
    return 0;
}

/* Undoes the current write: every chunk back to its size before it. */
static void undo_write(struct sk_buffer *b)
{
    while (b->nundo > 0) {
        struct write_undo *u = &b->undo[--b->nundo];
        struct chunk *c = u->c;

        b->bytes -= c->bytes - u->bytes;
        b->events -= c->count - u->count;
        if (store_truncate(b, c, u->bytes, u->count) < 0) {
            sk_log_limited(&b->store_log, SK_LOG_ERROR, "%s: cannot undo a partial write in "
                           "chunk %s; those events may be sent twice", b->out->id,
                           c->flush.chunk_id);
        }
        c->count = u->count;
        if (u->created && c->count == 0) {
            chunk_list_remove(c->state == CHUNK_STAGED ? &b->staged : &b->queue, c);
            store_delete(b, c);
            store_free(c);
        }
    }
}

static void commit_write(struct sk_buffer *b)
{
    for (size_t i = 0; i < b->nundo; i++) {
        store_commit(b, b->undo[i].c);
    }
    b->nundo = 0;
}

/* Splits a run of `count` events in two halves at an event boundary. */
static size_t half_run(const char *data, size_t len, size_t count)
{
    size_t off = 0;

    for (size_t i = 0; i < count / 2; i++) {
        size_t ev = sk_mp_skip(data + off, len - off);

        if (ev == 0) {
            return 0;
        }
        off += ev;
    }
    return off;
}

/* Appends a run of whole events that share one chunk key. */
static int append_run(struct sk_buffer *b, const char *tag, int64_t timekey, const char *data,
                      size_t len, size_t count)
{
    struct chunk *c;
    size_t before;
    int rc;

    if (count > 1 && (len > b->conf->chunk_limit_size ||
                      (b->conf->chunk_limit_records > 0 &&
                       count > (size_t)b->conf->chunk_limit_records))) {
        size_t first = half_run(data, len, count);

        if (first == 0) {
            return SK_EPARSE;
        }
        rc = append_run(b, tag, timekey, data, first, count / 2);
        return rc < 0 ? rc : append_run(b, tag, timekey, data + first, len - first,
                                        count - count / 2);
    }
    c = find_staged(b, tag, timekey);
    if (c != NULL && chunk_full(b, c, len, count)) {
        enqueue(b, c);
        c = NULL;
    }
    if (c == NULL) {
        c = chunk_new(b, tag, timekey);
        if (c == NULL) {
            return SK_ENOMEM;
        }
        rc = undo_note(b, c, true);
    } else {
        rc = undo_note(b, c, false);
    }
    if (rc < 0) {
        return rc;
    }
    before = c->bytes;
    rc = store_append(b, c, data, len, count);
    if (rc < 0) {
        sk_log_limited(&b->store_log, SK_LOG_ERROR, "%s: cannot append to chunk %s: %s",
                       b->out->id, c->flush.chunk_id, sk_strerror(rc));
        return rc;
    }
    c->count += count;
    b->bytes += c->bytes - before;
    b->events += count;
    if (chunk_full(b, c, 0, 0) ||
        c->bytes >= (size_t)((double)b->conf->chunk_limit_size * b->conf->chunk_full_threshold)) {
        enqueue(b, c);
    }
    return 0;
}

static int64_t timekey_of(const struct sk_buffer *b, const char *event, size_t len)
{
    struct sk_time t;
    int64_t width = b->conf->timekey_ms / 1000;

    if (sk_event_peek_time(event, len, &t) < 0 || width <= 0) {
        return 0;
    }
    /* Local-time slices shift by the zone offset; UTC slices do not. */
    if (!b->conf->timekey_use_utc && width >= 3600) {
        struct tm tm;
        time_t sec = (time_t)t.sec;

        localtime_r(&sec, &tm);
        return ((t.sec + tm.tm_gmtoff) / width) * width - tm.tm_gmtoff;
    }
    return (t.sec / width) * width;
}

/*
 * Fluentd's storable? rule: a write is taken while the buffer is below
 * total_limit_size, even if it ends a little above; so any write can go
 * through once the buffer drains, whatever its size.
 */
static int make_room(struct sk_buffer *b)
{
    if (b->bytes < b->total_limit) {
        return 0;
    }
    b->stats.overflows++;
    if (b->conf->overflow_action == SK_OVERFLOW_DROP_OLDEST) {
        struct chunk *c = b->queue.head;

        while (c != NULL && b->bytes >= b->total_limit) {
            struct chunk *next = c->next;

            if (c->state == CHUNK_QUEUED) {
                b->stats.events_dropped += c->count;
                sk_log(SK_LOG_ERROR,
                       "%s: buffer full (total_limit_size), dropping oldest chunk %s with %zu "
                       "events (overflow_action drop_oldest_chunk)",
                       b->out->id, c->flush.chunk_id, c->count);
                store_delete(b, c);
                forget(b, c);
            }
            c = next;
        }
        if (b->bytes < b->total_limit) {
            return 0;
        }
    }
    sk_log_limited(&b->drop_log, SK_LOG_WARN,
                   "%s: buffer full (%llu of %llu bytes); input waits until it drains",
                   b->out->id, (unsigned long long)b->bytes, (unsigned long long)b->total_limit);
    return SK_EFULL;
}

int sk_buffer_write(struct sk_buffer *b, const char *tag, const char *data, size_t len,
                    size_t count)
{
    size_t off = 0;
    int rc = make_room(b);

    if (rc < 0) {
        return rc;
    }
    b->stats.events_in += count;
    if (!b->key_time) {
        rc = append_run(b, tag, -1, data, len, count);
    }
    /* With a time key, cut the batch into runs of equal timekey. */
    while (b->key_time && off < len && rc == 0) {
        size_t start = off;
        size_t n = 0;
        int64_t key = timekey_of(b, data + off, len - off);

        while (off < len) {
            size_t ev = sk_mp_skip(data + off, len - off);

            if (ev == 0) {
                rc = SK_EPARSE;
                break;
            }
            if (n > 0 && timekey_of(b, data + off, len - off) != key) {
                break;
            }
            off += ev;
            n++;
        }
        if (rc == 0) {
            rc = append_run(b, tag, key, data + start, off - start, n);
        }
    }
    if (rc < 0) {
        /* All or nothing: the input keeps the events and offers them again
         * (storage trouble such as a full disk), so nothing is lost and
         * nothing is taken twice. */
        undo_write(b);
        b->stats.events_in -= count;
        if (rc != SK_EPARSE) {
            b->stats.overflows++;
            rc = SK_EFULL;
        }
        return rc;
    }
    commit_write(b);
    if (rc == 0) {
        if (b->flush_mode == SK_FLUSH_MODE_IMMEDIATE) {
            enqueue_due(b, sk_loop_now_ms(b->loop));
        }
        if (b->queue.n > 0) {
            dispatch(b);
        }
        /* Always: a new chunk may be due before a retry the timer waits for. */
        schedule(b);
    }
    return rc;
}

static bool has_key(const char *keys, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = keys; p != NULL && *p != '\0';) {
        size_t len;

        p += strspn(p, " \t,");
        len = strcspn(p, " \t,");
        if (len == n && strncmp(p, name, n) == 0) {
            return true;
        }
        p += len;
    }
    return false;
}

struct sk_buffer *sk_buffer_create(struct sk_instance *out, const struct sk_buffer_conf *conf,
                                   const char *chunk_keys, struct sk_loop *loop,
                                   const char *root_dir, struct sk_diag *d, const char *file,
                                   int line)
{
    struct sk_buffer *b = sk_calloc(1, sizeof(*b));
    struct sk_time now = sk_time_now();

    if (b == NULL) {
        return NULL;
    }
    b->out = out;
    b->conf = conf;
    b->loop = loop;
    b->key_tag = has_key(chunk_keys, "tag");
    b->key_time = has_key(chunk_keys, "time");
    if (b->key_time && conf->timekey_ms <= 0) {
        sk_diag_add(d, SK_DIAG_ERROR, file, line, "<buffer>",
                    "'timekey' parameter is required for the time chunk key");
        sk_free(b);
        return NULL;
    }
    b->flush_mode = conf->flush_mode;
    if (b->flush_mode == SK_FLUSH_MODE_DEFAULT) {
        b->flush_mode = b->key_time ? SK_FLUSH_MODE_LAZY : SK_FLUSH_MODE_INTERVAL;
    }
    b->total_limit = conf->total_limit_size;
    if (conf->queue_limit_length > 0) {
        /* v0.12 meaning: the queue holds this many full chunks. */
        b->total_limit = conf->chunk_limit_size * (uint64_t)conf->queue_limit_length;
    }
    b->retry.type = conf->retry_type == 1 ? SK_RETRY_PERIODIC : SK_RETRY_EXPONENTIAL;
    b->retry.wait_ms = conf->retry_wait_ms;
    b->retry.base = conf->retry_exponential_backoff_base;
    b->retry.max_interval_ms = conf->retry_max_interval_ms;
    b->retry.randomize = conf->retry_randomize;
    b->retry.timeout_ms = conf->retry_timeout_ms;
    b->retry.max_times = conf->retry_max_times;
    b->retry.forever = conf->retry_forever;
    b->seed = (uint64_t)now.sec * 1000000007ull ^ now.nsec ^ (uint64_t)(uintptr_t)b;
    b->drop_log = (struct sk_log_limit)SK_LOG_LIMIT_INIT(10000, 1);
    b->store_log = (struct sk_log_limit)SK_LOG_LIMIT_INIT(10000, 3);
    b->timer = sk_timer_create(loop, on_timer, b);
    if (b->timer == NULL || store_open(b, root_dir, out->id, d, file, line) < 0) {
        sk_buffer_destroy(b);
        return NULL;
    }
    if (b->queue.n > 0) {
        sk_timer_start(b->timer, 0, 0); /* resumed chunks: flush once running */
    }
    return b;
}

void sk_buffer_flush_now(struct sk_buffer *b)
{
    while (b->staged.head != NULL) {
        enqueue(b, b->staged.head);
    }
    for (struct chunk *c = b->queue.head; c != NULL; c = c->next) {
        c->next_try_ms = 0;
    }
    sk_timer_start(b->timer, 0, 0);
}

void sk_buffer_begin_shutdown(struct sk_buffer *b)
{
    b->shutting_down = true;
    if (flush_at_shutdown(b)) {
        sk_buffer_flush_now(b);
    }
}

bool sk_buffer_settled(const struct sk_buffer *b)
{
    int64_t now = sk_loop_now_ms(b->loop);

    if (b->inflight > 0) {
        return false;
    }
    if (b->shutting_down && !flush_at_shutdown(b)) {
        return true; /* what is queued waits on disk for the next start */
    }
    for (const struct chunk *c = b->queue.head; c != NULL; c = c->next) {
        if (c->next_try_ms <= now || c->attempts == 0) {
            return false;
        }
    }
    return true;
}

const char *sk_buffer_dir(const struct sk_buffer *b)
{
    return b->chunk_dir;
}

bool sk_buffer_persistent(const struct sk_buffer *b)
{
    return b->persistent;
}

uint64_t sk_buffer_pending_events(const struct sk_buffer *b)
{
    return b->events;
}

const struct sk_buffer_stats *sk_buffer_stats(const struct sk_buffer *b)
{
    return &b->stats;
}

void sk_buffer_destroy(struct sk_buffer *b)
{
    if (b == NULL) {
        return;
    }
    SK_BUG_ON(b->inflight > 0);
    store_close(b);
    sk_free(b->undo);
    while (b->staged.head != NULL) {
        struct chunk *c = b->staged.head;

        chunk_list_remove(&b->staged, c);
        store_free(c);
    }
    while (b->queue.head != NULL) {
        struct chunk *c = b->queue.head;

        chunk_list_remove(&b->queue, c);
        store_free(c);
    }
    sk_timer_destroy(b->timer);
    sk_free(b);
}
