/* One tailed file: read, split into lines, parse, emit, remember the offset. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "in_tail/tail.h"
#include "in_tail/tail_conv.h"
#include "loop/loop.h"
#include "parser/parser_multiline.h"

/* Events gathered before they are emitted (a chunk commit each). With
 * 512 KB the events buffer stays at 1 MB; 1 MB batches cost 0.6 MB more
 * peak RSS on the P1 bench for no measurable gain, 256 KB ones ~5% of
 * wall time (more commits). */
#define TAIL_BATCH_BYTES (512u * 1024)
#define TAIL_RATE_WINDOW_MS 1000

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

    if (f->head_len == sizeof(f->head) || f->fd < 0) {
        return;
    }
    n = pread(f->fd, f->head, sizeof(f->head), 0);
    if (n > 0 && (size_t)n >= f->head_len) {
        f->head_len = (size_t)n;
    }
}

/* A file object for `path` with its buffers, not opened yet. */
static struct tail_file *file_new(struct tail *t, const char *path, const char *tag_path)
{
    struct tail_file *f = sk_calloc(1, sizeof(*f));

    if (f == NULL) {
        return NULL;
    }
    f->t = t;
    f->fd = -1;
    f->path = sk_strdup(path);
    f->tag = expand_tag(t->conf->tag, tag_path);
    sk_buf_init(&f->pending, t->conf->max_line_size + TAIL_READ_SIZE);
    sk_buf_init(&f->block, t->conf->max_line_size);
    if (f->path == NULL || f->tag == NULL) {
        tail_file_close(f);
        return NULL;
    }
    return f;
}

/* Where to start in a file just opened at `path`, per pos_file. */
static uint64_t start_offset(struct tail *t, const char *path, const struct stat *st,
                             bool from_head)
{
    struct tail_pos_entry *e =
        t->has_pos ? tail_pos_find(&t->pos, path, (uint64_t)st->st_ino) : NULL;

    if (e != NULL && e->inode == (uint64_t)st->st_ino) {
        /* Resume; a file now shorter than the offset was truncated. */
        return e->offset <= (uint64_t)st->st_size ? e->offset : 0;
    }
    if (e != NULL && e->inode != 0) {
        return 0; /* rotated while we were down: the new file from its start */
    }
    return (from_head || t->conf->read_from_head) ? 0 : (uint64_t)st->st_size;
}

void tail_file_save_pos(struct tail_file *f)
{
    struct tail *t = f->t;
    const char *key = f->disk_path != NULL ? f->disk_path : f->path;

    f->pos_dirty = false;
    if (!t->has_pos || f->no_pos) {
        return;
    }
    if (tail_pos_update(&t->pos, key, f->acked, f->inode) < 0) {
        sk_log(SK_LOG_ERROR, "%s: cannot write pos_file %s", t->ins->id, t->pos.path);
    }
}

void tail_file_sync_pos(struct tail_file *f)
{
    if (f->pos_dirty) {
        tail_file_save_pos(f);
    }
}

/* Opens the file where it is now (its disk path once rotated). */
static int open_where(struct tail_file *f, struct stat *st)
{
    const char *where = f->disk_path != NULL ? f->disk_path : f->path;
    int err;

    f->fd = open(where, O_RDONLY | O_CLOEXEC);
    if (f->fd >= 0 && fstat(f->fd, st) == 0) {
        return 0;
    }
    err = errno;
    if (err != ENOENT) { /* a path between rename and create is normal */
        sk_log(SK_LOG_WARN, "%s: cannot open %s: %s", f->t->ins->id, where, strerror(err));
    }
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    return sk_err_from_errno(err);
}

int tail_file_acquire(struct tail_file *f)
{
    struct stat st;
    int rc;

    if (f->fd >= 0) {
        return 0;
    }
    if (!f->t->conf->open_on_every_update) {
        return SK_ECLOSED;
    }
    rc = open_where(f, &st);
    if (rc == 0 && ((uint64_t)st.st_ino != f->inode ||
                    lseek(f->fd, (off_t)f->read_off, SEEK_SET) < 0)) {
        /* Another file now: the rotation check takes care of it. */
        close(f->fd);
        f->fd = -1;
        rc = SK_ENOENT;
    }
    return rc;
}

