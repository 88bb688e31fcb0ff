#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event/event.h"
#include "json/json.h"
#include "out_elasticsearch/es_bulk.h"
#include "timefmt/timefmt.h"
#include "util/alloc.h"

/* 2018-07-21T10:00:00.123456789Z */
#define T0 1532167200
#define NS 123456789u

/* A case: settings in Fluentd's words, records as JSON, the exact body. */
struct spec {
    const char *name;
    const char *tz; /* NULL: UTC */
    enum es_write_op op;
    const char *type_name;
    const char *routing_name; /* NULL: "routing" */
    const char *pipeline;
    const char *id_key;
    const char *parent_key;
    const char *routing_key;
    const char *target_index_key;
    const char *target_type_key;
    bool include_tag_key;
    const char *tag_key; /* NULL: "tag" */
    const char *remove_keys;
    const char *remove_keys_on_update;
    const char *remove_keys_on_update_key;
    bool suppress_doc_wrap;
    bool emit_error_for_missing_id;
    bool logstash_format;
    bool include_timestamp;
    const char *time_key;
    bool time_key_exclude_timestamp;
    int precision; /* 0 means the default 9; -1 means 0 */
    const char *time_key_format;
    const char *index_name; /* NULL: "fluentd" */
    bool local_index;       /* utc_index false */
    int64_t sec;            /* 0: T0 */
    const char *records[3];
    const char *want;
    const char *notes; /* "drop:missing _id;" ... */
};

