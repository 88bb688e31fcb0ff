#include "in_tail/tail_pos.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/log.h"
#include "util/alloc.h"
#include "util/buf.h"

#define POS_FILE_MAX (64u << 20)

static int hex_field(const char *p, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 16) {
        return SK_EPARSE;
    }
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        unsigned d;

        if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            d = (unsigned)(c - 'A' + 10);
        } else {
            return SK_EPARSE;
        }
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

int tail_pos_parse_line(const char *line, size_t len, size_t *path_len, uint64_t *offset,
                        uint64_t *inode)
{
    const char *t1 = memchr(line, '\t', len);
    const char *t2;
    const char *end = line + len;
    const char *p;

    if (t1 == NULL || t1 == line) {
        return SK_EPARSE;
    }
    t2 = memchr(t1 + 1, '\t', (size_t)(end - t1 - 1));
    if (t2 == NULL || hex_field(t1 + 1, (size_t)(t2 - t1 - 1), offset) < 0) {
        return SK_EPARSE;
    }
    /* The reader regex allows trailing text after the inode's hex digits. */
    for (p = t2 + 1; p < end && p - t2 - 1 < 16; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'))) {
            break;
        }
    }
    if (hex_field(t2 + 1, (size_t)(p - t2 - 1), inode) < 0) {
        return SK_EPARSE;
    }
    *path_len = (size_t)(t1 - line);
    return 0;
}

static bool same_key(const struct tail_pos *pos, const struct tail_pos_entry *e, const char *path,
                     size_t len, uint64_t inode)
{
    if (pos->by_inode) {
        return e->inode == inode;
    }
    return strlen(e->path) == len && memcmp(e->path, path, len) == 0;
}

static struct tail_pos_entry *find_key(struct tail_pos *pos, const char *path, size_t len,
                                       uint64_t inode)
{
    for (size_t i = 0; i < pos->n; i++) {
        if (same_key(pos, &pos->entries[i], path, len, inode)) {
            return &pos->entries[i];
        }
    }
    return NULL;
}

static int add_entry(struct tail_pos *pos, const char *path, size_t len, uint64_t offset,
                     uint64_t inode)
{
    struct tail_pos_entry *e = find_key(pos, path, len, inode);
    struct tail_pos_entry *grown;

    if (e != NULL) {
        char *copy = sk_strndup(path, len); /* the last line for a key wins */

        if (copy == NULL) {
            return SK_ENOMEM;
        }
        sk_free(e->path);
        e->path = copy;
        e->offset = offset;
        e->inode = inode;
        pos->stale++;
        return 0;
    }
    grown = sk_realloc(pos->entries, (pos->n + 1) * sizeof(*grown));
    if (grown == NULL) {
        return SK_ENOMEM;
    }
    pos->entries = grown;
    grown[pos->n].path = sk_strndup(path, len);
    if (grown[pos->n].path == NULL) {
        return SK_ENOMEM;
    }
    grown[pos->n].offset = offset;
    grown[pos->n].inode = inode;
    grown[pos->n].field_off = 0;
    pos->n++;
    return 0;
}

static int load(struct tail_pos *pos, const char *data, size_t len)
{
    const char *p = data;
    const char *end = data + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t llen = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        size_t plen;
        uint64_t offset;
        uint64_t inode;
        int rc;

        if (llen == 0) {
            p += 1;
            continue;
        }
        if (tail_pos_parse_line(p, llen, &plen, &offset, &inode) < 0) {
            sk_log(SK_LOG_WARN, "%s: unparsable line in pos_file: %.*s", pos->path, (int)llen, p);
        } else if (offset != SK_POS_UNWATCHED) {
            if (find_key(pos, p, plen, inode) != NULL) {
                sk_log(SK_LOG_WARN, "%s: %.*s already exists in pos_file; using the latest line",
                       pos->path, (int)plen, p);
            }
            rc = add_entry(pos, p, plen, offset, inode);
            if (rc < 0) {
                return rc;
            }
        }
        p += llen + 1;
    }
    return 0;
}

/* The file's text for the entries, with each entry's field offset set. */
static int render(struct tail_pos *pos, struct sk_buf *out)
{
    int rc = 0;

    for (size_t i = 0; i < pos->n && rc == 0; i++) {
        pos->entries[i].field_off = (off_t)(out->len + strlen(pos->entries[i].path) + 1);
        rc = sk_buf_printf(out, "%s\t%016llx\t%016llx\n", pos->entries[i].path,
                           (unsigned long long)pos->entries[i].offset,
                           (unsigned long long)pos->entries[i].inode);
    }
    return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
    return len == 0 || pwrite(fd, data, len, 0) == (ssize_t)len ? 0 : SK_EIO;
}

/* Writes `data` to a new file next to the pos_file and renames it over:
 * a crash leaves the old or the new file, never a half-written one. */
static int replace_file(struct tail_pos *pos, const char *data, size_t len)
{
    char tmp[4200];
    struct stat st;
    int fd;
    int rc;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.compact", pos->path) >= sizeof(tmp) ||
        fstat(pos->fd, &st) < 0) {
        return SK_EIO;
    }
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
    if (fd < 0) {
        return sk_err_from_errno(errno);
    }
    /* Same mode (open applied the umask) and owner as the file it replaces. */
    rc = fchmod(fd, st.st_mode & 07777) < 0 ? sk_err_from_errno(errno) : 0;
    if (rc == 0 && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
        fchown(fd, st.st_uid, st.st_gid) < 0) {
        rc = sk_err_from_errno(errno); /* not root: keep the old file, rewrite it in place */
    }
    if (rc == 0) {
        rc = write_all(fd, data, len);
    }
    if (rc == 0 && fsync(fd) < 0) {
        rc = SK_EIO;
    }
    if (rc == 0 && rename(tmp, pos->path) < 0) {
        rc = sk_err_from_errno(errno);
    }
    if (rc < 0) {
        close(fd);
        unlink(tmp);
        return rc;
    }
    close(pos->fd);
    pos->fd = fd;
    return 0;
}

