#ifndef SK_FILTER_COMMON_FC_ERRORS_H
#define SK_FILTER_COMMON_FC_ERRORS_H

/*
 * Events a filter sends to the error stream (Fluentd's
 * router.emit_error_event), held until the filter has walked its whole
 * input and then handed to sk_emit_error one by one.
 *
 * Why not at once: sk_emit_error routes through the @ERROR label, and the
 * router runs that label's filters in the same scratch buffers that hold
 * this filter's input and output. Emitting after the input is read, with
 * the output saved and put back around the calls, keeps both intact.
 */
#include <stddef.h>

#include "plugin/plugin.h"

struct fc_errors {
    struct sk_buf events;  /* raw [time, record] events */
    struct sk_buf reasons; /* one NUL-terminated reason per event */
    struct sk_buf save;    /* the filter's output while emitting */
    size_t n;
};

void fc_errors_init(struct fc_errors *e);
void fc_errors_cleanup(struct fc_errors *e);

/* Forgets held events: a filter call that failed left them in its batch,
 * which the engine passes on unfiltered. Call at the start of each call. */
void fc_errors_clear(struct fc_errors *e);

/* Copies one event (ev[0..len)) and its reason. SK_ENOMEM / SK_ETOOBIG,
 * with nothing added. */
int fc_errors_add(struct fc_errors *e, const char *ev, size_t len, const char *reason) SK_WUR;

/*
 * Emits every held event with sk_emit_error(ins, tag, ...), then empties
 * the list. `out` (the filter's output so far) is the same afterwards.
 * Returns 0; SK_ENOMEM / SK_ETOOBIG when out could not be saved: nothing
 * was emitted (the caller fails the filter call, and the engine passes
 * the batch on unfiltered, bad events included).
 */
int fc_errors_flush(struct fc_errors *e, struct sk_instance *ins, const char *tag,
                    struct sk_evbuf *out) SK_WUR;

#endif
