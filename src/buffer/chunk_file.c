/* One file-buffer chunk: life cycle, ids and names (formats in chunk_file.h). */
#include "buffer/chunk_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buffer/fileops.h"
#include "util/alloc.h"

#define DEFAULT_FILE_MODE 0600u
#define DEFAULT_DIR_MODE 0700u
#define META_SLACK 4096u /* meta bytes besides tag and variables, generously */

static const struct sk_fileops *ops_of(const struct sk_chunk *c)
{
    return c->opts->ops != NULL ? c->opts->ops : &sk_fileops_libc;
}

static int64_t now_sec(const struct sk_chunk_opts *o)
{
    return o->clock != NULL ? o->clock() : (int64_t)time(NULL);
}

static unsigned int file_mode(const struct sk_chunk_opts *o)
{
    return o->file_mode != 0 ? o->file_mode : DEFAULT_FILE_MODE;
}

static char *concat(const char *a, const char *b)
{
    size_t na = strlen(a);
    size_t nb = strlen(b);
    char *s = sk_malloc(na + nb + 1);

    if (s != NULL) {
        memcpy(s, a, na);
        memcpy(s + na, b, nb + 1);
    }
    return s;
}

/* The directory part of `path` ("." when it has none), for the caller to free. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL) {
        return sk_strdup(".");
    }
    return sk_strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* Flushes the directory holding `path`. */
static int sync_dir(const struct sk_fileops *ops, const char *path)
{
    char *dir = dir_of(path);
    int rc;

    if (dir == NULL) {
        return SK_ENOMEM;
    }
    rc = sk_fops_fsync_dir(ops, dir);
    sk_free(dir);
    return rc;
}

/* --- Ids and names ------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void sk_chunk_id_make(uint8_t id[SK_CHUNK_ID_SIZE], uint64_t usec, uint32_t rand12,
                      uint32_t rand_a, uint32_t rand_b)
{
    uint64_t u1 = (usec << 12) | (rand12 & 0xfffu);

    put_be32(id, (uint32_t)(u1 >> 32));
    put_be32(id + 4, (uint32_t)u1);
    put_be32(id + 8, rand_a);
    put_be32(id + 12, rand_b);
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z;

    *s += 0x9e3779b97f4a7c15ull;
    z = *s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sk_chunk_id_generate(uint8_t id[SK_CHUNK_ID_SIZE])
{
    static uint64_t fallback;
    uint32_t r[3];
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        /* No entropy yet (early boot): the clock and pid still make ids unique. */
        uint64_t a;
        uint64_t b;

        fallback ^= (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
        a = splitmix64(&fallback);
        b = splitmix64(&fallback);
        r[0] = (uint32_t)a;
        r[1] = (uint32_t)(a >> 32);
        r[2] = (uint32_t)b;
    }
    sk_chunk_id_make(id, (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u, r[0],
                     r[1], r[2]);
}

void sk_chunk_id_hex(const uint8_t id[SK_CHUNK_ID_SIZE], char hex[SK_CHUNK_ID_HEX_SIZE])
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < SK_CHUNK_ID_SIZE; i++) {
        hex[2 * i] = digits[id[i] >> 4];
        hex[2 * i + 1] = digits[id[i] & 0xf];
    }
    hex[2 * SK_CHUNK_ID_SIZE] = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

