"""The file buffer keeps every line through outages, kill -9 and restarts,
and delivers a buffer directory that td-agent left behind.

Real processes: skiff, the Elasticsearch double, kill -9. Lines are
written to the tailed file by the test (as nginx would append them).
"""
import json
import os
import random
import signal
import sys
import time
import unittest

from eshelp import chunk_files, delivered  # noqa: F401
from harness import SRC, Skiff, TempDir, wait_for
import mpack

sys.path.insert(0, os.path.join(SRC, "tests", "esdouble"))
from esdouble import EsDouble  # noqa: E402

LINE = '10.%d.%d.%d - - [21/Jul/2018:10:%02d:%02d +0000] "GET /doc/%d HTTP/1.1" 200 %d "-" "t"\n'

GENID = """
<filter nginx.**>
  @type elasticsearch_genid
  hash_id_key _hash
  use_record_as_seed true
  use_entire_record true
</filter>
"""

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

{genid}
<match nginx.**>
  @type elasticsearch
  @id es_out
  {idkey}
  host 127.0.0.1
  port {port}
  logstash_format true
  logstash_prefix es-log
  <buffer tag>
    @type file
    path {dir}/buffer
    flush_interval 1s
    chunk_limit_size 64k
    retry_wait 200ms
    retry_max_interval 1s
    retry_forever true
  </buffer>
