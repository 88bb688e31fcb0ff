/*
 * Index template bodies: the user's template parsed into a msgpack tree
 * and written back with the keys skiff owns replaced (es_template.h).
 */
#include "out_elasticsearch/es_template.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "json/json.h"
#include "util/alloc.h"

#define ES_TEMPLATE_JSON_MAX (8u << 20)

static const msgpack_object *get(const msgpack_object *map, const char *key)
{
    size_t n = strlen(key);

    if (map == NULL || map->type != MSGPACK_OBJECT_MAP) {
        return NULL;
    }
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;

        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0) {
            return &map->via.map.ptr[i].val;
        }
    }
    return NULL;
}

static bool key_in(const msgpack_object *k, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (names[i] != NULL && k->type == MSGPACK_OBJECT_STR &&
            k->via.str.size == strlen(names[i]) &&
            memcmp(k->via.str.ptr, names[i], k->via.str.size) == 0) {
            return true;
        }
    }
    return false;
}

int es_template_shape(const char *json, size_t len, enum es_template_api *api, char *err,
                      size_t err_size)
{
    static const char *const legacy[] = {"settings", "mappings", "aliases", "order"};
    static const char *const composable[] = {"composed_of", "priority", "data_stream"};
    struct sk_buf scratch;
    msgpack_unpacked up;
    const msgpack_object *t;
    int rc;

    sk_buf_init(&scratch, ES_TEMPLATE_JSON_MAX);
    msgpack_unpacked_init(&up);
    rc = sk_json_parse(json, len, &scratch, &up);
    if (rc != SK_ENOMEM && (rc < 0 || up.data.type != MSGPACK_OBJECT_MAP)) {
        snprintf(err, err_size, "the template is not a JSON object");
        rc = SK_EINVAL;
    }
    if (rc == 0) {
        t = get(&up.data, "template");
        for (uint32_t i = 0; i < up.data.via.map.size && rc == 0; i++) {
            const msgpack_object *k = &up.data.via.map.ptr[i].key;

            if (key_in(k, composable, 3)) {
                *api = ES_TEMPLATE_COMPOSABLE;
                rc = 1;
            } else if (key_in(k, legacy, 4)) {
                *api = ES_TEMPLATE_LEGACY;
                rc = 1;
            }
        }
        if (rc == 0 && t != NULL) {
            *api = t->type == MSGPACK_OBJECT_MAP ? ES_TEMPLATE_COMPOSABLE : ES_TEMPLATE_LEGACY;
            rc = 1;
        }
    }
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);
    return rc;
}

/* --- writing -------------------------------------------------------------------- */

struct w {
    struct sk_buf *out;
    int rc;
    bool comma; /* the current object already has a member */
};

static void lit(struct w *w, const char *s)
{
    if (w->rc == 0) {
        w->rc = sk_buf_append_str(w->out, s);
    }
}

static void member(struct w *w, const char *key)
{
    lit(w, w->comma ? "," : "");
    if (w->rc == 0) {
        w->rc = sk_json_write_string(w->out, key, strlen(key));
    }
    lit(w, ":");
    w->comma = true;
}

static void obj(struct w *w, const msgpack_object *o)
{
    if (w->rc == 0) {
        w->rc = sk_json_write_object(w->out, o);
    }
}

/* Writes the members of `map` whose key is not in `skip`. */
static void members_except(struct w *w, const msgpack_object *map, const char *const *skip,
                           size_t nskip)
{
    for (uint32_t i = 0; map != NULL && map->type == MSGPACK_OBJECT_MAP && i < map->via.map.size;
         i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;

        if (key_in(k, skip, nskip)) {
            continue;
        }
        lit(w, w->comma ? "," : "");
        obj(w, k);
        lit(w, ":");
        obj(w, &map->via.map.ptr[i].val);
        w->comma = true;
    }
}

/* "settings":{<the old ones but ours>,<ours>} */
static void settings(struct w *w, const struct es_template_spec *s, const msgpack_object *old)
{
    const char *skip[16];
    size_t n = s->nsettings < 16 ? s->nsettings : 16;

    for (size_t i = 0; i < n; i++) {
        skip[i] = s->settings[i].key;
    }
    member(w, "settings");
    lit(w, "{");
    w->comma = false;
    members_except(w, old, skip, n);
    for (size_t i = 0; i < s->nsettings; i++) {
        member(w, s->settings[i].key);
        if (w->rc == 0) {
            w->rc =
                sk_json_write_string(w->out, s->settings[i].value, strlen(s->settings[i].value));
        }
    }
    lit(w, "}");
    w->comma = true;
}

static int64_t own_prio(const msgpack_object *o, int64_t def)
{
    if (o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 < INT32_MAX) {
        return (int64_t)o->via.u64;
    }
    return def;
}

