/* filter stdout: one event as the line a Fluentd formatter writes (fs_int.h). */
#include "filter_stdout/fs_int.h"

#include <string.h>
#include <time.h>

#include "filter_common/fc_accessor.h"
#include "filter_common/fc_ruby.h"
#include "json/json.h"

/* formatter_stdout's "%Y-%m-%d %H:%M:%S.%N %z " in local time. */
static int put_time(struct sk_buf *out, struct sk_time t)
{
    char stamp[64];
    char zone[16];
    struct tm tm;
    time_t sec = (time_t)t.sec;

    localtime_r(&sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    strftime(zone, sizeof(zone), "%z", &tm);
    return sk_buf_printf(out, "%s.%09u %s ", stamp, (unsigned)t.nsec, zone);
}

/* Unpacks the record for the formats that need Ruby's view of it. */
static int with_object(struct sk_buf *line, const struct fs_format *f, const char *rec,
                       size_t len)
{
    msgpack_unpacked up;
    size_t off = 0;
    int rc;

    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, rec, len, &off) != MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy(&up);
        return SK_EPARSE;
    }
    if (f->type == FS_SINGLE_VALUE) {
        const msgpack_object *v = fc_map_find(&up.data, f->message_key, strlen(f->message_key));

        rc = v != NULL ? fc_ruby_to_s(line, v) : 0;
    } else {
        rc = fc_ruby_inspect(line, &up.data);
    }
    msgpack_unpacked_destroy(&up);
    return rc;
}

int fs_format_event(struct sk_buf *line, const struct fs_format *f, const char *tag,
                    struct sk_time t, const char *rec, size_t len)
{
    size_t used = 0;
    int rc = 0;

    if (f->type == FS_STDOUT) {
        rc = put_time(line, t);
        if (rc == 0) {
            rc = sk_buf_printf(line, "%s: ", tag);
        }
    }
    if (rc < 0) {
        return rc;
    }
    if (f->type == FS_JSON || (f->type == FS_STDOUT && f->output == FS_OUT_JSON)) {
        rc = sk_json_write_msgpack(line, rec, len, &used);
    } else {
        rc = with_object(line, f, rec, len);
    }
    if (rc == 0 && (f->type != FS_SINGLE_VALUE || f->add_newline)) {
        rc = sk_buf_putc(line, '\n');
    }
    return rc;
}
