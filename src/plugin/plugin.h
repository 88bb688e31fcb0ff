#ifndef SK_PLUGIN_PLUGIN_H
#define SK_PLUGIN_PLUGIN_H

/*
 * The API plugins include. A plugin is one const struct sk_plugin named
 * sk_plugin_<name> at the bottom of its main file:
 *
 *   const struct sk_plugin sk_plugin_out_stdout = {
 *       .name = "stdout", .kind = SK_PLUGIN_OUTPUT, .api = SK_PLUGIN_API,
 *       .params = stdout_params, .conf_size = sizeof(struct stdout_conf),
 *       .init = stdout_init, .emit = stdout_emit, .destroy = stdout_destroy,
 *   };
 *
 * cmake/plugins.cmake finds every such definition and lists it in
 * sk_plugins[]; the core knows plugins by nothing else.
 *
 * Life cycle: the engine allocates conf (conf_size bytes, zeroed), fills it
 * from the section with the parameter table, then calls init (validate,
 * build ctx), start (watchers; not in --dry-run), stop, destroy. destroy
 * must accept an instance whose init failed half way. conf belongs to the
 * engine; ctx belongs to the plugin.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/diag.h"
#include "event/event.h"
#include "log/log.h"
#include "param/param.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#define SK_PLUGIN_API 1

enum sk_plugin_kind {
    SK_PLUGIN_INPUT,
    SK_PLUGIN_PARSER,
    SK_PLUGIN_FILTER,
    SK_PLUGIN_OUTPUT,
};

enum sk_plugin_flags {
    /* Output: buffered even without a <buffer> section (out_elasticsearch). */
    SK_PLUGIN_BUFFERED = 1 << 0,
    /* Output: can only work buffered / only unbuffered. */
    SK_PLUGIN_NO_BUFFER = 1 << 1,
};

struct sk_engine;
struct sk_loop;
struct sk_plugin;

struct sk_instance {
    const struct sk_plugin *plugin;  /* borrowed */
    struct sk_engine *engine;        /* borrowed */
    struct sk_conf_section *section; /* borrowed from the config tree */
    void *conf;                      /* owned by the engine, filled by the param table */
    void *ctx;                       /* owned by the plugin: set in init, freed in destroy */
    char *id;                        /* owned: @id, or "<type>.<n>" */
    char *label;                     /* owned: @label (inputs), or NULL */
    int log_level;                   /* @log_level, or -1 for the global one */
    void *core;                      /* engine-private state (buffer, route) */
};

/* Outcome of a buffered flush, reported with sk_flush_done. */
enum sk_flush_result {
    SK_FLUSH_OK,    /* every event delivered: the chunk is committed */
    SK_FLUSH_RETRY, /* try the chunk (or the subset given) again later with backoff */
    SK_FLUSH_DROP,  /* can never succeed: the chunk goes to <secondary> / failed/ */
};

/*
 * One chunk handed to a buffered output. The events stay valid until
 * sk_flush_done is called. `timekey` is -1 without a time chunk key.
 */
struct sk_flush {
    struct sk_instance *ins;
    const char *tag;        /* chunk key tag, or NULL */
    int64_t timekey;
    struct sk_events events;
    unsigned int attempt;   /* 0 on the first try */
    char chunk_id[33];      /* hex id, for logs */
    void *priv;             /* the buffer's */
};

/*
 * Completes a flush exactly once. With SK_FLUSH_RETRY, `remaining` may name
 * the events still owed (a msgpack event stream, copied by the callee):
 * the chunk then shrinks to them, so a retry resends only what failed.
 * Pass NULL to retry the whole chunk.
 */
void sk_flush_done(struct sk_flush *f, enum sk_flush_result r, const struct sk_events *remaining);

/*
 * A hint from the output: it is done with events.data[0, upto) for now.
 * A file chunk gives those pages back, so a big chunk does not stay in
 * memory while it is sent piece by piece. The bytes stay readable (they
 * are read again from the file if touched).
 */
void sk_flush_consumed(struct sk_flush *f, size_t upto);

struct sk_plugin {
    const char *name;        /* the Fluentd @type */
    const char *alias;       /* another accepted @type, or NULL */
    enum sk_plugin_kind kind;
    int api;                 /* SK_PLUGIN_API */
    unsigned int flags;
    const struct sk_param_def *params;
    size_t conf_size;
    const char *desc;
    const char *default_chunk_keys; /* buffered outputs: when <buffer> names none */

