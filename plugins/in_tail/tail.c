/*
 * in_tail: follows files like Fluentd's in_tail, with its parameters and
 * its pos_file format. This file holds the descriptor, the parameter
 * table, and the set of watched files; tail_file.c reads one file.
 */
#include <glob.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "in_tail/tail.h"
#include "loop/loop.h"
#include "parser/parser_multiline.h"

#define OFF(f) offsetof(struct tail_conf, f)
#define TAIL_POLL_MS 1000
#define TAIL_BLOCKED_RETRY_MS 200

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
    {.name = "read_lines_limit", .type = SK_PARAM_INT, .def = "1000", .min = "1",
     .offset = OFF(read_lines_limit), .flags = SK_PARAM_IGNORED,
     .desc = "Lines per read (skiff batches by bytes)."},
    {.name = "max_line_size", .type = SK_PARAM_SIZE, .def = "1m", .min = "1k", .max = "256m",
     .offset = OFF(max_line_size), .desc = "Longer lines go to the error stream."},
    {.name = "path_key", .type = SK_PARAM_STRING, .offset = OFF(path_key),
     .desc = "Record key for the file path."},
    {.name = "emit_unmatched_lines", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(emit_unmatched_lines),
     .desc = "Route unparsable lines as {\"unmatched_line\": ...} with the normal tag."},
    {.name = "enable_stat_watcher", .type = SK_PARAM_BOOL, .def = "true",
     .offset = OFF(enable_stat_watcher), .desc = "Watch files with inotify."},
    {.name = "enable_watch_timer", .type = SK_PARAM_BOOL, .def = "true",
     .offset = OFF(enable_watch_timer), .desc = "Also check files every second."},
    {.name = "follow_inodes", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(follow_inodes), .flags = SK_PARAM_NOT_YET, .desc = "Key positions by inode."},
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
     .offset = OFF(open_on_every_update), .flags = SK_PARAM_NOT_YET,
     .desc = "Reopen the file on every change."},
    {.name = "encoding", .type = SK_PARAM_STRING, .offset = OFF(encoding),
     .flags = SK_PARAM_NOT_YET, .desc = "Encoding of the records."},
    {.name = "from_encoding", .type = SK_PARAM_STRING, .offset = OFF(from_encoding),
     .flags = SK_PARAM_NOT_YET, .desc = "Encoding of the file."},
    {.name = "multiline_flush_interval", .type = SK_PARAM_TIME, .def = "0",
     .offset = OFF(multiline_flush_interval_ms),
     .desc = "Flush a pending multiline event after this idle time."},
    {.name = "pos_file_compaction_interval", .type = SK_PARAM_TIME, .def = "0",
     .offset = OFF(pos_file_compaction_interval_ms), .flags = SK_PARAM_NOT_YET,
     .desc = "Compact the pos_file periodically."},
    {.name = "read_bytes_limit_per_second", .type = SK_PARAM_INT, .def = "-1",
     .offset = OFF(read_bytes_limit_per_second), .flags = SK_PARAM_NOT_YET,
     .desc = "Read rate cap per file."},
    SK_PARAM_END,
};

static bool excluded(const struct tail_conf *conf, const char *path)
{
    for (size_t i = 0; i < conf->exclude_path.n; i++) {
        glob_t g;
        bool hit = false;

        if (glob(conf->exclude_path.v[i], GLOB_NOSORT, NULL, &g) == 0) {
            for (size_t j = 0; j < g.gl_pathc && !hit; j++) {
                hit = strcmp(g.gl_pathv[j], path) == 0;
            }
            globfree(&g);
        }
        if (hit) {
            return true;
        }
    }
    return false;
}

static struct tail_file *find_live(struct tail *t, const char *path)
{
    for (struct tail_file *f = t->files; f != NULL; f = f->next) {
        if (!f->rotated && strcmp(f->path, path) == 0) {
            return f;
        }
    }
    return NULL;
}

static void on_path_change(struct sk_fswatch *w, void *arg);

