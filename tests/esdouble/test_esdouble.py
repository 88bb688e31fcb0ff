"""Core behaviour of the Elasticsearch/OpenSearch double: personas, strict
`_bulk`, storage, read APIs, the control API and the HTTP layer."""

import gzip
import json
import os
import socket
import sys
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from esdouble import EsDouble  # noqa: E402
from esd.testing import Client, ndjson  # noqa: E402

NEWLINE_ERR = "The bulk request must be terminated by a newline [\\n]"


class DoubleCase(unittest.TestCase):
    flavor = "es8"
    kwargs = {}

    def setUp(self):
        self.d = EsDouble(flavor=self.flavor, refresh_interval_ms=-1, seed=1,
                          **self.kwargs).start()
        self.c = Client(self.d.port)

    def tearDown(self):
        self.c.close()
        self.d.stop()

    def assertError(self, r, status, type_, reason=None):
        self.assertEqual(r.status, status, r)
        body = r.json
        self.assertEqual(body["status"], status)
        self.assertEqual(body["error"]["type"], type_, body)
        self.assertEqual(body["error"]["root_cause"][0]["type"], type_)
        if reason is not None:
            self.assertEqual(body["error"]["reason"], reason)
        return body["error"]


class RootTest(unittest.TestCase):
    def root(self, flavor, **kw):
        with EsDouble(flavor=flavor, **kw) as d:
            c = Client(d.port)
            r = c.get("/")
            h = c.request("HEAD", "/")
            c.close()
            self.assertEqual(h.status, 200)
            self.assertEqual(h.data, b"")
            return r

    def test_es8(self):
        r = self.root("es8")
        v = r.json["version"]
        self.assertTrue(v["number"].startswith("8."))
        self.assertEqual(v["build_flavor"], "default")
        self.assertEqual(r.json["tagline"], "You Know, for Search")
        self.assertEqual(r.header("X-Elastic-Product"), "Elasticsearch")

    def test_es8_header_on_every_answer(self):
        with EsDouble() as d, Client(d.port) as c:
            for r in (c.get("/_cluster/health"), c.get("/missing/_count"),
                      c.bulk("x"), c.get("/_nothing/x")):
                self.assertEqual(r.header("X-Elastic-Product"), "Elasticsearch", r)
            c.faults({"status": 502})
            self.assertIsNone(c.get("/").header("X-Elastic-Product"), "a proxy's 502 is not ES")

    def test_es7(self):
        r = self.root("es7")
        self.assertEqual(r.json["version"]["number"], "7.17.9")
        self.assertEqual(r.header("X-Elastic-Product"), "Elasticsearch")

    def test_es7_aws_is_oss_without_header(self):
        r = self.root("es7", aws=True)
        self.assertEqual(r.json["version"]["number"], "7.10.2")
        self.assertEqual(r.json["version"]["build_flavor"], "oss")
        self.assertEqual(r.json["version"]["build_hash"], "unknown")
        self.assertIn(":", r.json["cluster_name"])
        self.assertIsNone(r.header("X-Elastic-Product"))

    def test_opensearch(self):
        for flavor, major in (("opensearch2", "2."), ("opensearch1", "1.")):
            r = self.root(flavor)
            v = r.json["version"]
            self.assertEqual(v["distribution"], "opensearch")
            self.assertTrue(v["number"].startswith(major))
            self.assertNotIn("build_flavor", v)
            self.assertTrue(r.json["tagline"].startswith("The OpenSearch Project"))
            self.assertIsNone(r.header("X-Elastic-Product"))

    def test_opensearch_compat_mode(self):
        r = self.root("opensearch2", compat=True)
        self.assertEqual(r.json["version"]["number"], "7.10.2")
        self.assertNotIn("distribution", r.json["version"])

    def test_listens_on_loopback_only(self):
        with self.assertRaises(ValueError):
            EsDouble(host="0.0.0.0")


