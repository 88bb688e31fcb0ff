/*
 * in_tail: follows files like Fluentd's in_tail, with its parameters and
 * its pos_file format. This file holds the descriptor, the parameter
 * table, the configuration checks and the timers; tail_watch.c keeps the
 * set of followed files, tail_file.c reads one file, tail_rotate.c deals
 * with rotation, tail_pos.c with the pos_file, tail_conv.c with encodings.
 */
#include <stdarg.h>
#include <stdio.h>

#include "in_tail/tail.h"
#include "in_tail/tail_conv.h"
#include "loop/loop.h"
#include "parser/parser_multiline.h"

#define OFF(f) offsetof(struct tail_conf, f)
#define TAIL_POLL_MS 1000
#define TAIL_BLOCKED_RETRY_MS 200
/* Fluentd's lowest read_bytes_limit_per_second (its read size): lower
 * values are raised to it with a warning. */
#define TAIL_RATE_MIN 8192

static const struct sk_param_def tail_params[] = {
    {.name = "path", .type = SK_PARAM_ARRAY, .offset = OFF(path), .flags = SK_PARAM_REQUIRED,
     .desc = "Files to follow: comma list, globs allowed."},
    {.name = "tag", .type = SK_PARAM_STRING, .offset = OFF(tag), .flags = SK_PARAM_REQUIRED,
     .desc = "Tag of the events; '*' becomes the path with '/' as '.'."},
    {.name = "exclude_path", .type = SK_PARAM_ARRAY, .def = "[]", .offset = OFF(exclude_path),
     .desc = "Glob patterns of paths not to follow."},
    {.name = "pos_file", .type = SK_PARAM_STRING, .offset = OFF(pos_file),
     .desc = "td-agent-format position file."},
    {.name = "read_from_head", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(read_from_head), .desc = "Read new files from their start."},
    {.name = "refresh_interval", .type = SK_PARAM_TIME, .def = "60s", .min = "100ms",
     .offset = OFF(refresh_interval_ms), .desc = "How often globs are expanded again."},
    {.name = "rotate_wait", .type = SK_PARAM_TIME, .def = "5s", .offset = OFF(rotate_wait_ms),
     .desc = "How long a rotated file is still read."},
    /* No default: Fluentd's 1000 lines per read costs throughput here (a
     * batch, a loop iteration and a chunk commit per 1000 lines). */
    {.name = "read_lines_limit", .type = SK_PARAM_INT, .min = "1",
     .offset = OFF(read_lines_limit),
     .desc = "Lines one file reads per loop iteration (unset: 4 MB of the file)."},
    {.name = "max_line_size", .type = SK_PARAM_SIZE, .def = "1m", .min = "1k", .max = "256m",
     .offset = OFF(max_line_size), .desc = "Longer lines go to the error stream."},
    {.name = "path_key", .type = SK_PARAM_STRING, .offset = OFF(path_key),
     .desc = "Record key for the file path (unmatched lines too)."},
    {.name = "emit_unmatched_lines", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(emit_unmatched_lines),
     .desc = "Route unparsable lines as {\"unmatched_line\": ...} with the normal tag."},
    {.name = "enable_stat_watcher", .type = SK_PARAM_BOOL, .def = "true",
     .offset = OFF(enable_stat_watcher), .desc = "Watch files with inotify."},
    {.name = "enable_watch_timer", .type = SK_PARAM_BOOL, .def = "true",
     .offset = OFF(enable_watch_timer), .desc = "Also check files every second."},
    {.name = "follow_inodes", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(follow_inodes),
     .desc = "Key pos_file entries by inode: rotated files the globs match are not read twice."},
    {.name = "skip_refresh_on_startup", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(skip_refresh_on_startup), .flags = SK_PARAM_IGNORED,
     .desc = "Accepted for compatibility."},
    {.name = "limit_recently_modified", .type = SK_PARAM_TIME, .def = "0",
     .offset = OFF(limit_recently_modified_ms),
     .desc = "Only follow files modified this recently."},
    {.name = "ignore_repeated_permission_error", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(ignore_repeated_permission_error), .flags = SK_PARAM_IGNORED,
     .desc = "Accepted for compatibility."},
    {.name = "open_on_every_update", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(open_on_every_update),
     .desc = "Open and close the file on every update instead of keeping it open."},
    {.name = "encoding", .type = SK_PARAM_STRING, .offset = OFF(encoding),
     .desc = "Encoding of the records; with from_encoding, lines are converted to it."},
    {.name = "from_encoding", .type = SK_PARAM_STRING, .offset = OFF(from_encoding),
     .desc = "Encoding of the file (needs encoding)."},
    {.name = "multiline_flush_interval", .type = SK_PARAM_TIME, .def = "0",
     .offset = OFF(multiline_flush_interval_ms),
     .desc = "Flush a pending multiline event after this idle time."},
    {.name = "pos_file_compaction_interval", .type = SK_PARAM_TIME, .def = "0",
     .offset = OFF(pos_file_compaction_interval_ms),
     .desc = "Rewrite the pos_file this often without unwatched and duplicate lines."},
    {.name = "pos_file_write_interval", .type = SK_PARAM_TIME, .def = "1s", .max = "1h",
     .offset = OFF(pos_file_write_interval_ms),
     .desc = "Write moved positions to the pos_file at most this often (0: after every "
             "batch, as td-agent); always at stop and on rotation."},
    /* A size that may be -1: no table type holds both, tail_init parses it. */
    {.name = "read_bytes_limit_per_second", .type = SK_PARAM_STRING, .def = "-1",
     .offset = OFF(read_bytes_limit_per_second),
     .desc = "Bytes read per second and file (a size, at least 8192; -1: no limit)."},
    SK_PARAM_END,
};