void tail_file_release(struct tail_file *f)
{
    if (f->fd >= 0 && f->t->conf->open_on_every_update) {
        close(f->fd);
        f->fd = -1;
    }
}

/* Opens f where it is and positions it at `offset` (or, when that is
 * UINT64_MAX, where pos_file says); records the position. */
static int file_start(struct tail_file *f, uint64_t offset, bool from_head)
{
    struct tail *t = f->t;
    struct stat st;
    int rc = open_where(f, &st);

    if (rc < 0) {
        return rc;
    }
    f->inode = (uint64_t)st.st_ino;
    if (offset == UINT64_MAX) {
        offset = start_offset(t, f->path, &st, from_head);
    } else if (offset > (uint64_t)st.st_size) {
        return SK_ERANGE; /* not the file the offset belongs to */
    }
    f->acked = f->read_off = offset;
    if (lseek(f->fd, (off_t)f->acked, SEEK_SET) < 0) {
        return sk_err_from_errno(errno);
    }
    tail_file_save_pos(f);
    capture_head(f);
    tail_file_release(f);
    return 0;
}

struct tail_file *tail_file_open(struct tail *t, const char *path, bool from_head)
{
    struct tail_file *f = file_new(t, path, path);

    if (f == NULL || file_start(f, UINT64_MAX, from_head) < 0) {
        tail_file_close(f);
        return NULL;
    }
    sk_log(SK_LOG_INFO, "%s: following tail of %s (from offset %llu)", t->ins->id, path,
           (unsigned long long)f->acked);
    return f;
}

struct tail_file *tail_file_open_rotated(struct tail *t, const char *path, const char *disk_path,
                                         uint64_t offset, bool record)
{
    struct tail_file *f = file_new(t, path, path);

    if (f != NULL) {
        f->disk_path = sk_strdup(disk_path);
        f->no_pos = !record;
        f->rotated = true;
        f->rotated_deadline_ms = sk_loop_now_ms(sk_engine_loop(t->ins->engine)) +
                                 t->conf->rotate_wait_ms;
    }
    if (f == NULL || f->disk_path == NULL || file_start(f, offset, false) < 0) {
        tail_file_close(f);
        return NULL;
    }
    sk_log(SK_LOG_INFO, "%s: reading rotated %s (was %s) from offset %llu", t->ins->id,
           disk_path, path, (unsigned long long)offset);
    return f;
}

int tail_file_adopt(struct tail_file *f, const char *path)
{
    struct tail *t = f->t;
    char *p = sk_strdup(path);
    char *tag = expand_tag(t->conf->tag, path);
    char *old_path = f->path;
    char *old_disk = f->disk_path;

    if (p == NULL || tag == NULL) {
        sk_free(p);
        sk_free(tag);
        return SK_ENOMEM;
    }
    sk_log(SK_LOG_INFO, "%s: following %s (the rotated %s) from offset %llu", t->ins->id, path,
           old_path, (unsigned long long)f->acked);
    f->path = p;
    f->disk_path = NULL;
    sk_free(f->tag);
    f->tag = tag;
    f->rotated = false;
    f->no_pos = false;
    tail_file_save_pos(f);
    if (t->has_pos && !t->pos.by_inode) {
        /* Recorded as `path` now: release its old names' entries (one a
         * successor took records another inode and stays). */
        if (old_disk != NULL && strcmp(old_disk, path) != 0) {
            tail_unwatch(t, old_disk, f->inode);
        }
        tail_unwatch(t, old_path, f->inode);
    }
    sk_free(old_path);
    sk_free(old_disk);
    return 0;
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
    sk_free(f->disk_path);
    sk_free(f->tag);
    sk_free(f);
}

/* Wraps an unparsable line as {"unmatched_line": line} (Fluentd's shape),
 * with the file's path under path_key as Fluentd adds it. */
static int pack_unmatched(struct tail_file *f, struct sk_evbuf *eb, const char *line, size_t len)
{
    const char *key = f->t->conf->path_key;
    size_t mark = eb->buf.len;
    int rc = sk_evbuf_begin(eb, sk_time_now());

    if (rc == 0) {
        rc = msgpack_pack_map(&eb->pk, key != NULL ? 2 : 1);
    }
    if (rc == 0) {
        rc = sk_pack_kv_str(&eb->pk, "unmatched_line", 14, line, len);
    }
    if (rc == 0 && key != NULL) {
        rc = sk_pack_kv_str(&eb->pk, key, strlen(key), f->path, strlen(f->path));
    }
    if (rc < 0) {
        sk_evbuf_rollback(eb, mark);
        return rc;
    }
    sk_evbuf_commit(eb);
    return 0;
}

