/*
 * record_transformer per event: placeholder values, template expansion and
 * the new record, in Fluentd's order (filter_record_transformer.rb):
 *
 *   new = renew_record ? keep_keys of record : record.dup
 *   new.merge!(expanded <record>)        existing keys change in place
 *   time = new[renew_time_key].to_f      when that key is present
 *   remove_keys deleted from new         (record accessors, in order)
 *
 * The new record is a list of entries pointing into the incoming record
 * or into ctx->scratch, packed once at the end: no tree is built.
 */
#include "filter_record_transformer/rt_int.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "filter_common/fc_ruby.h"
#include "parser/parser.h"
#include "util/alloc.h"

/* What one placeholder stands for in this event. */
struct rt_val {
    const char *s; /* a string, or NULL */
    size_t len;
    const msgpack_object *obj; /* else a record value, or NULL for nil */
};

struct rt_ev {
    struct rt_ctx *ctx;
    const char *id;
    const struct rt_tag *tag;
    struct sk_time t;
    const msgpack_object *record;
    const char *why; /* set when Ruby would raise */
};

void rt_tag_split(struct rt_tag *rt, const char *tag)
{
    size_t len = strlen(tag);
    size_t start = 0;

    rt->tag = tag;
    rt->n = 0;
    for (size_t i = 0; i <= len && rt->n < RT_TAG_PARTS_MAX; i++) {
        if (i == len || tag[i] == '.') {
            rt->start[rt->n] = start;
            rt->end[rt->n] = i;
            rt->n++;
            start = i + 1;
        }
    }
    while (rt->n > 0 && rt->start[rt->n - 1] == rt->end[rt->n - 1]) {
        rt->n--;
    }
}

/* Time.at(time).to_s, cached per second. */
static void time_to_s(struct rt_ctx *ctx, struct sk_time t)
{
    time_t sec = (time_t)t.sec;
    struct tm tm;

    if (ctx->time_len > 0 && ctx->time_sec == t.sec) {
        return;
    }
    localtime_r(&sec, &tm);
    ctx->time_len = strftime(ctx->time_str, sizeof(ctx->time_str), "%Y-%m-%d %H:%M:%S %z", &tm);
    ctx->time_sec = t.sec;
}

/* String#[](str) in a Ruby chain: the key itself when contained, else nil. */
static bool str_contains(const msgpack_object *o, const struct rt_key *k)
{
    size_t len;
    const char *s = fc_ruby_str(o, &len);

    return k->len == 0 || (len >= k->len && memmem(s, len, k->name, k->len) != NULL);
}

/* record[k0][k1]...: Ruby's Hash#[] and String#[] along the chain. */
static void resolve_record(struct rt_ev *ev, const struct rt_seg *g, struct rt_val *v)
{
    const msgpack_object *o = fc_map_find(ev->record, g->keys[0].name, g->keys[0].len);

    for (size_t i = 1; i < g->nkeys && ev->why == NULL; i++) {
        const struct rt_key *k = &g->keys[i];

        if (o == NULL || o->type == MSGPACK_OBJECT_NIL) {
            ev->why = "NoMethodError: undefined method `[]' for nil:NilClass";
        } else if (o->type == MSGPACK_OBJECT_MAP) {
            o = fc_map_find(o, k->name, k->len);
        } else if (o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN) {
            if (!str_contains(o, k)) {
                o = NULL;
            } else {
                v->s = k->name;
                v->len = k->len;
                return;
            }
        } else if (o->type == MSGPACK_OBJECT_ARRAY || o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                   o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            ev->why = "TypeError: no implicit conversion of String into Integer";
        } else {
            ev->why = "NoMethodError: undefined method `[]' for a value that is not a Hash";
        }
    }
    v->obj = o;
}

/* Fills v for placeholder g; returns false when Fluentd would call it
 * unknown (and warn). */
