/*
 * Rotation: truncation (copytruncate, with the lost lines read from the
 * rotated copy), renames (the old file is read for rotate_wait under its
 * new name, and its position stays in pos_file meanwhile), and at start
 * the unread tails of files rotated away while skiff was not reading.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "in_tail/tail.h"
#include "loop/loop.h"

#define TAIL_RELOCATE_DEPTH 16

static const char *const compressed_suffixes[] = {".gz", ".xz", ".bz2", ".zst", ".Z",
                                                  ".lz4", ".zip", ".lzma", NULL};

static bool compressed(const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; compressed_suffixes[i] != NULL; i++) {
        size_t slen = strlen(compressed_suffixes[i]);

        if (len > slen && strcmp(name + len - slen, compressed_suffixes[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Splits `path` into its directory (copied into dir) and file name. */
static const char *split_path(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t dlen;

    if (slash == NULL) {
        snprintf(dir, size, ".");
        return path;
    }
    dlen = slash == path ? 1 : (size_t)(slash - path);
    if (dlen >= size) {
        return NULL;
    }
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';
    return slash + 1;
}

char *tail_find_rotated(const char *path, uint64_t inode, uint64_t *size)
{
    char dir[4096];
    const char *base = split_path(path, dir, sizeof(dir));
    size_t blen = base != NULL ? strlen(base) : 0;
    struct sk_buf found;
    struct dirent *de;
    DIR *d;

    d = base != NULL ? opendir(dir) : NULL;
    if (d == NULL) {
        return NULL;
    }
    sk_buf_init(&found, sizeof(dir) + 256);
    while (found.len == 0 && (de = readdir(d)) != NULL) {
        struct stat st;

        if (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] == '\0' ||
            compressed(de->d_name) || fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
            !S_ISREG(st.st_mode) || (uint64_t)st.st_ino != inode) {
            continue;
        }
        if (sk_buf_append(&found, path, (size_t)(base - path)) < 0 ||
            sk_buf_append_str(&found, de->d_name) < 0) {
            sk_buf_reset(&found);
            break;
        }
        if (size != NULL) {
            *size = (uint64_t)st.st_size;
        }
    }
    closedir(d);
    return sk_buf_take(&found, NULL);
}

/* --- copytruncate -------------------------------------------------------- */

static struct tail_file *open_copy(struct tail *t, const char *path,
                                   const struct tail_file *orig)
{
    unsigned char head[sizeof(orig->head)];
    struct tail_file *f;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < orig->acked || orig->head_len == 0 ||
        pread(fd, head, orig->head_len, 0) != (ssize_t)orig->head_len ||
        memcmp(head, orig->head, orig->head_len) != 0) {
        close(fd);
        return NULL;
    }
    close(fd);
    /* A copy: its lines count as the original's, it has no entry of its own. */
    f = tail_file_open_rotated(t, orig->path, path, orig->acked, false);
    if (f != NULL) {
        f->rotated_deadline_ms = sk_loop_now_ms(sk_engine_loop(t->ins->engine));
    }
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
        struct tail_file *copy;
        struct stat st;

        if (compressed(cand) || stat(cand, &st) < 0 || (int64_t)st.st_mtime < best_mtime) {
            continue;
        }
        copy = open_copy(t, cand, f);
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
           t->ins->id, f->path, best->disk_path, (unsigned long long)best->acked);
    best->next = t->files;
    t->files = best;
    if (!t->blocked) {
        (void)tail_file_read(best);
    }
}

static void check_truncated(struct tail_file *f)
{
    struct stat st;

    if (fstat(f->fd, &st) < 0 || ((uint64_t)st.st_size >= f->read_off && same_head(f))) {
        return;
    }
    recover_from_copy(f);
    sk_buf_reset(&f->pending);
    f->read_off = f->acked = 0;
    f->head_len = 0;
    if (lseek(f->fd, 0, SEEK_SET) < 0) {
        sk_log(SK_LOG_ERROR, "%s: lseek %s: %s", f->t->ins->id, f->path, strerror(errno));
    }
    tail_file_save_pos(f); /* the copy holds the old offset now (rotation: at once) */
}

/* --- rename -------------------------------------------------------------- */

static void relocate(struct tail_file *f, int depth);

static bool followed_live(const struct tail *t, const char *path)
{
    for (const struct tail_file *g = t->files; g != NULL; g = g->next) {
        if (!g->rotated && strcmp(g->path, path) == 0) {
            return true;
        }
    }
    return false;
}

/* Makes `f` the only rotated file recorded under `key`: a file that had
 * it was renamed again (access.log.1 -> .2) and moves on first. */
static void claim_key(struct tail_file *f, const char *key, int depth)
{
    for (struct tail_file *g = f->t->files; g != NULL; g = g->next) {
        if (g != f && g->disk_path != NULL && strcmp(g->disk_path, key) == 0) {
            relocate(g, depth + 1);
        }
    }
}

/* Finds a rotated file under its current name and records it there: the
 * new entry is written before the old name's is released (or taken by
 * the file now under that name), so a crash in between loses nothing. */
static void relocate(struct tail_file *f, int depth)
{
    struct tail *t = f->t;
    char *old = f->disk_path;
    char *now = tail_find_rotated(f->path, f->inode, NULL);

    if (now != NULL && old != NULL && strcmp(now, old) == 0) {
        sk_free(now);
        return;
    }
    f->disk_path = now;
    if (now == NULL || (followed_live(t, now) && !t->pos.by_inode)) {
        /* Gone, or a glob follows it there already (Fluentd without
         * follow_inodes): nothing of its own to resume. */
        f->no_pos = f->no_pos || !t->pos.by_inode;
    } else {
        if (depth < TAIL_RELOCATE_DEPTH) {
            claim_key(f, now, depth);
        }
        tail_file_save_pos(f);
    }
    if (old != NULL && t->has_pos && !t->pos.by_inode) {
        tail_unwatch(t, old, f->inode);
    }
    sk_free(old);
}