static const struct spec specs[] = {
    {.name = "index, es8 dialect",
     .records = {"{\"a\":1,\"b\":\"x\"}"},
     .want = "{\"index\":{\"_index\":\"fluentd\"}}\n{\"a\":1,\"b\":\"x\"}\n"},
    {.name = "es7 _doc type",
     .type_name = "_doc",
     .records = {"{\"a\":1}"},
     .want = "{\"index\":{\"_index\":\"fluentd\",\"_type\":\"_doc\"}}\n{\"a\":1}\n"},
    {.name = "es6 type_name and _routing",
     .type_name = "fluentd",
     .routing_name = "_routing",
     .routing_key = "user",
     .records = {"{\"user\":\"u1\",\"m\":\"x\"}"},
     .want = "{\"index\":{\"_index\":\"fluentd\",\"_type\":\"fluentd\",\"_routing\":\"u1\"}}\n"
             "{\"user\":\"u1\",\"m\":\"x\"}\n"},
    {.name = "logstash format, @timestamp precision 9",
     .logstash_format = true,
     .records = {"{\"a\":1}"},
     .want = "{\"index\":{\"_index\":\"logstash-2018.07.21\"}}\n"
             "{\"a\":1,\"@timestamp\":\"2018-07-21T10:00:00.123456789+00:00\"}\n"},
    {.name = "time_precision 3",
     .logstash_format = true,
     .precision = 3,
     .records = {"{}"},
     .want = "{\"index\":{\"_index\":\"logstash-2018.07.21\"}}\n"
             "{\"@timestamp\":\"2018-07-21T10:00:00.123+00:00\"}\n"},
    {.name = "time_precision 0",
     .logstash_format = true,
     .precision = -1,
     .records = {"{\"a\":null}"},
     .want = "{\"index\":{\"_index\":\"logstash-2018.07.21\"}}\n"
             "{\"a\":null,\"@timestamp\":\"2018-07-21T10:00:00+00:00\"}\n"},
    {.name = "@timestamp in the local zone, index in UTC",
     .tz = "Asia/Tokyo",
     .logstash_format = true,
     .sec = T0 + 14 * 3600, /* 00:00 JST on the 22nd */
     .records = {"{\"a\":1}"},
     .want = "{\"index\":{\"_index\":\"logstash-2018.07.22\"}}\n"
             "{\"a\":1,\"@timestamp\":\"2018-07-22T09:00:00.123456789+09:00\"}\n"},
    {.name = "utc_index false: index date in the local zone",
     .tz = "Asia/Tokyo",
     .logstash_format = true,
     .local_index = true,
     .sec = T0 + 5 * 3600 + 1800, /* 15:30Z = 00:30 JST next day */
     .records = {"{\"a\":1}"},
     .want = "{\"index\":{\"_index\":\"logstash-2018.07.22\"}}\n"
             "{\"a\":1,\"@timestamp\":\"2018-07-22T00:30:00.123456789+09:00\"}\n"},
    {.name = "record @timestamp kept and used for the index",
     .logstash_format = true,
     .records = {"{\"@timestamp\":\"2018-07-20T23:59:59Z\",\"a\":1}"},
     .want = "{\"index\":{\"_index\":\"logstash-2018.07.20\"}}\n"
             "{\"@timestamp\":\"2018-07-20T23:59:59Z\",\"a\":1}\n"},
    {.name = "record @timestamp with offset, utc_index false",
     .logstash_format = true,
     .local_index = true,
     .records = {"{\"@timestamp\":\"2018-07-20T23:59:59-05:00\"}"},
     .want = "{\"index\":{\"_index\":\"logstash-2018.07.20\"}}\n"
             "{\"@timestamp\":\"2018-07-20T23:59:59-05:00\"}\n"},
    {.name = "time_key copied as iso8601",
     .logstash_format = true,
     .time_key = "vtm",
     .records = {"{\"title\":\"developer\",\"vtm\":\"2014-12-19T08:01:03Z\"}"},
     .want = "{\"index\":{\"_index\":\"logstash-2014.12.19\"}}\n"
             "{\"title\":\"developer\",\"vtm\":\"2014-12-19T08:01:03Z\","
             "\"@timestamp\":\"2014-12-19T08:01:03.000000000+00:00\"}\n"},
    {.name = "time_key keeps the value's offset",
     .logstash_format = true,
     .time_key = "vtm",
     .precision = -1,
     .records = {"{\"vtm\":\"2014-12-19T08:01:03+09:00\"}"},
     .want = "{\"index\":{\"_index\":\"logstash-2014.12.18\"}}\n"
             "{\"vtm\":\"2014-12-19T08:01:03+09:00\",\"@timestamp\":\"2014-12-19T08:01:03+09:00\"}\n"},
    {.name = "time_key numeric epoch",
     .logstash_format = true,
     .time_key = "ts",
     .precision = -1,
     .records = {"{\"ts\":1418976063}"},
     .want = "{\"index\":{\"_index\":\"logstash-2014.12.19\"}}\n"
             "{\"ts\":1418976063,\"@timestamp\":\"2014-12-19T08:01:03+00:00\"}\n"},
    {.name = "time_key_format",
     .logstash_format = true,
     .time_key = "t",
     .time_key_format = "%d/%m/%Y %H:%M:%S %z",
     .precision = -1,
     .records = {"{\"t\":\"19/12/2014 08:01:03 +0900\"}"},
     .want = "{\"index\":{\"_index\":\"logstash-2014.12.18\"}}\n"
             "{\"t\":\"19/12/2014 08:01:03 +0900\",\"@timestamp\":\"2014-12-19T08:01:03+09:00\"}\n"},
    {.name = "time_key_exclude_timestamp",
     .logstash_format = true,
     .time_key = "vtm",
     .time_key_exclude_timestamp = true,
     .records = {"{\"vtm\":\"2014-12-19T08:01:03Z\"}"},
     .want = "{\"index\":{\"_index\":\"logstash-2014.12.19\"}}\n{\"vtm\":\"2014-12-19T08:01:03Z\"}\n"},
    {.name = "unreadable @timestamp: event time for the index",
     .logstash_format = true,
     .records = {"{\"@timestamp\":\"garbage\"}"},
     .want = "{\"index\":{\"_index\":\"logstash-2018.07.21\"}}\n{\"@timestamp\":\"garbage\"}\n",
     .notes = "time:@timestamp;"},
    {.name = "include_timestamp keeps index_name",
     .include_timestamp = true,
     .index_name = "my-alias",
     .precision = -1,
     .records = {"{\"a\":1}"},
     .want = "{\"index\":{\"_index\":\"my-alias\"}}\n"
             "{\"a\":1,\"@timestamp\":\"2018-07-21T10:00:00+00:00\"}\n"},
    {.name = "include_tag_key appends",
     .include_tag_key = true,
     .records = {"{\"a\":1}"},
     .want = "{\"index\":{\"_index\":\"fluentd\"}}\n{\"a\":1,\"tag\":\"nginx.access\"}\n"},
    {.name = "include_tag_key replaces in place",
     .include_tag_key = true,
     .tag_key = "@log_name",
     .records = {"{\"@log_name\":\"old\",\"a\":1}"},
     .want = "{\"index\":{\"_index\":\"fluentd\"}}\n{\"@log_name\":\"nginx.access\",\"a\":1}\n"},
    {.name = "@timestamp before tag",
     .include_tag_key = true,
     .logstash_format = true,
     .precision = -1,
     .records = {"{}"},
     .want = "{\"index\":{\"_index\":\"logstash-2018.07.21\"}}\n"
             "{\"@timestamp\":\"2018-07-21T10:00:00+00:00\",\"tag\":\"nginx.access\"}\n"},
    {.name = "remove_keys",
     .remove_keys = "a, b",
     .records = {"{\"a\":1,\"b\":2,\"c\":3}", "{\"a\":1}"},
     .want = "{\"index\":{\"_index\":\"fluentd\"}}\n{\"c\":3}\n"
             "{\"index\":{\"_index\":\"fluentd\"}}\n{}\n"},
    {.name = "remove_keys also removes added fields",
     .remove_keys = "@timestamp,tag",
     .include_tag_key = true,
     .logstash_format = true,
     .records = {"{\"x\":1}"},
     .want = "{\"index\":{\"_index\":\"logstash-2018.07.21\"}}\n{\"x\":1}\n"},
    {.name = "id_key and remove_keys of it",
     .id_key = "request_id",
     .remove_keys = "request_id",
     .records = {"{\"name\":\"Johnny\",\"request_id\":\"87d89af7daffad6\"}"},
     .want = "{\"index\":{\"_index\":\"fluentd\",\"_id\":\"87d89af7daffad6\"}}\n{\"name\":\"Johnny\"}\n"},
    {.name = "id_key nested, $ syntax",
     .id_key = "$.nested.request_id",
     .records = {"{\"nested\":{\"name\":\"Johnny\",\"request_id\":\"87d\"}}"},
     .want = "{\"index\":{\"_index\":\"fluentd\",\"_id\":\"87d\"}}\n"
             "{\"nested\":{\"name\":\"Johnny\",\"request_id\":\"87d\"}}\n"},
    {.name = "id_key nested, dotted",
     .id_key = "nested.request_id",
     .records = {"{\"nested\":{\"request_id\":\"87d\"}}"},
     .want = "{\"index\":{\"_index\":\"fluentd\",\"_id\":\"87d\"}}\n{\"nested\":{\"request_id\":\"87d\"}}\n"},
    {.name = "id_key number stays a number, null means none",
     .id_key = "id",
     .records = {"{\"id\":123}", "{\"id\":null}"},
     .want = "{\"index\":{\"_index\":\"fluentd\",\"_id\":123}}\n{\"id\":123}\n"
             "{\"index\":{\"_index\":\"fluentd\"}}\n{\"id\":null}\n"},
    {.name = "empty string id means none (ES refuses \"_id\":\"\" for the whole request)",
     .id_key = "id",
     .records = {"{\"id\":\"\"}", "{\"id\":\"x\"}"},
     .want = "{\"index\":{\"_index\":\"fluentd\"}}\n{\"id\":\"\"}\n"
             "{\"index\":{\"_index\":\"fluentd\",\"_id\":\"x\"}}\n{\"id\":\"x\"}\n"},
    {.name = "create with an empty id: as missing",
     .op = ES_OP_CREATE,
     .id_key = "_hash",
     .records = {"{\"_hash\":\"\",\"m\":2}"},
     .want = "",
     .notes = "drop:missing _id;"},
    {.name = "parent and routing",
     .parent_key = "p",
     .routing_key = "r",
     .records = {"{\"p\":\"par\",\"r\":\"rou\"}"},
     .want = "{\"index\":{\"_index\":\"fluentd\",\"_parent\":\"par\",\"routing\":\"rou\"}}\n"
             "{\"p\":\"par\",\"r\":\"rou\"}\n"},
    {.name = "pipeline",
     .pipeline = "nginx-geoip",
     .type_name = "_doc",
     .records = {"{}"},
     .want = "{\"index\":{\"_index\":\"fluentd\",\"_type\":\"_doc\",\"pipeline\":\"nginx-geoip\"}}\n{}\n"},
    {.name = "create with and without id",
     .op = ES_OP_CREATE,
     .id_key = "_hash",
     .records = {"{\"_hash\":\"a1\",\"m\":1}", "{\"m\":2}"},
     .want = "{\"create\":{\"_index\":\"fluentd\",\"_id\":\"a1\"}}\n{\"_hash\":\"a1\",\"m\":1}\n",
     .notes = "drop:missing _id;"},
    {.name = "create without id, emit_error_for_missing_id",
     .op = ES_OP_CREATE,
     .id_key = "_hash",
     .emit_error_for_missing_id = true,
     .records = {"{\"m\":2}"},
     .want = "",
     .notes = "reject:missing _id;"},
    {.name = "update wraps in doc",
     .op = ES_OP_UPDATE,
     .id_key = "id",
     .records = {"{\"id\":\"1\",\"a\":1}"},
     .want = "{\"update\":{\"_index\":\"fluentd\",\"_id\":\"1\"}}\n{\"doc\":{\"id\":\"1\",\"a\":1}}\n"},
    {.name = "update with remove_keys_on_update",
     .op = ES_OP_UPDATE,
     .id_key = "id",
     .remove_keys_on_update = "a",
     .records = {"{\"id\":\"1\",\"a\":1,\"b\":2}"},
     .want = "{\"update\":{\"_index\":\"fluentd\",\"_id\":\"1\"}}\n{\"doc\":{\"id\":\"1\",\"b\":2}}\n"},
    {.name = "upsert without removals: doc_as_upsert",
     .op = ES_OP_UPSERT,
     .id_key = "id",
     .remove_keys_on_update = "zz",
     .records = {"{\"id\":\"1\",\"a\":1}"},
     .want = "{\"update\":{\"_index\":\"fluentd\",\"_id\":\"1\"}}\n"
             "{\"doc\":{\"id\":\"1\",\"a\":1},\"doc_as_upsert\":true}\n"},
    {.name = "upsert with removals: doc and upsert",
     .op = ES_OP_UPSERT,
     .id_key = "id",
     .remove_keys_on_update = "a",
     .records = {"{\"id\":\"1\",\"a\":1,\"b\":2}"},
     .want = "{\"update\":{\"_index\":\"fluentd\",\"_id\":\"1\"}}\n"
             "{\"doc\":{\"id\":\"1\",\"b\":2},\"upsert\":{\"id\":\"1\",\"a\":1,\"b\":2}}\n"},
    {.name = "upsert with the record's own key list",
     .op = ES_OP_UPSERT,
     .id_key = "id",
     .remove_keys_on_update = "b",
     .remove_keys_on_update_key = "skip",
     .records = {"{\"id\":\"1\",\"a\":1,\"b\":2,\"skip\":[\"a\"]}"},
     .want = "{\"update\":{\"_index\":\"fluentd\",\"_id\":\"1\"}}\n"
             "{\"doc\":{\"id\":\"1\",\"b\":2},\"upsert\":{\"id\":\"1\",\"a\":1,\"b\":2}}\n"},
    {.name = "suppress_doc_wrap",
     .op = ES_OP_UPDATE,
     .id_key = "id",
     .suppress_doc_wrap = true,
     .records = {"{\"id\":\"1\",\"script\":{\"source\":\"x\"}}"},
     .want = "{\"update\":{\"_index\":\"fluentd\",\"_id\":\"1\"}}\n{\"id\":\"1\",\"script\":{\"source\":\"x\"}}\n"},
    {.name = "target_index_key used, lower-cased, removed",
     .target_index_key = "@target_index",
     .index_name = "fallback",
     .records = {"{\"title\":\"dev\",\"@target_index\":\"Logstash-2014.12.19\"}", "{\"title\":\"x\"}"},
     .want = "{\"index\":{\"_index\":\"logstash-2014.12.19\"}}\n{\"title\":\"dev\"}\n"
             "{\"index\":{\"_index\":\"fallback\"}}\n{\"title\":\"x\"}\n"},
    {.name = "target_index_key nested",
     .target_index_key = "meta.index",
     .records = {"{\"meta\":{\"index\":\"idx\",\"o\":1},\"a\":1}"},
     .want = "{\"index\":{\"_index\":\"idx\"}}\n{\"meta\":{\"o\":1},\"a\":1}\n"},
    {.name = "target_index_key not a string",
     .target_index_key = "ix",
     .records = {"{\"ix\":5}", "{\"ok\":1}"},
     .want = "{\"index\":{\"_index\":\"fluentd\"}}\n{\"ok\":1}\n",
     .notes = "reject:target_index_key value is not a usable index name;"},
    {.name = "target_type_key removed, type unchanged",
     .target_type_key = "t",
     .type_name = "_doc",
     .records = {"{\"t\":\"mytype\",\"a\":1}"},
     .want = "{\"index\":{\"_index\":\"fluentd\",\"_type\":\"_doc\"}}\n{\"a\":1}\n"},
    {.name = "index_name lower-cased",
     .index_name = "Fluentd-APP",
     .records = {"{}"},
     .want = "{\"index\":{\"_index\":\"fluentd-app\"}}\n{}\n"},
    {.name = "escaping",
     .records = {"{\"m\":\"say \\\"hi\\\" \\\\ \\n\\t\\u0001 \\u00e9 \\u2028\",\"k\\\"ey\":1}"},
     .want = "{\"index\":{\"_index\":\"fluentd\"}}\n"
             "{\"m\":\"say \\\"hi\\\" \\\\ \\n\\t\\u0001 \xc3\xa9 \xe2\x80\xa8\",\"k\\\"ey\":1}\n"},
    {.name = "nested maps and arrays, floats",
     .records = {"{\"a\":{\"b\":{\"c\":[1,2.5,{\"d\":true}]}},\"e\":[],\"f\":{},\"g\":-0.5,\"h\":1e300}"},
     .want = "{\"index\":{\"_index\":\"fluentd\"}}\n"
             "{\"a\":{\"b\":{\"c\":[1,2.5,{\"d\":true}]}},\"e\":[],\"f\":{},\"g\":-0.5,\"h\":1e+300}\n"},
};

