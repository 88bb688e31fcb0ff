/*
 * out_secondary_file: Fluentd's dump place for chunks a primary output gave
 * up on. Writes the events exactly as the chunk holds them (a msgpack
 * stream of [time, record]), one file per chunk unless `append`, so they
 * can be re-sent later (e.g. with td-agent's or skiff's forward tools).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/plugin.h"

static const char *const compress_types[] = {"text", "gzip", NULL};

struct secfile_conf {
    char *directory;
    char *basename;
    bool append;
    int compress;
};

static const struct sk_param_def secfile_params[] = {
    {.name = "directory", .type = SK_PARAM_STRING, .offset = offsetof(struct secfile_conf, directory),
     .flags = SK_PARAM_REQUIRED, .desc = "Directory for the dumped chunks."},
    {.name = "basename", .type = SK_PARAM_STRING, .def = "dump.bin",
     .offset = offsetof(struct secfile_conf, basename), .desc = "File name (numbered unless append)."},
    {.name = "append", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct secfile_conf, append), .desc = "Append every chunk to one file."},
    {.name = "compress", .type = SK_PARAM_ENUM, .def = "text", .choices = compress_types,
     .offset = offsetof(struct secfile_conf, compress), .flags = SK_PARAM_NOT_YET,
     .desc = "Compress the files."},
    SK_PARAM_END,
};

static int secfile_init(struct sk_instance *ins, struct sk_diag *d)
{
    const struct secfile_conf *conf = ins->conf;
    char where[256];

    if (strchr(conf->basename, '/') != NULL) {
        sk_diag_add(d, SK_DIAG_ERROR, ins->section->file, ins->section->line,
                    sk_instance_where(ins, where, sizeof(where)),
                    "basename must not contain '/'");
        return SK_ECONFIG;
    }
    return 0;
}

/* Opens the next free "<basename>.<n>", or "<basename>" to append. */
static int open_target(const struct secfile_conf *conf, char *path, size_t size)
{
    if (mkdir(conf->directory, 0700) < 0 && errno != EEXIST) {
        return -1;
    }
    if (conf->append) {
        snprintf(path, size, "%s/%s", conf->directory, conf->basename);
        return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    }
    for (unsigned n = 0; n < 1000000; n++) {
        int fd;

        snprintf(path, size, "%s/%s.%u", conf->directory, conf->basename, n);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST) {
            return fd;
        }
    }
    errno = EEXIST;
    return -1;
}

static int secfile_emit(struct sk_instance *ins, const char *tag, const struct sk_events *ev)
{
    char path[4096];
    size_t off = 0;
    int fd = open_target(ins->conf, path, sizeof(path));
    int rc = 0;

    (void)tag;
    if (fd < 0) {
        sk_log(SK_LOG_ERROR, "%s: cannot open %s: %s", ins->id, path, strerror(errno));
        return sk_err_from_errno(errno);
    }
    while (off < ev->len) {
        ssize_t n = write(fd, ev->data + off, ev->len - off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = sk_err_from_errno(errno);
            break;
        }
        off += (size_t)n;
    }
    if (rc == 0 && fsync(fd) < 0) {
        rc = sk_err_from_errno(errno);
    }
    close(fd);
    if (rc == 0) {
        sk_log(SK_LOG_WARN, "%s: %zu events written to %s", ins->id, ev->count, path);
    }
    return rc;
}

const struct sk_plugin sk_plugin_out_secondary_file = {
    .name = "secondary_file",
    .kind = SK_PLUGIN_OUTPUT,
    .api = SK_PLUGIN_API,
    .flags = SK_PLUGIN_NO_BUFFER,
    .params = secfile_params,
    .conf_size = sizeof(struct secfile_conf),
    .desc = "Dump chunks a primary output gave up on, as msgpack, for later replay.",
    .init = secfile_init,
    .emit = secfile_emit,
};
