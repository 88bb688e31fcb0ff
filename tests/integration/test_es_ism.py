"""The same ILM configuration on OpenSearch 2: an ISM policy (translated
from the ILM one, attached by ism_template), the ISM rollover-alias
setting in the template, the alias bootstrapped as on Elasticsearch, an
ISM rollover while skiff writes, overwrites with seq_no, and an ILM-only
policy refused with a clear error.

Real processes: skiff tails a JSON-lines file into the double (opensearch2
persona, clock frozen at 2024-05-01 12:00 UTC).
"""
from esilm import IlmCase, enc, json, unittest, wait_for
from harness import SRC

BOOT = "/" + enc("<nginx-default-{now/d}-000001>")
FIRST = "nginx-default-2024.05.01-000001"
CONF = "index_name nginx\nenable_ilm true\nilm_policy_id nginx-policy"


class Ism(IlmCase):
    flavor = "opensearch2"

    def test_ism_policy_template_alias_and_rollover(self):
        self.skiff(CONF)
        nums = self.write(20)
        self.wait_docs("nginx", 20)
        self.assertEqual(self.calls(), [
            ("GET", "/_plugins/_ism/policies/nginx-policy", 404),
            ("PUT", "/_plugins/_ism/policies/nginx-policy", 201),
            ("GET", "/_index_template/nginx", 404),
            ("PUT", "/_index_template/nginx", 200),
            ("HEAD", "/_alias/nginx", 404),
            ("PUT", BOOT, 200),
        ])
        policy = self.bodies("^/_plugins/_ism/policies/")[0]["policy"]
        self.assertEqual(policy["default_state"], "hot")
        self.assertEqual(policy["states"][0]["actions"],
                         [{"rollover": {"min_size": "50gb", "min_index_age": "30d"}}])
        self.assertEqual(policy["ism_template"], [{"index_patterns": ["nginx-*"], "priority": 100}])
        self.assertEqual(self.bodies("^/_index_template/")[0]["template"]["settings"],
                         {"plugins.index_state_management.rollover_alias": "nginx"})
        ex = self.ok("GET", "/_plugins/_ism/explain/" + FIRST)
        self.assertEqual(ex[FIRST]["policy_id"], "nginx-policy")

        # ISM rolls the index over (30 days later); documents follow the alias.
        self.clock(advance_s=31 * 86400)
        run = self.ok("POST", "/_double/lifecycle/run")["ism"]
        self.assertIn({"index": FIRST, "action": "rollover",
                       "new_index": "nginx-default-2024.06.01-000002"}, run)
        nums += self.write(15)
        self.wait_docs("nginx", 35)
        counts = self.c.counts()
        self.assertEqual(counts, {FIRST: 20, "nginx-default-2024.06.01-000002": 15})
        self.assertEqual(self.numbers("nginx"), nums)
        ex = self.ok("GET", "/_plugins/_ism/explain/nginx-default-2024.06.01-000002")
        self.assertEqual(ex["total_managed_indices"], 1, "the new index is managed too")

    def test_overwrite_uses_seq_no(self):
        ism = {"policy": {"description": "old", "default_state": "hot", "states": [
            {"name": "hot", "actions": [{"rollover": {"min_doc_count": 5}}], "transitions": []}]}}
        first = self.ok("PUT", "/_plugins/_ism/policies/nginx-policy", ism)
        self.c.request("DELETE", "/_double/requests")
        ours = {"policy": {"phases": {"hot": {"actions": {"rollover": {"max_age": "1d"}}}}}}
        self.skiff(CONF + "\nilm_policy %s\nilm_policy_overwrite true" % json.dumps(ours))
        self.write(2)
        self.wait_docs("nginx", 2)
        puts = [e for e in self.c.get("/_double/requests?method=PUT&path=%s"
                                      % enc("^/_plugins")).json["requests"]]
        self.assertEqual(len(puts), 1)
        self.assertEqual(puts[0]["params"], {"if_seq_no": str(first["_seq_no"]),
                                             "if_primary_term": "1"})
        got = self.ok("GET", "/_plugins/_ism/policies/nginx-policy")
        self.assertEqual(got["_version"], 2)
        self.assertEqual(got["policy"]["states"][0]["actions"][0]["rollover"],
                         {"min_index_age": "1d"})

    def test_existing_policy_is_kept(self):
        ism = {"policy": {"description": "theirs", "default_state": "hot", "states": [
            {"name": "hot", "actions": [], "transitions": []}],
            "ism_template": {"index_patterns": ["nginx-*"], "priority": 5}}}
        self.ok("PUT", "/_plugins/_ism/policies/nginx-policy", ism)
        self.skiff(CONF)
        self.write(2)
        self.wait_docs("nginx", 2)
        got = self.ok("GET", "/_plugins/_ism/policies/nginx-policy")
        self.assertEqual((got["_version"], got["policy"]["description"]), (1, "theirs"))

    def test_ilm_only_policy_refused(self):
        cold = {"policy": {"phases": {"hot": {"actions": {"rollover": {"max_age": "1d"}}},
                                      "cold": {"min_age": "30d", "actions": {
                                          "searchable_snapshot": {"snapshot_repository": "r"}}}}}}
        s = self.skiff(CONF + "\nilm_policy " + json.dumps(cold))
        self.write(3)
        self.wait_log("ILM action [searchable_snapshot] in phase [cold] has no ISM equivalent")
        self.assertIn("events for 'nginx' stay buffered", s.log())
        self.assertEqual(self.c.counts(), {})
        self.assertEqual([c for c in self.calls() if c[0] == "PUT"], [])

    def test_shipped_policy_becomes_the_shipped_ism(self):
        with open(SRC + "/conf/ilm/hot-warm-cold.ilm.json") as f:
            ilm = json.load(f)
        with open(SRC + "/conf/ilm/hot-warm-cold.ism.json") as f:
            ism = json.load(f)
        self.skiff("index_name nginx\nenable_ilm true\nilm_policy_id nginx-hot-warm-cold\n"
                   "ilm_policy " + json.dumps(ilm))
        self.write(2)
        self.wait_docs("nginx", 2)
        sent = self.bodies("^/_plugins/_ism/policies/")[0]["policy"]
        for key in ("default_state", "states", "ism_template"):
            self.assertEqual(sent[key], ism["policy"][key], key)
        # The double accepted it (the real validation rules) and manages the index.
        ex = self.ok("GET", "/_plugins/_ism/explain/" + FIRST)
        self.assertEqual(ex[FIRST]["policy_id"], "nginx-hot-warm-cold")