static void prio(struct w *w, const struct es_template_spec *s, const msgpack_object *doc)
{
    const char *key = s->api == ES_TEMPLATE_LEGACY ? "order" : "priority";
    int64_t v = s->prio_value;
    char num[32];

    if (s->prio == ES_PRIO_KEEP) {
        return;
    }
    if (s->prio == ES_PRIO_BUMP) {
        v = own_prio(get(doc, key), s->api == ES_TEMPLATE_LEGACY ? 50 : 100) + 1 + s->prio_value;
    }
    snprintf(num, sizeof(num), "%" PRId64, v);
    member(w, key);
    lit(w, num);
}

static void patterns(struct w *w, const struct es_template_spec *s)
{
    if (s->pattern == NULL) {
        return;
    }
    member(w, "index_patterns");
    lit(w, "[");
    if (w->rc == 0) {
        w->rc = sk_json_write_string(w->out, s->pattern, strlen(s->pattern));
    }
    lit(w, "]");
}

static void legacy(struct w *w, const struct es_template_spec *s, const msgpack_object *doc)
{
    const char *skip[] = {
        s->pattern != NULL ? "index_patterns" : NULL, s->pattern != NULL ? "template" : NULL,
        s->prio != ES_PRIO_KEEP ? "order" : NULL, s->nsettings > 0 ? "settings" : NULL};

    lit(w, "{");
    members_except(w, doc, skip, 4);
    patterns(w, s);
    prio(w, s, doc);
    if (s->nsettings > 0) {
        settings(w, s, get(doc, "settings"));
    }
    lit(w, "}");
}

static void composable(struct w *w, const struct es_template_spec *s, const msgpack_object *doc)
{
    const char *skip[] = {
        s->pattern != NULL ? "index_patterns" : NULL, s->prio != ES_PRIO_KEEP ? "priority" : NULL,
        s->nsettings > 0 ? "template" : NULL, s->data_stream ? "data_stream" : NULL};
    static const char *const settings_key[] = {"settings"};
    const msgpack_object *t = get(doc, "template");

    lit(w, "{");
    members_except(w, doc, skip, 4);
    patterns(w, s);
    prio(w, s, doc);
    if (s->nsettings > 0) {
        member(w, "template");
        lit(w, "{");
        w->comma = false;
        members_except(w, t, settings_key, 1);
        settings(w, s, get(t, "settings"));
        lit(w, "}");
        w->comma = true;
    }
    if (s->data_stream) {
        member(w, "data_stream");
        if (get(doc, "data_stream") != NULL) {
            obj(w, get(doc, "data_stream"));
        } else {
            lit(w, "{}");
        }
    }
    lit(w, "}");
}

int es_template_body(const struct es_template_spec *s, struct sk_buf *out, char *err,
                     size_t err_size)
{
    static const char empty[] = "{}";
    struct sk_buf scratch;
    msgpack_unpacked up;
    struct w w = {out, 0, false};
    const char *json = s->json != NULL ? s->json : empty;
    size_t len = s->json != NULL ? s->len : 2;

    sk_buf_init(&scratch, ES_TEMPLATE_JSON_MAX);
    msgpack_unpacked_init(&up);
    w.rc = sk_json_parse(json, len, &scratch, &up);
    if (w.rc != SK_ENOMEM && (w.rc < 0 || up.data.type != MSGPACK_OBJECT_MAP)) {
        snprintf(err, err_size, "the template is not a JSON object");
        w.rc = SK_EINVAL;
    }
    if (w.rc == 0 && s->api == ES_TEMPLATE_LEGACY) {
        legacy(&w, s, &up.data);
    } else if (w.rc == 0) {
        composable(&w, s, &up.data);
    }
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);
    return w.rc;
}

/* --- customize_template ----------------------------------------------------------- */

static int replace_all(const char *text, size_t len, const char *key, const char *value,
                       struct sk_buf *out)
{
    size_t klen = strlen(key);
    size_t vlen = strlen(value);
    size_t i = 0;
    int rc = 0;

    while (i < len && rc == 0) {
        if (klen > 0 && len - i >= klen && memcmp(text + i, key, klen) == 0) {
            for (size_t j = 0; j < vlen && rc == 0; j++) {
                rc = sk_buf_putc(out, (char)tolower((unsigned char)value[j]));
            }
            i += klen;
        } else {
            rc = sk_buf_putc(out, text[i++]);
        }
    }
    return rc;
}

int es_template_customize(const char *text, size_t len, const struct sk_kvv *pairs,
                          struct sk_buf *out)
{
    struct sk_buf a;
    struct sk_buf b;
    int rc;

    sk_buf_init(&a, out->max);
    sk_buf_init(&b, out->max);
    rc = sk_buf_append(&a, text, len);
    for (size_t i = 0; pairs != NULL && i < pairs->n && rc == 0; i++) {
        struct sk_buf t;

        sk_buf_reset(&b);
        rc = replace_all(a.data != NULL ? a.data : "", a.len, pairs->v[i].key, pairs->v[i].value,
                         &b);
        t = a;
        a = b;
        b = t;
    }
    if (rc == 0) {
        rc = sk_buf_append(out, a.data != NULL ? a.data : "", a.len);
    }
    sk_buf_cleanup(&a);
    sk_buf_cleanup(&b);
    return rc;
}