/* --- harness ---------------------------------------------------------------- */

struct notes {
    char text[512];
    size_t n;
};

static void note_cb(void *arg, enum es_bulk_note note, const char *ev, size_t ev_len,
                    const char *reason)
{
    static const char *const kinds[] = {"reject", "drop", "time"};
    struct notes *ns = arg;
    size_t used = strlen(ns->text);

    (void)ev;
    assert_true(ev_len > 0);
    snprintf(ns->text + used, sizeof(ns->text) - used, "%s:%s;", kinds[note], reason);
    ns->n++;
}

static void split_keys(const char *list, struct es_key *keys, size_t *n, char *storage,
                       size_t size)
{
    *n = 0;
    if (list == NULL) {
        return;
    }
    snprintf(storage, size, "%s", list);
    for (char *s = storage; *s != '\0';) {
        size_t len = strcspn(s, ",");
        char *k = s;
        char *e = s + len;

        s = *e != '\0' ? e + 1 : e;
        while (k < e && *k == ' ') {
            k++;
        }
        while (e > k && e[-1] == ' ') {
            e--;
        }
        keys[*n].p = k;
        keys[*n].n = (size_t)(e - k);
        (*n)++;
    }
}

static struct es_path *path_or_null(const char *text, struct es_path *p)
{
    if (text == NULL) {
        return NULL;
    }
    assert_int_equal(es_path_parse(text, true, p), 0);
    return p;
}