    int (*init)(struct sk_instance *ins, struct sk_diag *d);
    int (*start)(struct sk_instance *ins);
    /* stop: an input stops reading; an output completes every flush in
     * flight (sk_flush_done, e.g. SK_FLUSH_RETRY) before returning. */
    void (*stop)(struct sk_instance *ins);
    void (*destroy)(struct sk_instance *ins);

    /* SK_PLUGIN_PARSER: append exactly one event for the line (without
     * its terminator) and return 0, or return SK_EPARSE having appended
     * nothing. Other negative codes are errors. */
    int (*parse)(struct sk_instance *ins, const char *line, size_t len, struct sk_evbuf *out);

    /* SK_PLUGIN_FILTER: append the filtered events of `in` to `out`. */
    int (*filter)(struct sk_instance *ins, const char *tag, const struct sk_events *in,
                  struct sk_evbuf *out);

    /* SK_PLUGIN_OUTPUT, unbuffered: deliver now. */
    int (*emit)(struct sk_instance *ins, const char *tag, const struct sk_events *ev);

    /* SK_PLUGIN_OUTPUT, buffered: start delivering f; call sk_flush_done
     * exactly once, possibly before returning. A non-zero return means the
     * flush did not start (and sk_flush_done was not called): retry. */
    int (*flush)(struct sk_flush *f);
};

/* The NULL-terminated registry generated by CMake. */
extern const struct sk_plugin *const sk_plugins[];

/* Finds a plugin by @type (name or alias) and kind; NULL when none. */
const struct sk_plugin *sk_plugin_find(enum sk_plugin_kind kind, const char *type);

/* --- Services the engine offers plugins ---------------------------------- */

/* The event loop (see loop/loop.h). */
struct sk_loop *sk_engine_loop(struct sk_engine *eng);

/* True under --dry-run: init runs, start never does. */
bool sk_engine_dry_run(const struct sk_engine *eng);

/*
 * Routes events from an input. Returns 0 when every matching output took
 * them (a file buffer: written to its chunk), SK_EFULL when a buffer is
 * full and the input must hold the events and try again later; the events
 * may then already be in some outputs (at-least-once).
 */
int sk_emit(struct sk_instance *in, const char *tag, const struct sk_events *ev) SK_WUR;

/* Routes events that a plugin could not process to the @ERROR label, or
 * logs them (rate-limited, with the reason and the first record) and counts
 * them when there is none. Returns 1 when an @ERROR label took them, 0 when
 * they were only logged (the caller may keep them elsewhere, e.g. a
 * dead-letter file). Never loses them silently. */
int sk_emit_error(struct sk_instance *from, const char *tag, const struct sk_events *ev,
                  const char *reason);

/*
 * Parsers owned by another plugin. Creates the parser described by the
 * owner's <parse> section, or, in v0.12 style, by `format` and its
 * companions (time_format, time_key, ...) written in the owner's section.
 * `default_type` is used when neither names one (NULL: it is an error).
 * Returns NULL after adding the reason to d.
 */
struct sk_instance *sk_parser_create(struct sk_instance *owner, const char *default_type,
                                     struct sk_diag *d);
int sk_parser_parse(struct sk_instance *parser, const char *line, size_t len,
                    struct sk_evbuf *out) SK_WUR;
void sk_parser_destroy(struct sk_instance *parser);

/*
 * Outputs owned by another output (<store> of @type copy, <secondary>):
 * builds the output described by `sec` (its @type, params and <buffer>).
 * Returns NULL after adding the reason to d. The engine destroys it.
 */
struct sk_instance *sk_output_create(struct sk_instance *owner, struct sk_conf_section *sec,
                                     struct sk_diag *d);

/* Hands events to an output: its buffer, or its emit when unbuffered.
 * 0, or SK_EFULL as for sk_emit. */
int sk_output_write(struct sk_instance *out, const char *tag, const struct sk_events *ev) SK_WUR;

/* Routes events into the label named `label` ("@ERROR", "@foo"). SK_ENOENT
 * when there is no such label. */
int sk_emit_label(struct sk_instance *from, const char *label, const char *tag,
                  const struct sk_events *ev) SK_WUR;

/* "<source>" / "<match nginx.**>" for the instance's section. */
const char *sk_instance_where(const struct sk_instance *ins, char *out, size_t size);

#endif
