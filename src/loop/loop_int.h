#ifndef SK_LOOP_LOOP_INT_H
#define SK_LOOP_LOOP_INT_H

/* Internals shared by the files of src/loop/ (loop.c, fswatch.c). */
#include "loop/loop.h"

struct sk_fsnotify;

/* The loop's inotify state, created by fswatch.c on first use; NULL
 * before. loop.c frees it with sk_fsnotify_destroy when the loop goes. */
struct sk_fsnotify **sk_loop_fsnotify(struct sk_loop *loop);

/* Stops and frees the inotify state (NULL accepted). Path watchers still
 * alive must not be used afterwards. */
void sk_fsnotify_destroy(struct sk_fsnotify *n);

#endif
