#ifndef SK_IN_TAIL_TAIL_H
#define SK_IN_TAIL_TAIL_H

/* in_tail internals shared by tail.c and tail_file.c. */
#include <stdbool.h>
#include <stdint.h>

#include "in_tail/tail_pos.h"
#include "plugin/plugin.h"

struct sk_timer;
struct sk_fswatch;

struct tail_conf {
    struct sk_strv path;
    char *tag;
    struct sk_strv exclude_path;
    char *pos_file;
    bool read_from_head;
    int64_t refresh_interval_ms;
    int64_t rotate_wait_ms;
    int64_t read_lines_limit;
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
    int64_t read_bytes_limit_per_second;
    char *format; /* v0.12: read through sk_parser_create */
};

struct tail_file {
    struct tail *t;              /* borrowed */
    char *path;                  /* owned */
    char *tag;                   /* owned: the tag after '*' expansion */
    int fd;
    uint64_t inode;
    uint64_t acked;              /* bytes emitted (what pos_file says) */
    uint64_t read_off;           /* bytes read from fd */
    struct sk_buf pending;       /* bytes read but not yet a complete line */
    bool skipping;               /* inside an over-long line: drop to the next LF */
    bool rotated;                /* path now names another file */
    bool no_pos;                 /* not recorded in pos_file (rotated files, copies) */
    struct sk_buf block;         /* multiline: raw lines of the event being gathered */
    int64_t block_ms;            /* loop time of the block's last line */
    unsigned char head[256];     /* the file's first bytes: its fingerprint */
    size_t head_len;
    int64_t rotated_deadline_ms;
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
    struct tail_pos pos;
    bool has_pos;
    struct tail_file *files;     /* owned list: live and rotated files */
    struct tail_watch *watches;  /* owned list */
    struct sk_evbuf events;
    struct sk_evbuf errors;
    struct sk_timer *refresh_timer;
    struct sk_timer *poll_timer; /* watch timer and retries after a full buffer */
    bool blocked;                /* the last emit was refused: retry later */
    bool multiline;              /* the parser takes blocks of lines */
    bool firstline;              /* ... started by format_firstline */
    uint64_t lines;
    uint64_t unmatched;
    struct sk_log_limit unmatched_log;
};

/* tail_file.c */
struct tail_file *tail_file_open(struct tail *t, const char *path, bool from_head);
void tail_file_close(struct tail_file *f);
/* Reads and emits what the file has now. Returns SK_EFULL when blocked. */
int tail_file_read(struct tail_file *f);
/* Opens the rotated copy of `orig` (copytruncate) to read what `orig` had
 * not read before it was cut short. NULL when `path` is not that copy. */
struct tail_file *tail_file_open_copy(struct tail *t, const char *path,
                                      const struct tail_file *orig);

/* Multiline: parses the pending block now (flush interval, file closing). */
int tail_file_flush_block(struct tail_file *f) SK_WUR;

/* Notices truncation, and rotation (the path now names another file or
 * nothing): then the file is marked rotated and read for rotate_wait more. */
void tail_file_check(struct tail_file *f);

/* tail.c: opens the file now at `path` (if any and not open yet). */
void tail_open_path(struct tail *t, const char *path, bool from_head);

#endif
