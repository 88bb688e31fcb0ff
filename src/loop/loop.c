/* libev glue: with fswatch.c (and http/) the only files that include <ev.h>. */
#include "loop/loop.h"

#include <ev.h>
#include <signal.h>
#include <string.h>

#include "loop/loop_int.h"
#include "util/alloc.h"

#define SK_MAX_SIGNALS 8

struct sk_signal_slot {
    ev_signal w;
    sk_signal_cb cb;
    void *arg;
    struct sk_loop *loop;
};

struct sk_loop {
    struct ev_loop *ev;
    struct sk_signal_slot signals[SK_MAX_SIGNALS];
    int nsignals;
    struct sk_fsnotify *fsnotify; /* owned: fswatch.c's inotify state, or NULL */
};

struct sk_timer {
    ev_timer w;
    struct sk_loop *loop;
    sk_timer_cb cb;
    void *arg;
    bool defer_once; /* destroy itself after firing (sk_loop_defer) */
};

struct sk_io {
    ev_io w;
    struct sk_loop *loop;
    sk_io_cb cb;
    void *arg;
};

struct sk_loop *sk_loop_create(void)
{
    struct sk_loop *loop = sk_calloc(1, sizeof(*loop));

    if (loop == NULL) {
        return NULL;
    }
    loop->ev = ev_default_loop(EVFLAG_AUTO);
    if (loop->ev == NULL) {
        sk_free(loop);
        return NULL;
    }
    return loop;
}

void sk_loop_destroy(struct sk_loop *loop)
{
    if (loop == NULL) {
        return;
    }
    for (int i = 0; i < loop->nsignals; i++) {
        ev_ref(loop->ev); /* undo the unref made when it started */
        ev_signal_stop(loop->ev, &loop->signals[i].w);
    }
    sk_fsnotify_destroy(loop->fsnotify);
    sk_free(loop);
}

struct sk_fsnotify **sk_loop_fsnotify(struct sk_loop *loop)
{
    return &loop->fsnotify;
}

void sk_loop_run(struct sk_loop *loop)
{
    ev_run(loop->ev, 0);
}

void sk_loop_stop(struct sk_loop *loop)
{
    ev_break(loop->ev, EVBREAK_ALL);
}

int64_t sk_loop_now_ms(struct sk_loop *loop)
{
    return (int64_t)(ev_now(loop->ev) * 1000.0);
}

int64_t sk_loop_update_now_ms(struct sk_loop *loop)
{
    ev_now_update(loop->ev);
    return sk_loop_now_ms(loop);
}

void *sk_loop_ev(struct sk_loop *loop)
{
    return loop->ev;
}

static void timer_fire(struct ev_loop *ev, ev_timer *w, int revents)
{
    struct sk_timer *t = (struct sk_timer *)w;

    (void)ev;
    (void)revents;
    if (t->defer_once) {
        sk_timer_cb cb = t->cb;
        void *arg = t->arg;

        sk_free(t);
        cb(NULL, arg);
        return;
    }
    t->cb(t, t->arg);
}

struct sk_timer *sk_timer_create(struct sk_loop *loop, sk_timer_cb cb, void *arg)
{
    struct sk_timer *t = sk_calloc(1, sizeof(*t));

    if (t == NULL) {
        return NULL;
    }
    ev_init(&t->w, timer_fire);
    t->loop = loop;
    t->cb = cb;
    t->arg = arg;
    return t;
}

void sk_timer_start(struct sk_timer *t, int64_t after_ms, int64_t repeat_ms)
{
    ev_timer_stop(t->loop->ev, &t->w);
    ev_timer_set(&t->w, (double)(after_ms > 0 ? after_ms : 0) / 1000.0,
                 (double)(repeat_ms > 0 ? repeat_ms : 0) / 1000.0);
    ev_timer_start(t->loop->ev, &t->w);
}

void sk_timer_stop(struct sk_timer *t)
{
    ev_timer_stop(t->loop->ev, &t->w);
}

bool sk_timer_active(const struct sk_timer *t)
{
    /* An expired timer is pending, no longer active, until its callback
     * runs later in the same iteration: starting it again then would
     * cancel that callback. */
    return ev_is_active(&t->w) || ev_is_pending(&t->w);
}

void sk_timer_destroy(struct sk_timer *t)
{
    if (t == NULL) {
        return;
    }
    ev_timer_stop(t->loop->ev, &t->w);
    sk_free(t);
}

struct sk_timer *sk_loop_defer(struct sk_loop *loop, sk_timer_cb cb, void *arg)
{
    struct sk_timer *t = sk_timer_create(loop, cb, arg);

    if (t == NULL) {
        return NULL;
    }
    t->defer_once = true;
    sk_timer_start(t, 0, 0);
    return t;
}

static void io_fire(struct ev_loop *ev, ev_io *w, int revents)
{
    struct sk_io *io = (struct sk_io *)w;
    int events = 0;

    (void)ev;
    if (revents & EV_READ) {
        events |= SK_IO_READ;
    }
    if (revents & EV_WRITE) {
        events |= SK_IO_WRITE;
    }
    io->cb(io, events, io->arg);
}

static int to_ev_events(int events)
{
    return ((events & SK_IO_READ) ? EV_READ : 0) | ((events & SK_IO_WRITE) ? EV_WRITE : 0);
}

struct sk_io *sk_io_create(struct sk_loop *loop, int fd, int events, sk_io_cb cb, void *arg)
{
    struct sk_io *io = sk_calloc(1, sizeof(*io));

    if (io == NULL) {
        return NULL;
    }
    ev_io_init(&io->w, io_fire, fd, to_ev_events(events));
    io->loop = loop;
    io->cb = cb;
    io->arg = arg;
    return io;
}

void sk_io_set(struct sk_io *w, int fd, int events)
{
    bool active = ev_is_active(&w->w);

    ev_io_stop(w->loop->ev, &w->w);
    ev_io_set(&w->w, fd, to_ev_events(events));
    if (active) {
        ev_io_start(w->loop->ev, &w->w);
    }
}

void sk_io_start(struct sk_io *w)
{
    ev_io_start(w->loop->ev, &w->w);
}

void sk_io_stop(struct sk_io *w)
{
    ev_io_stop(w->loop->ev, &w->w);
}

void sk_io_destroy(struct sk_io *w)
{
    if (w == NULL) {
        return;
    }
    ev_io_stop(w->loop->ev, &w->w);
    sk_free(w);
}

static void signal_fire(struct ev_loop *ev, ev_signal *w, int revents)
{
    struct sk_signal_slot *slot = (struct sk_signal_slot *)w;

    (void)ev;
    (void)revents;
    slot->cb(w->signum, slot->arg);
}

int sk_loop_on_signal(struct sk_loop *loop, int signum, sk_signal_cb cb, void *arg)
{
    struct sk_signal_slot *slot;

    if (loop->nsignals == SK_MAX_SIGNALS) {
        return SK_EFULL;
    }
    slot = &loop->signals[loop->nsignals++];
    slot->cb = cb;
    slot->arg = arg;
    slot->loop = loop;
    ev_signal_init(&slot->w, signal_fire, signum);
    ev_signal_start(loop->ev, &slot->w);
    /* Signal watchers must not keep the loop alive on their own. */
    ev_unref(loop->ev);
    return 0;
}