/* The path names another file now, or none: the old file is read for
 * rotate_wait more, under its new name in pos_file (td-agent's format has
 * one entry per path, and the path's entry now belongs to the successor),
 * so a crash meanwhile does not lose its unread tail. */
static void mark_rotated(struct tail_file *f)
{
    struct tail *t = f->t;

    f->rotated = true;
    f->rotated_deadline_ms = sk_loop_now_ms(sk_engine_loop(t->ins->engine)) +
                             t->conf->rotate_wait_ms;
    relocate(f, 0);
    sk_log(SK_LOG_INFO, "%s: detected rotation of %s%s%s; waiting %lld ms for the old file",
           t->ins->id, f->path, f->disk_path != NULL ? " to " : "",
           f->disk_path != NULL ? f->disk_path : "", (long long)t->conf->rotate_wait_ms);
}

void tail_file_check(struct tail_file *f)
{
    struct stat st;

    if (f->rotated) {
        return;
    }
    if (tail_file_acquire(f) == 0) {
        check_truncated(f);
        tail_file_release(f);
    }
    if (stat(f->path, &st) < 0 || (uint64_t)st.st_ino != f->inode) {
        mark_rotated(f);
    }
}

/* --- at start: tails of files rotated while skiff did not read them ------ */

/* A pos_file entry to look into, copied out of the table (which changes). */
struct orphan {
    char *path; /* owned */
    uint64_t offset;
    uint64_t inode;
};

static const struct tail_target *target_at(const struct tail_targets *ts, const char *path)
{
    for (size_t i = 0; i < ts->n; i++) {
        if (strcmp(ts->v[i].path, path) == 0) {
            return &ts->v[i];
        }
    }
    return NULL;
}

/* An entry that no target file resumes: its path names another file now,
 * or is not a target (a rotated name, a path no longer configured). */
static bool is_orphan(const struct tail *t, const struct tail_targets *ts,
                      const struct tail_pos_entry *e)
{
    const struct tail_target *tg;

    if (t->pos.by_inode) {
        return !tail_targets_has_inode(ts, e->inode);
    }
    tg = target_at(ts, e->path);
    return tg == NULL || tg->inode != e->inode;
}

/* True when `path` is `target` or a rotated name of it (same directory,
 * file name starting with the target's). */
static bool related(const char *path, const char *target)
{
    const char *ts = strrchr(target, '/');
    size_t tdir = ts != NULL ? (size_t)(ts - target + 1) : 0;

    return strncmp(path, target, tdir) == 0 && strchr(path + tdir, '/') == NULL &&
           strncmp(path + tdir, target + tdir, strlen(target + tdir)) == 0;
}

/* Reads the orphan's unread tail from where its file is now. False when
 * there is nothing to read (the entry can go). */
static bool recover_one(struct tail *t, const struct tail_targets *ts, const struct orphan *o)
{
    for (size_t i = 0; i < ts->n; i++) {
        struct tail_file *f;
        uint64_t size = 0;
        char *found;

        if (!related(o->path, ts->v[i].path)) {
            continue;
        }
        found = tail_find_rotated(ts->v[i].path, o->inode, &size);
        f = found != NULL && size > o->offset
                ? tail_file_open_rotated(t, ts->v[i].path, found, o->offset, true)
                : NULL;
        if (f != NULL && !t->pos.by_inode && strcmp(found, o->path) != 0 &&
            target_at(ts, o->path) == NULL) {
            tail_unwatch(t, o->path, o->inode); /* moved to found's entry */
        }
        sk_free(found);
        if (f != NULL) {
            f->next = t->files;
            t->files = f;
            (void)tail_file_read(f);
            return true;
        }
    }
    return false;
}

/* An orphan with nothing to read: with follow_inodes its entry goes (as
 * Fluentd drops entries of files no longer matched); without, a rotated
 * name's entry is released and others are kept, as td-agent keeps them. */
static void drop_orphan(struct tail *t, const struct tail_targets *ts, const struct orphan *o)
{
    struct tail_pos_entry *e = tail_pos_find(&t->pos, o->path, o->inode);

    if (e == NULL) {
        return;
    }
    if (t->pos.by_inode) {
        tail_pos_forget(&t->pos, e);
        return;
    }
    for (size_t i = 0; i < ts->n; i++) {
        if (strcmp(o->path, ts->v[i].path) != 0 && related(o->path, ts->v[i].path)) {
            tail_unwatch(t, o->path, o->inode);
            return;
        }
    }
}

static struct orphan *collect_orphans(struct tail *t, const struct tail_targets *ts, size_t *n)
{
    struct orphan *v = sk_calloc(t->pos.n + 1, sizeof(*v));

    *n = 0;
    for (size_t i = 0; v != NULL && i < t->pos.n; i++) {
        const struct tail_pos_entry *e = &t->pos.entries[i];

        if (!is_orphan(t, ts, e)) {
            continue;
        }
        v[*n].path = sk_strdup(e->path);
        v[*n].offset = e->offset;
        v[*n].inode = e->inode;
        if (v[*n].path != NULL) {
            (*n)++;
        }
    }
    return v;
}

void tail_recover_rotated(struct tail *t, const struct tail_targets *targets)
{
    size_t n;
    struct orphan *v = collect_orphans(t, targets, &n);

    for (size_t i = 0; i < n; i++) {
        if (!recover_one(t, targets, &v[i])) {
            drop_orphan(t, targets, &v[i]);
        }
        sk_free(v[i].path);
    }
    sk_free(v);
}
