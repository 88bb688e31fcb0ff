"""What skiff puts on the wire, decided by the server and the configuration.

Real skiff, the Elasticsearch double:
  * `_type` by server version (GET /): `_doc` for Elasticsearch 7, none for
    8 and OpenSearch 2, none for 7 with `suppress_type_name true`;
  * gzip request bodies at `compression_level`;
  * basic auth written into `hosts` URLs (percent-escaped);
  * 401/403 answers are logged loudly with the server's own message, the
    events stay in the buffer and arrive once the server lets them in.
"""
import json
import os
import re
import sys
import unittest

from eshelp import LINE, delivered, quiet, wait_all, write_lines  # noqa: F401
from harness import SRC, Skiff, TempDir, wait_for

sys.path.insert(0, os.path.join(SRC, "tests", "esdouble"))
from esdouble import EsDouble  # noqa: E402


CONFIG = """
<source>
  @type tail
  path {log}
  pos_file {dir}/tail.pos
  read_from_head true
  tag nginx.access
  <parse>
    @type nginx
  </parse>
</source>

<match nginx.**>
  @type elasticsearch
{where}
  logstash_format true
  logstash_prefix es-log
  request_timeout 10s
{extra}
  <buffer tag>
    @type file
    path {dir}/buffer
    flush_interval 200ms
    chunk_limit_size 64k
    retry_wait 200ms
    retry_max_interval 1s
    retry_forever true
  </buffer>
</match>
"""


def action_lines(es, seq):
    body = es.reqlog.body(seq).decode()
    lines = body.split("\n")
    return [json.loads(lines[i]) for i in range(0, len(lines) - 1, 2)]