static void add_event(struct sk_evbuf *eb, int64_t sec, uint32_t nsec, const char *json)
{
    struct sk_time t = {sec, nsec};

    assert_int_equal(sk_evbuf_begin(eb, t), 0);
    assert_int_equal(sk_json_to_msgpack(json, strlen(json), &eb->pk), 0);
    sk_evbuf_commit(eb);
}

static void set_tz(const char *tz)
{
    setenv("TZ", tz != NULL ? tz : "UTC", 1);
    tzset();
}

static void run_spec(const struct spec *s)
{
    struct es_path paths[5];
    struct es_key rk[8];
    struct es_key rku[8];
    char rks[128];
    char rkus[128];
    struct es_bulk_conf c = {0};
    struct es_index_conf ic = {s->logstash_format, "logstash", "-", "%Y.%m.%d",
                               s->index_name != NULL ? s->index_name : "fluentd", !s->local_index};
    struct es_tmpl_ctx ctx = {.tag = "nginx.access", .timekey = -1};
    struct es_index ix;
    struct es_bulk b;
    struct es_bulk_req req;
    struct sk_evbuf eb;
    struct notes ns = {"", 0};
    char err[128];
    size_t off = 0;
    int ferr = 0;

    set_tz(s->tz);
    memset(paths, 0, sizeof(paths));
    c.op = s->op;
    c.type_name = s->type_name;
    c.routing_name = s->routing_name != NULL ? s->routing_name : "routing";
    c.pipeline = s->pipeline;
    c.id_key = path_or_null(s->id_key, &paths[0]);
    c.parent_key = path_or_null(s->parent_key, &paths[1]);
    c.routing_key = path_or_null(s->routing_key, &paths[2]);
    c.target_index_key = path_or_null(s->target_index_key, &paths[3]);
    c.target_type_key = path_or_null(s->target_type_key, &paths[4]);
    c.include_tag_key = s->include_tag_key;
    c.tag_key = s->tag_key != NULL ? s->tag_key : "tag";
    split_keys(s->remove_keys, rk, &c.nremove_keys, rks, sizeof(rks));
    c.remove_keys = rk;
    split_keys(s->remove_keys_on_update, rku, &c.nremove_keys_on_update, rkus, sizeof(rkus));
    c.remove_keys_on_update = rku;
    c.remove_keys_on_update_key = s->remove_keys_on_update_key;
    c.suppress_doc_wrap = s->suppress_doc_wrap;
    c.emit_error_for_missing_id = s->emit_error_for_missing_id;
    c.add_timestamp = s->logstash_format || s->include_timestamp;
    c.time_key = s->time_key;
    c.time_key_exclude_timestamp = s->time_key_exclude_timestamp;
    c.time_precision = s->precision == 0 ? 9 : s->precision < 0 ? 0 : s->precision;
    if (s->time_key_format != NULL) {
        c.time_key_format = sk_timefmt_create(s->time_key_format, NULL, &ferr);
        assert_non_null(c.time_key_format);
        c.time_key_format_has_zone = strstr(s->time_key_format, "%z") != NULL;
    }

    assert_int_equal(es_index_init(&ix, &ic, err, sizeof(err)), 0);
    assert_int_equal(es_index_begin_chunk(&ix, &ctx), 0);
    es_bulk_init(&b, &c, &ix);
    assert_int_equal(es_bulk_begin_chunk(&b, "nginx.access"), 0);
    es_bulk_req_init(&req);
    sk_evbuf_init(&eb, 1 << 20);
    for (int i = 0; i < 3 && s->records[i] != NULL; i++) {
        add_event(&eb, s->sec != 0 ? s->sec : T0, NS, s->records[i]);
    }

    assert_int_equal(es_bulk_encode(&b, eb.buf.data, eb.buf.len, &off, ES_BULK_BODY_MAX, &req,
                                    note_cb, &ns),
                     0);
    if (strcmp(req.body.data != NULL ? req.body.data : "", s->want) != 0) {
        fail_msg("case '%s':\n got: %s\nwant: %s", s->name, req.body.data, s->want);
    }
    if (strcmp(ns.text, s->notes != NULL ? s->notes : "") != 0) {
        fail_msg("case '%s': notes '%s', want '%s'", s->name, ns.text, s->notes ? s->notes : "");
    }
    assert_int_equal(off, eb.buf.len);

    sk_evbuf_cleanup(&eb);
    es_bulk_req_cleanup(&req);
    es_bulk_cleanup(&b);
    es_index_cleanup(&ix);
    sk_timefmt_destroy(c.time_key_format);
    for (int i = 0; i < 5; i++) {
        es_path_free(&paths[i]);
    }
    set_tz(NULL);
}

