"""follow_inodes (Fluentd v1.12+): with a glob that also matches rotated
files (app.log*), positions are keyed by inode, so a rotated file is
neither read again from its head nor duplicated, and a file renamed into
the watched set goes on where it was. The pos_file then holds one line per
inode, several of them naming one path, in td-agent's format."""
import collections
import os
import unittest

from harness import Skiff, TempDir, wait_for
from test_tail_crash_rotate import pos_entries, want, write
from test_tail_rotation import paths_seen

CONFIG = """
<source>
  @type tail
  path {glob}
  pos_file {dir}/tail.pos
  follow_inodes {follow}
  read_from_head true
  rotate_wait 1s
  refresh_interval 60s
  tag app
  <parse>
    @type nginx
  </parse>
</source>
<match app>
  @type stdout
</match>
"""


class FollowInodes(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.runs = []

    def tearDown(self):
        for s in self.runs:
            if s.proc and s.proc.poll() is None:
                s.stop()
        self.tmp.cleanup()

    def start(self, name, glob, follow="true"):
        s = Skiff(self.tmp.path, CONFIG.format(glob=glob, dir=self.tmp.path, follow=follow),
                  name=name).start()
        self.runs.append(s)
        return s

    def seen(self):
        total = collections.Counter()
        for s in self.runs:
            total.update(paths_seen(s))
        return total

    def wait_seen(self, n, what):
        return wait_for(lambda: (lambda x: x if sum(x.values()) >= n else None)(self.seen()),
                        what=what)

    def test_rotated_while_stopped_is_resumed_not_reread(self):
        log = self.tmp.join("app.log")
        write(log, "a", 0, 50)
        s = self.start("first", self.tmp.join("app.log*"))
        self.wait_seen(50, "the first lines")
        self.assertEqual(s.stop(), 0)
        write(log, "a", 50, 10)  # written while skiff is stopped, then rotated
        old_ino = os.stat(log).st_ino
        os.rename(log, log + ".1")
        write(log, "b", 0, 10)
        self.start("second", self.tmp.join("app.log*"))
        seen = self.wait_seen(70, "the rotated file's tail and the new file")
        self.assertEqual(sorted(seen), want(("a", 60), ("b", 10)))
        self.assertTrue(all(c == 1 for c in seen.values()), "nothing read twice")
        # One entry per inode; the rotated file's keeps the path it was first
        # recorded under, as Fluentd leaves it.
        entries = pos_entries(self.tmp.join("tail.pos"))
        self.assertEqual(entries[(log, old_ino)], os.path.getsize(log + ".1"))
        self.assertEqual(entries[(log, os.stat(log).st_ino)], os.path.getsize(log))

    def test_renamed_into_the_watched_set(self):
        os.makedirs(self.tmp.join("logs"))  # not next to skiff's own log
        a = self.tmp.join("logs", "a.log")
        b = self.tmp.join("logs", "b.log")
        write(a, "a", 0, 20)
        s = self.start("only", self.tmp.join("logs", "*.log"))
        self.wait_seen(20, "the first lines")
        os.rename(a, b)  # both names match: the same file goes on
        write(b, "a", 20, 5)
        wait_for(lambda: "following %s (the rotated %s)" % (b, a) in s.log(),
                 what="b.log followed as the renamed a.log")
        write(b, "a", 25, 5)
        seen = self.wait_seen(30, "lines after the rename")
        self.assertEqual(sorted(seen), want(("a", 30)))
        self.assertTrue(all(c == 1 for c in seen.values()), "nothing read twice")
        ino = os.stat(b).st_ino
        wait_for(lambda: pos_entries(self.tmp.join("tail.pos")).get((a, ino)) ==
                 os.path.getsize(b), what="the inode's entry at the end of b.log")
        s.stop()

    def test_requires_pos_file(self):
        conf = CONFIG.replace("  pos_file {dir}/tail.pos\n", "").format(
            glob=self.tmp.join("*.log"), dir=self.tmp.path, follow="true")
        path = self.tmp.join("bad.conf")
        with open(path, "w") as f:
            f.write(conf)
        from harness import run_skiff
        code, _, err = run_skiff("--dry-run", "-c", path)
        self.assertNotEqual(code, 0)
        self.assertRegex(err, r"bad\.conf:5: .*Can't follow inodes without pos_file")


if __name__ == "__main__":
    unittest.main()
