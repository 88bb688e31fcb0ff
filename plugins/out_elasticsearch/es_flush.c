/*
 * One chunk -> `_bulk` requests -> one sk_flush_done. Requests of a chunk
 * go one after the other (chunks run side by side, flush_thread_count at a
 * time); each answer is sorted item by item:
 *
 *   indexed / duplicate / skipped      done
 *   retryable (429, 5xx, rejected)     copied into `remaining`
 *   never indexable (400, ...)         sk_emit_error, logged, counted
 *
 * and the chunk completes with SK_FLUSH_OK, or SK_FLUSH_RETRY naming exactly
 * the events still owed. Whole-request failures owe the request's events
 * and everything not yet sent. Nothing leaves without a counter.
 */
#include "out_elasticsearch/es.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "loop/loop.h"
#include "out_elasticsearch/es_auth.h"
#include "out_elasticsearch/es_setup.h"
#include "util/alloc.h"

#define ES_JOB_HEADERS 24
/* Body bytes encoded between two page give-backs (encode_request). */
#define ES_ENCODE_STEP (1u << 20)
/* filter_path applies to error answers too: without `error`/`status` a
 * whole-request 400 (e.g. about _type) or 401 arrives as "{}". */
#define ES_BULK_QUERY "/_bulk?filter_path=errors,items.*.status,items.*.error,error,status"
#define ES_BULK_RESPONSE_MAX (128u << 20)
#define ES_RETRY_AFTER_MAX_MS (300 * 1000)
#define ES_BAD_REQUEST_STREAK_MAX 10

struct es_job {
    struct es_ctx *es;
    struct sk_flush *f;
    struct es_job *next;
    struct es_bulk_conf bconf;
    struct es_index index;
    struct es_setup_names *names; /* es_setup.h: this chunk's names, or NULL */
    struct es_bulk bulk;
    struct sk_buf pipeline;
    struct es_job_mem mem;   /* req, gz, items, reasons */
    struct sk_buf remaining; /* events owed, copied from the chunk */
    size_t remaining_count;
    size_t owed_prefix;      /* owed events so far are data[0, owed_prefix), not copied */
    bool owed_copied;        /* ... or they are in `remaining` */
    size_t off;              /* next byte of the chunk to encode */
    size_t noted_upto;       /* encoder notes before this offset were handled */
    size_t given_back;       /* chunk bytes handed to sk_flush_consumed */
    size_t limit;
    bool shrunk;             /* limit lowered after a 413 in this chunk */
    struct es_host *host;    /* reference held while a request is out */
    unsigned int hosts_tried;
    bool in_http;
    bool waiting_version;
    bool began;
    bool corrupt;            /* the chunk holds bytes that are not events */
    bool garbage_only;       /* ... from its very first byte */
    bool told_retry;         /* item retries already logged for this chunk */
    bool auth_retried;       /* this request was re-signed after "token expired" */
    uint64_t auth_gen;       /* AWS credentials generation it was signed with */
    struct sk_timer *timer;
    struct sk_buf url;
    struct sk_http_header hdrs[ES_JOB_HEADERS];
    struct sk_http_request http;
    size_t ok, duplicates, skipped, retried, rejected, dropped, requests;
};

static void job_next(struct es_job *job);

/* --- bookkeeping ---------------------------------------------------------------- */

static const char *job_tag(const struct es_job *job)
{
    return job->f->tag != NULL ? job->f->tag : job->f->events.tag;
}

static void job_unlink(struct es_job *job)
{
    for (struct es_job **p = &job->es->jobs; *p != NULL; p = &(*p)->next) {
        if (*p == job) {
            *p = job->next;
            return;
        }
    }
}

static void job_mem_init(struct es_job_mem *m)
{
    memset(m, 0, sizeof(*m));
    es_bulk_req_init(&m->req);
    sk_buf_init(&m->gz, ES_BULK_BODY_MAX + (1u << 20));
    sk_buf_init(&m->reasons, ES_BULK_RESPONSE_MAX);
}

void es_job_mem_cleanup(struct es_job_mem *m)
{
    es_bulk_req_cleanup(&m->req);
    sk_buf_cleanup(&m->gz);
    sk_buf_cleanup(&m->reasons);
    sk_free(m->items);
    memset(m, 0, sizeof(*m));
}

