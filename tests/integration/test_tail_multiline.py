"""Multiline logs (stack traces) with format_firstline/formatN, v0.12 style
as td-agent 2 configs write it: one event per block, the pending block is
not acknowledged in the pos_file until it became an event, and
multiline_flush_interval emits the last block when the file goes quiet."""
import os
import unittest

from harness import wait_for
from tailhelp import TailCase, records

CONFIG = r"""
<source>
  type tail
  path {log}
  pos_file {dir}/ml.pos
  read_from_head true
  tag app.java
  format multiline
  format_firstline /^\d{{4}}-\d{{2}}-\d{{2}} /
  format1 /^(?<time>\d{{4}}-\d{{2}}-\d{{2}} \d{{2}}:\d{{2}}:\d{{2}}) (?<level>\w+) (?<message>.*)/
  time_format %Y-%m-%d %H:%M:%S
  multiline_flush_interval 2s
</source>
<match app.**>
  @type stdout
</match>
"""


class Multiline(TailCase):
    def test_stack_traces(self):
        tmp = self.tmp
        log = tmp.join("app.log")
        first = ("2018-07-21 10:00:00 ERROR boom\n"
                 "java.lang.IllegalStateException: x\n"
                 "    at a.b(B.java:1)\n"
                 "    at c.d(D.java:2)\n")
        second = "2018-07-21 10:00:01 INFO ok\n"
        with open(log, "w") as f:
            f.write("orphan line before any first line\n" + first + second)
        s = self.start(CONFIG.format(log=log, dir=tmp.path))
        wait_for(lambda: records(s), what="the first event")

        def pos_moved():  # written within pos_file_write_interval (1 s)
            with open(tmp.join("ml.pos")) as f:
                return int(f.read().split("\t")[1], 16)
        pos = wait_for(pos_moved, what="the first event's position")
        if len(records(s)) == 1:  # the last block is still gathering (2 s interval)
            self.assertEqual(pos, os.path.getsize(log) - len(second),
                             "the pending block is not acknowledged yet")
        recs = wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(records(s)),
                        what="two events")
        size = os.path.getsize(log)

        def pos_at_end():
            with open(tmp.join("ml.pos")) as f:
                return f.read().split("\t")[1] == "%016x" % size
        wait_for(pos_at_end, what="pos_file at the end once the last block was flushed")
        s.stop()
        self.assertEqual(recs[0], {"level": "ERROR", "message": "boom\njava.lang.IllegalStateException: x\n"
                                   "    at a.b(B.java:1)\n    at c.d(D.java:2)"})
        self.assertEqual(recs[1], {"level": "INFO", "message": "ok"})
        self.assertEqual(len(recs), 2)
        self.assertIn("got incomplete line before first line", s.log())


if __name__ == "__main__":
    unittest.main()
