#ifndef SK_OUT_ELASTICSEARCH_ES_RESPONSE_H
#define SK_OUT_ELASTICSEARCH_ES_RESPONSE_H

/*
 * What Elasticsearch answered, reduced to what the output does next. Pure:
 * bytes in, verdicts out.
 *
 * Whole request (HTTP status of POST /_bulk):
 *   200                       parse the items (below)
 *   no answer: connect error, reset, timeout; 502/503/504
 *                             the host is down: mark it dead, try another
 *   413                       too large: halve the request and retry it
 *   400 "...unknown parameter [_type]"
 *                             this server takes no _type: stop sending it
 *   400 (other)               something in the body is bad: split until the
 *                             offending event is alone, then reject it
 *   401/403/407               credentials (407: the proxy's): retry later,
 *                             log loudly
 *   429, 5xx, other           retry later (Retry-After honoured)
 *
 * Per item (status inside "items"; Fluentd's elasticsearch_error_handler
 * order, with skiff's retry rules):
 *   2xx                                      ok
 *   409 on create                            duplicate: already indexed
 *   404 document_missing_exception (update)  skipped (update of nothing)
 *   400                                      reject -> @ERROR
 *   error.type in unrecoverable_error_types  abort -> @ERROR
 *   json_parse_exception                     reject -> @ERROR
 *   429, 500, 502, 503, 504                  retry
 *   *rejected_execution_exception, circuit_breaking_exception
 *                                            retry
 *   403 cluster_block_exception "read-only-allow-delete"
 *                                            retry (the disk flood-stage block
 *                                            of ES <= 7.6, lifted automatically)
 *   anything else (404 index_not_found, invalid_index_name, other blocks)
 *                                            reject -> @ERROR
 *   no status at all                         retry (cannot tell)
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "param/param.h"
#include "util/buf.h"
#include "util/err.h"

enum es_write_op {
    ES_OP_INDEX,
    ES_OP_CREATE,
    ES_OP_UPDATE,
    ES_OP_UPSERT,
};

enum es_item_outcome {
    ES_ITEM_OK,
    ES_ITEM_DUPLICATE,
    ES_ITEM_SKIPPED,
    ES_ITEM_RETRY,
    ES_ITEM_REJECT,
    ES_ITEM_ABORT,
};

#define ES_REASON_MAX 384

/* One bulk answer item: 16 bytes, so 10^4 items of an all-good answer cost
 * little; the rare reasons live in the caller's text buffer. */
struct es_item {
    enum es_item_outcome outcome;
    int status;         /* 0 when the item had none */
    const char *reason; /* "400 mapper_parsing_exception: failed to parse ...", or "" */
};

struct es_bulk_counts {
    size_t ok;
    size_t duplicate;
    size_t skipped;
    size_t retry;
    size_t reject;
    size_t abort;
};

/*
 * Parses a 200 answer of POST /_bulk whose request held `nitems` actions,
 * filling items[0..nitems) in request order. `unrecoverable` (may be NULL)
 * lists error types that abort (unrecoverable_error_types). Item reasons
 * point into `reasons` (reset here), valid until its next change.
 * Returns 0; SK_EPARSE when the body is not JSON (garbage, truncated);
 * SK_EPROTO when it is JSON but has no "items" array or a different number
 * of items than actions sent (`err` says which). On error the items are
 * unspecified and the caller retries the whole request.
 */
int es_response_bulk(const char *body, size_t len, enum es_write_op op,
                     const struct sk_strv *unrecoverable, struct es_item *items, size_t nitems,
                     struct sk_buf *reasons, struct es_bulk_counts *counts, char *err,
                     size_t err_size) SK_WUR;

/* The classification of one item, exposed for tests and for the caller's
 * local rejections. `reason` may be NULL. */
enum es_item_outcome es_item_classify(enum es_write_op op, int status, const char *type,
                                      const char *reason, const struct sk_strv *unrecoverable);

enum es_http_verdict {
    ES_HTTP_BULK,          /* 200: parse the items */
    ES_HTTP_HOST_DOWN,     /* no answer / 502 / 503 / 504 */
    ES_HTTP_TOO_LARGE,     /* 413 */
    ES_HTTP_TYPE_REJECTED, /* 400 about _type */
    ES_HTTP_BAD_REQUEST,   /* other 400 */
    ES_HTTP_AUTH,          /* 401 / 403 / 407 */
    ES_HTTP_RETRY,         /* 429, other 5xx, other 4xx, 3xx */
};

/*
 * Classifies a whole answer. `status` 0 means no HTTP answer (then `err`
 * is the transport error). Writes the server's own words (error.reason,
 * AWS "Message", a plain-text body) or the transport error into `reason`.
 */
enum es_http_verdict es_response_http(int status, int err, const char *body, size_t len,
                                      char *reason, size_t reason_size);

/*
 * Retry-After (RFC 9110): delta-seconds or an HTTP-date, relative to `now`.
 * Returns the delay in milliseconds (0 for a date in the past), or -1 when
 * the value is absent or unreadable.
 */
int64_t es_retry_after_ms(const char *value, time_t now);

const char *es_item_outcome_name(enum es_item_outcome o);

#endif
