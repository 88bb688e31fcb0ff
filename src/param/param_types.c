/* Value parsers for the parameter engine: one function per Fluentd type. */
#include "param/param.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json/json.h"
#include "util/alloc.h"
#include "util/buf.h"

#define SK_PARAM_JSON_MAX (1u << 20)

int sk_param_parse_bool(const char *text, bool *out)
{
    /* Fluentd: an empty value (key alone on its line) means true. */
    if (strcmp(text, "") == 0 || strcmp(text, "true") == 0 || strcmp(text, "yes") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(text, "false") == 0 || strcmp(text, "no") == 0) {
        *out = false;
        return 0;
    }
    return SK_EPARSE;
}

int sk_param_parse_int(const char *text, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (end == text || *end != '\0') {
        return SK_EPARSE;
    }
    if (errno == ERANGE) {
        return SK_ERANGE;
    }
    *out = v;
    return 0;
}

int sk_param_parse_float(const char *text, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v)) {
        return SK_EPARSE;
    }
    if (errno == ERANGE) {
        return SK_ERANGE;
    }
    *out = v;
    return 0;
}

/* Splits "1.5m" into a number and a one-letter unit ('\0' when none). */
static int split_unit(const char *text, double *num, char *unit, bool *fraction)
{
    char *end;

    errno = 0;
    *num = strtod(text, &end);
    if (end == text || !isfinite(*num) || *num < 0 || errno == ERANGE) {
        return SK_EPARSE;
    }
    *fraction = memchr(text, '.', (size_t)(end - text)) != NULL ||
                memchr(text, 'e', (size_t)(end - text)) != NULL;
    *unit = (char)tolower((unsigned char)*end);
    if (*end != '\0' && end[1] != '\0') {
        /* Two-letter units: "ms" is milliseconds (td-agent reads it as minutes). */
        if (tolower((unsigned char)end[0]) == 'm' && tolower((unsigned char)end[1]) == 's' &&
            end[2] == '\0') {
            *unit = 'u';
            return 0;
        }
        /* Sizes written "64MB", "8KiB", "1gb": td-agent reads the first letter. */
        if (strchr("kmgt", *unit) != NULL &&
            (strcasecmp(end + 1, "b") == 0 || strcasecmp(end + 1, "ib") == 0)) {
            return 0;
        }
        return SK_EPARSE;
    }
    return 0;
}

int sk_param_parse_size(const char *text, uint64_t *out)
{
    double num;
    double mult = 1;
    char unit;
    bool fraction;

    if (split_unit(text, &num, &unit, &fraction) < 0) {
        return SK_EPARSE;
    }
    switch (unit) {
    case '\0':
        break;
    case 'k':
        mult = 1024.0;
        break;
    case 'm':
        mult = 1024.0 * 1024;
        break;
    case 'g':
        mult = 1024.0 * 1024 * 1024;
        break;
    case 't':
        mult = 1024.0 * 1024 * 1024 * 1024;
        break;
    default:
        return SK_EPARSE;
    }
    if (num * mult > 1.8e19) {
        return SK_ERANGE;
    }
    *out = (uint64_t)(num * mult);
    return 0;
}

int sk_param_parse_time_ms(const char *text, int64_t *out, const char **warning)
{
    double num;
    double mult;
    char unit;
    bool fraction;

    if (split_unit(text, &num, &unit, &fraction) < 0) {
        return SK_EPARSE;
    }
    switch (unit) {
    case '\0':
        mult = 1000.0;
        break;
    case 'u':
        mult = 1.0;
        if (warning != NULL) {
            *warning = "td-agent reads the unit 'ms' as minutes; skiff reads milliseconds";
        }
        break;
    case 's':
        mult = 1000.0;
        break;
    case 'm':
        mult = 60000.0;
        break;
    case 'h':
        mult = 3600000.0;
        break;
    case 'd':
        mult = 86400000.0;
        break;
    default:
        return SK_EPARSE;
    }
    if (fraction && unit != '\0' && warning != NULL) {
        *warning = "td-agent ignores the fraction before a unit (it reads 0.5s as 5s); "
                   "skiff reads the exact value";
    }
    if (num * mult > 9.2e18) {
        return SK_ERANGE;
    }
    *out = (int64_t)llround(num * mult);
    return 0;
}

void sk_strv_free(struct sk_strv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        sk_free(v->v[i]);
    }
    sk_free(v->v);
    v->v = NULL;
    v->n = 0;
}

void sk_kvv_free(struct sk_kvv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        sk_free(v->v[i].key);
        sk_free(v->v[i].value);
    }
    sk_free(v->v);
    v->v = NULL;
    v->n = 0;
}

static int strv_push(struct sk_strv *v, const char *s, size_t len)
{
    char **grown = sk_realloc(v->v, (v->n + 1) * sizeof(*grown));

    if (grown == NULL) {
        return SK_ENOMEM;
    }
    v->v = grown;
    v->v[v->n] = sk_strndup(s, len);
    if (v->v[v->n] == NULL) {
        return SK_ENOMEM;
    }
    v->n++;
    return 0;
}

