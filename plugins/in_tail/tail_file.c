/* One tailed file: read, split into lines, parse, emit, remember the offset. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "in_tail/tail.h"
#include "loop/loop.h"
#include "parser/parser_multiline.h"

#define TAIL_READ_SIZE (256u * 1024)
#define TAIL_BATCH_BYTES (1u << 20)

static char *expand_tag(const char *tag, const char *path)
{
    const char *star = strchr(tag, '*');
    struct sk_buf out;
    const char *p = path;

    if (star == NULL) {
        return sk_strdup(tag);
    }
    sk_buf_init(&out, 8192);
    while (*p == '/') {
        p++;
    }
    if (sk_buf_append(&out, tag, (size_t)(star - tag)) < 0) {
        goto fail;
    }
    for (; *p != '\0'; p++) {
        if (sk_buf_putc(&out, *p == '/' ? '.' : *p) < 0) {
            goto fail;
        }
    }
    if (sk_buf_append_str(&out, star + 1) < 0) {
        goto fail;
    }
    return sk_buf_take(&out, NULL);
fail:
    sk_buf_cleanup(&out);
    return NULL;
}

/* Keeps the first bytes of the file as its fingerprint (copytruncate). */
static void capture_head(struct tail_file *f)
{
    ssize_t n;

    if (f->head_len == sizeof(f->head)) {
        return;
    }
    n = pread(f->fd, f->head, sizeof(f->head), 0);
    if (n > 0 && (size_t)n >= f->head_len) {
        f->head_len = (size_t)n;
    }
}

struct tail_file *tail_file_open(struct tail *t, const char *path, bool from_head)
{
    const struct tail_conf *conf = t->conf;
    struct tail_file *f = sk_calloc(1, sizeof(*f));
    struct tail_pos_entry *e;
    struct stat st;

    if (f == NULL) {
        return NULL;
    }
    f->t = t;
    f->fd = -1;
    f->path = sk_strdup(path);
    f->tag = expand_tag(conf->tag, path);
    sk_buf_init(&f->pending, conf->max_line_size + TAIL_READ_SIZE);
    sk_buf_init(&f->block, conf->max_line_size);
    if (f->path == NULL || f->tag == NULL) {
        goto fail;
    }
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0 || fstat(f->fd, &st) < 0) {
        if (errno != ENOENT) { /* a path between rename and create is normal */
            sk_log(SK_LOG_WARN, "%s: cannot open %s: %s", t->ins->id, path, strerror(errno));
        }
        goto fail;
    }
    f->inode = (uint64_t)st.st_ino;
    e = t->has_pos ? tail_pos_find(&t->pos, path) : NULL;
    if (e != NULL && e->inode == f->inode) {
        /* Resume; a file now shorter than the offset was truncated. */
        f->acked = e->offset <= (uint64_t)st.st_size ? e->offset : 0;
    } else if (e != NULL && e->inode != 0) {
        f->acked = 0; /* rotated while we were down: the new file from its start */
    } else {
        f->acked = (from_head || conf->read_from_head) ? 0 : (uint64_t)st.st_size;
    }
    f->read_off = f->acked;
    if (lseek(f->fd, (off_t)f->acked, SEEK_SET) < 0) {
        goto fail;
    }
    if (t->has_pos && tail_pos_update(&t->pos, path, f->acked, f->inode) < 0) {
        sk_log(SK_LOG_ERROR, "%s: cannot write pos_file %s", t->ins->id, t->pos.path);
    }
    capture_head(f);
    sk_log(SK_LOG_INFO, "%s: following tail of %s (from offset %llu)", t->ins->id, path,
           (unsigned long long)f->acked);
    return f;
fail:
    tail_file_close(f);
    return NULL;
}

void tail_file_close(struct tail_file *f)
{
    if (f == NULL) {
        return;
    }
    if (f->fd >= 0) {
        close(f->fd);
    }
    sk_buf_cleanup(&f->pending);
    sk_buf_cleanup(&f->block);
    sk_free(f->path);
    sk_free(f->tag);
    sk_free(f);
}

