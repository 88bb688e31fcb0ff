/* Where a file buffer's chunks live: buf_file.rb#configure's path rules. */
#include "buffer/chunk_recover.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/buf.h"

#define PATH_BUF_MAX (PATH_MAX + 256)

static char *format_path(const char *a, const char *b, const char *c, const char *d)
{
    struct sk_buf buf;

    sk_buf_init(&buf, PATH_BUF_MAX);
    if (sk_buf_printf(&buf, "%s%s%s%s", a, b, c, d) < 0) {
        sk_buf_cleanup(&buf);
        return NULL;
    }
    return sk_buf_take(&buf, NULL);
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s);
    size_t t = strlen(tail);

    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* The configured directory or file path, without trailing slashes (as
 * File.join would collapse them). */
static char *base_path(const struct sk_chunk_path_conf *pc, bool *plugin_root)
{
    char *p;
    size_t n;

    *plugin_root = false;
    if (pc->path == NULL) {
        char worker[24];

        if (pc->root_dir == NULL || pc->plugin_id == NULL) {
            return NULL;
        }
        /* Plugin#plugin_root_dir: <root_dir>/worker<N>/<@id>, then "buffer". */
        snprintf(worker, sizeof(worker), "/worker%u/", pc->worker_id);
        *plugin_root = true;
        return format_path(pc->root_dir, worker, pc->plugin_id, "/buffer");
    }
    p = sk_strdup(pc->path);
    if (p == NULL) {
        return NULL;
    }
    n = strlen(p);
    while (n > 1 && p[n - 1] == '/') {
        p[--n] = '\0';
    }
    return p;
}

int sk_chunk_paths_resolve(const struct sk_chunk_path_conf *pc, struct sk_chunk_paths *out)
{
    const char *sfx = pc->path_suffix != NULL ? pc->path_suffix : ".log";
    bool plugin_root;
    bool want_extra = false;
    struct stat st;
    bool exists;
    const char *name;
    char *base;

    memset(out, 0, sizeof(*out));
    if (sfx[0] != '.' || (pc->path == NULL && (pc->root_dir == NULL || pc->plugin_id == NULL))) {
        return SK_ECONFIG; /* chunk names need ".*." (FileChunk raises "BUG" otherwise) */
    }
    base = base_path(pc, &plugin_root);
    if (base == NULL) {
        return SK_ENOMEM;
    }
    exists = stat(base, &st) == 0;
    name = strrchr(base, '/') != NULL ? strrchr(base, '/') + 1 : base;
    if ((exists && S_ISDIR(st.st_mode)) || (!exists && strstr(base, ".*") == NULL)) {
        if (plugin_root || pc->workers <= 1) {
            out->pattern = format_path(base, "/buffer.*", sfx, "");
        } else {
            char worker[24];

            snprintf(worker, sizeof(worker), "/worker%u", pc->worker_id);
            out->pattern = format_path(base, worker, "/buffer.*", sfx);
            /* Worker 0 also resumes what a single-process setup left. */
            if (pc->worker_id == 0) {
                want_extra = true;
                out->extra = format_path(base, "/buffer.*", sfx, "");
            }
        }
    } else if (strstr(name, ".*.") != NULL) {
        out->pattern = format_path(base, "", "", "");
    } else if (ends_with(name, ".*")) {
        out->pattern = format_path(base, sfx, "", "");
    } else {
        out->pattern = format_path(base, ".*", sfx, "");
    }
    sk_free(base);
    if (out->pattern == NULL || (want_extra && out->extra == NULL)) {
        sk_chunk_paths_cleanup(out);
        return SK_ENOMEM;
    }
    return 0;
}

void sk_chunk_paths_cleanup(struct sk_chunk_paths *p)
{
    sk_free(p->pattern);
    sk_free(p->extra);
    p->pattern = NULL;
    p->extra = NULL;
}