static void test_golden_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        run_spec(&specs[i]);
    }
}

/* --- hand-made msgpack: what JSON cannot express ------------------------------- */

struct raw_fixture {
    struct es_bulk_conf c;
    struct es_index ix;
    struct es_bulk b;
    struct es_bulk_req req;
    struct notes ns;
};

static void raw_setup(struct raw_fixture *f)
{
    struct es_index_conf ic = {false, "logstash", "-", "%Y.%m.%d", "fluentd", true};
    struct es_tmpl_ctx ctx = {.tag = "t", .timekey = -1};
    char err[64];

    memset(f, 0, sizeof(*f));
    f->c.routing_name = "routing";
    f->c.tag_key = "tag";
    f->c.time_precision = 9;
    set_tz(NULL);
    assert_int_equal(es_index_init(&f->ix, &ic, err, sizeof(err)), 0);
    assert_int_equal(es_index_begin_chunk(&f->ix, &ctx), 0);
    es_bulk_init(&f->b, &f->c, &f->ix);
    assert_int_equal(es_bulk_begin_chunk(&f->b, "t"), 0);
    es_bulk_req_init(&f->req);
}

static void raw_teardown(struct raw_fixture *f)
{
    es_bulk_req_cleanup(&f->req);
    es_bulk_cleanup(&f->b);
    es_index_cleanup(&f->ix);
}