class BulkStrictTest(DoubleCase):
    def test_missing_final_newline(self):
        r = self.c.bulk('{"index":{"_index":"a"}}\n{"x":1}')
        self.assertError(r, 400, "illegal_argument_exception", NEWLINE_ERR)
        self.assertEqual(self.c.counts(), {})

    def test_earlier_error_wins_over_missing_newline(self):
        r = self.c.bulk('{"index":{"_index":"a","_type":"_doc"}}\n{"x":1}')
        self.assertError(r, 400, "illegal_argument_exception",
                         "Action/metadata line [1] contains an unknown parameter [_type]")

    def test_type_rejected_on_es8(self):
        body = ndjson({"index": {"_index": "a"}}, {"x": 1},
                      {"index": {"_index": "a", "_type": "_doc"}}, {"x": 2})
        r = self.c.bulk(body)
        self.assertError(r, 400, "illegal_argument_exception",
                         "Action/metadata line [3] contains an unknown parameter [_type]")
        self.assertEqual(self.c.counts(), {}, "a rejected request stores nothing")

    def test_invalid_json_action_line(self):
        r = self.c.bulk('{"index":{"_index":"a"}\n{"x":1}\n')
        err = self.assertError(r, 400, "x_content_parse_exception")
        self.assertTrue(err["reason"].startswith("[1:"), err)

    def test_invalid_utf8_anywhere_fails_whole_request(self):
        for body in (b'{"index":{"_index":"a\xff"}}\n{"x":1}\n',
                     b'{"index":{"_index":"a"}}\n{"x":"\xc3\x28"}\n'):
            r = self.c.bulk(body)
            err = self.assertError(r, 400, "x_content_parse_exception")
            self.assertIn("Invalid UTF-8", err["reason"])
        self.assertEqual(self.c.counts(), {})

    def test_action_line_shapes(self):
        cases = [
            ('["index"]', "Malformed action/metadata line [1], expected START_OBJECT but found "
                          "[START_ARRAY]"),
            ("{}", "Malformed action/metadata line [1], expected FIELD_NAME but found [END_OBJECT]"),
            ('{"insert":{}}', "Malformed action/metadata line [1], expected field [create], "
                              "[delete], [index] or [update] but found [insert]"),
            ('{"index":"a"}', "Malformed action/metadata line [1], expected START_OBJECT or "
                              "END_OBJECT but found [VALUE_STRING]"),
            ('{"index":{},"create":{}}', "Malformed action/metadata line [1], expected END_OBJECT "
                                         "but found [FIELD_NAME]"),
            ('{"index":{"_index":["a"]}}', "Malformed action/metadata line [1], expected a simple "
                                           "value for field [_index] but found [START_ARRAY]"),
            ('{"index":{"_index":"a","foo":1}}', "Action/metadata line [1] contains an unknown "
                                                 "parameter [foo]"),
            ('{"index":{"_index":"a","_routing":"x"}}', "Action/metadata line [1] contains an "
                                                        "unknown parameter [_routing]"),
        ]
        for line, reason in cases:
            r = self.c.bulk(line + '\n{"x":1}\n')
            self.assertError(r, 400, "illegal_argument_exception", reason)

    def test_empty_and_validation(self):
        r = self.c.bulk("\n")
        self.assertError(r, 400, "action_request_validation_exception",
                         "Validation Failed: 1: no requests added;")
        r = self.c.bulk(ndjson({"index": {"_index": "a", "_id": ""}}, {"x": 1},
                               {"delete": {"_index": "a"}}))
        self.assertError(r, 400, "action_request_validation_exception",
                         "Validation Failed: 1: if _id is specified it must not be empty;"
                         "2: id is missing;")
        r = self.c.bulk(ndjson({"index": {}}, {"x": 1}))
        self.assertError(r, 400, "action_request_validation_exception",
                         "Validation Failed: 1: index is missing;")

    def test_action_without_source_at_end_is_dropped_like_es(self):
        r = self.c.bulk(ndjson({"index": {"_index": "a"}}, {"x": 1}, {"index": {"_index": "a"}}))
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.json["items"]), 1)

    def test_duplicate_key_in_source_fails_the_item(self):
        r = self.c.bulk('{"index":{"_index":"a","_id":"1"}}\n{"t":1,"t":2}\n'
                        '{"index":{"_index":"a","_id":"2"}}\n{"t":1}\n')
        self.assertEqual(r.status, 200)
        items = r.json["items"]
        self.assertTrue(r.json["errors"])
        self.assertEqual(items[0]["index"]["status"], 400)
        self.assertEqual(items[0]["index"]["error"]["type"], "document_parsing_exception")
        self.assertIn("Duplicate field 't'", items[0]["index"]["error"]["caused_by"]["reason"])
        self.assertEqual(items[1]["index"]["status"], 201)

    def test_invalid_json_source_fails_only_its_item(self):
        r = self.c.bulk('{"index":{"_index":"a"}}\n{"t":}\n{"index":{"_index":"a"}}\n{"t":1}\n')
        items = r.json["items"]
        self.assertEqual(items[0]["index"]["status"], 400)
        self.assertEqual(items[0]["index"]["error"]["caused_by"]["type"], "json_parse_exception")
        self.assertEqual(items[1]["index"]["status"], 201)

    def test_bad_index_names_are_item_errors(self):
        names = {"Upper": "must be lowercase", "-dash": "must not start with '_', '-', or '+'",
                 "_under": "must not start with '_', '-', or '+'",
                 "a b": "must not contain the following characters",
                 "a*b": "must not contain the following characters", "a#b": "must not contain '#'",
                 "a:b": "must not contain ':'", "x" * 256: "index name is too long, (256 > 255)",
                 "..": "must not be '.' or '..'"}
        lines = []
        for n in names:
            lines += [{"index": {"_index": n}}, {"x": 1}]
        lines += [{"index": {"_index": "ok"}}, {"x": 1}]
        r = self.c.bulk(ndjson(*lines))
        self.assertEqual(r.status, 200)
        items = r.json["items"]
        for (name, why), item in zip(names.items(), items):
            e = item["index"]["error"]
            self.assertEqual(item["index"]["status"], 400)
            self.assertEqual(e["type"], "invalid_index_name_exception")
            self.assertTrue(e["reason"].startswith("Invalid index name [%s], " % name), e)
            self.assertIn(why, e["reason"])
            self.assertIsNone(item["index"]["_id"])
        self.assertEqual(items[-1]["index"]["status"], 201)
        self.assertEqual(self.c.counts(), {"ok": 1})

    def test_content_type(self):
        r = self.c.request("POST", "/_bulk", body=ndjson({"index": {"_index": "a"}}, {}),
                           ctype=None)
        self.assertEqual((r.status, r.json["error"]), (406, "Content-Type header is missing"))
        r = self.c.request("POST", "/_bulk", body=ndjson({"index": {"_index": "a"}}, {}),
                           ctype="text/plain")
        self.assertEqual(r.status, 406)
        self.assertEqual(r.json["error"], "Content-Type header [text/plain] is not supported")
        r = self.c.request("POST", "/_bulk", body=ndjson({"index": {"_index": "a"}}, {"x": 1}),
                           ctype="application/vnd.elasticsearch+x-ndjson; compatible-with=8")
        self.assertEqual(r.status, 200)

    def test_unknown_parameters_and_bad_refresh(self):
        r = self.c.bulk(ndjson({"index": {"_index": "a"}}, {}), path="/_bulk?refesh=true")
        self.assertError(r, 400, "illegal_argument_exception",
                         "request [/_bulk] contains unrecognized parameter: [refesh] -> did you "
                         "mean [refresh]?")
        r = self.c.bulk(ndjson({"index": {"_index": "a"}}, {}), path="/_bulk?refresh=yes")
        self.assertError(r, 400, "illegal_argument_exception", "Unknown value for refresh: [yes].")


