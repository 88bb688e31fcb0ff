"""Buffer limits and failure handling, with real processes:

- a full disk (a small tmpfs mounted by the test) blocks the input, corrupts
  nothing, and everything arrives once space returns;
- overflow_action drop_oldest_chunk drops whole old chunks, loudly;
- a chunk that runs out of retries is set aside in failed/, not deleted.
"""
import os
import re
import subprocess
import sys
import unittest

from harness import SRC, Skiff, TempDir, wait_for
from test_file_buffer import delivered, write_lines

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
  host 127.0.0.1
  port {port}
  logstash_format true
  logstash_prefix es-log
  <buffer tag>
    @type file
    path {bdir}
    flush_interval 500ms
    chunk_limit_size 16k
    retry_wait 100ms
    retry_max_interval 500ms
    {extra}
  </buffer>
</match>
"""


class BufferLimits(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.log = self.tmp.join("access.log")
        open(self.log, "w").close()
        self.es = EsDouble(flavor="es8")
        self.es.start()
        self.mounted = None

    def tearDown(self):
        self.es.stop()
        if self.mounted:
            subprocess.run(["umount", "-l", self.mounted], check=False)
        self.tmp.cleanup()

    def start(self, bdir, extra):
        return Skiff(self.tmp.path, CONFIG.format(log=self.log, dir=self.tmp.path, port=self.es.port,
                                                  bdir=bdir, extra=extra)).start()

    @unittest.skipUnless(os.geteuid() == 0, "mounting a tmpfs needs root")
    def test_full_disk_blocks_then_recovers(self):
        bdir = self.tmp.join("small")
        os.makedirs(bdir)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", bdir],
                           capture_output=True)
        if r.returncode != 0:
            self.skipTest("cannot mount tmpfs here: %s" % r.stderr.decode())
        self.mounted = bdir
        self.es.set_faults({"down": "close"})
        s = self.start(bdir, "retry_forever true")
        try:
            write_lines(self.log, 0, 3000)  # ~600 KB of events: ten times the disk
            wait_for(lambda: "no space left on device" in s.log(), what="a full disk noticed")
            self.assertIsNone(s.proc.poll(), "skiff is still running")
            subprocess.run(["mount", "-o", "remount,size=16m", bdir], check=True)
            self.es.clear_faults()
            seen = wait_for(lambda: (lambda d: d if len(d) == 3000 else None)(delivered(self.es)),
                            timeout=60, what="all lines after space returned")
            self.assertEqual(sorted(seen), sorted("/doc/%d" % i for i in range(3000)))
            self.assertEqual(set(seen.values()), {1})
        finally:
            self.assertEqual(s.stop(), 0)

    def test_drop_oldest_chunk(self):
        self.es.set_faults({"down": "close"})
        s = self.start(self.tmp.join("buf"), "total_limit_size 64k\n    overflow_action drop_oldest_chunk\n    retry_forever true")
        try:
            # Many small writes: each one that finds the buffer full drops the oldest chunk.
            for i in range(0, 3000, 100):
                write_lines(self.log, i, 100)
                wait_for(lambda: open(self.tmp.join("tail.pos")).read().split("\t")[1] ==
                         "%016x" % os.path.getsize(self.log), what="lines read")
            self.assertIn("dropping oldest chunk", s.log())
            self.es.clear_faults()
            dropped = sum(int(m) for m in re.findall(r"with (\d+) events \(overflow_action", s.log()))
            wait_for(lambda: len(delivered(self.es)) + dropped == 3000, timeout=60,
                     what="delivered + dropped == written")
            seen = delivered(self.es)
            self.assertGreater(dropped, 0)
            self.assertGreater(len(seen), 0)
            # The newest lines survive: it is the oldest chunks that go.
            self.assertIn("/doc/2999", seen)
            self.assertEqual(set(seen.values()), {1})
        finally:
            s.stop()

    def test_retry_limit_sets_chunk_aside(self):
        self.es.set_faults({"status": 500})
        bdir = self.tmp.join("buf")
        s = self.start(bdir, "retry_max_times 2")
        try:
            write_lines(self.log, 0, 50)
            wait_for(lambda: "giving up chunk" in s.log(), what="give up")
            wait_for(lambda: os.path.isdir(os.path.join(bdir, "failed")) and
                     any(f.endswith(".log") for f in os.listdir(os.path.join(bdir, "failed"))),
                     what="chunk kept in failed/")
            failed = [f for f in os.listdir(os.path.join(bdir, "failed")) if f.endswith(".log")]
            self.assertEqual(len(failed), 1)
            self.assertTrue(os.path.getsize(os.path.join(bdir, "failed", failed[0])) > 0)
            self.assertIn("(50 events) after 3 attempts", s.log())
        finally:
            s.stop()
        self.assertEqual(len(delivered(self.es)), 0)

    def test_secondary_receives_given_up_chunks(self):
        self.es.set_faults({"status": 500})
        bdir = self.tmp.join("buf")
        conf = CONFIG.format(log=self.log, dir=self.tmp.path, port=self.es.port, bdir=bdir,
                             extra="retry_max_times 1")
        conf = conf.replace("</match>", "  <secondary>\n    @type secondary_file\n"
                                        "    directory %s\n  </secondary>\n</match>"
                            % self.tmp.join("dump"))
        s = Skiff(self.tmp.path, conf).start()
        try:
            write_lines(self.log, 0, 40)
            wait_for(lambda: os.path.isdir(self.tmp.join("dump")) and
                     os.listdir(self.tmp.join("dump")), what="a dumped chunk")
        finally:
            s.stop()
        dumped = b"".join(open(os.path.join(self.tmp.join("dump"), f), "rb").read()
                          for f in sorted(os.listdir(self.tmp.join("dump"))))
        # The dump is the chunk's msgpack stream: 40 [EventTime, record] pairs.
        self.assertEqual(dumped.count(b"\x92\xd7\x00"), 40)
        self.assertIn(b"/doc/39", dumped)
        self.assertIn("handed to <secondary>", s.log())
        self.assertFalse(os.path.isdir(os.path.join(bdir, "failed")))


if __name__ == "__main__":
    unittest.main()