static bool resolve(struct rt_ev *ev, const struct rt_seg *g, struct rt_val *v)
{
    const struct rt_tag *tg = ev->tag;
    int64_t idx = g->index < 0 ? g->index + (int64_t)tg->n : g->index;
    bool in_range = idx >= 0 && idx < (int64_t)tg->n;

    memset(v, 0, sizeof(*v));
    switch (g->kind) {
    case RT_SEG_TAG:
        v->s = tg->tag;
        v->len = strlen(tg->tag);
        return true;
    case RT_SEG_TAG_PARTS:
    case RT_SEG_TAG_PREFIX:
    case RT_SEG_TAG_SUFFIX:
        if (!in_range) {
            return false;
        }
        v->s = tg->tag + (g->kind == RT_SEG_TAG_PREFIX ? 0 : tg->start[idx]);
        v->len = (g->kind == RT_SEG_TAG_SUFFIX ? tg->end[tg->n - 1] : tg->end[idx]) -
                 (size_t)(v->s - tg->tag);
        return true;
    case RT_SEG_HOSTNAME:
        v->s = ev->ctx->hostname;
        v->len = strlen(ev->ctx->hostname);
        return true;
    case RT_SEG_TIME:
        time_to_s(ev->ctx, ev->t);
        v->s = ev->ctx->time_str;
        v->len = ev->ctx->time_len;
        return true;
    case RT_SEG_RECORD:
        resolve_record(ev, g, v);
        return g->nkeys > 1 || v->obj != NULL;
    default:
        return false;
    }
}

static void warn_unknown(struct rt_ev *ev, const struct rt_str *s, const struct rt_seg *g)
{
    if (!s->ruby) {
        sk_log_limited(&ev->ctx->warn, SK_LOG_WARN, "%s: unknown placeholder `%s` found", ev->id,
                       g->text);
    }
}

/* The to_s concatenation of template s into ctx->text. */
static int expand_text(struct rt_ev *ev, const struct rt_str *s)
{
    struct sk_buf *text = &ev->ctx->text;
    int rc = 0;

    sk_buf_reset(text);
    for (size_t i = 0; i < s->n && rc == 0 && ev->why == NULL; i++) {
        const struct rt_seg *g = &s->segs[i];
        struct rt_val v;

        if (g->kind == RT_SEG_TEXT) {
            rc = sk_buf_append(text, g->text, g->len);
            continue;
        }
        if (!resolve(ev, g, &v)) {
            warn_unknown(ev, s, g);
        }
        if (v.s != NULL) {
            rc = sk_buf_append(text, v.s, v.len);
        } else if (v.obj != NULL) {
            rc = fc_ruby_to_s(text, v.obj);
        }
    }
    return rc;
}

static int pk_rc(int rc)
{
    return rc == 0 ? 0 : (rc < 0 ? rc : SK_ENOMEM);
}

/* Packs the expansion of s into ctx->scratch. */
static int expand_str(struct rt_ev *ev, const struct rt_str *s)
{
    msgpack_packer *pk = &ev->ctx->spk;
    struct rt_val v;
    int rc;

    if (s->typed) {
        if (!resolve(ev, &s->segs[0], &v)) {
            warn_unknown(ev, s, &s->segs[0]);
        }
        if (v.s != NULL) {
            return sk_pack_str(pk, v.s, v.len);
        }
        return pk_rc(v.obj != NULL ? msgpack_pack_object(pk, *v.obj) : msgpack_pack_nil(pk));
    }
    rc = expand_text(ev, s);
    if (rc < 0) {
        return rc;
    }
    return sk_pack_str(pk, ev->ctx->text.data != NULL ? ev->ctx->text.data : "", ev->ctx->text.len);
}

static int expand_node(struct rt_ev *ev, const struct rt_node *node);

/* The i-th key expanded by expand_map, from the record stack at `mark`. */
static const char *stacked_key(struct rt_ctx *ctx, size_t mark, size_t i, size_t *len)
{
    size_t off = mark;

    for (;;) {
        memcpy(len, ctx->keys.data + off, sizeof(*len));
        if (i-- == 0) {
            return ctx->keys.data + off + sizeof(*len);
        }
        off += sizeof(*len) + *len;
    }
}

static bool same_key(struct rt_ctx *ctx, size_t mark, size_t i, size_t j)
{
    size_t li;
    size_t lj;
    const char *ki = stacked_key(ctx, mark, i, &li);
    const char *kj = stacked_key(ctx, mark, j, &lj);

    return li == lj && memcmp(ki, kj, li) == 0;
}

/* A Hash built key by key: a repeated key keeps its first position and
 * takes the last value. Keys wait on ctx->keys while values are packed. */