static int kvv_push(struct sk_kvv *v, const char *k, size_t klen, const char *val, size_t vlen)
{
    struct sk_kv *grown = sk_realloc(v->v, (v->n + 1) * sizeof(*grown));

    if (grown == NULL) {
        return SK_ENOMEM;
    }
    v->v = grown;
    v->v[v->n].key = sk_strndup(k, klen);
    v->v[v->n].value = sk_strndup(val, vlen);
    v->n++;
    if (v->v[v->n - 1].key == NULL || v->v[v->n - 1].value == NULL) {
        return SK_ENOMEM;
    }
    return 0;
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && isspace((unsigned char)(*s)[*len - 1])) {
        (*len)--;
    }
}

/* A JSON scalar or container as text: strings unquoted, others as JSON. */
static int object_text(const msgpack_object *o, struct sk_buf *tmp, const char **s, size_t *len)
{
    int rc;

    if (o->type == MSGPACK_OBJECT_STR) {
        *s = o->via.str.ptr;
        *len = o->via.str.size;
        return 0;
    }
    sk_buf_reset(tmp);
    rc = sk_json_write_object(tmp, o);
    *s = tmp->data != NULL ? tmp->data : "";
    *len = tmp->len;
    return rc;
}

static int parse_json_container(const char *text, bool want_map, struct sk_strv *arr,
                                struct sk_kvv *hash)
{
    struct sk_buf scratch;
    struct sk_buf tmp;
    msgpack_unpacked up;
    const msgpack_object *o;
    const char *s;
    size_t len;
    int rc;

    sk_buf_init(&scratch, SK_PARAM_JSON_MAX);
    sk_buf_init(&tmp, SK_PARAM_JSON_MAX);
    msgpack_unpacked_init(&up);
    rc = sk_json_parse(text, strlen(text), &scratch, &up);
    if (rc < 0) {
        goto out;
    }
    o = &up.data;
    if (want_map != (o->type == MSGPACK_OBJECT_MAP) ||
        (!want_map && o->type != MSGPACK_OBJECT_ARRAY)) {
        rc = SK_EPARSE;
        goto out;
    }
    if (want_map) {
        for (uint32_t i = 0; i < o->via.map.size && rc == 0; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;

            if (k->type != MSGPACK_OBJECT_STR) {
                rc = SK_EPARSE;
                break;
            }
            rc = object_text(&o->via.map.ptr[i].val, &tmp, &s, &len);
            if (rc == 0) {
                rc = kvv_push(hash, k->via.str.ptr, k->via.str.size, s, len);
            }
        }
    } else {
        for (uint32_t i = 0; i < o->via.array.size && rc == 0; i++) {
            rc = object_text(&o->via.array.ptr[i], &tmp, &s, &len);
            if (rc == 0) {
                rc = strv_push(arr, s, len);
            }
        }
    }
out:
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);
    sk_buf_cleanup(&tmp);
    return rc;
}

int sk_param_parse_array(const char *text, struct sk_strv *out)
{
    const char *p = text;
    int rc = 0;

    out->v = NULL;
    out->n = 0;
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p == '[') {
        rc = parse_json_container(p, false, out, NULL);
    } else {
        /* Comma list: "a, b,c"; empty items are dropped as Fluentd does. */
        while (*p != '\0' && rc == 0) {
            const char *comma = strchr(p, ',');
            size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
            const char *item = p;

            trim(&item, &len);
            if (len > 0) {
                rc = strv_push(out, item, len);
            }
            p += comma != NULL ? (size_t)(comma - p) + 1 : strlen(p);
        }
    }
    if (rc < 0) {
        sk_strv_free(out);
    }
    return rc;
}

int sk_param_parse_hash(const char *text, struct sk_kvv *out)
{
    const char *p = text;
    int rc = 0;

    out->v = NULL;
    out->n = 0;
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p == '{') {
        rc = parse_json_container(p, true, NULL, out);
    } else {
        /* "k1:v1,k2:v2": the first ':' splits key from value. */
        while (*p != '\0' && rc == 0) {
            const char *comma = strchr(p, ',');
            size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
            const char *colon = memchr(p, ':', len);
            const char *k = p;
            const char *v;
            size_t klen;
            size_t vlen;

            if (colon == NULL) {
                const char *item = p;
                size_t ilen = len;

                trim(&item, &ilen);
                if (ilen > 0) {
                    rc = SK_EPARSE;
                }
            } else {
                klen = (size_t)(colon - p);
                v = colon + 1;
                vlen = len - klen - 1;
                trim(&k, &klen);
                trim(&v, &vlen);
                rc = kvv_push(out, k, klen, v, vlen);
            }
            p += comma != NULL ? len + 1 : len;
        }
    }
    if (rc < 0) {
        sk_kvv_free(out);
    }
    return rc;
}
