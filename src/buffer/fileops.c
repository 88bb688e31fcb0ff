/* The file-ops seam: the C library, helpers over it, and a faulty twin. */
#include "buffer/fileops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

/* --- The C library ------------------------------------------------------- */

static int libc_open(void *ctx, const char *path, int flags, unsigned int mode)
{
    (void)ctx;
    return open(path, flags, (mode_t)mode);
}

static int libc_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd);
}

static ssize_t libc_pread(void *ctx, int fd, void *p, size_t n, int64_t off)
{
    (void)ctx;
    return pread(fd, p, n, (off_t)off);
}

static ssize_t libc_pwrite(void *ctx, int fd, const void *p, size_t n, int64_t off)
{
    (void)ctx;
    return pwrite(fd, p, n, (off_t)off);
}

static int libc_fsync(void *ctx, int fd)
{
    (void)ctx;
    return fsync(fd);
}

static int libc_ftruncate(void *ctx, int fd, int64_t len)
{
    (void)ctx;
    return ftruncate(fd, (off_t)len);
}

static int libc_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    return rename(from, to);
}

static int libc_unlink(void *ctx, const char *path)
{
    (void)ctx;
    return unlink(path);
}

static int libc_mkdir(void *ctx, const char *path, unsigned int mode)
{
    (void)ctx;
    return mkdir(path, (mode_t)mode);
}

const struct sk_fileops sk_fileops_libc = {
    .ctx = NULL,
    .open = libc_open,
    .close = libc_close,
    .pread = libc_pread,
    .pwrite = libc_pwrite,
    .fsync = libc_fsync,
    .ftruncate = libc_ftruncate,
    .rename = libc_rename,
    .unlink = libc_unlink,
    .mkdir = libc_mkdir,
};

/* --- Helpers ------------------------------------------------------------- */

int sk_fops_pwrite_all(const struct sk_fileops *ops, int fd, const void *p, size_t n,
                       int64_t off, size_t *written)
{
    const char *c = p;
    size_t done = 0;
    int rc = 0;

    while (done < n) {
        ssize_t w = ops->pwrite(ops->ctx, fd, c + done, n - done, off + (int64_t)done);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            rc = sk_err_from_errno(errno);
            break;
        }
        if (w == 0) {
            rc = SK_EIO; /* no progress: do not spin */
            break;
        }
        done += (size_t)w;
    }
    if (written != NULL) {
        *written = done;
    }
    return rc;
}

int sk_fops_pread_all(const struct sk_fileops *ops, int fd, void *p, size_t n, int64_t off,
                      size_t *got)
{
    char *c = p;
    size_t done = 0;
    int rc = 0;

    while (done < n) {
        ssize_t r = ops->pread(ops->ctx, fd, c + done, n - done, off + (int64_t)done);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = sk_err_from_errno(errno);
            break;
        }
        if (r == 0) {
            break;
        }
        done += (size_t)r;
    }
    *got = done;
    return rc;
}

int sk_fops_open(const struct sk_fileops *ops, const char *path, int flags, unsigned int mode)
{
    for (;;) {
        int fd = ops->open(ops->ctx, path, flags, mode);

        if (fd >= 0) {
            return fd;
        }
        if (errno != EINTR) {
            return sk_err_from_errno(errno);
        }
    }
}

int sk_fops_fsync(const struct sk_fileops *ops, int fd)
{
    while (ops->fsync(ops->ctx, fd) != 0) {
        if (errno != EINTR) {
            return sk_err_from_errno(errno);
        }
    }
    return 0;
}

int sk_fops_ftruncate(const struct sk_fileops *ops, int fd, int64_t len)
{
    while (ops->ftruncate(ops->ctx, fd, len) != 0) {
        if (errno != EINTR) {
            return sk_err_from_errno(errno);
        }
    }
    return 0;
}

int sk_fops_rename(const struct sk_fileops *ops, const char *from, const char *to)
{
    while (ops->rename(ops->ctx, from, to) != 0) {
        if (errno != EINTR) {
            return sk_err_from_errno(errno);
        }
    }
    return 0;
}

int sk_fops_unlink(const struct sk_fileops *ops, const char *path)
{
    while (ops->unlink(ops->ctx, path) != 0) {
        if (errno != EINTR) {
            return sk_err_from_errno(errno);
        }
    }
    return 0;
}

void sk_fops_close(const struct sk_fileops *ops, int fd)
{
    if (fd >= 0) {
        (void)ops->close(ops->ctx, fd);
    }
}

