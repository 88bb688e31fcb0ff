#ifndef SK_OUT_ELASTICSEARCH_ES_INFO_H
#define SK_OUT_ELASTICSEARCH_ES_INFO_H

/*
 * What the server says about itself: `GET /` (product and version, which
 * decide the bulk dialect) and `GET /_nodes/http` (sniffing). Pure parsers.
 */
#include <stdbool.h>
#include <stddef.h>

#include "out_elasticsearch/es_pool.h"
#include "util/err.h"

struct es_version {
    bool opensearch; /* version.distribution "opensearch" or the OpenSearch tagline */
    int major;       /* leading integer of version.number */
    int minor;
    char number[32]; /* version.number as given ("7.10.2" in compatibility mode) */
};

/* Parses a `GET /` answer. Returns 0, SK_EPARSE (not JSON or no
 * version.number). */
int es_info_parse_version(const char *json, size_t len, struct es_version *out) SK_WUR;

/*
 * The bulk dialect fluent-plugin-elasticsearch derives from the major
 * version, which skiff follows byte for byte on Elasticsearch:
 *
 *   major   _type                                    routing key
 *   <= 6    type_name (default "fluentd")            "_routing"
 *   7       "_doc" (none with suppress_type_name)    "routing"
 *   >= 8    none                                     "routing"
 *
 * OpenSearch (any version, including the 7.10.2 compatibility mode) gets no
 * _type and "routing": OpenSearch 2 rejects _type, 1.x does not need it.
 */
struct es_dialect {
    const char *type_name; /* borrowed (from the argument or static); NULL: no _type */
    const char *routing;   /* static */
};

void es_dialect_for(bool opensearch, int major, const char *type_name, bool suppress_type_name,
                    struct es_dialect *out);

/*
 * Parses one `http.publish_address` value: "10.0.0.5:9200",
 * "es02.internal/10.0.0.6:9200" (the name before '/' is used, as the Ruby
 * client does), "[::1]:9200", "inet[/10.0.0.5:9200]",
 * "inet[es02/10.0.0.5:9200]". SK_EINVAL otherwise.
 */
int es_sniff_parse_address(const char *text, size_t len, struct es_sniff_addr *out) SK_WUR;

/*
 * Parses a `GET /_nodes/http` answer into at most `max` addresses. Nodes
 * without an `http` section (HTTP disabled, or Amazon's filtered answer)
 * are skipped, as are unreadable addresses. Returns the number found, or
 * SK_EPARSE for a body that is not such JSON.
 */
int es_sniff_parse(const char *json, size_t len, struct es_sniff_addr *out, size_t max) SK_WUR;

#endif