/* Wraps an unparsable line as {"unmatched_line": line} (Fluentd's shape). */
static int pack_unmatched(struct sk_evbuf *eb, const char *line, size_t len)
{
    size_t mark = eb->buf.len;
    int rc = sk_evbuf_begin(eb, sk_time_now());

    if (rc == 0) {
        rc = msgpack_pack_map(&eb->pk, 1);
    }
    if (rc == 0) {
        rc = sk_pack_kv_str(&eb->pk, "unmatched_line", 14, line, len);
    }
    if (rc < 0) {
        sk_evbuf_rollback(eb, mark);
        return rc;
    }
    sk_evbuf_commit(eb);
    return 0;
}

static int handle_line(struct tail_file *f, const char *line, size_t len)
{
    struct tail *t = f->t;
    size_t mark;
    int rc;

    if (len > 0 && line[len - 1] == '\r') {
        len--; /* chomp: "\r\n" as well as "\n" */
    }
    t->lines++;
    mark = t->events.buf.len;
    rc = sk_parser_parse(t->parser, line, len, &t->events);
    if (rc == 0 && t->conf->path_key != NULL) {
        rc = sk_evbuf_add_field(&t->events, mark, t->conf->path_key,
                                strlen(t->conf->path_key), f->path, strlen(f->path));
        if (rc < 0) {
            sk_evbuf_rollback(&t->events, mark);
            t->events.count--;
        }
    }
    if (rc == SK_EPARSE) {
        t->unmatched++;
        sk_log_limited(&t->unmatched_log, SK_LOG_WARN, "%s: pattern not matched: \"%.*s\"",
                       t->ins->id, (int)(len > 512 ? 512 : len), line);
        rc = pack_unmatched(t->conf->emit_unmatched_lines ? &t->events : &t->errors, line, len);
    }
    return rc;
}

/* Hands the batch to the router; on success the offset may advance. */
static int flush_batch(struct tail_file *f, uint64_t consumed_to)
{
    struct tail *t = f->t;
    struct sk_events ev = {f->tag, t->events.buf.data, t->events.buf.len, t->events.count};
    struct sk_events err = {f->tag, t->errors.buf.data, t->errors.buf.len, t->errors.count};
    int rc = 0;

    if (ev.count > 0) {
        rc = sk_emit(t->ins, f->tag, &ev);
    }
    if (rc == SK_EFULL) {
        return rc;
    }
    if (rc < 0) {
        sk_log(SK_LOG_ERROR, "%s: emit failed: %s; will read again", t->ins->id,
               sk_strerror(rc));
        return SK_EFULL; /* never advance past events nobody took */
    }
    if (err.count > 0) {
        (void)sk_emit_error(t->ins, f->tag, &err, "pattern not matched");
    }
    sk_evbuf_reset(&t->events);
    sk_evbuf_reset(&t->errors);
    f->acked = consumed_to;
    if (t->has_pos && !f->no_pos && tail_pos_update(&t->pos, f->path, f->acked, f->inode) < 0) {
        sk_log(SK_LOG_ERROR, "%s: cannot write pos_file %s", t->ins->id, t->pos.path);
    }
    return 0;
}

/* Multiline: parses the gathered block (one final terminator removed). */
static int parse_block(struct tail_file *f)
{
    size_t len = f->block.len;
    int rc;

    if (len == 0) {
        return 0;
    }
    if (f->block.data[len - 1] == '\n') {
        len--;
    }
    if (len > 0 && f->block.data[len - 1] == '\r') {
        len--;
    }
    rc = handle_line(f, f->block.data, len);
    sk_buf_reset(&f->block);
    return rc;
}

/* One raw line (terminator included) for a multiline parser. */
static int handle_multiline(struct tail_file *f, const char *raw, size_t len)
{
    struct tail *t = f->t;
    int rc = 0;

    f->block_ms = sk_loop_now_ms(sk_engine_loop(t->ins->engine));
    if (t->firstline) {
        if (sk_parser_multiline_firstline(t->parser, raw, len)) {
            rc = parse_block(f);
        } else if (f->block.len == 0) {
            sk_log_limited(&t->unmatched_log, SK_LOG_WARN,
                           "%s: got incomplete line before first line from %s: \"%.*s\"",
                           t->ins->id, f->path, (int)(len > 512 ? 512 : len), raw);
            t->unmatched++;
            return pack_unmatched(t->conf->emit_unmatched_lines ? &t->events : &t->errors, raw,
                                  len > 0 && raw[len - 1] == '\n' ? len - 1 : len);
        }
        if (rc < 0 && rc != SK_EPARSE) {
            return rc;
        }
        return sk_buf_append(&f->block, raw, len) < 0 ? SK_ETOOBIG : rc;
    }
    /* Without format_firstline: the first block that parses is an event. */
    if (sk_buf_append(&f->block, raw, len) < 0) {
        return parse_block(f);
    }
    {
        size_t mark = t->events.buf.len;
        size_t blen = f->block.len - 1;

        rc = sk_parser_parse(t->parser, f->block.data, blen, &t->events);
        if (rc == 0) {
            t->lines++;
            sk_buf_reset(&f->block);
        }
        (void)mark;
    }
    return rc == SK_EPARSE ? 0 : rc;
}

