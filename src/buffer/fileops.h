#ifndef SK_BUFFER_FILEOPS_H
#define SK_BUFFER_FILEOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/*
 * The file-ops seam (sqlite's test6.c idea): every call that changes a
 * chunk or pos file on disk goes through one of these tables, so tests can
 * swap the C library for a table that writes short, fails with EINTR,
 * ENOSPC or EIO, or "crashes" (stops touching the disk at byte N or at the
 * Nth call) and then look at what a restart would find.
 *
 * The callbacks have the C library's shape and meaning: they return -1 and
 * set errno on failure. `ctx` is the table's own, passed back unchanged.
 */
struct sk_fileops {
    void *ctx;
    int (*open)(void *ctx, const char *path, int flags, unsigned int mode);
    int (*close)(void *ctx, int fd);
    ssize_t (*pread)(void *ctx, int fd, void *p, size_t n, int64_t off);
    ssize_t (*pwrite)(void *ctx, int fd, const void *p, size_t n, int64_t off);
    int (*fsync)(void *ctx, int fd);      /* files and directories */
    int (*ftruncate)(void *ctx, int fd, int64_t len);
    int (*rename)(void *ctx, const char *from, const char *to);
    int (*unlink)(void *ctx, const char *path);
    int (*mkdir)(void *ctx, const char *path, unsigned int mode);
};

/* The C library (open(2), pwrite(2), fsync(2), ...). */
extern const struct sk_fileops sk_fileops_libc;

/*
 * Writes all n bytes at `off`, going on after short writes and EINTR.
 * Returns 0, or the SK_E* code of the failing call (SK_ENOSPC for ENOSPC
 * and EDQUOT, SK_EIO for a write that makes no progress). On failure
 * *written (if not NULL) says how many bytes did reach the file.
 */
int sk_fops_pwrite_all(const struct sk_fileops *ops, int fd, const void *p, size_t n,
                       int64_t off, size_t *written) SK_WUR;

/* Reads up to n bytes at `off` into p, going on after short reads and
 * EINTR; *got is the count (less than n only at end of file). */
int sk_fops_pread_all(const struct sk_fileops *ops, int fd, void *p, size_t n, int64_t off,
                      size_t *got) SK_WUR;

/* open(2) retried on EINTR. Returns the fd, or a negative SK_E* code. */
int sk_fops_open(const struct sk_fileops *ops, const char *path, int flags,
                 unsigned int mode) SK_WUR;

/* fsync/ftruncate retried on EINTR; 0 or SK_E*. */
int sk_fops_fsync(const struct sk_fileops *ops, int fd) SK_WUR;
int sk_fops_ftruncate(const struct sk_fileops *ops, int fd, int64_t len) SK_WUR;

/* rename/unlink retried on EINTR; 0 or SK_E* (SK_ENOENT when missing). */
int sk_fops_rename(const struct sk_fileops *ops, const char *from, const char *to) SK_WUR;
int sk_fops_unlink(const struct sk_fileops *ops, const char *path) SK_WUR;

/* Marks the result of a best-effort step as deliberately unused: its
 * failure is made good later (next commit, or recovery at start). */
static inline void sk_fops_best_effort(int rc)
{
    (void)rc;
}

/* close(2) that ignores EINTR (the fd is gone either way on Linux). */
void sk_fops_close(const struct sk_fileops *ops, int fd);

/* Makes the entries of directory `dir` durable (open O_DIRECTORY + fsync). */
int sk_fops_fsync_dir(const struct sk_fileops *ops, const char *dir) SK_WUR;

/* Creates `dir` and its missing parents with `mode`; an existing
 * directory is fine. 0, SK_ENOMEM, or the SK_E* of the failing mkdir. */
int sk_fops_mkdir_p(const struct sk_fileops *ops, const char *dir, unsigned int mode) SK_WUR;

/* --- Fault injection (for tests) ---------------------------------------- */

enum sk_fault_op {
    SK_FAULT_OPEN = 1u << 0,      /* only opens with O_CREAT count as changes */
    SK_FAULT_PWRITE = 1u << 1,
    SK_FAULT_FSYNC = 1u << 2,
    SK_FAULT_FTRUNCATE = 1u << 3,
    SK_FAULT_RENAME = 1u << 4,
    SK_FAULT_UNLINK = 1u << 5,
    SK_FAULT_MKDIR = 1u << 6,
    SK_FAULT_READ = 1u << 7,      /* pread and plain opens: never counted by fail_at */
};

/*
 * A table over the C library that misbehaves on request. Fill the
 * settings after sk_fault_init and hand &f->ops to the code under test.
 *
 * "Crash" (errno 0 below) means the process is gone: the failing call and
 * every later one fails with EIO and touches nothing (close still closes,
 * so tests do not leak descriptors). What is on disk then is exactly what a
 * kill -9 at that point leaves; lost page cache (power cut) is not modelled.
 */
struct sk_fault {
    struct sk_fileops ops;        /* hand this to the code under test */
    /* settings */
    int64_t write_budget;         /* bytes pwrite may still write; -1: no limit */
    int budget_errno;             /* once spent: ENOSPC, EIO, ...; 0: crash */
    size_t max_write;             /* >0: every pwrite writes at most this much */
    unsigned int eintr_every;     /* >0: every Nth call first fails with EINTR */
    long fail_at;                 /* >0: the Nth changing call (in fail_mask) fails */
    int fail_errno;               /* errno for fail_at; 0: crash */
    unsigned int fail_mask;       /* enum sk_fault_op bits fail_at counts; 0: all changes */
    unsigned int eio_mask;        /* calls of these kinds always fail with EIO */
    /* state */
    long changes;                 /* changing calls counted so far */
    unsigned long calls;
    uint64_t written;
    bool crashed;
};

/* Sets every misbehaviour off (a faithful pass-through). */
void sk_fault_init(struct sk_fault *f);

#endif
