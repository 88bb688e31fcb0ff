"""Shared by the index management tests (test_es_ilm*.py, test_es_ism.py,
test_es_data_stream.py): the real skiff tailing a JSON-lines file into the
Elasticsearch double, with the double's clock frozen so that date-math
names are known in advance, and helpers to read what skiff asked for.

Synchronisation is by the double (`/_double/wait`) or by polling; records
carry a unique `n` so that losses and duplicates can be counted.
"""
import json
import os
import sys
import unittest
import urllib.parse

from harness import SRC, Skiff, TempDir, wait_for

sys.path.insert(0, os.path.join(SRC, "tests", "esdouble"))
from esdouble import EsDouble  # noqa: E402
from esd.testing import Client  # noqa: E402

CONFIG = """
<source>
  @type tail
  path {log}
  pos_file {dir}/{name}.pos
  read_from_head true
  tag app.{name}
  <parse>
    @type json
  </parse>
</source>

<match app.**>
  @type {type}
  @id es_{name}
  host 127.0.0.1
  port {port}
  reload_connections false
  request_timeout 10s
{params}
  <buffer tag>
    flush_interval 0.2
    chunk_limit_size 64k
    retry_wait 0.2
    retry_max_interval 1
    retry_forever true
  </buffer>
</match>
"""

# Setup calls: everything but version detection, bulk and the control API.
SETUP_PATH = r"^/(?!_bulk|_double)[^?]+"


def enc(name):
    return urllib.parse.quote(name, safe="")


class IlmCase(unittest.TestCase):
    flavor = "es8"
    double_args = {}
    now = "2024-05-01T12:00:00Z"

    def setUp(self):
        self.tmp = TempDir()
        self.es = EsDouble(flavor=self.flavor, refresh_interval_ms=-1, seed=3,
                           **self.double_args).start()
        self.c = Client(self.es.port, timeout=60)
        if self.now is not None:
            self.clock(now=self.now)
        self.skiffs = []
        self.next_n = 0

    def tearDown(self):
        try:
            for s in self.skiffs:
                if s.proc is not None:
                    code = s.stop()
                    # A clean stop (and, under ASan, no leak or error report).
                    self.assertEqual(code, 0, "%s exited %s:\n%s\n%s" % (
                        s.conf, code, s.log()[-2000:], "\n".join(s.output_lines()[-40:])))
        finally:
            self.c.close()
            self.es.stop()
            self.tmp.cleanup()

    # -- the double -----------------------------------------------------------------
    def clock(self, **spec):
        self.assertEqual(self.c.request("POST", "/_double/clock", body=spec).status, 200)

    def ok(self, method, path, body=None, status=(200, 201)):
        r = self.c.request(method, path, body=body)
        self.assertIn(r.status, status, r)
        return r.json

    def wait_docs(self, index, count, timeout_ms=20000):
        r = self.c.get("/_double/wait?index=%s&count=%d&timeout_ms=%d"
                       % (enc(index), count, timeout_ms))
        self.assertEqual(r.status, 200, "%s: %r; skiff log:\n%s" % (index, r.json, self.logs()))
        return r.json["count"]

    def calls(self, path=SETUP_PATH, method=None):
        """[(method, path, status)] of the logged requests, oldest first."""
        q = "?path=%s" % enc(path) + ("&method=%s" % method if method else "")
        return [(e["method"], e["path"], e["status"])
                for e in self.c.get("/_double/requests" + q).json["requests"]]

    def bodies(self, path, method="PUT"):
        q = "?bodies=true&method=%s&path=%s" % (method, enc(path))
        return [json.loads(e["body"]) if e.get("body") else None
                for e in self.c.get("/_double/requests" + q).json["requests"]]

    def bulk_queries(self):
        return [e["query"] for e in
                self.c.get("/_double/requests?path=%s" % enc("^/_bulk$")).json["requests"]]

    def docs(self, index):
        return self.c.get("/_double/docs?index=%s" % enc(index)).json["docs"]

    def numbers(self, index):
        return sorted(d["_source"]["n"] for d in self.docs(index))

    # -- skiff ----------------------------------------------------------------------
    def skiff(self, params, name="a", type_="elasticsearch", start=True):
        path = self.tmp.join(name + ".log")
        if not os.path.exists(path):
            open(path, "w").close()
        conf = CONFIG.format(log=path, dir=self.tmp.path, name=name, port=self.es.port,
                             params="\n".join("  " + p for p in params.strip().splitlines()),
                             type=type_)
        s = Skiff(self.tmp.path, conf, name=name)
        self.skiffs.append(s)
        return s.start() if start else s

    def write(self, n, name="a", **fields):
        """Appends n records with fresh unique numbers; returns them."""
        nums = list(range(self.next_n, self.next_n + n))
        self.next_n += n
        with open(self.tmp.join(name + ".log"), "a") as f:
            for i in nums:
                rec = {"n": i, "msg": "GET /doc/%d" % i}
                rec.update(fields)
                f.write(json.dumps(rec) + "\n")
        return nums

    def logs(self):
        return "\n".join("--- %s\n%s" % (s.conf, s.log()) for s in self.skiffs)

    def wait_log(self, text, skiff=None, timeout=20):
        who = skiff or self.skiffs[-1]
        wait_for(lambda: text in who.log(), timeout=timeout, what="log: %s\n%s" % (text, who.log()))


__all__ = ["IlmCase", "enc", "wait_for", "unittest", "json"]
