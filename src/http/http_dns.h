#ifndef SK_HTTP_HTTP_DNS_H
#define SK_HTTP_HTTP_DNS_H

#include <netdb.h>

#include "util/err.h"

/*
 * Host name resolution off the loop: getaddrinfo() blocks for as long as
 * the DNS server takes, so it runs on a short-lived thread of its own and
 * the answer comes back through an eventfd watched by the loop. Numeric
 * addresses are answered at once, without a thread.
 */
struct sk_loop;
struct sk_dns_query;

/* `res` is owned by the callee's caller: free it with freeaddrinfo().
 * err is 0, or SK_ENOENT (no such host) / SK_EIO, with `text` saying why. */
typedef void (*sk_dns_cb)(struct addrinfo *res, int err, const char *text, void *arg);

/* Starts resolving host:port (TCP). The callback runs later, from the loop,
 * exactly once unless the query is cancelled first; `*out` is the handle for
 * cancelling (NULL once the callback has run). SK_ENOMEM / SK_EIO when the
 * query cannot start (then the callback never runs). */
int sk_dns_resolve(struct sk_loop *loop, const char *host, unsigned port, sk_dns_cb cb, void *arg,
                   struct sk_dns_query **out) SK_WUR;

/* Forgets a query: its callback will not run; the thread cleans up after
 * itself when it finishes. Accepts NULL. */
void sk_dns_cancel(struct sk_dns_query *q);

#endif
