/*
 * Where a buffer's chunk bytes live. Memory chunks keep their events in
 * c->data. File chunks keep them in td-agent-format files (chunk_file.h)
 * and map them (c->map; c->data for gzip chunks) only while a flush is in
 * flight, so a long backlog costs disk, not memory, and a flush reads the
 * page cache in place.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer/buffer_int.h"
#include "util/alloc.h"

/* Largest chunk read back for a flush; bigger ones are chunk_limit_size misuse. */
#define STORE_MAX_CHUNK (512u << 20)

static void load_recovered(struct sk_buffer *b, struct sk_chunk **chunks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct sk_chunk *f = chunks[i];
        struct chunk *c = sk_calloc(1, sizeof(*c));

        if (c == NULL) {
            continue; /* stays on disk for the next start */
        }
        chunks[i] = NULL;
        c->b = b;
        c->file = f;
        c->tag = f->meta.tag != NULL ? sk_strdup(f->meta.tag) : NULL;
        c->timekey = f->meta.timekey;
        c->count = f->meta.records;
        c->bytes = f->bytes;
        sk_buf_init(&c->data, STORE_MAX_CHUNK);
        snprintf(c->flush.chunk_id, sizeof(c->flush.chunk_id), "%s", f->id_hex);
        if (f->state == SK_CHUNK_STAGED && sk_chunk_enqueue(f) < 0) {
            sk_log(SK_LOG_WARN, "%s: cannot queue recovered chunk %s; flushing it anyway",
                   b->out->id, f->path);
        }
        sk_chunk_release(f);
        c->state = CHUNK_QUEUED;
        chunk_list_push(&b->queue, c);
        b->bytes += c->bytes;
        b->events += c->count;
        if (c->tag == NULL && b->key_tag) {
            sk_log(SK_LOG_WARN, "%s: chunk %s has no tag (its .meta was lost); its events "
                   "are delivered with an empty tag", b->out->id, f->id_hex);
        }
    }
}

static void log_report(const struct sk_buffer *b, const struct sk_recover_report *r)
{
    if (r->staged + r->queued > 0) {
        sk_log(SK_LOG_INFO, "%s: resumed %zu chunks (%llu events, %llu bytes) from %s",
               b->out->id, r->staged + r->queued, (unsigned long long)r->records,
               (unsigned long long)r->bytes, b->paths.pattern);
    }
    if (r->torn > 0) {
        sk_log(SK_LOG_WARN, "%s: cut a torn last record off %zu chunks (%llu bytes): an "
               "interrupted write; the event was not acknowledged to its input",
               b->out->id, r->torn, (unsigned long long)r->torn_bytes);
    }
    if (r->meta_rebuilt + r->legacy + r->count_fixed > 0) {
        sk_log(SK_LOG_WARN, "%s: rebuilt metadata of %zu chunks from their data (%zu v0.12, "
               "%zu with a wrong count)", b->out->id, r->meta_rebuilt, r->legacy,
               r->count_fixed);
    }
    if (r->corrupt + r->backed_up > 0) {
        sk_log(SK_LOG_WARN, "%s: %zu damaged chunks: unreadable parts copied to the backup "
               "directory, readable events kept", b->out->id, r->corrupt + r->backed_up);
    }
    if (r->failed > 0) {
        sk_log(SK_LOG_ERROR, "%s: %zu chunks could not be read; left in place for the next "
               "start", b->out->id, r->failed);
    }
}

int store_open(struct sk_buffer *b, const char *root_dir, const char *plugin_id,
               struct sk_diag *d, const char *file, int line)
{
    const struct sk_buffer_conf *conf = b->conf;
    struct sk_chunk_path_conf pc = {conf->path, conf->path_suffix, root_dir, plugin_id, 0, 1};
    struct sk_chunk_set set = {0};
    struct sk_recover_report rep = {0};
    struct sk_buf dir;
    char *slash;
    int rc;

