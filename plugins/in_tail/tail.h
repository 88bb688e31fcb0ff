#ifndef SK_IN_TAIL_TAIL_H
#define SK_IN_TAIL_TAIL_H

/* in_tail internals shared by tail.c and tail_file.c. */
#include <stdbool.h>
#include <stdint.h>

#include "in_tail/tail_pos.h"
#include "plugin/plugin.h"

struct sk_timer;
struct sk_fswatch;
struct tail_conv;

#define TAIL_READ_SIZE (256u * 1024)
/* Bytes one file reads per loop iteration before the loop runs again
 * (outputs flush, other files get their turn): a backlog is read in slices
 * from a zero-delay timer, never in one callback. */
#define TAIL_SLICE_BYTES (4u << 20)
/* A change event is read this much later, so that a log written in many
 * small appends is read (and its buffer chunk committed and fsynced) about
 * 50 times a second rather than once per append. */
#define TAIL_COALESCE_MS 20

struct tail_conf {
    struct sk_strv path;
    char *tag;
    struct sk_strv exclude_path;
    char *pos_file;
    bool read_from_head;
    int64_t refresh_interval_ms;
    int64_t rotate_wait_ms;
    int64_t read_lines_limit;    /* 0: not set */
    uint64_t max_line_size;
    char *path_key;
    bool emit_unmatched_lines;
    bool enable_stat_watcher;
    bool enable_watch_timer;
    bool follow_inodes;
    bool skip_refresh_on_startup;
    int64_t limit_recently_modified_ms;
    bool ignore_repeated_permission_error;
    bool open_on_every_update;
    char *encoding;
    char *from_encoding;
    int64_t multiline_flush_interval_ms;
    int64_t pos_file_compaction_interval_ms;
    int64_t pos_file_write_interval_ms;
    char *read_bytes_limit_per_second; /* a size, or -1: see tail_init */
    char *format; /* v0.12: read through sk_parser_create */
};

struct tail_file {
    struct tail *t;              /* borrowed */
    char *path;                  /* owned: the watched path (tag, path_key) */
    char *disk_path;             /* owned: where a rotated file is now, or NULL */
    char *tag;                   /* owned: the tag after '*' expansion */
    int fd;                      /* -1 between reads with open_on_every_update */
    uint64_t inode;
    uint64_t acked;              /* bytes emitted (what pos_file says) */
    uint64_t read_off;           /* bytes read from fd */
    struct sk_buf pending;       /* bytes read but not yet a complete line */
    bool skipping;               /* inside an over-long line: drop to the next LF */
    bool rotated;                /* path now names another file */
    bool no_pos;                 /* not recorded in pos_file (copies, lost renames) */
    bool eof;                    /* the last read reached the end */
    bool backlog;                /* the last read stopped at the slice bound */
    bool pos_dirty;              /* acked moved since pos_file was written */
    struct sk_buf block;         /* multiline: raw lines of the event being gathered */
    int64_t block_ms;            /* loop time of the block's last line */
    unsigned char head[256];     /* the file's first bytes: its fingerprint */
    size_t head_len;
    int64_t rotated_deadline_ms;
    int64_t window_start_ms;     /* read_bytes_limit_per_second: this second's reads */
    uint64_t window_bytes;
    int64_t throttled_until_ms;  /* 0, or when reading may resume */
    struct tail_file *next;
};

/* One watched path: inotify/stat events for it, whichever file it names. */
struct tail_watch {
    struct tail *t;              /* borrowed */
    char *path;                  /* owned */
    struct sk_fswatch *w;
    struct tail_watch *next;
};

struct tail {
    struct sk_instance *ins;     /* borrowed */
    const struct tail_conf *conf;
    struct sk_instance *parser;  /* engine-owned */
    struct tail_conv *conv;      /* owned: from_encoding -> encoding, or NULL */
    const char *eol;             /* line terminator in the file's encoding */
    size_t eol_len;
    int64_t rate_limit;          /* bytes per second and file, or -1 */
    struct tail_pos pos;
    bool has_pos;
    struct tail_file *files;     /* owned list: live and rotated files */
    struct tail_watch *watches;  /* owned list */
    struct sk_evbuf events;
    struct sk_evbuf errors;
    struct sk_timer *refresh_timer;
    struct sk_timer *poll_timer; /* watch timer and retries after a full buffer */
    struct sk_timer *throttle_timer; /* resumes files throttled by the rate limit */
    int64_t throttle_due_ms;     /* when throttle_timer fires, or 0 */
    struct sk_timer *compact_timer;  /* pos_file_compaction_interval */
    struct sk_timer *resume_timer;   /* zero delay: the next slice of backlogged files */
    struct sk_timer *pos_timer;      /* pos_file_write_interval: writes moved positions */
    size_t lines_limit;          /* read_lines_limit: lines per slice; 0: TAIL_SLICE_BYTES */
    bool blocked;                /* the last emit was refused: retry later */
    bool multiline;              /* the parser takes blocks of lines */
    bool firstline;              /* ... started by format_firstline */
    uint64_t lines;
    uint64_t unmatched;
    struct sk_log_limit unmatched_log;
};