class BulkResultTest(DoubleCase):
    def test_items_in_order_and_stored(self):
        body = ndjson({"index": {"_index": "logstash-2024.05.01"}}, {"n": 1, "msg": "ü"},
                      {"create": {"_index": "logstash-2024.05.01", "_id": "a1"}}, {"n": 2},
                      {"create": {"_index": "logstash-2024.05.01", "_id": "a1"}}, {"n": 3},
                      {"delete": {"_index": "logstash-2024.05.01", "_id": "zz"}},
                      {"update": {"_index": "logstash-2024.05.01", "_id": "a1"}},
                      {"doc": {"tag": "seen"}},
                      {"update": {"_index": "logstash-2024.05.01", "_id": "a1"}},
                      {"doc": {"tag": "seen"}},
                      {"index": {"_index": "logstash-2024.05.01", "_id": "a1"}}, {"n": 4})
        r = self.c.bulk(body)
        self.assertEqual(r.status, 200)
        b = r.json
        self.assertTrue(b["errors"])
        self.assertEqual([next(iter(i)) for i in b["items"]],
                         ["index", "create", "create", "delete", "update", "update", "index"])
        it = [next(iter(i.values())) for i in b["items"]]
        self.assertEqual(len(it[0]["_id"]), 20)
        self.assertEqual(it[0]["result"], "created")
        self.assertEqual(it[0]["status"], 201)
        self.assertEqual(it[0]["_shards"], {"total": 2, "successful": 1, "failed": 0})
        self.assertNotIn("_type", it[0])
        self.assertEqual(it[2]["status"], 409)
        self.assertEqual(it[2]["error"]["type"], "version_conflict_engine_exception")
        self.assertEqual(it[2]["error"]["reason"],
                         "[a1]: version conflict, document already exists (current version [1])")
        self.assertEqual((it[3]["result"], it[3]["status"]), ("not_found", 404))
        self.assertNotIn("error", it[3])
        self.assertEqual((it[4]["result"], it[4]["_version"]), ("updated", 2))
        self.assertEqual((it[5]["result"], it[5]["status"]), ("noop", 200))
        self.assertEqual((it[6]["result"], it[6]["_version"], it[6]["status"]), ("updated", 3, 200))
        seqs = [i["_seq_no"] for i in it if "_seq_no" in i]
        self.assertEqual(seqs, sorted(seqs))
        docs = {d["_id"]: d for d in self.c.docs("logstash-2024.05.01")}
        self.assertEqual(docs["a1"]["_source"], {"n": 4})
        self.assertEqual(docs[it[0]["_id"]]["_source"], {"n": 1, "msg": "ü"})
        self.assertEqual(self.c.counts(), {"logstash-2024.05.01": 2})

    def test_url_index_default_and_per_line_override(self):
        r = self.c.bulk(ndjson({"index": {}}, {"x": 1}, {"index": {"_index": "other"}}, {"x": 2}),
                        path="/deflt/_bulk")
        self.assertEqual([next(iter(i.values()))["_index"] for i in r.json["items"]],
                         ["deflt", "other"])

    def test_date_math_index(self):
        self.c.request("POST", "/_double/clock", body={"now": "2024-05-01T23:30:00Z"})
        r = self.c.bulk(ndjson({"index": {"_index": "<logs-{now/d}>"}}, {"x": 1},
                               {"index": {"_index": "<logs-{now/M}>"}}, {"x": 1},
                               {"index": {"_index": "<logs-{now/d{yyyy.MM.dd|+09:00}}>"}}, {"x": 1},
                               {"index": {"_index": "<logs-{now/d{yyyyMMdd}}-000001>"}}, {"x": 1},
                               {"index": {"_index": "<logs-{now-1d/d}>"}}, {"x": 1}))
        got = [next(iter(i.values()))["_index"] for i in r.json["items"]]
        self.assertEqual(got, ["logs-2024.05.01", "logs-2024.05.01", "logs-2024.05.02",
                               "logs-20240501-000001", "logs-2024.04.30"])
        r = self.c.request("PUT", "/%3Clogstash-%7Bnow%2Fd%7D-000001%3E")
        self.assertEqual(r.json["index"], "logstash-2024.05.01-000001")
        r = self.c.bulk(ndjson({"index": {}}, {"x": 1}), path="/%3Cweb-%7Bnow%2Fd%7D%3E/_bulk")
        self.assertEqual(r.json["items"][0]["index"]["_index"], "web-2024.05.01")
        self.assertEqual(self.c.requests("?path=web")[0]["path"], "/%3Cweb-%7Bnow%2Fd%7D%3E/_bulk")
        r = self.c.get("/logstash-2024.05.01-000001/_settings")
        prov = r.json["logstash-2024.05.01-000001"]["settings"]["index"]["provided_name"]
        self.assertEqual(prov, "<logstash-{now/d}-000001>")

    def test_require_alias(self):
        r = self.c.bulk(ndjson({"index": {"_index": "plain"}}, {"x": 1},
                               {"index": {"_index": "plain", "require_alias": False}}, {"x": 1}),
                        path="/_bulk?require_alias=true")
        it = [next(iter(i.values())) for i in r.json["items"]]
        self.assertEqual(it[0]["status"], 404)
        self.assertEqual(it[0]["error"]["type"], "index_not_found_exception")
        self.assertEqual(it[0]["error"]["reason"],
                         "no such index [plain] and [require_alias] request flag is [true] and "
                         "[plain] is not an alias")
        self.assertEqual(it[1]["status"], 201)

    def test_refresh_and_count_visibility(self):
        self.c.bulk(ndjson({"index": {"_index": "v"}}, {"x": 1}))
        self.assertEqual(self.c.get("/v/_count").json["count"], 0, "not refreshed yet")
        self.assertEqual(self.c.counts(), {"v": 1}, "the control API sees everything")
        r = self.c.bulk(ndjson({"index": {"_index": "v"}}, {"x": 2}), path="/_bulk?refresh=true")
        self.assertTrue(r.json["items"][0]["index"]["forced_refresh"])
        self.assertEqual(self.c.get("/v/_count").json["count"], 2)
        self.c.bulk(ndjson({"index": {"_index": "v"}}, {"x": 3}))
        self.assertEqual(self.c.request("POST", "/v/_refresh").status, 200)
        self.assertEqual(self.c.get("/v/_count").json["count"], 3)
        r = self.c.get("/missing/_count")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json["error"]["type"], "index_not_found_exception")

    def test_filter_path(self):
        r = self.c.bulk(ndjson({"index": {"_index": "f"}}, {"x": 1}, {"index": {"_index": "F"}},
                               {"x": 1}),
                        path="/_bulk?filter_path=errors,items.*.error,items.*.status")
        self.assertEqual(set(r.json), {"errors", "items"})
        self.assertEqual(r.json["items"][0], {"index": {"status": 201}})
        self.assertEqual(r.json["items"][1]["index"]["status"], 400)
        self.assertIn("error", r.json["items"][1]["index"])
        r = self.c.bulk(ndjson({"index": {"_index": "f"}}, {"x": 1}),
                        path="/_bulk?filter_path=-items,-took")
        self.assertEqual(r.json, {"errors": False})

    def test_gzip_and_deflate_request_bodies(self):
        body = ndjson({"index": {"_index": "gz"}}, {"x": 1}).encode()
        r = self.c.request("POST", "/_bulk", body=gzip.compress(body), ctype="application/x-ndjson",
                           headers={"Content-Encoding": "gzip"})
        self.assertEqual(r.status, 200)
        r = self.c.request("POST", "/_bulk", body=zlib.compress(body), ctype="application/x-ndjson",
                           headers={"Content-Encoding": "deflate"})
        self.assertEqual(r.status, 200)
        self.assertEqual(self.c.counts(), {"gz": 2})
        log = self.c.requests("?path=_bulk")
        self.assertEqual(log[0]["content_encoding"], "gzip")
        self.assertEqual(log[0]["body_decoded_bytes"], len(body))
        seq = log[0]["seq"]
        self.assertEqual(self.c.get("/_double/requests/%d/body" % seq).data, body)
        raw = self.c.get("/_double/requests/%d/body?raw=true" % seq).data
        self.assertEqual(gzip.decompress(raw), body)
        r = self.c.request("POST", "/_bulk", body=b"not gzip", ctype="application/x-ndjson",
                           headers={"Content-Encoding": "gzip"})
        self.assertEqual(r.status, 400)

    def test_gzip_response_when_accepted(self):
        r = self.c.get("/", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(r.header("Content-Encoding"), "gzip")
        self.assertEqual(r.json["tagline"], "You Know, for Search")

    def test_es8_doc_parsing_type_and_data_stream_trap(self):
        r = self.c.bulk(ndjson({"index": {"_index": "logs-nginx-prod"}}, {"x": 1},
                               {"create": {"_index": "logs-nginx-prod"}}, {"x": 1},
                               {"create": {"_index": "logs-nginx-prod"}},
                               {"@timestamp": "2024-05-01T00:00:00Z"}))
        it = [next(iter(i.values())) for i in r.json["items"]]
        self.assertEqual(it[0]["error"]["reason"],
                         "only write ops with an op_type of create are allowed in data streams")
        self.assertEqual(it[1]["status"], 400)
        self.assertIn("data stream timestamp field [@timestamp] is missing", it[1]["error"]["reason"])
        self.assertEqual(it[2]["status"], 201)
        self.assertTrue(it[2]["_index"].startswith(".ds-logs-nginx-prod-"))


class Es7Test(DoubleCase):
    flavor = "es7"

    def test_type_accepted_and_reported(self):
        r = self.c.bulk(ndjson({"index": {"_index": "a", "_type": "_doc"}}, {"x": 1},
                               {"index": {"_index": "a"}}, {"x": 2}))
        self.assertEqual(r.status, 200)
        it = [next(iter(i.values())) for i in r.json["items"]]
        self.assertEqual([i["_type"] for i in it], ["_doc", "_doc"])
        self.assertEqual(list(it[0])[:3], ["_index", "_type", "_id"])
        self.assertIn("types removal", r.header("Warning"))

    def test_mapper_parsing_exception_type(self):
        self.c.faults({"reject_400_if": {"field": "code", "value": "abc"}})
        r = self.c.bulk(ndjson({"index": {"_index": "a", "_id": "1"}}, {"code": "abc"}))
        e = r.json["items"][0]["index"]["error"]
        self.assertEqual(e["type"], "mapper_parsing_exception")
        self.assertEqual(e["reason"], "failed to parse field [code] of type [long] in document "
                                      "with id '1'. Preview of field's value: 'abc'")


class OpenSearch2Test(DoubleCase):
    flavor = "opensearch2"

    def test_type_rejected_and_no_type_in_items(self):
        r = self.c.bulk(ndjson({"index": {"_index": "a", "_type": "_doc"}}, {"x": 1}))
        self.assertEqual(r.status, 400)
        r = self.c.bulk(ndjson({"index": {"_index": "a"}}, {"x": 1}))
        self.assertNotIn("_type", r.json["items"][0]["index"])

    def test_no_ilm_no_xpack(self):
        r = self.c.get("/_xpack")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json, {"error": "no handler found for uri [/_xpack] and method [GET]"})
        r = self.c.request("PUT", "/_ilm/policy/x", body={"policy": {"phases": {}}})
        self.assertEqual(r.status, 400)

    def test_health_has_cluster_manager_fields(self):
        b = self.c.get("/_cluster/health").json
        self.assertTrue(b["discovered_cluster_manager"])


