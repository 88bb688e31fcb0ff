#ifndef SK_BUFFER_BUFFER_INT_H
#define SK_BUFFER_BUFFER_INT_H

/* Buffer internals shared by buffer.c (scheduling) and buffer_store.c
 * (where chunk bytes live: memory, or td-agent-format files). */
#include "buffer/buffer.h"
#include "buffer/chunk_file.h"
#include "buffer/chunk_recover.h"
#include "log/log.h"
#include "plugin/plugin.h"
#include "util/buf.h"

enum chunk_state { CHUNK_STAGED, CHUNK_QUEUED, CHUNK_FLUSHING };

struct chunk {
    struct chunk *prev;
    struct chunk *next;
    struct sk_buffer *b;
    char *tag;                /* owned, NULL without a tag chunk key */
    int64_t timekey;          /* -1 without a time chunk key */
    struct sk_buf data;       /* memory: the events; file: read back while flushing */
    const char *map;          /* file: mapped while flushing (instead of data), or NULL */
    size_t map_len;
    size_t map_released;      /* bytes of the mapping given back (store_release_mapped) */
    struct sk_chunk *file;    /* owned; NULL for memory chunks */
    size_t bytes;             /* size of the event stream held */
    size_t count;
    enum chunk_state state;
    int64_t created_ms;       /* loop time */
    unsigned int attempts;
    int64_t first_fail_ms;
    int64_t next_try_ms;
    struct sk_flush flush;
};

/* The chunk's event stream while it is loaded (store_load). */
static inline const char *chunk_bytes(const struct chunk *c)
{
    return c->map != NULL ? c->map : c->data.data;
}

static inline size_t chunk_len(const struct chunk *c)
{
    return c->map != NULL ? c->map_len : c->data.len;
}

struct chunk_list {
    struct chunk *head;
    struct chunk *tail;
    size_t n;
};

/* What one write changed, so a write that cannot be taken whole is undone
 * and the input can offer it again without duplicates. */
struct write_undo {
    struct chunk *c;
    size_t bytes;
    size_t count;
    bool created;
};

struct sk_buffer {
    struct sk_instance *out;           /* borrowed */
    const struct sk_buffer_conf *conf; /* borrowed */
    struct sk_loop *loop;              /* borrowed */
    bool key_tag;
    bool key_time;
    int flush_mode;
    uint64_t total_limit;
    struct chunk_list staged;
    struct chunk_list queue;           /* queued and flushing, oldest first */
    size_t inflight;
    uint64_t bytes;
    uint64_t events;
    struct sk_timer *timer;
    struct sk_retry_policy retry;
    uint64_t seed;
    uint64_t next_id;
    bool shutting_down;
    struct sk_buffer_stats stats;
    struct sk_log_limit drop_log;
    struct sk_log_limit store_log;
    struct sk_instance *secondary;     /* borrowed: <secondary>, or NULL */
    struct write_undo *undo;           /* owned */
    size_t nundo;
    size_t cap_undo;
    /* file storage */
    bool persistent;
    struct sk_chunk_opts opts;
    struct sk_chunk_paths paths;       /* owned */
    char *failed_dir;                  /* owned: <chunk dir>/failed */
    char *chunk_dir;                   /* owned */
};

void chunk_list_push(struct chunk_list *l, struct chunk *c);
void chunk_list_remove(struct chunk_list *l, struct chunk *c);

/* buffer_store.c: each returns 0 or an SK_E* code and logs nothing the
 * caller would log again. */
int store_open(struct sk_buffer *b, const char *root_dir, const char *plugin_id,
               struct sk_diag *d, const char *file, int line);
void store_close(struct sk_buffer *b);
int store_create(struct sk_buffer *b, struct chunk *c);
int store_append(struct sk_buffer *b, struct chunk *c, const char *data, size_t len,
                 size_t count);
void store_commit(struct sk_buffer *b, struct chunk *c);
int store_truncate(struct sk_buffer *b, struct chunk *c, size_t bytes, size_t count);
void store_enqueue(struct sk_buffer *b, struct chunk *c);
int store_load(struct sk_buffer *b, struct chunk *c);
void store_unload(struct sk_buffer *b, struct chunk *c);
/* Gives back the mapped pages before `upto` (sk_flush_consumed). */
void store_release_mapped(struct chunk *c, size_t upto);
int store_shrink(struct sk_buffer *b, struct chunk *c, const struct sk_events *remaining);
void store_delete(struct sk_buffer *b, struct chunk *c);
void store_set_aside(struct sk_buffer *b, struct chunk *c);
void store_free(struct chunk *c);

#endif
