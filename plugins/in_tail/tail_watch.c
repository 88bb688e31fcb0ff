/*
 * The set of followed files: glob expansion (refresh), inotify watches per
 * path, which file a path or an inode belongs to, and the release of
 * rotated files once rotate_wait has passed.
 */
#include <glob.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "in_tail/tail.h"
#include "loop/loop.h"

static bool excluded(const struct tail_conf *conf, const char *path)
{
    for (size_t i = 0; i < conf->exclude_path.n; i++) {
        glob_t g;
        bool hit = false;

        if (glob(conf->exclude_path.v[i], GLOB_NOSORT, NULL, &g) == 0) {
            for (size_t j = 0; j < g.gl_pathc && !hit; j++) {
                hit = strcmp(g.gl_pathv[j], path) == 0;
            }
            globfree(&g);
        }
        if (hit) {
            return true;
        }
    }
    return false;
}

static struct tail_file *find_live(struct tail *t, const char *path)
{
    for (struct tail_file *f = t->files; f != NULL; f = f->next) {
        if (!f->rotated && strcmp(f->path, path) == 0) {
            return f;
        }
    }
    return NULL;
}

static struct tail_file *find_inode(struct tail *t, uint64_t inode)
{
    for (struct tail_file *f = t->files; f != NULL; f = f->next) {
        if (f->inode == inode) {
            return f;
        }
    }
    return NULL;
}

static void on_path_change(struct sk_fswatch *w, void *arg);

static int watch_path(struct tail *t, const char *path)
{
    struct tail_watch *tw;

    for (tw = t->watches; tw != NULL; tw = tw->next) {
        if (strcmp(tw->path, path) == 0) {
            return 0;
        }
    }
    tw = sk_calloc(1, sizeof(*tw));
    if (tw == NULL) {
        return SK_ENOMEM;
    }
    tw->t = t;
    tw->path = sk_strdup(path);
    tw->w = tw->path != NULL ? sk_fswatch_create(sk_engine_loop(t->ins->engine), path, 0,
                                                 on_path_change, tw)
                             : NULL;
    if (tw->w == NULL) {
        sk_free(tw->path);
        sk_free(tw);
        return SK_ENOMEM;
    }
    tw->next = t->watches;
    t->watches = tw;
    return 0;
}

void tail_watches_destroy(struct tail *t)
{
    while (t->watches != NULL) {
        struct tail_watch *tw = t->watches;

        t->watches = tw->next;
        sk_fswatch_destroy(tw->w);
        sk_free(tw->path);
        sk_free(tw);
    }
}

/* Starts reading `f`, now followed at `path`: from the loop, in turn with
 * the other files that have something to read. */
static void follow(struct tail *t, struct tail_file *f, const char *path)
{
    if (t->conf->enable_stat_watcher && watch_path(t, path) < 0) {
        sk_log(SK_LOG_WARN, "%s: cannot watch %s; relying on the 1 s timer", t->ins->id, path);
    }
    tail_resume_arm(f);
}

/* The file at `path` is one we read already: a rotated file renamed to a
 * name the globs match is followed on (Fluentd's follow_inodes; without
 * it too, as two readers of one file would ship its lines twice). True
 * when `path` needs no new reader. */
static bool known_inode(struct tail *t, const char *path)
{
    struct tail_file *f;
    struct stat st;

    if (stat(path, &st) < 0) {
        return false;
    }
    f = find_inode(t, (uint64_t)st.st_ino);
    if (f == NULL) {
        return false;
    }
    if (f->rotated && (uint64_t)st.st_size >= f->read_off) {
        if (tail_file_adopt(f, path) == 0) {
            follow(t, f, path);
        }
        return true;
    }
    /* follow_inodes: followed under another name until its rename is seen. */
    return t->conf->follow_inodes && !f->rotated;
}

/* Opens a path known not to be excluded. */
static void open_target(struct tail *t, const char *path, bool from_head)
{
    struct tail_file *f;

    if (find_live(t, path) != NULL || known_inode(t, path)) {
        return;
    }
    f = tail_file_open(t, path, from_head);
    if (f == NULL) {
        return;
    }
    f->next = t->files;
    t->files = f;
    follow(t, f, path);
}

/* Opens the file now at `path`, unless it is excluded or followed already
 * (by path, or as a rotated file renamed to `path`: that one goes on). */
static void open_path(struct tail *t, const char *path, bool from_head)
{
    if (!excluded(t->conf, path)) {
        open_target(t, path, from_head);
    }
}

/* Everything that happens to a path: growth, truncation, rotation. */
static void on_path_change(struct sk_fswatch *w, void *arg)
{
    struct tail_watch *tw = arg;
    struct tail *t = tw->t;
    bool rotated = false;

    (void)w;
    sk_log(SK_LOG_TRACE, "%s: change event for %s", t->ins->id, tw->path);
    for (struct tail_file *f = t->files; f != NULL; f = f->next) {
        if (strcmp(f->path, tw->path) != 0) {
            continue;
        }
        if (!f->rotated) {
            tail_file_check(f);
            rotated = rotated || f->rotated;
        }
        if (!t->blocked && !f->backlog) { /* a backlog is read in its turn */
            tail_read_soon(f);
        }
    }
    if (rotated) {
        tail_refresh(t, false); /* the rotated file's new name may match a glob */
    }
    if (find_live(t, tw->path) == NULL) {
        /* The successor's first lines are new lines: read it from its head. */
        open_path(t, tw->path, true);
    }
}

