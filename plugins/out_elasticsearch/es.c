/*
 * out_elasticsearch: the descriptor, the parameter table (fluent-plugin-
 * elasticsearch 5.x names, defaults and meanings) and the life cycle.
 * The work lives in es_flush.c (chunks -> _bulk), es_cluster.c (version,
 * sniffing), es_bulk.c (NDJSON), es_response.c (verdicts), es_pool.c
 * (endpoints), es_index.c (index names).
 */
#include "out_elasticsearch/es.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "http/http_url.h"
#include "loop/loop.h"
#include "out_elasticsearch/es_auth.h"
#include "out_elasticsearch/es_setup.h"
#include "timefmt/timefmt.h"
#include "util/alloc.h"

#define ES_DEFAULT_LIMIT (20u << 20)
#define ES_DEFAULT_RELOAD_AFTER 10000
#define OFF(f) offsetof(struct es_conf, f)

static const char *const schemes[] = {"http", "https", NULL};
static const char *const content_types[] = {"application/json", "application/x-ndjson", NULL};
static const char *const compression_levels[] = {"no_compression", "best_speed",
                                                 "best_compression", "default_compression", NULL};
static const char *const tls_versions[] = {"SSLv23", "TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3", NULL};
static const char *const write_ops[] = {"index", "create", "update", "upsert", NULL};
static const char *const lifecycle_apis[] = {"auto", "ilm", "ism", "opendistro_ism", NULL};

