"""Taking over td-agent's pos_file: skiff resumes at exactly the offsets td-agent
recorded (no line twice, none skipped), and reads a file that was rotated
while nothing ran from its start. The pos_file is built by the test in
td-agent's documented format ("%s\\t%016x\\t%016x\\n")."""
import os
import time
import unittest

from harness import wait_for
from tailhelp import (LINE, UNWATCHED, TailCase, config, paths_seen, pos_line, write)


class TdAgentPosFile(TailCase):
    def test_resume_at_td_agent_offsets(self):
        a, b, c = (self.tmp.join(n + ".log") for n in "abc")
        write(a, "a", 0, 100)
        write(b, "b", 0, 10)
        write(c, "c", 0, 10)
        offset = len(LINE % ("a", 0)) * 60 + sum(len(str(i)) - 1 for i in range(10, 60))
        with open(a) as f:
            self.assertEqual(f.read()[offset:].split("\n")[0], (LINE % ("a", 60)).strip())
        pos = self.tmp.join("td-agent.pos")
        with open(pos, "w") as f:
            # a: td-agent read 60 lines; b: the inode differs (rotated while
            # down); c: an unwatched entry (ffff...), as td-agent leaves them.
            f.write(pos_line(a, offset, os.stat(a).st_ino))
            f.write(pos_line(b, 5, os.stat(b).st_ino + 1))
            f.write(pos_line(c, UNWATCHED, os.stat(c).st_ino))
        s = self.start(config(",".join((a, b, c)), pos, read_from_head=False))
        self.wait_seen(50, "resumed lines")
        write(c, "c", 10, 5)  # c starts at its end (no position known): only new lines
        self.wait_seen(55, "new lines of c")
        s.stop()
        self.assertOnce(paths_seen(s), ["/a/%d" % i for i in range(60, 100)] +
                        ["/b/%d" % i for i in range(10)] + ["/c/%d" % i for i in range(10, 15)])
        # skiff's pos_file is td-agent's format again, at the ends of the files.
        with open(pos) as f:
            lines = f.read().splitlines()
        entries = {l.split("\t")[0]: l.split("\t")[1:] for l in lines}
        for p in (a, b, c):
            self.assertEqual(entries[p], ["%016x" % os.path.getsize(p), "%016x" % os.stat(p).st_ino])


class TailOptions(TailCase):
    """path_key, strftime placeholders in path, limit_recently_modified."""

    def test_path_key_strftime_and_recent_files(self):
        today = time.strftime("%Y%m%d")
        dated = self.tmp.join("app.%s.log" % today)
        old = self.tmp.join("old.log")
        for p, name in ((dated, "d"), (old, "o")):
            write(p, name, 0, 1)
        os.utime(old, (time.time() - 7200, time.time() - 7200))
        s = self.start(config("%s,%s" % (self.tmp.join("app.%Y%m%d.log"), old),
                              self.tmp.join("p.pos"), path_key="source_path",
                              limit_recently_modified="1h"))
        wait_for(lambda: paths_seen(s, "source_path"), what="an event")
        write(dated, "d", 1, 1)
        wait_for(lambda: paths_seen(s, "source_path")[dated] == 2, what="second line")
        s.stop()
        seen = paths_seen(s, "source_path")
        self.assertEqual(dict(seen), {dated: 2})  # old.log is older than 1h: not followed
        self.assertEqual(sorted(paths_seen(s)), ["/d/0", "/d/1"])


if __name__ == "__main__":
    unittest.main()