int sk_fops_fsync_dir(const struct sk_fileops *ops, const char *dir)
{
    int fd = sk_fops_open(ops, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    int rc;

    if (fd < 0) {
        return fd;
    }
    rc = sk_fops_fsync(ops, fd);
    sk_fops_close(ops, fd);
    return rc;
}

int sk_fops_mkdir_p(const struct sk_fileops *ops, const char *dir, unsigned int mode)
{
    char *path = sk_strdup(dir);
    size_t len;
    int rc = 0;

    if (path == NULL) {
        return SK_ENOMEM;
    }
    len = strlen(path);
    /* Create each prefix ending at a '/', then the whole path. */
    for (size_t i = 1; i <= len && rc == 0; i++) {
        if (path[i] != '/' && path[i] != '\0') {
            continue;
        }
        path[i] = '\0';
        while (ops->mkdir(ops->ctx, path, mode) != 0 && errno != EEXIST) {
            if (errno != EINTR) {
                rc = sk_err_from_errno(errno);
                break;
            }
        }
        if (i < len) {
            path[i] = '/';
        }
    }
    sk_free(path);
    return rc;
}

/* --- Fault injection ----------------------------------------------------- */

/* Decides whether a call of `kind` fails; 0 lets it through. */
static int fault_check(struct sk_fault *f, unsigned int kind, bool changes)
{
    f->calls++;
    if (f->crashed) {
        return EIO;
    }
    if (f->eintr_every > 0 && f->calls % f->eintr_every == 0) {
        return EINTR;
    }
    if ((f->eio_mask & kind) != 0) {
        return EIO;
    }
    if (!changes) {
        return 0;
    }
    if (f->fail_mask == 0 || (f->fail_mask & kind) != 0) {
        f->changes++;
        if (f->fail_at > 0 && f->changes == f->fail_at) {
            if (f->fail_errno == 0) {
                f->crashed = true;
                return EIO;
            }
            return f->fail_errno;
        }
    }
    return 0;
}

static int fault_errno(int e)
{
    errno = e;
    return -1;
}

static int fault_open(void *ctx, const char *path, int flags, unsigned int mode)
{
    struct sk_fault *f = ctx;
    bool creates = (flags & (O_CREAT | O_TRUNC)) != 0;
    int e = fault_check(f, creates ? SK_FAULT_OPEN : SK_FAULT_READ, creates);

    return e != 0 ? fault_errno(e) : open(path, flags, (mode_t)mode);
}

static int fault_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd);
}

static ssize_t fault_pread(void *ctx, int fd, void *p, size_t n, int64_t off)
{
    int e = fault_check(ctx, SK_FAULT_READ, false);

    return e != 0 ? fault_errno(e) : pread(fd, p, n, (off_t)off);
}

static ssize_t fault_pwrite(void *ctx, int fd, const void *p, size_t n, int64_t off)
{
    struct sk_fault *f = ctx;
    int e = fault_check(f, SK_FAULT_PWRITE, true);
    ssize_t w;

    if (e != 0) {
        return fault_errno(e);
    }
    if (f->max_write > 0 && n > f->max_write) {
        n = f->max_write;
    }
    if (f->write_budget >= 0 && (uint64_t)f->write_budget < n) {
        if (f->write_budget == 0) {
            f->crashed = f->budget_errno == 0;
            return fault_errno(f->budget_errno != 0 ? f->budget_errno : EIO);
        }
        n = (size_t)f->write_budget; /* the part that fits, then the error */
    }
    w = pwrite(fd, p, n, (off_t)off);
    if (w > 0) {
        f->written += (uint64_t)w;
        if (f->write_budget >= 0) {
            f->write_budget -= w;
        }
    }
    return w;
}

static int fault_fsync(void *ctx, int fd)
{
    int e = fault_check(ctx, SK_FAULT_FSYNC, true);

    return e != 0 ? fault_errno(e) : fsync(fd);
}

static int fault_ftruncate(void *ctx, int fd, int64_t len)
{
    int e = fault_check(ctx, SK_FAULT_FTRUNCATE, true);

    return e != 0 ? fault_errno(e) : ftruncate(fd, (off_t)len);
}

static int fault_rename(void *ctx, const char *from, const char *to)
{
    int e = fault_check(ctx, SK_FAULT_RENAME, true);

    return e != 0 ? fault_errno(e) : rename(from, to);
}

static int fault_unlink(void *ctx, const char *path)
{
    int e = fault_check(ctx, SK_FAULT_UNLINK, true);

    return e != 0 ? fault_errno(e) : unlink(path);
}

static int fault_mkdir(void *ctx, const char *path, unsigned int mode)
{
    int e = fault_check(ctx, SK_FAULT_MKDIR, true);

    return e != 0 ? fault_errno(e) : mkdir(path, (mode_t)mode);
}

void sk_fault_init(struct sk_fault *f)
{
    memset(f, 0, sizeof(*f));
    f->write_budget = -1;
    f->ops = (struct sk_fileops){
        .ctx = f,
        .open = fault_open,
        .close = fault_close,
        .pread = fault_pread,
        .pwrite = fault_pwrite,
        .fsync = fault_fsync,
        .ftruncate = fault_ftruncate,
        .rename = fault_rename,
        .unlink = fault_unlink,
        .mkdir = fault_mkdir,
    };
}
