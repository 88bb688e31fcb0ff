#ifndef SK_LOOP_LOOP_H
#define SK_LOOP_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/*
 * The one event loop (libev underneath; <ev.h> stays inside src/loop/).
 * Watchers are heap objects owned by whoever creates them; destroy stops
 * them first and accepts NULL. Callbacks run on the loop thread only.
 */
struct sk_loop;
struct sk_timer;
struct sk_io;
struct sk_fswatch;

typedef void (*sk_timer_cb)(struct sk_timer *t, void *arg);
typedef void (*sk_io_cb)(struct sk_io *w, int revents, void *arg);
typedef void (*sk_fswatch_cb)(struct sk_fswatch *w, void *arg);
typedef void (*sk_signal_cb)(int signum, void *arg);

enum { SK_IO_READ = 1, SK_IO_WRITE = 2 };

/* Creates the loop (libev's default loop, for child/signal support). */
struct sk_loop *sk_loop_create(void);
void sk_loop_destroy(struct sk_loop *loop);

/* Runs until sk_loop_stop or until no watcher is active. */
void sk_loop_run(struct sk_loop *loop);
void sk_loop_stop(struct sk_loop *loop);

/* Cached loop time in milliseconds (monotonic), refreshed each iteration. */
int64_t sk_loop_now_ms(struct sk_loop *loop);
/* Refreshes and returns the loop time. */
int64_t sk_loop_update_now_ms(struct sk_loop *loop);

/* Timers: one-shot after `after_ms`, repeating every `repeat_ms` if > 0.
 * sk_timer_active: the callback is still to come (armed, or expired and
 * about to run in this loop iteration); false inside the callback of a
 * one-shot timer. Starting an active timer again restarts its delay. */
struct sk_timer *sk_timer_create(struct sk_loop *loop, sk_timer_cb cb, void *arg);
void sk_timer_start(struct sk_timer *t, int64_t after_ms, int64_t repeat_ms);
void sk_timer_stop(struct sk_timer *t);
bool sk_timer_active(const struct sk_timer *t);
void sk_timer_destroy(struct sk_timer *t);

/* fd readiness; `events` is SK_IO_READ | SK_IO_WRITE. */
struct sk_io *sk_io_create(struct sk_loop *loop, int fd, int events, sk_io_cb cb, void *arg);
void sk_io_set(struct sk_io *w, int fd, int events); /* re-arm with new fd/events */
void sk_io_start(struct sk_io *w);
void sk_io_stop(struct sk_io *w);
void sk_io_destroy(struct sk_io *w);

/* Path watcher: the callback fires after the file the path names was
 * written to or changed attributes, and after a file was created, renamed
 * or deleted under the path (sometimes more often: callers stat the path
 * themselves). inotify on local file systems, with no system call per
 * event beyond one shared read(); elsewhere libev's ev_stat, polling every
 * `interval_ms` (0: libev's default). */
struct sk_fswatch *sk_fswatch_create(struct sk_loop *loop, const char *path, int64_t interval_ms,
                                     sk_fswatch_cb cb, void *arg);
void sk_fswatch_destroy(struct sk_fswatch *w);

/* Signals delivered on the loop (SIGTERM, SIGINT, SIGHUP, SIGUSR1). */
int sk_loop_on_signal(struct sk_loop *loop, int signum, sk_signal_cb cb, void *arg) SK_WUR;

/* Runs cb once at the start of the next loop iteration (deferred work). */
struct sk_timer *sk_loop_defer(struct sk_loop *loop, sk_timer_cb cb, void *arg);

/* The underlying struct ev_loop *, for src/http/ only. */
void *sk_loop_ev(struct sk_loop *loop);

#endif
