#ifndef SK_ENGINE_ENGINE_INT_H
#define SK_ENGINE_ENGINE_INT_H

/* Engine internals shared by engine.c, build.c and route.c. */
#include "buffer/buffer.h"
#include "engine/engine.h"
#include "event/event.h"
#include "plugin/plugin.h"
#include "router/pattern.h"

struct sk_route {
    struct sk_pattern pattern;
    struct sk_instance *ins; /* borrowed from engine->instances */
    bool is_filter;
};

struct sk_label {
    char *name; /* owned; NULL for the root */
    struct sk_route *routes; /* owned, in configuration order */
    size_t nroutes;
};

/* Per-instance engine state (struct sk_instance.core). */
struct sk_core {
    struct sk_buffer *buffer;          /* outputs with a buffer */
    struct sk_buffer_conf bconf;       /* filled by sk_buffer_params */
    char *chunk_keys;                  /* owned */
    struct sk_conf_section *synthetic; /* owned section built by the engine, or NULL */
    bool started;
};

struct sk_system_conf {
    int log_level;                     /* index into log levels */
    char *root_dir;
    int64_t workers;
    bool suppress_repeated_stacktrace;
    bool without_source;
    char *process_name;
};

struct sk_engine {
    struct sk_conf *conf;              /* owned */
    struct sk_loop *loop;              /* owned */
    bool dry_run;
    struct sk_instance **instances;    /* owned, creation order */
    size_t ninstances;
    struct sk_label *labels;           /* owned; labels[0] is the root */
    size_t nlabels;
    struct sk_system_conf system;
    struct sk_evbuf scratch[2];        /* filter output, alternating (outermost routing) */
    int route_depth;                   /* nested routing (@ERROR from a filter) */
    struct sk_timer *stop_timer;
    int64_t stop_deadline_ms;
    bool stopping;
    uint64_t unmatched_events;
    uint64_t error_events;
    struct sk_log_limit unmatched_log;
    struct sk_log_limit error_log;
};

/* build.c */
int sk_engine_build(struct sk_engine *eng, struct sk_diag *d);
struct sk_instance *sk_instance_create(struct sk_engine *eng, enum sk_plugin_kind kind,
                                       struct sk_conf_section *sec, const char *type,
                                       struct sk_diag *d);
void sk_instance_destroy(struct sk_instance *ins);
struct sk_label *sk_engine_find_label(struct sk_engine *eng, const char *name);
void sk_section_free(struct sk_conf_section *s);

/* route.c */
int sk_route_events(struct sk_engine *eng, struct sk_label *label, struct sk_instance *from,
                     const char *tag, const struct sk_events *ev);

#endif