static struct sk_evbuf *unmatched_stream(struct tail *t)
{
    return t->conf->emit_unmatched_lines ? &t->events : &t->errors;
}

/* Length of a msgpack str header at p (0 when p is not a str), and the
 * string's length in *len. */
static size_t str_header(const unsigned char *p, size_t avail, size_t *len)
{
    if (avail >= 1 && (p[0] & 0xe0) == 0xa0) {
        *len = p[0] & 0x1f;
        return 1;
    }
    if (avail >= 2 && p[0] == 0xd9) {
        *len = p[1];
        return 2;
    }
    if (avail >= 3 && p[0] == 0xda) {
        *len = (size_t)p[1] << 8 | p[2];
        return 3;
    }
    return 0; /* str32 keys do not occur in records worth a path_key check */
}

/* Length of the msgpack value at p: strings and one-byte values inline
 * (nearly all of a parsed record), the rest through sk_mp_skip. */
static inline size_t skip_value(const unsigned char *p, const unsigned char *end)
{
    size_t avail = (size_t)(end - p);
    size_t len = 0;
    size_t h;

    if ((*p & 0xe0) == 0xa0) {
        return 1 + (size_t)(*p & 0x1f) <= avail ? 1 + (size_t)(*p & 0x1f) : avail;
    }
    h = str_header(p, avail, &len);

    if (h > 0) {
        return h + len <= avail ? h + len : avail;
    }
    if (*p <= 0x7f || *p >= 0xe0 || (*p >= 0xc0 && *p <= 0xc3)) {
        return 1; /* fixint, nil, true, false */
    }
    h = sk_mp_skip((const char *)p, avail);
    return h > 0 ? h : avail;
}

/* True when the record of the event at `mark` (the last one in eb) has
 * the str key `key`: Fluentd's `record[path_key] ||= path` keeps it. */
static bool record_has_key(const struct sk_evbuf *eb, size_t mark, const char *key, size_t klen)
{
    const unsigned char *p = (const unsigned char *)eb->buf.data + mark + 1;
    const unsigned char *end = (const unsigned char *)eb->buf.data + eb->buf.len;
    size_t n;

    p += *p == 0xd7 ? 10 : sk_mp_skip((const char *)p, (size_t)(end - p)); /* the time */
    if (p >= end) {
        return false;
    }
    if ((*p & 0xf0) == 0x80) {
        n = *p++ & 0x0f;
    } else if (*p == 0xde && end - p >= 3) {
        n = (size_t)p[1] << 8 | p[2];
        p += 3;
    } else {
        return false;
    }
    for (size_t i = 0; i < n && p < end; i++) {
        size_t slen = 0;
        size_t h = str_header(p, (size_t)(end - p), &slen);

        if (h == 0) {
            p += skip_value(p, end); /* a key that is not a string */
        } else if (slen == klen && (size_t)(end - p) >= h + slen && p[h] == (uint8_t)key[0] &&
                   memcmp(p + h, key, klen) == 0) {
            return true;
        } else {
            p += h + slen;
        }
        if (p < end) {
            p += skip_value(p, end);
        }
    }
    return false;
}