    b->persistent = conf->type == SK_BUFFER_FILE;
    if (!b->persistent) {
        return 0;
    }
    b->opts.sync = (enum sk_chunk_sync)conf->fsync;
    b->opts.gzip = conf->compress == 1;
    rc = sk_chunk_paths_resolve(&pc, &b->paths);
    if (rc == SK_ECONFIG) {
        sk_diag_add(d, SK_DIAG_ERROR, file, line, "<buffer>",
                    "@type file needs 'path' (or <system> root_dir and @id)");
        return rc;
    }
    if (rc < 0) {
        return rc;
    }
    sk_buf_init(&dir, 8192);
    rc = sk_buf_append_str(&dir, b->paths.pattern);
    slash = dir.data != NULL ? strrchr(dir.data, '/') : NULL;
    if (rc == 0 && slash != NULL) {
        dir.len = (size_t)(slash - dir.data);
        b->chunk_dir = sk_strndup(dir.data, dir.len);
        rc = b->chunk_dir != NULL ? sk_buf_append_str(&dir, "/failed") : SK_ENOMEM;
    }
    if (rc == 0) {
        b->failed_dir = sk_buf_take(&dir, NULL);
    }
    sk_buf_cleanup(&dir);
    if (rc < 0 || b->failed_dir == NULL) {
        return rc < 0 ? rc : SK_ENOMEM;
    }
    rc = sk_chunk_recover(&b->opts, &b->paths, NULL, &set, &rep);
    if (rc < 0) {
        sk_diag_add(d, SK_DIAG_ERROR, file, line, "<buffer>",
                    "cannot read the buffer directory of %s: %s", b->paths.pattern,
                    sk_strerror(rc));
        return rc;
    }
    load_recovered(b, set.staged, set.n_staged);
    load_recovered(b, set.queued, set.n_queued);
    sk_chunk_set_cleanup(&set);
    log_report(b, &rep);
    return 0;
}

void store_close(struct sk_buffer *b)
{
    sk_chunk_paths_cleanup(&b->paths);
    sk_free(b->failed_dir);
    sk_free(b->chunk_dir);
    b->failed_dir = NULL;
    b->chunk_dir = NULL;
}

int store_create(struct sk_buffer *b, struct chunk *c)
{
    struct sk_chunk_key key = {c->tag, c->timekey, NULL, 0};
    int rc;

    if (!b->persistent) {
        return 0;
    }
    rc = sk_chunk_create(&b->opts, b->paths.pattern, &key, &c->file);
    if (rc == 0) {
        snprintf(c->flush.chunk_id, sizeof(c->flush.chunk_id), "%s", c->file->id_hex);
    }
    return rc;
}

int store_append(struct sk_buffer *b, struct chunk *c, const char *data, size_t len,
                 size_t count)
{
    int rc;

    if (!b->persistent) {
        rc = sk_buf_append(&c->data, data, len);
        if (rc == 0) {
            c->bytes = c->data.len;
        }
        return rc;
    }
    /* Write-ahead: once this returns 0 the events are in the chunk file. */
    rc = sk_chunk_append(c->file, data, len, count);
    if (rc == 0) {
        c->bytes = c->file->bytes;
    }
    return rc;
}

void store_commit(struct sk_buffer *b, struct chunk *c)
{
    int rc;

    if (!b->persistent) {
        return;
    }
    rc = sk_chunk_commit(c->file);
    if (rc < 0) {
        /* The data is there; only the meta's count lags (recovery counts). */
        sk_log_limited(&b->store_log, SK_LOG_WARN, "%s: chunk %s: meta update failed: %s",
                       b->out->id, c->file->id_hex, sk_strerror(rc));
    }
    if (c->state != CHUNK_STAGED) {
        sk_chunk_release(c->file);
    }
}

int store_truncate(struct sk_buffer *b, struct chunk *c, size_t bytes, size_t count)
{
    if (!b->persistent) {
        c->data.len = bytes;
        if (c->data.data != NULL) {
            c->data.data[bytes] = '\0';
        }
        c->bytes = bytes;
        return 0;
    }
    c->bytes = bytes;
    return sk_chunk_truncate(c->file, bytes, count);
}

void store_enqueue(struct sk_buffer *b, struct chunk *c)
{
    int rc;

    if (!b->persistent) {
        return;
    }
    rc = sk_chunk_enqueue(c->file);
    if (rc < 0) {
        /* Still flushed from memory bookkeeping; a restart queues the .b file. */
        sk_log_limited(&b->store_log, SK_LOG_WARN, "%s: cannot rename chunk %s to queued: %s",
                       b->out->id, c->file->id_hex, sk_strerror(rc));
    }
    sk_chunk_release(c->file);
}