/* Keeps the job's big buffers for the next chunk when none are kept yet. */
static void job_mem_release(struct es_ctx *es, struct es_job_mem *m)
{
    if (es->has_spare || es->stopping) {
        es_job_mem_cleanup(m);
        return;
    }
    es_bulk_req_reset(&m->req);
    sk_buf_reset(&m->gz);
    sk_buf_reset(&m->reasons);
    es->spare = *m;
    es->has_spare = true;
    memset(m, 0, sizeof(*m));
}

static void job_mem_take(struct es_ctx *es, struct es_job_mem *m)
{
    if (!es->has_spare) {
        job_mem_init(m);
        return;
    }
    *m = es->spare;
    es->has_spare = false;
    memset(&es->spare, 0, sizeof(es->spare));
}

static void job_free(struct es_job *job)
{
    sk_timer_destroy(job->timer);
    es_pool_put(&job->es->pool, job->host);
    es_bulk_cleanup(&job->bulk);
    es_index_cleanup(&job->index);
    es_setup_names_free(job->names);
    sk_buf_cleanup(&job->pipeline);
    job_mem_release(job->es, &job->mem);
    sk_buf_cleanup(&job->remaining);
    sk_buf_cleanup(&job->url);
    sk_free(job);
}

static void owe_append(struct es_job *job, const char *p, size_t len)
{
    if (sk_buf_append(&job->remaining, p, len) < 0) {
        /* Cannot shrink the chunk precisely: retry it whole rather than
         * lose anything (marked by an impossible count). */
        job->remaining_count = SIZE_MAX;
    }
}

/* The owed events stop being one run from the chunk's start: copy that run. */
static void owe_copy_prefix(struct es_job *job)
{
    if (!job->owed_copied) {
        job->owed_copied = true;
        owe_append(job, job->f->events.data, job->owed_prefix);
    }
}

/*
 * Owes one event (or unreadable bytes). While everything owed is one run
 * from the start of the chunk, nothing is copied: a request that fails
 * whole, over and over during an outage, then retries the chunk as it is
 * instead of copying megabytes into `remaining` at every attempt.
 */
static void owe(struct es_job *job, const char *p, size_t len, size_t count)
{
    if (!job->owed_copied && p == job->f->events.data + job->owed_prefix) {
        job->owed_prefix += len;
    } else {
        owe_copy_prefix(job);
        owe_append(job, p, len);
    }
    if (job->remaining_count != SIZE_MAX) {
        job->remaining_count += count;
    }
    job->retried += count;
    job->es->stats.retried += count;
}

static void owe_request(struct es_job *job)
{
    const char *data = job->f->events.data;

    for (size_t i = 0; i < job->mem.req.nactions; i++) {
        owe(job, data + job->mem.req.actions[i].ev_off, job->mem.req.actions[i].ev_len, 1);
    }
    job->mem.req.nactions = 0;
}

/* Owes everything from job->off to the end of the chunk. */
static void owe_rest(struct es_job *job)
{
    const char *data = job->f->events.data;
    size_t len = job->f->events.len;
    struct es_mp_cur cur;
    struct es_mp_event ev;
    size_t count = 0;

    if (job->off >= len) {
        return;
    }
    es_mp_cur_init(&cur, data + job->off, len - job->off);
    while (es_mp_next_event(&cur, &ev) > 0) {
        count++;
    }
    if (cur.p < cur.end) {
        count++; /* unreadable bytes still count as something owed */
    }
    owe(job, data + job->off, len - job->off, count);
    job->off = len;
}

static void job_finish(struct es_job *job)
{
    struct es_ctx *es = job->es;
    struct sk_flush *f = job->f;
    struct sk_events rest = {.tag = job_tag(job)};
    enum sk_flush_result r = SK_FLUSH_OK;
    const struct sk_events *rp = NULL;
    bool whole = !job->owed_copied && job->owed_prefix == f->events.len && f->events.len > 0;

    if (whole && !(job->garbage_only && job->remaining_count == 1)) {
        job->remaining_count = SIZE_MAX; /* every event owed: the chunk as it is */
    } else {
        owe_copy_prefix(job);
        rest.data = job->remaining.data;
        rest.len = job->remaining.len;
        rest.count = job->remaining_count;
    }
    if (job->remaining_count == SIZE_MAX) {
        r = SK_FLUSH_RETRY; /* the whole chunk again */
    } else if (job->remaining.len > 0) {
        r = SK_FLUSH_RETRY;
        rp = &rest;
        if (job->garbage_only && job->remaining_count == 1) {
            /* Nothing but unreadable bytes: retrying cannot help. */
            r = SK_FLUSH_DROP;
            rp = NULL;
        }
    }
    sk_debug("%s: chunk %s: %zu indexed, %zu duplicates, %zu skipped, %zu retried, %zu rejected, "
             "%zu dropped, %zu requests",
             es->ins->id, f->chunk_id, job->ok, job->duplicates, job->skipped, job->retried,
             job->rejected, job->dropped, job->requests);
    job_unlink(job);
    sk_flush_done(f, r, rp);
    job_free(job);
}

