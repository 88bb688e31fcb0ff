"""Taking over td-agent's pos_file: skiff resumes at exactly the offsets td-agent
recorded (no line twice, none skipped), and reads a file that was rotated
while nothing ran from its start. The pos_file is built by the test in
td-agent's documented format ("%s\\t%016x\\t%016x\\n")."""
import os
import unittest

from harness import Skiff, TempDir, wait_for
from test_tail_rotation import paths_seen

LINE = '127.0.0.1 - - [21/Jul/2018:10:00:00 +0000] "GET /%s/%d HTTP/1.1" 200 1 "-" "t"\n'

CONFIG = """
<source>
  @type tail
  path {a},{b},{c}
  pos_file {pos}
  tag app
  <parse>
    @type nginx
  </parse>
</source>
<match app>
  @type stdout
</match>
"""


class TdAgentPosFile(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, path, name, start, n):
        with open(path, "a") as f:
            for i in range(start, start + n):
                f.write(LINE % (name, i))

    def test_resume_at_td_agent_offsets(self):
        a, b, c = (self.tmp.join(n + ".log") for n in "abc")
        self.write(a, "a", 0, 100)
        self.write(b, "b", 0, 10)
        self.write(c, "c", 0, 10)
        offset = len(LINE % ("a", 0)) * 60 + sum(len(str(i)) - 1 for i in range(10, 60))
        with open(a) as f:
            self.assertEqual(f.read()[offset:].split("\n")[0], (LINE % ("a", 60)).strip())
        pos = self.tmp.join("td-agent.pos")
        with open(pos, "w") as f:
            # a: td-agent read 60 lines; b: the inode differs (rotated while
            # down); c: an unwatched entry (ffff...), as td-agent leaves them.
            f.write("%s\t%016x\t%016x\n" % (a, offset, os.stat(a).st_ino))
            f.write("%s\t%016x\t%016x\n" % (b, 5, os.stat(b).st_ino + 1))
            f.write("%s\t%016x\t%016x\n" % (c, 0xFFFFFFFFFFFFFFFF, os.stat(c).st_ino))
        s = Skiff(self.tmp.path, CONFIG.format(a=a, b=b, c=c, pos=pos)).start()
        try:
            seen = wait_for(lambda: (lambda x: x if sum(x.values()) >= 50 else None)(
                paths_seen(s)), what="resumed lines")
            self.write(c, "c", 10, 5)  # c starts at its end (no position known): only new lines
            seen = wait_for(lambda: (lambda x: x if sum(x.values()) >= 55 else None)(
                paths_seen(s)), what="new lines of c")
        finally:
            s.stop()
        want = ["/a/%d" % i for i in range(60, 100)] + ["/b/%d" % i for i in range(10)] + \
               ["/c/%d" % i for i in range(10, 15)]
        self.assertEqual(sorted(seen), sorted(want))
        self.assertTrue(all(v == 1 for v in seen.values()))
        # skiff's pos_file is td-agent's format again, at the ends of the files.
        lines = open(pos).read().splitlines()
        entries = {l.split("\t")[0]: l.split("\t")[1:] for l in lines}
        for p in (a, b, c):
            self.assertEqual(entries[p], ["%016x" % os.path.getsize(p), "%016x" % os.stat(p).st_ino])


class TailOptions(unittest.TestCase):
    """path_key, strftime placeholders in path, limit_recently_modified."""

    def test_path_key_strftime_and_recent_files(self):
        import time
        tmp = TempDir()
        try:
            today = time.strftime("%Y%m%d")
            dated = tmp.join("app.%s.log" % today)
            old = tmp.join("old.log")
            for p, name in ((dated, "d"), (old, "o")):
                with open(p, "w") as f:
                    f.write(LINE % (name, 0))
            os.utime(old, (time.time() - 7200, time.time() - 7200))
            conf = """
<source>
  @type tail
  path {d}/app.%Y%m%d.log,{d}/old.log
  pos_file {d}/p.pos
  read_from_head true
  path_key source_path
  limit_recently_modified 1h
  tag app
  <parse>
    @type nginx
  </parse>
</source>
<match app>
  @type stdout
</match>
""".format(d=tmp.path)
            s = Skiff(tmp.path, conf).start()
            try:
                seen = wait_for(lambda: paths_seen(s, "source_path"), what="an event")
                with open(dated, "a") as f:
                    f.write(LINE % ("d", 1))
                wait_for(lambda: paths_seen(s, "source_path")[dated] == 2, what="second line")
            finally:
                s.stop()
            seen = paths_seen(s, "source_path")
            self.assertEqual(dict(seen), {dated: 2})  # old.log is older than 1h: not followed
            self.assertEqual(sorted(paths_seen(s)), ["/d/0", "/d/1"])
        finally:
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
