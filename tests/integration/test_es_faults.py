"""What Elasticsearch answers when it is unhappy, and how skiff ends up.

Real skiff, the Elasticsearch double injecting the faults:
  * partial 429s (some items refused for back-pressure): every document is
    indexed exactly once in the end;
  * 400-rejected documents (mapping errors) go to the `@ERROR` label (here:
    stdout) once, with the reason, while all the others are indexed;
  * 413: requests too large are split, Elasticsearch style (empty body,
    decoded size) and Amazon style (`{"Message":...}`, size on the wire with
    gzip); a single document above the limit goes to @ERROR;
  * Retry-After (seconds and HTTP-date) on 429/503 is honoured;
  * connections dropped after the server indexed (the "did it land?" case)
    with generated ids: every document once.
"""
import json
import os
import re
import sys
import unittest

from eshelp import delivered, quiet  # noqa: F401
from eshelp import wait_all as wait_count
from harness import SRC, Skiff, TempDir, wait_for

sys.path.insert(0, os.path.join(SRC, "tests", "esdouble"))
from esdouble import EsDouble  # noqa: E402

LINE = ('10.0.%d.%d - - [01/May/2024:12:%02d:%02d +0000] "GET %s HTTP/1.1" 200 %d "-" '
        '"%s"\n')

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
{filters}
<match nginx.**>
  @type elasticsearch
  host 127.0.0.1
  port {port}
  logstash_format true
  logstash_prefix es-log
  request_timeout 10s
  reload_connections false
{extra}
  <buffer tag>
    @type file
    path {dir}/buffer
    flush_interval 200ms
    chunk_limit_size {chunk}
    retry_wait 200ms
    retry_max_interval 1s
    retry_forever true
  </buffer>
</match>

<label @ERROR>
  <match **>
    @type stdout
  </match>
