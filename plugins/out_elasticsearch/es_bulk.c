#include "out_elasticsearch/es_bulk.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "json/json.h"
#include "out_elasticsearch/es_time.h"
#include "timefmt/timefmt.h"
#include "util/alloc.h"

#define ES_BULK_SCRATCH_MAX (1u << 20)
#define ES_ISO_MAX 48

void es_bulk_req_init(struct es_bulk_req *r)
{
    memset(r, 0, sizeof(*r));
    sk_buf_init(&r->body, ES_BULK_BODY_MAX);
}

void es_bulk_req_reset(struct es_bulk_req *r)
{
    sk_buf_reset(&r->body);
    r->nactions = 0;
    r->first_off = 0;
    r->end_off = 0;
}

void es_bulk_req_cleanup(struct es_bulk_req *r)
{
    sk_buf_cleanup(&r->body);
    sk_free(r->actions);
    memset(r, 0, sizeof(*r));
}

static int push_action(struct es_bulk_req *r, size_t off, size_t len)
{
    if (r->nactions == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        struct es_action *a = sk_realloc(r->actions, cap * sizeof(*a));

        if (a == NULL) {
            return SK_ENOMEM;
        }
        r->actions = a;
        r->cap = cap;
    }
    r->actions[r->nactions].ev_off = off;
    r->actions[r->nactions].ev_len = len;
    r->nactions++;
    return 0;
}

void es_bulk_init(struct es_bulk *b, const struct es_bulk_conf *conf, struct es_index *index)
{
    memset(b, 0, sizeof(*b));
    b->conf = conf;
    b->index = index;
    sk_buf_init(&b->tag_json, ES_BULK_SCRATCH_MAX);
    sk_buf_init(&b->append, ES_BULK_SCRATCH_MAX);
    sk_buf_init(&b->tmp, ES_BULK_SCRATCH_MAX);
    sk_buf_init(&b->target_index, ES_INDEX_NAME_MAX);
}

void es_bulk_cleanup(struct es_bulk *b)
{
    sk_buf_cleanup(&b->tag_json);
    sk_buf_cleanup(&b->append);
    sk_buf_cleanup(&b->tmp);
    sk_buf_cleanup(&b->target_index);
    sk_free(b->skip);
    b->skip = NULL;
    b->nskip = 0;
    b->skip_cap = 0;
}

int es_bulk_begin_chunk(struct es_bulk *b, const char *tag)
{
    es_time_zone_refresh();
    b->tag = tag;
    sk_buf_reset(&b->tag_json);
    if (tag == NULL) {
        return 0;
    }
    return sk_json_write_string(&b->tag_json, tag, strlen(tag));
}

/* --- per-event scanning ------------------------------------------------------ */

/* One pair of a map being walked. */
struct pair {
    struct es_mp_val key; /* key header; key.ptr/len for strings */
    const char *kraw;     /* the key's bytes */
    size_t kraw_len;
    const char *val;      /* the value's bytes */
    size_t val_len;
};

static int next_pair(struct es_mp_cur *c, struct pair *p)
{
    unsigned char t = c->p < c->end ? (unsigned char)*c->p : 0;

    p->kraw = c->p;
    if (t >= 0xa0 && t <= 0xbf && (size_t)(c->end - c->p) > (size_t)(t & 0x1f)) {
        /* The usual key, a short string: no need for the general reader. */
        p->key.type = ES_MP_STR;
        p->key.len = t & 0x1fu;
        p->key.ptr = c->p + 1;
        c->p += 1 + p->key.len;
    } else {
        struct es_mp_cur k = *c;

        if (es_mp_read(&k, &p->key) < 0) {
            return SK_EPARSE;
        }
        if (es_mp_skip(c) < 0) { /* the whole key, containers included */
            return SK_EPARSE;
        }
    }
    p->kraw_len = (size_t)(c->p - p->kraw);
    p->val = c->p;
    if (es_mp_skip(c) < 0) {
        return SK_EPARSE;
    }
    p->val_len = (size_t)(c->p - p->val);
    return 0;
}

