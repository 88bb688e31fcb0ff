"""Aliases, templates, rollover, ILM, ISM and data streams (es-api.md §6–§11):
what skiff's index management will be tested against.  Wrong requests must
fail the way the real products fail."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from esdouble import EsDouble  # noqa: E402
from esd.testing import Client, ndjson  # noqa: E402

DATE_MATH_FIRST = "/%3Clogstash-%7Bnow%2Fd%7D-000001%3E"

HOT_DELETE = {"policy": {"phases": {
    "hot": {"min_age": "0ms", "actions": {"rollover": {"max_size": "50gb", "max_age": "1d"},
                                          "set_priority": {"priority": 100}}},
    "delete": {"min_age": "30d", "actions": {"delete": {}}}}}}

ISM_POLICY = {"policy": {
    "description": "rollover nginx logs", "default_state": "hot",
    "states": [{"name": "hot", "actions": [{"rollover": {"min_index_age": "1d"}}],
                "transitions": [{"state_name": "delete", "conditions": {"min_index_age": "30d"}}]},
               {"name": "delete", "actions": [{"delete": {}}], "transitions": []}],
    "ism_template": {"index_patterns": ["logstash-*"], "priority": 100}}}


class Case(unittest.TestCase):
    flavor = "es8"
    kwargs = {}

    def setUp(self):
        self.d = EsDouble(flavor=self.flavor, refresh_interval_ms=-1, seed=7,
                          **self.kwargs).start()
        self.c = Client(self.d.port)
        self.clock(now="2024-05-01T12:00:00Z")

    def tearDown(self):
        self.c.close()
        self.d.stop()

    def clock(self, **spec):
        self.assertEqual(self.c.request("POST", "/_double/clock", body=spec).status, 200)

    def ok(self, method, path, body=None, status=200):
        r = self.c.request(method, path, body=body)
        self.assertEqual(r.status, status, r)
        return r.json

    def err(self, method, path, body=None, status=400, type_=None, reason=None):
        r = self.c.request(method, path, body=body)
        self.assertEqual(r.status, status, r)
        e = r.json["error"]
        if type_:
            self.assertEqual(e["type"], type_, e)
        if reason:
            self.assertEqual(e["reason"], reason)
        return e

    def index_of(self, bulk_reply, n=0):
        return next(iter(bulk_reply.json["items"][n].values()))


class AliasTest(Case):
    def test_bootstrap_like_fluent_plugin(self):
        self.assertEqual(self.c.request("HEAD", "/_alias/logstash").status, 404)
        self.assertEqual(self.c.get("/_alias/logstash").json,
                         {"error": "alias [logstash] missing", "status": 404})
        self.ok("PUT", DATE_MATH_FIRST)
        self.ok("PUT", DATE_MATH_FIRST + "/_alias/logstash",
                {"aliases": {"logstash": {"is_write_index": True}}})
        self.assertEqual(self.c.request("HEAD", "/_alias/logstash").status, 200)
        self.assertEqual(self.c.get("/_alias/logstash").json,
                         {"logstash-2024.05.01-000001": {"aliases": {"logstash":
                                                                     {"is_write_index": True}}}})
        r = self.c.bulk(ndjson({"index": {"_index": "logstash"}}, {"x": 1}))
        self.assertEqual(self.index_of(r)["_index"], "logstash-2024.05.01-000001")
        e = self.err("PUT", DATE_MATH_FIRST, type_="resource_already_exists_exception")
        self.assertTrue(e["reason"].startswith("index [logstash-2024.05.01-000001/"))

    def test_atomic_actions_and_write_index_rules(self):
        for n in ("a1", "a2"):
            self.ok("PUT", "/" + n)
        self.ok("POST", "/_aliases", {"actions": [{"add": {"index": "a1", "alias": "w"}},
                                                  {"add": {"index": "a2", "alias": "w"}}]})
        r = self.c.bulk(ndjson({"index": {"_index": "w"}}, {"x": 1}))
        e = self.index_of(r)["error"]
        self.assertTrue(e["reason"].startswith("no write index is defined for alias [w]"))
        self.err("POST", "/_aliases", {"actions": [
            {"add": {"index": "a1", "alias": "w", "is_write_index": True}},
            {"add": {"index": "a2", "alias": "w", "is_write_index": True}}]},
            type_="illegal_state_exception")
        self.assertEqual(self.c.get("/a1/_alias/w").json, {"a1": {"aliases": {"w": {}}}},
                         "a failed _aliases call changes nothing")
        self.err("POST", "/_aliases", {"actions": [
            {"add": {"index": "a1", "alias": "x"}},
            {"remove": {"index": "a1", "alias": "nope"}}]}, status=404,
            type_="aliases_not_found_exception")
        self.assertEqual(self.c.request("HEAD", "/_alias/x").status, 404)
        self.ok("POST", "/_aliases", {"actions": [
            {"add": {"index": "a2", "alias": "w", "is_write_index": True}}]})
        r = self.c.bulk(ndjson({"index": {"_index": "w"}}, {"x": 1}))
        self.assertEqual(self.index_of(r)["_index"], "a2")
        self.err("PUT", "/w", type_="invalid_index_name_exception")
        self.err("PUT", "/a1/_alias/a2", type_="invalid_alias_name_exception")

    def test_count_and_search_through_alias(self):
        self.ok("PUT", "/b1", {"aliases": {"all": {}}})
        self.ok("PUT", "/b2", {"aliases": {"all": {"is_write_index": True}}})
        self.c.bulk(ndjson({"index": {"_index": "b1"}}, {"x": 1}, {"index": {"_index": "all"}},
                           {"x": 2}), path="/_bulk?refresh=true")
        self.assertEqual(self.c.get("/all/_count").json["count"], 2)
        self.assertEqual(self.c.get("/b*/_count").json["count"], 2)
        self.assertEqual(self.c.counts(), {"b1": 1, "b2": 1})


class TemplateTest(Case):
    def test_legacy_template_applied_on_auto_create(self):
        self.ok("PUT", "/_template/logstash", {
            "index_patterns": ["logstash-*"], "order": 0,
            "settings": {"index.number_of_replicas": 0},
            "mappings": {"properties": {"@timestamp": {"type": "date"}}},
            "aliases": {"logs-read": {}}})
        self.assertEqual(self.c.request("HEAD", "/_template/logstash").status, 200)
        self.assertEqual(self.c.request("HEAD", "/_template/other").status, 404)
        self.assertEqual(self.c.get("/_template/other").status, 404)
        got = self.c.get("/_template/logstash").json["logstash"]
        self.assertEqual(got["settings"], {"index": {"number_of_replicas": "0"}})
        self.c.bulk(ndjson({"index": {"_index": "logstash-2024.05.01"}}, {"x": 1}))
        ix = self.c.get("/logstash-2024.05.01").json["logstash-2024.05.01"]
        self.assertEqual(ix["settings"]["index"]["number_of_replicas"], "0")
        self.assertEqual(ix["aliases"], {"logs-read": {}})
        self.assertEqual(ix["mappings"]["properties"]["@timestamp"]["type"], "date")

    def test_template_validation(self):
        self.err("PUT", "/_template/t", {"index_patterns": ["t-*"], "mappings": {"_doc": {
            "properties": {}}}}, type_="mapper_parsing_exception")
        self.err("PUT", "/_template/t", {"index_patterns": ["t-*"], "template": "x"},
                 reason="unknown key [template] in the template ")
        self.err("PUT", "/_template/t", {"order": 1}, type_="action_request_validation_exception")
        self.err("PUT", "/_template/t", {"index_patterns": ["t-*"], "settings": {
            "index.plugins.index_state_management.rollover_alias": "t"}},
            reason="unknown setting [index.plugins.index_state_management.rollover_alias] please "
                   "check that any required plugins are installed, or check the breaking changes "
                   "documentation for removed settings")

    def test_composable_wins_over_legacy_and_components(self):
        self.ok("PUT", "/_template/old", {"index_patterns": ["app-*"],
                                          "settings": {"number_of_replicas": 2}})
        self.err("PUT", "/_index_template/app", {"index_patterns": ["app-*"],
                                                 "composed_of": ["app-mappings"]},
                 reason="index template [app] specifies component templates [app-mappings] that "
                        "do not exist")
        self.ok("PUT", "/_component_template/app-mappings", {"template": {"mappings": {
            "properties": {"code": {"type": "keyword"}}}}})
        self.ok("PUT", "/_index_template/app", {"index_patterns": ["app-*"], "priority": 10,
                                                "composed_of": ["app-mappings"],
                                                "template": {"settings": {"number_of_replicas": 0}}})
        self.err("PUT", "/_index_template/app2", {"index_patterns": ["app-x*"], "priority": 10},
                 type_="illegal_argument_exception")
        self.err("PUT", "/_index_template/app3", {"index_patterns": ["a*"], "prio": 1},
                 type_="x_content_parse_exception")
        self.ok("PUT", "/app-1")
        ix = self.c.get("/app-1").json["app-1"]
        self.assertEqual(ix["settings"]["index"]["number_of_replicas"], "0")
        self.assertEqual(ix["mappings"]["properties"]["code"]["type"], "keyword")
        got = self.c.get("/_index_template/app").json["index_templates"][0]
        self.assertEqual(got["name"], "app")
        self.assertEqual(got["index_template"]["composed_of"], ["app-mappings"])
        self.err("GET", "/_index_template/zzz", status=404, type_="resource_not_found_exception")
        self.err("DELETE", "/_component_template/app-mappings", type_="illegal_argument_exception")

    def test_builtin_es_templates_can_be_disabled(self):
        names = [t["name"] for t in self.c.get("/_index_template").json["index_templates"]]
        self.assertIn("logs", names)
        with EsDouble(builtin_templates=False) as d, Client(d.port) as c:
            self.assertEqual(c.get("/_index_template").json["index_templates"], [])
            r = c.bulk(ndjson({"index": {"_index": "logs-a-b"}}, {"x": 1}))
            self.assertEqual(r.json["items"][0]["index"]["status"], 201)


class RolloverTest(Case):
    def bootstrap(self):
        self.ok("PUT", DATE_MATH_FIRST, {"aliases": {"logstash": {"is_write_index": True}}})

    def test_conditions_names_and_alias_swap(self):
        self.bootstrap()
        self.c.bulk(ndjson({"index": {"_index": "logstash"}}, {"x": 1}))
        r = self.ok("POST", "/logstash/_rollover", {"conditions": {"max_age": "1d",
                                                                   "max_docs": 5}})
        self.assertEqual(r, {"acknowledged": False, "shards_acknowledged": False,
                             "old_index": "logstash-2024.05.01-000001",
                             "new_index": "logstash-2024.05.01-000002", "rolled_over": False,
                             "dry_run": False, "lazy": False,
                             "conditions": {"[max_age: 1d]": False, "[max_docs: 5]": False}})
        self.clock(advance_s=86400)
        r = self.ok("POST", "/logstash/_rollover?dry_run", {"conditions": {"max_age": "1d"}})
        self.assertEqual((r["rolled_over"], r["dry_run"]), (False, True))
        r = self.ok("POST", "/logstash/_rollover", {"conditions": {"max_age": "1d"}})
        self.assertTrue(r["rolled_over"])
        self.assertEqual(r["new_index"], "logstash-2024.05.02-000002", "date math re-evaluated")
        aliases = self.c.get("/_alias/logstash").json
        self.assertEqual(aliases["logstash-2024.05.01-000001"]["aliases"]["logstash"],
                         {"is_write_index": False})
        self.assertEqual(aliases["logstash-2024.05.02-000002"]["aliases"]["logstash"],
                         {"is_write_index": True})
        r = self.c.bulk(ndjson({"index": {"_index": "logstash"}}, {"x": 2}))
        self.assertEqual(self.index_of(r)["_index"], "logstash-2024.05.02-000002")
        r = self.ok("POST", "/logstash/_rollover")
        self.assertEqual(r["new_index"], "logstash-2024.05.02-000003")

    def test_errors(self):
        self.err("POST", "/nothing/_rollover", reason="rollover target [nothing] does not exist")
        self.ok("PUT", "/plain")
        self.err("POST", "/plain/_rollover", type_="illegal_argument_exception")
        self.ok("PUT", "/noseq", {"aliases": {"ns": {}}})
        self.err("POST", "/ns/_rollover",
                 reason="index name [noseq] does not match pattern '^.*-\\d+$'")
        self.bootstrap()
        self.ok("PUT", "/logstash-2024.05.01-000002")
        self.err("POST", "/logstash/_rollover", type_="resource_already_exists_exception")
        self.err("POST", "/logstash/_rollover", {"conditions": {"max_bananas": 1}},
                 type_="x_content_parse_exception")
        self.ok("POST", "/_aliases", {"actions": [{"add": {"index": "plain", "alias": "two"}},
                                                  {"add": {"index": "noseq", "alias": "two"}}]})
        self.err("POST", "/two/_rollover",
                 reason="rollover target [two] does not point to a write index")

    def test_implicit_write_index_moves_alias(self):
        self.ok("PUT", "/app-000001", {"aliases": {"app": {}}})
        r = self.ok("POST", "/app/_rollover")
        self.assertEqual(r["new_index"], "app-000002")
        self.assertEqual(list(self.c.get("/_alias/app").json), ["app-000002"])


class IlmTest(Case):
    def test_policy_crud_and_validation(self):
        self.ok("PUT", "/_ilm/policy/logstash-policy", HOT_DELETE)
        got = self.c.get("/_ilm/policy/logstash-policy").json["logstash-policy"]
        self.assertEqual(got["version"], 1)
        self.assertEqual(got["policy"], HOT_DELETE["policy"])
        self.ok("PUT", "/_ilm/policy/logstash-policy", HOT_DELETE)
        self.assertEqual(self.c.get("/_ilm/policy").json["logstash-policy"]["version"], 2)
        self.err("GET", "/_ilm/policy/nope", status=404,
                 reason="Lifecycle policy not found: nope")
        bad = [
            ({"policy": {"phases": {"lukewarm": {"actions": {}}}}},
             "Timeseries lifecycle does not support phase [lukewarm]"),
            ({"policy": {"phases": {"warm": {"actions": {"rollover": {"max_age": "1d"}}}}}},
             "invalid action [rollover] defined in phase [warm]"),
            ({"policy": {"phases": {"hot": {"actions": {"rollover": {}}}}}},
             "At least one rollover condition must be set."),
            ({"policy": {"phases": {"hot": {"actions": {"shrink": {"number_of_shards": 1}}}}}},
             "the [shrink] action(s) may not be used in the [hot] phase without an accompanying "
             "[rollover] action"),
        ]
        for body, reason in bad:
            self.err("PUT", "/_ilm/policy/bad", body, reason=reason)
        self.err("PUT", "/_ilm/policy/bad", {"policy": {"phases": {"hot": {"actions": {
            "rollover": {"min_size": "1gb", "max_bananas": 1}}}}}}, type_="x_content_parse_exception")
        self.err("PUT", "/_ilm/policy/bad", {"phases": {}}, type_="x_content_parse_exception")

    def test_explain_and_runner(self):
        self.ok("PUT", "/_ilm/policy/logstash-policy", HOT_DELETE)
        self.ok("PUT", "/_template/logstash", {"index_patterns": ["logstash-*"], "settings": {
            "index.lifecycle.name": "logstash-policy",
            "index.lifecycle.rollover_alias": "logstash"}})
        self.ok("PUT", "/logstash-orphan-000001")
        ex = self.c.get("/logstash-orphan-000001/_ilm/explain").json["indices"]
        ex = ex["logstash-orphan-000001"]
        self.assertEqual(ex["step"], "ERROR")
        self.assertEqual(ex["step_info"]["reason"], "index.lifecycle.rollover_alias [logstash] "
                                                    "does not point to index "
                                                    "[logstash-orphan-000001]")
        self.ok("DELETE", "/logstash-orphan-000001")
        self.ok("PUT", DATE_MATH_FIRST, {"aliases": {"logstash": {"is_write_index": True}}})
        ex = self.c.get("/logstash-*/_ilm/explain").json["indices"]["logstash-2024.05.01-000001"]
        self.assertEqual((ex["managed"], ex["phase"], ex["action"], ex["step"]),
                         (True, "hot", "rollover", "check-rollover-ready"))
        self.err("DELETE", "/_ilm/policy/logstash-policy",
                 reason="Cannot delete policy [logstash-policy]. It is in use by one or more "
                        "indices: [logstash-2024.05.01-000001]")
        self.assertEqual(self.ok("POST", "/_double/lifecycle/run")["ilm"], [])
        self.clock(advance_s=86400)
        run = self.ok("POST", "/_double/lifecycle/run")["ilm"]
        self.assertEqual(run, [{"index": "logstash-2024.05.01-000001", "action": "rollover",
                                "new_index": "logstash-2024.05.02-000002"}])
        self.clock(advance_s=31 * 86400)
        run = self.ok("POST", "/_double/lifecycle/run")["ilm"]
        self.assertIn({"index": "logstash-2024.05.01-000001", "action": "delete"}, run)
        self.assertIn("logstash-2024.05.02-000002", self.c.get("/_alias/logstash").json)

    def test_xpack(self):
        b = self.c.get("/_xpack").json
        self.assertTrue(b["features"]["ilm"]["available"])


class AwsTest(Case):
    flavor = "es7"
    kwargs = {"aws": True}

    def test_blocked_apis(self):
        self.assertEqual(self.c.get("/_xpack").json,
                         {"Message": "Your request: '/_xpack' is not allowed."})
        r = self.c.request("PUT", "/_ilm/policy/x", body=HOT_DELETE)
        self.assertEqual(r.status, 401)
        r = self.c.request("PUT", "/_cluster/settings",
                           body={"persistent": {"cluster.routing.allocation.enable": "none"}})
        self.assertEqual(r.json, {"Message": "Your request: '/_cluster/settings' payload is not "
                                             "allowed."})
        self.ok("PUT", "/_opendistro/_ism/policies/p", ISM_POLICY, status=201)
        self.assertEqual(self.c.request("PUT", "/_plugins/_ism/policies/p",
                                        body=ISM_POLICY).status, 400)


class IsmTest(Case):
    flavor = "opensearch2"

    def test_policy_versioning_and_validation(self):
        r = self.ok("PUT", "/_plugins/_ism/policies/logstash-policy", ISM_POLICY, status=201)
        self.assertEqual((r["_id"], r["_version"]), ("logstash-policy", 1))
        self.assertEqual(r["policy"]["policy"]["policy_id"], "logstash-policy")
        self.assertEqual(r["policy"]["policy"]["ism_template"][0]["index_patterns"], ["logstash-*"])
        e = self.err("PUT", "/_plugins/_ism/policies/logstash-policy", ISM_POLICY, status=409,
                     type_="version_conflict_engine_exception")
        self.assertIn("document already exists", e["reason"])
        seq = r["_seq_no"]
        self.err("PUT", "/_plugins/_ism/policies/logstash-policy?if_seq_no=%d&if_primary_term=1"
                 % (seq + 5), ISM_POLICY, status=409)
        r = self.ok("PUT", "/_plugins/_ism/policies/logstash-policy?if_seq_no=%d&if_primary_term=1"
                    % seq, ISM_POLICY)
        self.assertEqual(r["_version"], 2)
        got = self.ok("GET", "/_plugins/_ism/policies/logstash-policy")
        self.assertEqual(got["_seq_no"], r["_seq_no"])
        self.err("GET", "/_plugins/_ism/policies/nope", status=404, reason="Policy not found")
        ilm_style = {"policy": {"description": "", "default_state": "hot", "states": [
            {"name": "hot", "actions": [{"rollover": {"max_size": "50gb"}}], "transitions": []}]}}
        self.err("PUT", "/_plugins/_ism/policies/bad", ilm_style,
                 reason="Invalid field: [max_size] found in RolloverAction.")
        self.assertEqual(self.c.request("PUT", "/_opendistro/_ism/policies/x",
                                        body=ISM_POLICY).status, 400, "no _opendistro on OS 2")
        self.err("PUT", "/_template/t", {"index_patterns": ["t-*"], "settings": {
            "index.lifecycle.name": "x"}}, type_="illegal_argument_exception")

    def test_ism_template_explain_and_runner(self):
        self.ok("PUT", "/_plugins/_ism/policies/logstash-policy", ISM_POLICY, status=201)
        self.ok("PUT", "/_template/logstash", {"index_patterns": ["logstash-*"], "settings": {
            "plugins.index_state_management.rollover_alias": "logstash"}})
        self.ok("PUT", DATE_MATH_FIRST, {"aliases": {"logstash": {"is_write_index": True}}})
        ex = self.ok("GET", "/_plugins/_ism/explain/logstash-2024.05.01-000001")
        self.assertEqual(ex["total_managed_indices"], 1)
        self.assertEqual(ex["logstash-2024.05.01-000001"]["policy_id"], "logstash-policy")
        self.clock(advance_s=86400)
        run = self.ok("POST", "/_double/lifecycle/run")["ism"]
        self.assertIn({"index": "logstash-2024.05.01-000001", "action": "rollover",
                       "new_index": "logstash-2024.05.02-000002"}, run)
        self.ok("PUT", "/unmanaged")
        r = self.ok("POST", "/_plugins/_ism/add/unmanaged", {"policy_id": "logstash-policy"})
        self.assertEqual(r, {"updated_indices": 1, "failures": False, "failed_indices": []})
        r = self.ok("POST", "/_plugins/_ism/add/unmanaged", {"policy_id": "logstash-policy"})
        self.assertTrue(r["failures"])
        self.err("POST", "/_plugins/_ism/add/unmanaged", {"policy_id": "nope"}, status=404)


class DataStreamTest(Case):
    def test_lifecycle_of_a_stream(self):
        self.err("PUT", "/_data_stream/logs-x", type_="illegal_argument_exception",
                 reason="no matching index template found for data stream [logs-x]")
        self.ok("PUT", "/_index_template/nginx", {"index_patterns": ["nginx-*"], "priority": 200,
                                                  "data_stream": {}})
        self.ok("PUT", "/_data_stream/nginx-prod")
        ds = self.ok("GET", "/_data_stream/nginx-prod")["data_streams"][0]
        self.assertEqual(ds["generation"], 1)
        self.assertEqual(ds["indices"][0]["index_name"], ".ds-nginx-prod-2024.05.01-000001")
        self.err("PUT", "/_data_stream/nginx-prod", type_="resource_already_exists_exception")
        r = self.c.bulk(ndjson({"create": {"_index": "nginx-prod"}},
                               {"@timestamp": "2024-05-01T12:00:00Z"},
                               {"index": {"_index": "nginx-prod"}},
                               {"@timestamp": "2024-05-01T12:00:00Z"},
                               {"create": {"_index": "nginx-auto"}},
                               {"@timestamp": "2024-05-01T12:00:00Z"}))
        st = [next(iter(i.values()))["status"] for i in r.json["items"]]
        self.assertEqual(st, [201, 400, 201])
        r = self.ok("POST", "/nginx-prod/_rollover")
        self.assertEqual(r["new_index"], ".ds-nginx-prod-2024.05.01-000002")
        r = self.c.bulk(ndjson({"create": {"_index": "nginx-prod"}}, {"@timestamp": "x"}),
                        path="/_bulk?refresh=true")
        self.assertEqual(self.index_of(r)["_index"], ".ds-nginx-prod-2024.05.01-000002")
        self.assertEqual(self.c.get("/nginx-prod/_count").json["count"], 1,
                         "refresh=true refreshes only the shards it wrote to")
        self.ok("POST", "/nginx-prod/_refresh")
        self.assertEqual(self.c.get("/nginx-prod/_count").json["count"], 2)
        self.assertEqual(len(self.c.docs("nginx-prod")), 2)
        self.err("DELETE", "/.ds-nginx-prod-2024.05.01-000002", type_="illegal_argument_exception")
        self.ok("DELETE", "/_data_stream/nginx-prod")
        self.assertEqual(self.c.request("HEAD", "/.ds-nginx-prod-2024.05.01-000001").status, 404)


class OpenSearchDataStreamTest(Case):
    flavor = "opensearch2"

    def test_backing_names_and_timestamp_error(self):
        self.ok("PUT", "/_index_template/nginx", {"index_patterns": ["nginx-*"],
                                                  "data_stream": {}})
        r = self.c.bulk(ndjson({"create": {"_index": "nginx-a"}}, {"x": 1},
                               {"create": {"_index": "nginx-a"}}, {"@timestamp": "2024"}))
        items = [i["create"] for i in r.json["items"]]
        self.assertEqual(items[0]["error"]["type"], "mapper_parsing_exception")
        self.assertEqual(items[1]["_index"], ".ds-nginx-a-000001")


if __name__ == "__main__":
    unittest.main()
