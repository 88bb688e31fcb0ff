"""@type elasticsearch_data_stream (policy, data-stream template, data
stream, then `create` actions) and plain templates (template_name +
template_file with customize_template, and `templates`) installed before
the first document auto-creates its index.

Real processes: skiff and the double (es8, opensearch2).
"""
from esilm import IlmCase, enc, json, unittest
from harness import run_skiff


class DataStream(IlmCase):
    def test_data_stream_on_elasticsearch(self):
        self.skiff("data_stream_name logs-nginx-${tag[1]}", type_="elasticsearch_data_stream")
        nums = self.write(12)
        self.wait_docs("logs-nginx-a", 12)
        self.assertEqual(self.calls(), [
            ("GET", "/_ilm/policy/logs-nginx-a_policy", 404),
            ("PUT", "/_ilm/policy/logs-nginx-a_policy", 200),
            ("GET", "/_index_template/logs-nginx-a_template", 404),
            ("PUT", "/_index_template/logs-nginx-a_template", 200),
            ("GET", "/_data_stream/logs-nginx-a", 404),
            ("PUT", "/_data_stream/logs-nginx-a", 200),
        ])
        self.assertEqual(self.bodies("^/_index_template/"), [{
            "index_patterns": ["logs-nginx-a*"], "priority": 212,
            "template": {"settings": {"index.lifecycle.name": "logs-nginx-a_policy"}},
            "data_stream": {}}])
        docs = self.docs("logs-nginx-a")
        self.assertEqual(sorted(d["_source"]["n"] for d in docs), nums)
        self.assertTrue(all(d["_index"].startswith(".ds-logs-nginx-a-2024.05.01-") for d in docs))
        self.assertTrue(all("@timestamp" in d["_source"] for d in docs))
        bodies = self.c.get("/_double/requests?bodies=true&path=%s" % enc("^/_bulk$")).json
        first = bodies["requests"][0]
        self.assertTrue(first["body"].startswith('{"create":{"_index":"logs-nginx-a"}}\n'),
                        first["body"][:200])
        self.assertNotIn("require_alias", first["query"])
        ds = self.ok("GET", "/_data_stream/logs-nginx-a")["data_streams"][0]
        self.assertEqual((ds["template"], ds["ilm_policy"]),
                         ("logs-nginx-a_template", "logs-nginx-a_policy"))

    def test_data_stream_on_opensearch(self):
        self.c.close()
        self.es.stop()
        from esilm import EsDouble, Client
        self.es = EsDouble(flavor="opensearch2", refresh_interval_ms=-1).start()
        self.c = Client(self.es.port, timeout=60)
        self.clock(now=self.now)
        self.skiff("data_stream_name nginx-ds\ndata_stream_template_name nginx-ds-t",
                   type_="elasticsearch_data_stream")
        self.write(3)
        self.wait_docs("nginx-ds", 3)
        self.assertEqual([c[:2] for c in self.calls()], [
            ("GET", "/_plugins/_ism/policies/nginx-ds_policy"),
            ("PUT", "/_plugins/_ism/policies/nginx-ds_policy"),
            ("GET", "/_index_template/nginx-ds-t"),
            ("PUT", "/_index_template/nginx-ds-t"),
            ("GET", "/_data_stream/nginx-ds"),
            ("PUT", "/_data_stream/nginx-ds"),
        ])
        tmpl = self.bodies("^/_index_template/")[0]
        self.assertNotIn("template", tmpl, "no ILM settings on OpenSearch")
        self.assertEqual(self.c.counts(), {".ds-nginx-ds-000001": 3})

    def test_bad_data_stream_name_refused_at_start(self):
        s = self.skiff("data_stream_name Logs", type_="elasticsearch_data_stream", start=False)
        self.skiffs.remove(s)  # never runs
        code, _, err = run_skiff("--dry-run", "-c", s.conf)
        self.assertNotEqual(code, 0)
        self.assertIn("'data_stream_name' must be lowercase only: <Logs>", err)


class Templates(IlmCase):
    def test_template_file_and_templates_before_the_first_document(self):
        main = self.tmp.join("main.json")
        extra = self.tmp.join("extra.json")
        with open(main, "w") as f:
            json.dump({"index_patterns": ["<<NAME>>*"], "priority": 50,
                       "template": {"settings": {"number_of_replicas": 0},
                                    "mappings": {"properties": {"n": {"type": "long"}}}}}, f)
        with open(extra, "w") as f:
            json.dump({"index_patterns": ["other-*"], "order": 1,
                       "settings": {"number_of_shards": 2}}, f)
        self.skiff("index_name web-${tag[1]}\ntemplate_name web-${tag[1]}\ntemplate_file %s\n"
                   "customize_template {\"<<NAME>>\":\"WEB-${tag[1]}\"}\n"
                   "templates {\"extra\":\"%s\"}" % (main, extra))
        self.write(4)
        self.wait_docs("web-a", 4)
        calls = self.calls()
        self.assertEqual(calls[:2], [("GET", "/_template/extra", 404),
                                     ("PUT", "/_template/extra", 200)])
        self.assertEqual(calls[2:], [("GET", "/_index_template/web-a", 404),
                                     ("PUT", "/_index_template/web-a", 200)])
        sent = self.bodies("^/_index_template/web-a")[0]
        self.assertEqual(sent["index_patterns"], ["web-a*"], "customize_template applied")
        ix = self.ok("GET", "/web-a")["web-a"]
        self.assertEqual(ix["settings"]["index"]["number_of_replicas"], "0")
        self.assertEqual(ix["mappings"]["properties"]["n"]["type"], "long")
        self.assertEqual(self.bulk_queries()[0].find("require_alias"), -1)

    def test_template_refused_fail_on_retry_exceed_false_goes_on(self):
        bad = self.tmp.join("bad.json")
        with open(bad, "w") as f:
            json.dump({"index_patterns": ["x-*"], "settings": {"index.bananas": 1}}, f)
        s = self.skiff("index_name x-1\ntemplate_name bad\ntemplate_file %s\n"
                       "max_retry_putting_template 1\nfail_on_putting_template_retry_exceed false"
                       % bad)
        self.write(2)
        self.wait_docs("x-1", 2)
        self.assertIn("unknown setting [index.bananas]", s.log())
        self.assertIn("going on without it (fail_on_putting_template_retry_exceed false)", s.log())
        self.assertEqual([c[2] for c in self.calls() if c[0] == "PUT"], [400, 400])


if __name__ == "__main__":
    unittest.main()
