"""Rollover aliases under pressure: the cluster rolls the index over while
skiff writes (nothing lost, nothing misplaced), two skiff processes
bootstrap the same alias at the same moment, and an alias deleted under a
running skiff is set up again instead of becoming a concrete index.

Real processes: skiff (one or two) and the double (es8, opensearch2).
"""
import threading
import time

from esilm import IlmCase, enc, unittest, wait_for

BOOT = "/" + enc("<nginx-default-{now/d}-000001>")
FIRST = "nginx-default-2024.05.01-000001"
CONF = "index_name nginx\nenable_ilm true\nilm_policy_id nginx-policy"


class Rollover(IlmCase):
    def writer(self, batches, size):
        """Appends `batches` batches as a busy web server would, paced, not
        synchronised with anything."""
        done = []

        def run():
            for _ in range(batches):
                done.extend(self.write(size))
                time.sleep(0.01)
        t = threading.Thread(target=run)
        t.start()
        return t, done

    def test_rollovers_while_writing_lose_nothing(self):
        self.skiff(CONF)
        sent = self.write(50)
        self.wait_docs("nginx", 50)
        t, more = self.writer(60, 10)
        self.wait_docs("nginx", 150)
        # ILM rolls over (the default policy's max_age 30d has passed) ...
        self.clock(advance_s=31 * 86400)
        run = self.ok("POST", "/_double/lifecycle/run")["ilm"]
        self.assertEqual(run, [{"index": FIRST, "action": "rollover",
                                "new_index": "nginx-default-2024.06.01-000002"}])
        self.wait_docs("nginx-default-2024.06.01-000002", 1)
        # ... and an operator rolls over by hand, still under load.
        r = self.ok("POST", "/nginx/_rollover")
        self.assertEqual(r["new_index"], "nginx-default-2024.06.01-000003")
        t.join()
        sent += more
        self.wait_docs("nginx", len(sent))
        self.assertEqual(self.numbers("nginx"), sorted(sent), "every record exactly once")
        counts = self.c.counts()
        self.assertEqual(sorted(counts), [FIRST, "nginx-default-2024.06.01-000002",
                                          "nginx-default-2024.06.01-000003"])
        self.assertTrue(all(v > 0 for v in counts.values()), counts)
        aliases = self.ok("GET", "/_alias/nginx")
        self.assertEqual(aliases["nginx-default-2024.06.01-000003"]["aliases"]["nginx"],
                         {"is_write_index": True})
        self.assertEqual([c for c in self.calls() if c[0] == "PUT" and c[1] == BOOT],
                         [("PUT", BOOT, 200)], "bootstrapped once")

    def test_deleted_alias_is_set_up_again(self):
        self.skiff(CONF)
        sent = self.write(5)
        self.wait_docs("nginx", 5)
        # Someone removes the alias (and the day's index) under skiff.
        self.ok("DELETE", "/" + FIRST)
        self.clock(advance_s=86400)
        sent = self.write(7)
        self.wait_log("alias 'nginx' is gone")
        self.wait_docs("nginx", 7)
        self.assertEqual(self.numbers("nginx"), sent)
        self.assertEqual(self.c.counts(), {"nginx-default-2024.05.02-000001": 7},
                         "no concrete index named 'nginx' was auto-created")


class TwoShippers(IlmCase):
    def race(self):
        # Slow look-ups make both processes see "absent" before either creates.
        self.c.faults([{"method": "HEAD", "path": "^/_alias/", "slow_ms": 700},
                       {"method": "GET", "path": "^/_(ilm|plugins)/", "slow_ms": 700}])
        a = self.skiff(CONF, name="a", start=False)
        b = self.skiff(CONF, name="b", start=False)
        na = self.write(30, name="a")
        nb = self.write(30, name="b")
        a.start()
        b.start()
        self.wait_docs("nginx", 60)
        self.assertEqual(self.numbers("nginx"), sorted(na + nb))
        self.assertEqual(self.c.counts(), {FIRST: 60})
        boots = sorted(c[2] for c in self.calls() if c[0] == "PUT" and c[1] == BOOT)
        self.assertEqual(boots, [200, 400], "one created the first index, the other was told")
        loser = a if "already exists (another shipper?)" in a.log() else b
        self.assertIn("checking alias 'nginx' again", loser.log())
        for s in (a, b):
            self.assertIn("rollover alias 'nginx' is ready", s.log())
        return self.calls()

    def test_same_alias_at_the_same_moment(self):
        calls = self.race()
        self.assertEqual(sorted(c[2] for c in calls if c[1] == "/_ilm/policy/nginx-policy"
                                and c[0] == "PUT"), [200, 200])


class TwoShippersOpenSearch(TwoShippers):
    flavor = "opensearch2"

    def test_same_alias_at_the_same_moment(self):
        calls = self.race()
        # The ISM policy exists once; the slower PUT meets a 409 and accepts it.
        self.assertEqual(sorted(c[2] for c in calls if c[0] == "PUT" and
                                c[1] == "/_plugins/_ism/policies/nginx-policy"), [201, 409])


if __name__ == "__main__":
    unittest.main()