static bool key_is(const struct pair *p, const char *s, size_t n)
{
    return p->key.type == ES_MP_STR && p->key.len == n && memcmp(p->key.ptr, s, n) == 0;
}

static bool key_in(const struct pair *p, const struct es_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (key_is(p, keys[i].p, keys[i].n)) {
            return true;
        }
    }
    return false;
}

static bool name_in(const char *s, size_t len, const struct es_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (keys[i].n == len && memcmp(keys[i].p, s, len) == 0) {
            return true;
        }
    }
    return false;
}

/* What the top level of a record holds that matters. */
struct scan {
    const char *ts; /* "@timestamp" value */
    size_t ts_len;
    const char *tk; /* time_key value */
    size_t tk_len;
    const char *rk; /* remove_keys_on_update_key value */
    size_t rk_len;
    bool tag_present;
};

/*
 * Walks the record's top level once. With ev->record_len 0 (es_mp_event_head)
 * the record may run to `limit`, and the walk also finds where it ends,
 * which sets ev->record_len and ev->len: one walk instead of two.
 */
static int scan_record(const struct es_bulk_conf *c, struct es_mp_event *ev, const char *limit,
                       struct scan *s)
{
    struct es_mp_cur cur;
    struct es_mp_val v;
    struct pair p;
    size_t tklen = c->time_key != NULL ? strlen(c->time_key) : 0;
    size_t taglen = c->tag_key != NULL ? strlen(c->tag_key) : 0;
    size_t rklen = c->remove_keys_on_update_key != NULL ? strlen(c->remove_keys_on_update_key) : 0;
    size_t bound = ev->record_len > 0 ? ev->record_len : (size_t)(limit - ev->record);

    memset(s, 0, sizeof(*s));
    es_mp_cur_init(&cur, ev->record, bound);
    if (es_mp_read(&cur, &v) < 0) {
        return SK_EPARSE;
    }
    for (uint32_t i = 0; i < ev->npairs; i++) {
        if (next_pair(&cur, &p) < 0) {
            return SK_EPARSE;
        }
        if (p.key.type != ES_MP_STR) {
            continue;
        }
        if (key_is(&p, "@timestamp", 10)) {
            s->ts = p.val;
            s->ts_len = p.val_len;
        }
        if (tklen > 0 && key_is(&p, c->time_key, tklen)) {
            s->tk = p.val;
            s->tk_len = p.val_len;
        }
        if (taglen > 0 && key_is(&p, c->tag_key, taglen)) {
            s->tag_present = true;
        }
        if (rklen > 0 && key_is(&p, c->remove_keys_on_update_key, rklen)) {
            s->rk = p.val;
            s->rk_len = p.val_len;
        }
    }
    if (ev->record_len == 0) {
        ev->record_len = (size_t)(cur.p - ev->record);
        ev->len = (size_t)(cur.p - ev->start);
    }
    return 0;
}

/* --- time ----------------------------------------------------------------------- */

/* A record's time value (string per time_key_format, or number). */
static int value_time(const struct es_bulk_conf *c, const char *v, size_t vlen,
                      struct es_timeval *tv)
{
    struct es_mp_cur cur;
    struct es_mp_val val;

    es_mp_cur_init(&cur, v, vlen);
    if (es_mp_read(&cur, &val) < 0) {
        return SK_EPARSE;
    }
    if (val.type == ES_MP_STR) {
        if (c->time_key_format == NULL) {
            return es_time_parse_any(val.ptr, val.len, tv);
        }
        if (sk_timefmt_parse(c->time_key_format, val.ptr, val.len, &tv->t) < 0) {
            return SK_EPARSE;
        }
        if (!c->time_key_format_has_zone ||
            !es_time_trailing_zone(val.ptr, val.len, &tv->offset_sec)) {
            tv->offset_sec = es_local_offset(tv->t.sec);
        }
        return 0;
    }
    /* Numbers (and EventTime): epoch seconds, shown in the local zone as
     * Time.at(number) is. */
    if (es_mp_time(&val, &tv->t) < 0) {
        return SK_EPARSE;
    }
    tv->offset_sec = es_local_offset(tv->t.sec);
    return 0;
}