int sk_chunk_id_parse(const char *hex, size_t len, uint8_t id[SK_CHUNK_ID_SIZE])
{
    if (len != 2 * SK_CHUNK_ID_SIZE) {
        return SK_EPARSE;
    }
    for (size_t i = 0; i < SK_CHUNK_ID_SIZE; i++) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hex_digit(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return SK_EPARSE;
        }
        id[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

uint64_t sk_chunk_id_usec(const uint8_t id[SK_CHUNK_ID_SIZE])
{
    uint64_t u1 = 0;

    for (size_t i = 0; i < 8; i++) {
        u1 = u1 << 8 | id[i];
    }
    return u1 >> 12;
}

int sk_chunk_path_make(const char *pattern, char state, const char *hex, char **out)
{
    /* FileChunk.generate_stage_chunk_path replaces the first ".*."; skiff
     * looks for it in the file name only, as recovery matches names. */
    const char *slash = strrchr(pattern, '/');
    const char *star = strstr(slash != NULL ? slash + 1 : pattern, ".*.");
    size_t pre;
    size_t hl = strlen(hex);
    size_t rest;
    char *p;

    *out = NULL;
    if (star == NULL) {
        return SK_EINVAL;
    }
    pre = (size_t)(star - pattern) + 1; /* through the '.' before '*' */
    rest = strlen(star + 2);            /* from the '.' after it */
    p = sk_malloc(pre + 1 + hl + rest + 1);
    if (p == NULL) {
        return SK_ENOMEM;
    }
    memcpy(p, pattern, pre);
    p[pre] = state;
    memcpy(p + pre + 1, hex, hl);
    memcpy(p + pre + 1 + hl, star + 2, rest + 1);
    *out = p;
    return 0;
}

/* FileChunk.generate_queued_chunk_path: ".b<id>." -> ".q<id>.", else a fallback. */
static char *queued_path(const char *path, const char *hex)
{
    char needle[SK_CHUNK_ID_HEX_SIZE + 3];
    const char *hit;
    char *q;

    needle[0] = '.';
    needle[1] = 'b';
    memcpy(needle + 2, hex, SK_CHUNK_ID_HEX_SIZE - 1);
    needle[SK_CHUNK_ID_HEX_SIZE + 1] = '.';
    needle[SK_CHUNK_ID_HEX_SIZE + 2] = '\0';
    hit = strstr(path, needle);
    if (hit == NULL) {
        char tail[SK_CHUNK_ID_HEX_SIZE + 9];

        tail[0] = '.';
        tail[1] = 'q';
        memcpy(tail + 2, hex, SK_CHUNK_ID_HEX_SIZE - 1);
        memcpy(tail + SK_CHUNK_ID_HEX_SIZE + 1, ".chunk", 7);
        return concat(path, tail);
    }
    q = sk_strdup(path);
    if (q != NULL) {
        q[hit - path + 1] = 'q';
    }
    return q;
}

/* --- Meta file ----------------------------------------------------------- */

/* Rewrites the meta file from offset 0 (created on first use). */
static int meta_write(struct sk_chunk *c)
{
    const struct sk_fileops *ops = ops_of(c);
    struct sk_buf b;
    size_t tag_len = c->meta.tag != NULL ? strlen(c->meta.tag) : 0;
    int rc;

    sk_buf_init(&b, META_SLACK + tag_len + c->meta.variables_len);
    rc = sk_chunk_meta_encode(&c->meta, &b);
    if (rc == 0 && c->meta_fd < 0) {
        int fd = sk_fops_open(ops, c->meta_path, O_RDWR | O_CREAT | O_CLOEXEC,
                              file_mode(c->opts));

        if (fd < 0) {
            rc = fd;
        } else {
            c->meta_fd = fd;
        }
    }
    if (rc == 0) {
        rc = sk_fops_pwrite_all(ops, c->meta_fd, b.data, b.len, 0, NULL);
    }
    /* Readers stop at the header's length, so bytes left past it by a failed
     * cut are never read; the cut is tried again on the next write. */
    if (rc == 0 &&
        (b.len >= c->meta_len || sk_fops_ftruncate(ops, c->meta_fd, (int64_t)b.len) == 0)) {
        c->meta_len = b.len;
    }
    sk_buf_cleanup(&b);
    return rc;
}

/* Opens the data file when the chunk holds no descriptor (see sk_chunk_release). */
static int ensure_fd(struct sk_chunk *c)
{
    int fd;

    if (c->fd >= 0) {
        return 0;
    }
    if (c->state == SK_CHUNK_PURGED) {
        return SK_EINVAL;
    }
    fd = sk_fops_open(ops_of(c), c->path, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) {
        return fd;
    }
    c->fd = fd;
    return 0;
}

/* --- Life cycle ---------------------------------------------------------- */

struct sk_chunk *sk_chunk_alloc(const struct sk_chunk_opts *opts, const char *path)
{
    struct sk_chunk *c = sk_calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->opts = opts;
    c->fd = -1;
    c->meta_fd = -1;
    c->meta.timekey = -1;
    c->path = sk_strdup(path);
    c->meta_path = c->path != NULL ? concat(path, ".meta") : NULL;
    if (c->meta_path == NULL) {
        sk_chunk_destroy(c);
        return NULL;
    }
    return c;
}

static int copy_key(struct sk_chunk *c, const struct sk_chunk_key *key)
{
    c->meta.timekey = key->timekey;
    if (key->tag != NULL) {
        c->meta.tag = sk_strdup(key->tag);
        if (c->meta.tag == NULL) {
            return SK_ENOMEM;
        }
    }
    if (key->variables != NULL) {
        c->meta.variables = sk_malloc(key->variables_len);
        if (c->meta.variables == NULL) {
            return SK_ENOMEM;
        }
        memcpy(c->meta.variables, key->variables, key->variables_len);
        c->meta.variables_len = key->variables_len;
    }
    return 0;
}

/* Creates the data file, and its directory when that is what is missing. */
static int open_new(struct sk_chunk *c)
{
    const struct sk_fileops *ops = ops_of(c);
    int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC;
    int fd = sk_fops_open(ops, c->path, flags, file_mode(c->opts));

    if (fd == SK_ENOENT) {
        char *dir = dir_of(c->path);
        unsigned int mode = c->opts->dir_mode != 0 ? c->opts->dir_mode : DEFAULT_DIR_MODE;

        if (dir == NULL) {
            return SK_ENOMEM;
        }
        fd = sk_fops_mkdir_p(ops, dir, mode);
        sk_free(dir);
        if (fd == 0) {
            fd = sk_fops_open(ops, c->path, flags, file_mode(c->opts));
        }
    }
    if (fd < 0) {
        return fd;
    }
    c->fd = fd;
    return 0;
}

int sk_chunk_create(const struct sk_chunk_opts *opts, const char *pattern,
                    const struct sk_chunk_key *key, struct sk_chunk **out)
{
    struct sk_chunk *c = NULL;
    uint8_t id[SK_CHUNK_ID_SIZE];
    char hex[SK_CHUNK_ID_HEX_SIZE];
    char *path = NULL;
    int rc;

    *out = NULL;
    sk_chunk_id_generate(id);
    sk_chunk_id_hex(id, hex);
    rc = sk_chunk_path_make(pattern, 'b', hex, &path);
    if (rc < 0) {
        return rc;
    }
    c = sk_chunk_alloc(opts, path);
    sk_free(path);
    if (c == NULL) {
        return SK_ENOMEM;
    }
    memcpy(c->meta.id, id, sizeof(id));
    memcpy(c->id_hex, hex, sizeof(hex));
    c->state = SK_CHUNK_STAGED;
    c->gzip = opts->gzip;
    c->meta.created = c->meta.modified = now_sec(opts);
    rc = copy_key(c, key);
    if (rc == 0) {
        rc = open_new(c);
    }
    if (rc == 0) {
        rc = meta_write(c);
    }
    /* The meta's tag and keys are set here for good; its count and times
     * are rebuilt from the data at recovery, so later rewrites need no
     * fsync of their own. */
    if (rc == 0 && opts->sync != SK_CHUNK_SYNC_NONE) {
        rc = sk_fops_fsync(ops_of(c), c->meta_fd);
    }
    if (rc == 0 && opts->sync != SK_CHUNK_SYNC_NONE) {
        rc = sync_dir(ops_of(c), c->path);
    }
    if (rc < 0) {
        sk_chunk_destroy(c); /* unlinks what it created: the chunk is empty */
        return rc;
    }
    *out = c;
    return 0;
}

int sk_chunk_append(struct sk_chunk *c, const char *data, size_t len, size_t count)
{
    const struct sk_fileops *ops = ops_of(c);
    struct sk_buf z;
    const char *p = data;
    size_t n = len;
    int rc = 0;

    if (c->state != SK_CHUNK_STAGED) {
        return SK_EINVAL;
    }
    if (len == 0) {
        return 0;
    }
    rc = ensure_fd(c);
    if (rc < 0) {
        return rc;
    }
    if (c->torn) {
        if (sk_fops_ftruncate(ops, c->fd, (int64_t)c->bytes) != 0) {
            return SK_EIO;
        }
        c->torn = false;
    }
    sk_buf_init(&z, len + len / 8 + 4096); /* above deflateBound plus the gzip wrapper */
    if (c->gzip) {
        rc = sk_chunk_gzip(data, len, &z);
        p = z.data;
        n = z.len;
    }
    if (rc == 0) {
        rc = sk_fops_pwrite_all(ops, c->fd, p, n, (int64_t)c->bytes, NULL);
    }
    if (rc == 0 && c->opts->sync == SK_CHUNK_SYNC_APPEND) {
        rc = sk_fops_fsync(ops, c->fd);
    }
    if (rc == 0) {
        c->bytes += n;
        c->meta.records += count;
    } else if (sk_fops_ftruncate(ops, c->fd, (int64_t)c->bytes) != 0) {
        c->torn = true; /* the next append tries the cut again first */
    }
    sk_buf_cleanup(&z);
    return rc;
}

int sk_chunk_truncate(struct sk_chunk *c, uint64_t bytes, uint64_t records)
{
    const struct sk_fileops *ops = ops_of(c);
    int rc;

    if (c->state == SK_CHUNK_PURGED || bytes > c->bytes) {
        return SK_EINVAL;
    }
    rc = ensure_fd(c);
    if (rc < 0) {
        return rc;
    }
    c->bytes = bytes;
    c->meta.records = records;
    if (sk_fops_ftruncate(ops, c->fd, (int64_t)bytes) != 0) {
        c->torn = true;
        return SK_EIO;
    }
    c->torn = false;
    return 0;
}

int sk_chunk_commit(struct sk_chunk *c)
{
    const struct sk_fileops *ops = ops_of(c);
    int rc = 0;

    if (c->state == SK_CHUNK_PURGED) {
        return SK_EINVAL;
    }
    /* The data first, so the meta never counts events the disk lacks. */
    if (c->opts->sync == SK_CHUNK_SYNC_COMMIT) {
        rc = ensure_fd(c);
        rc = rc != 0 ? rc : sk_fops_fsync(ops, c->fd);
    }
    if (rc == 0) {
        c->meta.modified = now_sec(c->opts);
        rc = meta_write(c); /* no fsync: see sk_chunk_create */
    }
    return rc;
}

int sk_chunk_enqueue(struct sk_chunk *c)
{
    const struct sk_fileops *ops = ops_of(c);
    bool sync = c->opts->sync != SK_CHUNK_SYNC_NONE;
    char *qpath = NULL;
    char *qmeta = NULL;
    int rc;

    if (c->state == SK_CHUNK_QUEUED) {
        return 0;
    }
    if (c->state != SK_CHUNK_STAGED) {
        return SK_EINVAL;
    }
    rc = meta_write(c);
    if (rc == 0 && sync) {
        rc = ensure_fd(c);
    }
    if (rc == 0 && sync) {
        rc = sk_fops_fsync(ops, c->fd);
    }
    if (rc == 0 && sync) {
        rc = sk_fops_fsync(ops, c->meta_fd);
    }
    if (rc == 0) {
        qpath = queued_path(c->path, c->id_hex);
        qmeta = qpath != NULL ? concat(qpath, ".meta") : NULL;
        rc = qmeta != NULL ? 0 : SK_ENOMEM;
    }
    if (rc == 0) {
        rc = sk_fops_rename(ops, c->path, qpath);
    }
    if (rc == 0) {
        /* Queued now. A failing meta rename leaves "<q>" + "<b>.meta", which
         * recovery pairs up; the open meta fd keeps working either way. */
        sk_free(c->path);
        c->path = qpath;
        qpath = NULL;
        c->state = SK_CHUNK_QUEUED;
        if (sk_fops_rename(ops, c->meta_path, qmeta) == 0) {
            sk_free(c->meta_path);
            c->meta_path = qmeta;
            qmeta = NULL;
        }
        if (sync) {
            /* If lost, the chunk is found staged and queued again at start. */
            sk_fops_best_effort(sync_dir(ops, c->path));
        }
    }
    sk_free(qpath);
    sk_free(qmeta);
    return rc;
}

int sk_chunk_map(struct sk_chunk *c, const char **data, size_t *len)
{
    void *p;
    int rc;

    if (c->gzip || c->bytes == 0 || c->bytes > SIZE_MAX) {
        return SK_EINVAL;
    }
    rc = ensure_fd(c);
    if (rc < 0) {
        return rc;
    }
    p = mmap(NULL, (size_t)c->bytes, PROT_READ, MAP_PRIVATE, c->fd, 0);
    if (p == MAP_FAILED) {
        return SK_EINVAL;
    }
    (void)madvise(p, (size_t)c->bytes, MADV_SEQUENTIAL);
    *data = p;
    *len = (size_t)c->bytes;
    return 0;
}

void sk_chunk_unmap(const char *data, size_t len)
{
    if (data != NULL) {
        (void)munmap((void *)(uintptr_t)data, len);
    }
}

int sk_chunk_read(struct sk_chunk *c, struct sk_buf *out)
{
    const struct sk_fileops *ops = ops_of(c);
    size_t start = out->len;
    size_t got = 0;
    struct sk_buf raw;
    struct sk_buf *dst = c->gzip ? &raw : out;
    int rc;

    rc = ensure_fd(c);
    if (rc < 0) {
        return rc;
    }
    sk_buf_init(&raw, (size_t)c->bytes);
    rc = sk_buf_reserve(dst, (size_t)c->bytes);
    if (rc == 0) {
        rc = sk_fops_pread_all(ops, c->fd, dst->data + dst->len, (size_t)c->bytes, 0, &got);
    }
    if (rc == 0 && got != c->bytes) {
        rc = SK_EIO;
    }
    if (rc == 0) {
        dst->len += got;
        dst->data[dst->len] = '\0';
    }
    for (size_t off = 0; rc == 0 && c->gzip && off < raw.len;) {
        size_t used = 0;

        rc = sk_chunk_gunzip_member(raw.data + off, raw.len - off, out, &used);
        if (rc == SK_EAGAIN || rc == SK_EPARSE) {
            rc = SK_EIO;
        }
        off += used;
    }
    if (rc < 0) {
        out->len = start;
        if (out->data != NULL) {
            out->data[start] = '\0';
        }
    }
    sk_buf_cleanup(&raw);
    return rc;
}

int sk_chunk_shrink(struct sk_chunk *c, const char *data, size_t len, size_t count)
{
    const struct sk_fileops *ops = ops_of(c);
    bool sync = c->opts->sync != SK_CHUNK_SYNC_NONE;
    struct sk_buf z;
    const char *p = data;
    size_t n = len;
    char *tmp = NULL;
    int fd = -1;
    int rc = 0;

    if (c->state == SK_CHUNK_PURGED) {
        return SK_EINVAL;
    }
    if (len == 0) {
        return sk_chunk_purge(c);
    }
    sk_buf_init(&z, len + len / 8 + 4096);
    if (c->gzip) {
        rc = sk_chunk_gzip(data, len, &z);
        p = z.data;
        n = z.len;
    }
    tmp = rc == 0 ? concat(c->path, ".tmp") : NULL;
    if (rc == 0 && tmp == NULL) {
        rc = SK_ENOMEM;
    }
    if (rc == 0) {
        fd = sk_fops_open(ops, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, file_mode(c->opts));
        rc = fd < 0 ? fd : 0;
    }
    if (rc == 0) {
        rc = sk_fops_pwrite_all(ops, fd, p, n, 0, NULL);
    }
    if (rc == 0 && sync) {
        rc = sk_fops_fsync(ops, fd);
    }
    if (rc == 0) {
        rc = sk_fops_rename(ops, tmp, c->path); /* the commit point */
    }
    if (rc == 0) {
        sk_fops_close(ops, c->fd);
        c->fd = fd;
        fd = -1;
        c->bytes = n;
        c->meta.records = count;
        c->torn = false;
        if (sync) {
            /* If lost, the old content is found and resent. */
            sk_fops_best_effort(sync_dir(ops, c->path));
        }
        /* A stale "s" is harmless: recovery counts the stream. */
        c->meta.modified = now_sec(c->opts);
        if (meta_write(c) == 0 && sync) {
            sk_fops_best_effort(sk_fops_fsync(ops, c->meta_fd));
        }
    } else if (fd >= 0) {
        sk_fops_close(ops, fd);
        sk_fops_best_effort(sk_fops_unlink(ops, tmp));
    }
    sk_free(tmp);
    sk_buf_cleanup(&z);
    return rc;
}

int sk_chunk_purge(struct sk_chunk *c)
{
    const struct sk_fileops *ops = ops_of(c);
    int rc;

    if (c->state == SK_CHUNK_PURGED) {
        return 0;
    }
    sk_fops_close(ops, c->fd);
    sk_fops_close(ops, c->meta_fd);
    c->fd = c->meta_fd = -1;
    c->state = SK_CHUNK_PURGED;
    rc = sk_fops_unlink(ops, c->path);
    if (rc == SK_ENOENT) {
        rc = 0;
    }
    /* Keep the meta of data we failed to delete: it carries the tag. */
    if (rc == 0) {
        /* If left, an orphan meta is removed at the next start. */
        sk_fops_best_effort(sk_fops_unlink(ops, c->meta_path));
    }
    return rc;
}

void sk_chunk_release(struct sk_chunk *c)
{
    const struct sk_fileops *ops = ops_of(c);

    sk_fops_close(ops, c->fd);
    sk_fops_close(ops, c->meta_fd);
    c->fd = c->meta_fd = -1;
}

void sk_chunk_destroy(struct sk_chunk *c)
{
    const struct sk_fileops *ops;

    if (c == NULL) {
        return;
    }
    ops = c->opts != NULL && c->opts->ops != NULL ? c->opts->ops : &sk_fileops_libc;
    if (c->state != SK_CHUNK_PURGED && c->fd >= 0 && c->bytes == 0) {
        sk_fops_best_effort(sk_fops_unlink(ops, c->path));
        sk_fops_best_effort(sk_fops_unlink(ops, c->meta_path));
    }
    sk_fops_close(ops, c->fd);
    sk_fops_close(ops, c->meta_fd);
    sk_free(c->path);
    sk_free(c->meta_path);
    sk_chunk_meta_cleanup(&c->meta);
    sk_free(c);
}