</match>
"""


def write_lines(path, start, n):
    with open(path, "a") as f:
        for i in range(start, start + n):
            f.write(LINE % (i % 250, (i // 250) % 250, i % 7, (i // 60) % 60, i % 60, i, i))


class FileBuffer(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.log = self.tmp.join("access.log")
        open(self.log, "w").close()
        self.es = EsDouble(flavor="es8")
        self.es.start()

    def tearDown(self):
        self.es.stop()
        self.tmp.cleanup()

    def skiff(self, ids=False):
        return Skiff(self.tmp.path, CONFIG.format(log=self.log, dir=self.tmp.path,
                                                  port=self.es.port,
                                                  genid=GENID if ids else "",
                                                  idkey="id_key _hash\n  remove_keys _hash"
                                                  if ids else ""))

    def test_outage_then_drain(self):
        s = self.skiff().start()
        try:
            write_lines(self.log, 0, 500)
            wait_for(lambda: len(delivered(self.es)) == 500, what="first 500")
            self.es.set_faults({"down": "close"})
            write_lines(self.log, 500, 3000)
            # During the outage the lines wait in chunk files on disk.
            wait_for(lambda: len(chunk_files(self.tmp.path)) >= 2, what="chunks on disk")
            self.assertEqual(len(delivered(self.es)), 500)
            self.es.clear_faults()
            seen = wait_for(lambda: (lambda d: d if len(d) == 3500 else None)(delivered(self.es)),
                            what="backlog drained")
            self.assertEqual(sorted(seen), sorted("/doc/%d" % i for i in range(3500)))
            self.assertEqual(set(seen.values()), {1})
            wait_for(lambda: chunk_files(self.tmp.path) == [], what="chunks deleted")
        finally:
            self.assertEqual(s.stop(), 0)

    def test_backlog_flushes_as_soon_as_the_destination_is_back(self):
        """After an outage the queued chunks wait for their backoff (30 s
        here) no longer once a flush succeeds: as with Fluentd's one retry
        state per output, the whole queue goes at once."""
        conf = CONFIG.replace("retry_wait 200ms", "retry_wait 1s").replace(
            "retry_max_interval 1s", "retry_exponential_backoff_base 30")
        s = Skiff(self.tmp.path, conf.format(log=self.log, dir=self.tmp.path, port=self.es.port,
                                             genid="", idkey="")).start()
        try:
            self.es.set_faults({"path": "_bulk", "status": 503})
            write_lines(self.log, 0, 1000)
            # Every chunk refused twice: the next try is 30 s away.
            wait_for(lambda: len(chunk_files(self.tmp.path)) >= 2, what="chunks on disk")
            nchunks = len(chunk_files(self.tmp.path))
            wait_for(lambda: len(self.es.requests(r"_bulk$")) >= 2 * nchunks,
                     what="two refusals per chunk")
            self.es.clear_faults()
            write_lines(self.log, 1000, 1)  # a new chunk: flushed after flush_interval
            seen = wait_for(lambda: (lambda d: d if len(d) == 1001 else None)(delivered(self.es)),
                            timeout=15, what="backlog drained long before its backoff")
            self.assertEqual(set(seen.values()), {1})
        finally:
            self.assertEqual(s.stop(), 0)

    def test_long_outage_under_steady_load(self):
        """A 60 s outage while lines keep arriving at 2,000/s: nothing lost,
        the backlog drains after. SKIFF_OUTAGE_S shortens it for debugging."""
        import threading
        outage = float(os.environ.get("SKIFF_OUTAGE_S", "60"))
        rate = 2000
        stop = threading.Event()
        written = [0]

        def writer():
            start = time.monotonic()
            while not stop.is_set():
                due = int((time.monotonic() - start) * rate)
                if due > written[0]:
                    write_lines(self.log, written[0], due - written[0])
                    written[0] = due
                stop.wait(0.02)  # pacing the writer, not synchronising with skiff

        s = self.skiff().start()
        t = threading.Thread(target=writer)
        t.start()
        try:
            wait_for(lambda: len(delivered(self.es)) > 0, what="delivery before the outage")
            self.es.set_faults({"down": "close"})
            before = len(delivered(self.es))
            stop.wait(outage)
            during = len(delivered(self.es)) - before
            self.es.clear_faults()
            stop.wait(5)
            stop.set()
            t.join()
            total = written[0]
            seen = wait_for(lambda: (lambda d: d if len(d) == total else None)(delivered(self.es)),
                            timeout=120, what="%d documents after the outage" % total)
        finally:
            stop.set()
            t.join()
            s.stop()
        self.assertLessEqual(during, 2000)  # (a flush in flight may land as the outage starts)
        self.assertEqual(sorted(seen), sorted("/doc/%d" % i for i in range(total)))
        self.assertEqual(set(seen.values()), {1})
        print("outage %.0f s at %d lines/s: %d lines, all delivered once" % (outage, rate, total))

    def kill9_rounds(self, ids, rounds=20):
        """Lines keep coming while skiff is killed -9 at random moments."""
        rnd = random.Random(20)
        total = 0
        for _ in range(rounds):
            s = self.skiff(ids).start()
            n = rnd.randint(100, 500)
            write_lines(self.log, total, n)
            total += n
            time.sleep(rnd.uniform(0.0, 0.4))  # a random moment to crash at, not a sync point
            s.kill9()
        s = self.skiff(ids).start()
        try:
            seen = wait_for(lambda: (lambda d: d if len(d) == total else None)(delivered(self.es)),
                            timeout=60, what="%d documents" % total)
            wait_for(lambda: chunk_files(self.tmp.path) == [], what="buffer empty")
        finally:
            s.stop()
        self.assertEqual(sorted(seen), sorted("/doc/%d" % i for i in range(total)))
        return total, sum(c - 1 for c in seen.values())

    def test_kill9_under_load_loses_nothing(self):
        total, dups = self.kill9_rounds(ids=False)
        print("kill -9 x20 without ids: %d lines, all delivered, %d duplicates" % (total, dups))

    def test_kill9_with_generated_ids_gives_exactly_once(self):
        total, dups = self.kill9_rounds(ids=True)
        print("kill -9 x20 with genid ids: %d lines, all delivered, %d duplicates" % (total, dups))
        self.assertEqual(dups, 0)
        ids = [d["_id"] for d in self.es.docs("es-log-*")]
        self.assertEqual(len(ids), total)
        self.assertTrue(all(len(i) > 20 for i in ids))  # a hash, not an auto id

    def test_rejected_documents_go_to_dead_letter_file(self):
        """400-rejected documents are kept beside the buffer; the rest indexed."""
        self.es.set_faults({"reject_400_if": [{"field": "code", "value": "400"}]})
        s = self.skiff().start()
        try:
            with open(self.log, "a") as f:
                for i in range(300):
                    code = 400 if i % 30 == 0 else 200
                    f.write('10.0.0.1 - - [21/Jul/2018:10:00:00 +0000] "GET /doc/%d HTTP/1.1" %d 5 "-" "t"\n' % (i, code))
            dead = self.tmp.join("buffer", "dead-letter.es_out.jsonl")
            wait_for(lambda: os.path.exists(dead) and
                     sum(1 for _ in open(dead)) == 10, what="10 rejected documents kept")
            seen = wait_for(lambda: (lambda d: d if len(d) == 290 else None)(delivered(self.es)),
                            what="290 documents indexed")
        finally:
            s.stop()
        rejected = [json.loads(l) for l in open(dead)]
        self.assertEqual(sorted(r["record"]["path"] for r in rejected),
                         sorted("/doc/%d" % i for i in range(0, 300, 30)))
        self.assertTrue(all(r["tag"] == "nginx.access" and r["reason"] for r in rejected))
        self.assertNotIn("/doc/0", seen)
        self.assertEqual(len(self.es.docs("es-log-*")), 290)
        self.assertIn("dead-letter.es_out.jsonl", s.log())

    def test_td_agent_buffer_directory_is_delivered(self):
        """A stopped td-agent left staged and queued chunks: skiff ships them."""
        bdir = self.tmp.join("buffer")
        os.makedirs(bdir)
        n = 0
        for state, count in (("q", 40), ("b", 25)):
            cid = bytes(random.Random(count).getrandbits(8) for _ in range(16))
            body = b""
            for i in range(count):
                body += mpack.pack([mpack.event_time(1532167200 + i, 500),
                                    {"remote": "10.0.0.1", "method": "GET",
                                     "path": "/td/%s/%d" % (state, i), "code": "200"}])
            name = os.path.join(bdir, "buffer.%s%s.log" % (state, cid.hex()))
            with open(name, "wb") as f:
                f.write(body)
            with open(name + ".meta", "wb") as f:
                f.write(mpack.chunk_meta("nginx.access", cid, count, 1532167200, 1532167300 + n))
            n += count
        s = self.skiff().start()
        try:
            seen = wait_for(lambda: (lambda d: d if len(d) == n else None)(delivered(self.es)),
                            what="td-agent chunks delivered")
        finally:
            s.stop()
        self.assertEqual(len(seen), 65)
        docs = self.es.docs("es-log-2018.07.21")
        self.assertEqual(len(docs), 65)
        self.assertTrue(all(d["_source"]["@timestamp"].startswith("2018-07-21T10:") for d in docs))
        self.assertEqual(chunk_files(self.tmp.path), [])


if __name__ == "__main__":
    unittest.main()