/* Multiline: the gathered block becomes an event now (idle, closing). */
static void flush_block_now(struct tail_file *f)
{
    /* SK_EFULL leaves the block unacknowledged: it is read again later. */
    if (f->block.len > 0 && !f->t->blocked && tail_file_flush_block(f) < 0) {
        sk_log(SK_LOG_DEBUG, "%s: %s: multiline block held back", f->t->ins->id, f->path);
    }
}

static void on_refresh(struct sk_timer *timer, void *arg)
{
    struct tail *t = arg;

    (void)timer;
    tail_refresh(t, false);
}

static void on_poll(struct sk_timer *timer, void *arg)
{
    struct tail *t = arg;
    int64_t now = sk_loop_now_ms(sk_engine_loop(t->ins->engine));
    bool any_rotated = false;

    t->blocked = false;
    for (struct tail_file *f = t->files; f != NULL && !t->blocked; f = f->next) {
        tail_file_check(f);
        any_rotated = any_rotated || f->rotated;
        if (f->backlog) {
            tail_resume_arm(f); /* its turn comes (again, after a full buffer) */
        } else {
            (void)tail_file_read(f);
        }
        if (t->conf->multiline_flush_interval_ms > 0 &&
            now - f->block_ms >= t->conf->multiline_flush_interval_ms) {
            flush_block_now(f);
        }
    }
    if (tail_reap_rotated(t) || any_rotated) {
        tail_refresh(t, false); /* a rotated file's successor, or its new name */
    }
    sk_timer_start(timer, t->blocked ? TAIL_BLOCKED_RETRY_MS : TAIL_POLL_MS, 0);
}

void tail_throttle_arm(struct tail *t, int64_t until_ms)
{
    int64_t now = sk_loop_now_ms(sk_engine_loop(t->ins->engine));

    if (t->throttle_timer == NULL || (t->throttle_due_ms != 0 && t->throttle_due_ms <= until_ms)) {
        return;
    }
    t->throttle_due_ms = until_ms;
    sk_timer_start(t->throttle_timer, until_ms > now ? until_ms - now : 0, 0);
}

/* The rate limit's second is over for some files: read them on. */
static void on_throttle(struct sk_timer *timer, void *arg)
{
    struct tail *t = arg;

    (void)timer;
    t->throttle_due_ms = 0;
    for (struct tail_file *f = t->files; f != NULL && !t->blocked; f = f->next) {
        if (f->throttled_until_ms != 0) {
            (void)tail_file_read(f);
        }
    }
}

/* `f` is read from on_resume after `delay_ms`, or sooner if the timer is
 * already due. (After tail_stop no timer exists and nothing is armed.) */