class IsmForced(IlmCase):
    """lifecycle_api forces the dialect: ILM against OpenSearch fails clearly."""
    flavor = "opensearch2"

    def test_forced_ilm_on_opensearch(self):
        s = self.skiff(CONF + "\nlifecycle_api ilm")
        self.write(1)
        self.wait_log("no handler found")
        self.assertIn("set lifecycle_api to what it speaks", s.log())
        wait_for(lambda: self.calls(), what="a request")
        self.assertEqual(self.c.counts(), {})


class OpenDistro(IlmCase):
    """Amazon Elasticsearch Service 7.10: no ILM, ISM under _opendistro."""
    flavor = "es7"
    double_args = {"aws": True}

    def test_ilm_refused_with_a_hint(self):
        s = self.skiff(CONF)
        self.write(1)
        self.wait_log("Amazon Elasticsearch Service has no ILM: set lifecycle_api opendistro_ism")
        self.assertEqual(self.c.counts(), {})
        s.stop()

    def test_opendistro_ism(self):
        self.skiff(CONF + "\nlifecycle_api opendistro_ism")
        self.write(4)
        self.wait_docs("nginx", 4)
        self.assertEqual([c[:2] for c in self.calls()], [
            ("GET", "/_opendistro/_ism/policies/nginx-policy"),
            ("PUT", "/_opendistro/_ism/policies/nginx-policy"),
            ("GET", "/_index_template/nginx"),
            ("PUT", "/_index_template/nginx"),
            ("HEAD", "/_alias/nginx"),
            ("PUT", BOOT),
        ])
        self.assertEqual(self.bodies("^/_index_template/")[0]["template"]["settings"],
                         {"opendistro.index_state_management.rollover_alias": "nginx"})
        self.assertEqual(self.c.counts(), {FIRST: 4})


class SignedOpenDistro(IlmCase):
    """Behind SigV4 every set-up request is signed like the bulk ones."""
    flavor = "es7"
    double_args = {"aws": True, "sigv4": {"access_key": "AKIDSKIFFILMTEST0001",
                                          "secret": "skiff/ilm/secret", "region": "eu-west-1",
                                          "service": "es"}}
    now = None  # SigV4 allows 5 minutes of clock skew: the double keeps real time

    def test_signed_setup(self):
        self.skiff(CONF + "\nlifecycle_api opendistro_ism\n<endpoint>\n"
                   "  url http://127.0.0.1:%d\n  region eu-west-1\n"
                   "  access_key_id AKIDSKIFFILMTEST0001\n  secret_access_key skiff/ilm/secret\n"
                   "</endpoint>" % self.es.port)
        self.write(3)
        self.wait_docs("nginx", 3)
        self.assertEqual([c[2] for c in self.calls()], [404, 201, 404, 200, 404, 200])
        (index, n), = self.c.counts().items()
        self.assertEqual((index[:14], index[-7:], n), ("nginx-default-", "-000001", 3))


if __name__ == "__main__":
    unittest.main()