/* clang-format off */
const struct sk_param_def es_params[] = {
    /* Where to send. */
    {.name = "host", .type = SK_PARAM_STRING, .def = "localhost", .offset = OFF(host),
     .desc = "Elasticsearch host (ignored when hosts or cloud_id is given)."},
    {.name = "port", .type = SK_PARAM_INT, .def = "9200", .min = "1", .max = "65535",
     .offset = OFF(port), .desc = "Port for host, and for hosts entries without one."},
    {.name = "scheme", .type = SK_PARAM_ENUM, .def = "http", .choices = schemes,
     .offset = OFF(scheme), .desc = "http or https."},
    {.name = "path", .type = SK_PARAM_STRING, .offset = OFF(path),
     .desc = "URL path prefix in front of the API (behind a reverse proxy)."},
    {.name = "hosts", .type = SK_PARAM_STRING, .offset = OFF(hosts),
     .desc = "Comma list of host:port or URLs (https://user:pass@host:port/path)."},
    {.name = "user", .type = SK_PARAM_STRING, .offset = OFF(user),
     .desc = "Basic auth user (%{...} keeps special characters as written)."},
    {.name = "password", .type = SK_PARAM_STRING, .flags = SK_PARAM_SECRET, .offset = OFF(password),
     .desc = "Basic auth password."},
    {.name = "cloud_id", .type = SK_PARAM_STRING, .offset = OFF(cloud_id),
     .desc = "Elastic Cloud id; replaces host/hosts (needs cloud_auth)."},
    {.name = "cloud_auth", .type = SK_PARAM_STRING, .flags = SK_PARAM_SECRET,
     .offset = OFF(cloud_auth), .desc = "Elastic Cloud user:password."},
    {.name = "api_key", .type = SK_PARAM_STRING, .flags = SK_PARAM_SECRET, .offset = OFF(api_key),
     .desc = "API key \"id:key\", sent as Authorization: ApiKey base64(id:key)."},
    {.name = "proxy", .type = SK_PARAM_STRING, .offset = OFF(proxy),
     .desc = "HTTP(S) proxy URL; unset: HTTPS_PROXY/HTTP_PROXY/NO_PROXY; \"\": none."},
    {.name = "custom_headers", .type = SK_PARAM_HASH, .def = "{}", .offset = OFF(custom_headers),
     .desc = "Extra request headers, e.g. {\"token\":\"secret\"}."},
    {.name = "content_type", .type = SK_PARAM_ENUM, .def = "application/json",
     .choices = content_types, .offset = OFF(content_type),
     .desc = "Content-Type of _bulk requests."},
    {.name = "compression_level", .type = SK_PARAM_ENUM, .def = "no_compression",
     .choices = compression_levels, .offset = OFF(compression_level),
     .desc = "gzip request bodies (Content-Encoding: gzip) at this level."},
    /* Fluentd's default is 20MB. skiff starts where Elastic's sizing advice
     * starts (~5 MB), under the 10 MiB payload limit of small Amazon
     * instance types, and with a quarter of the memory per flush. */
    {.name = "bulk_message_request_threshold", .type = SK_PARAM_STRING, .def = "5MB",
     .offset = OFF(bulk_message_request_threshold),
     .desc = "Split chunks into _bulk requests of at most this size (negative: no split)."},
    {.name = "request_timeout", .type = SK_PARAM_TIME, .def = "5s", .min = "1ms",
     .offset = OFF(request_timeout_ms), .desc = "Timeout of each HTTP request."},
    /* TLS. */
    {.name = "ssl_verify", .type = SK_PARAM_BOOL, .def = "true", .offset = OFF(ssl_verify),
     .desc = "Verify the server certificate and host name."},
    {.name = "ca_file", .type = SK_PARAM_STRING, .offset = OFF(ca_file),
     .desc = "CA bundle to verify the server with (default: system store)."},
    {.name = "client_cert", .type = SK_PARAM_STRING, .offset = OFF(client_cert),
     .desc = "Client certificate (PEM)."},
    {.name = "client_key", .type = SK_PARAM_STRING, .offset = OFF(client_key),
     .desc = "Client private key (PEM)."},
    {.name = "client_key_pass", .type = SK_PARAM_STRING, .flags = SK_PARAM_SECRET,
     .offset = OFF(client_key_pass), .desc = "Passphrase of client_key."},
    {.name = "ssl_version", .type = SK_PARAM_ENUM, .def = "TLSv1_2", .choices = tls_versions,
     .offset = OFF(ssl_version),
     .desc = "Kept for compatibility: without ssl_min_version the minimum is TLSv1_2."},
    {.name = "ssl_min_version", .type = SK_PARAM_ENUM, .choices = tls_versions,
     .offset = OFF(ssl_min_version), .desc = "Minimum TLS version (with ssl_max_version)."},
    {.name = "ssl_max_version", .type = SK_PARAM_ENUM, .choices = tls_versions,
     .offset = OFF(ssl_max_version), .desc = "Maximum TLS version (with ssl_min_version)."},
    /* Connection pool. */
    {.name = "reload_connections", .type = SK_PARAM_BOOL, .def = "true",
     .offset = OFF(reload_connections),
     .desc = "Sniff _nodes/http every reload_after requests (never shrinks a working pool)."},
    {.name = "reload_on_failure", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(reload_on_failure), .desc = "Sniff _nodes/http after a failed request."},
    {.name = "reload_after", .type = SK_PARAM_INT, .def = "-1", .offset = OFF(reload_after),
     .desc = "Requests between sniffs (-1: 10000)."},
    {.name = "resurrect_after", .type = SK_PARAM_TIME, .def = "60s", .min = "0",
     .offset = OFF(resurrect_after_ms), .desc = "How long a failed connection rests before a retry."},
    {.name = "reconnect_on_error", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(reconnect_on_error),
     .desc = "After a failed request, the next one opens a new connection."},
    {.name = "sniffer_class_name", .type = SK_PARAM_STRING, .offset = OFF(sniffer_class_name),
     .desc = "Fluent::Plugin::ElasticsearchSimpleSniffer turns sniffing off; others are ignored."},
    /* Server version. */
    {.name = "verify_es_version_at_startup", .type = SK_PARAM_BOOL, .def = "true",
     .offset = OFF(verify_es_version_at_startup), .desc = "Ask GET / for the version first."},
    {.name = "default_elasticsearch_version", .type = SK_PARAM_INT, .def = "5", .min = "1",
     .offset = OFF(default_elasticsearch_version),
     .desc = "Major version assumed without verify_es_version_at_startup."},
    {.name = "max_retry_get_es_version", .type = SK_PARAM_INT, .def = "15", .min = "0",
     .offset = OFF(max_retry_get_es_version), .desc = "Version detection attempts."},
    {.name = "fail_on_detecting_es_version_retry_exceed", .type = SK_PARAM_BOOL, .def = "true",
     .offset = OFF(fail_on_detecting_es_version_retry_exceed),
     .desc = "false: fall back to default_elasticsearch_version after the attempts."},
    {.name = "type_name", .type = SK_PARAM_STRING, .def = "fluentd", .offset = OFF(type_name),
     .desc = "_type for Elasticsearch <= 6 (7: _doc, 8+: none)."},
    {.name = "suppress_type_name", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(suppress_type_name), .desc = "Send no _type to Elasticsearch 7."},
    /* Index. */
    {.name = "logstash_format", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(logstash_format), .desc = "Daily indices <prefix>-<date> and @timestamp."},
    {.name = "logstash_prefix", .type = SK_PARAM_STRING, .def = "logstash",
     .offset = OFF(logstash_prefix), .desc = "Index prefix with logstash_format."},
    {.name = "logstash_prefix_separator", .type = SK_PARAM_STRING, .def = "-",
     .offset = OFF(logstash_prefix_separator), .desc = "Between prefix and date."},
    {.name = "logstash_dateformat", .type = SK_PARAM_STRING, .def = "%Y.%m.%d",
     .offset = OFF(logstash_dateformat), .desc = "strftime format of the index date."},
    {.name = "utc_index", .type = SK_PARAM_BOOL, .def = "true", .offset = OFF(utc_index),
     .desc = "Index date in UTC (false: in the time's own zone)."},
    {.name = "index_name", .type = SK_PARAM_STRING, .def = "fluentd", .offset = OFF(index_name),
     .desc = "Index without logstash_format (${tag}, ${tag[N]}, ${key}, strftime)."},
    {.name = "target_index_key", .type = SK_PARAM_STRING, .offset = OFF(target_index_key),
     .desc = "Record key (a.b for nested) naming the index; removed from the record."},
    {.name = "target_type_key", .type = SK_PARAM_STRING, .flags = SK_PARAM_DEPRECATED,
     .offset = OFF(target_type_key),
     .desc = "Elasticsearch 7+ ignores types; the key is only removed from the record."},
    {.name = "include_index_in_url", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(include_index_in_url), .desc = "Put the index in the URL (not supported yet)."},
    /* Record. */
    {.name = "time_key", .type = SK_PARAM_STRING, .offset = OFF(time_key),
     .desc = "Record key holding the time for @timestamp and the index date."},
    {.name = "time_key_format", .type = SK_PARAM_STRING, .offset = OFF(time_key_format),
     .desc = "strptime format of time_key / @timestamp values (default: ISO 8601 and kin)."},
    {.name = "time_key_exclude_timestamp", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(time_key_exclude_timestamp), .desc = "Do not copy time_key to @timestamp."},
    {.name = "time_precision", .type = SK_PARAM_INT, .def = "9", .min = "0", .max = "9",
     .offset = OFF(time_precision), .desc = "Fraction digits of @timestamp."},
    {.name = "include_timestamp", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(include_timestamp), .desc = "Add @timestamp without logstash_format."},
    {.name = "include_tag_key", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(include_tag_key), .desc = "Add the tag to the record under tag_key."},
    {.name = "tag_key", .type = SK_PARAM_STRING, .def = "tag", .offset = OFF(tag_key),
     .desc = "Record key for include_tag_key."},
    {.name = "id_key", .type = SK_PARAM_STRING, .offset = OFF(id_key),
     .desc = "Record key ($.a.b for nested) used as _id."},
    {.name = "parent_key", .type = SK_PARAM_STRING, .offset = OFF(parent_key),
     .desc = "Record key used as _parent."},
    {.name = "routing_key", .type = SK_PARAM_STRING, .offset = OFF(routing_key),
     .desc = "Record key used as routing."},
    {.name = "remove_keys", .type = SK_PARAM_STRING, .offset = OFF(remove_keys),
     .desc = "Comma list of record keys not sent."},
    {.name = "remove_keys_on_update", .type = SK_PARAM_STRING, .def = "",
     .offset = OFF(remove_keys_on_update), .desc = "Keys left out of update/upsert docs."},
    {.name = "remove_keys_on_update_key", .type = SK_PARAM_STRING,
     .offset = OFF(remove_keys_on_update_key),
     .desc = "Record key holding the list of keys left out of update docs."},
    {.name = "write_operation", .type = SK_PARAM_ENUM, .def = "index", .choices = write_ops,
     .offset = OFF(write_operation), .desc = "index, create, update or upsert."},
    {.name = "pipeline", .type = SK_PARAM_STRING, .offset = OFF(pipeline),
     .desc = "Ingest pipeline for every document."},
    {.name = "emit_error_for_missing_id", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(emit_error_for_missing_id),
     .desc = "Send records without _id (create/update/upsert) to @ERROR instead of dropping."},
    {.name = "suppress_doc_wrap", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(suppress_doc_wrap), .desc = "Send update bodies without {\"doc\":...}."},
    {.name = "flatten_hashes", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(flatten_hashes), .desc = "Flatten nested maps (not supported yet)."},
    {.name = "flatten_hashes_separator", .type = SK_PARAM_STRING, .def = "_",
     .offset = OFF(flatten_hashes_separator), .desc = "Separator for flatten_hashes."},
    {.name = "unrecoverable_error_types", .type = SK_PARAM_ARRAY, .def = "[\"out_of_memory_error\"]",
     .offset = OFF(unrecoverable_error_types),
     .desc = "Item error types sent to @ERROR without retry."},
    /* Index management: templates, ILM/ISM, rollover aliases, data streams (es_setup.h). */
    {.name = "template_name", .type = SK_PARAM_STRING, .offset = OFF(template_name),
     .desc = "Name of the index template installed from template_file."},
    {.name = "template_file", .type = SK_PARAM_STRING, .offset = OFF(template_file),
     .desc = "JSON file of the index template (legacy or composable)."},
    {.name = "template_overwrite", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(template_overwrite), .desc = "Replace existing templates (once per run)."},
    {.name = "customize_template", .type = SK_PARAM_HASH, .offset = OFF(customize_template),
     .desc = "template_file strings replaced by values (lower-cased): {\"<<T>>\":\"${tag}\"}."},
    {.name = "templates", .type = SK_PARAM_HASH, .offset = OFF(templates),
     .desc = "More templates to install at start: {\"name\":\"/path/file.json\"}."},
    {.name = "max_retry_putting_template", .type = SK_PARAM_INT, .def = "10", .min = "0",
     .offset = OFF(max_retry_putting_template), .desc = "Attempts at a policy or template step."},
    {.name = "fail_on_putting_template_retry_exceed", .type = SK_PARAM_BOOL, .def = "true",
     .offset = OFF(fail_on_putting_template_retry_exceed),
     .desc = "true: events wait until the template/policy is in; false: go on without it."},
    {.name = "use_legacy_template", .type = SK_PARAM_BOOL, .offset = OFF(use_legacy_template),
     .desc = "_template (true) or _index_template (false); unset: from the template and server."},
    {.name = "rollover_index", .type = SK_PARAM_BOOL, .def = "false", .offset = OFF(rollover_index),
     .desc = "Write through a rollover alias with a bootstrapped first index."},
    /* No table default: "" must stay "" (none), which the engine keeps only
     * for strings without one; unset means now/d (es_setup_chunk.c). */
    {.name = "index_date_pattern", .type = SK_PARAM_STRING, .offset = OFF(index_date_pattern),
     .desc = "Date math of the first index's name: unset now/d, \"\" none."},
    {.name = "index_separator", .type = SK_PARAM_STRING, .def = "-", .offset = OFF(index_separator),
     .desc = "Between the index prefix and the application name / pattern."},
    {.name = "deflector_alias", .type = SK_PARAM_STRING, .offset = OFF(deflector_alias),
     .desc = "Rollover alias name with rollover_index (default: index_name)."},
    {.name = "index_prefix", .type = SK_PARAM_STRING, .flags = SK_PARAM_DEPRECATED,
     .offset = OFF(index_prefix),
     .desc = "Old name of the rollover index prefix: use index_name / logstash_prefix."},
    {.name = "application_name", .type = SK_PARAM_STRING, .def = "default",
     .offset = OFF(application_name), .desc = "Part of the rollover index names."},
    {.name = "enable_ilm", .type = SK_PARAM_BOOL, .def = "false", .offset = OFF(enable_ilm),
     .desc = "Lifecycle policy (ILM, or ISM on OpenSearch), template and rollover alias."},
    {.name = "ilm_policy_id", .type = SK_PARAM_STRING, .def = "logstash-policy",
     .offset = OFF(ilm_policy_id), .desc = "Name of the lifecycle policy."},
    {.name = "ilm_policy", .type = SK_PARAM_HASH, .def = "{}", .offset = OFF(ilm_policy),
     .desc = "The policy as JSON (ILM, or ISM form; default: rollover 50gb/30d)."},
    {.name = "ilm_policies", .type = SK_PARAM_HASH, .def = "{}", .offset = OFF(ilm_policies),
     .desc = "Policies by id: {\"id\":{...policy...}}."},
    {.name = "ilm_policy_overwrite", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(ilm_policy_overwrite), .desc = "Replace an existing policy (once per run)."},
    {.name = "lifecycle_api", .type = SK_PARAM_ENUM, .def = "auto", .choices = lifecycle_apis,
     .offset = OFF(lifecycle_api),
     .desc = "auto (from GET /), ilm, ism (_plugins) or opendistro_ism (Amazon ES 7)."},
    {.name = "data_stream_name", .type = SK_PARAM_STRING, .offset = OFF(data_stream_name),
     .desc = "elasticsearch_data_stream: the data stream (placeholders allowed)."},
    {.name = "data_stream_template_name", .type = SK_PARAM_STRING,
     .offset = OFF(data_stream_template_name), .desc = "Its template (default <name>_template)."},
    {.name = "data_stream_ilm_name", .type = SK_PARAM_STRING, .offset = OFF(data_stream_ilm_name),
     .desc = "Its lifecycle policy (default <name>_policy)."},
    {.name = "data_stream_ilm_policy", .type = SK_PARAM_STRING,
     .offset = OFF(data_stream_ilm_policy), .desc = "That policy as JSON."},
    {.name = "data_stream_ilm_policy_overwrite", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(data_stream_ilm_policy_overwrite), .desc = "Replace an existing policy."},
    {.name = "data_stream_template_use_index_patterns_wildcard", .type = SK_PARAM_BOOL,
     .def = "true", .offset = OFF(data_stream_template_use_index_patterns_wildcard),
     .desc = "Template pattern <name>* (false: <name>)."},
    /* Fluentd knobs with no meaning here. */
    {.name = "time_parse_error_tag", .type = SK_PARAM_STRING, .flags = SK_PARAM_IGNORED, .offset = OFF(ign_time_parse_error_tag),
     .desc = "Unreadable times are logged and counted; the event time is used."},
    {.name = "log_es_400_reason", .type = SK_PARAM_BOOL, .flags = SK_PARAM_IGNORED, .offset = OFF(ign_log_es_400_reason),
     .desc = "Rejection reasons are always logged."},
    {.name = "with_transporter_log", .type = SK_PARAM_BOOL, .flags = SK_PARAM_IGNORED, .offset = OFF(ign_with_transporter_log),
     .desc = "Ruby transport logging."},
    {.name = "http_backend", .type = SK_PARAM_STRING, .flags = SK_PARAM_IGNORED, .offset = OFF(ign_http_backend),
     .desc = "Ruby HTTP backend (skiff has its own HTTP client)."},
    {.name = "http_backend_excon_nonblock", .type = SK_PARAM_BOOL, .flags = SK_PARAM_IGNORED, .offset = OFF(ign_http_backend_excon_nonblock),
     .desc = "Ruby HTTP backend option."},
    {.name = "prefer_oj_serializer", .type = SK_PARAM_BOOL, .flags = SK_PARAM_IGNORED, .offset = OFF(ign_prefer_oj_serializer),
     .desc = "Ruby JSON library choice."},
    {.name = "validate_client_version", .type = SK_PARAM_BOOL, .flags = SK_PARAM_IGNORED, .offset = OFF(ign_validate_client_version),
     .desc = "Ruby client library check."},
    {.name = "selector_class_name", .type = SK_PARAM_STRING, .flags = SK_PARAM_IGNORED, .offset = OFF(ign_selector_class_name),
     .desc = "Ruby selector class: skiff always picks round-robin over live connections."},
    {.name = "retry_tag", .type = SK_PARAM_STRING, .flags = SK_PARAM_IGNORED, .offset = OFF(ign_retry_tag),
     .desc = "Failed items are retried from the buffer, not re-emitted."},
    {.name = "ignore_exceptions", .type = SK_PARAM_STRING, .flags = SK_PARAM_IGNORED, .offset = OFF(ign_ignore_exceptions),
     .desc = "Ruby exception classes."},
    {.name = "exception_backup", .type = SK_PARAM_BOOL, .flags = SK_PARAM_IGNORED, .offset = OFF(ign_exception_backup),
     .desc = "Ruby exception handling."},
    {.name = "catch_transport_exception_on_retry", .type = SK_PARAM_BOOL, .flags = SK_PARAM_IGNORED, .offset = OFF(ign_catch_transport_exception_on_retry),
     .desc = "Ruby exception handling."},
    SK_PARAM_END,
};
/* clang-format on */