/* --- events the encoder or the server refused ----------------------------------- */

static void reject_event(struct es_job *job, const char *ev, size_t len, const char *reason)
{
    struct es_ctx *es = job->es;
    struct sk_events e = {job_tag(job), ev, len, 1};
    char why[ES_REASON_MAX + 64];

    snprintf(why, sizeof(why), "elasticsearch: %s", reason);
    job->rejected++;
    es->stats.rejected++;
    if (sk_emit_error(es->ins, job_tag(job), &e, why) == 1) {
        /* @ERROR took it; the engine logged nothing, so say it here. */
        sk_log_limited(&es->reject_log, SK_LOG_WARN, "%s: document rejected (sent to @ERROR): %s",
                       es->ins->id, reason);
    }
}

static void on_note(void *arg, enum es_bulk_note note, const char *ev, size_t ev_len,
                    const char *reason)
{
    struct es_job *job = arg;
    struct es_ctx *es = job->es;
    size_t at = (size_t)(ev - job->f->events.data);

    if (at < job->noted_upto) {
        return; /* re-encoding after a split: already handled */
    }
    job->noted_upto = at + ev_len;
    switch (note) {
    case ES_NOTE_REJECT:
        reject_event(job, ev, ev_len, reason);
        break;
    case ES_NOTE_DROP:
        job->dropped++;
        es->stats.dropped++;
        sk_log_limited(&es->drop_log, SK_LOG_WARN,
                       "%s: dropped a record without _id (write_operation %s needs id_key); set "
                       "emit_error_for_missing_id true to keep such records",
                       es->ins->id, job->bconf.op == ES_OP_CREATE ? "create" : "update/upsert");
        break;
    case ES_NOTE_TIME:
        es->stats.time_fallbacks++;
        sk_log_limited(&es->time_log, SK_LOG_WARN,
                       "%s: cannot read the time in '%s'; the event time was used", es->ins->id,
                       reason);
        /* The event is still sent: it may be noted again by later steps. */
        job->noted_upto = at;
        break;
    }
}

/* --- requests --------------------------------------------------------------------- */

size_t es_build_headers(const struct es_ctx *es, const struct sk_http_header *extra, size_t nextra,
                        struct sk_http_header *out, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < es->nheaders && k < n; i++) {
        out[k++] = es->headers[i];
    }
    for (size_t i = 0; i < nextra && k < n; i++) {
        out[k++] = extra[i];
    }
    return k;
}

static int gzip_body(const struct sk_buf *in, struct sk_buf *out, int level)
{
    z_stream zs;
    uLong bound;
    int zrc;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return SK_ENOMEM;
    }
    bound = deflateBound(&zs, (uLong)in->len) + 32;
    sk_buf_reset(out);
    if (sk_buf_reserve(out, bound) < 0) {
        deflateEnd(&zs);
        return SK_ENOMEM;
    }
    zs.next_in = (Bytef *)in->data;
    zs.avail_in = (uInt)in->len;
    zs.next_out = (Bytef *)out->data;
    zs.avail_out = (uInt)bound;
    zrc = deflate(&zs, Z_FINISH);
    out->len = zs.total_out;
    deflateEnd(&zs);
    return zrc == Z_STREAM_END ? 0 : SK_EIO;
}

/*
 * Request signing hook (Amazon SigV4: out_elasticsearch/es_sigv4.h). Gets
 * the request exactly as it goes on the wire (method, URL, headers, body
 * after gzip) and may append up to ES_SIGV4_MAX_ADDED headers (plus Host)
 * after the `n` already in job->hdrs; returns the new count, or a negative
 * SK_E* code (the request is then not sent and the events are retried).
 * Nothing is signed until the AWS parameters (region, credentials) exist.
 */
