#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "out_elasticsearch/es_response.h"

#define MAXI 8

struct bulk_case {
    const char *name;
    enum es_write_op op;
    const char *body;
    size_t nitems;
    int rc;
    enum es_item_outcome want[MAXI];
    int status[MAXI];
    const char *reason_has; /* substring of some item's reason, or NULL */
};

/* ES 8 / OpenSearch 2 answer, abridged from es-api.md §3.6. */
static const char ok_es8[] =
    "{\"took\":30,\"errors\":false,\"items\":["
    "{\"index\":{\"_index\":\"logstash-2024.05.01\",\"_id\":\"Uk2Z\",\"_version\":1,"
    "\"result\":\"created\",\"_shards\":{\"total\":2,\"successful\":1,\"failed\":0},"
    "\"_seq_no\":0,\"_primary_term\":1,\"status\":201}},"
    "{\"index\":{\"_index\":\"logstash-2024.05.01\",\"_id\":\"a2\",\"result\":\"updated\",\"status\":200}}]}";

/* ES 7 adds _type. */
static const char ok_es7[] =
    "{\"took\":3,\"errors\":false,\"items\":[{\"index\":{\"_index\":\"x\",\"_type\":\"_doc\","
    "\"_id\":\"1\",\"status\":201}}]}";

static const char partial[] =
    "{\"took\":5,\"errors\":true,\"items\":["
    "{\"index\":{\"_index\":\"l\",\"_id\":\"1\",\"status\":201}},"
    "{\"index\":{\"_index\":\"l\",\"_id\":\"2\",\"status\":400,\"error\":{\"type\":"
    "\"mapper_parsing_exception\",\"reason\":\"failed to parse field [code] of type [long] in "
    "document with id '2'. Preview of field's value: 'abc'\",\"caused_by\":{\"type\":"
    "\"illegal_argument_exception\",\"reason\":\"For input string: \\\"abc\\\"\"}}}},"
    "{\"index\":{\"_index\":\"l\",\"_id\":\"3\",\"status\":429,\"error\":{\"type\":"
    "\"es_rejected_execution_exception\",\"reason\":\"rejected execution of coordinating "
    "operation\"}}},"
    "{\"index\":{\"_index\":\"l\",\"_id\":\"4\",\"status\":503,\"error\":{\"type\":"
    "\"unavailable_shards_exception\",\"reason\":\"[l][0] primary shard is not active\"}}},"
    "{\"index\":{\"_index\":\"Bad\",\"status\":400,\"error\":{\"type\":"
    "\"invalid_index_name_exception\",\"reason\":\"Invalid index name [Bad], must be lowercase\"}}},"
    "{\"index\":{\"_index\":\"n\",\"status\":404,\"error\":{\"type\":\"index_not_found_exception\","
    "\"reason\":\"no such index [n] and [action.auto_create_index] is [false]\"}}},"
    "{\"index\":{\"_index\":\"l\",\"status\":500,\"error\":{\"type\":\"exception\",\"reason\":\"x\"}}}"
    "]}";

static const char create_conflict[] =
    "{\"errors\":true,\"items\":["
    "{\"create\":{\"_index\":\"l\",\"_id\":\"a1\",\"status\":409,\"error\":{\"type\":"
    "\"version_conflict_engine_exception\",\"reason\":\"[a1]: version conflict, document already "
    "exists (current version [1])\"}}},"
    "{\"create\":{\"_index\":\"l\",\"_id\":\"a2\",\"status\":201}}]}";

static const char index_conflict[] =
    "{\"errors\":true,\"items\":[{\"index\":{\"_index\":\"l\",\"_id\":\"a1\",\"status\":409,"
    "\"error\":{\"type\":\"version_conflict_engine_exception\",\"reason\":\"seqNo mismatch\"}}}]}";

static const char update_missing[] =
    "{\"errors\":true,\"items\":[{\"update\":{\"_index\":\"l\",\"_id\":\"z\",\"status\":404,"
    "\"error\":{\"type\":\"document_missing_exception\",\"reason\":\"[z]: document missing\"}}},"
    "{\"update\":{\"_index\":\"l\",\"_id\":\"y\",\"result\":\"noop\",\"status\":200}}]}";