static void event_time(const struct es_mp_event *ev, struct es_timeval *tv)
{
    tv->t = ev->time;
    tv->offset_sec = es_local_offset(ev->time.sec);
}

/* Appends ,"key":"value" (JSON-escaped key; value already a JSON text). */
static int append_pair(struct sk_buf *out, const char *key, size_t klen, const char *json,
                       size_t jlen)
{
    int rc = 0;

    if (out->len > 0) {
        rc = sk_buf_putc(out, ',');
    }
    if (rc == 0) {
        rc = sk_json_write_string(out, key, klen);
    }
    if (rc == 0) {
        rc = sk_buf_putc(out, ':');
    }
    if (rc == 0) {
        rc = sk_buf_append(out, json, jlen);
    }
    return rc;
}

/* --- writing ---------------------------------------------------------------------- */

static int write_key(struct es_bulk *b, struct sk_buf *out, const struct pair *p)
{
    size_t used;
    int rc;

    if (p->key.type == ES_MP_STR) {
        return sk_json_write_string(out, p->key.ptr, p->key.len);
    }
    /* A non-string key is written as its JSON text, quoted. */
    sk_buf_reset(&b->tmp);
    rc = sk_json_write_msgpack(&b->tmp, p->kraw, p->kraw_len, &used);
    if (rc == 0) {
        rc = sk_json_write_string(out, b->tmp.data, b->tmp.len);
    }
    return rc;
}

static int write_value(struct sk_buf *out, const char *v, size_t len)
{
    size_t used;

    return sk_json_write_msgpack(out, v, len, &used);
}

/* Writes the map at v without the nested keys of b->nested below `depth`. */
static int write_nested(struct es_bulk *b, struct sk_buf *out, const char *v, size_t vlen,
                        size_t depth)
{
    struct es_mp_cur cur;
    struct es_mp_val m;
    struct pair p;
    bool first = true;
    int rc;

    es_mp_cur_init(&cur, v, vlen);
    if (es_mp_read(&cur, &m) < 0 || m.type != ES_MP_MAP) {
        return write_value(out, v, vlen);
    }
    rc = sk_buf_putc(out, '{');
    for (uint32_t i = 0; i < m.n && rc == 0; i++) {
        bool drop = false;
        bool descend = false;

        rc = next_pair(&cur, &p);
        for (size_t k = 0; k < b->nnested && rc == 0; k++) {
            const struct es_path *path = b->nested[k];

            if (depth < path->n && path->seg[depth].key != NULL &&
                key_is(&p, path->seg[depth].key, path->seg[depth].klen)) {
                drop = drop || depth == path->n - 1;
                descend = descend || depth < path->n - 1;
            }
        }
        if (rc < 0 || drop) {
            continue;
        }
        if (!first) {
            rc = sk_buf_putc(out, ',');
        }
        first = false;
        if (rc == 0) {
            rc = write_key(b, out, &p);
        }
        if (rc == 0) {
            rc = sk_buf_putc(out, ':');
        }
        if (rc == 0) {
            rc = descend ? write_nested(b, out, p.val, p.val_len, depth + 1)
                         : write_value(out, p.val, p.val_len);
        }
    }
    return rc == 0 ? sk_buf_putc(out, '}') : rc;
}

/*
 * Writes the record leaving out the top-level keys skip[0..nskip), the
 * nested removals, replacing tag_key's value with the tag when
 * `replace_tag`, then the pairs in b->append.
 */