/* [EventTime(T0, 0), map(n) ...]: the event header before the pairs. */
static size_t event_head(unsigned char *p, unsigned npairs)
{
    unsigned char head[] = {0x92, 0xd7, 0x00, 0x5b, 0x53, 0x04, 0x20, 0, 0, 0, 0};

    memcpy(p, head, sizeof(head));
    p[sizeof(head)] = (unsigned char)(0x80 | npairs);
    return sizeof(head) + 1;
}

static void test_raw_values(void **state)
{
    struct raw_fixture f;
    unsigned char ev[128];
    size_t n;
    size_t off = 0;
    static const unsigned char pairs[] = {
        0xa1, 'a', 0xa3, 'x', 0xff, 'y',                   /* "a": invalid UTF-8 */
        0xa1, 'b', 0xc4, 0x03, 'b', 'i', 'n',              /* "b": bin */
        0x01, 0xa3, 'o', 'n', 'e',                         /* 1: "one" (int key) */
        0xa1, 'e', 0xd6, 0x05, 1, 2, 3, 4,                 /* "e": ext 5 -> null */
        0xa1, 't', 0xd7, 0x00, 0, 0, 0, 7, 0, 0, 0, 1,     /* "t": EventTime -> 7 */
        0xa1, 'f', 0xca, 0x3f, 0xc0, 0x00, 0x00,           /* "f": float32 1.5 */
    };

    (void)state;
    raw_setup(&f);
    n = event_head(ev, 6);
    memcpy(ev + n, pairs, sizeof(pairs));
    n += sizeof(pairs);
    assert_int_equal(es_bulk_encode(&f.b, (char *)ev, n, &off, ES_BULK_BODY_MAX, &f.req, note_cb,
                                    &f.ns),
                     0);
    assert_string_equal(f.req.body.data,
                        "{\"index\":{\"_index\":\"fluentd\"}}\n"
                        "{\"a\":\"x\\ufffdy\",\"b\":\"bin\",\"1\":\"one\",\"e\":null,\"t\":7,"
                        "\"f\":1.5}\n");
    raw_teardown(&f);
}

