"""A backlog (a big file at start, or one that grew a lot) is read in
slices, one per file and loop iteration, so the rest of skiff runs
meanwhile: outputs send while the file is still being read, files take
turns, a stop or a rotation in the middle of it is handled at once. A
slice is read_lines_limit lines when set, else 4 MB of the file.

The lines are nginx lines of one width (/a/100000 .. /a/1xxxxx), so a
line's number gives its offset in the file."""
import os
import sys
import threading
import time
import unittest

from harness import SRC, Skiff, wait_for
from tailhelp import (LINE, TailCase, config, pos_offset, printed_count, printed_paths,
                      read_offset, runs, write)

sys.path.insert(0, os.path.join(SRC, "tests", "esdouble"))
from esdouble import EsDouble  # noqa: E402

FIRST = 100000  # six digits: every line has the same length
WIDTH = len(LINE % ("a", FIRST))

ES_CONFIG = """
<source>
  @type tail
  path {log}
  pos_file {dir}/tail.pos
  read_from_head true
  read_lines_limit 200
  tag app
  <parse>
    @type nginx
  </parse>
</source>
<match app>
  @type elasticsearch
  host 127.0.0.1
  port {port}
  logstash_format true
  logstash_prefix es-log
  <buffer>
    @type memory
    flush_mode immediate
    chunk_limit_size 1m
  </buffer>
</match>
"""


def paths(name, n):
    return ["/%s/%d" % (name, i) for i in range(FIRST, FIRST + n)]


class Backlog(TailCase):
    def test_files_take_turns_by_read_lines_limit(self):
        a, b = self.tmp.join("a.log"), self.tmp.join("b.log")
        write(a, "a", FIRST, 3000)
        write(b, "b", FIRST, 3000)
        s = self.start(config(self.tmp.join("?.log"), self.tmp.join("tail.pos"),
                              read_lines_limit=500))
        wait_for(lambda: printed_count(s) >= 6000, what="both files")
        order = printed_paths(s)
        # Each file in its order, every line once.
        self.assertEqual([p for p in order if p.startswith("/a/")], paths("a", 3000))
        self.assertEqual([p for p in order if p.startswith("/b/")], paths("b", 3000))
        # 500 lines of one, 500 of the other, ...: not a.log, then b.log.
        turns = runs(order, lambda p: p[1])
        self.assertEqual([n for _, n in turns], [500] * 12, turns)

    def test_files_take_turns_in_4mb_slices(self):
        """No read_lines_limit: 4 MB of a file per loop iteration."""
        pad = "x" * 990
        for name in "ab":
            with open(self.tmp.join(name + ".log"), "w") as f:
                for i in range(9000):  # 9 MB each
                    f.write("%s %06d %s\n" % (name, i, pad))
        s = self.start(config(self.tmp.join("?.log"), self.tmp.join("tail.pos"), parser="none"))
        wait_for(lambda: printed_count(s) >= 18000, what="both files")
        order = printed_paths(s, "message")
        for name in "ab":
            mine = [m[:8] for m in order if m[0] == name]
            self.assertEqual(mine, ["%s %06d" % (name, i) for i in range(9000)])
        turns = runs(order, lambda m: m[0])
        self.assertGreaterEqual(len(turns), 4, "the files were not read in turns")
        slice_lines = (4 << 20) // 1000
        for name, n in turns:
            # A slice ends at the read that reaches 4 MB, reads are 256 KB.
            self.assertLessEqual(n, slice_lines + (256 << 10) // 1000 + 1, turns)

    def test_first_bulk_request_before_the_backlog_is_read(self):
        """While a 25 MB backlog is read, the output sends: where skiff
        reads when the first _bulk request reaches the double (seen by a
        thread polling from before the start) is not the file's end."""
        log = self.tmp.join("app.log")
        write(log, "a", FIRST, 300000)
        size = os.path.getsize(log)
        with EsDouble(flavor="es8") as es:
            s = Skiff(self.tmp.path, ES_CONFIG.format(log=log, dir=self.tmp.path, port=es.port))
            self.runs.append(s)
            found = {}
            done = threading.Event()

            def bulk_arriving():
                return any(h.busy and b"_bulk" in (getattr(h, "raw_requestline", b"") or b"")
                           for h in list(es._conns.values()))

            def watch():
                while not done.is_set():
                    if s.proc is not None and bulk_arriving():
                        found["read"] = read_offset(s.proc.pid, log)
                        return
                    time.sleep(0.0005)
            watcher = threading.Thread(target=watch)
            watcher.start()
            try:
                s.start()
                wait_for(lambda: "read" in found, what="the first bulk request")
            finally:
                done.set()
                watcher.join()
            s.kill9()  # not worth delivering 300,000 documents to the double
        print("first bulk request: read %s of %d bytes" % (found["read"], size))
        self.assertIsNotNone(found["read"])
        self.assertLess(found["read"], size, "the first bulk request waited for the whole file")

    def test_stop_during_backlog(self):
        """SIGTERM while a backlog is read: skiff stops at once, at the end
        of a slice, and the pos_file says exactly what was delivered."""
        log = self.tmp.join("app.log")
        pos = self.tmp.join("tail.pos")
        n = 100000
        write(log, "a", FIRST, n)
        conf = config(log, pos, read_lines_limit=100)
        s = self.start(conf, name="first")
        wait_for(lambda: printed_count(s) > 0, interval=0.001, what="the first lines")
        self.assertEqual(s.stop(), 0)
        printed = printed_paths(s)
        self.assertEqual(printed, paths("a", len(printed)))
        print("stopped after %d of %d lines" % (len(printed), n))
        self.assertLess(len(printed), n, "the whole file was read before the stop")
        self.assertEqual(pos_offset(pos, log), len(printed) * WIDTH)
        self.start(conf, name="second")
        self.assertOnce(self.wait_seen(n, "the rest after a restart"), paths("a", n))

    def test_rotation_during_backlog(self):
        """The file is renamed and a new one created while its backlog is
        read: both are read to their ends, the new one meanwhile."""
        log = self.tmp.join("app.log")
        n = 100000
        write(log, "a", FIRST, n)
        s = self.start(config(log, self.tmp.join("tail.pos"), read_lines_limit=100,
                              rotate_wait="1s"))
        wait_for(lambda: printed_count(s) > 0, interval=0.001, what="the first lines")
        os.rename(log, log + ".1")
        write(log, "b", FIRST, 10)
        seen = self.wait_seen(n + 10, "both files")
        self.assertOnce(seen, paths("a", n) + paths("b", 10))
        order = printed_paths(s)
        self.assertEqual([p for p in order if p.startswith("/a/")], paths("a", n))
        self.assertLess(order.index(paths("b", 1)[0]), order.index(paths("a", n)[-1]),
                        "the new file waited for the rotated one's backlog")
        self.assertIn("detected rotation of %s to %s.1" % (log, log), s.log())


if __name__ == "__main__":
    unittest.main()