static const char blocks[] =
    "{\"errors\":true,\"items\":["
    "{\"index\":{\"_index\":\"l\",\"status\":429,\"error\":{\"type\":\"cluster_block_exception\","
    "\"reason\":\"index [l] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage "
    "watermark, index has read-only-allow-delete block];\"}}},"
    "{\"index\":{\"_index\":\"l\",\"status\":403,\"error\":{\"type\":\"cluster_block_exception\","
    "\"reason\":\"index [l] blocked by: [FORBIDDEN/12/index read-only / allow delete (api)];\"}}},"
    "{\"index\":{\"_index\":\"l\",\"status\":403,\"error\":{\"type\":\"cluster_block_exception\","
    "\"reason\":\"index [l] blocked by: [FORBIDDEN/8/index write (api)];\"}}},"
    "{\"index\":{\"_index\":\"l\",\"status\":429,\"error\":{\"type\":\"circuit_breaking_exception\","
    "\"reason\":\"[parent] Data too large\"}}},"
    "{\"index\":{\"_index\":\"l\",\"status\":429,\"error\":{\"type\":"
    "\"rejected_execution_exception\",\"reason\":\"OpenSearch wording\"}}}"
    "]}";

/* A read-only-allow-delete block reported with the old 403 wording but the
 * newer reason text. */
static const char flood_403[] =
    "{\"errors\":true,\"items\":[{\"index\":{\"status\":403,\"error\":{\"type\":"
    "\"cluster_block_exception\",\"reason\":\"index [l] blocked by: [FORBIDDEN/12/index "
    "read-only-allow-delete (api)];\"}}}]}";

static const char string_error[] =
    "{\"errors\":true,\"items\":[{\"index\":{\"status\":403,\"error\":\"blocked by policy\"}}]}";

static const char no_status[] =
    "{\"errors\":true,\"items\":[{\"index\":{\"_index\":\"l\"}},{\"index\":\"x\"},{}]}";

/* What filter_path=errors,items.*.status,items.*.error leaves. */
static const char filtered[] =
    "{\"errors\":true,\"items\":[{\"index\":{\"status\":201}},{\"index\":{\"status\":400,"
    "\"error\":{\"type\":\"document_parsing_exception\",\"reason\":\"[1:14] failed to parse\"}}}]}";

static const char json_parse_item[] =
    "{\"errors\":true,\"items\":[{\"index\":{\"status\":500,\"error\":{\"type\":"
    "\"json_parse_exception\",\"reason\":\"Unexpected character\"}}}]}";

static const char oom_item[] =
    "{\"errors\":true,\"items\":[{\"index\":{\"status\":500,\"error\":{\"type\":"
    "\"out_of_memory_error\",\"reason\":\"Java heap space\"}}}]}";