static int write_record(struct es_bulk *b, struct sk_buf *out, const struct es_mp_event *ev,
                        const struct es_key *skip, size_t nskip, bool replace_tag)
{
    const struct es_bulk_conf *c = b->conf;
    size_t taglen = c->tag_key != NULL ? strlen(c->tag_key) : 0;
    struct es_mp_cur cur;
    struct es_mp_val m;
    struct pair p;
    bool first = true;
    int rc;

    if (nskip == 0 && b->nnested == 0 && !replace_tag) {
        /* Fast path: the map as it is, then the appended pairs. */
        rc = write_value(out, ev->record, ev->record_len);
        if (rc < 0 || b->append.len == 0) {
            return rc;
        }
        out->len--; /* the closing brace */
        if (ev->npairs > 0) {
            rc = sk_buf_putc(out, ',');
        }
        if (rc == 0) {
            rc = sk_buf_append(out, b->append.data, b->append.len);
        }
        return rc == 0 ? sk_buf_putc(out, '}') : rc;
    }
    es_mp_cur_init(&cur, ev->record, ev->record_len);
    rc = es_mp_read(&cur, &m) < 0 ? SK_EPARSE : sk_buf_putc(out, '{');
    for (uint32_t i = 0; i < ev->npairs && rc == 0; i++) {
        bool descend = false;

        rc = next_pair(&cur, &p);
        if (rc < 0 || key_in(&p, skip, nskip)) {
            continue;
        }
        for (size_t k = 0; k < b->nnested; k++) {
            const struct es_path *path = b->nested[k];

            descend = descend || key_is(&p, path->seg[0].key, path->seg[0].klen);
        }
        rc = first ? 0 : sk_buf_putc(out, ',');
        first = false;
        if (rc == 0) {
            rc = write_key(b, out, &p);
        }
        if (rc == 0) {
            rc = sk_buf_putc(out, ':');
        }
        if (rc < 0) {
            break;
        }
        if (replace_tag && key_is(&p, c->tag_key, taglen)) {
            rc = sk_buf_append(out, b->tag_json.data, b->tag_json.len);
        } else if (descend) {
            rc = write_nested(b, out, p.val, p.val_len, 1);
        } else {
            rc = write_value(out, p.val, p.val_len);
        }
    }
    if (rc == 0 && b->append.len > 0) {
        rc = first ? 0 : sk_buf_putc(out, ',');
        if (rc == 0) {
            rc = sk_buf_append(out, b->append.data, b->append.len);
        }
    }
    return rc == 0 ? sk_buf_putc(out, '}') : rc;
}

/* --- one event ------------------------------------------------------------------- */

struct event_state {
    struct scan scan;
    struct es_timeval dt;
    char iso[ES_ISO_MAX];
    int iso_len;               /* @timestamp to add, or 0 */
    const char *index;
    size_t index_len;
    bool replace_tag;
    const char *reject;        /* set when the event cannot be sent */
    bool missing_id;           /* ... because create/update/upsert found no _id */
};

static int push_skip(struct es_bulk *b, const char *p, size_t n)
{
    if (b->nskip == b->skip_cap) {
        size_t cap = b->skip_cap ? b->skip_cap * 2 : 16;
        struct es_key *k = sk_realloc(b->skip, cap * sizeof(*k));

        if (k == NULL) {
            return SK_ENOMEM;
        }
        b->skip = k;
        b->skip_cap = cap;
    }
    b->skip[b->nskip].p = p;
    b->skip[b->nskip].n = n;
    b->nskip++;
    return 0;
}

/* Looks a path up; 1 when present and truthy (Ruby's `if value`). */
static int lookup(const struct es_path *path, const struct es_mp_event *ev, const char **v,
                  size_t *vlen)
{
    int rc;

    if (path == NULL) {
        return 0;
    }
    rc = es_path_lookup(path, ev->record, ev->record_len, v, vlen);
    if (rc == 1 && es_mp_is_falsy(*v, *vlen)) {
        return 0;
    }
    return rc;
}