static void resume_in(struct tail_file *f, int64_t delay_ms)
{
    struct tail *t = f->t;

    f->backlog = true;
    if (t->resume_timer != NULL && !sk_timer_active(t->resume_timer)) {
        sk_timer_start(t->resume_timer, delay_ms, 0);
    }
}

void tail_resume_arm(struct tail_file *f)
{
    resume_in(f, 0);
}

void tail_read_soon(struct tail_file *f)
{
    resume_in(f, TAIL_COALESCE_MS);
}

/* The next slice of every file with a backlog, in list order: each reads
 * one slice per loop iteration, so a huge file does not starve the others
 * and the outputs flush meanwhile. A blocked tail waits for on_poll. */
static void on_resume(struct sk_timer *timer, void *arg)
{
    struct tail *t = arg;

    (void)timer;
    for (struct tail_file *f = t->files; f != NULL && !t->blocked; f = f->next) {
        if (f->backlog) {
            f->backlog = false;
            (void)tail_file_read(f);
        }
    }
}

/*
 * Positions are written at most every pos_file_write_interval, not after
 * every batch: a position behind the data only means lines read again
 * after a crash (duplicates), never lines lost, while a write per batch
 * costs a pwrite per small append of the log. Only acked is written, the
 * end of what the router took (file buffer: what is in the chunk file).
 *
 * The pos_file is not fsynced: kill -9 keeps both the chunk's and the
 * pos_file's writes (one page cache, chunk first), and for a power cut
 * the buffer's fsync mode decides. With `fsync commit` (the default) the
 * chunk's data is fsynced before the emit returns, so any position the
 * disk may hold was written after its lines were durable; an fsync here
 * would only make a position durable sooner, never the data. With
 * `fsync none` a power cut can lose chunk data behind a written position,
 * as with td-agent (which does not fsync either).
 */
void tail_pos_moved(struct tail_file *f)
{
    struct tail *t = f->t;

    if (t->conf->pos_file_write_interval_ms == 0 || t->pos_timer == NULL) {
        tail_file_save_pos(f);
        return;
    }
    f->pos_dirty = true;
    if (!sk_timer_active(t->pos_timer)) {
        sk_timer_start(t->pos_timer, t->conf->pos_file_write_interval_ms, 0);
    }
}

static void on_pos_write(struct sk_timer *timer, void *arg)
{
    struct tail *t = arg;

    (void)timer;
    for (struct tail_file *f = t->files; f != NULL; f = f->next) {
        tail_file_sync_pos(f);
    }
}

static void on_compact(struct sk_timer *timer, void *arg)
{
    struct tail *t = arg;
    size_t stale = t->pos.stale;
    int rc;

    (void)timer;
    if (stale == 0) {
        return; /* every line is an entry's: the rewrite would change nothing */
    }
    rc = tail_pos_compact(&t->pos);
    if (rc < 0) {
        sk_log(SK_LOG_ERROR, "%s: cannot compact pos_file %s: %s", t->ins->id, t->pos.path,
               sk_strerror(rc));
        return;
    }
    sk_log(SK_LOG_INFO, "%s: compacted pos_file %s (%zu stale lines dropped)", t->ins->id,
           t->pos.path, stale);
}

/* A configuration problem at the line of parameter `name`. */
static void conf_diag(struct sk_instance *ins, struct sk_diag *d, enum sk_diag_level level,
                      const char *name, const char *fmt, ...) SK_PRINTF(5, 6);

static void conf_diag(struct sk_instance *ins, struct sk_diag *d, enum sk_diag_level level,
                      const char *name, const char *fmt, ...)
{
    const struct sk_conf_param *p = sk_conf_find(ins->section, name);
    char where[256];
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sk_diag_add(d, level, p != NULL ? p->file : ins->section->file,
                p != NULL ? p->line : ins->section->line,
                sk_instance_where(ins, where, sizeof(where)), "%s", msg);
}

static bool check_encoding(struct sk_instance *ins, struct sk_diag *d, const char *name,
                           const char *value)
{
    if (value == NULL || tail_conv_known(value)) {
        return true;
    }
    conf_diag(ins, d, SK_DIAG_ERROR, name,
              "invalid value for parameter '%s': '%s' (unknown encoding name; expected one "
              "iconv knows, e.g. UTF-8, Shift_JIS, EUC-JP, ISO-8859-1, UTF-16LE)", name, value);
    return false;
}