static int watch_path(struct tail *t, const char *path)
{
    struct tail_watch *tw;

    for (tw = t->watches; tw != NULL; tw = tw->next) {
        if (strcmp(tw->path, path) == 0) {
            return 0;
        }
    }
    tw = sk_calloc(1, sizeof(*tw));
    if (tw == NULL) {
        return SK_ENOMEM;
    }
    tw->t = t;
    tw->path = sk_strdup(path);
    tw->w = tw->path != NULL ? sk_fswatch_create(sk_engine_loop(t->ins->engine), path, 0,
                                                 on_path_change, tw)
                             : NULL;
    if (tw->w == NULL) {
        sk_free(tw->path);
        sk_free(tw);
        return SK_ENOMEM;
    }
    tw->next = t->watches;
    t->watches = tw;
    return 0;
}

void tail_open_path(struct tail *t, const char *path, bool from_head)
{
    struct tail_file *f;

    if (find_live(t, path) != NULL || excluded(t->conf, path)) {
        return;
    }
    f = tail_file_open(t, path, from_head);
    if (f == NULL) {
        return;
    }
    f->next = t->files;
    t->files = f;
    if (t->conf->enable_stat_watcher && watch_path(t, path) < 0) {
        sk_log(SK_LOG_WARN, "%s: cannot watch %s; relying on the 1 s timer", t->ins->id, path);
    }
    if (!t->blocked) {
        (void)tail_file_read(f);
    }
}

/* Everything that happens to a path: growth, truncation, rotation. */
static void on_path_change(struct sk_fswatch *w, void *arg)
{
    struct tail_watch *tw = arg;
    struct tail *t = tw->t;
    bool rotated = false;

    (void)w;
    sk_log(SK_LOG_TRACE, "%s: change event for %s", t->ins->id, tw->path);
    for (struct tail_file *f = t->files; f != NULL; f = f->next) {
        if (strcmp(f->path, tw->path) != 0) {
            continue;
        }
        if (!f->rotated) {
            tail_file_check(f);
            rotated = rotated || f->rotated;
        }
        if (!t->blocked) {
            (void)tail_file_read(f);
        }
    }
    if (rotated || find_live(t, tw->path) == NULL) {
        /* The successor's first lines are new lines: read it from its head. */
        tail_open_path(t, tw->path, true);
    }
}

/* Expands the path globs; opens files that are new (from head when they
 * appeared after start: their first lines are new lines). */
static void refresh(struct tail *t, bool at_start)
{
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    for (size_t i = 0; i < t->conf->path.n; i++) {
        const char *pattern = t->conf->path.v[i];
        char expanded[4096];
        glob_t g;

        /* strftime placeholders (/var/log/app.%Y%m%d.log), as Fluentd expands them;
         * the format is the user's path, on purpose. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        if (strchr(pattern, '%') != NULL &&
            strftime(expanded, sizeof(expanded), pattern, &tm) > 0) {
            pattern = expanded;
        }
#pragma GCC diagnostic pop
        if (glob(pattern, 0, NULL, &g) != 0) {
            continue;
        }
        for (size_t j = 0; j < g.gl_pathc; j++) {
            struct stat st;

            if (t->conf->limit_recently_modified_ms > 0 && stat(g.gl_pathv[j], &st) == 0 &&
                (int64_t)(now - st.st_mtime) * 1000 > t->conf->limit_recently_modified_ms) {
                continue; /* not modified recently: not followed */
            }
            tail_open_path(t, g.gl_pathv[j], !at_start);
        }
        globfree(&g);
    }
}

/* Multiline: the gathered block becomes an event now (idle, closing). */
static void flush_block_now(struct tail_file *f)
{
    if (tail_file_flush_block(f) == 0) {
        /* Emitted through the normal path: a read of zero new bytes flushes it. */
        (void)tail_file_read(f);
    }
}

