/*
 * Path watchers. With inotify, a path has one watch on the file it names
 * (written, attributes, renamed, deleted) and one on its directory (a file
 * created, renamed or deleted under its name); an event costs one read()
 * of the loop's inotify descriptor, shared by all paths. The file's watch
 * is moved only when the path may name another file now.
 *
 * libev's ev_stat is the fallback (no inotify, no watch left, a file
 * system whose changes inotify may not see): it lstat()s the path on every
 * event and, whenever the stat data changed, i.e. on every append to a
 * log, removes and re-adds its inotify watch and statfs()es the path:
 * five more system calls per write, one of them (inotify_rm_watch) slow.
 */
#include "loop/loop.h"

#include <errno.h>
#include <ev.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "loop/loop_int.h"
#include "util/alloc.h"

/* IN_MASK_ADD: two paths naming one file (hard links) share its watch. */
#define FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF | IN_MASK_ADD)
#define DIR_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR | IN_MASK_ADD)
/* File events after which the path may name another file, or none. */
#define MOVED_MASK (IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED)
/* Room for at least one event with the longest name. */
#define EVENT_BUF 8192

struct sk_fsnotify {
    ev_io io;                   /* first: on_events finds the struct from it */
    struct sk_loop *loop;       /* borrowed */
    int fd;                     /* -1: inotify is not available */
    struct sk_fswatch *watches; /* borrowed list: every watcher using inotify */
};

struct sk_fswatch {
    ev_stat st;                 /* first: stat_fire finds the struct from it */
    struct sk_loop *loop;       /* borrowed */
    sk_fswatch_cb cb;
    void *arg;
    char *path;                 /* owned: ev_stat keeps a pointer to it */
    char *dir;                  /* owned: the directory of path */
    const char *name;           /* in path: the file name */
    int file_wd;                /* watch of the file path names; -1: none */
    int dir_wd;                 /* watch of dir; -1: lost */
    bool polling;               /* ev_stat instead of inotify */
    bool fired;                 /* an event came for it in the batch being handled */
    bool moved;                 /* ... one after which its file watch must be redone */
    struct sk_fswatch *next;
};

/* File systems whose changes are all made by this kernel, so inotify sees
 * them: libev's list, plus overlayfs, f2fs and zfs. Others (NFS, CIFS,
 * FUSE) keep ev_stat, which also polls them. */
static bool local_fs(const char *dir)
{
    static const uint32_t local[] = {
        0xEF53,     /* ext2/3/4 */ 0x58465342, /* xfs */    0x9123683E, /* btrfs */
        0x01021994, /* tmpfs */    0x858458F6, /* ramfs */  0x52654973, /* reiserfs */
        0x3153464A, /* jfs */      0x5346544E, /* ntfs */   0x4006,     /* fat */
        0x4D44,     /* msdos */    0x72B6,     /* jffs2 */  0x1373,     /* devfs */
        0x794C7630, /* overlay */  0xF2F52010, /* f2fs */   0x2FC12FC1, /* zfs */
    };
    struct statfs sfs;

    if (statfs(dir, &sfs) < 0) {
        return false;
    }
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        if ((uint32_t)sfs.f_type == local[i]) {
            return true;
        }
    }
    return false;
}

static bool wd_used(const struct sk_fsnotify *n, int wd)
{
    for (const struct sk_fswatch *w = n->watches; w != NULL; w = w->next) {
        if (w->file_wd == wd || w->dir_wd == wd) {
            return true;
        }
    }
    return false;
}

/* Removes watch `wd` unless a watcher in the list still uses it. */
static void release_wd(struct sk_fsnotify *n, int wd)
{
    if (wd >= 0 && !wd_used(n, wd)) {
        (void)inotify_rm_watch(n->fd, wd); /* EINVAL: the kernel dropped it already */
    }
}

/* The path may name another file now (or none, or again one): watch that. */
static void rewatch(struct sk_fsnotify *n, struct sk_fswatch *w)
{
    int old = w->file_wd;

    if (w->dir_wd < 0) {
        w->dir_wd = inotify_add_watch(n->fd, w->dir, DIR_MASK);
    }
    w->file_wd = inotify_add_watch(n->fd, w->path, FILE_MASK);
    if (old != w->file_wd) {
        release_wd(n, old);
    }
}

/* Marks the watchers one event is for. */
static void mark(struct sk_fsnotify *n, const struct inotify_event *e)
{
    for (struct sk_fswatch *w = n->watches; w != NULL; w = w->next) {
        if (e->mask & IN_Q_OVERFLOW) {
            w->fired = w->moved = true; /* events were lost: look at everything */
            continue;
        }
        if (e->wd == w->file_wd) {
            w->fired = true;
            w->moved = w->moved || (e->mask & MOVED_MASK) != 0;
        }
        if (e->wd != w->dir_wd) {
            continue;
        }
        if (e->mask & IN_IGNORED) {
            w->dir_wd = -1; /* the directory went: try it again */
            w->fired = w->moved = true;
        } else if (e->len > 0 && strcmp(e->name, w->name) == 0) {
            w->fired = w->moved = true;
        }
    }
}

/* Calls back every marked watcher once. A callback may create or destroy
 * watchers, so the list is searched again after each. */
