#include "filter_common/fc_accessor.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

#define FC_ACCESSOR_MAX_DEPTH 64

static int fail(char *err, size_t errsize, const char *what, const char *param)
{
    snprintf(err, errsize, "%s%s", what, param);
    return SK_ECONFIG;
}

static int add_key(struct fc_accessor *a, const char *name, size_t len, int64_t index)
{
    struct fc_akey *grown = sk_realloc(a->keys, (a->n + 1) * sizeof(*grown));

    if (grown == NULL) {
        return SK_ENOMEM;
    }
    a->keys = grown;
    grown[a->n].name = NULL;
    grown[a->n].len = 0;
    grown[a->n].index = index;
    if (name != NULL) {
        grown[a->n].name = sk_strndup(name, len);
        grown[a->n].len = len;
        if (grown[a->n].name == NULL) {
            return SK_ENOMEM;
        }
    }
    a->n++;
    return 0;
}

/* Ruby's Kernel#Integer for a string: blanks around, a sign, 0x/0b/0o/0
 * prefixes, single underscores between digits. */
static int ruby_integer(const char *s, size_t len, int64_t *out)
{
    const char *p = s;
    const char *e = s + len;
    int base = 10;
    bool neg = false;
    bool digit = false;
    uint64_t v = 0;

    while (p < e && isspace((unsigned char)*p)) {
        p++;
    }
    while (e > p && isspace((unsigned char)e[-1])) {
        e--;
    }
    if (p < e && (*p == '+' || *p == '-')) {
        neg = *p++ == '-';
    }
    if (e - p >= 2 && p[0] == '0' && strchr("xXbBoOdD", p[1]) != NULL) {
        base = strchr("xX", p[1]) ? 16 : strchr("bB", p[1]) ? 2 : strchr("oO", p[1]) ? 8 : 10;
        p += 2;
    } else if (e - p >= 2 && p[0] == '0') {
        base = 8;
        p++;
    }
    for (; p < e; p++) {
        int dv = isdigit((unsigned char)*p) ? *p - '0'
                 : isxdigit((unsigned char)*p) ? (tolower((unsigned char)*p) - 'a' + 10) : -1;

        if (*p == '_' && digit && p + 1 < e && p[1] != '_') {
            continue;
        }
        if (dv < 0 || dv >= base || v > (UINT64_MAX - (uint64_t)dv) / (uint64_t)base) {
            return SK_EPARSE;
        }
        v = v * (uint64_t)base + (uint64_t)dv;
        digit = true;
    }
    if (!digit || v > (uint64_t)INT64_MAX) {
        return SK_EPARSE;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

static int add_index(struct fc_accessor *a, const char *s, size_t len, char *err, size_t errsize)
{
    int64_t v;

    if (ruby_integer(s, len, &v) < 0) {
        snprintf(err, errsize, "invalid value for Integer(): \"%.*s\"", (int)len, s);
        return SK_ECONFIG;
    }
    return add_key(a, NULL, 0, v);
}

/* "a[0][1]" inside dot notation (parse_dot_array_op). */
static int dot_array_op(struct fc_accessor *a, const char *k, size_t len, const char *param,
                        char *err, size_t errsize)
{
    const char *open = memchr(k, '[', len);
    const char *p = open + 1;
    const char *e = k + len;
    bool in_bracket = true;
    int rc = open > k ? add_key(a, k, (size_t)(open - k), 0) : 0;

    while (rc == 0 && p < e) {
        const char *c = memchr(p, in_bracket ? ']' : '[', (size_t)(e - p));

        if (c == NULL) {
            return fail(err, errsize,
                        in_bracket ? "'[' found but ']' not found. Invalid syntax: "
                                   : "found more characters after ']'. Invalid syntax: ",
                        param);
        }
        if (in_bracket) {
            /* Ruby's key[0..i-1] is the whole rest when i is 0. */
            size_t vlen = c == p ? (size_t)(e - p) : (size_t)(c - p);

            if (vlen == 1 && *p == ']') {
                return fail(err, errsize, "missing array index in '[]'. Invalid syntax: ", param);
            }
            rc = add_index(a, p, vlen, err, errsize);
        }
        p = c + 1;
        in_bracket = !in_bracket;
    }
    return rc;
}

static int parse_dot(struct fc_accessor *a, const char *param, char *err, size_t errsize)
{
    const char *p = param + 2;
    const char *end = p + strlen(p);
    int rc = 0;

    /* Ruby's split('.') drops trailing empty fields. */
    while (end > p && end[-1] == '.') {
        end--;
    }
    while (rc == 0 && p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t len = dot != NULL ? (size_t)(dot - p) : (size_t)(end - p);

        rc = memchr(p, '[', len) != NULL ? dot_array_op(a, p, len, param, err, errsize)
                                         : add_key(a, p, len, 0);
        p += len + 1;
    }
    if (rc == 0 && a->n == 0) {
        return fail(err, errsize, "empty keys in dot notation", "");
    }
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        for (size_t j = 0; a->keys[i].name != NULL && j < a->keys[i].len; j++) {
            if (isspace((unsigned char)a->keys[i].name[j])) {
                return fail(err, errsize,
                            "whitespace character is not allowed in dot notation. Use bracket "
                            "notation: ",
                            a->keys[i].name);
            }
        }
    }
    return rc;
}

/* One quoted ['key'] or ["key"]; *pp points at the quote. */
static int bracket_quoted(struct fc_accessor *a, const char **pp, const char *orig, char *err,
                          size_t errsize)
{
    const char *p = *pp;
    const char *c = strstr(p, "']");

    if (c == NULL) {
        c = strstr(p, "\"]");
    }
    if (c == NULL) {
        return fail(err, errsize, "Incomplete bracket. Invalid syntax: ", orig);
    }
    if (*c != *p) {
        return fail(err, errsize, "Mismatched quotes. Invalid syntax: ", orig);
    }
    *pp = c + 2;
    /* Ruby's param[1..i-1] is the whole rest when i is 0. */
    if (c == p) {
        return add_key(a, p + 1, strlen(p + 1), 0);
    }
    return add_key(a, p + 1, (size_t)(c - p - 1), 0);
}

static int parse_bracket(struct fc_accessor *a, const char *param, char *err, size_t errsize)
{
    const char *p = param + 1;
    bool in_bracket = false;
    int rc = 0;

    while (rc == 0 && *p != '\0') {
        const char *c = strchr(p, in_bracket ? ']' : '[');

        if (!in_bracket) {
            if (c == NULL) {
                return fail(err, errsize, "found more characters after ']'. Invalid syntax: ",
                            param);
            }
            p = c + 1;
            in_bracket = true;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            rc = bracket_quoted(a, &p, param, err, errsize);
        } else if (c == NULL) {
            return fail(err, errsize, "'[' found but ']' not found. Invalid syntax: ", param);
        } else if (c == p && strcmp(p, "]") == 0) {
            return fail(err, errsize, "missing array index in '[]'. Invalid syntax: ", p);
        } else {
            rc = add_index(a, p, c == p ? strlen(p) : (size_t)(c - p), err, errsize);
            p = c + 1;
        }
        in_bracket = false;
    }
    if (rc == 0 && a->n == 0) {
        return fail(err, errsize, "empty keys in bracket notation", "");
    }
    return rc;
}

int fc_accessor_parse(struct fc_accessor *a, const char *param, char *err, size_t errsize)
{
    memset(a, 0, sizeof(*a));
    a->text = sk_strdup(param);
    if (a->text == NULL) {
        return SK_ENOMEM;
    }
    if (strncmp(param, "$.", 2) == 0) {
        return parse_dot(a, param, err, errsize);
    }
    if (strncmp(param, "$[", 2) == 0) {
        return parse_bracket(a, param, err, errsize);
    }
    return add_key(a, param, strlen(param), 0);
}

void fc_accessor_cleanup(struct fc_accessor *a)
{
    for (size_t i = 0; a->keys != NULL && i < a->n; i++) {
        sk_free(a->keys[i].name);
    }
    sk_free(a->keys);
    sk_free(a->text);
    memset(a, 0, sizeof(*a));
}

bool fc_accessor_is_top(const struct fc_accessor *a)
{
    return a->n == 1;
}

static bool key_equals(const struct fc_akey *k, const msgpack_object *key)
{
    if (k->name != NULL) {
        const char *p = key->type == MSGPACK_OBJECT_STR   ? key->via.str.ptr
                        : key->type == MSGPACK_OBJECT_BIN ? key->via.bin.ptr
                                                          : NULL;
        size_t len = key->type == MSGPACK_OBJECT_STR ? key->via.str.size : key->via.bin.size;

        return p != NULL && len == k->len && (len == 0 || memcmp(p, k->name, len) == 0);
    }
    if (key->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return k->index >= 0 && key->via.u64 == (uint64_t)k->index;
    }
    return key->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && key->via.i64 == k->index;
}

bool fc_akey_matches(const struct fc_accessor *a, size_t i, const msgpack_object *key)
{
    return i < a->n && key_equals(&a->keys[i], key);
}

static const msgpack_object *map_lookup(const msgpack_object *map, const struct fc_akey *k)
{
    const msgpack_object *found = NULL;

    for (uint32_t i = 0; i < map->via.map.size; i++) {
        if (key_equals(k, &map->via.map.ptr[i].key)) {
            found = &map->via.map.ptr[i].val;
        }
    }
    return found;
}

const msgpack_object *fc_map_find(const msgpack_object *map, const char *key, size_t klen)
{
    struct fc_akey k = {(char *)key, klen, 0};

    if (map->type != MSGPACK_OBJECT_MAP) {
        return NULL;
    }
    return map_lookup(map, &k);
}

/* Array#[] with an Integer: negative counts from the end. */
static int64_t array_index(const struct fc_akey *k, uint32_t size)
{
    int64_t i = k->index < 0 ? k->index + (int64_t)size : k->index;

    return i >= 0 && i < (int64_t)size ? i : -1;
}

int fc_accessor_get(const struct fc_accessor *a, const msgpack_object *record,
                    const msgpack_object **out)
{
    const msgpack_object *o = record;

    for (size_t i = 0; i < a->n; i++) {
        const struct fc_akey *k = &a->keys[i];

        if (o->type == MSGPACK_OBJECT_MAP) {
            o = map_lookup(o, k);
        } else if (o->type == MSGPACK_OBJECT_ARRAY && k->name == NULL) {
            int64_t idx = array_index(k, o->via.array.size);

            o = idx >= 0 ? &o->via.array.ptr[idx] : NULL;
        } else {
            return SK_EINVAL; /* TypeError: no #dig, or a String index into an Array */
        }
        if (o == NULL || (o->type == MSGPACK_OBJECT_NIL && i + 1 < a->n)) {
            return 0;
        }
    }
    *out = o;
    return 1;
}

static int pk_rc(int rc)
{
    return rc == 0 ? 0 : (rc < 0 ? rc : SK_ENOMEM);
}

static int pack_del(const struct fc_accessor *a, size_t depth, const msgpack_object *o,
                    msgpack_packer *pk, bool *removed);

static int pack_map_del(const struct fc_accessor *a, size_t depth, const msgpack_object *o,
                        msgpack_packer *pk, bool *removed)
{
    const struct fc_akey *k = &a->keys[depth];
    bool last = depth + 1 == a->n;
    uint32_t n = 0;
    int rc;

    for (uint32_t i = 0; i < o->via.map.size; i++) {
        n += !(last && key_equals(k, &o->via.map.ptr[i].key));
    }
    *removed = *removed || n != o->via.map.size;
    rc = pk_rc(msgpack_pack_map(pk, n));
    for (uint32_t i = 0; i < o->via.map.size && rc == 0; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        bool hit = key_equals(k, &kv->key);

        if (hit && last) {
            continue;
        }
        rc = pk_rc(msgpack_pack_object(pk, kv->key));
        if (rc == 0) {
            rc = hit ? pack_del(a, depth + 1, &kv->val, pk, removed)
                     : pk_rc(msgpack_pack_object(pk, kv->val));
        }
    }
    return rc;
}

static int pack_array_del(const struct fc_accessor *a, size_t depth, const msgpack_object *o,
                          msgpack_packer *pk, bool *removed)
{
    bool last = depth + 1 == a->n;
    int64_t idx = array_index(&a->keys[depth], o->via.array.size);
    uint32_t n = o->via.array.size - (last && idx >= 0);
    int rc = pk_rc(msgpack_pack_array(pk, n));

    *removed = *removed || (last && idx >= 0);
    for (uint32_t i = 0; i < o->via.array.size && rc == 0; i++) {
        const msgpack_object *v = &o->via.array.ptr[i];

        if ((int64_t)i != idx) {
            rc = pk_rc(msgpack_pack_object(pk, *v));
        } else if (!last) {
            rc = pack_del(a, depth + 1, v, pk, removed);
        }
    }
    return rc;
}

static int pack_del(const struct fc_accessor *a, size_t depth, const msgpack_object *o,
                    msgpack_packer *pk, bool *removed)
{
    if (depth < a->n && depth < FC_ACCESSOR_MAX_DEPTH) {
        if (o->type == MSGPACK_OBJECT_MAP) {
            return pack_map_del(a, depth, o, pk, removed);
        }
        if (o->type == MSGPACK_OBJECT_ARRAY && a->keys[depth].name == NULL) {
            return pack_array_del(a, depth, o, pk, removed);
        }
    }
    return pk_rc(msgpack_pack_object(pk, *o));
}

int fc_accessor_pack_deleted(const struct fc_accessor *a, size_t depth, const msgpack_object *o,
                             msgpack_packer *pk, bool *removed)
{
    return pack_del(a, depth, o, pk, removed);
}