static const struct bulk_case bulk_cases[] = {
    /* "errors":false takes the fast path: per-item statuses are not read (0). */
    {"all created (es8)", ES_OP_INDEX, ok_es8, 2, 0, {ES_ITEM_OK, ES_ITEM_OK}, {0, 0}, NULL},
    {"created with _type (es7)", ES_OP_INDEX, ok_es7, 1, 0, {ES_ITEM_OK}, {0}, NULL},
    {"errors false but an item short", ES_OP_INDEX, ok_es8, 3, SK_EPROTO, {0}, {0}, NULL},
    {"partial failure",
     ES_OP_INDEX,
     partial,
     7,
     0,
     {ES_ITEM_OK, ES_ITEM_REJECT, ES_ITEM_RETRY, ES_ITEM_RETRY, ES_ITEM_REJECT, ES_ITEM_REJECT,
      ES_ITEM_RETRY},
     {201, 400, 429, 503, 400, 404, 500},
     "400 mapper_parsing_exception: failed to parse field [code] of type [long] in document with "
     "id '2'. Preview of field's value: 'abc' (caused by illegal_argument_exception: For input "
     "string: \"abc\")"},
    {"409 on create is a duplicate", ES_OP_CREATE, create_conflict, 2, 0,
     {ES_ITEM_DUPLICATE, ES_ITEM_OK}, {409, 201}, NULL},
    {"409 on index is rejected", ES_OP_INDEX, index_conflict, 1, 0, {ES_ITEM_REJECT}, {409},
     "version_conflict_engine_exception"},
    {"update of a missing document is skipped", ES_OP_UPDATE, update_missing, 2, 0,
     {ES_ITEM_SKIPPED, ES_ITEM_OK}, {404, 200}, NULL},
    {"blocks and back-pressure",
     ES_OP_INDEX,
     blocks,
     5,
     0,
     {ES_ITEM_RETRY, ES_ITEM_REJECT, ES_ITEM_REJECT, ES_ITEM_RETRY, ES_ITEM_RETRY},
     {429, 403, 403, 429, 429},
     "FORBIDDEN/8/index write"},
    {"flood-stage block with 403 is retried", ES_OP_INDEX, flood_403, 1, 0, {ES_ITEM_RETRY}, {403},
     NULL},
    {"string-valued error", ES_OP_INDEX, string_error, 1, 0, {ES_ITEM_REJECT}, {403},
     "403 blocked by policy"},
    {"items without status are retried", ES_OP_INDEX, no_status, 3, 0,
     {ES_ITEM_RETRY, ES_ITEM_RETRY, ES_ITEM_RETRY}, {0, 0, 0}, "without a status"},
    {"filter_path answer", ES_OP_INDEX, filtered, 2, 0, {ES_ITEM_OK, ES_ITEM_REJECT}, {201, 400},
     "document_parsing_exception"},
    {"json_parse_exception item is rejected", ES_OP_INDEX, json_parse_item, 1, 0,
     {ES_ITEM_REJECT}, {500}, NULL},
    {"unrecoverable type aborts", ES_OP_INDEX, oom_item, 1, 0, {ES_ITEM_ABORT}, {500},
     "out_of_memory_error"},
    {"item count mismatch", ES_OP_INDEX, ok_es8, 3, SK_EPROTO, {0}, {0}, NULL},
    {"no items", ES_OP_INDEX, "{\"took\":1,\"errors\":false}", 1, SK_EPROTO, {0}, {0}, NULL},
    {"items not an array", ES_OP_INDEX, "{\"items\":{}}", 1, SK_EPROTO, {0}, {0}, NULL},
    {"garbage", ES_OP_INDEX, "<html>502 Bad Gateway</html>", 1, SK_EPARSE, {0}, {0}, NULL},
    {"truncated", ES_OP_INDEX, "{\"took\":30,\"errors\":false,\"items\":[{\"index\":{\"status\":2", 1,
     SK_EPARSE, {0}, {0}, NULL},
    {"empty body", ES_OP_INDEX, "", 1, SK_EPARSE, {0}, {0}, NULL},
    {"top level array", ES_OP_INDEX, "[1,2]", 2, SK_EPROTO, {0}, {0}, NULL},
};

static void test_bulk_table(void **state)
{
    static const char *const unrec_v[] = {"out_of_memory_error", "json_parse_exception"};
    struct sk_strv unrec = {(char **)unrec_v, 1};

    (void)state;
    for (size_t i = 0; i < sizeof(bulk_cases) / sizeof(bulk_cases[0]); i++) {
        const struct bulk_case *c = &bulk_cases[i];
        struct es_item items[MAXI];
        struct es_bulk_counts counts;
        char err[128] = "";
        bool reason_seen = c->reason_has == NULL;
        struct sk_buf reasons;
        int rc;

        sk_buf_init(&reasons, 1u << 20);
        rc = es_response_bulk(c->body, strlen(c->body), c->op, &unrec, items, c->nitems,
                              &reasons, &counts, err, sizeof(err));

        if (rc != c->rc) {
            fail_msg("case '%s': rc %d, want %d (%s)", c->name, rc, c->rc, err);
        }
        if (rc != 0) {
            assert_true(err[0] != '\0');
            sk_buf_cleanup(&reasons);
            continue;
        }
        for (size_t k = 0; k < c->nitems; k++) {
            if (items[k].outcome != c->want[k] || items[k].status != c->status[k]) {
                fail_msg("case '%s' item %zu: %s/%d, want %s/%d (%s)", c->name, k,
                         es_item_outcome_name(items[k].outcome), items[k].status,
                         es_item_outcome_name(c->want[k]), c->status[k], items[k].reason);
            }
            if (c->reason_has != NULL && strstr(items[k].reason, c->reason_has) != NULL) {
                reason_seen = true;
            }
        }
        if (!reason_seen) {
            fail_msg("case '%s': no reason contains '%s'", c->name, c->reason_has);
        }
        assert_int_equal(counts.ok + counts.duplicate + counts.skipped + counts.retry +
                             counts.reject + counts.abort,
                         c->nitems);
        sk_buf_cleanup(&reasons);
    }
}