int store_load(struct sk_buffer *b, struct chunk *c)
{
    int rc;

    if (!b->persistent) {
        return 0;
    }
    store_unload(b, c);
    rc = sk_chunk_map(c->file, &c->map, &c->map_len);
    if (rc < 0) {
        c->map = NULL;
        rc = sk_chunk_read(c->file, &c->data); /* gzip, empty, or no mmap */
    }
    sk_chunk_release(c->file);
    return rc;
}

void store_release_mapped(struct chunk *c, size_t upto)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t end = upto < c->map_len ? upto : c->map_len;

    end -= end % page;
    if (end > c->map_released) {
        /* A private read-only file mapping: the pages go, the bytes stay. */
        (void)madvise((char *)(uintptr_t)c->map + c->map_released, end - c->map_released,
                      MADV_DONTNEED);
        c->map_released = end;
    }
}

void store_unload(struct sk_buffer *b, struct chunk *c)
{
    if (b->persistent) {
        /* a backlog lives on disk, not in memory */
        sk_chunk_unmap(c->map, c->map_len);
        c->map = NULL;
        c->map_len = 0;
        c->map_released = 0;
        sk_buf_cleanup(&c->data);
    }
}

int store_shrink(struct sk_buffer *b, struct chunk *c, const struct sk_events *remaining)
{
    int rc;

    if (!b->persistent) {
        memmove(c->data.data, remaining->data, remaining->len);
        c->data.len = remaining->len;
        c->bytes = remaining->len;
        c->count = remaining->count;
        return 0;
    }
    rc = sk_chunk_shrink(c->file, remaining->data, remaining->len, remaining->count);
    sk_chunk_release(c->file);
    if (rc < 0) {
        return rc; /* the whole chunk stays: duplicates, never loss */
    }
    c->bytes = c->file->bytes;
    c->count = remaining->count;
    return 0;
}

void store_delete(struct sk_buffer *b, struct chunk *c)
{
    int rc;

    if (!b->persistent) {
        return;
    }
    rc = sk_chunk_purge(c->file);
    if (rc < 0) {
        sk_log(SK_LOG_WARN, "%s: delivered chunk %s could not be deleted (%s): it would be "
               "sent again after a restart", b->out->id, c->file->id_hex, sk_strerror(rc));
    }
}

/* Moves a chunk that will not be retried to failed/ instead of deleting it. */
void store_set_aside(struct sk_buffer *b, struct chunk *c)
{
    char dst[4096];
    const char *base;
    int n;

    if (!b->persistent) {
        return;
    }
    sk_chunk_release(c->file);
    if (mkdir(b->failed_dir, 0700) < 0 && errno != EEXIST) {
        sk_log(SK_LOG_ERROR, "%s: cannot create %s: %s; chunk %s stays queued on disk",
               b->out->id, b->failed_dir, strerror(errno), c->file->path);
        return;
    }
    base = strrchr(c->file->path, '/');
    base = base != NULL ? base + 1 : c->file->path;
    n = snprintf(dst, sizeof(dst), "%s/%s", b->failed_dir, base);
    if (n > 0 && (size_t)n < sizeof(dst) && rename(c->file->path, dst) == 0) {
        n = snprintf(dst, sizeof(dst), "%s/%s.meta", b->failed_dir, base);
        if (n > 0 && (size_t)n < sizeof(dst)) {
            (void)rename(c->file->meta_path, dst);
        }
        sk_log(SK_LOG_ERROR, "%s: chunk %s kept in %s", b->out->id, c->file->id_hex,
               b->failed_dir);
        return;
    }
    sk_log(SK_LOG_ERROR, "%s: cannot move chunk %s to %s: %s", b->out->id, c->file->path,
           b->failed_dir, strerror(errno));
}

void store_free(struct chunk *c)
{
    if (c == NULL) {
        return;
    }
    sk_chunk_unmap(c->map, c->map_len);
    sk_chunk_destroy(c->file);
    sk_free(c->tag);
    sk_buf_cleanup(&c->data);
    sk_free(c);
}