/* Fluentd options this output does not implement yet: present in a
 * configuration, they would change where or how documents go. */
static const char *const not_yet[] = {
    "target_index_affinity", NULL,
};

/* --- helpers ------------------------------------------------------------------- */

static void diag_err(struct sk_instance *ins, struct sk_diag *d, const char *fmt, const char *a,
                     const char *b) SK_PRINTF(3, 0);

static void diag_err(struct sk_instance *ins, struct sk_diag *d, const char *fmt, const char *a,
                     const char *b)
{
    char where[256];
    char msg[512];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(msg, sizeof(msg), fmt, a != NULL ? a : "", b != NULL ? b : "");
#pragma GCC diagnostic pop
    sk_diag_add(d, SK_DIAG_ERROR, ins->section->file, ins->section->line,
                sk_instance_where(ins, where, sizeof(where)), "%s", msg);
}

static void diag_warn(struct sk_instance *ins, struct sk_diag *d, const char *msg)
{
    char where[256];

    sk_diag_add(d, SK_DIAG_WARN, ins->section->file, ins->section->line,
                sk_instance_where(ins, where, sizeof(where)), "%s", msg);
}

/* "%{raw}" -> raw; anything else as written. Returns a borrowed pointer or
 * NULL (storage in `buf`). */
static const char *unwrap(const char *s, char *buf, size_t size)
{
    size_t n;

    if (s == NULL) {
        return NULL;
    }
    n = strlen(s);
    if (n >= 3 && s[0] == '%' && s[1] == '{' && s[n - 1] == '}' && n - 3 < size) {
        memcpy(buf, s + 2, n - 3);
        buf[n - 3] = '\0';
        return buf;
    }
    return s;
}

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with padding, for the caller to sk_free; NULL on ENOMEM. */
static char *base64(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    char *out = sk_malloc(4 * ((n + 2) / 3) + 1);
    size_t o = 0;

    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)u[i] << 16 | (i + 1 < n ? (uint32_t)u[i + 1] << 8 : 0) |
                     (i + 2 < n ? u[i + 2] : 0);

        out[o++] = b64_chars[v >> 18 & 63];
        out[o++] = b64_chars[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64_chars[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64_chars[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

/* Decodes base64 (padding optional) into out; returns the length or -1. */
static int unbase64(const char *s, unsigned char *out, size_t size)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    for (; *s != '\0' && *s != '='; s++) {
        const char *p = strchr(b64_chars, *s);

        if (p == NULL || *s == '\0') {
            return -1;
        }
        acc = acc << 6 | (uint32_t)(p - b64_chars);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= size) {
                return -1;
            }
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    return (int)o;
}

/* Splits `list` at commas (trimming blanks) into keys pointing into a copy
 * appended to *storage. */
static int split_keys(const char *list, struct es_key **out, size_t *n)
{
    char *copy;
    size_t cap = 1;
    char *s;

    *out = NULL;
    *n = 0;
    if (list == NULL || *list == '\0') {
        return 0;
    }
    for (const char *p = list; *p; p++) {
        cap += *p == ',';
    }
    /* One allocation: the array, then the text. */
    *out = sk_malloc(cap * sizeof(**out) + strlen(list) + 1);
    if (*out == NULL) {
        return SK_ENOMEM;
    }
    copy = (char *)(*out + cap);
    memcpy(copy, list, strlen(list) + 1);
    for (s = copy; *s != '\0';) {
        size_t len = strcspn(s, ",");
        char *k = s;
        char *e = s + len;

        s = *e != '\0' ? e + 1 : e;
        while (k < e && isspace((unsigned char)*k)) {
            k++;
        }
        while (e > k && isspace((unsigned char)e[-1])) {
            e--;
        }
        if (e > k) {
            (*out)[*n].p = k;
            (*out)[(*n)++].n = (size_t)(e - k);
        }
    }
    return 0;
}

static int port_of(const char *s)
{
    long v = 0;

    for (; *s >= '0' && *s <= '9' && v < 65536; s++) {
        v = v * 10 + (*s - '0');
    }
    return *s == '\0' && v >= 1 && v <= 65535 ? (int)v : -1;
}

/* Elastic Cloud id: "<name>:<base64 of host$es_id$kibana_id>". */
static int add_cloud_host(struct es_ctx *es, const char *cloud_id)
{
    const char *colon = strchr(cloud_id, ':');
    const char *b64 = colon != NULL ? colon + 1 : cloud_id;
    unsigned char dec[1024];
    char host[2200];
    char *dollar;
    char *port;
    int n;

    n = unbase64(b64, dec, sizeof(dec) - 1);
    if (n <= 0) {
        return SK_EINVAL;
    }
    dec[n] = '\0';
    dollar = strchr((char *)dec, '$');
    if (dollar == NULL || dollar[1] == '\0') {
        return SK_EINVAL;
    }
    *dollar = '\0';
    {
        char *end = strchr(dollar + 1, '$');

        if (end != NULL) {
            *end = '\0';
        }
    }
    port = strchr((char *)dec, ':');
    if (port != NULL) {
        *port++ = '\0';
    }
    if (port != NULL && port_of(port) < 0) {
        return SK_EINVAL;
    }
    if (strlen(dollar + 1) + strlen((char *)dec) + 2 > sizeof(host)) {
        return SK_EINVAL;
    }
    memcpy(host, dollar + 1, strlen(dollar + 1));
    host[strlen(dollar + 1)] = '.';
    memcpy(host + strlen(dollar + 1) + 1, dec, strlen((char *)dec) + 1);
    if (es_pool_add(&es->pool, "https", host, port != NULL ? port_of(port) : 443, NULL, es->user,
                    es->password, true) == NULL) {
        return SK_ENOMEM;
    }
    return 0;
}

/* --- init ------------------------------------------------------------------------ */

static int setup_credentials(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d)
{
    const struct es_conf *c = es->conf;
    char user_raw[256];
    char pass_raw[256];

    if (c->user != NULL && c->password == NULL && c->cloud_auth == NULL) {
        diag_err(ins, d, "`password` must be present if `user` is present%s%s", NULL, NULL);
        return SK_ECONFIG;
    }
    if (c->cloud_id != NULL && c->cloud_auth == NULL) {
        diag_err(ins, d, "`cloud_auth` must be present if `cloud_id` is present%s%s", NULL, NULL);
        return SK_ECONFIG;
    }
    if (c->cloud_auth != NULL) {
        const char *colon = strchr(c->cloud_auth, ':');

        es->cloud_user = sk_strndup(c->cloud_auth,
                                    colon != NULL ? (size_t)(colon - c->cloud_auth)
                                                  : strlen(c->cloud_auth));
        es->cloud_password = sk_strdup(colon != NULL ? colon + 1 : "");
        if (es->cloud_user == NULL || es->cloud_password == NULL) {
            return SK_ENOMEM;
        }
        es->user = es->cloud_user;
        es->password = es->cloud_password;
    } else {
        const char *u = unwrap(c->user, user_raw, sizeof(user_raw));
        const char *p = unwrap(c->password, pass_raw, sizeof(pass_raw));

        /* Keep unwrapped copies: the stack buffers die with this call. */
        es->cloud_user = u != NULL ? sk_strdup(u) : NULL;
        es->cloud_password = p != NULL ? sk_strdup(p) : NULL;
        if ((u != NULL && es->cloud_user == NULL) || (p != NULL && es->cloud_password == NULL)) {
            return SK_ENOMEM;
        }
        es->user = es->cloud_user;
        es->password = es->cloud_password;
    }
    if (c->api_key != NULL) {
        char *b64 = base64(c->api_key);
        size_t n;

        if (b64 == NULL) {
            return SK_ENOMEM;
        }
        n = strlen(b64) + 8;
        es->auth_header = sk_malloc(n);
        if (es->auth_header != NULL) {
            snprintf(es->auth_header, n, "ApiKey %s", b64);
        }
        sk_free(b64);
        if (es->auth_header == NULL) {
            return SK_ENOMEM;
        }
    }
    return 0;
}

static int setup_hosts(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d)
{
    const struct es_conf *c = es->conf;
    const char *scheme = schemes[c->scheme];
    char bad[256] = "";
    int rc;

    if (c->cloud_id != NULL) {
        rc = add_cloud_host(es, c->cloud_id);
        if (rc == SK_EINVAL) {
            diag_err(ins, d, "cloud_id '%s' cannot be decoded%s", c->cloud_id, NULL);
            return SK_ECONFIG;
        }
        return rc;
    }
    rc = es_pool_add_hosts(&es->pool, c->hosts != NULL ? c->hosts : c->host, scheme, (int)c->port,
                           c->path, es->user, es->password, bad, sizeof(bad));
    if (rc == SK_EINVAL) {
        diag_err(ins, d, "invalid %s entry '%s'", c->hosts != NULL ? "hosts" : "host", bad);
        return SK_ECONFIG;
    }
    return rc;
}

static int tls_level(int choice)
{
    /* SSLv23 means "negotiate": no floor beyond the library's own. */
    static const int levels[] = {0, 10, 11, 12, 13};

    return levels[choice];
}

static int setup_tls(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d)
{
    const struct es_conf *c = es->conf;
    bool has_min = sk_conf_get(ins->section, "ssl_min_version") != NULL;
    bool has_max = sk_conf_get(ins->section, "ssl_max_version") != NULL;

    if (has_min != has_max) {
        diag_err(ins, d, "When you set '%s', must set '%s' together.",
                 has_min ? "ssl_min_version" : "ssl_max_version",
                 has_min ? "ssl_max_version" : "ssl_min_version");
        return SK_ECONFIG;
    }
    es->tls.verify = c->ssl_verify;
    es->tls.ca_file = c->ca_file;
    es->tls.client_cert = c->client_cert;
    es->tls.client_key = c->client_key;
    es->tls.client_key_pass = c->client_key_pass;
    /* As fluent-plugin-elasticsearch on a modern Ruby: TLS 1.2 minimum
     * unless ssl_min_version says otherwise. */
    es->tls.min_version = has_min ? tls_level(c->ssl_min_version) : 12;
    return 0;
}

static int setup_headers(struct es_ctx *es)
{
    const struct es_conf *c = es->conf;
    size_t n = 1 + c->custom_headers.n + (es->auth_header != NULL);

    es->headers = sk_calloc(n, sizeof(*es->headers));
    if (es->headers == NULL) {
        return SK_ENOMEM;
    }
    es->headers[es->nheaders].name = "Content-Type";
    es->headers[es->nheaders++].value = content_types[c->content_type];
    for (size_t i = 0; i < c->custom_headers.n; i++) {
        es->headers[es->nheaders].name = c->custom_headers.v[i].key;
        es->headers[es->nheaders++].value = c->custom_headers.v[i].value;
    }
    if (es->auth_header != NULL) {
        es->headers[es->nheaders].name = "Authorization";
        es->headers[es->nheaders++].value = es->auth_header;
    }
    return 0;
}

/* bulk_message_request_threshold: Fluentd's size syntax ("20MB" reads as
 * 20m, as its unanchored pattern does), negative = no splitting. */
static int parse_limit(const char *text, size_t *limit)
{
    char buf[64];
    size_t n;
    uint64_t v;

    if (text == NULL || *text == '-') {
        *limit = ES_BULK_BODY_MAX;
        return 0;
    }
    n = strlen(text);
    if (n == 0 || n >= sizeof(buf)) {
        return SK_EINVAL;
    }
    memcpy(buf, text, n + 1);
    if (n >= 2 && (buf[n - 1] == 'b' || buf[n - 1] == 'B') && isalpha((unsigned char)buf[n - 2])) {
        buf[n - 1] = '\0';
    }
    if (sk_param_parse_size(buf, &v) < 0 || v == 0) {
        return SK_EINVAL;
    }
    *limit = v < ES_BULK_BODY_MAX ? (size_t)v : ES_BULK_BODY_MAX;
    return 0;
}

static int parse_path_param(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d,
                            const char *name, const char *text, int slot,
                            const struct es_path **dst)
{
    int rc;

    *dst = NULL;
    if (text == NULL) {
        return 0;
    }
    rc = es_path_parse(text, true, &es->paths[slot]);
    if (rc == SK_EINVAL) {
        diag_err(ins, d, "invalid record key '%s' for %s", text, name);
        return SK_ECONFIG;
    }
    if (rc == 0) {
        *dst = &es->paths[slot];
    }
    return rc;
}

static int setup_record(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d)
{
    const struct es_conf *c = es->conf;
    struct es_bulk_conf *b = &es->bulk;
    int ferr = 0;
    int rc = 0;

    b->op = (enum es_write_op)c->write_operation;
    b->routing_name = "routing";
    rc = parse_path_param(es, ins, d, "id_key", c->id_key, 0, &b->id_key);
    if (rc == 0) {
        rc = parse_path_param(es, ins, d, "parent_key", c->parent_key, 1, &b->parent_key);
    }
    if (rc == 0) {
        rc = parse_path_param(es, ins, d, "routing_key", c->routing_key, 2, &b->routing_key);
    }
    if (rc == 0) {
        rc = parse_path_param(es, ins, d, "target_index_key", c->target_index_key, 3,
                              &b->target_index_key);
    }
    if (rc == 0) {
        rc = parse_path_param(es, ins, d, "target_type_key", c->target_type_key, 4,
                              &b->target_type_key);
    }
    if (rc == 0) {
        rc = split_keys(c->remove_keys, &es->remove_keys, &b->nremove_keys);
    }
    if (rc == 0) {
        rc = split_keys(c->remove_keys_on_update, &es->remove_keys_on_update,
                        &b->nremove_keys_on_update);
    }
    if (rc < 0) {
        return rc;
    }
    b->remove_keys = es->remove_keys;
    b->remove_keys_on_update = es->remove_keys_on_update;
    b->remove_keys_on_update_key = c->remove_keys_on_update_key;
    b->include_tag_key = c->include_tag_key;
    b->tag_key = c->tag_key;
    b->suppress_doc_wrap = c->suppress_doc_wrap;
    b->emit_error_for_missing_id = c->emit_error_for_missing_id;
    b->add_timestamp = c->logstash_format || c->include_timestamp;
    b->time_key = c->time_key;
    b->time_key_exclude_timestamp = c->time_key_exclude_timestamp;
    b->time_precision = (int)c->time_precision;
    if (c->time_key_format != NULL) {
        es->time_key_format = sk_timefmt_create(c->time_key_format, NULL, &ferr);
        if (es->time_key_format == NULL) {
            if (ferr == SK_ENOMEM) {
                return SK_ENOMEM;
            }
            diag_err(ins, d, "time_key_format '%s' is not a supported format%s", c->time_key_format,
                     NULL);
            return SK_ECONFIG;
        }
        b->time_key_format = es->time_key_format;
        b->time_key_format_has_zone = strstr(c->time_key_format, "%z") != NULL;
    }
    return 0;
}

static int setup_index(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d)
{
    const struct es_conf *c = es->conf;
    struct es_index probe;
    char err[256] = "";
    int rc;

    es->index_conf.logstash_format = c->logstash_format;
    es->index_conf.logstash_prefix = c->logstash_prefix;
    es->index_conf.logstash_prefix_separator = c->logstash_prefix_separator;
    es->index_conf.logstash_dateformat = c->logstash_dateformat;
    es->index_conf.index_name = c->index_name;
    es->index_conf.utc_index = c->utc_index;
    rc = es_index_init(&probe, &es->index_conf, err, sizeof(err));
    es_index_cleanup(&probe);
    if (rc == SK_EINVAL) {
        diag_err(ins, d, "%s%s", err, NULL);
        return SK_ECONFIG;
    }
    if (rc == 0 && c->pipeline != NULL) {
        rc = es_tmpl_compile(c->pipeline, &es->pipeline);
        if (rc == SK_EINVAL) {
            diag_err(ins, d, "pipeline '%s': unterminated ${%s", c->pipeline, NULL);
            return SK_ECONFIG;
        }
    }
    return rc;
}

/* Settings that would silently change where documents go get an error or a
 * loud warning rather than being ignored. */
static int check_unsupported(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d)
{
    const struct es_conf *c = es->conf;
    char msg[256];

    if (c->flatten_hashes) {
        diag_err(ins, d, "flatten_hashes is not supported yet%s%s", NULL, NULL);
        return SK_ECONFIG;
    }
    if (c->include_index_in_url) {
        diag_err(ins, d, "include_index_in_url is not supported yet%s%s", NULL, NULL);
        return SK_ECONFIG;
    }
    for (size_t i = 0; not_yet[i] != NULL; i++) {
        struct sk_conf_param *p = sk_conf_find(ins->section, not_yet[i]);

        if (p != NULL) {
            snprintf(msg, sizeof(msg),
                     "'%s' is not implemented yet: documents go to the index computed from "
                     "index_name / logstash_format",
                     not_yet[i]);
            diag_warn(ins, d, msg);
            p->used = true; /* said here; no second "not used" warning */
        }
    }
    for (size_t i = 0; i < c->unrecoverable_error_types.n; i++) {
        if (strstr(c->unrecoverable_error_types.v[i], "rejected_execution_exception") != NULL) {
            diag_warn(ins, d,
                      "unrecoverable_error_types lists a rejected_execution_exception: documents "
                      "refused for back-pressure (429) go to @ERROR instead of being retried");
        }
    }
    if (c->ssl_max_version != 0 && sk_conf_get(ins->section, "ssl_max_version") != NULL) {
        diag_warn(ins, d, "ssl_max_version is not enforced: the TLS library's maximum applies");
    }
    return 0;
}

static void setup_dialect_defaults(struct es_ctx *es)
{
    const struct es_conf *c = es->conf;
    const char *simple = c->sniffer_class_name;

    es->reload_after = c->reload_connections
                           ? (c->reload_after > 0 ? c->reload_after : ES_DEFAULT_RELOAD_AFTER)
                           : 0;
    es->sniff_on_failure = c->reload_on_failure;
    if (simple != NULL && strstr(simple, "SimpleSniffer") != NULL) {
        /* The simple sniffer re-uses the configured hosts: no sniffing. */
        es->reload_after = 0;
        es->sniff_on_failure = false;
    }
    es->gzip_level = c->compression_level == 0 ? -1
                     : c->compression_level == 1 ? 1
                     : c->compression_level == 2 ? 9
                                                 : 6;
    es->reject_log = (struct sk_log_limit)SK_LOG_LIMIT_INIT(10000, 10);
    es->drop_log = (struct sk_log_limit)SK_LOG_LIMIT_INIT(10000, 5);
    es->time_log = (struct sk_log_limit)SK_LOG_LIMIT_INIT(10000, 5);
    es->fail_log = (struct sk_log_limit)SK_LOG_LIMIT_INIT(10000, 10);
    es->version_state = ES_VERSION_UNKNOWN;
    if (!c->verify_es_version_at_startup) {
        es_version_assume_default(es, NULL);
    }
}

static void es_destroy(struct sk_instance *ins);

/* A proxy the HTTP client cannot use fails now, not at every request. */
static int check_proxy(struct sk_instance *ins, struct sk_diag *d, const char *proxy)
{
    struct sk_url u;
    int rc;

    if (proxy == NULL || *proxy == '\0') {
        return 0;
    }
    rc = sk_url_parse_proxy(proxy, &u);
    if (rc == SK_EUNSUPPORTED) {
        diag_err(ins, d, "parameter 'proxy': only http:// proxies are supported%s%s", NULL, NULL);
    } else if (rc < 0) {
        diag_err(ins, d, "parameter 'proxy': not a proxy URL%s%s", NULL, NULL);
    }
    return rc < 0 ? SK_ECONFIG : 0;
}

static int es_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct es_ctx *es = sk_calloc(1, sizeof(*es));
    int rc;

    if (es == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = es;
    es->ins = ins;
    es->conf = ins->conf;
    es_pool_init(&es->pool, es->conf->resurrect_after_ms, es_pool_log, es);
    rc = check_unsupported(es, ins, d);
    if (rc == 0) {
        rc = setup_credentials(es, ins, d);
    }
    if (rc == 0) {
        rc = es_auth_create(es, ins, d); /* <endpoint>: SigV4, maybe the host */
    }
    if (rc == 0 && !es_auth_has_url(es)) {
        rc = setup_hosts(es, ins, d);
    }
    if (rc == 0) {
        rc = check_proxy(ins, d, es->conf->proxy);
    }
    if (rc == 0) {
        rc = setup_tls(es, ins, d);
    }
    if (rc == 0) {
        rc = setup_headers(es);
    }
    if (rc == 0) {
        rc = setup_record(es, ins, d);
    }
    if (rc == 0) {
        rc = setup_index(es, ins, d);
    }
    if (rc == 0) {
        rc = es_setup_create(es, ins, d); /* may redirect index_conf / bulk */
    }
    if (rc == 0 && parse_limit(es->conf->bulk_message_request_threshold, &es->limit) < 0) {
        diag_err(ins, d, "invalid bulk_message_request_threshold '%s' (expected a size)%s",
                 es->conf->bulk_message_request_threshold, NULL);
        rc = SK_ECONFIG;
    }
    if (rc == 0) {
        setup_dialect_defaults(es);
    }
    if (rc == SK_ENOMEM) {
        diag_err(ins, d, "out of memory%s%s", NULL, NULL);
    }
    if (rc < 0) {
        es_destroy(ins);
        return rc == SK_ENOMEM ? SK_ENOMEM : SK_ECONFIG;
    }
    return 0;
}

/* Sockets: flush_thread_count requests per host, plus sniffing/probes. */
static long max_connections(const struct es_ctx *es)
{
    const char *threads = sk_conf_get(es->ins->section, "num_threads");
    int64_t n = 1;

    for (size_t i = 0; i < es->ins->section->nchildren; i++) {
        const struct sk_conf_section *s = es->ins->section->children[i];

        if (strcmp(s->name, "buffer") == 0 && sk_conf_get(s, "flush_thread_count") != NULL) {
            threads = sk_conf_get(s, "flush_thread_count");
        }
    }
    if (threads != NULL && (sk_param_parse_int(threads, &n) < 0 || n < 1)) {
        n = 1;
    }
    return (long)(n * (int64_t)(es->pool.n > 0 ? es->pool.n : 1) + 4);
}

static int es_start(struct sk_instance *ins)
{
    struct es_ctx *es = ins->ctx;
    int rc;

    es->loop = sk_engine_loop(ins->engine);
    es->http = sk_http_create(es->loop, max_connections(es));
    if (es->http == NULL) {
        sk_error("%s: cannot create the HTTP client", ins->id);
        return SK_ENOMEM;
    }
    es->stopping = false;
    rc = es_auth_start(es);
    if (rc < 0) {
        sk_error("%s: cannot start AWS request signing: %s", ins->id, sk_strerror(rc));
        return rc;
    }
    es_warn_sniffing(es);
    if (es->conf->verify_es_version_at_startup && es_auth_ready(es)) {
        es_version_detect(es); /* else when the AWS credentials arrive */
    }
    es_setup_start(es);
    return 0;
}

static void es_stop(struct sk_instance *ins)
{
    struct es_ctx *es = ins->ctx;
    const struct es_stats *s = &es->stats;

    es->stopping = true;
    es_auth_stop(es); /* its fetches use es->http */
    /* Cancelling the client runs every pending callback (SK_ECLOSED): the
     * jobs waiting on an answer complete with SK_FLUSH_RETRY there. */
    sk_http_destroy(es->http);
    es->http = NULL;
    es_jobs_abort(es);
    es_setup_stop(es);
    sk_info("%s: stopped: %llu requests (%llu failed), %llu documents indexed, %llu duplicates, "
            "%llu retried, %llu rejected, %llu dropped without _id, %llu aborted",
            ins->id, (unsigned long long)s->requests, (unsigned long long)s->request_failures,
            (unsigned long long)s->events_ok, (unsigned long long)s->duplicates,
            (unsigned long long)s->retried, (unsigned long long)s->rejected,
            (unsigned long long)s->dropped, (unsigned long long)s->aborted);
}

static void es_destroy(struct sk_instance *ins)
{
    struct es_ctx *es = ins->ctx;

    if (es == NULL) {
        return;
    }
    es_auth_destroy(es); /* before the client its fetches use */
    sk_http_destroy(es->http);
    es->http = NULL;
    es_job_mem_cleanup(&es->spare);
    es_setup_destroy(es);
    es_pool_cleanup(&es->pool);
    for (size_t i = 0; i < sizeof(es->paths) / sizeof(es->paths[0]); i++) {
        es_path_free(&es->paths[i]);
    }
    sk_free(es->remove_keys);
    sk_free(es->remove_keys_on_update);
    sk_free(es->headers);
    sk_free(es->auth_header);
    sk_free(es->cloud_user);
    sk_free(es->cloud_password);
    sk_timefmt_destroy(es->time_key_format);
    es_tmpl_free(es->pipeline);
    sk_free(es);
    ins->ctx = NULL;
}

const struct sk_plugin sk_plugin_out_elasticsearch = {
    .name = "elasticsearch",
    .kind = SK_PLUGIN_OUTPUT,
    .api = SK_PLUGIN_API,
    .flags = SK_PLUGIN_BUFFERED,
    .params = es_params,
    .conf_size = sizeof(struct es_conf),
    .desc = "Bulk-index events into Elasticsearch / OpenSearch (fluent-plugin-elasticsearch 5.x).",
    .default_chunk_keys = "tag",
    .init = es_init,
    .start = es_start,
    .stop = es_stop,
    .destroy = es_destroy,
    .flush = es_flush,
};

/* @type elasticsearch_data_stream: the same output writing `create`
 * actions into a data stream it sets up first (es_setup.h). */
const struct sk_plugin sk_plugin_out_elasticsearch_data_stream = {
    .name = "elasticsearch_data_stream",
    .kind = SK_PLUGIN_OUTPUT,
    .api = SK_PLUGIN_API,
    .flags = SK_PLUGIN_BUFFERED,
    .params = es_params,
    .conf_size = sizeof(struct es_conf),
    .desc = "Write events into an Elasticsearch / OpenSearch data stream "
            "(fluent-plugin-elasticsearch 5.x).",
    .default_chunk_keys = "tag",
    .init = es_init,
    .start = es_start,
    .stop = es_stop,
    .destroy = es_destroy,
    .flush = es_flush,
};
