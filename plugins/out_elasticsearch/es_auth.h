#ifndef SK_OUT_ELASTICSEARCH_ES_AUTH_H
#define SK_OUT_ELASTICSEARCH_ES_AUTH_H

/*
 * Request authentication that depends on the request itself: AWS SigV4 for
 * Amazon Elasticsearch / OpenSearch Service, enabled by an <endpoint>
 * section (fluent-plugin-aws-elasticsearch-service's syntax; required by
 * @type aws-elasticsearch-service, allowed in @type elasticsearch).
 *
 * Every request the output sends goes through es_auth_sign() right before
 * sk_http_submit(), with the exact bytes that go on the wire:
 *
 *   build url + headers (+ gzip body)
 *        |
 *   n = es_auth_sign(es, method, url, body, len, hdrs, n, cap, &gen)
 *        |  adds Host, X-Amz-Date, [X-Amz-Security-Token], Authorization
 *        |  SK_EAGAIN: no credentials yet (keep the events, retry later)
 *   sk_http_submit(...)          (sk_http copies the headers at submit)
 *        |
 *   answer 403 "token ... expired": es_auth_expired(es, gen, ...) drops
 *   those credentials once (a refresh starts) -> re-sign and send again
 *
 * Without an <endpoint> section every call is a no-op that returns n.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct es_ctx;
struct sk_diag;
struct sk_http_header;
struct sk_instance;

/*
 * es_init: reads and checks the <endpoint> section of ins->section (if
 * any) into es->auth, and adds its url to the pool. @type
 * aws-elasticsearch-service without <endpoint> or url is an error; no
 * region is a warning here (often "#{ENV['AWS_REGION']}") and fatal at start. Returns 0, SK_ECONFIG (reasons in d) or SK_ENOMEM; es->auth stays
 * NULL without <endpoint>. es_auth_destroy cleans up after a failure too.
 */
int es_auth_create(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d) SK_WUR;

/* True when <endpoint> gave the url: es_init then adds no other host. */
bool es_auth_has_url(const struct es_ctx *es);

/* Frees es->auth (the provider first). Accepts es->auth == NULL. */
void es_auth_destroy(struct es_ctx *es);

/*
 * es_start, after es->http exists: starts the credential provider (static
 * keys are ready at once, the others arrive on the loop). When credentials
 * arrive and the version is still unknown, version detection starts.
 * Returns 0, SK_ECONFIG (no region anywhere: logged) or SK_ENOMEM.
 */
int es_auth_start(struct es_ctx *es) SK_WUR;

/* es_stop / es_destroy, before es->http is destroyed. Accepts NULL auth. */
void es_auth_stop(struct es_ctx *es);

/* False while signing is on and there are no credentials yet. */
bool es_auth_ready(const struct es_ctx *es);

/*
 * Signs `method` `url` (full URL as submitted; its host[:port] becomes the
 * Host header unless hdrs[] holds one) with `body` exactly as sent (after
 * gzip; NULL for none) and the n headers in hdrs[], appending Host and the
 * SigV4 headers after them (hdrs has room for `cap`). The added values
 * live in es->auth until the next call: submit before signing another
 * request. *gen (may be NULL) gets the credentials' generation for
 * es_auth_expired. Returns the new header count; n unchanged without
 * <endpoint>; SK_EAGAIN without credentials (logged here, rate-limited);
 * SK_ETOOBIG without room; SK_EINVAL / SK_ENOMEM from the signer.
 */
int es_auth_sign(struct es_ctx *es, const char *method, const char *url, const void *body,
                 size_t body_len, struct sk_http_header *hdrs, size_t n, size_t cap,
                 uint64_t *gen) SK_WUR;

/*
 * After an answer to a request signed with generation `gen`: true when it
 * says the security token expired (es_aws_token_expired); the credentials
 * of that generation are then dropped and fetched again (once, however
 * many requests were refused; gen 0: the current ones, for requests that
 * did not keep theirs). False without <endpoint>.
 */
bool es_auth_expired(struct es_ctx *es, uint64_t gen, int status, const char *body, size_t len);

/*
 * True when signing is on and a 403 is the AWS front end refusing the
 * signature or the credentials themselves (invalid or expired token,
 * signature mismatch or expiry, wrong scope), as opposed to an access
 * policy that does not allow this action: the keys are wrong, nothing
 * will pass until they change.
 */
bool es_auth_refused(const struct es_ctx *es, int status, const char *body, size_t len);

#endif