static void test_counts(void **state)
{
    struct es_item items[7];
    struct es_bulk_counts counts;
    struct sk_buf reasons;
    char err[64];

    (void)state;
    sk_buf_init(&reasons, 1u << 20);
    assert_int_equal(es_response_bulk(partial, strlen(partial), ES_OP_INDEX, NULL, items, 7,
                                      &reasons, &counts, err, sizeof(err)),
                     0);
    assert_int_equal(counts.ok, 1);
    assert_int_equal(counts.reject, 3);
    assert_int_equal(counts.retry, 3);
    for (size_t i = 0; i < 7; i++) {
        /* every refused item says why; the indexed one says nothing */
        assert_true((items[i].outcome == ES_ITEM_OK) == (items[i].reason[0] == '\0'));
    }
    sk_buf_cleanup(&reasons);
    assert_int_equal(counts.abort, 0);
}

/* With unrecoverable_error_types listing es_rejected_execution_exception
 * (Fluentd's default), 429 rejections abort instead of retrying. */
static void test_unrecoverable_rejected_execution(void **state)
{
    static const char *const v[] = {"es_rejected_execution_exception"};
    struct sk_strv list = {(char **)v, 1};

    (void)state;
    assert_int_equal(es_item_classify(ES_OP_INDEX, 429, "es_rejected_execution_exception", "",
                                      &list),
                     ES_ITEM_ABORT);
    assert_int_equal(es_item_classify(ES_OP_INDEX, 429, "es_rejected_execution_exception", "", NULL),
                     ES_ITEM_RETRY);
    /* 400 is checked before the list, as Fluentd does. */
    assert_int_equal(es_item_classify(ES_OP_INDEX, 400, "es_rejected_execution_exception", "",
                                      &list),
                     ES_ITEM_REJECT);
}

static void test_upsert_409_not_duplicate(void **state)
{
    (void)state;
    assert_int_equal(es_item_classify(ES_OP_UPSERT, 409, "version_conflict_engine_exception", "",
                                      NULL),
                     ES_ITEM_REJECT);
    assert_int_equal(es_item_classify(ES_OP_CREATE, 409, "version_conflict_engine_exception", "",
                                      NULL),
                     ES_ITEM_DUPLICATE);
    assert_int_equal(es_item_classify(ES_OP_INDEX, 404, "document_missing_exception", "", NULL),
                     ES_ITEM_REJECT);
}

struct http_case {
    const char *name;
    int status;
    int err;
    const char *body;
    enum es_http_verdict want;
    const char *reason_has;
};