</label>
"""

STDOUT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} [+-]\d{4} (\S+): (\{.*\})$")


def write_lines(path, start, n, path_of=None, agent="t"):
    with open(path, "a") as f:
        for i in range(start, start + n):
            p = path_of(i) if path_of else "/d/%d" % i
            f.write(LINE % (i // 250 % 250, i % 250, (i // 60) % 60, i % 60, p, i, agent))


def error_events(skiff):
    out = []
    for line in skiff.output_lines():
        m = STDOUT_LINE.match(line)
        if m:
            out.append((m.group(1), json.loads(m.group(2))))
    return out


class Faults(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.log = self.tmp.join("access.log")
        open(self.log, "w").close()
        self.es = None
        self.skiff = None

    def tearDown(self):
        if self.skiff is not None:
            self.skiff.stop()
        if self.es is not None:
            self.es.stop()
        self.tmp.cleanup()

    def start(self, extra="", chunk="64k", filters="", flavor="es8", faults=None, **kw):
        self.es = EsDouble(flavor=flavor, faults=faults, **kw).start()
        self.skiff = Skiff(self.tmp.path, CONFIG.format(
            log=self.log, dir=self.tmp.path, port=self.es.port, extra=extra, chunk=chunk,
            filters=filters)).start()
        return self.skiff

    def bulk_statuses(self):
        out = {}
        for r in self.es.requests(r"_bulk$"):
            out[r["status"]] = out.get(r["status"], 0) + 1
        return out

    # --- per-item 429 -----------------------------------------------------------------

    def test_partial_429_every_document_once(self):
        s = self.start(faults={"item_429_fraction": 0.3, "item_429_max_per_doc": 2, "seed": 3})
        n = 3000
        write_lines(self.log, 0, n)
        seen = wait_count(self.es, n)
        self.assertEqual(len(seen), n)
        self.assertEqual(set(seen.values()), {1})
        item_429 = sum(r["bulk"]["statuses"].get("429", 0)
                       for r in self.es.requests(r"_bulk$") if r.get("bulk"))
        self.assertGreater(item_429, 300)  # the fault really bit, more than once per doc
        self.assertIn("refused for now", s.log())
        self.assertEqual(error_events(s), [])
        # Nothing went to @ERROR, nothing was counted twice in skiff's own tally.
        self.assertEqual(s.stop(), 0)
        self.assertRegex(s.log(), r"%d documents indexed, 0 duplicates, \d+ retried, 0 rejected" % n)
        self.skiff = None

    def test_partial_429_opensearch(self):
        """OpenSearch says rejected_execution_exception (no es_ prefix)."""
        self.start(flavor="opensearch2",
                   faults={"item_429_fraction": 0.5, "item_429_max_per_doc": 1, "seed": 9})
        write_lines(self.log, 0, 800)
        seen = wait_count(self.es, 800)
        self.assertEqual(set(seen.values()), {1})

    # --- per-item 400 -> @ERROR ----------------------------------------------------------

    def test_400_rejected_go_to_error_label(self):
        s = self.start(faults={"reject_400_if": [{"substring": "/bad/"}]})
        n = 1000
        bad = {i for i in range(n) if i % 37 == 5}
        write_lines(self.log, 0, n, path_of=lambda i: "/bad/%d" % i if i in bad else "/d/%d" % i)
        good = n - len(bad)
        seen = wait_count(self.es, good)
        wait_for(lambda: len(error_events(s)) >= len(bad), timeout=30,
                 what="%d events on the @ERROR label" % len(bad))
        self.assertEqual(sorted(seen), sorted("/d/%d" % i for i in range(n) if i not in bad))
        self.assertEqual(set(seen.values()), {1})
        errs = error_events(s)
        self.assertEqual(sorted(rec["path"] for _, rec in errs), sorted("/bad/%d" % i for i in bad))
        self.assertTrue(all(tag == "nginx.access" for tag, _ in errs))
        # The event as it was (not the bulk source): no @timestamp added.
        self.assertTrue(all("@timestamp" not in rec and rec["code"] == "200" for _, rec in errs))
        # Each rejected document was sent once: 400s are not retried.
        sent_bad = sum(r["bulk"]["statuses"].get("400", 0)
                       for r in self.es.requests(r"_bulk$") if r.get("bulk"))
        self.assertEqual(sent_bad, len(bad))
        self.assertIn("document rejected (sent to @ERROR)", s.log())
        self.assertIn("400 document_parsing_exception", s.log())  # ES 8.8+ wording
        self.assertEqual(s.stop(), 0)
        self.skiff = None
        self.assertEqual(len(error_events(s)), len(bad))

    # --- 413 ---------------------------------------------------------------------------

    def check_413(self, s, n, limit, wire):
        seen = wait_count(self.es, n)
        self.assertEqual(len(seen), n)
        self.assertEqual(set(seen.values()), {1})
        reqs = self.es.requests(r"_bulk$")
        self.assertIn(413, [r["status"] for r in reqs])
        for r in reqs:
            if r["status"] == 200:
                self.assertLessEqual(r["body_bytes" if wire else "body_decoded_bytes"], limit, r)
        self.assertIn("too large for the server", s.log())
        return reqs

    def test_413_es_style_resplit(self):
        """Elasticsearch (http.max_content_length): empty 413, decoded size."""
        s = self.start(chunk="256k", faults={"path": "_bulk", "max_body_bytes": 30000})
        n = 2000
        write_lines(self.log, 0, n)
        self.check_413(s, n, 30000, wire=False)
        self.assertEqual(error_events(s), [])

    def test_413_amazon_style_gzip_resplit(self):
        """Amazon front end: {"Message":"Request size exceeded N bytes"} on the
        bytes sent, which are gzip here."""
        s = self.start(chunk="1m", extra="  compression_level best_speed",
                       faults={"path": "_bulk", "max_body_bytes": 12000,
                               "max_body_style": "amazon"})
        n = 6000
        write_lines(self.log, 0, n)
        reqs = self.check_413(s, n, 12000, wire=True)
        self.assertTrue(all(r["content_encoding"] == "gzip" for r in reqs))
        self.assertIn("Request size exceeded 12000 bytes", s.log())
        self.assertEqual(error_events(s), [])

    def test_413_documents_too_large_go_to_error(self):
        """Documents that alone exceed the server's limit go to @ERROR (a run
        of 15 of them too: they do not stall the chunk); all others arrive."""
        s = self.start(chunk="1m", faults={"path": "_bulk", "max_body_bytes": 20000})
        write_lines(self.log, 0, 300)
        write_lines(self.log, 300, 1, agent="x" * 30000)
        write_lines(self.log, 301, 300)
        write_lines(self.log, 601, 15, agent="y" * 25000)
        write_lines(self.log, 616, 100)
        big = ["/d/300"] + ["/d/%d" % i for i in range(601, 616)]
        seen = wait_count(self.es, 716 - len(big))
        wait_for(lambda: len(error_events(s)) >= len(big), timeout=30,
                 what="the big documents on @ERROR")
        self.assertEqual(set(seen.values()), {1})
        self.assertEqual(sorted(seen), sorted("/d/%d" % i for i in range(716)
                                              if "/d/%d" % i not in big))
        errs = error_events(s)
        self.assertEqual(sorted(rec["path"] for _, rec in errs), sorted(big))
        self.assertEqual(len(errs[0][1]["agent"]), 30000)
        self.assertIn("document too large for the server", s.log())
        self.assertNotIn("every bulk request is refused", s.log())

    def test_empty_id_values_do_not_block_the_chunk(self):
        """id_key whose value is "" (Elasticsearch refuses `"_id":""` for the
        whole request): such records are indexed with a generated id, the
        others with theirs; nothing is stuck."""
        s = self.start(extra="  id_key user")
        empty = set(range(100, 130)) | {5, 200}
        with open(self.log, "a") as f:
            for i in range(300):
                f.write('10.0.0.1 - %s [01/May/2024:12:00:00 +0000] "GET /d/%d HTTP/1.1" 200 1 '
                        '"-" "t"\n' % ("" if i in empty else "u%d" % i, i))
        seen = wait_count(self.es, 300)
        self.assertEqual(set(seen.values()), {1})
        ids = {d["_source"]["path"]: d["_id"] for d in self.es.docs("es-log-*")}
        for i in range(300):
            if i in empty:
                self.assertEqual(len(ids["/d/%d" % i]), 20)  # generated
            else:
                self.assertEqual(ids["/d/%d" % i], "u%d" % i)
        self.assertEqual([r["status"] for r in self.es.requests(r"_bulk$") if r["status"] != 200],
                         [])
        self.assertEqual(error_events(s), [])

    # --- Retry-After ---------------------------------------------------------------------

    def gap_after(self, status):
        """Seconds between the first answer with `status` and the next bulk."""
        reqs = self.es.requests(r"_bulk$")
        for k, r in enumerate(reqs):
            if r["status"] == status:
                return reqs[k + 1]["time"] - r["time"]
        raise AssertionError("no %d answer" % status)

    def test_retry_after_seconds_on_429(self):
        self.start(faults={"path": "_bulk", "status": 429, "retry_after": 3, "fail_next_n": 1})
        write_lines(self.log, 0, 100)
        seen = wait_count(self.es, 100)
        self.assertEqual(set(seen.values()), {1})
        gap = self.gap_after(429)
        # retry_wait is 200ms: without Retry-After the next try comes at once.
        self.assertGreaterEqual(gap, 2.9)
        self.assertLess(gap, 15)

    def test_retry_after_http_date_on_503(self):
        import email.utils
        import time
        when = email.utils.formatdate(time.time() + 4, usegmt=True)
        self.start(faults={"path": "_bulk", "status": 503, "retry_after": when,
                           "fail_next_n": 1})
        write_lines(self.log, 0, 100)
        seen = wait_count(self.es, 100)
        self.assertEqual(set(seen.values()), {1})
        gap = self.gap_after(503)
        self.assertGreaterEqual(gap, 1.5)  # the date has whole seconds
        self.assertLess(gap, 15)

    def test_whole_request_429_and_500_retried(self):
        self.start(faults=[{"path": "_bulk", "status": 429, "fail_next_n": 3},
                           {"path": "_bulk", "status": 500, "fail_next_n": 2}])
        write_lines(self.log, 0, 400)
        seen = wait_count(self.es, 400)
        self.assertEqual(set(seen.values()), {1})
        st = self.bulk_statuses()
        self.assertEqual(st.get(429), 3)
        self.assertEqual(st.get(500), 2)

    # --- reconnect_on_error ------------------------------------------------------------

    def bulk_after_failure_connections(self, extra):
        """(connection of the failed _bulk, connection of the one after it)."""
        self.start(extra=extra, faults=[{"path": "_bulk", "status": 500, "fail_next_n": 1}])
        write_lines(self.log, 0, 50)
        wait_count(self.es, 50)
        bulks = self.es.requests(r"_bulk$")
        failed = [i for i, r in enumerate(bulks) if r["status"] == 500]
        self.assertEqual(len(failed), 1)
        self.assertGreater(len(bulks), failed[0] + 1)
        return bulks[failed[0]]["conn"], bulks[failed[0] + 1]["conn"]

    def test_reconnect_on_error_opens_a_new_connection(self):
        before, after = self.bulk_after_failure_connections("  reconnect_on_error true")
        self.assertNotEqual(before, after)

    def test_without_reconnect_on_error_the_connection_is_kept(self):
        before, after = self.bulk_after_failure_connections("")
        self.assertEqual(before, after)

    # --- lost answers ---------------------------------------------------------------------

    def test_dropped_answers_with_generated_ids_once(self):
        """The server indexed, the answer never came: skiff retries the same
        ids (elasticsearch_genid), so nothing is indexed twice."""
        filters = """
