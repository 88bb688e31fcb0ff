#include "out_elasticsearch/es_response.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <msgpack.h>

#include "event/event.h"
#include "json/json.h"
#include "util/buf.h"

/* A bulk answer is ~30-400 bytes per item; 20 MiB requests of tiny events
 * can have ~200k items. The msgpack form is smaller than the JSON. */
#define ES_RESPONSE_SCRATCH_MAX (256u << 20)

const char *es_item_outcome_name(enum es_item_outcome o)
{
    static const char *const names[] = {"ok", "duplicate", "skipped", "retry", "reject", "abort"};

    return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

static const msgpack_object *get(const msgpack_object *map, const char *key)
{
    return sk_map_get(map, key, strlen(key));
}

/* Copies a string object (or "") into out, NUL-terminated, truncating. */
static void copy_str(const msgpack_object *o, char *out, size_t size)
{
    size_t n = 0;

    if (o != NULL && o->type == MSGPACK_OBJECT_STR) {
        n = o->via.str.size < size - 1 ? o->via.str.size : size - 1;
        memcpy(out, o->via.str.ptr, n);
    }
    out[n] = '\0';
}

static bool in_list(const struct sk_strv *list, const char *s)
{
    if (list == NULL || s == NULL || *s == '\0') {
        return false;
    }
    for (size_t i = 0; i < list->n; i++) {
        if (strcmp(list->v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

enum es_item_outcome es_item_classify(enum es_write_op op, int status, const char *type,
                                      const char *reason, const struct sk_strv *unrecoverable)
{
    if (type == NULL) {
        type = "";
    }
    if (status >= 200 && status <= 299) {
        return ES_ITEM_OK;
    }
    if (status == 0) {
        return ES_ITEM_RETRY; /* cannot tell what happened: keep the event */
    }
    if (status == 409 && op == ES_OP_CREATE) {
        return ES_ITEM_DUPLICATE;
    }
    if (status == 404 && (op == ES_OP_UPDATE || op == ES_OP_UPSERT) &&
        strcmp(type, "document_missing_exception") == 0) {
        return ES_ITEM_SKIPPED;
    }
    if (status == 400) {
        return ES_ITEM_REJECT;
    }
    if (in_list(unrecoverable, type)) {
        return ES_ITEM_ABORT;
    }
    if (strcmp(type, "json_parse_exception") == 0) {
        return ES_ITEM_REJECT; /* the document itself is bad, whatever the status */
    }
    if (status == 429 || status == 500 || status == 502 || status == 503 || status == 504) {
        return ES_ITEM_RETRY;
    }
    if (strcmp(type, "es_rejected_execution_exception") == 0 ||
        strcmp(type, "rejected_execution_exception") == 0 ||
        strcmp(type, "circuit_breaking_exception") == 0) {
        return ES_ITEM_RETRY;
    }
    if (status == 403 && strcmp(type, "cluster_block_exception") == 0 && reason != NULL &&
        strstr(reason, "read-only-allow-delete") != NULL) {
        return ES_ITEM_RETRY;
    }
    return ES_ITEM_REJECT;
}

/* "mapper_parsing_exception: failed to parse ... (caused by ...: ...)", or
 * the string of a string-valued error; type gets error.type. */
static void error_text(const msgpack_object *error, char *type, size_t type_size, char *out,
                       size_t size)
{
    char reason[ES_REASON_MAX];
    char ctype[64];
    char creason[160];
    const msgpack_object *cause;
    int n;

    type[0] = '\0';
    reason[0] = '\0';
    ctype[0] = '\0';
    creason[0] = '\0';
    if (error != NULL && error->type == MSGPACK_OBJECT_STR) {
        copy_str(error, reason, sizeof(reason));
    } else if (error != NULL && error->type == MSGPACK_OBJECT_MAP) {
        copy_str(get(error, "type"), type, type_size);
        copy_str(get(error, "reason"), reason, sizeof(reason));
        cause = get(error, "caused_by");
        if (cause != NULL && cause->type == MSGPACK_OBJECT_MAP) {
            copy_str(get(cause, "type"), ctype, sizeof(ctype));
            copy_str(get(cause, "reason"), creason, sizeof(creason));
        }
    }
    n = snprintf(out, size, "%s%s%s", type, type[0] && reason[0] ? ": " : "", reason);
    if (n >= 0 && (size_t)n < size && ctype[0] != '\0') {
        snprintf(out + n, size - (size_t)n, " (caused by %s: %s)", ctype, creason);
    }
}

/* Appends "<status> <text>" to reasons; returns its offset, or 0 (the
 * leading NUL, "") when it does not fit. */
static size_t add_reason(struct sk_buf *reasons, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t add_reason(struct sk_buf *reasons, const char *fmt, ...)
{
    char text[ES_REASON_MAX];
    size_t off = reasons->len;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return 0;
    }
    if ((size_t)n >= sizeof(text)) {
        n = (int)sizeof(text) - 1;
    }
    if (sk_buf_append(reasons, text, (size_t)n + 1) < 0) {
        return 0;
    }
    return off;
}

/* Fills *it; its reason is an offset into reasons until es_response_bulk
 * turns the offsets into pointers (the buffer may move while it grows). */
static void parse_item(const msgpack_object *o, enum es_write_op op,
                       const struct sk_strv *unrecoverable, struct es_item *it,
                       struct sk_buf *reasons)
{
    const msgpack_object *body = NULL;
    const msgpack_object *status;
    char type[64];
    char text[ES_REASON_MAX - 16];
    size_t off;

    memset(it, 0, sizeof(*it));
    /* {"<action>": {...}}: the action key is whatever ran (index may come
     * back as create, upsert as update); take the one entry. */
    if (o->type == MSGPACK_OBJECT_MAP && o->via.map.size >= 1) {
        body = &o->via.map.ptr[0].val;
    }
    if (body == NULL || body->type != MSGPACK_OBJECT_MAP) {
        off = add_reason(reasons, "malformed item in the bulk response");
        it->reason = (const char *)(uintptr_t)off;
        it->outcome = ES_ITEM_RETRY;
        return;
    }
    status = get(body, "status");
    if (status != NULL && status->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        status->via.u64 < 1000) {
        it->status = (int)status->via.u64;
    }
    error_text(get(body, "error"), type, sizeof(type), text, sizeof(text));
    if (it->status == 0) {
        off = add_reason(reasons, "item without a status in the bulk response");
    } else if (it->status >= 200 && it->status <= 299 && text[0] == '\0') {
        off = 0; /* the common case: nothing to say */
    } else {
        off = add_reason(reasons, "%d%s%s", it->status, text[0] ? " " : "", text);
    }
    it->outcome = es_item_classify(op, it->status, type, reasons->data + off, unrecoverable);
    it->reason = (const char *)(uintptr_t)off;
}

static void count(struct es_bulk_counts *c, enum es_item_outcome o)
{
    switch (o) {
    case ES_ITEM_OK:
        c->ok++;
        break;
    case ES_ITEM_DUPLICATE:
        c->duplicate++;
        break;
    case ES_ITEM_SKIPPED:
        c->skipped++;
        break;
    case ES_ITEM_RETRY:
        c->retry++;
        break;
    case ES_ITEM_REJECT:
        c->reject++;
        break;
    case ES_ITEM_ABORT:
        c->abort++;
        break;
    }
}

/*
 * Fast path for the common answer: a top-level "errors":false before the
 * items array means every item succeeded, so 10^4 items need not be parsed
 * into a tree (it was a fifth of skiff's CPU). The item count is still
 * checked, by counting the "status" keys.
 */
static bool all_succeeded(const char *body, size_t len, size_t nitems)
{
    size_t head = len < 256 ? len : 256;
    const char *errors = memmem(body, head, "\"errors\"", 8);
    const char *bracket = memchr(body, '[', head);
    const char *p;
    size_t n = 0;

    size_t end = len;

    if (errors == NULL || (bracket != NULL && bracket < errors)) {
        return false;
    }
    /* A whole answer ends with "]}" (whitespace aside); a cut one goes the slow way. */
    while (end > 0 && (body[end - 1] == ' ' || body[end - 1] == '\n' || body[end - 1] == '\r')) {
        end--;
    }
    if (end < 2 || body[end - 1] != '}' || body[end - 2] != ']') {
        return false;
    }
    p = errors + 8;
    while (p < body + len && (*p == ' ' || *p == ':' || *p == '\n' || *p == '\r' || *p == '\t')) {
        p++;
    }
    if ((size_t)(body + len - p) < 5 || memcmp(p, "false", 5) != 0) {
        return false;
    }
    while ((p = memmem(p, (size_t)(body + len - p), "\"status\"", 8)) != NULL) {
        n++;
        p += 8;
    }
    return n == nitems;
}

int es_response_bulk(const char *body, size_t len, enum es_write_op op,
                     const struct sk_strv *unrecoverable, struct es_item *items, size_t nitems,
                     struct sk_buf *reasons, struct es_bulk_counts *counts, char *err,
                     size_t err_size)
{
    struct sk_buf scratch;
    msgpack_unpacked tree;
    const msgpack_object *root;
    const msgpack_object *arr;
    int rc;

    memset(counts, 0, sizeof(*counts));
    if (all_succeeded(body, len, nitems)) {
        for (size_t i = 0; i < nitems; i++) {
            items[i] = (struct es_item){.outcome = ES_ITEM_OK, .reason = ""};
        }
        counts->ok = nitems;
        return 0;
    }
    sk_buf_init(&scratch, ES_RESPONSE_SCRATCH_MAX);
    msgpack_unpacked_init(&tree);
    rc = sk_json_parse(body, len, &scratch, &tree);
    if (rc < 0) {
        snprintf(err, err_size, "bulk response is not JSON (%zu bytes)", len);
        rc = rc == SK_ENOMEM ? SK_ENOMEM : SK_EPARSE;
        goto out;
    }
    root = &tree.data;
    arr = root->type == MSGPACK_OBJECT_MAP ? get(root, "items") : NULL;
    if (arr == NULL || arr->type != MSGPACK_OBJECT_ARRAY) {
        snprintf(err, err_size, "bulk response has no items array");
        rc = SK_EPROTO;
        goto out;
    }
    if (arr->via.array.size != nitems) {
        snprintf(err, err_size, "bulk response has %u items for %zu actions sent",
                 arr->via.array.size, nitems);
        rc = SK_EPROTO;
        goto out;
    }
    sk_buf_reset(reasons);
    if (sk_buf_putc(reasons, '\0') < 0) { /* offset 0 is "" */
        snprintf(err, err_size, "out of memory");
        rc = SK_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nitems; i++) {
        parse_item(&arr->via.array.ptr[i], op, unrecoverable, &items[i], reasons);
        count(counts, items[i].outcome);
    }
    for (size_t i = 0; i < nitems; i++) {
        items[i].reason = reasons->data + (uintptr_t)items[i].reason;
    }
out:
    msgpack_unpacked_destroy(&tree);
    sk_buf_cleanup(&scratch);
    return rc;
}

/* Keeps printable text on one line for logs. */
static void one_line(const char *s, size_t len, char *out, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];

        out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[o] = '\0';
}

/* An HTML error page (nginx, a proxy, a load balancer): its <title>, e.g.
 * "502 Bad Gateway", rather than 300 bytes of markup. False if none. */
static bool html_title(const char *body, size_t len, char *out, size_t size)
{
    const char *end = body + len;
    const char *p = body;
    const char *t = NULL;
    const char *e;

    while (p < end && isspace((unsigned char)*p)) {
        p++;
    }
    if (p == end || *p != '<') {
        return false;
    }
    for (; p + 7 <= end; p++) {
        if (strncasecmp(p, "<title>", 7) == 0) {
            t = p + 7;
            break;
        }
    }
    for (e = t; e != NULL && e + 8 <= end; e++) {
        if (strncasecmp(e, "</title>", 8) == 0) {
            break;
        }
    }
    if (t == NULL || e == NULL || e + 8 > end) {
        return false;
    }
    while (t < e && isspace((unsigned char)*t)) {
        t++;
    }
    while (e > t && isspace((unsigned char)e[-1])) {
        e--;
    }
    if (e == t) {
        return false;
    }
    one_line(t, (size_t)(e - t), out, size);
    return true;
}

/* The server's words: error.reason (+ root cause type), AWS Message,
 * a string "error", an HTML page's title, or the body itself. */
static void body_reason(const char *body, size_t len, char *reason, size_t size)
{
    struct sk_buf scratch;
    msgpack_unpacked tree;
    const msgpack_object *e;
    char type[64];

    reason[0] = '\0';
    if (body == NULL || len == 0) {
        return;
    }
    sk_buf_init(&scratch, 1u << 20);
    msgpack_unpacked_init(&tree);
    if (len < (1u << 18) && sk_json_parse(body, len, &scratch, &tree) == 0 &&
        tree.data.type == MSGPACK_OBJECT_MAP) {
        e = get(&tree.data, "error");
        if (e != NULL) {
            error_text(e, type, sizeof(type), reason, size);
        } else if ((e = get(&tree.data, "Message")) != NULL ||
                   (e = get(&tree.data, "message")) != NULL) {
            copy_str(e, reason, size);
        }
    }
    msgpack_unpacked_destroy(&tree);
    sk_buf_cleanup(&scratch);
    if (reason[0] == '\0' && !html_title(body, len, reason, size)) {
        one_line(body, len < 300 ? len : 300, reason, size);
    }
}

enum es_http_verdict es_response_http(int status, int err, const char *body, size_t len,
                                      char *reason, size_t reason_size)
{
    if (status == 0) {
        snprintf(reason, reason_size, "%s", sk_strerror(err != 0 ? err : SK_EIO));
        return ES_HTTP_HOST_DOWN;
    }
    body_reason(body, len, reason, reason_size);
    if (reason[0] == '\0') {
        snprintf(reason, reason_size, "HTTP %d", status);
    }
    if (status >= 200 && status <= 299) {
        return ES_HTTP_BULK;
    }
    switch (status) {
    case 502:
    case 503:
    case 504:
        return ES_HTTP_HOST_DOWN;
    case 413:
        return ES_HTTP_TOO_LARGE;
    case 400:
        return strstr(reason, "[_type]") != NULL ? ES_HTTP_TYPE_REJECTED : ES_HTTP_BAD_REQUEST;
    case 401:
    case 403:
    case 407: /* the proxy wants (other) credentials */
        return ES_HTTP_AUTH;
    default:
        return ES_HTTP_RETRY;
    }
}

int64_t es_retry_after_ms(const char *value, time_t now)
{
    char mon[4];
    char wday[4];
    struct tm tm;
    int64_t secs = 0;
    const char *p = value;
    time_t when;
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *m;

    if (value == NULL) {
        return -1;
    }
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (isdigit((unsigned char)*p)) {
        while (isdigit((unsigned char)*p)) {
            secs = secs * 10 + (*p++ - '0');
            if (secs > 86400 * 7) {
                return -1;
            }
        }
        while (isspace((unsigned char)*p)) {
            p++;
        }
        return *p == '\0' ? secs * 1000 : -1;
    }
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    memset(&tm, 0, sizeof(tm));
    if (sscanf(p, "%3s, %d %3s %d %d:%d:%d GMT", wday, &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 7) {
        return -1;
    }
    m = strstr(months, mon);
    if (m == NULL || (m - months) % 3 != 0) {
        return -1;
    }
    tm.tm_mon = (int)((m - months) / 3);
    tm.tm_year -= 1900;
    when = timegm(&tm);
    if (when == (time_t)-1) {
        return -1;
    }
    return when <= now ? 0 : (int64_t)(when - now) * 1000;
}
