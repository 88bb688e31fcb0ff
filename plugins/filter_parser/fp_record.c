/* filter parser: the output record of ParserFilter#handle_parsed (fp_int.h). */
#include "filter_parser/fp_int.h"

#include <string.h>

#include "filter_common/fc_ruby.h"
#include "util/alloc.h"

/* A key as up to two byte runs: the prefix, then the key itself. */
struct fp_key {
    const char *a;
    size_t al;
    const char *b;
    size_t bl;
};

static bool entry_key(const struct fp_build *b, const struct fp_entry *e, struct fp_key *k)
{
    const struct fp_conf *c = b->conf;

    memset(k, 0, sizeof(*k));
    if (e->kobj == NULL) {
        k->b = c->hash_value_field;
        k->bl = strlen(c->hash_value_field);
        return true;
    }
    k->b = fc_ruby_str(e->kobj, &k->bl);
    if (e->prefixed) {
        k->a = c->inject_key_prefix;
        k->al = strlen(c->inject_key_prefix);
    }
    return k->b != NULL;
}

static char key_at(const struct fp_key *k, size_t i)
{
    return i < k->al ? k->a[i] : k->b[i - k->al];
}

static bool key_eq(const struct fp_key *x, const struct fp_key *y)
{
    size_t n = x->al + x->bl;

    if (n != y->al + y->bl) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (key_at(x, i) != key_at(y, i)) {
            return false;
        }
    }
    return true;
}

static int push(struct fp_build *b, const struct fp_entry *e)
{
    if (b->n == b->cap) {
        size_t cap = b->cap > 0 ? b->cap * 2 : 32;
        struct fp_entry *grown = sk_realloc(b->entries, cap * sizeof(*grown));

        if (grown == NULL) {
            return SK_ENOMEM;
        }
        b->entries = grown;
        b->cap = cap;
    }
    b->entries[b->n++] = *e;
    return 0;
}

/* Hash#merge!: an existing key takes the value in place, else appended. */
static int merge(struct fp_build *b, const struct fp_entry *e)
{
    struct fp_key k;
    struct fp_key ek;

    if (b->conf->reserve_data && entry_key(b, e, &k)) {
        for (size_t i = 0; i < b->n; i++) {
            struct fp_entry *old = &b->entries[i];

            if (!old->removed && entry_key(b, old, &ek) && key_eq(&k, &ek)) {
                old->vobj = e->vobj;
                old->prune = false;
                return 0;
            }
        }
    }
    return push(b, e);
}

/* The incoming record, without key_name when it is to be removed. */
static int base(struct fp_build *b)
{
    const msgpack_object *r = b->record;
    struct fp_entry *last_hit = NULL;
    int rc = 0;

    for (uint32_t i = 0; i < r->via.map.size && rc == 0; i++) {
        struct fp_entry e = {.kobj = &r->via.map.ptr[i].key, .vobj = &r->via.map.ptr[i].val};

        rc = push(b, &e);
        if (rc == 0 && b->remove_key && fc_akey_matches(b->key, 0, e.kobj)) {
            b->entries[b->n - 1].removed = fc_accessor_is_top(b->key);
            last_hit = &b->entries[b->n - 1];
        }
    }
    if (last_hit != NULL && !fc_accessor_is_top(b->key)) {
        last_hit->prune = true; /* Hash#dig finds the last of duplicate keys */
    }
    return rc;
}

static int pk_rc(int rc)
{
    return rc == 0 ? 0 : (rc < 0 ? rc : SK_ENOMEM);
}

static int pack_key(const struct fp_build *b, const struct fp_entry *e, msgpack_packer *pk)
{
    struct fp_key k;
    int rc;

    if (e->kobj != NULL && !e->prefixed) {
        return pk_rc(msgpack_pack_object(pk, *e->kobj));
    }
    if (!entry_key(b, e, &k)) {
        return pk_rc(msgpack_pack_object(pk, *e->kobj)); /* a non-string key: no prefix */
    }
    rc = pk_rc(msgpack_pack_str(pk, k.al + k.bl));
    if (rc == 0 && k.al > 0) {
        rc = pk_rc(msgpack_pack_str_body(pk, k.a, k.al));
    }
    if (rc == 0 && k.bl > 0) {
        rc = pk_rc(msgpack_pack_str_body(pk, k.b, k.bl));
    }
    return rc;
}

/* The parsed values as a map, keys prefixed. */
static int pack_values(const struct fp_build *b, msgpack_packer *pk)
{
    const msgpack_object *v = b->values;
    uint32_t n = v != NULL ? v->via.map.size : 0;
    int rc = pk_rc(msgpack_pack_map(pk, n));

    for (uint32_t i = 0; i < n && rc == 0; i++) {
        struct fp_entry e = {.kobj = &v->via.map.ptr[i].key,
                             .prefixed = b->conf->inject_key_prefix != NULL};

        rc = pack_key(b, &e, pk);
        if (rc == 0) {
            rc = pk_rc(msgpack_pack_object(pk, v->via.map.ptr[i].val));
        }
    }
    return rc;
}

static int pack_entry(const struct fp_build *b, const struct fp_entry *e, msgpack_packer *pk)
{
    bool removed = false;
    int rc = pack_key(b, e, pk);

    if (rc < 0) {
        return rc;
    }
    if (e->vobj == NULL) {
        return pack_values(b, pk);
    }
    if (e->prune) {
        return fc_accessor_pack_deleted(b->key, 1, e->vobj, pk, &removed);
    }
    return pk_rc(msgpack_pack_object(pk, *e->vobj));
}

static int build(struct fp_build *b)
{
    const struct fp_conf *c = b->conf;
    const msgpack_object *v = b->values;
    int rc = c->reserve_data ? base(b) : 0;

    if (rc == 0 && c->hash_value_field != NULL) {
        struct fp_entry e = {0};

        return merge(b, &e);
    }
    for (uint32_t i = 0; v != NULL && i < v->via.map.size && rc == 0; i++) {
        struct fp_entry e = {.kobj = &v->via.map.ptr[i].key,
                             .prefixed = c->inject_key_prefix != NULL,
                             .vobj = &v->via.map.ptr[i].val};

        rc = merge(b, &e);
    }
    return rc;
}

int fp_emit(struct fp_build *b, struct sk_time t, struct sk_evbuf *out)
{
    size_t mark = out->buf.len;
    uint32_t n = 0;
    int rc;

    b->n = 0;
    rc = build(b);
    if (rc < 0) {
        return rc;
    }
    for (size_t i = 0; i < b->n; i++) {
        n += !b->entries[i].removed;
    }
    rc = sk_evbuf_begin(out, t);
    if (rc == 0) {
        rc = pk_rc(msgpack_pack_map(&out->pk, n));
    }
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        if (!b->entries[i].removed) {
            rc = pack_entry(b, &b->entries[i], &out->pk);
        }
    }
    if (rc < 0) {
        sk_evbuf_rollback(out, mark);
        return rc;
    }
    sk_evbuf_commit(out);
    return 0;
}
