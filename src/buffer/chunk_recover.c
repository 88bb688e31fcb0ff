/* Loading a file buffer at start: find, check, repair and sort its chunks. */
#include "buffer/chunk_recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buffer/fileops.h"
#include "util/alloc.h"

#define META_READ_MAX ((size_t)1 << 20)  /* a larger .meta is damaged */
#define TORN_KEEP_MAX ((size_t)64 << 10) /* bigger cut tails get a backup copy */
#define DEFAULT_MAX_SIZE ((size_t)1 << 30)

enum name_kind { NAME_NONE, NAME_DATA, NAME_META, NAME_TMP };

/* One recovery run over one pattern. */
struct rec {
    const struct sk_chunk_opts *opts; /* borrowed */
    const struct sk_fileops *ops;     /* borrowed */
    const char *backup_arg;           /* borrowed, NULL: <dir>/backup */
    char *dir;                        /* owned: the chunk directory */
    char *backup;                     /* owned: resolved backup directory */
    const char *prefix;               /* borrowed, into the pattern: "buffer." */
    size_t plen;
    const char *suffix;               /* borrowed: ".log" */
    size_t slen;
    char **names;                     /* owned, sorted */
    size_t n_names;
    size_t cap_names;
    struct sk_chunk_set *out;
    size_t cap_staged;
    size_t cap_queued;
    struct sk_recover_report *rep;
};

static char *join(const char *dir, const char *name, const char *ext)
{
    struct sk_buf b;

    sk_buf_init(&b, strlen(dir) + strlen(name) + strlen(ext) + 2);
    if (sk_buf_printf(&b, "%s/%s%s", dir, name, ext) < 0) {
        sk_buf_cleanup(&b);
        return NULL;
    }
    return sk_buf_take(&b, NULL);
}

/* --- Names ------------------------------------------------------------------ */

static enum name_kind parse_name(const struct rec *r, const char *name, char *state,
                                 uint8_t id[SK_CHUNK_ID_SIZE])
{
    size_t n = strlen(name);
    const char *p = name + r->plen;

    if (n < r->plen + 1 + 2 * SK_CHUNK_ID_SIZE + r->slen ||
        strncmp(name, r->prefix, r->plen) != 0 || (*p != 'b' && *p != 'q') ||
        sk_chunk_id_parse(p + 1, 2 * SK_CHUNK_ID_SIZE, id) != 0) {
        return NAME_NONE;
    }
    *state = *p;
    p += 1 + 2 * SK_CHUNK_ID_SIZE;
    if (strncmp(p, r->suffix, r->slen) != 0) {
        return NAME_NONE;
    }
    p += r->slen;
    if (*p == '\0') {
        return NAME_DATA;
    }
    if (strcmp(p, ".meta") == 0) {
        return NAME_META;
    }
    return strcmp(p, ".tmp") == 0 ? NAME_TMP : NAME_NONE;
}