static const struct http_case http_cases[] = {
    {"200", 200, 0, "{\"errors\":false,\"items\":[]}", ES_HTTP_BULK, NULL},
    {"connection refused", 0, SK_EIO, NULL, ES_HTTP_HOST_DOWN, "input/output error"},
    {"timeout", 0, SK_ETIMEOUT, NULL, ES_HTTP_HOST_DOWN, "timed out"},
    {"502 from a proxy", 502, 0, "<html>Bad Gateway</html>", ES_HTTP_HOST_DOWN, "Bad Gateway"},
    {"503 no master", 503, 0,
     "{\"error\":{\"root_cause\":[],\"type\":\"cluster_block_exception\",\"reason\":\"blocked by: "
     "[SERVICE_UNAVAILABLE/2/no master];\"},\"status\":503}",
     ES_HTTP_HOST_DOWN, "cluster_block_exception: blocked by: [SERVICE_UNAVAILABLE/2/no master];"},
    {"504", 504, 0, "", ES_HTTP_HOST_DOWN, "HTTP 504"},
    {"502 nginx page", 502, 0,
     "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
     "Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
     ES_HTTP_HOST_DOWN, "502 Bad Gateway"},
    {"407 proxy", 407, 0, "<?xml version=\"1.0\"?><html><head><title>Proxy Authentication "
     "Required</title></head><body>...</body></html>", ES_HTTP_AUTH, "Proxy Authentication Required"},
    {"413 empty body", 413, 0, "", ES_HTTP_TOO_LARGE, "HTTP 413"},
    {"413 amazon", 413, 0, "{\"Message\":\"Request size exceeded 10485760 bytes\"}",
     ES_HTTP_TOO_LARGE, "Request size exceeded 10485760 bytes"},
    {"400 _type on es8", 400, 0,
     "{\"error\":{\"root_cause\":[{\"type\":\"illegal_argument_exception\",\"reason\":\"Action/"
     "metadata line [1] contains an unknown parameter [_type]\"}],\"type\":"
     "\"illegal_argument_exception\",\"reason\":\"Action/metadata line [1] contains an unknown "
     "parameter [_type]\"},\"status\":400}",
     ES_HTTP_TYPE_REJECTED, "unknown parameter [_type]"},
    {"400 malformed", 400, 0,
     "{\"error\":{\"type\":\"illegal_argument_exception\",\"reason\":\"Malformed action/metadata "
     "line [3]\"},\"status\":400}",
     ES_HTTP_BAD_REQUEST, "Malformed action/metadata line [3]"},
    {"400 string error", 400, 0, "{\"error\":\"no handler found for uri [/x/_bulk]\"}",
     ES_HTTP_BAD_REQUEST, "no handler found"},
    {"401 security", 401, 0,
     "{\"error\":{\"type\":\"security_exception\",\"reason\":\"missing authentication credentials "
     "for REST request [/_bulk]\"},\"status\":401}",
     ES_HTTP_AUTH, "security_exception: missing authentication credentials"},
    {"401 opensearch plain text", 401, 0, "Unauthorized", ES_HTTP_AUTH, "Unauthorized"},
    {"403 amazon", 403, 0,
     "{\"Message\":\"User: anonymous is not authorized to perform: es:ESHttpPost\"}", ES_HTTP_AUTH,
     "User: anonymous is not authorized"},
    {"403 aws lower-case message", 403, 0,
     "{\"message\":\"The security token included in the request is invalid.\"}", ES_HTTP_AUTH,
     "security token"},
    {"429 whole request", 429, 0,
     "{\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"rejected execution of "
     "coordinating operation\"},\"status\":429}",
     ES_HTTP_RETRY, "es_rejected_execution_exception"},
    {"500", 500, 0, "{\"error\":{\"type\":\"exception\"},\"status\":500}", ES_HTTP_RETRY,
     "exception"},
    {"404 wrong path", 404, 0, "{\"error\":\"Incorrect HTTP method\"}", ES_HTTP_RETRY, NULL},
    {"multi-line text body on one line", 500, 0, "line one\nline two", ES_HTTP_RETRY,
     "line one line two"},
};

static void test_http_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(http_cases) / sizeof(http_cases[0]); i++) {
        const struct http_case *c = &http_cases[i];
        char reason[256];
        enum es_http_verdict v = es_response_http(c->status, c->err, c->body,
                                                  c->body != NULL ? strlen(c->body) : 0, reason,
                                                  sizeof(reason));

        if (v != c->want) {
            fail_msg("case '%s': verdict %d, want %d (%s)", c->name, v, c->want, reason);
        }
        if (c->reason_has != NULL && strstr(reason, c->reason_has) == NULL) {
            fail_msg("case '%s': reason '%s' lacks '%s'", c->name, reason, c->reason_has);
        }
    }
}

static void test_retry_after(void **state)
{
    /* Sun, 06 Nov 1994 08:49:37 GMT */
    time_t now = 784111777 - 30;

    (void)state;
    assert_int_equal(es_retry_after_ms("120", now), 120000);
    assert_int_equal(es_retry_after_ms(" 5 ", now), 5000);
    assert_int_equal(es_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now), 30000);
    assert_int_equal(es_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now + 100), 0);
    assert_int_equal(es_retry_after_ms(NULL, now), -1);
    assert_int_equal(es_retry_after_ms("soon", now), -1);
    assert_int_equal(es_retry_after_ms("5s", now), -1);
    assert_int_equal(es_retry_after_ms("99999999", now), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bulk_table),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_unrecoverable_rejected_execution),
        cmocka_unit_test(test_upsert_409_not_duplicate),
        cmocka_unit_test(test_http_table),
        cmocka_unit_test(test_retry_after),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