static int sign_request(struct es_job *job, const char *method, const char *url, size_t n)
{
    const struct sk_buf *body = job->es->gzip_level >= 0 ? &job->mem.gz : &job->mem.req.body;

    return es_auth_sign(job->es, method, url, body->data, body->len, job->hdrs, n,
                        ES_JOB_HEADERS, &job->auth_gen);
}

static void on_bulk(const struct sk_http_response *res, void *arg);

/* Sends job->req (already encoded) to the next host. */
static void job_send(struct es_job *job)
{
    struct es_ctx *es = job->es;
    struct sk_http_header extra[1] = {{"Content-Encoding", "gzip"}};
    const struct sk_buf *body = &job->mem.req.body;
    size_t n;
    int rc;

    job->host = es_pool_pick(&es->pool, sk_loop_now_ms(es->loop));
    sk_buf_reset(&job->url);
    rc = job->host != NULL ? sk_buf_printf(&job->url, "%s" ES_BULK_QUERY "%s", job->host->base_url,
                                           es_setup_bulk_params(es))
                           : SK_EINVAL;
    if (rc == 0 && es->gzip_level >= 0) {
        rc = gzip_body(&job->mem.req.body, &job->mem.gz, es->gzip_level);
        body = &job->mem.gz;
    }
    n = es_build_headers(es, extra, es->gzip_level >= 0 ? 1 : 0, job->hdrs, ES_JOB_HEADERS);
    if (rc == 0) {
        rc = sign_request(job, "POST", job->url.data, n);
    }
    if (rc >= 0) {
        memset(&job->http, 0, sizeof(job->http));
        job->http.method = "POST";
        job->http.url = job->url.data;
        job->http.headers = job->hdrs;
        job->http.nheaders = (size_t)rc;
        job->http.body = body->data;
        job->http.body_len = body->len;
        job->http.user = job->host->user;
        job->http.password = job->host->password;
        job->http.proxy = es->conf->proxy;
        job->http.tls = &es->tls;
        job->http.timeout_ms = es->conf->request_timeout_ms;
        job->http.connect_timeout_ms = es->conf->request_timeout_ms;
        job->http.max_response = ES_BULK_RESPONSE_MAX;
        /* reconnect_on_error: after a failure, as Fluentd drops its client. */
        job->http.fresh_connect = es->conf->reconnect_on_error && es->reconnect_next;
        es->reconnect_next = false;
        rc = sk_http_submit(es->http, &job->http, on_bulk, job);
    }
    if (rc < 0) {
        if (rc != SK_EAGAIN) { /* EAGAIN: no AWS credentials yet, said by es_auth_sign */
            sk_log_limited(&es->fail_log, SK_LOG_ERROR, "%s: cannot send a bulk request: %s",
                           es->ins->id, sk_strerror(rc));
        }
        es_pool_put(&es->pool, job->host);
        job->host = NULL;
        owe_request(job);
        owe_rest(job);
        job_finish(job);
        return;
    }
    job->in_http = true;
    job->requests++;
    es->stats.requests++;
    es->stats.bytes_sent += body->len;
}

static void on_timer(struct sk_timer *t, void *arg)
{
    (void)t;
    job_next(arg);
}

/* Waits for a server-requested back-off (Retry-After) to pass. */
static bool job_wait_backoff(struct es_job *job)
{
    struct es_ctx *es = job->es;
    int64_t now = sk_loop_update_now_ms(es->loop);

    if (es->backoff_until_ms <= now) {
        return false;
    }
    if (job->timer == NULL) {
        job->timer = sk_timer_create(es->loop, on_timer, job);
    }
    if (job->timer == NULL) {
        return false; /* no timer: go ahead rather than stall */
    }
    sk_timer_start(job->timer, es->backoff_until_ms - now, 0);
    return true;
}

/*
 * Encodes the next request from the chunk, ES_ENCODE_STEP bytes of body at
 * a time (es_bulk_encode appends), giving the chunk's pages behind each
 * step back to the buffer. Without that, the pages of a file chunk read
 * for a 5 MB request stay mapped next to the request until it is answered:
 * a third of skiff's peak RSS. A retry reads them again from the file.
 */
