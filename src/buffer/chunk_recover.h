#ifndef SK_BUFFER_CHUNK_RECOVER_H
#define SK_BUFFER_CHUNK_RECOVER_H

#include <stddef.h>
#include <stdint.h>

#include "buffer/chunk_file.h"
#include "util/err.h"

/*
 * Where a file buffer keeps its chunks (buf_file.rb#configure) and how a
 * restart loads what td-agent or an earlier skiff left there.
 *
 * Path resolution, P = <buffer> path, S = path_suffix (".log"):
 *
 *   path not set, root_dir and @id set  -> <root_dir>/worker<N>/<@id>/buffer/buffer.*S
 *   P is a directory, or P is missing
 *     and has no ".*"                   -> P/buffer.*S
 *                         (workers > 1:    P/worker<N>/buffer.*S, and worker 0 also
 *                                          resumes P/buffer.*S)
 *   basename of P contains ".*."        -> P
 *   basename of P ends with ".*"        -> P + S
 *   otherwise                           -> P + ".*" + S
 *
 * Recovery of one pattern "<dir>/<prefix>*<suffix>" (names in chunk_file.h):
 *
 *   file found                      becomes
 *   -----------------------------   ----------------------------------------------
 *   <prefix>b<id><suffix> + .meta   staged chunk (the caller queues it at start)
 *   <prefix>b<id><suffix>, no meta  queued, read-only (a v0.12 chunk), meta from data
 *   <prefix>q<id><suffix>           queued; meta optional (".b" meta adopted after a
 *                                   crash between enqueue's two renames)
 *   empty data file                 removed with its meta
 *   torn last record                cut off (ftruncate); counted
 *   unreadable bytes after events   original copied to <backup>/, chunk cut to the
 *                                   readable events
 *   no readable event at all        moved to <backup>/ (never deleted)
 *   file that cannot be read (EIO)  moved to <backup>/ when possible, else left
 *   <...>.meta without data         removed (it holds no events)
 *   <chunk>.tmp                     removed (an unfinished shrink; the chunk holds all)
 *   anything else                   left alone
 *
 * Each chunk's stream is walked (sk_mp_skip) and only whole [time, map]
 * events count; "s" is set from that count, whatever the meta said. A
 * missing or damaged meta is rebuilt: id from the name, "c" from the id's
 * time, "m" from the file's mtime, tag/timekey/variables nil.
 */

struct sk_chunk_path_conf {
    const char *path;        /* <buffer> path; NULL when not set */
    const char *path_suffix; /* NULL: ".log" */
    const char *root_dir;    /* <system> root_dir, or NULL */
    const char *plugin_id;   /* the output's @id, or NULL */
    unsigned int worker_id;
    unsigned int workers;    /* <system> workers; 0 or 1: one process */
};

struct sk_chunk_paths {
    char *pattern; /* owned: where chunks are created and resumed from */
    char *extra;   /* owned or NULL: worker 0 also resumes these */
};

/*
 * Resolves the chunk pattern as Fluentd does (table above; looks at the
 * disk with stat(2)). Returns 0 and fills *out (sk_chunk_paths_cleanup),
 * SK_ECONFIG when there is no path (nor root_dir and @id) or path_suffix
 * does not start with '.', SK_ENOMEM.
 */
int sk_chunk_paths_resolve(const struct sk_chunk_path_conf *pc, struct sk_chunk_paths *out) SK_WUR;
void sk_chunk_paths_cleanup(struct sk_chunk_paths *p);

/* The chunks found; both arrays and the chunks in them are owned. The
 * caller takes a chunk by copying its pointer and setting the slot NULL. */
struct sk_chunk_set {
    struct sk_chunk **staged; /* by "m", oldest first */
    size_t n_staged;
    struct sk_chunk **queued; /* by "m", oldest first: the flush order */
    size_t n_queued;
};

/* Destroys the chunks still in the set (files stay) and frees the arrays. */
void sk_chunk_set_cleanup(struct sk_chunk_set *s);

struct sk_recover_report {
    size_t staged;
    size_t queued;
    uint64_t records;       /* events in the loaded chunks */
    uint64_t bytes;         /* their data file bytes */
    size_t torn;            /* chunks whose torn last record was cut */
    uint64_t torn_bytes;    /* bytes cut off as torn */
    size_t meta_rebuilt;    /* .meta missing, damaged or incomplete */
    size_t legacy;          /* ".b" without .meta, loaded queued */
    size_t count_fixed;     /* meta "s" disagreed with the stream */
    size_t corrupt;         /* unreadable bytes cut (original copied to backup) */
    size_t backed_up;       /* chunks moved whole to backup */
    size_t failed;          /* left untouched after an error; tried again next start */
    size_t empty_removed;
    size_t orphan_meta_removed;
    size_t tmp_removed;
    size_t unknown;         /* names matching the pattern that are not chunks */
};

/*
 * Loads every chunk of paths->pattern (and paths->extra) as the table
 * above says, repairing the directory on the way. `opts` is borrowed by
 * the loaded chunks. `backup_dir` (NULL: "<chunk dir>/backup") receives
 * what cannot be served; it is created (opts->dir_mode) when first used.
 * Returns 0 with *out (sk_chunk_set_cleanup) and *rep filled; SK_ENOMEM,
 * or the SK_E* of a chunk directory that exists but cannot be listed,
 * with *out empty. Per-chunk trouble never fails the call: it is counted
 * and the chunk left for the next start. Safe to run again after any
 * failure or crash: each repair step is idempotent.
 */
int sk_chunk_recover(const struct sk_chunk_opts *opts, const struct sk_chunk_paths *paths,
                     const char *backup_dir, struct sk_chunk_set *out,
                     struct sk_recover_report *rep) SK_WUR;

#endif
