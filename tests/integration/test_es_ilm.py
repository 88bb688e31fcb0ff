"""ILM on Elasticsearch 8: policy, template and rollover alias before the
first document, with and without logstash_format (one alias per day),
overwrite on and off, and a server that refuses the policy.

Real processes: skiff tails a JSON-lines file into the Elasticsearch double
(es8 persona, clock frozen at 2024-05-01 12:00 UTC).
"""
import re

from esilm import IlmCase, enc, json, unittest, wait_for
from harness import SRC

BOOT = "/" + enc("<nginx-default-{now/d}-000001>")
FIRST = "nginx-default-2024.05.01-000001"

DEFAULT_POLICY = {"policy": {"phases": {"hot": {"min_age": "0ms", "actions": {
    "rollover": {"max_size": "50gb", "max_age": "30d"}}}}}}


class EsIlm(IlmCase):
    def test_alias_policy_template_in_order(self):
        self.skiff("index_name nginx\nenable_ilm true\nilm_policy_id nginx-policy")
        nums = self.write(25)
        self.wait_docs("nginx", 25)
        self.assertEqual(self.calls(), [
            ("GET", "/_ilm/policy/nginx-policy", 404),
            ("PUT", "/_ilm/policy/nginx-policy", 200),
            ("GET", "/_index_template/nginx", 404),
            ("PUT", "/_index_template/nginx", 200),
            ("HEAD", "/_alias/nginx", 404),
            ("PUT", BOOT, 200),
        ])
        self.assertEqual(self.bodies("^/_ilm/policy/"), [DEFAULT_POLICY])
        self.assertEqual(self.bodies("^/_index_template/"), [{
            "index_patterns": ["nginx-*"], "priority": 101, "template": {"settings": {
                "index.lifecycle.name": "nginx-policy",
                "index.lifecycle.rollover_alias": "nginx"}}}])
        self.assertEqual(self.bodies("^/%3C"), [{"aliases": {"nginx": {"is_write_index": True}}}])
        # Every bulk request addresses the alias and requires it to be one.
        queries = self.bulk_queries()
        self.assertTrue(queries and all("require_alias=true" in q for q in queries), queries)
        self.assertEqual(self.c.counts().get(FIRST), 25)
        self.assertEqual(self.numbers("nginx"), nums)
        ix = self.ok("GET", "/" + FIRST)[FIRST]
        self.assertEqual(ix["settings"]["index"]["lifecycle"],
                         {"name": "nginx-policy", "rollover_alias": "nginx"})
        ex = self.ok("GET", "/%s/_ilm/explain" % FIRST)["indices"][FIRST]
        self.assertEqual((ex["managed"], ex["step"]), (True, "check-rollover-ready"))

        # A restart finds everything in place: nothing is created again.
        self.skiffs[0].stop()
        self.c.request("DELETE", "/_double/requests")
        self.skiff("index_name nginx\nenable_ilm true\nilm_policy_id nginx-policy", name="a")
        nums += self.write(5)
        self.wait_docs("nginx", 30)
        self.assertEqual(self.calls(), [
            ("GET", "/_ilm/policy/nginx-policy", 200),
            ("GET", "/_index_template/nginx", 200),
            ("HEAD", "/_alias/nginx", 200),
        ])
        self.assertEqual(self.numbers("nginx"), nums)

    def test_logstash_format_one_alias_per_day(self):
        self.skiff("logstash_format true\nlogstash_prefix web\nenable_ilm true")
        day1 = self.write(10, **{"@timestamp": "2024-05-01T10:00:00Z"})
        day2 = self.write(7, **{"@timestamp": "2024-05-02T08:00:00Z"})
        self.wait_docs("web-2024.05.01", 10)
        self.wait_docs("web-2024.05.02", 7)
        self.assertEqual(self.numbers("web-2024.05.01"), day1)
        self.assertEqual(self.numbers("web-2024.05.02"), day2)
        counts = self.c.counts()
        self.assertEqual(counts.get("web-default-2024.05.01-000001"), 10)
        self.assertEqual(counts.get("web-default-2024.05.02-000001"), 7)
        self.assertNotIn("web-2024.05.01", counts, "no concrete index named like the alias")
        # One policy for every day, one template and one alias per day.
        calls = self.calls()
        self.assertEqual([c for c in calls if c[0] == "PUT" and "_ilm" in c[1]],
                         [("PUT", "/_ilm/policy/logstash-policy", 200)])
        for day in ("2024.05.01", "2024.05.02"):
            self.assertIn(("PUT", "/_index_template/web-" + day, 200), calls)
            self.assertIn(("PUT", "/" + enc("<web-default-%s-000001>" % day), 200), calls)
        tmpl = self.ok("GET", "/_index_template/web-2024.05.02")["index_templates"][0]
        self.assertEqual(tmpl["index_template"]["index_patterns"], ["web-default-2024.05.02-*"])
        self.assertEqual(tmpl["index_template"]["template"]["settings"]["index"]["lifecycle"],
                         {"name": "logstash-policy", "rollover_alias": "web-2024.05.02"})

        # A new day while running: its alias is set up when first needed.
        day3 = self.write(4, **{"@timestamp": "2024-05-03T00:00:01Z"})
        self.wait_docs("web-2024.05.03", 4)
        self.assertEqual(self.numbers("web-2024.05.03"), day3)
        self.assertIn(("GET", "/_ilm/policy/logstash-policy", 200), self.calls())

    def test_overwrite_off_keeps_what_exists(self):
        theirs = {"policy": {"phases": {"hot": {"actions": {"rollover": {"max_docs": 5}}}}}}
        self.ok("PUT", "/_ilm/policy/nginx-policy", theirs)
        self.ok("PUT", "/_index_template/nginx", {"index_patterns": ["nginx-*"], "priority": 7,
                                                  "template": {"settings": {
                                                      "index.lifecycle.name": "nginx-policy",
                                                      "index.lifecycle.rollover_alias": "nginx"}}})
        self.c.request("DELETE", "/_double/requests")
        self.skiff("index_name nginx\nenable_ilm true\nilm_policy_id nginx-policy\n"
                   "ilm_policy {\"policy\":{\"phases\":{\"hot\":{\"actions\":{\"rollover\":"
                   "{\"max_age\":\"1d\"}}}}}}")
        self.write(3)
        self.wait_docs("nginx", 3)
        self.assertEqual([c[0] for c in self.calls()], ["GET", "GET", "HEAD", "PUT"])
        got = self.ok("GET", "/_ilm/policy/nginx-policy")["nginx-policy"]
        self.assertEqual(got["policy"], theirs["policy"])
        self.assertEqual(got["version"], 1)
        tmpl = self.ok("GET", "/_index_template/nginx")["index_templates"][0]["index_template"]
        self.assertEqual(tmpl["priority"], 7)

    def test_overwrite_on_replaces_once(self):
        self.ok("PUT", "/_ilm/policy/nginx-policy", DEFAULT_POLICY)
        self.ok("PUT", "/_index_template/nginx", {"index_patterns": ["nginx-*"], "priority": 7})
        self.c.request("DELETE", "/_double/requests")
        ours = {"policy": {"phases": {"hot": {"actions": {"rollover": {"max_age": "1d"}}}}}}
        self.skiff("index_name nginx\nenable_ilm true\nilm_policy_id nginx-policy\n"
                   "ilm_policy %s\nilm_policy_overwrite true\ntemplate_overwrite true"
                   % json.dumps(ours))
        self.write(3)
        self.wait_docs("nginx", 3)
        # An overwrite does not look first (fluent-plugin-elasticsearch's order).
        self.assertEqual(self.calls(), [
            ("PUT", "/_ilm/policy/nginx-policy", 200),
            ("PUT", "/_index_template/nginx", 200),
            ("HEAD", "/_alias/nginx", 404),
            ("PUT", BOOT, 200),
        ])
        got = self.ok("GET", "/_ilm/policy/nginx-policy")["nginx-policy"]
        self.assertEqual((got["policy"], got["version"]), (ours["policy"], 2))
        tmpl = self.ok("GET", "/_index_template/nginx")["index_templates"][0]["index_template"]
        self.assertEqual(tmpl["priority"], 101)
        self.assertEqual(self.c.counts().get(FIRST), 3)

    def test_refused_policy_keeps_events_and_retries(self):
        self.c.faults({"path": "^/_ilm/policy/", "method": "PUT", "status": 400, "fail_next_n": 2,
                       "name": "policy-refused"})
        s = self.skiff("index_name nginx\nenable_ilm true\nilm_policy_id nginx-policy")
        nums = self.write(12)
        self.wait_log("installing ILM policy 'nginx-policy' failed (HTTP 400")
        self.assertIn("events for 'nginx' stay buffered", s.log())
        self.wait_docs("nginx", 12)
        self.assertEqual(self.numbers("nginx"), nums)
        puts = [c for c in self.calls() if c[1] == "/_ilm/policy/nginx-policy" and c[0] == "PUT"]
        self.assertEqual([c[2] for c in puts], [400, 400, 200])
        # Nothing was written before the alias existed.
        seqs = self.c.get("/_double/requests").json["requests"]
        first_bulk = min(e["seq"] for e in seqs if e["path"] == "/_bulk")
        boot = [e["seq"] for e in seqs if e["path"] == BOOT and e["status"] == 200]
        self.assertLess(boot[0], first_bulk)
        self.assertEqual(sorted(self.c.counts()), [FIRST])

    def test_invalid_policy_is_a_clear_error(self):
        s = self.skiff("index_name nginx\nenable_ilm true\nilm_policy_id bad\n"
                       "ilm_policy {\"policy\":{\"phases\":{\"lukewarm\":{\"actions\":{}}}}}")
        self.write(4)
        self.wait_log("Timeseries lifecycle does not support phase [lukewarm]")
        wait_for(lambda: s.log().count("installing ILM policy 'bad' failed") >= 2, timeout=10,
                 what="a second attempt")
        self.assertEqual(self.c.counts(), {}, "no index, no document while the policy is refused")
        self.assertEqual([c for c in self.calls() if c[0] != "GET" and "_ilm" not in c[1]], [])

    def test_shipped_policy_installs_as_written(self):
        with open(SRC + "/conf/ilm/hot-warm-cold.ilm.json") as f:
            shipped = json.load(f)
        with open(SRC + "/conf/nginx-elasticsearch-ilm.conf") as f:
            conf = f.read()
        m = re.search(r"^  ilm_policy (\{.*?^  \})$", conf, re.S | re.M)
        self.assertEqual(json.loads(m.group(1)), shipped, "the .conf inlines the .json")
        self.skiff("index_name nginx\nenable_ilm true\nilm_policy_id nginx-hot-warm-cold\n"
                   "ilm_policy " + json.dumps(shipped))
        self.write(2)
        self.wait_docs("nginx", 2)
        got = self.ok("GET", "/_ilm/policy/nginx-hot-warm-cold")["nginx-hot-warm-cold"]
        self.assertEqual(got["policy"], shipped["policy"])

    def test_template_file_gets_the_lifecycle_settings(self):
        tfile = self.tmp.join("nginx.json")
        with open(tfile, "w") as f:
            json.dump({"index_patterns": ["whatever-*"], "order": 2,
                       "settings": {"number_of_replicas": 0,
                                    "index.lifecycle.name": "not-this-one"},
                       "mappings": {"properties": {"n": {"type": "long"}}}}, f)
        self.skiff("index_name nginx\nenable_ilm true\nilm_policy_id nginx-policy\n"
                   "template_name ignored-with-ilm\ntemplate_file " + tfile)
        self.write(3)
        self.wait_docs("nginx", 3)
        # A legacy file goes to _template; with ILM it is named after the alias.
        self.assertIn(("PUT", "/_template/nginx", 200), self.calls())
        self.assertEqual(self.bodies("^/_template/"), [{
            "mappings": {"properties": {"n": {"type": "long"}}},
            "index_patterns": ["nginx-*"], "order": 3,
            "settings": {"number_of_replicas": 0, "index.lifecycle.name": "nginx-policy",
                         "index.lifecycle.rollover_alias": "nginx"}}])
        ix = self.ok("GET", "/" + FIRST)[FIRST]
        self.assertEqual(ix["settings"]["index"]["number_of_replicas"], "0")
        self.assertEqual(ix["mappings"]["properties"]["n"]["type"], "long")


class EsRolloverOnly(IlmCase):
    def test_rollover_index_with_deflector_alias_and_legacy_template_file(self):
        tfile = self.tmp.join("t.json")
        with open(tfile, "w") as f:
            json.dump({"index_patterns": ["app-*"], "order": 3,
                       "settings": {"number_of_replicas": 0},
                       "mappings": {"properties": {"n": {"type": "long"}}}}, f)
        self.skiff("rollover_index true\nindex_name app\ndeflector_alias app-write\n"
                   "index_date_pattern \"\"\ntemplate_name app-tmpl\ntemplate_file " + tfile)
        self.write(6)
        self.wait_docs("app-write", 6)
        self.assertEqual(self.calls(), [
            ("GET", "/_template/app-tmpl", 404),
            ("PUT", "/_template/app-tmpl", 200),
            ("HEAD", "/_alias/app-write", 404),
            ("PUT", "/" + enc("<app-default-000001>"), 200),
        ])
        self.assertEqual(self.c.counts(), {"app-default-000001": 6})
        ix = self.ok("GET", "/app-default-000001")["app-default-000001"]
        self.assertEqual(ix["settings"]["index"]["number_of_replicas"], "0")


if __name__ == "__main__":
    unittest.main()