/* Registers the removal of a used target key (top level or nested). */
static int remove_path(struct es_bulk *b, const struct es_path *path)
{
    for (size_t i = 0; i < path->n; i++) {
        if (path->seg[i].key == NULL) {
            return 0; /* through an array: Fluentd's removal only walks maps */
        }
    }
    if (path->n == 1) {
        return push_skip(b, path->seg[0].key, path->seg[0].klen);
    }
    if (b->nnested < sizeof(b->nested) / sizeof(b->nested[0])) {
        b->nested[b->nnested++] = path;
    }
    return 0;
}

/* @timestamp and the date the index is computed from. */
static void decide_time(struct es_bulk *b, const struct es_mp_event *ev, struct event_state *st,
                        es_bulk_note_cb cb, void *arg)
{
    const struct es_bulk_conf *c = b->conf;

    st->iso_len = 0;
    if (!c->add_timestamp) {
        event_time(ev, &st->dt);
        return;
    }
    if (st->scan.ts != NULL) {
        if (value_time(c, st->scan.ts, st->scan.ts_len, &st->dt) < 0) {
            cb(arg, ES_NOTE_TIME, ev->start, ev->len, "@timestamp");
            event_time(ev, &st->dt);
        }
        return;
    }
    if (st->scan.tk != NULL) {
        if (value_time(c, st->scan.tk, st->scan.tk_len, &st->dt) < 0) {
            cb(arg, ES_NOTE_TIME, ev->start, ev->len, c->time_key);
            event_time(ev, &st->dt);
        }
        if (c->time_key_exclude_timestamp) {
            return;
        }
    } else {
        event_time(ev, &st->dt);
    }
    st->iso_len = es_time_iso8601(&st->dt, c->time_precision, st->iso, sizeof(st->iso));
    if (st->iso_len < 0) {
        st->iso_len = 0; /* a year outside 0-9999: leave the field out */
    }
}

/* The index, from target_index_key or the configured names. */
static int decide_index(struct es_bulk *b, const struct es_mp_event *ev, struct event_state *st)
{
    const struct es_bulk_conf *c = b->conf;
    struct es_mp_cur cur;
    struct es_mp_val v;
    const char *tv;
    size_t tlen;
    int rc = lookup(c->target_index_key, ev, &tv, &tlen);

    if (rc < 0) {
        return rc;
    }
    if (rc == 1) {
        es_mp_cur_init(&cur, tv, tlen);
        sk_buf_reset(&b->target_index);
        if (es_mp_read(&cur, &v) < 0 || v.type != ES_MP_STR || v.len == 0 ||
            sk_buf_append(&b->target_index, v.ptr, v.len) < 0) {
            st->reject = "target_index_key value is not a usable index name";
            return 0;
        }
        for (uint32_t i = 0; i < v.len; i++) {
            b->target_index.data[i] = (char)tolower((unsigned char)b->target_index.data[i]);
        }
        st->index = b->target_index.data;
        st->index_len = v.len;
        return remove_path(b, c->target_index_key);
    }
    rc = es_index_name(b->index, st->dt.t.sec, st->dt.offset_sec, &st->index, &st->index_len);
    if (rc < 0) {
        st->reject = rc == SK_ETOOBIG ? "index name too long" : "index name cannot be formatted";
        return 0;
    }
    return 0;
}

static bool is_empty_str(const char *v, size_t vlen)
{
    struct es_mp_cur cur;
    struct es_mp_val val;

    es_mp_cur_init(&cur, v, vlen);
    return es_mp_read(&cur, &val) == 0 && val.type == ES_MP_STR && val.len == 0;
}