static int encode_request(struct es_job *job, const char *data, size_t len)
{
    size_t step = ES_ENCODE_STEP;
    int rc;

    for (;;) {
        size_t limit = step < job->limit ? step : job->limit;

        rc = es_bulk_encode(&job->bulk, data, len, &job->off, limit, &job->mem.req, on_note, job);
        if (job->off > job->given_back) { /* a resend re-reads; the hint only moves on */
            job->given_back = job->off;
            sk_flush_consumed(job->f, job->off);
        }
        if (rc < 0 || limit == job->limit || job->off >= len) {
            return rc;
        }
        step += ES_ENCODE_STEP;
    }
}

/* Encodes and sends the next slice, or finishes the chunk. */
static void job_next(struct es_job *job)
{
    struct es_ctx *es = job->es;
    const char *data = job->f->events.data;
    size_t len = job->f->events.len;
    int rc;

    if (es->stopping || es->http == NULL) {
        owe_rest(job);
        job_finish(job);
        return;
    }
    if (job_wait_backoff(job)) {
        return;
    }
    if (es->learned_limit > 0 && es->learned_limit < job->limit) {
        job->limit = es->learned_limit; /* another chunk met a 413 meanwhile */
    }
    es_bulk_req_reset(&job->mem.req);
    rc = encode_request(job, data, len);
    if (rc == SK_EPARSE) {
        size_t at = job->off;

        job->corrupt = true;
        job->garbage_only = at == 0;
        sk_error("%s: chunk %s holds %zu bytes at offset %zu that are not events; they stay in "
                 "the buffer",
                 es->ins->id, job->f->chunk_id, len - at, at);
        owe(job, data + at, len - at, 1);
        job->off = len;
    } else if (rc < 0) {
        owe_request(job);
        owe_rest(job);
        job_finish(job);
        return;
    }
    if (job->mem.req.nactions == 0) {
        job_finish(job); /* every event handled */
        return;
    }
    /* es_setup.h: the aliases / data stream this request writes to must
     * exist first; while their set-up is pending the events wait. */
    if (es_setup_prepare(es, job->names, &job->mem.req) < 0) {
        owe_request(job);
        owe_rest(job);
        job_finish(job);
        return;
    }
    job->hosts_tried = 0;
    job->auth_retried = false;
    job_send(job);
}

static void job_begin(struct es_job *job)
{
    struct es_ctx *es = job->es;
    struct es_tmpl_ctx tctx = {.tag = job->f->tag, .timekey = job->f->timekey,
                               .chunk_id = job->f->chunk_id};
    int rc = 0;

    job->waiting_version = false;
    job->began = true;
    job->bconf = es->bulk;
    job->bconf.type_name = es->typeless ? NULL : es->dialect.type_name;
    job->bconf.routing_name = es->dialect.routing;
    if (es->pipeline != NULL) {
        rc = es_tmpl_expand(es->pipeline, &tctx, &job->pipeline);
        job->bconf.pipeline = job->pipeline.data;
    }
    if (rc == 0) {
        rc = es_index_begin_chunk(&job->index, &tctx);
    }
    if (rc == 0) {
        rc = es_setup_begin_chunk(es, &tctx, &job->names);
    }
    if (rc == 0) {
        rc = es_bulk_begin_chunk(&job->bulk, job_tag(job));
    }
    if (tctx.warning[0] != '\0') {
        sk_log_limited(&es->fail_log, SK_LOG_WARN, "%s: chunk %s: %s", es->ins->id,
                       job->f->chunk_id, tctx.warning);
    }
    if (rc < 0) {
        sk_error("%s: chunk %s: cannot compute the index name: %s", es->ins->id, job->f->chunk_id,
                 sk_strerror(rc));
        owe_rest(job);
        job_finish(job);
        return;
    }
    job->limit = es->limit;
    if (es->learned_limit > 0 && es->learned_limit < job->limit) {
        job->limit = es->learned_limit;
    }
    job_next(job);
}

/* --- answers ------------------------------------------------------------------------ */

static void ensure_items(struct es_job *job, size_t n)
{
    struct es_item *items;

    if (n <= job->mem.items_cap) {
        return;
    }
    items = sk_realloc(job->mem.items, n * sizeof(*items));
    if (items != NULL) {
        job->mem.items = items;
        job->mem.items_cap = n;
    }
}