static int expand_map(struct rt_ev *ev, const struct rt_node *node)
{
    struct rt_ctx *ctx = ev->ctx;
    size_t mark = ctx->keys.len;
    uint32_t unique = 0;
    int rc = 0;

    for (size_t i = 0; i < node->n && rc == 0 && ev->why == NULL; i++) {
        rc = expand_text(ev, &node->keys[i]);
        if (rc == 0) {
            rc = sk_buf_append(&ctx->keys, &ctx->text.len, sizeof(ctx->text.len));
        }
        if (rc == 0) {
            rc = sk_buf_append(&ctx->keys, ctx->text.data, ctx->text.len);
        }
    }
    for (size_t i = 0; i < node->n && rc == 0 && ev->why == NULL; i++) {
        bool first = true;

        for (size_t j = 0; j < i && first; j++) {
            first = !same_key(ctx, mark, i, j);
        }
        unique += first;
    }
    rc = rc < 0 || ev->why != NULL ? rc : pk_rc(msgpack_pack_map(&ctx->spk, unique));
    for (size_t i = 0; i < node->n && rc == 0 && ev->why == NULL; i++) {
        size_t last = i;
        size_t klen;
        const char *k;
        bool first = true;

        for (size_t j = 0; j < i && first; j++) {
            first = !same_key(ctx, mark, i, j);
        }
        if (!first) {
            continue;
        }
        for (size_t j = i + 1; j < node->n; j++) {
            last = same_key(ctx, mark, i, j) ? j : last;
        }
        k = stacked_key(ctx, mark, i, &klen);
        rc = sk_pack_str(&ctx->spk, k, klen);
        if (rc == 0) {
            rc = expand_node(ev, &node->items[last]);
        }
    }
    ctx->keys.len = mark;
    return rc;
}

static int expand_node(struct rt_ev *ev, const struct rt_node *node)
{
    struct rt_ctx *ctx = ev->ctx;
    int rc = 0;

    switch (node->kind) {
    case RT_NODE_STR:
        return expand_str(ev, &node->str);
    case RT_NODE_VALUE:
        return sk_buf_append(&ctx->scratch, node->mp, node->mplen);
    case RT_NODE_ARRAY:
        rc = pk_rc(msgpack_pack_array(&ctx->spk, (uint32_t)node->n));
        for (size_t i = 0; i < node->n && rc == 0 && ev->why == NULL; i++) {
            rc = expand_node(ev, &node->items[i]);
        }
        return rc;
    case RT_NODE_MAP:
        return expand_map(ev, node);
    }
    return SK_EINVAL;
}

/* --- the new record ------------------------------------------------------ */

/* The entry's key as bytes; false for a record key that is not a string. */
static bool entry_key(const struct rt_ctx *ctx, const struct rt_entry *e, const char **k,
                      size_t *len)
{
    if (e->kobj != NULL) {
        *k = fc_ruby_str(e->kobj, len);
        return *k != NULL;
    }
    *k = e->kptr != NULL ? e->kptr : ctx->scratch.data + e->koff;
    *len = e->klen;
    return true;
}

static struct rt_entry *find_entry(struct rt_ctx *ctx, const char *k, size_t len)
{
    struct rt_entry *found = NULL;

    for (size_t i = 0; i < ctx->nentries; i++) {
        const char *ek;
        size_t elen;

        if (!ctx->entries[i].removed && entry_key(ctx, &ctx->entries[i], &ek, &elen) &&
            elen == len && (len == 0 || memcmp(ek, k, len) == 0)) {
            found = &ctx->entries[i];
        }
    }
    return found;
}

static int push_entry(struct rt_ctx *ctx, const struct rt_entry *e)
{
    if (ctx->nentries == ctx->cap) {
        size_t cap = ctx->cap > 0 ? ctx->cap * 2 : 32;
        struct rt_entry *grown = sk_realloc(ctx->entries, cap * sizeof(*grown));

        if (grown == NULL) {
            return SK_ENOMEM;
        }
        ctx->entries = grown;
        ctx->cap = cap;
    }
    ctx->entries[ctx->nentries++] = *e;
    return 0;
}

/* Hash#[]=: replaces the value of an existing key in place, else appends. */
static int set_entry(struct rt_ctx *ctx, const struct rt_entry *e)
{
    const char *k;
    size_t len;
    struct rt_entry *old;

    if (!entry_key(ctx, e, &k, &len)) {
        return push_entry(ctx, e);
    }
    old = find_entry(ctx, k, len);
    if (old == NULL) {
        return push_entry(ctx, e);
    }
    old->vobj = e->vobj;
    old->voff = e->voff;
    old->vlen = e->vlen;
    return 0;
}

static int base_entries(struct rt_ctx *ctx, const struct rt_conf *conf,
                        const msgpack_object *record)
{
    int rc = 0;

    if (!conf->renew_record) {
        for (uint32_t i = 0; i < record->via.map.size && rc == 0; i++) {
            struct rt_entry e = {.kobj = &record->via.map.ptr[i].key,
                                 .vobj = &record->via.map.ptr[i].val};

            rc = push_entry(ctx, &e);
        }
        return rc;
    }
    for (size_t i = 0; i < conf->keep_keys.n && rc == 0; i++) {
        const char *k = conf->keep_keys.v[i];
        const msgpack_object *v = fc_map_find(record, k, strlen(k));

        if (v != NULL) {
            struct rt_entry e = {.kptr = k, .klen = strlen(k), .vobj = v};

            rc = set_entry(ctx, &e);
        }
    }
    return rc;
}