/* Names the glob "<prefix>*<suffix>" would match but we do not understand. */
static bool glob_matches(const struct rec *r, const char *name)
{
    size_t n = strlen(name);

    return n >= r->plen + r->slen && strncmp(name, r->prefix, r->plen) == 0 &&
           strcmp(name + n - r->slen, r->suffix) == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_name(const struct rec *r, const char *name)
{
    return bsearch(&name, r->names, r->n_names, sizeof(*r->names), cmp_names) != NULL;
}

static int push_name(struct rec *r, const char *name)
{
    if (r->n_names == r->cap_names) {
        size_t cap = r->cap_names ? r->cap_names * 2 : 16;
        char **v = sk_realloc(r->names, cap * sizeof(*v));

        if (v == NULL) {
            return SK_ENOMEM;
        }
        r->names = v;
        r->cap_names = cap;
    }
    r->names[r->n_names] = sk_strdup(name);
    if (r->names[r->n_names] == NULL) {
        return SK_ENOMEM;
    }
    r->n_names++;
    return 0;
}

/* Collects the chunk-shaped names of the directory, sorted. */
static int list_dir(struct rec *r)
{
    DIR *d = opendir(r->dir);
    int rc = 0;

    if (d == NULL) {
        return errno == ENOENT || errno == ENOTDIR ? 0 : sk_err_from_errno(errno);
    }
    while (rc == 0) {
        const struct dirent *e = readdir(d);
        uint8_t id[SK_CHUNK_ID_SIZE];
        char state;

        if (e == NULL) {
            break;
        }
        if (parse_name(r, e->d_name, &state, id) != NAME_NONE) {
            rc = push_name(r, e->d_name);
        } else if (glob_matches(r, e->d_name)) {
            r->rep->unknown++;
        }
    }
    closedir(d);
    if (rc == 0 && r->n_names > 1) {
        qsort(r->names, r->n_names, sizeof(*r->names), cmp_names);
    }
    return rc;
}

/* --- Repairs ------------------------------------------------------------------ */

static int backup_dir_ready(struct rec *r)
{
    unsigned int mode = r->opts->dir_mode != 0 ? r->opts->dir_mode : 0700u;

    return sk_fops_mkdir_p(r->ops, r->backup, mode);
}

/* Writes a copy of a chunk's bytes to <backup>/<name> (or <name>.1 .. .9
 * when taken), flushed. The original is not touched. */
static int backup_copy(struct rec *r, const char *name, const char *data, size_t len)
{
    char ext[4] = "";
    char *path = NULL;
    int fd = SK_EEXISTS;
    int rc = backup_dir_ready(r);

    for (int i = 0; rc == 0 && fd == SK_EEXISTS && i < 10; i++) {
        if (i > 0) {
            snprintf(ext, sizeof(ext), ".%d", i);
        }
        sk_free(path);
        path = join(r->backup, name, ext);
        if (path == NULL) {
            rc = SK_ENOMEM;
            break;
        }
        fd = sk_fops_open(r->ops, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                          r->opts->file_mode != 0 ? r->opts->file_mode : 0600u);
    }
    if (rc == 0 && fd < 0) {
        rc = fd;
    }
    if (rc == 0) {
        rc = sk_fops_pwrite_all(r->ops, fd, data, len, 0, NULL);
        if (rc == 0) {
            rc = sk_fops_fsync(r->ops, fd);
        }
        sk_fops_close(r->ops, fd);
        if (rc != 0) {
            sk_fops_best_effort(sk_fops_unlink(r->ops, path));
        }
    }
    sk_free(path);
    return rc;
}

/* Moves a chunk's data file (and its meta, if any) to <backup>/. */
static int backup_move(struct rec *r, const struct sk_chunk *c, const char *name)
{
    char *dst = join(r->backup, name, "");
    char *mdst = join(r->backup, name, ".meta");
    int rc = dst != NULL && mdst != NULL ? backup_dir_ready(r) : SK_ENOMEM;

    if (rc == 0) {
        rc = sk_fops_rename(r->ops, c->path, dst);
    }
    if (rc == 0) {
        /* SK_ENOENT: it had none; otherwise an orphan, removed next start. */
        sk_fops_best_effort(sk_fops_rename(r->ops, c->meta_path, mdst));
    }
    sk_free(dst);
    sk_free(mdst);
    return rc;
}

/* Deletes a chunk that holds no event (both files). */
static int remove_files(struct rec *r, const struct sk_chunk *c)
{
    int rc = sk_fops_unlink(r->ops, c->path);

    if (rc == 0 || rc == SK_ENOENT) {
        sk_fops_best_effort(sk_fops_unlink(r->ops, c->meta_path));
        rc = 0;
    }
    return rc;
}

/* Closes and frees a chunk recovery will not hand out, never touching its
 * files (sk_chunk_destroy would unlink an "empty" one). */
static void forget(struct sk_chunk *c)
{
    sk_chunk_release(c);
    sk_chunk_destroy(c);
}

/* A chunk that cannot be read: out of the way, or left for next time.
 * 0 or SK_ENOMEM. */
static int unreadable(struct rec *r, struct sk_chunk *c, const char *name)
{
    int rc;

    sk_fops_close(r->ops, c->fd);
    c->fd = -1;
    rc = backup_move(r, c, name);
    if (rc == 0) {
        r->rep->backed_up++;
    } else if (rc != SK_ENOMEM) {
        r->rep->failed++;
    }
    return rc == SK_ENOMEM ? rc : 0;
}

static int read_all(struct rec *r, int fd, size_t size, size_t max, struct sk_buf *out)
{
    size_t got = 0;
    int rc;

    sk_buf_init(out, max);
    rc = sk_buf_reserve(out, size);
    if (rc == 0) {
        rc = sk_fops_pread_all(r->ops, fd, out->data, size, 0, &got);
    }
    if (rc == 0) {
        out->len = got;
        out->data[got] = '\0';
    }
    return rc;
}

/*
 * Applies what the scan found to the file: cuts torn or unreadable bytes
 * (copying the original to backup first when they are unreadable or big).
 * Returns 1 when the chunk goes on to be loaded, 0 when it was dealt with
 * (removed, moved, or left after an error), SK_ENOMEM.
 */
static int repair(struct rec *r, struct sk_chunk *c, const char *name, const struct sk_buf *raw,
                  const struct sk_chunk_scan *s)
{
    size_t cut = raw->len - s->keep;
    bool copy = s->garbage || cut > TORN_KEEP_MAX;
    int rc;

    if (s->records == 0) {
        /* No event in it. Only nothing, or one record cut short, is deleted;
         * anything else goes to backup whole, meta included. */
        rc = cut > 0 && copy ? backup_move(r, c, name) : remove_files(r, c);
        if (rc == SK_ENOMEM) {
            return rc;
        }
        if (rc < 0) {
            r->rep->failed++;
        } else if (cut == 0) {
            r->rep->empty_removed++;
        } else if (copy) {
            r->rep->backed_up++;
        } else {
            r->rep->torn++;
            r->rep->torn_bytes += cut;
        }
        return 0;
    }
    if (cut > 0 && copy) {
        rc = backup_copy(r, name, raw->data, raw->len);
        if (rc < 0) {
            r->rep->failed++;
            return rc == SK_ENOMEM ? rc : 0;
        }
    }
    if (cut > 0 && sk_fops_ftruncate(r->ops, c->fd, (int64_t)s->keep) < 0) {
        r->rep->failed++;
        return 0;
    }
    if (s->torn && cut > 0) {
        c->recovered |= SK_CHUNK_REC_TORN;
        r->rep->torn++;
        r->rep->torn_bytes += cut;
    } else if (cut > 0) {
        c->recovered |= SK_CHUNK_REC_CORRUPT;
        r->rep->corrupt++;
    }
    return 1;
}

/* --- Meta ------------------------------------------------------------------- */

/*
 * Opens and reads the chunk's .meta into `out` (empty when unreadable).
 * A ".q" without one adopts the ".b" meta that a crash between enqueue's
 * two renames leaves behind. *found is false when there is no meta.
 */
static int read_meta(struct rec *r, struct sk_chunk *c, const char *name, char state,
                     struct sk_buf *out, bool *found)
{
    struct stat st;
    size_t got = 0;
    int fd = sk_fops_open(r->ops, c->meta_path, O_RDWR | O_CLOEXEC, 0);
    int rc = 0;

    *found = false;
    sk_buf_init(out, META_READ_MAX);
    if (fd == SK_ENOENT && state == 'q') {
        char *bname = sk_strdup(name);
        char *bmeta = bname != NULL ? join(r->dir, bname, ".meta") : NULL;

        if (bmeta != NULL) {
            bmeta[strlen(r->dir) + 1 + r->plen] = 'b';
            if (sk_fops_rename(r->ops, bmeta, c->meta_path) == 0) {
                fd = sk_fops_open(r->ops, c->meta_path, O_RDWR | O_CLOEXEC, 0);
            } else {
                fd = sk_fops_open(r->ops, bmeta, O_RDWR | O_CLOEXEC, 0);
                if (fd >= 0) {
                    sk_free(c->meta_path); /* keep using it under its staged name */
                    c->meta_path = bmeta;
                    bmeta = NULL;
                }
            }
        } else {
            fd = SK_ENOMEM;
        }
        sk_free(bname);
        sk_free(bmeta);
    }
    if (fd < 0) {
        return fd == SK_ENOMEM ? fd : 0; /* missing or unopenable: rebuilt */
    }
    c->meta_fd = fd;
    *found = true;
    if (fstat(fd, &st) != 0) {
        return 0; /* unreadable: rebuilt */
    }
    c->meta_len = (size_t)st.st_size; /* a rewrite cuts what it does not fill */
    if ((uint64_t)st.st_size > META_READ_MAX) {
        return 0; /* no meta is that large: damaged */
    }
    rc = sk_buf_reserve(out, (size_t)st.st_size);
    if (rc == 0) {
        rc = sk_fops_pread_all(r->ops, fd, out->data, (size_t)st.st_size, 0, &got);
    }
    if (rc == 0) {
        out->len = got;
        out->data[got] = '\0';
    }
    return rc == SK_ENOMEM ? rc : 0;
}

/* Sets c->meta from the .meta file, or rebuilds it, and the chunk's state. */
static int load_meta(struct rec *r, struct sk_chunk *c, const char *name, char state,
                     const struct stat *st, const struct sk_chunk_scan *s)
{
    const unsigned int need = SK_META_HAVE_ID | SK_META_HAVE_C | SK_META_HAVE_M;
    struct sk_chunk_meta m;
    struct sk_buf mb;
    unsigned int have = 0;
    bool found = false;
    int rc = read_meta(r, c, name, state, &mb, &found);

    memset(&m, 0, sizeof(m));
    m.timekey = -1;
    if (rc == 0 && mb.len > 0) {
        rc = sk_chunk_meta_decode(mb.data, mb.len, &m, &have);
        rc = rc == SK_ENOMEM ? rc : 0;
    }
    sk_buf_cleanup(&mb);
    if (rc < 0) {
        return rc;
    }
    if ((have & SK_META_HAVE_ID) == 0) {
        memcpy(m.id, c->meta.id, SK_CHUNK_ID_SIZE);
    }
    if ((have & SK_META_HAVE_C) == 0) {
        uint64_t usec = sk_chunk_id_usec(m.id);

        m.created = usec >= 1000000u ? (int64_t)(usec / 1000000u) : (int64_t)st->st_mtime;
    }
    if ((have & SK_META_HAVE_M) == 0) {
        m.modified = (int64_t)st->st_mtime;
    }
    if ((have & SK_META_HAVE_S) != 0 && m.records != s->records) {
        c->recovered |= SK_CHUNK_REC_COUNT_FIXED;
        r->rep->count_fixed++;
    }
    m.records = s->records;
    sk_chunk_meta_cleanup(&c->meta);
    c->meta = m;
    c->state = state == 'q' || !found ? SK_CHUNK_QUEUED : SK_CHUNK_STAGED;
    if (state == 'b' && !found) {
        c->recovered |= SK_CHUNK_REC_LEGACY;
        r->rep->legacy++;
    } else if ((have & need) != need) {
        c->recovered |= SK_CHUNK_REC_META_REBUILT;
        r->rep->meta_rebuilt++;
    }
    return 0;
}

/* --- Chunks ------------------------------------------------------------------ */

static int push_chunk(struct rec *r, struct sk_chunk *c)
{
    bool staged = c->state == SK_CHUNK_STAGED;
    struct sk_chunk ***v = staged ? &r->out->staged : &r->out->queued;
    size_t *n = staged ? &r->out->n_staged : &r->out->n_queued;
    size_t *cap = staged ? &r->cap_staged : &r->cap_queued;

    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct sk_chunk **nv = sk_realloc(*v, ncap * sizeof(*nv));

        if (nv == NULL) {
            return SK_ENOMEM;
        }
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = c;
    if (staged) {
        r->rep->staged++;
    } else {
        r->rep->queued++;
    }
    r->rep->records += c->meta.records;
    r->rep->bytes += c->bytes;
    return 0;
}

/* Loads one data file; only SK_ENOMEM fails the run. */
static int load_chunk(struct rec *r, const char *name, char state, const uint8_t *id)
{
    size_t max = r->opts->max_size != 0 ? r->opts->max_size : DEFAULT_MAX_SIZE;
    char *path = join(r->dir, name, "");
    struct sk_chunk *c = path != NULL ? sk_chunk_alloc(r->opts, path) : NULL;
    struct sk_buf raw;
    struct sk_chunk_scan s;
    struct stat st;
    int rc = 0;

    sk_free(path);
    memset(&s, 0, sizeof(s));
    memset(&st, 0, sizeof(st));
    sk_buf_init(&raw, 0);
    if (c == NULL) {
        return SK_ENOMEM;
    }
    memcpy(c->meta.id, id, SK_CHUNK_ID_SIZE);
    sk_chunk_id_hex(id, c->id_hex);
    c->fd = sk_fops_open(r->ops, c->path, O_RDWR | O_CLOEXEC, 0);
    if (c->fd == SK_ENOMEM) {
        rc = SK_ENOMEM;
    } else if (c->fd < 0) {
        rc = c->fd != SK_ENOENT ? unreadable(r, c, name) : 0;
        c->fd = -1;
    } else if (fstat(c->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r->rep->unknown++;
    } else if ((uint64_t)st.st_size > max) {
        r->rep->failed++; /* larger than we may hold in memory: left as it is */
    } else {
        rc = read_all(r, c->fd, (size_t)st.st_size, max, &raw);
        if (rc < 0 && rc != SK_ENOMEM) {
            rc = unreadable(r, c, name);
        } else if (rc == 0) {
            rc = sk_chunk_scan(raw.data, raw.len, max, &s);
            rc = rc < 0 ? rc : repair(r, c, name, &raw, &s);
        }
    }
    if (rc == 1) {
        c->bytes = s.keep;
        c->gzip = s.gzip;
        rc = load_meta(r, c, name, state, &st, &s);
        rc = rc < 0 ? rc : push_chunk(r, c);
        if (rc == 0) {
            sk_chunk_release(c); /* hundreds may wait in the queue: reopened on use */
        }
        c = rc < 0 ? c : NULL;
    }
    if (c != NULL) {
        forget(c);
    }
    sk_buf_cleanup(&raw);
    return rc;
}

/* A ".meta" whose chunk is gone holds no event: remove it. 0 or SK_ENOMEM. */
static int drop_orphan_meta(struct rec *r, const char *name)
{
    size_t n = strlen(name) - strlen(".meta");
    char *data = sk_strndup(name, n);
    char *path = join(r->dir, name, "");
    bool used = true;
    int rc = data != NULL && path != NULL ? 0 : SK_ENOMEM;

    if (rc == 0) {
        used = has_name(r, data);
        if (!used && data[r->plen] == 'b') {
            data[r->plen] = 'q'; /* adopted by (or kept for) its queued chunk */
            used = has_name(r, data);
        }
    }
    if (rc == 0 && !used && sk_fops_unlink(r->ops, path) == 0) {
        r->rep->orphan_meta_removed++;
    }
    sk_free(data);
    sk_free(path);
    return rc;
}

static int recover_pattern(struct rec *r, const char *pattern)
{
    const char *slash = strrchr(pattern, '/');
    const char *base = slash != NULL ? slash + 1 : pattern;
    const char *star = strstr(base, ".*.");
    int rc = 0;

    if (star == NULL) {
        return SK_EINVAL;
    }
    r->prefix = base;
    r->plen = (size_t)(star + 1 - base);
    r->suffix = star + 2;
    r->slen = strlen(star + 2);
    if (slash == NULL) {
        r->dir = sk_strdup(".");
    } else {
        r->dir = sk_strndup(pattern, slash == pattern ? 1 : (size_t)(slash - pattern));
    }
    if (r->dir != NULL) {
        r->backup = r->backup_arg != NULL ? sk_strdup(r->backup_arg) : join(r->dir, "backup", "");
    }
    rc = r->dir != NULL && r->backup != NULL ? list_dir(r) : SK_ENOMEM;
    /* Temp files first: a stale one is never needed (see sk_chunk_shrink). */
    for (size_t i = 0; rc == 0 && i < r->n_names; i++) {
        uint8_t id[SK_CHUNK_ID_SIZE];
        char state;

        if (parse_name(r, r->names[i], &state, id) == NAME_TMP) {
            char *path = join(r->dir, r->names[i], "");

            if (path == NULL) {
                rc = SK_ENOMEM;
            } else if (sk_fops_unlink(r->ops, path) == 0) {
                r->rep->tmp_removed++;
            }
            sk_free(path);
        }
    }
    for (size_t i = 0; rc == 0 && i < r->n_names; i++) {
        uint8_t id[SK_CHUNK_ID_SIZE];
        char state;

        if (parse_name(r, r->names[i], &state, id) == NAME_DATA) {
            rc = load_chunk(r, r->names[i], state, id);
        }
    }
    for (size_t i = 0; rc == 0 && i < r->n_names; i++) {
        uint8_t id[SK_CHUNK_ID_SIZE];
        char state;

        if (parse_name(r, r->names[i], &state, id) == NAME_META) {
            rc = drop_orphan_meta(r, r->names[i]);
        }
    }
    for (size_t i = 0; i < r->n_names; i++) {
        sk_free(r->names[i]);
    }
    sk_free(r->names);
    sk_free(r->dir);
    sk_free(r->backup);
    r->names = NULL;
    r->n_names = r->cap_names = 0;
    r->dir = r->backup = NULL;
    return rc;
}

static int cmp_modified(const void *a, const void *b)
{
    const struct sk_chunk *x = *(struct sk_chunk *const *)a;
    const struct sk_chunk *y = *(struct sk_chunk *const *)b;

    if (x->meta.modified != y->meta.modified) {
        return x->meta.modified < y->meta.modified ? -1 : 1;
    }
    /* Equal seconds: the id starts with the creation time in microseconds. */
    return memcmp(x->meta.id, y->meta.id, SK_CHUNK_ID_SIZE);
}

int sk_chunk_recover(const struct sk_chunk_opts *opts, const struct sk_chunk_paths *paths,
                     const char *backup_dir, struct sk_chunk_set *out,
                     struct sk_recover_report *rep)
{
    struct rec r;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    memset(rep, 0, sizeof(*rep));
    memset(&r, 0, sizeof(r));
    r.opts = opts;
    r.ops = opts->ops != NULL ? opts->ops : &sk_fileops_libc;
    r.backup_arg = backup_dir;
    r.out = out;
    r.rep = rep;
    /* buf_file.rb#resume looks at the additional (pre-multi-worker) path first. */
    if (paths->extra != NULL) {
        rc = recover_pattern(&r, paths->extra);
    }
    if (rc == 0) {
        rc = recover_pattern(&r, paths->pattern);
    }
    if (rc < 0) {
        sk_chunk_set_cleanup(out);
        return rc;
    }
    if (out->n_staged > 1) {
        qsort(out->staged, out->n_staged, sizeof(*out->staged), cmp_modified);
    }
    if (out->n_queued > 1) {
        qsort(out->queued, out->n_queued, sizeof(*out->queued), cmp_modified);
    }
    return 0;
}

void sk_chunk_set_cleanup(struct sk_chunk_set *s)
{
    for (size_t i = 0; i < s->n_staged; i++) {
        sk_chunk_destroy(s->staged[i]);
    }
    for (size_t i = 0; i < s->n_queued; i++) {
        sk_chunk_destroy(s->queued[i]);
    }
    sk_free(s->staged);
    sk_free(s->queued);
    memset(s, 0, sizeof(*s));
}