/* 200: sorts the items. Returns true to go on with the next slice. */
static bool handle_items(struct es_job *job, const struct sk_http_response *res,
                         const struct es_host *h)
{
    struct es_ctx *es = job->es;
    const char *data = job->f->events.data;
    struct es_bulk_counts counts;
    char err[160];
    int rc = SK_ENOMEM;

    ensure_items(job, job->mem.req.nactions);
    if (job->mem.items_cap >= job->mem.req.nactions) {
        rc = es_response_bulk(res->body.data, res->body.len,
                              es_setup_response_op(es, job->bconf.op),
                              &es->conf->unrecoverable_error_types, job->mem.items,
                              job->mem.req.nactions, &job->mem.reasons, &counts, err, sizeof(err));
    } else {
        snprintf(err, sizeof(err), "out of memory");
    }
    if (rc < 0) {
        es->stats.request_failures++;
        sk_log_limited(&es->fail_log, SK_LOG_ERROR, "%s: unusable bulk response from %s: %s",
                       es->ins->id, h->label, err);
        owe_request(job);
        return false;
    }
    if (counts.ok == job->mem.req.nactions) { /* the common answer */
        job->ok += counts.ok;
        es->stats.events_ok += counts.ok;
        job->mem.req.nactions = 0;
        return true;
    }
    for (size_t i = 0; i < job->mem.req.nactions; i++) {
        es_setup_item(es, &job->mem.items[i]); /* es_setup.h: a 404 from require_alias: retry */
    }
    for (size_t i = 0; i < job->mem.req.nactions; i++) {
        const struct es_action *a = &job->mem.req.actions[i];
        const struct es_item *it = &job->mem.items[i];

        switch (it->outcome) {
        case ES_ITEM_OK:
            job->ok++;
            es->stats.events_ok++;
            break;
        case ES_ITEM_DUPLICATE:
            job->duplicates++;
            es->stats.duplicates++;
            break;
        case ES_ITEM_SKIPPED:
            job->skipped++;
            es->stats.skipped++;
            break;
        case ES_ITEM_RETRY:
            owe(job, data + a->ev_off, a->ev_len, 1);
            break;
        case ES_ITEM_ABORT:
            es->stats.aborted++;
            reject_event(job, data + a->ev_off, a->ev_len, it->reason);
            break;
        case ES_ITEM_REJECT:
            reject_event(job, data + a->ev_off, a->ev_len, it->reason);
            break;
        }
    }
    for (size_t i = 0; i < job->mem.req.nactions && counts.retry > 0 && !job->told_retry; i++) {
        if (job->mem.items[i].outcome == ES_ITEM_RETRY) {
            /* Once per chunk: back-pressure tends to hit every request. */
            job->told_retry = true;
            sk_log_limited(&es->fail_log, SK_LOG_WARN,
                           "%s: chunk %s: %zu of %zu documents refused for now (e.g. %.160s); "
                           "they will be retried",
                           es->ins->id, job->f->chunk_id, counts.retry, job->mem.req.nactions,
                           job->mem.items[i].reason);
        }
    }
    job->mem.req.nactions = 0;
    /* Mostly back-pressure: stop pushing more of this chunk now. */
    return counts.retry * 2 <= counts.ok + counts.duplicate + counts.skipped + counts.retry +
                                   counts.reject + counts.abort;
}

/* Remembers a request size the server accepts: it only ever shrinks, so
 * chunks flushed side by side cannot undo each other's lesson. */
static void learn_limit(struct es_ctx *es, size_t limit)
{
    if (limit > 0 && (es->learned_limit == 0 || limit < es->learned_limit)) {
        es->learned_limit = limit;
    }
}

/* Re-encodes the current request's range with a smaller limit. */
static void resplit(struct es_job *job, size_t limit)
{
    job->es->stats.splits++;
    job->limit = limit > 0 ? limit : 1;
    job->off = job->mem.req.first_off;
    job_next(job);
}

static void note_retry_after(struct es_ctx *es, const struct sk_http_response *res)
{
    int64_t ms = es_retry_after_ms(res->retry_after, time(NULL));

    if (ms > 0) {
        if (ms > ES_RETRY_AFTER_MAX_MS) {
            ms = ES_RETRY_AFTER_MAX_MS;
        }
        es->backoff_until_ms = sk_loop_update_now_ms(es->loop) + ms;
    }
}