int tail_file_flush_block(struct tail_file *f)
{
    return parse_block(f);
}

/* Splits pending bytes into lines; returns the bytes consumed. */
static int split_lines(struct tail_file *f, size_t *consumed)
{
    const char *p = f->pending.data;
    const char *end = p + f->pending.len;
    int rc = 0;

    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));

        if (nl == NULL) {
            break;
        }
        if (f->skipping) {
            f->skipping = false; /* the tail of an over-long line */
        } else if (f->t->multiline) {
            rc = handle_multiline(f, p, (size_t)(nl - p) + 1);
        } else {
            rc = handle_line(f, p, (size_t)(nl - p));
        }
        p = nl + 1;
    }
    *consumed = (size_t)(p - f->pending.data);
    return rc;
}

static void reject_long_line(struct tail_file *f)
{
    struct tail *t = f->t;

    sk_log(SK_LOG_WARN, "%s: %s: line longer than max_line_size (%llu bytes) at offset %llu; "
           "its start goes to the error stream", t->ins->id, f->path,
           (unsigned long long)t->conf->max_line_size, (unsigned long long)f->acked);
    (void)pack_unmatched(&t->errors, f->pending.data, 1024);
    f->skipping = true;
}

int tail_file_read(struct tail_file *f)
{
    struct tail *t = f->t;
    int rc = 0;

    if (f->fd < 0) {
        return 0;
    }
    for (;;) {
        ssize_t n;
        size_t consumed = 0;

        rc = sk_buf_reserve(&f->pending, TAIL_READ_SIZE);
        if (rc < 0) {
            /* A line longer than max_line_size: keep its start as an error. */
            reject_long_line(f);
            sk_buf_reset(&f->pending); /* read_off still counts the dropped bytes */
            continue;
        }
        n = read(f->fd, f->pending.data + f->pending.len, TAIL_READ_SIZE);
        if (n <= 0) {
            break;
        }
        f->pending.len += (size_t)n;
        f->read_off += (uint64_t)n;
        rc = split_lines(f, &consumed);
        sk_buf_consume(&f->pending, consumed);
        if (rc < 0 && rc != SK_EPARSE) {
            break;
        }
        if (t->events.buf.len + t->errors.buf.len >= TAIL_BATCH_BYTES) {
            rc = flush_batch(f, f->read_off - f->pending.len - f->block.len);
            if (rc < 0) {
                break;
            }
        }
    }
    if (rc == 0 || rc == SK_EPARSE) {
        /* A gathered multiline block is not acknowledged until it is an event. */
        rc = flush_batch(f, f->read_off - f->pending.len - f->block.len);
    }
    capture_head(f);
    if (rc == SK_EFULL) {
        /* Nothing after the last acknowledged byte counts: read it again later. */
        sk_evbuf_reset(&t->events);
        sk_evbuf_reset(&t->errors);
        sk_buf_reset(&f->pending);
        sk_buf_reset(&f->block);
        f->read_off = f->acked;
        f->skipping = false;
        if (lseek(f->fd, (off_t)f->acked, SEEK_SET) < 0) {
            sk_log(SK_LOG_ERROR, "%s: lseek %s: %s", t->ins->id, f->path, strerror(errno));
        }
        t->blocked = true;
    }
    return rc;
}

