#ifndef SK_IN_TAIL_TAIL_POS_H
#define SK_IN_TAIL_TAIL_POS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/*
 * td-agent's position file, read and written in its exact format so both
 * programs can use the same file:
 *
 *   +------------------------+-----+------------------+-----+------------------+----+
 *   | /var/log/nginx/a.log   | TAB | 0000000000003039 | TAB | 0000000000101801 | LF |
 *   +------------------------+-----+------------------+-----+------------------+----+
 *     path (no TAB)                 offset, 16 hex            inode, 16 hex
 *
 * Offset ffffffffffffffff marks an entry no longer watched. Entries are
 * updated in place (fixed width), so one pwrite of 33 bytes moves an
 * offset. Lines nobody owns any more (unwatched, replaced) stay in the file
 * until it is compacted: when it is opened, and on request (periodically
 * with pos_file_compaction_interval).
 *
 * Entries are keyed by path, or by inode with follow_inodes (Fluentd's
 * rule): then several lines may name one path, one per inode, e.g. the
 * rotated access.log and its successor.
 */
#define SK_POS_UNWATCHED UINT64_MAX

struct tail_pos_entry {
    char *path;      /* owned */
    uint64_t offset;
    uint64_t inode;
    off_t field_off; /* where "offset<TAB>inode" starts in the file */
};

struct tail_pos {
    int fd;
    char *path;      /* owned */
    struct tail_pos_entry *entries; /* owned */
    size_t n;
    bool by_inode;   /* follow_inodes: the key is the inode, not the path */
    size_t stale;    /* lines in the file that no entry owns */
};

/* Opens (creating it and its directory) and compacts the file: the last
 * line per key wins, unwatched and unparsable lines are dropped. */
int tail_pos_open(struct tail_pos *pos, const char *path, bool by_inode) SK_WUR;
void tail_pos_close(struct tail_pos *pos);

/* The entry for `path` (by path) or `inode` (by inode), or NULL. The
 * pointer is valid until the next call that adds or removes an entry. */
struct tail_pos_entry *tail_pos_find(struct tail_pos *pos, const char *path, uint64_t inode);

/* Records offset and inode under the key of (path, inode), appending an
 * entry written with `path` if there is none. */
int tail_pos_update(struct tail_pos *pos, const char *path, uint64_t offset,
                    uint64_t inode) SK_WUR;

/* Marks the entry of (path, inode) unwatched in the file (td-agent's
 * ffff... offset) and forgets it. 0 also when there is no entry, or when
 * the path's entry records another inode (it belongs to a successor). */
int tail_pos_unwatch(struct tail_pos *pos, const char *path, uint64_t inode) SK_WUR;

/* Forgets an entry without writing: its line goes at the next compaction. */
void tail_pos_forget(struct tail_pos *pos, struct tail_pos_entry *e);

/* Rewrites the file with one line per entry, atomically (a temporary file
 * renamed over it), or in place when the directory is not writable. The
 * result is td-agent's format. On failure the file and entries are as
 * they were. */
int tail_pos_compact(struct tail_pos *pos) SK_WUR;

/* Parses one line ("path\tHEX\tHEX"); 0 or SK_EPARSE. *path_len excludes the TAB. */
int tail_pos_parse_line(const char *line, size_t len, size_t *path_len, uint64_t *offset,
                        uint64_t *inode) SK_WUR;

#endif