/* Appends ,"<name>":<value of path> when the record has a truthy value. */
static int write_meta(struct sk_buf *out, const char *name, const struct es_path *path,
                      const struct es_mp_event *ev, bool *found)
{
    const char *v;
    size_t vlen;
    int rc = lookup(path, ev, &v, &vlen);

    if (rc == 1 && strcmp(name, "_id") == 0 && is_empty_str(v, vlen)) {
        /* "_id":"" makes Elasticsearch refuse the whole request ("if _id
         * is specified it must not be empty"): no id, as if absent. */
        rc = 0;
    }
    *found = rc == 1;
    if (rc <= 0) {
        return rc;
    }
    rc = sk_buf_putc(out, ',');
    if (rc == 0) {
        rc = sk_json_write_string(out, name, strlen(name));
    }
    if (rc == 0) {
        rc = sk_buf_putc(out, ':');
    }
    return rc == 0 ? write_value(out, v, vlen) : rc;
}

/* The start of the action line, up to the _index value. */
static const char *action_head(enum es_write_op op)
{
    switch (op) {
    case ES_OP_CREATE:
        return "{\"create\":{\"_index\":";
    case ES_OP_UPDATE:
    case ES_OP_UPSERT:
        return "{\"update\":{\"_index\":";
    default:
        return "{\"index\":{\"_index\":";
    }
}

static int write_action(struct es_bulk *b, struct sk_buf *out, const struct es_mp_event *ev,
                        struct event_state *st)
{
    const struct es_bulk_conf *c = b->conf;
    bool has_id = false;
    bool found;
    int rc;

    rc = sk_buf_append_str(out, action_head(c->op));
    if (rc == 0) {
        rc = sk_json_write_string(out, st->index, st->index_len);
    }
    if (rc == 0 && c->type_name != NULL) {
        rc = sk_buf_append_str(out, ",\"_type\":");
        if (rc == 0) {
            rc = sk_json_write_string(out, c->type_name, strlen(c->type_name));
        }
    }
    if (rc == 0 && c->pipeline != NULL) {
        rc = sk_buf_append_str(out, ",\"pipeline\":");
        if (rc == 0) {
            rc = sk_json_write_string(out, c->pipeline, strlen(c->pipeline));
        }
    }
    if (rc == 0) {
        rc = write_meta(out, "_id", c->id_key, ev, &has_id);
    }
    if (rc == 0) {
        rc = write_meta(out, "_parent", c->parent_key, ev, &found);
    }
    if (rc == 0) {
        rc = write_meta(out, c->routing_name, c->routing_key, ev, &found);
    }
    if (rc == 0) {
        rc = sk_buf_append_str(out, "}}\n");
    }
    if (rc == 0 && c->op != ES_OP_INDEX && !has_id) {
        st->reject = "missing _id";
        st->missing_id = true;
    }
    return rc;
}

/* remove_keys_on_update: the record's own list (an array of strings under
 * remove_keys_on_update_key) or the configured one. Appends to b->skip;
 * *differs tells whether the record actually holds one of them. */
static int update_skips(struct es_bulk *b, const struct es_mp_event *ev, const struct scan *s,
                        bool *differs)
{
    const struct es_bulk_conf *c = b->conf;
    struct es_mp_cur cur;
    struct es_mp_val v;
    size_t base = b->nskip;
    const char *dummy;
    size_t dlen;
    int rc = 0;

    es_mp_cur_init(&cur, s->rk, s->rk_len);
    if (s->rk != NULL && es_mp_read(&cur, &v) == 0 && v.type == ES_MP_ARRAY) {
        for (uint32_t i = 0; i < v.n && rc == 0; i++) {
            struct es_mp_val k;

            rc = es_mp_read(&cur, &k);
            if (rc == 0 && k.type == ES_MP_STR) {
                rc = push_skip(b, k.ptr, k.len);
            } else if (rc == 0 && (k.type == ES_MP_ARRAY || k.type == ES_MP_MAP)) {
                rc = SK_EPARSE; /* not a list of names */
            }
        }
    } else {
        for (size_t i = 0; i < c->nremove_keys_on_update && rc == 0; i++) {
            rc = push_skip(b, c->remove_keys_on_update[i].p, c->remove_keys_on_update[i].n);
        }
    }
    *differs = false;
    for (size_t i = base; i < b->nskip && rc == 0; i++) {
        if (!name_in(b->skip[i].p, b->skip[i].n, b->skip, base) &&
            es_mp_map_find(ev->record, ev->record_len, b->skip[i].p, b->skip[i].n, &dummy,
                           &dlen) == 1) {
            *differs = true;
        }
    }
    return rc < 0 ? SK_EPARSE : 0;
}