/* No answer, or 502/503/504: the host is down. Tries another one. */
static void host_down(struct es_job *job, const struct sk_http_response *res, const char *reason,
                      struct es_host *h)
{
    struct es_ctx *es = job->es;

    es->stats.request_failures++;
    es_pool_failed(&es->pool, h, sk_loop_update_now_ms(es->loop), reason);
    note_retry_after(es, res);
    if (es->sniff_on_failure) {
        es_sniff(es, "a request failed (reload_on_failure)");
    }
    job->hosts_tried++;
    if (job->hosts_tried < es->pool.n && es_pool_count(&es->pool, ES_HOST_ALIVE) > 0) {
        job_send(job); /* the same body, another host */
        return;
    }
    sk_log_limited(&es->fail_log, SK_LOG_WARN, "%s: bulk request failed: %s; chunk %s retried later",
                   es->ins->id, reason, job->f->chunk_id);
    owe_request(job);
    owe_rest(job);
    job_finish(job);
}

static void whole_failure(struct es_job *job, enum sk_log_level level, const char *what,
                          int status, const char *reason, const struct es_host *h)
{
    struct es_ctx *es = job->es;

    es->stats.request_failures++;
    sk_log_limited(&es->fail_log, level, "%s: %s (HTTP %d from %s): %s; chunk %s retried later",
                   es->ins->id, what, status, h->label, reason, job->f->chunk_id);
    owe_request(job);
    owe_rest(job);
    job_finish(job);
}

static void bad_request(struct es_job *job, int status, const char *reason,
                        const struct es_host *h)
{
    struct es_ctx *es = job->es;
    const struct es_action *a = &job->mem.req.actions[0];

    if (job->mem.req.nactions > 1) {
        /* Halve until the document at fault is alone. */
        resplit(job, job->mem.req.body.len / 2);
        return;
    }
    if (++es->bad_request_streak > ES_BAD_REQUEST_STREAK_MAX) {
        /* Every single document refused alike: the server, not the data. */
        whole_failure(job, SK_LOG_ERROR, "every bulk request is refused", status, reason, h);
        return;
    }
    reject_event(job, job->f->events.data + a->ev_off, a->ev_len, reason);
    job->mem.req.nactions = 0;
    job_next(job);
}

/* After a 200: the next slice (growing back after 400 splits). */
static void after_bulk(struct es_job *job, const struct sk_http_response *res,
                       const struct es_host *h)
{
    struct es_ctx *es = job->es;

    es->bad_request_streak = 0;
    if (job->shrunk) {
        learn_limit(es, job->limit); /* this size passed: keep it */
    }
    es_after_request(es);
    if (!handle_items(job, res, h)) {
        owe_rest(job);
        job_finish(job);
        return;
    }
    if (job->limit < es->limit && !job->shrunk) {
        job->limit = job->limit * 2 < es->limit ? job->limit * 2 : es->limit;
    }
    job_next(job);
}

static void on_verdict(struct es_job *job, const struct sk_http_response *res,
                       enum es_http_verdict v, const char *reason, struct es_host *h)
{
    struct es_ctx *es = job->es;