static void dispatch(struct sk_fsnotify *n)
{
    for (;;) {
        struct sk_fswatch *w = n->watches;

        while (w != NULL && !w->fired) {
            w = w->next;
        }
        if (w == NULL) {
            return;
        }
        w->fired = false;
        if (w->moved) {
            w->moved = false;
            rewatch(n, w);
        }
        w->cb(w, w->arg);
    }
}

/* One read per loop iteration: what it leaves wakes the next iteration. */
static void on_events(struct ev_loop *ev, ev_io *io, int revents)
{
    struct sk_fsnotify *n = (struct sk_fsnotify *)io;
    alignas(struct inotify_event) char buf[EVENT_BUF];
    ssize_t len = read(n->fd, buf, sizeof(buf));
    const char *p = buf;

    (void)ev;
    (void)revents;
    while (len > 0 && p < buf + len) {
        const struct inotify_event *e = (const struct inotify_event *)(const void *)p;

        mark(n, e);
        p += sizeof(*e) + e->len;
    }
    dispatch(n);
}

/* The loop's inotify state, created on first use; NULL when inotify is
 * not available (a failure is remembered, not retried per path). */
static struct sk_fsnotify *notifier(struct sk_loop *loop)
{
    struct sk_fsnotify **slot = sk_loop_fsnotify(loop);
    struct sk_fsnotify *n = *slot;

    if (n == NULL) {
        n = sk_calloc(1, sizeof(*n));
        if (n == NULL) {
            return NULL;
        }
        n->loop = loop;
        n->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (n->fd >= 0) {
            ev_io_init(&n->io, on_events, n->fd, EV_READ);
        }
        *slot = n;
    }
    return n->fd >= 0 ? n : NULL;
}

void sk_fsnotify_destroy(struct sk_fsnotify *n)
{
    if (n == NULL) {
        return;
    }
    if (n->fd >= 0) {
        ev_io_stop(sk_loop_ev(n->loop), &n->io);
        close(n->fd);
    }
    sk_free(n);
}

/* Watches w's directory and file; 0, or -1 (nothing left watched) when
 * inotify cannot watch them. A path naming nothing yet is fine. */
static int add_watches(struct sk_fsnotify *n, struct sk_fswatch *w)
{
    w->dir_wd = inotify_add_watch(n->fd, w->dir, DIR_MASK);
    if (w->dir_wd < 0) {
        return -1;
    }
    w->file_wd = inotify_add_watch(n->fd, w->path, FILE_MASK);
    if (w->file_wd < 0 && errno != ENOENT) {
        release_wd(n, w->dir_wd); /* w is not in the list yet */
        w->dir_wd = -1;
        return -1;
    }
    return 0;
}

static void stat_fire(struct ev_loop *ev, ev_stat *st, int revents)
{
    struct sk_fswatch *w = (struct sk_fswatch *)st;

    (void)ev;
    (void)revents;
    w->cb(w, w->arg);
}

/* Splits w->path into w->dir (a copy) and w->name. */
static int split_path(struct sk_fswatch *w)
{
    const char *slash = strrchr(w->path, '/');

    if (slash == NULL) {
        w->dir = sk_strdup(".");
        w->name = w->path;
    } else {
        w->dir = sk_strndup(w->path, slash == w->path ? 1 : (size_t)(slash - w->path));
        w->name = slash + 1;
    }
    return w->dir != NULL ? 0 : SK_ENOMEM;
}

struct sk_fswatch *sk_fswatch_create(struct sk_loop *loop, const char *path, int64_t interval_ms,
                                     sk_fswatch_cb cb, void *arg)
{
    struct sk_fswatch *w = sk_calloc(1, sizeof(*w));
    struct sk_fsnotify *n;

    if (w == NULL) {
        return NULL;
    }
    w->loop = loop;
    w->cb = cb;
    w->arg = arg;
    w->file_wd = w->dir_wd = -1;
    w->path = sk_strdup(path);
    if (w->path == NULL || split_path(w) < 0) {
        sk_free(w->path);
        sk_free(w);
        return NULL;
    }
    n = notifier(loop);
    if (n != NULL && local_fs(w->dir) && add_watches(n, w) == 0) {
        if (n->watches == NULL) {
            ev_io_start(sk_loop_ev(loop), &n->io);
        }
        w->next = n->watches;
        n->watches = w;
        return w;
    }
    w->polling = true;
    ev_stat_init(&w->st, stat_fire, w->path, (double)interval_ms / 1000.0);
    ev_stat_start(sk_loop_ev(loop), &w->st);
    return w;
}

void sk_fswatch_destroy(struct sk_fswatch *w)
{
    struct sk_fsnotify *n;

    if (w == NULL) {
        return;
    }
    if (w->polling) {
        ev_stat_stop(sk_loop_ev(w->loop), &w->st);
    } else {
        n = *sk_loop_fsnotify(w->loop);
        for (struct sk_fswatch **link = &n->watches; *link != NULL; link = &(*link)->next) {
            if (*link == w) {
                *link = w->next;
                break;
            }
        }
        release_wd(n, w->file_wd);
        release_wd(n, w->dir_wd);
        if (n->watches == NULL) {
            ev_io_stop(sk_loop_ev(w->loop), &n->io); /* nothing keeps the loop running */
        }
    }
    sk_free(w->path);
    sk_free(w->dir);
    sk_free(w);
}
