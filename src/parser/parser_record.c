/*
 * Records as Ruby Hashes (see parser_record.h): collapsing repeated keys,
 * nil values and keys, the time taken from the record or given, and the
 * small configuration helpers the Hash-building parsers share.
 */
#include "parser/parser_record.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "timefmt/timefmt.h"
#include "util/alloc.h"

#define SMALL_FIELDS 64 /* up to this many fields, repeats are found by scanning */

/* For field i: the index of the last field with its key, or SIZE_MAX when
 * an earlier field has the same key (i is then not written). */
struct dedup {
    size_t small[SMALL_FIELDS];
    size_t *last;   /* small, or owned */
    size_t *table;  /* owned hash of first indexes (n > SMALL_FIELDS) */
    size_t mask;
};

static bool same_key(const struct sk_parser_field *a, const struct sk_parser_field *b)
{
    if (a->key == NULL || b->key == NULL) {
        return a->key == b->key;
    }
    return a->klen == b->klen && memcmp(a->key, b->key, a->klen) == 0;
}

static size_t key_hash(const struct sk_parser_field *f)
{
    size_t h = 1469598103934665603ULL;

    for (size_t i = 0; f->key != NULL && i < f->klen; i++) {
        h = (h ^ (unsigned char)f->key[i]) * 1099511628211ULL;
    }
    return f->key == NULL ? 7 : h;
}

/* First field with f[i]'s key among 0..i-1, or SIZE_MAX. */
static size_t find_first(struct dedup *dd, const struct sk_parser_field *f, size_t i)
{
    if (dd->table == NULL) {
        for (size_t j = 0; j < i; j++) {
            if (dd->last[j] != SIZE_MAX && same_key(&f[j], &f[i])) {
                return j;
            }
        }
        return SIZE_MAX;
    }
    for (size_t h = key_hash(&f[i]) & dd->mask;; h = (h + 1) & dd->mask) {
        if (dd->table[h] == SIZE_MAX) {
            dd->table[h] = i;
            return SIZE_MAX;
        }
        if (same_key(&f[dd->table[h]], &f[i])) {
            return dd->table[h];
        }
    }
}

static int dedup_run(struct dedup *dd, const struct sk_parser_field *f, size_t n)
{
    dd->last = dd->small;
    dd->table = NULL;
    if (n > SMALL_FIELDS) {
        size_t size = 1;

        while (size < n * 2) {
            size *= 2;
        }
        dd->last = sk_malloc(n * sizeof(*dd->last));
        dd->table = sk_malloc(size * sizeof(*dd->table));
        if (dd->last == NULL || dd->table == NULL) {
            return SK_ENOMEM;
        }
        memset(dd->table, 0xff, size * sizeof(*dd->table));
        dd->mask = size - 1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t first = find_first(dd, f, i);

        dd->last[i] = i;
        if (first != SIZE_MAX) {
            dd->last[first] = i;
            dd->last[i] = SIZE_MAX;
        }
    }
    return 0;
}

static void dedup_cleanup(struct dedup *dd)
{
    if (dd->last != dd->small) {
        sk_free(dd->last);
    }
    sk_free(dd->table);
}

static int mp(int rc)
{
    return rc == 0 ? 0 : (rc < 0 ? rc : SK_ENOMEM);
}

/* The event time and which field (first index) holds the time key. */
static int record_time(struct sk_parser_core *pc, const struct sk_parser_field *f, size_t n,
                       const struct dedup *dd, const struct sk_time *given, struct sk_time *t,
                       size_t *ti)
{
    struct sk_parser_field key = {pc->time_key, pc->time_key_len, NULL, 0};
    const struct sk_parser_field *v;
    int rc;

    *ti = SIZE_MAX;
    for (size_t i = 0; pc->time_key != NULL && i < n; i++) {
        if (dd->last[i] != SIZE_MAX && same_key(&f[i], &key)) {
            *ti = i;
            break;
        }
    }
    if (given != NULL) {
        *t = *given;
        return 0;
    }
    if (*ti == SIZE_MAX) {
        if (!pc->estimate_current_event) {
            return SK_EPARSE;
        }
        *t = sk_time_now();
        return 0;
    }
    v = &f[dd->last[*ti]];
    if (v->val == NULL) {
        return SK_EPARSE; /* TimeParser: "value must be string" */
    }
    rc = sk_parser_time_text(pc, v->val, v->vlen, t);
    return rc == SK_ENOMEM ? rc : (rc < 0 ? SK_EPARSE : 0);
}

