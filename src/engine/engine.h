#ifndef SK_ENGINE_ENGINE_H
#define SK_ENGINE_ENGINE_H

#include <stdbool.h>

#include "config/diag.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * The engine turns a configuration into running plugin instances wired by
 * tag routes, owns the loop, and runs the start/stop order:
 * outputs start before inputs; on stop, inputs stop first, buffers flush
 * what they may, then outputs stop.
 */
struct sk_engine;

/*
 * Loads `path` and builds every instance (plugin init runs; start does
 * not). Every problem goes to `d`. Returns NULL when the configuration
 * cannot be used (d says why) or memory runs out.
 */
struct sk_engine *sk_engine_create(const char *path, bool dry_run, struct sk_diag *d);

/* Writes the effective configuration (defaults filled, secrets masked). */
int sk_engine_dump(const struct sk_engine *eng, struct sk_buf *out) SK_WUR;

/* Starts outputs then inputs, and runs until SIGTERM/SIGINT has been
 * handled and the buffers settled. Returns 0, or an SK_E* code when a
 * plugin failed to start. */
int sk_engine_run(struct sk_engine *eng) SK_WUR;

/* Asks a running engine to stop (what SIGTERM does). */
void sk_engine_request_stop(struct sk_engine *eng);

void sk_engine_destroy(struct sk_engine *eng);

#endif