class Dialect(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.es = None
        self.skiff = None
        self.runs = 0

    def tearDown(self):
        if self.skiff is not None:
            self.skiff.stop()
        if self.es is not None:
            self.es.stop()
        self.tmp.cleanup()

    def start(self, extra="", where=None, **double):
        """A fresh double and skiff (own directory per run)."""
        if self.skiff is not None:
            self.assertEqual(self.skiff.stop(), 0)
        if self.es is not None:
            self.es.stop()
        self.runs += 1
        d = self.tmp.join("run%d" % self.runs)
        os.makedirs(d)
        self.log = os.path.join(d, "access.log")
        open(self.log, "w").close()
        self.es = EsDouble(**double).start()
        if where is None:
            where = "  host 127.0.0.1\n  port %d" % self.es.port
        self.skiff = Skiff(d, CONFIG.format(log=self.log, dir=d, where=where % {
            "port": self.es.port} if "%(port)" in where else where, extra=extra)).start()
        return self.skiff

    # --- _type ---------------------------------------------------------------------------

    def check_type(self, flavor, extra, want_type, version_text):
        s = self.start(extra=extra, flavor=flavor)
        write_lines(self.log, 0, 30)
        wait_all(self.es, 30)
        bulks = [r for r in self.es.requests(r"_bulk$") if r["status"] == 200]
        self.assertTrue(bulks)
        for r in bulks:
            for a in action_lines(self.es, r["seq"]):
                meta = a["index"]
                if want_type is None:
                    self.assertNotIn("_type", meta, (flavor, a))
                else:
                    self.assertEqual(meta.get("_type"), want_type, (flavor, a))
        # No request was refused on the way (no 400 about _type, then a resend).
        self.assertEqual([r["status"] for r in self.es.requests(r"_bulk$") if r["status"] != 200],
                         [])
        wait_for(lambda: version_text in s.log(), timeout=10, what="version log line")
        self.assertEqual(set(delivered(self.es).values()), {1})

    def test_type_es7_is_doc(self):
        self.check_type("es7", "", "_doc", "Elasticsearch 7.17.9")

    def test_type_es7_suppressed(self):
        self.check_type("es7", "suppress_type_name true", None, "Elasticsearch 7.17.9")

    def test_type_es8_absent(self):
        self.check_type("es8", "", None, "Elasticsearch 8.13.4")

    def test_type_opensearch2_absent(self):
        self.check_type("opensearch2", "", None, "OpenSearch 2.19.1")

    def test_type_amazon_es_7_10(self):
        """Amazon Elasticsearch Service 7.10 (OSS build, no X-Elastic-Product):
        `_doc`; its `_nodes/http` has no addresses, so sniffing keeps the host."""
        s = self.start(flavor="es7", aws=True,
                       extra="  reload_connections true\n  reload_after 2")
        write_lines(self.log, 0, 300)
        seen = wait_all(self.es, 300)
        self.assertEqual(set(seen.values()), {1})
        for r in [r for r in self.es.requests(r"_bulk$")][:3]:
            self.assertEqual(action_lines(self.es, r["seq"])[0]["index"].get("_type"), "_doc")
        wait_for(lambda: self.es.requests(r"^/_nodes/http$"), timeout=30, what="a sniff")
        wait_for(lambda: "lists no HTTP addresses" in s.log(), timeout=30, what="sniff result")
        total = 300
        while len(self.es.requests(r"^/_nodes/http$")) < 3:  # more sniffs: said once
            write_lines(self.log, total, 50)
            total += 50
            wait_all(self.es, total)
            self.assertLess(total, 3000, "no more sniffs")
        self.assertEqual(s.log().count("lists no HTTP addresses"), 1)

    def test_type_es8_without_version_check(self):
        """verify_es_version_at_startup false with the default version 5 sends
        `_type`; Elasticsearch 8 refuses the whole request once and skiff goes on
        without it: every document arrives once."""
        s = self.start(extra="verify_es_version_at_startup false", flavor="es8")
        write_lines(self.log, 0, 50)
        seen = wait_all(self.es, 50)
        self.assertEqual(set(seen.values()), {1})
        statuses = [r["status"] for r in self.es.requests(r"_bulk$")]
        self.assertIn(400, statuses)
        self.assertEqual(statuses[-1], 200)
        self.assertEqual(self.es.requests(r"^/$"), [])
        wait_for(lambda: "refuses _type" in s.log(), timeout=10, what="_type warning")

    # --- gzip ------------------------------------------------------------------------------

    def test_gzip_compression_level(self):
        sizes = {}
        for level in ("best_speed", "best_compression"):
            self.start(extra="compression_level %s" % level, flavor="es8")
            write_lines(self.log, 0, 400)
            seen = wait_all(self.es, 400)
            self.assertEqual(set(seen.values()), {1})
            bulks = [r for r in self.es.requests(r"_bulk$")]
            self.assertTrue(bulks)
            for r in bulks:
                self.assertEqual(r["status"], 200)
                self.assertEqual(r["content_encoding"], "gzip")
                self.assertLess(r["body_bytes"], r["body_decoded_bytes"] / 3, r)
            sizes[level] = (sum(r["body_bytes"] for r in bulks),
                            sum(r["body_decoded_bytes"] for r in bulks))
        # Same documents, different levels: best_compression is not bigger.
        self.assertLessEqual(sizes["best_compression"][0], sizes["best_speed"][0])

    def test_no_compression_by_default(self):
        self.start(flavor="es8")
        write_lines(self.log, 0, 20)
        wait_all(self.es, 20)
        for r in self.es.requests(r"_bulk$"):
            self.assertIsNone(r["content_encoding"])
            self.assertEqual(r["body_bytes"], r["body_decoded_bytes"])

    # --- credentials ---------------------------------------------------------------------

    def test_basic_auth_in_hosts_url(self):
        """hosts http://user:p%40ss%3Aw%2Frd@127.0.0.1:port: the escapes are decoded."""
        self.start(where="  hosts http://shipper:p%%40ss%%3Aw%%2Frd@127.0.0.1:%(port)d",
                   flavor="es8", user="shipper", password="p@ss:w/rd")
        write_lines(self.log, 0, 50)
        seen = wait_all(self.es, 50)
        self.assertEqual(set(seen.values()), {1})
        reqs = self.es.requests()
        self.assertTrue(reqs)
        self.assertTrue(all(r["status"] == 200 for r in reqs), [r["status"] for r in reqs])
        # The password never shows in skiff's log.
        self.assertNotIn("p@ss", self.skiff.log())
        self.assertNotIn("p%40ss", self.skiff.log())

    def test_401_logged_loudly_then_delivered(self):
        """Wrong password: the server's words are in the log at error level, the
        events stay; once the server accepts the password every event arrives."""
        s = self.start(where="  hosts http://shipper:wrong@127.0.0.1:%(port)d",
                       flavor="es8", user="shipper", password="right")
        write_lines(self.log, 0, 120)
        # GET / (the version) is refused first; skiff asks again and again.
        wait_for(lambda: len([r for r in self.es.requests() if r["status"] == 401]) >= 3,
                 timeout=30, what="requests refused with 401 and retried")
        log = s.log()
        self.assertRegex(log, r"(?i)error.*401.*unable to authenticate user \[shipper\]")
        self.assertEqual(delivered(self.es), {})
        self.es.users = {"shipper": "wrong"}  # the operator fixes the user on the server
        seen = wait_all(self.es, 120)
        self.assertEqual(set(seen.values()), {1})

    def test_bulk_401_403_logged_loudly_then_delivered(self):
        """401/403 answers to _bulk (the version check passed): each server
        message is logged at error level, the events stay, and arrive once the
        server lets them in."""
        cases = [(401, "es", r"security_exception: missing authentication credentials"),
                 (403, "es", r"action \[indices:data/write/bulk\] is unauthorized for user"),
                 (403, "amazon", r"User: anonymous is not authorized to perform: es:ESHttpPost"),
                 (403, "opensearch", r"no permissions for \[indices:data/write/bulk\]")]
        for status, style, words in cases:
            s = self.start(flavor="es8")
            self.es.set_faults({"path": "_bulk", "status": status, "style": style})
            write_lines(self.log, 0, 80)
            wait_for(lambda: len([r for r in self.es.requests(r"_bulk$")
                                  if r["status"] == status]) >= 3,
                     timeout=30, what="bulk requests refused with %d and retried" % status)
            self.assertRegex(s.log(), r"\[error\]: .*HTTP %d.*%s" % (status, words))
            self.assertEqual(delivered(self.es), {})
            self.es.clear_faults()
            seen = wait_all(self.es, 80)
            self.assertEqual(set(seen.values()), {1}, (status, style))

    def test_401_on_version_check_is_not_fatal(self):
        """GET / refused: chunks wait (logged) and go out once the server accepts."""
        s = self.start(flavor="es7", where="  hosts http://u:bad@127.0.0.1:%(port)d",
                       user="u", password="good")
        write_lines(self.log, 0, 40)
        wait_for(lambda: re.search(r"(?i)401.*unable to authenticate user \[u\]", s.log()),
                 timeout=30, what="401 in the log")
        self.assertEqual(delivered(self.es), {})
        self.es.users = {"u": "bad"}
        seen = wait_all(self.es, 40)
        self.assertEqual(set(seen.values()), {1})
        # Once in, the real version decides the dialect: _doc for ES 7.
        last = [r for r in self.es.requests(r"_bulk$") if r["status"] == 200][-1]
        self.assertEqual(action_lines(self.es, last["seq"])[0]["index"].get("_type"), "_doc")


if __name__ == "__main__":
    unittest.main()