class OpenSearch1Test(DoubleCase):
    flavor = "opensearch1"

    def test_type_accepted(self):
        r = self.c.bulk(ndjson({"index": {"_index": "a", "_type": "_doc"}}, {"x": 1}))
        self.assertEqual(r.json["items"][0]["index"]["_type"], "_doc")


class ReadApiTest(DoubleCase):
    def test_nodes_http_points_at_the_double(self):
        b = self.c.get("/_nodes/http").json
        node = next(iter(b["nodes"].values()))
        self.assertEqual(node["http"]["publish_address"], "localhost/127.0.0.1:%d" % self.d.port)

    def test_health_cat_search(self):
        self.c.bulk(ndjson({"index": {"_index": "s1", "_id": "1"}}, {"code": 200, "p": "/a"},
                           {"index": {"_index": "s1", "_id": "2"}}, {"code": 404, "p": "/b"}),
                    path="/_bulk?refresh=true")
        h = self.c.get("/_cluster/health").json
        self.assertEqual(h["status"], "yellow")
        self.assertEqual(self.c.get("/_cluster/health?wait_for_status=green&timeout=50ms").status, 200)
        cat = self.c.get("/_cat/indices?format=json").json
        self.assertEqual(cat[0]["index"], "s1")
        self.assertEqual(cat[0]["docs.count"], "2")
        self.assertEqual(cat[0]["health"], "yellow")
        text = self.c.get("/_cat/indices?v&h=index,docs.count").data.decode()
        self.assertEqual(text.split("\n")[0].split(), ["index", "docs.count"])
        s = self.c.request("POST", "/s1/_search", body={"query": {"term": {"code": 404}}}).json
        self.assertEqual(s["hits"]["total"], {"value": 1, "relation": "eq"})
        self.assertEqual(s["hits"]["hits"][0]["_source"]["p"], "/b")
        s = self.c.get("/s1/_search?size=1&q=p:/a").json
        self.assertEqual(len(s["hits"]["hits"]), 1)
        s = self.c.request("POST", "/s1/_search", body={"query": {"nope": {}}})
        self.assertEqual(s.json["error"]["type"], "parsing_exception")
        self.assertEqual(self.c.request("POST", "/s1/_count",
                                        body={"query": {"match_all": {}}}).json["count"], 2)
        self.assertEqual(self.c.get("/s1/_doc/1").json["_source"]["code"], 200)
        self.assertEqual(self.c.get("/s1/_doc/9").status, 404)

    def test_index_crud(self):
        r = self.c.request("PUT", "/made", body={"settings": {"number_of_replicas": 0}})
        self.assertEqual(r.json, {"acknowledged": True, "shards_acknowledged": True,
                                  "index": "made"})
        r = self.c.request("PUT", "/made")
        self.assertEqual(r.json["error"]["type"], "resource_already_exists_exception")
        self.assertEqual(self.c.request("HEAD", "/made").status, 200)
        self.assertEqual(self.c.request("HEAD", "/nope").status, 404)
        self.assertEqual(self.c.get("/_cluster/health").json["status"], "green")
        r = self.c.request("PUT", "/bad", body={"settings": {"index.lifecycle.nme": "x"}})
        self.assertEqual(r.status, 400)
        self.assertIn("unknown setting [index.lifecycle.nme]", r.json["error"]["reason"])
        r = self.c.request("PUT", "/Bad")
        self.assertEqual(r.json["error"]["type"], "invalid_index_name_exception")
        self.assertEqual(self.c.request("DELETE", "/made").json, {"acknowledged": True})
        self.assertEqual(self.c.request("HEAD", "/made").status, 404)
        self.assertEqual(self.c.request("DELETE", "/made").status, 404)

    def test_blocks_and_closed_index(self):
        self.c.request("PUT", "/blk")
        self.c.request("PUT", "/blk/_settings", body={"index.blocks.read_only_allow_delete": True})
        r = self.c.bulk(ndjson({"index": {"_index": "blk"}}, {"x": 1}))
        e = r.json["items"][0]["index"]
        self.assertEqual(e["status"], 429)
        self.assertTrue(e["error"]["reason"].startswith(
            "index [blk] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage"))
        self.c.request("PUT", "/blk/_settings", body={"index.blocks.read_only_allow_delete": None,
                                                      "index.blocks.write": True})
        r = self.c.bulk(ndjson({"index": {"_index": "blk"}}, {"x": 1}))
        self.assertEqual(r.json["items"][0]["index"]["status"], 403)
        self.c.request("POST", "/closed-one/_doc", body={"x": 1})
        self.c.request("POST", "/closed-one/_close")
        r = self.c.bulk(ndjson({"index": {"_index": "closed-one"}}, {"x": 1}))
        self.assertEqual(r.json["items"][0]["index"]["error"]["type"], "index_closed_exception")

    def test_auto_create_disabled(self):
        r = self.c.request("PUT", "/_cluster/settings",
                           body={"persistent": {"action.auto_create_index": "false"}})
        self.assertEqual(r.status, 200)
        r = self.c.bulk(ndjson({"index": {"_index": "nope"}}, {"x": 1}))
        e = r.json["items"][0]["index"]["error"]
        self.assertEqual(e["reason"], "no such index [nope] and [action.auto_create_index] is "
                                      "[false]")

    def test_unknown_endpoint_and_method(self):
        r = self.c.get("/_nothing/here")
        self.assertEqual(r.json, {"error": "no handler found for uri [/_nothing/here] and method "
                                           "[GET]"})
        r = self.c.request("DELETE", "/_bulk")
        self.assertEqual(r.status, 405)