/* Rotated files: read to the end, then close once rotate_wait passed. */
static void reap_rotated(struct tail *t)
{
    int64_t now = sk_loop_now_ms(sk_engine_loop(t->ins->engine));
    struct tail_file **link = &t->files;

    while (*link != NULL) {
        struct tail_file *f = *link;

        if (f->rotated && !t->blocked) {
            (void)tail_file_read(f);
        }
        if (f->rotated && now >= f->rotated_deadline_ms && !t->blocked) {
            flush_block_now(f);
            if (f->pending.len > 0) {
                sk_log(SK_LOG_WARN, "%s: %s ended without a newline; last %zu bytes kept as a line",
                       t->ins->id, f->path, f->pending.len);
                if (sk_buf_putc(&f->pending, '\n') == 0) {
                    (void)tail_file_read(f);
                }
            }
            *link = f->next;
            tail_file_close(f);
            continue;
        }
        link = &f->next;
    }
}

static void on_refresh(struct sk_timer *timer, void *arg)
{
    struct tail *t = arg;

    (void)timer;
    refresh(t, false);
}

static void on_poll(struct sk_timer *timer, void *arg)
{
    struct tail *t = arg;
    bool any_rotated = false;

    t->blocked = false;
    for (struct tail_file *f = t->files; f != NULL && !t->blocked; f = f->next) {
        tail_file_check(f);
        any_rotated = any_rotated || f->rotated;
        (void)tail_file_read(f);
        if (f->block.len > 0 && t->conf->multiline_flush_interval_ms > 0 &&
            sk_loop_now_ms(sk_engine_loop(t->ins->engine)) - f->block_ms >=
                t->conf->multiline_flush_interval_ms) {
            flush_block_now(f);
        }
    }
    reap_rotated(t);
    if (any_rotated) {
        refresh(t, false); /* the successor of a rotated file */
    }
    sk_timer_start(timer, t->blocked ? TAIL_BLOCKED_RETRY_MS : TAIL_POLL_MS, 0);
}

static int tail_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct tail *t = sk_calloc(1, sizeof(*t));

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
    t->parser = sk_parser_create(ins, NULL, d);
    if (t->parser == NULL) {
        return SK_ECONFIG;
    }
    t->multiline = sk_parser_is_multiline(t->parser);
    t->firstline = sk_parser_multiline_has_firstline(t->parser);
    return 0;
}

static int tail_start(struct sk_instance *ins)
{
    struct tail *t = ins->ctx;
    struct sk_loop *loop = sk_engine_loop(ins->engine);
    int rc;

    if (t->conf->pos_file != NULL) {
        rc = tail_pos_open(&t->pos, t->conf->pos_file);
        if (rc < 0) {
            sk_log(SK_LOG_ERROR, "%s: cannot open pos_file %s: %s", ins->id, t->conf->pos_file,
                   sk_strerror(rc));
            return rc;
        }
        t->has_pos = true;
    }
    t->refresh_timer = sk_timer_create(loop, on_refresh, t);
    t->poll_timer = sk_timer_create(loop, on_poll, t);
    if (t->refresh_timer == NULL || t->poll_timer == NULL) {
        return SK_ENOMEM;
    }
    refresh(t, true);
    sk_timer_start(t->refresh_timer, t->conf->refresh_interval_ms, t->conf->refresh_interval_ms);
    sk_timer_start(t->poll_timer, t->blocked ? TAIL_BLOCKED_RETRY_MS : TAIL_POLL_MS, 0);
    return 0;
}

static void tail_stop(struct sk_instance *ins)
{
    struct tail *t = ins->ctx;

    sk_timer_destroy(t->refresh_timer);
    sk_timer_destroy(t->poll_timer);
    t->refresh_timer = t->poll_timer = NULL;
    while (t->watches != NULL) {
        struct tail_watch *tw = t->watches;

        t->watches = tw->next;
        sk_fswatch_destroy(tw->w);
        sk_free(tw->path);
        sk_free(tw);
    }
    while (t->files != NULL) {
        struct tail_file *f = t->files;

        if (f->block.len > 0) {
            sk_log(SK_LOG_WARN, "%s: %s: got incomplete line at shutdown; emitting it",
                   t->ins->id, f->path);
            flush_block_now(f);
        }
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