struct tail_file *tail_file_open_copy(struct tail *t, const char *path,
                                      const struct tail_file *orig)
{
    struct tail_file *f = sk_calloc(1, sizeof(*f));
    unsigned char head[sizeof(orig->head)];
    struct stat st;

    if (f == NULL) {
        return NULL;
    }
    f->t = t;
    f->path = sk_strdup(path);
    f->tag = sk_strdup(orig->tag);
    f->no_pos = true;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    sk_buf_init(&f->pending, t->conf->max_line_size + TAIL_READ_SIZE);
    sk_buf_init(&f->block, t->conf->max_line_size);
    if (f->path == NULL || f->tag == NULL || f->fd < 0 || fstat(f->fd, &st) < 0 ||
        (uint64_t)st.st_size < orig->acked || orig->head_len == 0 ||
        pread(f->fd, head, orig->head_len, 0) != (ssize_t)orig->head_len ||
        memcmp(head, orig->head, orig->head_len) != 0) {
        tail_file_close(f);
        return NULL;
    }
    f->inode = (uint64_t)st.st_ino;
    f->acked = f->read_off = orig->acked;
    if (lseek(f->fd, (off_t)f->acked, SEEK_SET) < 0) {
        tail_file_close(f);
        return NULL;
    }
    f->rotated = true;
    f->rotated_deadline_ms = sk_loop_now_ms(sk_engine_loop(t->ins->engine));
    return f;
}

/* False when the file's first bytes changed: cut short and written again
 * past our offset before we looked. */
static bool same_head(const struct tail_file *f)
{
    unsigned char head[sizeof(f->head)];

    if (f->head_len == 0) {
        return true;
    }
    return pread(f->fd, head, f->head_len, 0) == (ssize_t)f->head_len &&
           memcmp(head, f->head, f->head_len) == 0;
}

/* copytruncate: lines written after our last read and before the cut are
 * in the rotated copy; find it by its first bytes and read them from it. */
static void recover_from_copy(struct tail_file *f)
{
    struct tail *t = f->t;
    struct tail_file *best = NULL;
    int64_t best_mtime = -1;
    char pattern[4200];
    glob_t g;

    if ((size_t)snprintf(pattern, sizeof(pattern), "%s?*", f->path) >= sizeof(pattern) ||
        glob(pattern, 0, NULL, &g) != 0) {
        return;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *cand = g.gl_pathv[i];
        size_t len = strlen(cand);
        struct tail_file *copy;
        struct stat st;

        if (len > 3 && (strcmp(cand + len - 3, ".gz") == 0 || strcmp(cand + len - 3, ".xz") == 0)) {
            continue;
        }
        if (stat(cand, &st) < 0 || (int64_t)st.st_mtime < best_mtime) {
            continue;
        }
        copy = tail_file_open_copy(t, cand, f);
        if (copy != NULL) {
            tail_file_close(best);
            best = copy;
            best_mtime = (int64_t)st.st_mtime;
        }
    }
    globfree(&g);
    if (best == NULL) {
        sk_log(SK_LOG_WARN, "%s: %s was truncated and no rotated copy with its content was "
               "found: lines written since offset %llu may be lost", t->ins->id, f->path,
               (unsigned long long)f->acked);
        return;
    }
    sk_log(SK_LOG_INFO, "%s: %s was truncated (copytruncate); reading %s from offset %llu",
           t->ins->id, f->path, best->path, (unsigned long long)best->acked);
    best->next = t->files;
    t->files = best;
    if (!t->blocked) {
        (void)tail_file_read(best);
    }
}

void tail_file_check(struct tail_file *f)
{
    struct tail *t = f->t;
    struct stat st;

    if (f->fd < 0 || f->rotated) {
        return;
    }
    if (fstat(f->fd, &st) == 0 &&
        ((uint64_t)st.st_size < f->read_off || !same_head(f))) {
        recover_from_copy(f);
        sk_buf_reset(&f->pending);
        f->read_off = f->acked = 0;
        f->head_len = 0;
        if (lseek(f->fd, 0, SEEK_SET) < 0) {
            return;
        }
    }
    if (stat(f->path, &st) < 0 || (uint64_t)st.st_ino != f->inode) {
        /* Renamed away or deleted: read the old file for rotate_wait more. */
        f->rotated = true;
        f->no_pos = true; /* the path's entry now belongs to its successor */
        f->rotated_deadline_ms = sk_loop_now_ms(sk_engine_loop(t->ins->engine)) +
                                 t->conf->rotate_wait_ms;
        sk_log(SK_LOG_INFO, "%s: detected rotation of %s; waiting %lld ms for the old file",
               t->ins->id, f->path, (long long)t->conf->rotate_wait_ms);
    }
}
