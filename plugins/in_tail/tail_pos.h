#ifndef SK_IN_TAIL_TAIL_POS_H
#define SK_IN_TAIL_TAIL_POS_H

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
 * offset; the file is compacted (last entry per path, no unwatched ones)
 * when it is opened.
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
};

/* Opens (creating it and its directory) and compacts the file. */
int tail_pos_open(struct tail_pos *pos, const char *path) SK_WUR;
void tail_pos_close(struct tail_pos *pos);

/* The entry for `path`, or NULL. */
struct tail_pos_entry *tail_pos_find(struct tail_pos *pos, const char *path);

/* Records offset and inode for `path`, appending an entry if it is new. */
int tail_pos_update(struct tail_pos *pos, const char *path, uint64_t offset,
                    uint64_t inode) SK_WUR;

/* Parses one line ("path\tHEX\tHEX"); 0 or SK_EPARSE. *path_len excludes the TAB. */
int tail_pos_parse_line(const char *line, size_t len, size_t *path_len, uint64_t *offset,
                        uint64_t *inode) SK_WUR;

#endif