    switch (v) {
    case ES_HTTP_BULK:
        after_bulk(job, res, h);
        return;
    case ES_HTTP_HOST_DOWN:
        host_down(job, res, reason, h);
        return;
    case ES_HTTP_TOO_LARGE:
        if (job->mem.req.nactions > 1) {
            sk_warn("%s: request of %zu bytes too large for the server (%s); sending halves",
                    es->ins->id, job->mem.req.body.len, reason);
            job->shrunk = true;
            learn_limit(es, job->mem.req.body.len / 2);
            resplit(job, job->mem.req.body.len / 2);
            return;
        }
        /* This one document is too large whatever we do: it is the data,
         * not the server (no bad_request streak, so a run of big documents
         * cannot stall the chunk). */
        {
            char why[ES_REASON_MAX + 64];

            snprintf(why, sizeof(why), "document too large for the server (%zu bytes; %s)",
                     job->mem.req.body.len, reason);
            reject_event(job, job->f->events.data + job->mem.req.actions[0].ev_off,
                         job->mem.req.actions[0].ev_len, why);
        }
        job->mem.req.nactions = 0;
        job_next(job);
        return;
    case ES_HTTP_TYPE_REJECTED:
        if (job->bconf.type_name != NULL) {
            sk_warn("%s: the server refuses _type (%s); sending documents without it",
                    es->ins->id, reason);
            es->typeless = true;
            job->bconf.type_name = NULL;
            resplit(job, job->limit);
            return;
        }
        bad_request(job, res->status, reason, h);
        return;
    case ES_HTTP_BAD_REQUEST:
        bad_request(job, res->status, reason, h);
        return;
    case ES_HTTP_AUTH:
        if (!job->auth_retried &&
            es_auth_expired(es, job->auth_gen, res->status, res->body.data, res->body.len)) {
            job->auth_retried = true; /* once: re-signed with the new credentials */
            job_send(job);
            return;
        }
        whole_failure(job, SK_LOG_ERROR, "Elasticsearch refused the credentials", res->status,
                      reason, h);
        return;
    case ES_HTTP_RETRY:
        note_retry_after(es, res);
        whole_failure(job, SK_LOG_WARN, "bulk request failed", res->status, reason, h);
        return;
    }
}

static void on_bulk(const struct sk_http_response *res, void *arg)
{
    struct es_job *job = arg;
    struct es_ctx *es = job->es;
    struct es_host *h = job->host; /* this request's reference, released below */
    char reason[ES_REASON_MAX];
    enum es_http_verdict v;

    job->in_http = false;
    job->host = NULL;
    v = es_response_http(res->status, res->err, res->body.data, res->body.len, reason,
                         sizeof(reason));
    if (res->status == 0 && res->err_text != NULL) {
        /* The client's words ("TLS certificate verification failed: ...",
         * "failed to connect ...") say more than "input/output error". */
        snprintf(reason, sizeof(reason), "%s", res->err_text);
    }
    if (v != ES_HTTP_BULK) {
        es->reconnect_next = true;
    }
    if (es->stopping) {
        owe_request(job);
        owe_rest(job);
        job_finish(job);
    } else {
        if (v != ES_HTTP_HOST_DOWN) {
            es_pool_succeeded(&es->pool, h, sk_loop_now_ms(es->loop));
        }
        on_verdict(job, res, v, reason, h); /* may free the job */
    }
    es_pool_put(&es->pool, h);
}

/* --- entry points ----------------------------------------------------------------- */

int es_flush(struct sk_flush *f)
{
    struct es_ctx *es = f->ins->ctx;
    struct es_job *job;
    char err[128];

    if (es->stopping || es->http == NULL) {
        return SK_EAGAIN;
    }
    job = sk_calloc(1, sizeof(*job));
    if (job == NULL) {
        return SK_ENOMEM;
    }
    job->es = es;
    job->f = f;
    if (es_index_init(&job->index, &es->index_conf, err, sizeof(err)) < 0) {
        es_index_cleanup(&job->index);
        sk_free(job);
        return SK_ENOMEM;
    }
    es_bulk_init(&job->bulk, &job->bconf, &job->index);
    job_mem_take(es, &job->mem);
    sk_buf_init(&job->pipeline, 4096);
    sk_buf_init(&job->remaining, f->events.len);
    sk_buf_init(&job->url, 8192);
    job->next = es->jobs;
    es->jobs = job;
    if (es->version_state != ES_VERSION_KNOWN) {
        job->waiting_version = true;
        if (es->version_state == ES_VERSION_UNKNOWN) {
            es_version_detect(es);
        }
        return 0;
    }
    job_begin(job);
    return 0;
}

void es_jobs_version_ready(struct es_ctx *es, bool ok)
{
    struct es_job *job = es->jobs;

    es_setup_version_ready(es, ok); /* before the jobs: it decides require_alias */

    while (job != NULL) {
        struct es_job *next = job->next;

        if (job->waiting_version) {
            if (ok) {
                job_begin(job);
            } else {
                job->waiting_version = false;
                owe_rest(job);
                job_finish(job);
            }
        }
        job = next;
    }
}

void es_jobs_abort(struct es_ctx *es)
{
    while (es->jobs != NULL) {
        struct es_job *job = es->jobs;

        SK_BUG_ON(job->in_http); /* the client is gone: its callbacks ran */
        owe_request(job);
        owe_rest(job);
        job_finish(job);
    }
}