/* Non-string keys survive the slow path (a key being removed) too. */
static void test_raw_values_slow_path(void **state)
{
    struct raw_fixture f;
    unsigned char ev[64];
    size_t n;
    size_t off = 0;
    static const struct es_key rm[] = {{"drop", 4}};
    static const unsigned char pairs[] = {
        0x01, 0xa3, 'o', 'n', 'e',                         /* 1: "one" */
        0xa4, 'd', 'r', 'o', 'p', 0xc3,                    /* "drop": true */
        0xa1, 'a', 0xa3, 'x', 0xff, 'y',                   /* "a": invalid UTF-8 */
    };

    (void)state;
    raw_setup(&f);
    f.c.remove_keys = rm;
    f.c.nremove_keys = 1;
    n = event_head(ev, 3);
    memcpy(ev + n, pairs, sizeof(pairs));
    n += sizeof(pairs);
    assert_int_equal(es_bulk_encode(&f.b, (char *)ev, n, &off, ES_BULK_BODY_MAX, &f.req, note_cb,
                                    &f.ns),
                     0);
    assert_string_equal(f.req.body.data,
                        "{\"index\":{\"_index\":\"fluentd\"}}\n{\"1\":\"one\",\"a\":\"x\\ufffdy\"}\n");
    raw_teardown(&f);
}

/* --- splitting, offsets, corruption ---------------------------------------------- */

/* count events {"n":i<extra>} */
static void build_chunk(struct sk_evbuf *eb, int count, const char *extra)
{
    char rec[256];

    sk_evbuf_init(eb, 1 << 20);
    for (int i = 0; i < count; i++) {
        snprintf(rec, sizeof(rec), "{\"n\":%d%s}", i, extra);
        add_event(eb, T0, 0, rec);
    }
}

static void test_split_by_limit(void **state)
{
    struct raw_fixture f;
    struct sk_evbuf eb;
    size_t off = 0;
    /* Each event: {"index":{"_index":"fluentd"}}\n (31) + {"n":X}\n (8) */
    const size_t per = 31 + 8;

    (void)state;
    raw_setup(&f);
    build_chunk(&eb, 5, "");
    assert_int_equal(es_bulk_encode(&f.b, eb.buf.data, eb.buf.len, &off, 2 * per + 5, &f.req,
                                    note_cb, &f.ns),
                     0);
    assert_int_equal(f.req.nactions, 2);
    assert_int_equal(f.req.body.len, 2 * per);
    assert_int_equal(f.req.first_off, 0);
    assert_int_equal(f.req.end_off, off);
    /* The actions point at the events' bytes. */
    assert_int_equal(f.req.actions[0].ev_off, 0);
    assert_int_equal(f.req.actions[1].ev_off, f.req.actions[0].ev_len);
    assert_int_equal(off, f.req.actions[1].ev_off + f.req.actions[1].ev_len);

    es_bulk_req_reset(&f.req);
    assert_int_equal(es_bulk_encode(&f.b, eb.buf.data, eb.buf.len, &off, 2 * per + 5, &f.req,
                                    note_cb, &f.ns),
                     0);
    assert_int_equal(f.req.nactions, 2);
    assert_non_null(strstr(f.req.body.data, "{\"n\":2}"));
    es_bulk_req_reset(&f.req);
    assert_int_equal(es_bulk_encode(&f.b, eb.buf.data, eb.buf.len, &off, 2 * per + 5, &f.req,
                                    note_cb, &f.ns),
                     0);
    assert_int_equal(f.req.nactions, 1);
    assert_int_equal(off, eb.buf.len);
    sk_evbuf_cleanup(&eb);
    raw_teardown(&f);
}