class ControlAndHttpTest(DoubleCase):
    def test_keep_alive_connection_reused(self):
        for _ in range(3):
            self.assertEqual(self.c.get("/").status, 200)
        log = self.c.requests()
        self.assertEqual(len({e["conn"] for e in log}), 1)

    def test_chunked_request_body(self):
        body = ndjson({"index": {"_index": "ch"}}, {"x": 1}).encode()
        s = socket.create_connection(("127.0.0.1", self.d.port))
        s.sendall(b"POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(body) + body +
                  b"\r\n0\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(4096)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data)
        self.assertEqual(self.c.counts(), {"ch": 1})

    def test_requests_log_and_wait(self):
        self.c.bulk(ndjson({"index": {"_index": "w"}}, {"x": 1}),
                    headers={"Authorization": "Basic Zm9vOmJhcg=="})
        log = self.c.requests("?path=_bulk")
        self.assertEqual(log[0]["method"], "POST")
        self.assertEqual(log[0]["status"], 200)
        self.assertEqual(log[0]["bulk"], {"items": 1, "errors": False, "statuses": {"201": 1}})
        self.assertEqual(log[0]["headers"]["Authorization"], "Basic Zm9vOmJhcg==")
        self.c.bulk(ndjson({"index": {"_index": "w"}}, {"x": 1}), path="/_bulk?refresh=wait_for")
        self.assertEqual(self.c.requests("?path=_bulk")[-1]["params"], {"refresh": "wait_for"})
        r = self.c.get("/_double/wait?index=w&count=2&timeout_ms=1000")
        self.assertEqual(r.json, {"count": 2, "timed_out": False})
        r = self.c.get("/_double/wait?index=w&count=3&timeout_ms=50")
        self.assertEqual(r.status, 408)
        last = self.c.requests()[-1]["seq"]
        r = self.c.get("/_double/requests?since=%d" % last).json
        self.assertEqual(r["requests"], [])

    def test_reset(self):
        self.c.bulk(ndjson({"index": {"_index": "r"}}, {"x": 1}))
        self.c.faults({"status": 503})
        self.assertEqual(self.c.request("POST", "/_double/reset").status, 200)
        self.assertEqual(self.c.counts(), {})
        self.assertEqual(self.c.get("/").status, 200)
        self.assertEqual([e["path"] for e in self.c.requests()], ["/"])

    def test_docs_by_alias_and_raw(self):
        self.c.bulk('{"index":{"_index":"raw1","_id":"k"}}\n{"b":1,  "a":2}\n')
        docs = self.c.get("/_double/docs?index=raw*&raw=true").json["docs"]
        self.assertEqual(docs[0]["raw"], '{"b":1,  "a":2}')
        self.assertEqual(json.loads(docs[0]["raw"]), docs[0]["_source"])


class DataDirTest(unittest.TestCase):
    def test_documents_survive_restart(self):
        import tempfile
        import shutil
        tmp = tempfile.mkdtemp()
        try:
            with EsDouble(data_dir=tmp) as d:
                c = Client(d.port)
                c.bulk(ndjson({"index": {"_index": "p", "_id": "1"}}, {"x": 1},
                              {"index": {"_index": "p", "_id": "2"}}, {"x": 2},
                              {"delete": {"_index": "p", "_id": "1"}}))
                c.close()
            self.assertTrue(os.path.exists(os.path.join(tmp, "docs", "p.jsonl")))
            with EsDouble(data_dir=tmp) as d:
                c = Client(d.port)
                self.assertEqual(c.counts(), {"p": 1})
                self.assertEqual(c.docs("p")[0]["_source"], {"x": 2})
                r = c.bulk(ndjson({"index": {"_index": "p"}}, {"x": 3}))
                self.assertEqual(r.json["items"][0]["index"]["_seq_no"], 3)
                c.close()
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    unittest.main()