static void targets_free(struct tail_targets *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        sk_free(ts->v[i].path);
    }
    sk_free(ts->v);
    ts->v = NULL;
    ts->n = 0;
}

static int targets_add(struct tail_targets *ts, const char *path, uint64_t inode)
{
    struct tail_target *grown = sk_realloc(ts->v, (ts->n + 1) * sizeof(*grown));

    if (grown == NULL) {
        return SK_ENOMEM;
    }
    ts->v = grown;
    grown[ts->n].path = sk_strdup(path);
    grown[ts->n].inode = inode;
    if (grown[ts->n].path == NULL) {
        return SK_ENOMEM;
    }
    ts->n++;
    return 0;
}

/* Adds the regular files one pattern expands to. */
static void expand_one(struct tail *t, const char *pattern, time_t now, struct tail_targets *ts)
{
    glob_t g;

    if (glob(pattern, 0, NULL, &g) != 0) {
        return;
    }
    for (size_t j = 0; j < g.gl_pathc; j++) {
        struct stat st;

        if (stat(g.gl_pathv[j], &st) < 0 || !S_ISREG(st.st_mode) ||
            excluded(t->conf, g.gl_pathv[j])) {
            continue;
        }
        if (t->conf->limit_recently_modified_ms > 0 &&
            (int64_t)(now - st.st_mtime) * 1000 > t->conf->limit_recently_modified_ms) {
            continue; /* not modified recently: not followed */
        }
        if (targets_add(ts, g.gl_pathv[j], (uint64_t)st.st_ino) < 0) {
            break;
        }
    }
    globfree(&g);
}

/* The files the path patterns name now, strftime placeholders expanded
 * (/var/log/app.%Y%m%d.log) as Fluentd expands them. */
static void expand_targets(struct tail *t, struct tail_targets *ts)
{
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    for (size_t i = 0; i < t->conf->path.n; i++) {
        const char *pattern = t->conf->path.v[i];
        char expanded[4096];

        /* The format is the user's path, on purpose. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        if (strchr(pattern, '%') != NULL &&
            strftime(expanded, sizeof(expanded), pattern, &tm) > 0) {
            pattern = expanded;
        }
#pragma GCC diagnostic pop
        expand_one(t, pattern, now, ts);
    }
}

bool tail_targets_has_inode(const struct tail_targets *ts, uint64_t inode)
{
    for (size_t i = 0; i < ts->n; i++) {
        if (ts->v[i].inode == inode) {
            return true;
        }
    }
    return false;
}

/* follow_inodes: entries of files neither matched nor read any more are
 * unwatched, as Fluentd's refresh does (their lines go at compaction). */
static void unwatch_removed(struct tail *t, const struct tail_targets *ts)
{
    size_t i = 0;

    while (i < t->pos.n) {
        const struct tail_pos_entry *e = &t->pos.entries[i];
        size_t before = t->pos.n;

        if (!tail_targets_has_inode(ts, e->inode) && find_inode(t, e->inode) == NULL) {
            tail_unwatch(t, e->path, e->inode);
        }
        if (t->pos.n == before) {
            i++; /* kept; an unwatched entry's slot holds the next one now */
        }
    }
}

void tail_refresh(struct tail *t, bool at_start)
{
    struct tail_targets ts = {NULL, 0};

    expand_targets(t, &ts);
    if (at_start && t->has_pos) {
        tail_recover_rotated(t, &ts);
    }
    for (size_t i = 0; i < ts.n; i++) {
        /* Files that appear after start are new: their first lines too. */
        open_target(t, ts.v[i].path, !at_start);
    }
    if (t->has_pos && t->pos.by_inode) {
        unwatch_removed(t, &ts);
    }
    targets_free(&ts);
}

void tail_unwatch(struct tail *t, const char *path, uint64_t inode)
{
    int rc = tail_pos_unwatch(&t->pos, path, inode);

    if (rc < 0) {
        sk_log(SK_LOG_ERROR, "%s: cannot write pos_file %s: %s", t->ins->id, t->pos.path,
               sk_strerror(rc));
    }
}

/* A released file's entries: without follow_inodes its rotated name's
 * entry, and the path's own when nothing took the path (deleted), become
 * unwatched. With follow_inodes the next refresh decides: the file's
 * inode may still match a glob. */
static void release_pos(struct tail *t, const struct tail_file *f)
{
    if (!t->has_pos || t->pos.by_inode) {
        return;
    }
    if (f->disk_path != NULL && !f->no_pos) {
        tail_unwatch(t, f->disk_path, f->inode);
    }
    if (find_live(t, f->path) == NULL) {
        tail_unwatch(t, f->path, f->inode);
    }
}

bool tail_reap_rotated(struct tail *t)
{
    int64_t now = sk_loop_now_ms(sk_engine_loop(t->ins->engine));
    struct tail_file **link = &t->files;
    bool reaped = false;

    while (*link != NULL) {
        struct tail_file *f = *link;

        if (f->rotated && !t->blocked && !f->backlog) {
            (void)tail_file_read(f);
        }
        /* Throttled files are read to their end first, as Fluentd does. */
        if (!f->rotated || now < f->rotated_deadline_ms || !f->eof || t->blocked ||
            tail_file_finish(f) < 0) {
            link = &f->next;
            continue;
        }
        *link = f->next;
        tail_file_sync_pos(f); /* its last position, before an entry is released */
        release_pos(t, f);
        tail_file_close(f);
        reaped = true;
    }
    return reaped;
}