static void test_oversize_event_goes_alone(void **state)
{
    struct raw_fixture f;
    struct sk_evbuf eb;
    size_t off = 0;

    (void)state;
    raw_setup(&f);
    build_chunk(&eb, 3, ",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"");
    assert_int_equal(es_bulk_encode(&f.b, eb.buf.data, eb.buf.len, &off, 10, &f.req, note_cb,
                                    &f.ns),
                     0);
    assert_int_equal(f.req.nactions, 1);
    assert_true(f.req.body.len > 10);
    sk_evbuf_cleanup(&eb);
    raw_teardown(&f);
}

static void test_rejected_event_is_consumed(void **state)
{
    struct raw_fixture f;
    struct sk_evbuf eb;
    struct es_path p;
    size_t off = 0;

    (void)state;
    raw_setup(&f);
    assert_int_equal(es_path_parse("id", true, &p), 0);
    f.c.op = ES_OP_CREATE;
    f.c.id_key = &p;
    f.c.emit_error_for_missing_id = true;
    sk_evbuf_init(&eb, 1 << 20);
    add_event(&eb, T0, 0, "{\"id\":\"a\"}");
    add_event(&eb, T0, 0, "{\"x\":1}");
    add_event(&eb, T0, 0, "{\"id\":\"c\"}");
    assert_int_equal(es_bulk_encode(&f.b, eb.buf.data, eb.buf.len, &off, ES_BULK_BODY_MAX, &f.req,
                                    note_cb, &f.ns),
                     0);
    assert_int_equal(f.req.nactions, 2);
    assert_int_equal(f.ns.n, 1);
    assert_string_equal(f.ns.text, "reject:missing _id;");
    assert_int_equal(off, eb.buf.len);
    assert_int_equal(f.req.actions[1].ev_off + f.req.actions[1].ev_len, eb.buf.len);
    sk_evbuf_cleanup(&eb);
    es_path_free(&p);
    raw_teardown(&f);
}

/* Valid msgpack that is not a [time, map] event: reported, skipped. */
static void test_non_event_entries_skipped(void **state)
{
    struct raw_fixture f;
    struct sk_evbuf eb;
    size_t off = 0;

    (void)state;
    raw_setup(&f);
    build_chunk(&eb, 1, "");
    assert_int_equal(sk_buf_append(&eb.buf, "\x92\x7b\xa3str", 6), 0); /* [123, "str"] */
    assert_int_equal(sk_buf_append(&eb.buf, "\xc0", 1), 0);              /* nil */
    add_event(&eb, T0, 0, "{\"n\":9}");
    assert_int_equal(es_bulk_encode(&f.b, eb.buf.data, eb.buf.len, &off, ES_BULK_BODY_MAX, &f.req,
                                    note_cb, &f.ns),
                     0);
    assert_int_equal(f.req.nactions, 2);
    assert_string_equal(f.ns.text, "reject:not a [time, record] event;reject:not a [time, record] "
                                   "event;");
    assert_int_equal(off, eb.buf.len);
    assert_non_null(strstr(f.req.body.data, "{\"n\":9}"));
    sk_evbuf_cleanup(&eb);
    raw_teardown(&f);
}

static void test_corrupt_tail(void **state)
{
    struct raw_fixture f;
    struct sk_evbuf eb;
    size_t good;
    size_t off = 0;

    (void)state;
    raw_setup(&f);
    build_chunk(&eb, 2, "");
    good = eb.buf.len;
    assert_int_equal(sk_buf_append(&eb.buf, "\x92\xc1garbage", 9), 0);
    assert_int_equal(es_bulk_encode(&f.b, eb.buf.data, eb.buf.len, &off, ES_BULK_BODY_MAX, &f.req,
                                    note_cb, &f.ns),
                     SK_EPARSE);
    assert_int_equal(off, good);
    assert_int_equal(f.req.nactions, 2);
    sk_evbuf_cleanup(&eb);
    raw_teardown(&f);
}

static void test_truncated_last_event(void **state)
{
    struct raw_fixture f;
    struct sk_evbuf eb;
    size_t off = 0;

    (void)state;
    raw_setup(&f);
    build_chunk(&eb, 2, "");
    eb.buf.len -= 2; /* a crash left a partial tail */
    assert_int_equal(es_bulk_encode(&f.b, eb.buf.data, eb.buf.len, &off, ES_BULK_BODY_MAX, &f.req,
                                    note_cb, &f.ns),
                     SK_EPARSE);
    assert_int_equal(f.req.nactions, 1);
    assert_int_equal(off, f.req.actions[0].ev_len);
    sk_evbuf_cleanup(&eb);
    raw_teardown(&f);
}

static void test_alloc_failure_stepping(void **state)
{
    struct sk_evbuf eb;

    (void)state;
    build_chunk(&eb, 3, ",\"k\":\"v\"");
    for (long n = 1; n < 200; n++) {
        struct raw_fixture f;
        static const struct es_key rm[] = {{"k", 1}};
        size_t off = 0;
        int rc;

        raw_setup(&f);
        f.c.remove_keys = rm;
        f.c.nremove_keys = 1;
        f.c.include_tag_key = true;
        sk_alloc_fail_after(n, 0);
        rc = es_bulk_encode(&f.b, eb.buf.data, eb.buf.len, &off, ES_BULK_BODY_MAX, &f.req,
                            note_cb, &f.ns);
        sk_alloc_fail_after(0, 0);
        raw_teardown(&f);
        if (rc == 0) {
            sk_evbuf_cleanup(&eb);
            return;
        }
        assert_int_equal(rc, SK_ENOMEM);
    }
    fail_msg("never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_table),
        cmocka_unit_test(test_raw_values),
        cmocka_unit_test(test_raw_values_slow_path),
        cmocka_unit_test(test_split_by_limit),
        cmocka_unit_test(test_oversize_event_goes_alone),
        cmocka_unit_test(test_rejected_event_is_consumed),
        cmocka_unit_test(test_non_event_entries_skipped),
        cmocka_unit_test(test_corrupt_tail),
        cmocka_unit_test(test_truncated_last_event),
        cmocka_unit_test(test_alloc_failure_stepping),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