static int write_source(struct es_bulk *b, struct sk_buf *out, const struct es_mp_event *ev,
                        struct event_state *st)
{
    const struct es_bulk_conf *c = b->conf;
    size_t full = b->nskip;
    bool differs;
    int rc;

    if (c->op == ES_OP_INDEX || c->op == ES_OP_CREATE) {
        rc = write_record(b, out, ev, b->skip, b->nskip, st->replace_tag);
        return rc == 0 ? sk_buf_putc(out, '\n') : rc;
    }
    rc = update_skips(b, ev, &st->scan, &differs);
    if (rc < 0) {
        return rc;
    }
    if (c->suppress_doc_wrap) {
        rc = write_record(b, out, ev, b->skip, b->nskip, st->replace_tag);
    } else if (c->op == ES_OP_UPDATE || differs) {
        rc = sk_buf_append_str(out, "{\"doc\":");
        if (rc == 0) {
            rc = write_record(b, out, ev, b->skip, b->nskip, st->replace_tag);
        }
        if (rc == 0 && c->op == ES_OP_UPSERT) {
            rc = sk_buf_append_str(out, ",\"upsert\":");
            if (rc == 0) {
                rc = write_record(b, out, ev, b->skip, full, st->replace_tag);
            }
        }
        if (rc == 0) {
            rc = sk_buf_putc(out, '}');
        }
    } else {
        rc = sk_buf_append_str(out, "{\"doc\":");
        if (rc == 0) {
            rc = write_record(b, out, ev, b->skip, full, st->replace_tag);
        }
        if (rc == 0) {
            rc = sk_buf_append_str(out, ",\"doc_as_upsert\":true}");
        }
    }
    return rc == 0 ? sk_buf_putc(out, '\n') : rc;
}

/* Skips (remove_keys etc.) and appended pairs that apply to this event. */
static int prepare_edits(struct es_bulk *b, const struct es_mp_event *ev, struct event_state *st)
{
    const struct es_bulk_conf *c = b->conf;
    size_t taglen = c->tag_key != NULL ? strlen(c->tag_key) : 0;
    const char *v;
    size_t vlen;
    int rc = 0;

    b->nskip = 0;
    b->nnested = 0;
    sk_buf_reset(&b->append);
    for (size_t i = 0; i < c->nremove_keys && rc == 0; i++) {
        rc = push_skip(b, c->remove_keys[i].p, c->remove_keys[i].n);
    }
    if (rc == 0 && c->remove_keys_on_update_key != NULL && c->op != ES_OP_INDEX &&
        c->op != ES_OP_CREATE) {
        rc = push_skip(b, c->remove_keys_on_update_key, strlen(c->remove_keys_on_update_key));
    }
    if (rc == 0 && lookup(c->target_type_key, ev, &v, &vlen) == 1) {
        rc = remove_path(b, c->target_type_key);
    }
    if (rc == 0 && st->iso_len > 0 && !name_in("@timestamp", 10, c->remove_keys, c->nremove_keys)) {
        rc = sk_buf_append_str(&b->append, "\"@timestamp\":\"");
        if (rc == 0) {
            rc = sk_buf_append(&b->append, st->iso, (size_t)st->iso_len);
        }
        if (rc == 0) {
            rc = sk_buf_putc(&b->append, '"');
        }
    }
    st->replace_tag = false;
    if (rc == 0 && c->include_tag_key && b->tag != NULL &&
        !name_in(c->tag_key, taglen, c->remove_keys, c->nremove_keys)) {
        if (st->scan.tag_present) {
            st->replace_tag = true;
        } else {
            rc = append_pair(&b->append, c->tag_key, taglen, b->tag_json.data, b->tag_json.len);
        }
    }
    return rc;
}

