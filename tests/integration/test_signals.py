"""Signals as td-agent users expect them: SIGUSR1 flushes buffers now,
SIGTERM stops gracefully and flushes a memory buffer, SIGHUP reopens
skiff's own log file (for logrotate)."""
import os
import signal
import unittest

from harness import Skiff, TempDir, wait_for

LINE = '127.0.0.1 - - [21/Jul/2018:10:00:00 +0000] "GET /%s HTTP/1.1" 200 1 "-" "t"\n'

CONFIG = """
<source>
  @type tail
  path {log}
  pos_file {dir}/tail.pos
  read_from_head true
  tag app
  <parse>
    @type nginx
  </parse>
</source>

<match app>
  @type stdout
  <buffer>
    flush_interval 3600s
  </buffer>
</match>
"""


class Signals(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.log = self.tmp.join("app.log")

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, n):
        with open(self.log, "a") as f:
            for i in range(n):
                f.write(LINE % ("%s/%d" % (name, i)))

    def pos_at_end(self):
        try:
            text = open(self.tmp.join("tail.pos")).read()
        except FileNotFoundError:
            return False
        return text.split("\t")[1:2] == ["%016x" % os.path.getsize(self.log)]

    def test_usr1_term_hup(self):
        self.write("a", 10)
        skiff = Skiff(self.tmp.path, CONFIG.format(log=self.log, dir=self.tmp.path)).start()
        try:
            wait_for(self.pos_at_end, what="lines read into the buffer")
            self.assertEqual(skiff.output_lines(), [])  # held by flush_interval 3600s
            skiff.signal(signal.SIGUSR1)
            wait_for(lambda: len(skiff.output_lines()) == 10, what="SIGUSR1 flush")

            os.rename(skiff.log_path, skiff.log_path + ".1")
            skiff.signal(signal.SIGHUP)
            skiff.signal(signal.SIGUSR1)  # something to log after the reopen
            wait_for(lambda: os.path.exists(skiff.log_path) and "SIGUSR1" in skiff.log(),
                     what="log file reopened")

            self.write("b", 5)
            wait_for(self.pos_at_end, what="more lines buffered")
            self.assertEqual(len(skiff.output_lines()), 10)
        finally:
            code = skiff.stop()
        self.assertEqual(code, 0)
        lines = skiff.output_lines()
        self.assertEqual(len(lines), 15, "memory buffer flushed at shutdown")
        self.assertTrue(lines[-1].endswith('"path":"/b/4","code":"200","size":"1","referer":"-","agent":"t"}'))
        self.assertIn("stopping", skiff.log())


if __name__ == "__main__":
    unittest.main()
