/*
 * Reading configuration files and resolving @include, as Fluentd does:
 *
 *   @include conf.d/x.conf       relative to the including file's directory;
 *   @include conf.d/[*].conf     a glob (written without the brackets),
 *                                expanded in byte order
 *   @include /etc/td-agent/x.conf
 *   @include "#{ENV['X'] || 'systemd'}.conf"   (the value syntax applies)
 *   include x.conf               old spelling, at a file's top level only
 *
 * The included text lands in place: inside a section when the @include is
 * written inside one. A glob that matches nothing is only a warning. A named
 * file that is missing is an error: stricter than Fluentd, which globs every
 * path and so skips a missing file silently. Remote includes (http://...)
 * are refused, and an include cycle is reported instead of recursing.
 */
#include "config/config_int.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

#define SK_CONF_READ_CHUNK 65536

int sk_conf_read_file(const char *path, char **text, size_t *len, struct sk_conf_incl *id,
                      int *errnum)
{
    struct sk_buf b;
    struct stat st;
    int fd;
    int rc = 0;

    *text = NULL;
    *len = 0;
    *errnum = 0;
    sk_buf_init(&b, SK_CONF_MAX_FILE_SIZE);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        *errnum = errno;
        rc = sk_err_from_errno(*errnum);
        goto cleanup;
    }
    if (S_ISDIR(st.st_mode)) {
        *errnum = EISDIR;
        rc = SK_EINVAL;
        goto cleanup;
    }
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    for (;;) {
        size_t room = b.max - b.len;
        size_t chunk = room < SK_CONF_READ_CHUNK ? room : SK_CONF_READ_CHUNK;
        char probe;
        ssize_t n;

        if (chunk == 0) {
            /* Full: one more byte means the file is too large. */
            n = read(fd, &probe, 1);
            rc = n > 0 ? SK_ETOOBIG : 0;
            break;
        }
        rc = sk_buf_reserve(&b, chunk);
        if (rc < 0) {
            break;
        }
        n = read(fd, b.data + b.len, chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            *errnum = errno;
            rc = sk_err_from_errno(*errnum);
            break;
        }
        if (n == 0) {
            break;
        }
        b.len += (size_t)n;
    }
    if (rc == 0) {
        b.data[b.len] = '\0';
        *text = sk_buf_take(&b, len);
    }

cleanup:
    if (fd >= 0) {
        close(fd);
    }
    sk_buf_cleanup(&b);
    return rc;
}

void sk_conf_parse_file(struct sk_conf_parser *ps, const char *name, bool is_path, const char *text,
                        size_t len, struct sk_conf_section *into)
{
    struct sk_conf_file fx = { .ps = ps, .base = into, .cur = into };
    const char *slash = is_path ? strrchr(name, '/') : NULL;

    fx.name = sk_conf_add_file(ps, name);
    if (fx.name == NULL) {
        sk_conf_oom(ps);
        return;
    }
    if (into->file == NULL) {
        into->file = fx.name; /* the root belongs to the first file read */
    }
    if (slash != NULL) {
        fx.dir = sk_strndup(name, slash == name ? 1 : (size_t)(slash - name));
        if (fx.dir == NULL) {
            sk_conf_oom(ps);
            return;
        }
    }
    if (text == NULL || len == 0) {
        text = ""; /* an empty string may come as NULL */
        len = 0;
    }
    sk_conf_lex_init(&fx.lx, text, len);
    if (memchr(text, '\0', len) != NULL) {
        sk_conf_report(&fx, SK_DIAG_ERROR, 0, "file contains NUL bytes (not a text file?)");
    }
    sk_conf_parse_text(&fx);
    sk_free(fx.dir);
}

/* "scheme://" in front, as URI.parse would see it. */
static bool has_scheme(const char *s)
{
    const char *p = s;

    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
        return false;
    }
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.') {
        p++;
    }
    return strncmp(p, "://", 3) == 0;
}