int tail_pos_compact(struct tail_pos *pos)
{
    struct sk_buf out;
    int rc;

    sk_buf_init(&out, POS_FILE_MAX);
    rc = render(pos, &out);
    if (rc == 0 && replace_file(pos, out.data, out.len) < 0) {
        /* td-agent's way: truncate and write in place. */
        rc = ftruncate(pos->fd, 0) < 0 ? sk_err_from_errno(errno)
                                        : write_all(pos->fd, out.data, out.len);
    }
    if (rc == 0) {
        pos->stale = 0;
    }
    sk_buf_cleanup(&out);
    return rc;
}

static void make_parent_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');

    if (slash == NULL || slash == path || (size_t)(slash - path) >= sizeof(dir)) {
        return;
    }
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    }
    mkdir(dir, 0755);
}

int tail_pos_open(struct tail_pos *pos, const char *path, bool by_inode)
{
    struct sk_buf data;
    char chunk[65536];
    ssize_t n;
    int rc = 0;

    memset(pos, 0, sizeof(*pos));
    pos->fd = -1;
    pos->by_inode = by_inode;
    pos->path = sk_strdup(path);
    if (pos->path == NULL) {
        return SK_ENOMEM;
    }
    make_parent_dir(path);
    pos->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (pos->fd < 0) {
        return sk_err_from_errno(errno);
    }
    sk_buf_init(&data, POS_FILE_MAX);
    while ((n = read(pos->fd, chunk, sizeof(chunk))) > 0 && rc == 0) {
        rc = sk_buf_append(&data, chunk, (size_t)n);
    }
    if (n < 0) {
        rc = sk_err_from_errno(errno);
    }
    if (rc == 0 && data.len > 0) {
        rc = load(pos, data.data, data.len);
    }
    sk_buf_cleanup(&data);
    if (rc == 0) {
        rc = tail_pos_compact(pos);
    }
    return rc;
}

void tail_pos_close(struct tail_pos *pos)
{
    if (pos->fd >= 0) {
        close(pos->fd);
    }
    for (size_t i = 0; i < pos->n; i++) {
        sk_free(pos->entries[i].path);
    }
    sk_free(pos->entries);
    sk_free(pos->path);
    memset(pos, 0, sizeof(*pos));
    pos->fd = -1;
}

struct tail_pos_entry *tail_pos_find(struct tail_pos *pos, const char *path, uint64_t inode)
{
    return find_key(pos, path, strlen(path), inode);
}

static int append_entry(struct tail_pos *pos, const char *path, uint64_t offset, uint64_t inode)
{
    struct stat st;
    char line[4200];
    int llen;
    int rc;

    if (fstat(pos->fd, &st) < 0) {
        return sk_err_from_errno(errno);
    }
    llen = snprintf(line, sizeof(line), "%s\t%016llx\t%016llx\n", path,
                    (unsigned long long)offset, (unsigned long long)inode);
    if (llen < 0 || (size_t)llen >= sizeof(line)) {
        return SK_ETOOBIG;
    }
    if (pwrite(pos->fd, line, (size_t)llen, st.st_size) != llen) {
        return SK_EIO;
    }
    rc = add_entry(pos, path, strlen(path), offset, inode);
    if (rc < 0) {
        return rc;
    }
    pos->entries[pos->n - 1].field_off = st.st_size + (off_t)strlen(path) + 1;
    return 0;
}

static int write_fields(struct tail_pos *pos, struct tail_pos_entry *e, uint64_t offset,
                        uint64_t inode)
{
    char field[40];
    int len = snprintf(field, sizeof(field), "%016llx\t%016llx", (unsigned long long)offset,
                       (unsigned long long)inode);

    if (pwrite(pos->fd, field, (size_t)len, e->field_off) != len) {
        return SK_EIO;
    }
    return 0;
}

int tail_pos_update(struct tail_pos *pos, const char *path, uint64_t offset, uint64_t inode)
{
    struct tail_pos_entry *e = tail_pos_find(pos, path, inode);
    int rc;

    if (e == NULL) {
        return append_entry(pos, path, offset, inode);
    }
    if (e->offset == offset && e->inode == inode) {
        return 0;
    }
    rc = write_fields(pos, e, offset, inode);
    if (rc == 0) {
        e->offset = offset;
        e->inode = inode;
    }
    return rc;
}

void tail_pos_forget(struct tail_pos *pos, struct tail_pos_entry *e)
{
    size_t i = (size_t)(e - pos->entries);

    sk_free(e->path);
    pos->entries[i] = pos->entries[pos->n - 1];
    pos->n--;
    pos->stale++;
}

int tail_pos_unwatch(struct tail_pos *pos, const char *path, uint64_t inode)
{
    struct tail_pos_entry *e = tail_pos_find(pos, path, inode);
    int rc;

    if (e == NULL || e->inode != inode) {
        return 0; /* none, or the path's entry belongs to another file now */
    }
    rc = write_fields(pos, e, SK_POS_UNWATCHED, e->inode);
    if (rc == 0) {
        tail_pos_forget(pos, e);
    }
    return rc;
}
