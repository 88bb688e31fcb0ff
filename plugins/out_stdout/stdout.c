/*
 * out_stdout: prints events the way Fluentd's stdout output does,
 *   2018-07-21 10:00:00.000000000 +0000 nginx.access: {"remote":"..."}
 * (local time, nanoseconds, then the tag and the record as JSON).
 */
#include <stdio.h>
#include <time.h>

#include "json/json.h"
#include "plugin/plugin.h"

#define STDOUT_LINE_MAX (64u << 20)

static const char *const output_types[] = {"json", "hash", NULL};

struct stdout_conf {
    int output_type;
    bool utc;
};

static const struct sk_param_def stdout_params[] = {
    {.name = "output_type", .type = SK_PARAM_ENUM, .def = "json", .choices = output_types,
     .offset = offsetof(struct stdout_conf, output_type), .desc = "Record format (json)."},
    {.name = "utc", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct stdout_conf, utc), .desc = "Print times in UTC."},
    SK_PARAM_END,
};

static int format_time(const struct stdout_conf *conf, struct sk_time t, struct sk_buf *out)
{
    char stamp[64];
    char zone[16];
    struct tm tm;
    time_t sec = (time_t)t.sec;

    if (conf->utc) {
        gmtime_r(&sec, &tm);
    } else {
        localtime_r(&sec, &tm);
    }
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    strftime(zone, sizeof(zone), "%z", &tm);
    return sk_buf_printf(out, "%s.%09u %s ", stamp, (unsigned)t.nsec, zone);
}

static int stdout_emit(struct sk_instance *ins, const char *tag, const struct sk_events *ev)
{
    const struct stdout_conf *conf = ins->conf;
    struct sk_buf line;
    size_t off = 0;
    int rc = 0;

    sk_buf_init(&line, STDOUT_LINE_MAX);
    while (off < ev->len && rc == 0) {
        size_t len = sk_mp_skip(ev->data + off, ev->len - off);
        struct sk_time t;
        size_t used;
        size_t tlen;

        if (len == 0 || sk_event_peek_time(ev->data + off, len, &t) < 0) {
            rc = SK_EPARSE;
            break;
        }
        /* The record follows the array header and the time. */
        tlen = sk_mp_skip(ev->data + off + 1, len - 1);
        sk_buf_reset(&line);
        rc = format_time(conf, t, &line);
        if (rc == 0) {
            rc = sk_buf_printf(&line, "%s: ", tag);
        }
        if (rc == 0) {
            rc = sk_json_write_msgpack(&line, ev->data + off + 1 + tlen, len - 1 - tlen, &used);
        }
        if (rc == 0) {
            rc = sk_buf_putc(&line, '\n');
        }
        if (rc == 0 && fwrite(line.data, 1, line.len, stdout) != line.len) {
            rc = SK_EIO;
        }
        off += len;
    }
    fflush(stdout);
    sk_buf_cleanup(&line);
    return rc;
}

/* Buffered use (<buffer> given): the same printing, then commit. */
static int stdout_flush(struct sk_flush *f)
{
    int rc = stdout_emit(f->ins, f->tag != NULL ? f->tag : f->events.tag, &f->events);

    sk_flush_done(f, rc == 0 ? SK_FLUSH_OK : SK_FLUSH_RETRY, NULL);
    return 0;
}

const struct sk_plugin sk_plugin_out_stdout = {
    .name = "stdout",
    .kind = SK_PLUGIN_OUTPUT,
    .api = SK_PLUGIN_API,
    .params = stdout_params,
    .conf_size = sizeof(struct stdout_conf),
    .desc = "Print events to standard output, as Fluentd's stdout output does.",
    .emit = stdout_emit,
    .flush = stdout_flush,
};