/* Adds path_key to the event a parser just appended at `mark`. */
static int add_path_key(struct tail_file *f, size_t mark)
{
    struct tail *t = f->t;
    const char *key = t->conf->path_key;
    size_t klen;
    int rc;

    if (key == NULL) {
        return 0;
    }
    klen = strlen(key);
    if (record_has_key(&t->events, mark, key, klen)) {
        return 0;
    }
    rc = sk_evbuf_add_field(&t->events, mark, key, klen, f->path, strlen(f->path));
    if (rc < 0) {
        sk_evbuf_rollback(&t->events, mark);
        t->events.count--;
    }
    return rc;
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
    if (rc == 0) {
        rc = add_path_key(f, mark);
    }
    if (rc == SK_EPARSE) {
        t->unmatched++;
        sk_log_limited(&t->unmatched_log, SK_LOG_WARN, "%s: pattern not matched: \"%.*s\"",
                       t->ins->id, (int)(len > 512 ? 512 : len), line);
        rc = pack_unmatched(f, unmatched_stream(t), line, len);
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
    if (f->acked != consumed_to) {
        f->acked = consumed_to;
        tail_pos_moved(f);
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
    size_t mark;
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
            return pack_unmatched(f, unmatched_stream(t), raw,
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
    mark = t->events.buf.len;
    rc = sk_parser_parse(t->parser, f->block.data, f->block.len - 1, &t->events);
    if (rc == 0) {
        t->lines++;
        sk_buf_reset(&f->block);
        rc = add_path_key(f, mark);
    }
    return rc == SK_EPARSE ? 0 : rc;
}

/* The next line terminator in p[0..end): a '\n' byte, or with a wider
 * source encoding (UTF-16) the terminator at a code unit boundary, counted
 * from the file's start. */
static const char *find_eol(const struct tail_file *f, const char *p, const char *end)
{
    const struct tail *t = f->t;
    uint64_t at;

    if (t->eol_len == 1) {
        return memchr(p, '\n', (size_t)(end - p));
    }
    at = f->read_off - f->pending.len + (uint64_t)(p - f->pending.data);
    p += (t->eol_len - at % t->eol_len) % t->eol_len;
    for (; end - p >= (ptrdiff_t)t->eol_len; p += t->eol_len) {
        if (memcmp(p, t->eol, t->eol_len) == 0) {
            return p;
        }
    }
    return NULL;
}

/* One complete line (p[len] starts its terminator): converted to
 * `encoding` when from_encoding is set, then parsed. */
static int dispatch_line(struct tail_file *f, const char *p, size_t len)
{
    struct tail *t = f->t;
    const char *line = p;
    size_t n = len;

    if (t->conv != NULL && tail_conv_line(t->conv, p, len, &line, &n) < 0) {
        line = p; /* too long to convert: the raw bytes, rather than no line */
        n = len;
    }
    if (t->multiline) {
        return handle_multiline(f, line, n + 1);
    }
    return handle_line(f, line, n);
}

/* Splits pending bytes into at most *lines lines (decremented for each);
 * *consumed gets the bytes consumed. */
static int split_lines(struct tail_file *f, size_t *consumed, size_t *lines)
{
    const char *p = f->pending.data;
    const char *end = p + f->pending.len;
    int rc = 0;

    while (p < end && rc == 0 && *lines > 0) {
        const char *nl = find_eol(f, p, end);

        if (nl == NULL) {
            break;
        }
        (*lines)--;
        if (f->skipping) {
            f->skipping = false; /* the tail of an over-long line */
        } else {
            rc = dispatch_line(f, p, (size_t)(nl - p));
        }
        p = nl + f->t->eol_len;
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
    (void)pack_unmatched(f, &t->errors, f->pending.data, 1024);
    f->skipping = true;
}

/* read_bytes_limit_per_second: how much may be read now (0: throttled;
 * reading resumes on a timer when this second's window ends). */
static size_t read_budget(struct tail_file *f)
{
    struct tail *t = f->t;
    int64_t now;

    if (t->rate_limit < 0) {
        return TAIL_READ_SIZE;
    }
    now = sk_loop_now_ms(sk_engine_loop(t->ins->engine));
    if (now - f->window_start_ms >= TAIL_RATE_WINDOW_MS) {
        f->window_start_ms = now;
        f->window_bytes = 0;
    }
    if (f->window_bytes >= (uint64_t)t->rate_limit) {
        f->throttled_until_ms = f->window_start_ms + TAIL_RATE_WINDOW_MS;
        tail_throttle_arm(t, f->throttled_until_ms);
        return 0;
    }
    return (uint64_t)t->rate_limit - f->window_bytes < TAIL_READ_SIZE
               ? (size_t)((uint64_t)t->rate_limit - f->window_bytes)
               : TAIL_READ_SIZE;
}

static bool throttled(struct tail_file *f)
{
    if (f->throttled_until_ms == 0) {
        return false;
    }
    if (sk_loop_now_ms(sk_engine_loop(f->t->ins->engine)) < f->throttled_until_ms) {
        tail_throttle_arm(f->t, f->throttled_until_ms);
        return true;
    }
    f->throttled_until_ms = 0;
    return false;
}

/* Nothing after the last acknowledged byte counts: read it again later. */
static void rewind_to_acked(struct tail_file *f)
{
    struct tail *t = f->t;

    sk_evbuf_reset(&t->events);
    sk_evbuf_reset(&t->errors);
    sk_buf_reset(&f->pending);
    sk_buf_reset(&f->block);
    f->read_off = f->acked;
    f->skipping = false;
    if (f->fd >= 0 && lseek(f->fd, (off_t)f->acked, SEEK_SET) < 0) {
        sk_log(SK_LOG_ERROR, "%s: lseek %s: %s", t->ins->id, f->path, strerror(errno));
    }
    t->blocked = true;
}

/* Reads one slice: until the end, a full buffer, the rate limit, or the
 * slice bound; then the file is left for the loop to resume (backlog).
 * Lines still pending from the previous slice are parsed first. */
static int read_loop(struct tail_file *f)
{
    struct tail *t = f->t;
    size_t lines = t->lines_limit > 0 ? t->lines_limit : SIZE_MAX;
    uint64_t sliced = 0;
    bool at_end = false;
    int rc = 0;

    for (;;) {
        size_t consumed = 0;
        size_t want = 0;
        ssize_t n;

        rc = split_lines(f, &consumed, &lines);
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
        if (at_end && lines > 0) {
            /* A short read of a regular file is its end for now: the
             * watch (or the poll) says when it grows. */
            f->eof = true;
            break;
        }
        if (lines == 0 || sliced >= TAIL_SLICE_BYTES) {
            f->eof = false;
            tail_resume_arm(f); /* the loop runs, then this file reads on */
            break;
        }
        want = read_budget(f);
        if (want == 0) {
            f->eof = false; /* more may wait: a throttled file is not done */
            break;
        }
        rc = sk_buf_reserve(&f->pending, TAIL_READ_SIZE);
        if (rc < 0) {
            /* A line longer than max_line_size: keep its start as an error. */
            reject_long_line(f);
            sk_buf_reset(&f->pending); /* read_off still counts the dropped bytes */
            continue;
        }
        n = read(f->fd, f->pending.data + f->pending.len, want);
        if (n <= 0) {
            f->eof = true; /* an error ends this file's reading as EOF does */
            break;
        }
        f->eof = false;
        f->window_bytes += (uint64_t)n;
        f->pending.len += (size_t)n;
        f->read_off += (uint64_t)n;
        sliced += (uint64_t)n;
        at_end = (size_t)n < want;
    }
    return rc;
}

/* Emits what the parse left in the batch, and acknowledges it. */
static int emit_rest(struct tail_file *f, int rc)
{
    if (rc != SK_EFULL) {
        rc = flush_batch(f, f->read_off - f->pending.len - f->block.len);
    }
    if (rc == SK_EFULL) {
        rewind_to_acked(f);
    }
    return rc;
}

int tail_file_read(struct tail_file *f)
{
    int rc;

    if (throttled(f)) {
        f->eof = false;
        return 0;
    }
    if (tail_file_acquire(f) < 0) {
        f->eof = true; /* closed for good, or gone: nothing more to read */
        return 0;
    }
    /* A gathered multiline block is not acknowledged until it is an event. */
    rc = emit_rest(f, read_loop(f));
    capture_head(f);
    tail_file_release(f);
    return rc;
}

int tail_file_flush_block(struct tail_file *f)
{
    return emit_rest(f, parse_block(f));
}

int tail_file_finish(struct tail_file *f)
{
    struct tail *t = f->t;
    size_t lines = SIZE_MAX;
    size_t consumed = 0;
    int rc = 0;

    if (f->pending.len > 0 && !f->skipping) {
        sk_log(SK_LOG_WARN, "%s: %s ended without a newline; last %zu bytes kept as a line",
               t->ins->id, f->path, f->pending.len);
        rc = sk_buf_append(&f->pending, t->eol, t->eol_len);
        if (rc == 0) {
            rc = split_lines(f, &consumed, &lines);
            sk_buf_consume(&f->pending, consumed);
        }
    }
    if (rc == 0 || rc == SK_EPARSE) {
        rc = parse_block(f);
    }
    return emit_rest(f, rc);
}