static int field_entries(struct rt_ev *ev)
{
    struct rt_ctx *ctx = ev->ctx;
    int rc = 0;

    for (size_t i = 0; i < ctx->nfields && rc == 0 && ev->why == NULL; i++) {
        struct rt_entry e = {0};

        rc = expand_text(ev, &ctx->fields[i].key);
        e.koff = ctx->scratch.len;
        e.klen = ctx->text.len;
        if (rc == 0) {
            rc = sk_buf_append(&ctx->scratch, ctx->text.data, ctx->text.len);
        }
        e.voff = ctx->scratch.len;
        if (rc == 0) {
            rc = expand_node(ev, &ctx->fields[i].value);
        }
        e.vlen = ctx->scratch.len - e.voff;
        if (rc == 0 && ev->why == NULL) {
            rc = set_entry(ctx, &e);
        }
    }
    return rc;
}

/* The entry's value as an object: the record's, or its packed bytes read
 * back (copied to ctx->tmp first, as scratch may move) into `up`. */
static const msgpack_object *entry_value(struct rt_ctx *ctx, const struct rt_entry *e,
                                         msgpack_unpacked *up, int *rc)
{
    size_t off = 0;

    *rc = 0;
    if (e->vobj != NULL) {
        return e->vobj;
    }
    sk_buf_reset(&ctx->tmp);
    *rc = sk_buf_append(&ctx->tmp, ctx->scratch.data + e->voff, e->vlen);
    if (*rc < 0) {
        return NULL;
    }
    if (msgpack_unpack_next(up, ctx->tmp.data, ctx->tmp.len, &off) != MSGPACK_UNPACK_SUCCESS) {
        *rc = SK_ENOMEM;
        return NULL;
    }
    return &up->data;
}

/* Fluent::EventTime.from_time(Time.at(f)): Time.at reads the double
 * exactly, so the nanoseconds are floor(frac * 1e9) without rounding. */
static void time_from_double(double f, struct sk_time *t)
{
    double whole = floor(f);
    double frac = f - whole;
    int exp2;
    double mant = frexp(frac, &exp2);
    uint64_t m = (uint64_t)ldexp(mant, 53);
    int shift = 53 - exp2;
    unsigned __int128 p = (unsigned __int128)m * 1000000000u;

    t->sec = (int64_t)whole;
    t->nsec = frac == 0 || shift >= 128 ? 0 : (uint32_t)(p >> shift);
}

/* new_record[renew_time_key].to_f as the event time; a why when Ruby
 * raises (NoMethodError for true/false/arrays/hashes, FloatDomainError). */
static const char *renew_time(const msgpack_object *v, struct sk_time *t)
{
    double f = 0;
    struct sk_time et;
    size_t len;
    const char *s;

    switch (v->type) {
    case MSGPACK_OBJECT_NIL:
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        f = (double)v->via.u64;
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        f = (double)v->via.i64;
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        f = v->via.f64;
        break;
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN:
        s = fc_ruby_str(v, &len);
        f = sk_ruby_to_f(s, len);
        break;
    case MSGPACK_OBJECT_EXT:
        /* Fluent::EventTime#to_f, then Time.at of that double. */
        if (sk_time_from_object(v, &et) < 0) {
            return "NoMethodError: undefined method `to_f' for an extension value";
        }
        f = (double)et.sec + (double)et.nsec / 1000000000.0;
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        return v->via.boolean ? "NoMethodError: undefined method `to_f' for true:TrueClass"
                              : "NoMethodError: undefined method `to_f' for false:FalseClass";
    default:
        return "NoMethodError: undefined method `to_f' for an Array or a Hash";
    }
    if (isnan(f) || isinf(f)) {
        return isnan(f) ? "FloatDomainError: NaN" : "FloatDomainError: Infinity";
    }
    if (fabs(f) > 9.2e18) {
        return "RangeError: time out of range";
    }
    time_from_double(f, t);
    return NULL;
}

