#ifndef SK_FILTER_STDOUT_FS_INT_H
#define SK_FILTER_STDOUT_FS_INT_H

/*
 * filter stdout internals: the line formats of Fluentd's formatters that
 * filter_stdout can use (<format> @type, v0.12 `format`):
 *
 *   stdout (default)  "2018-07-21 10:00:00.000000000 +0000 tag: " + record
 *                     as JSON (output_type json) or Ruby inspect (hash)
 *   json              the record as JSON
 *   hash              the record as Ruby's Hash#to_s
 *   single_value      record[message_key] (to_s), then a newline unless
 *                     add_newline is false
 *
 * Times are local, as Time#localtime gives them.
 */
#include <stdbool.h>

#include "event/event.h"
#include "util/buf.h"

enum fs_type {
    FS_STDOUT,
    FS_JSON,
    FS_HASH,
    FS_SINGLE_VALUE,
};

enum fs_output {
    FS_OUT_JSON,
    FS_OUT_HASH,
};

struct fs_format {
    enum fs_type type;
    enum fs_output output;
    const char *message_key; /* borrowed; single_value */
    bool add_newline;
};

/*
 * Appends the line for one event (record: one msgpack map at rec[0..len))
 * to line. Returns 0; SK_EPARSE for a record that is not msgpack;
 * SK_ETOOBIG / SK_ENOMEM from line.
 */
int fs_format_event(struct sk_buf *line, const struct fs_format *f, const char *tag,
                    struct sk_time t, const char *rec, size_t len) SK_WUR;

#endif