/* encoding / from_encoding, as Fluentd's configure_encoding checks them. */
static int setup_encoding(struct sk_instance *ins, struct tail *t, struct sk_diag *d)
{
    const struct tail_conf *conf = t->conf;

    t->eol = "\n";
    t->eol_len = 1;
    if (conf->encoding == NULL && conf->from_encoding != NULL) {
        conf_diag(ins, d, SK_DIAG_ERROR, "from_encoding",
                  "'from_encoding' parameter must be specified with 'encoding' parameter");
        return SK_ECONFIG;
    }
    if (!check_encoding(ins, d, "encoding", conf->encoding) ||
        !check_encoding(ins, d, "from_encoding", conf->from_encoding)) {
        return SK_ECONFIG;
    }
    if (conf->from_encoding == NULL) {
        return 0; /* `encoding` alone only labels the bytes (Ruby's force_encoding) */
    }
    if (tail_conv_same(conf->encoding, conf->from_encoding)) {
        conf_diag(ins, d, SK_DIAG_WARN, "from_encoding",
                  "'encoding' and 'from_encoding' are same encoding. No effect");
        return 0;
    }
    if (tail_conv_create(conf->encoding, conf->from_encoding,
                         conf->max_line_size + TAIL_READ_SIZE, &t->conv) < 0) {
        conf_diag(ins, d, SK_DIAG_ERROR, "from_encoding", "cannot convert from '%s' to '%s'",
                  conf->from_encoding, conf->encoding);
        return SK_ECONFIG;
    }
    t->eol = tail_conv_eol(t->conv, &t->eol_len);
    return 0;
}

/* read_bytes_limit_per_second: a size as Fluentd reads it ("64k"), or a
 * negative number for no limit. */
static int setup_rate_limit(struct sk_instance *ins, struct tail *t, struct sk_diag *d)
{
    const char *text = t->conf->read_bytes_limit_per_second;
    uint64_t size;
    int64_t neg;

    t->rate_limit = -1;
    if (sk_param_parse_int(text, &neg) == 0 && neg < 0) {
        return 0;
    }
    if (sk_param_parse_size(text, &size) < 0 || size > INT64_MAX) {
        conf_diag(ins, d, SK_DIAG_ERROR, "read_bytes_limit_per_second",
                  "invalid value for parameter 'read_bytes_limit_per_second': '%s' (expected a "
                  "size such as 8192, 64k or 1m, or -1 for no limit)", text);
        return SK_ECONFIG;
    }
    if (size < TAIL_RATE_MIN) {
        conf_diag(ins, d, SK_DIAG_WARN, "read_bytes_limit_per_second",
                  "read_bytes_limit_per_second %s is less than %d: using %d", text,
                  TAIL_RATE_MIN, TAIL_RATE_MIN);
        size = TAIL_RATE_MIN;
    }
    t->rate_limit = (int64_t)size;
    return 0;
}

static int tail_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct tail *t = sk_calloc(1, sizeof(*t));
    int rc;

    if (t == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = t;
    t->ins = ins;
    t->conf = ins->conf;
    t->pos.fd = -1;
    t->unmatched_log = (struct sk_log_limit)SK_LOG_LIMIT_INIT(10000, 5);
    sk_evbuf_init(&t->events, 64u << 20);
    sk_evbuf_init(&t->errors, 64u << 20);
    if (t->conf->follow_inodes && t->conf->pos_file == NULL) {
        conf_diag(ins, d, SK_DIAG_ERROR, "follow_inodes",
                  "Can't follow inodes without pos_file configuration parameter");
        return SK_ECONFIG;
    }
    rc = setup_encoding(ins, t, d);
    if (rc == 0) {
        rc = setup_rate_limit(ins, t, d);
    }
    if (rc < 0) {
        return rc;
    }
    t->parser = sk_parser_create(ins, NULL, d);
    if (t->parser == NULL) {
        return SK_ECONFIG;
    }
    /* Fluentd emits every read_lines_limit lines and reads on in the same
     * callback; here the limit also ends the slice, the reading one file
     * does before the loop runs again. */
    t->lines_limit = (size_t)t->conf->read_lines_limit;
    t->multiline = sk_parser_is_multiline(t->parser);
    t->firstline = sk_parser_multiline_has_firstline(t->parser);
    return 0;
}