/* Encodes one event into req. Returns 0 (encoded or st->reject set), or
 * an error from the buffer (SK_ETOOBIG, SK_ENOMEM) with the body rolled back
 * by the caller. */
static int encode_event(struct es_bulk *b, const struct es_mp_event *ev, struct event_state *st,
                        int scanned, struct sk_buf *out, es_bulk_note_cb cb, void *arg)
{
    int rc = scanned;

    st->reject = NULL;
    st->missing_id = false;
    if (rc == 0) {
        decide_time(b, ev, st, cb, arg);
        rc = prepare_edits(b, ev, st);
    }
    if (rc == 0) {
        rc = decide_index(b, ev, st);
    }
    if (rc == 0 && st->reject == NULL) {
        rc = write_action(b, out, ev, st);
    }
    if (rc == 0 && st->reject == NULL) {
        rc = write_source(b, out, ev, st);
    }
    if (rc == SK_EPARSE) {
        st->reject = "record cannot be written as JSON";
        return 0;
    }
    return rc;
}

int es_bulk_encode(struct es_bulk *b, const char *data, size_t len, size_t *off, size_t limit,
                   struct es_bulk_req *req, es_bulk_note_cb cb, void *arg)
{
    struct es_mp_cur cur;
    struct es_mp_event ev;
    struct event_state st;
    int rc;

    if (req->nactions == 0 && req->body.len == 0) {
        req->first_off = *off;
    }
    es_mp_cur_init(&cur, data + *off, len - *off);
    for (;;) {
        size_t mark = req->body.len;
        size_t had = req->nactions;

        int scanned;

        req->end_off = *off;
        /* The usual event: its header, then one walk of the record finds
         * both what matters in it and where it ends. */
        rc = es_mp_event_head(&cur, &ev);
        if (rc == 0) {
            return 0;
        }
        scanned = rc == 1 ? scan_record(b->conf, &ev, cur.end, &st.scan) : SK_EPARSE;
        if (scanned == 0) {
            cur.p = ev.start + ev.len;
        } else {
            rc = es_mp_next_event(&cur, &ev); /* the general reader decides */
            if (rc <= 0) {
                return rc;
            }
            if (rc == 2) {
                cb(arg, ES_NOTE_REJECT, ev.start, ev.len, "not a [time, record] event");
                *off = (size_t)(cur.p - data);
                continue;
            }
            scanned = scan_record(b->conf, &ev, cur.end, &st.scan);
        }
        rc = encode_event(b, &ev, &st, scanned, &req->body, cb, arg);
        if (rc == 0 && st.reject == NULL) {
            rc = push_action(req, (size_t)(ev.start - data), ev.len);
        }
        if (rc < 0 || st.reject != NULL) {
            req->body.len = mark;
            if (req->body.data != NULL) {
                req->body.data[mark] = '\0';
            }
            req->nactions = had;
        }
        if (rc == SK_ENOMEM) {
            return rc;
        }
        if (rc == SK_ETOOBIG && had > 0) {
            return 0; /* does not fit next to the others: next request */
        }
        if (rc == SK_ETOOBIG) {
            st.reject = "record too large for one bulk request";
        }
        if (st.reject != NULL) {
            bool drop = st.missing_id && !b->conf->emit_error_for_missing_id;

            cb(arg, drop ? ES_NOTE_DROP : ES_NOTE_REJECT, ev.start, ev.len, st.reject);
        } else if (req->body.len > limit && had > 0) {
            req->body.len = mark;
            req->body.data[mark] = '\0';
            req->nactions = had;
            return 0; /* past the limit: this event opens the next request */
        }
        *off = (size_t)(cur.p - data);
        req->end_off = *off;
        if (req->body.len >= limit) {
            return 0;
        }
    }
}