static int pack_field(struct sk_parser_core *pc, const struct sk_parser_field *k,
                      const struct sk_parser_field *v, msgpack_packer *pk)
{
    int rc = k->key != NULL ? sk_pack_str(pk, k->key, k->klen) : mp(msgpack_pack_nil(pk));

    if (rc != 0) {
        return rc;
    }
    if (v->val == NULL) {
        return mp(msgpack_pack_nil(pk));
    }
    if (pc->convert && k->key != NULL) {
        return sk_parser_pack_value(pc, k->key, k->klen, v->val, v->vlen, pk);
    }
    return sk_pack_str(pk, v->val, v->vlen);
}

static int pack_record(struct sk_parser_core *pc, const struct sk_parser_field *f, size_t n,
                       const struct dedup *dd, size_t skip, msgpack_packer *pk)
{
    size_t count = 0;
    int rc;

    for (size_t i = 0; i < n; i++) {
        count += dd->last[i] != SIZE_MAX && i != skip;
    }
    rc = mp(msgpack_pack_map(pk, count));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (dd->last[i] != SIZE_MAX && i != skip) {
            rc = pack_field(pc, &f[i], &f[dd->last[i]], pk);
        }
    }
    return rc;
}

int sk_parser_emit_record(struct sk_parser_core *pc, const struct sk_parser_field *f, size_t n,
                          const struct sk_time *t, struct sk_evbuf *out)
{
    size_t mark = out->buf.len;
    struct dedup dd;
    struct sk_time when;
    size_t ti = SIZE_MAX;
    int rc = dedup_run(&dd, f, n);

    if (rc == 0) {
        rc = record_time(pc, f, n, &dd, t, &when, &ti);
    }
    if (rc == 0) {
        rc = sk_evbuf_begin(out, when);
    }
    if (rc == 0) {
        rc = pack_record(pc, f, n, &dd, pc->keep_time_key ? SIZE_MAX : ti, &out->pk);
    }
    dedup_cleanup(&dd);
    if (rc < 0) {
        sk_evbuf_rollback(out, mark);
        return rc;
    }
    sk_evbuf_commit(out);
    return 0;
}

/* --- configuration helpers ------------------------------------------------ */

void sk_parser_diag(struct sk_diag *d, enum sk_diag_level level,
                    const struct sk_conf_section *sec, const char *fmt, ...)
{
    char msg[768];
    char where[128];
    va_list ap;

    if (d == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (sec != NULL) {
        sk_conf_section_label(sec, where, sizeof(where));
    }
    sk_diag_add(d, level, sec ? sec->file : NULL, sec ? sec->line : 0, sec ? where : NULL, "%s",
                msg);
}

int sk_parser_timefmt_create(const struct sk_parser_common *c, const char *format,
                             const struct sk_conf_section *sec, struct sk_diag *d,
                             struct sk_timefmt **out)
{
    bool local = c->localtime && !c->utc && c->timezone == NULL;
    const char *zone = c->timezone != NULL ? c->timezone : local ? NULL : "UTC";
    int err = 0;

    *out = NULL;
    if (format == NULL && !local) {
        sk_parser_diag(d, SK_DIAG_ERROR, sec, "specifying timezone requires time format");
        return SK_ECONFIG;
    }
    *out = sk_timefmt_create(format, zone, &err);
    if (*out == NULL) {
        if (err == SK_ENOMEM) {
            return err;
        }
        sk_parser_diag(d, SK_DIAG_ERROR, sec, "invalid time format '%s'", format ? format : "");
        return SK_ECONFIG;
    }
    return 0;
}
