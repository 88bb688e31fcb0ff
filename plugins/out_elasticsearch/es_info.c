#include "out_elasticsearch/es_info.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "event/event.h"
#include "json/json.h"
#include "util/buf.h"

#define ES_INFO_SCRATCH_MAX (16u << 20)

static const msgpack_object *get(const msgpack_object *map, const char *key)
{
    return sk_map_get(map, key, strlen(key));
}

static bool str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);

    return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

static bool str_starts(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);

    return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size >= n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

int es_info_parse_version(const char *json, size_t len, struct es_version *out)
{
    struct sk_buf scratch;
    msgpack_unpacked tree;
    const msgpack_object *version;
    const msgpack_object *number;
    int rc = SK_EPARSE;
    size_t n;
    const char *p;

    memset(out, 0, sizeof(*out));
    sk_buf_init(&scratch, ES_INFO_SCRATCH_MAX);
    msgpack_unpacked_init(&tree);
    if (sk_json_parse(json, len, &scratch, &tree) < 0 || tree.data.type != MSGPACK_OBJECT_MAP) {
        goto out;
    }
    version = get(&tree.data, "version");
    number = version != NULL && version->type == MSGPACK_OBJECT_MAP ? get(version, "number") : NULL;
    if (number == NULL || number->type != MSGPACK_OBJECT_STR || number->via.str.size == 0 ||
        !isdigit((unsigned char)number->via.str.ptr[0])) {
        goto out;
    }
    n = number->via.str.size < sizeof(out->number) - 1 ? number->via.str.size
                                                        : sizeof(out->number) - 1;
    memcpy(out->number, number->via.str.ptr, n);
    out->number[n] = '\0';
    p = out->number;
    while (isdigit((unsigned char)*p) && out->major < 100000) {
        out->major = out->major * 10 + (*p++ - '0');
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p) && out->minor < 100000) {
            out->minor = out->minor * 10 + (*p++ - '0');
        }
    }
    out->opensearch = str_is(get(version, "distribution"), "opensearch") ||
                      str_starts(get(&tree.data, "tagline"), "The OpenSearch Project");
    rc = 0;
out:
    msgpack_unpacked_destroy(&tree);
    sk_buf_cleanup(&scratch);
    return rc;
}

void es_dialect_for(bool opensearch, int major, const char *type_name, bool suppress_type_name,
                    struct es_dialect *out)
{
    if (opensearch) {
        out->type_name = NULL;
        out->routing = "routing";
        return;
    }
    out->routing = major >= 7 ? "routing" : "_routing";
    if (major >= 8 || (major == 7 && suppress_type_name)) {
        out->type_name = NULL;
    } else if (major == 7) {
        out->type_name = "_doc";
    } else {
        out->type_name = type_name;
    }
}

static bool parse_port(const char *s, size_t len, int *port)
{
    long v = 0;

    if (len == 0 || len > 5) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535) {
        return false;
    }
    *port = (int)v;
    return true;
}

int es_sniff_parse_address(const char *text, size_t len, struct es_sniff_addr *out)
{
    const char *s = text;
    const char *end = text + len;
    const char *slash;
    const char *colon;
    const char *host;
    size_t hlen;

    /* ES 1.x: inet[name/ip:port] */
    if (len > 6 && memcmp(s, "inet[", 5) == 0 && end[-1] == ']') {
        s += 5;
        end--;
    }
    /* Port after the last ':'. */
    colon = NULL;
    for (const char *q = s; q < end; q++) {
        if (*q == ':') {
            colon = q;
        }
    }
    if (colon == NULL || !parse_port(colon + 1, (size_t)(end - colon - 1), &out->port)) {
        return SK_EINVAL;
    }
    slash = memchr(s, '/', (size_t)(colon - s));
    if (slash != NULL && slash > s) {
        host = s; /* "name/ip:port": the name, as the Ruby sniffer does */
        hlen = (size_t)(slash - s);
    } else if (slash != NULL) {
        host = slash + 1; /* "/ip:port" */
        hlen = (size_t)(colon - host);
    } else {
        host = s;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen + 3 > sizeof(out->host)) {
        return SK_EINVAL;
    }
    /* A bare IPv6 address before the port gets its brackets back. */
    if (host[0] != '[' && memchr(host, ':', hlen) != NULL) {
        snprintf(out->host, sizeof(out->host), "[%.*s]", (int)hlen, host);
    } else {
        memcpy(out->host, host, hlen);
        out->host[hlen] = '\0';
    }
    return 0;
}

int es_sniff_parse(const char *json, size_t len, struct es_sniff_addr *out, size_t max)
{
    struct sk_buf scratch;
    msgpack_unpacked tree;
    const msgpack_object *nodes;
    int found = SK_EPARSE;

    sk_buf_init(&scratch, ES_INFO_SCRATCH_MAX);
    msgpack_unpacked_init(&tree);
    if (sk_json_parse(json, len, &scratch, &tree) < 0 || tree.data.type != MSGPACK_OBJECT_MAP) {
        goto out;
    }
    nodes = get(&tree.data, "nodes");
    if (nodes == NULL || nodes->type != MSGPACK_OBJECT_MAP) {
        goto out;
    }
    found = 0;
    for (uint32_t i = 0; i < nodes->via.map.size && (size_t)found < max; i++) {
        const msgpack_object *node = &nodes->via.map.ptr[i].val;
        const msgpack_object *http = node->type == MSGPACK_OBJECT_MAP ? get(node, "http") : NULL;
        const msgpack_object *pub;

        pub = http != NULL && http->type == MSGPACK_OBJECT_MAP ? get(http, "publish_address") : NULL;
        if (pub == NULL || pub->type != MSGPACK_OBJECT_STR) {
            continue;
        }
        if (es_sniff_parse_address(pub->via.str.ptr, pub->via.str.size, &out[found]) == 0) {
            found++;
        }
    }
out:
    msgpack_unpacked_destroy(&tree);
    sk_buf_cleanup(&scratch);
    return found;
}