static int create_timers(struct tail *t)
{
    struct sk_loop *loop = sk_engine_loop(t->ins->engine);

    t->refresh_timer = sk_timer_create(loop, on_refresh, t);
    t->poll_timer = sk_timer_create(loop, on_poll, t);
    t->throttle_timer = sk_timer_create(loop, on_throttle, t);
    t->compact_timer = sk_timer_create(loop, on_compact, t);
    t->resume_timer = sk_timer_create(loop, on_resume, t);
    t->pos_timer = sk_timer_create(loop, on_pos_write, t);
    if (t->refresh_timer == NULL || t->poll_timer == NULL || t->throttle_timer == NULL ||
        t->compact_timer == NULL || t->resume_timer == NULL || t->pos_timer == NULL) {
        return SK_ENOMEM;
    }
    return 0;
}

static int tail_start(struct sk_instance *ins)
{
    struct tail *t = ins->ctx;
    int64_t compact_ms = t->conf->pos_file_compaction_interval_ms;
    int rc;

    if (t->conf->pos_file != NULL) {
        rc = tail_pos_open(&t->pos, t->conf->pos_file, t->conf->follow_inodes);
        if (rc < 0) {
            sk_log(SK_LOG_ERROR, "%s: cannot open pos_file %s: %s", ins->id, t->conf->pos_file,
                   sk_strerror(rc));
            return rc;
        }
        t->has_pos = true;
    }
    rc = create_timers(t);
    if (rc < 0) {
        return rc;
    }
    tail_refresh(t, true);
    if (t->has_pos && t->pos.stale > 0 && tail_pos_compact(&t->pos) < 0) {
        sk_log(SK_LOG_WARN, "%s: cannot compact pos_file %s", ins->id, t->pos.path);
    }
    sk_timer_start(t->refresh_timer, t->conf->refresh_interval_ms, t->conf->refresh_interval_ms);
    sk_timer_start(t->poll_timer, t->blocked ? TAIL_BLOCKED_RETRY_MS : TAIL_POLL_MS, 0);
    if (t->has_pos && compact_ms > 0) {
        sk_timer_start(t->compact_timer, compact_ms, compact_ms);
    }
    return 0;
}

static void tail_stop(struct sk_instance *ins)
{
    struct tail *t = ins->ctx;

    sk_timer_destroy(t->refresh_timer);
    sk_timer_destroy(t->poll_timer);
    sk_timer_destroy(t->throttle_timer);
    sk_timer_destroy(t->compact_timer);
    sk_timer_destroy(t->resume_timer);
    sk_timer_destroy(t->pos_timer);
    t->refresh_timer = t->poll_timer = t->throttle_timer = t->compact_timer = NULL;
    t->resume_timer = t->pos_timer = NULL;
    tail_watches_destroy(t);
    while (t->files != NULL) {
        struct tail_file *f = t->files;

        if (f->block.len > 0) {
            sk_log(SK_LOG_WARN, "%s: %s: got incomplete line at shutdown; emitting it",
                   t->ins->id, f->path);
            flush_block_now(f);
        }
        /* A backlog stops where its last slice ended: acked is its end. */
        tail_file_sync_pos(f);
        t->files = f->next;
        tail_file_close(f);
    }
}

static void tail_destroy(struct sk_instance *ins)
{
    struct tail *t = ins->ctx;

    if (t == NULL) {
        return;
    }
    tail_stop(ins);
    if (t->has_pos) {
        tail_pos_close(&t->pos);
    }
    tail_conv_destroy(t->conv);
    sk_evbuf_cleanup(&t->events);
    sk_evbuf_cleanup(&t->errors);
    sk_free(t);
}

const struct sk_plugin sk_plugin_in_tail = {
    .name = "tail",
    .kind = SK_PLUGIN_INPUT,
    .api = SK_PLUGIN_API,
    .params = tail_params,
    .conf_size = sizeof(struct tail_conf),
    .desc = "Follow log files, as Fluentd's in_tail does.",
    .init = tail_init,
    .start = tail_start,
    .stop = tail_stop,
    .destroy = tail_destroy,
};