/* One file a refresh found: a path the globs expand to, and its inode. */
struct tail_target {
    char *path;                  /* owned */
    uint64_t inode;
};

struct tail_targets {
    struct tail_target *v;       /* owned */
    size_t n;
};

/* tail_file.c */
/* Opens `path` where pos_file says, or at its start (from_head,
 * read_from_head) or end; records the position. NULL when it cannot be
 * opened (logged unless it does not exist). */
struct tail_file *tail_file_open(struct tail *t, const char *path, bool from_head);
/* Opens a rotated file found at `disk_path` (watched as `path`) to read it
 * from `offset` for rotate_wait; with `record`, its position is recorded
 * under disk_path (or its inode with follow_inodes). NULL when it cannot
 * be opened or is shorter than `offset`. */
struct tail_file *tail_file_open_rotated(struct tail *t, const char *path, const char *disk_path,
                                         uint64_t offset, bool record);
/* Follows a rotated file again, as live at `path` (its new name matches
 * the globs): nothing of it is read twice. */
int tail_file_adopt(struct tail_file *f, const char *path) SK_WUR;
/* Closes and frees `f` (NULL or half-built too); its pos_file entry stays. */
void tail_file_close(struct tail_file *f);
/* Reads and emits what the file has now, at most one slice
 * (TAIL_SLICE_BYTES, or lines_limit lines): a file with more to read is
 * marked backlog and the resume timer armed. Returns SK_EFULL when
 * blocked; returns 0 at once while the file is throttled. */
int tail_file_read(struct tail_file *f);
/* Records the file's acknowledged offset in the pos_file (if it has one)
 * now, and clears pos_dirty. */
void tail_file_save_pos(struct tail_file *f);
/* Writes the offset if it moved since the last write (pos_dirty). */
void tail_file_sync_pos(struct tail_file *f);
/* The fd to read with; opens it with open_on_every_update. 0, or a
 * negative code when the file is gone or is another file now. */
int tail_file_acquire(struct tail_file *f) SK_WUR;
/* Closes the fd again with open_on_every_update. */
void tail_file_release(struct tail_file *f);

/* Multiline: the pending block becomes an event now and is emitted
 * (flush interval, shutdown). SK_EFULL when blocked. */
int tail_file_flush_block(struct tail_file *f) SK_WUR;
/* Before a rotated file is closed: its last bytes without a newline become
 * a line (with a warning), its pending block an event, and they are emitted.
 * SK_EFULL when blocked (the file must stay open). */
int tail_file_finish(struct tail_file *f) SK_WUR;

/* tail_rotate.c */
/* Notices truncation (then reads the lost lines from the rotated copy, if
 * any), and rotation (the path now names another file or nothing): then
 * the file is marked rotated, is found under its new name so its position
 * stays recorded, and is read for rotate_wait more. */
void tail_file_check(struct tail_file *f);
/* The file now holding `inode` among the rotated siblings of `path` (same
 * directory, name starting with path's file name and going on, not
 * compressed): an owned path, or NULL. *size gets its size. */
char *tail_find_rotated(const char *path, uint64_t inode, uint64_t *size);
/* At start, before the targets are opened: reads first the unread tails of
 * files that pos_file remembers but that were rotated away (renamed while
 * skiff was down, or during rotate_wait before a crash). */
void tail_recover_rotated(struct tail *t, const struct tail_targets *targets);

/* tail_watch.c */
/* Expands the globs and opens new files (at start: after reading the
 * unread tails of files rotated meanwhile). */
void tail_refresh(struct tail *t, bool at_start);
/* Closes rotated files read to their end once rotate_wait passed. True
 * when one was closed. */
bool tail_reap_rotated(struct tail *t);
/* True when one of the files a refresh found has `inode`. */
bool tail_targets_has_inode(const struct tail_targets *ts, uint64_t inode);
/* Stops and frees every path watch (at stop). */
void tail_watches_destroy(struct tail *t);
/* Marks the pos_file entry of (path, inode) unwatched; failures are logged
 * (the entry then stays until the next compaction at start). */
void tail_unwatch(struct tail *t, const char *path, uint64_t inode);

/* tail.c: (re)arms the timer that resumes throttled files. */
void tail_throttle_arm(struct tail *t, int64_t until_ms);
/* tail.c: `f` has more to read: it gets its next slice in the next loop
 * iteration (round robin with the other backlogged files). */
void tail_resume_arm(struct tail_file *f);
/* tail.c: `f` changed: it is read within TAIL_COALESCE_MS, with whatever
 * else changed meanwhile. */
void tail_read_soon(struct tail_file *f);
/* tail.c: f->acked moved: the pos_file gets it within
 * pos_file_write_interval (at once when that is 0). */
void tail_pos_moved(struct tail_file *f);

#endif