static void include_one(struct sk_conf_file *fx, const char *path, int line)
{
    struct sk_conf_parser *ps = fx->ps;
    struct sk_conf_incl id;
    char *text = NULL;
    size_t len = 0;
    int errnum = 0;
    int rc;

    if (ps->conf->nfiles >= SK_CONF_MAX_FILES || ps->depth >= SK_CONF_MAX_INCLUDE_DEPTH) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "@include %s: too many files, or nested too deep",
                       path);
        return;
    }
    rc = sk_conf_read_file(path, &text, &len, &id, &errnum);
    if (rc == SK_ENOMEM) {
        sk_conf_oom(ps);
        goto cleanup;
    }
    if (rc == SK_ETOOBIG) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "@include %s: file is larger than %u bytes", path,
                       SK_CONF_MAX_FILE_SIZE);
        goto cleanup;
    }
    if (rc < 0) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "@include %s: cannot read the file: %s", path,
                       strerror(errnum));
        goto cleanup;
    }
    for (int i = 0; i < ps->depth; i++) {
        if (ps->stack[i].dev == id.dev && ps->stack[i].ino == id.ino) {
            sk_conf_report(fx, SK_DIAG_ERROR, line,
                           "@include %s: include cycle (the file is already being read)", path);
            goto cleanup;
        }
    }
    ps->stack[ps->depth++] = id;
    sk_conf_parse_file(ps, path, true, text, len, fx->cur);
    ps->depth--;

cleanup:
    sk_free(text);
}

static int path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void include_glob(struct sk_conf_file *fx, const char *pattern, int line)
{
    glob_t g;
    int rc = glob(pattern, GLOB_BRACE | GLOB_NOSORT, NULL, &g);

    if (rc == GLOB_NOMATCH) {
        sk_conf_report(fx, SK_DIAG_WARN, line, "@include %s matched no files", pattern);
        return;
    }
    if (rc == GLOB_NOSPACE) {
        sk_conf_oom(fx->ps);
        return;
    }
    if (rc != 0) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "@include %s: cannot read the directory", pattern);
        globfree(&g);
        return;
    }
    /* Ruby sorts the names by bytes, not by locale. */
    qsort(g.gl_pathv, g.gl_pathc, sizeof(*g.gl_pathv), path_cmp);
    for (size_t i = 0; i < g.gl_pathc && !fx->ps->oom; i++) {
        include_one(fx, g.gl_pathv[i], line);
    }
    globfree(&g);
}

void sk_conf_include(struct sk_conf_file *fx, const char *spec, int line)
{
    struct sk_buf path;
    int rc = 0;

    if (has_scheme(spec) && strncmp(spec, "file://", 7) != 0) {
        sk_conf_report(fx, SK_DIAG_ERROR, line,
                       "@include %s: including a URL is not supported (only local files)", spec);
        return;
    }
    if (strncmp(spec, "file://", 7) == 0) {
        spec += 7;
    }
    if (*spec == '\0') {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "@include needs a file path or glob");
        return;
    }
    sk_buf_init(&path, SK_CONF_MAX_VALUE);
    if (spec[0] != '/' && fx->dir != NULL) {
        rc = sk_buf_append_str(&path, fx->dir);
        if (rc == 0 && fx->dir[strlen(fx->dir) - 1] != '/') {
            rc = sk_buf_putc(&path, '/');
        }
    }
    rc = rc < 0 ? rc : sk_buf_append_str(&path, spec);
    if (rc == SK_ENOMEM) {
        sk_conf_oom(fx->ps);
    } else if (rc < 0) {
        sk_conf_report(fx, SK_DIAG_ERROR, line, "@include: the path is too long");
    } else if (strpbrk(path.data, "*?[{") != NULL) {
        include_glob(fx, path.data, line);
    } else {
        include_one(fx, path.data, line);
    }
    sk_buf_cleanup(&path);
}