<filter nginx.**>
  @type elasticsearch_genid
  hash_id_key _hash
</filter>
"""
        # 64k chunks sent as ~8k requests: answers lost in the middle of a chunk.
        self.start(filters=filters, chunk="64k",
                   extra="  id_key _hash\n  remove_keys _hash\n"
                         "  bulk_message_request_threshold 8k",
                   faults={"path": "_bulk", "drop_connection": 3, "drop_after_processing": True})
        n = 1500
        write_lines(self.log, 0, n)
        seen = wait_count(self.es, n)
        self.assertEqual(set(seen.values()), {1})
        docs = self.es.docs("es-log-*")
        self.assertEqual(len(docs), n)
        self.assertTrue(all("_hash" not in d["_source"] for d in docs))
        self.assertGreaterEqual(len([r for r in self.es.requests(r"_bulk$")
                                     if r["status"] is None]), 3)
        # The retried requests overwrote: some documents are at version 2.
        self.assertTrue(any(d["_version"] > 1 for d in docs))


    def test_garbage_200_is_not_success(self):
        """A 200 whose body is not a bulk answer (a captive portal, a proxy's
        page) indexes nothing: the events are sent again."""
        s = self.start(faults={"path": "_bulk", "status": 200, "fail_next_n": 2,
                               "body": "<html><title>Welcome</title>Please log in</html>"})
        write_lines(self.log, 0, 300)
        seen = wait_count(self.es, 300)
        self.assertEqual(set(seen.values()), {1})
        self.assertIn("unusable bulk response", s.log())
        self.assertEqual(s.stop(), 0)
        self.skiff = None
        self.assertRegex(s.log(), r"300 documents indexed, 0 duplicates")


if __name__ == "__main__":
    unittest.main()