/* Accessor#delete for one remove_keys entry on the new record. */
static int remove_key(struct rt_ctx *ctx, const struct fc_accessor *a)
{
    struct rt_entry *hit = NULL;
    msgpack_unpacked up;
    const msgpack_object *v;
    size_t mark = ctx->scratch.len;
    bool removed = false;
    int rc;

    for (size_t i = 0; i < ctx->nentries; i++) {
        struct rt_entry *e = &ctx->entries[i];
        const char *k = NULL;
        size_t len = 0;
        bool match = e->kobj != NULL ? fc_akey_matches(a, 0, e->kobj)
                                     : a->keys[0].name != NULL && entry_key(ctx, e, &k, &len) &&
                                           len == a->keys[0].len &&
                                           (len == 0 || memcmp(k, a->keys[0].name, len) == 0);

        if (!e->removed && match) {
            e->removed = fc_accessor_is_top(a);
            hit = e;
        }
    }
    if (hit == NULL || fc_accessor_is_top(a)) {
        return 0;
    }
    msgpack_unpacked_init(&up);
    v = entry_value(ctx, hit, &up, &rc);
    if (v != NULL) {
        rc = fc_accessor_pack_deleted(a, 1, v, &ctx->spk, &removed);
    }
    msgpack_unpacked_destroy(&up);
    if (rc == 0 && removed) {
        hit->vobj = NULL;
        hit->voff = mark;
        hit->vlen = ctx->scratch.len - mark;
    } else if (ctx->scratch.len > mark) {
        ctx->scratch.len = mark;
        ctx->scratch.data[mark] = '\0';
    }
    return rc;
}

static int pack_record(struct rt_ctx *ctx, struct sk_time t, struct sk_evbuf *out)
{
    size_t mark = out->buf.len;
    uint32_t n = 0;
    int rc;

    for (size_t i = 0; i < ctx->nentries; i++) {
        n += !ctx->entries[i].removed;
    }
    rc = sk_evbuf_begin(out, t);
    if (rc == 0) {
        rc = pk_rc(msgpack_pack_map(&out->pk, n));
    }
    for (size_t i = 0; i < ctx->nentries && rc == 0; i++) {
        const struct rt_entry *e = &ctx->entries[i];
        const char *k;
        size_t len;

        if (e->removed) {
            continue;
        }
        if (e->kobj != NULL) {
            rc = pk_rc(msgpack_pack_object(&out->pk, *e->kobj));
        } else {
            entry_key(ctx, e, &k, &len);
            rc = sk_pack_str(&out->pk, k, len);
        }
        if (rc == 0) {
            rc = e->vobj != NULL ? pk_rc(msgpack_pack_object(&out->pk, *e->vobj))
                                 : sk_buf_append(&out->buf, ctx->scratch.data + e->voff, e->vlen);
        }
    }
    if (rc < 0) {
        sk_evbuf_rollback(out, mark);
        return rc;
    }
    sk_evbuf_commit(out);
    return 0;
}

/* renew_time_key, looked up in the new record before remove_keys. */
static int apply_renew_time(struct rt_ev *ev, const struct rt_conf *conf, struct sk_time *t)
{
    struct rt_ctx *ctx = ev->ctx;
    struct rt_entry *e;
    msgpack_unpacked up;
    const msgpack_object *v;
    int rc;

    if (conf->renew_time_key == NULL) {
        return 0;
    }
    e = find_entry(ctx, conf->renew_time_key, strlen(conf->renew_time_key));
    if (e == NULL) {
        return 0;
    }
    msgpack_unpacked_init(&up);
    v = entry_value(ctx, e, &up, &rc);
    if (v != NULL) {
        ev->why = renew_time(v, t);
    }
    msgpack_unpacked_destroy(&up);
    return rc;
}

int rt_transform(struct sk_instance *ins, const struct rt_tag *tag, struct sk_time t,
                 const msgpack_object *record, struct sk_evbuf *out, const char **why)
{
    struct rt_ctx *ctx = ins->ctx;
    const struct rt_conf *conf = ins->conf;
    struct rt_ev ev = {ctx, ins->id, tag, t, record, NULL};
    int rc;

    sk_buf_reset(&ctx->scratch);
    ctx->nentries = 0;
    rc = base_entries(ctx, conf, record);
    if (rc == 0) {
        rc = field_entries(&ev);
    }
    if (rc == 0 && ev.why == NULL) {
        rc = apply_renew_time(&ev, conf, &t);
    }
    for (size_t i = 0; i < ctx->nremovers && rc == 0 && ev.why == NULL; i++) {
        rc = remove_key(ctx, &ctx->removers[i]);
    }
    if (rc < 0) {
        return rc;
    }
    if (ev.why != NULL) {
        *why = ev.why;
        return 1;
    }
    return pack_record(ctx, t, out);
}
