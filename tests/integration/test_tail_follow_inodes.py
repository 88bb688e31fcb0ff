"""follow_inodes (Fluentd v1.12+): with a glob that also matches rotated
files (app.log*), positions are keyed by inode, so a rotated file is
neither read again from its head nor duplicated, and a file renamed into
the watched set goes on where it was. The pos_file then holds one line per
inode, several of them naming one path, in td-agent's format."""
import os
import unittest

from harness import run_skiff, wait_for
from tailhelp import TailCase, config, pos_entries, want, write


class FollowInodes(TailCase):
    def conf(self, glob, follow=True, pos=True):
        return config(glob, self.tmp.join("tail.pos") if pos else None, follow_inodes=follow,
                      rotate_wait="1s", refresh_interval="60s")

    def test_rotated_while_stopped_is_resumed_not_reread(self):
        log = self.tmp.join("app.log")
        write(log, "a", 0, 50)
        s = self.start(self.conf(self.tmp.join("app.log*")), name="first")
        self.wait_seen(50, "the first lines")
        self.assertEqual(s.stop(), 0)
        write(log, "a", 50, 10)  # written while skiff is stopped, then rotated
        old_ino = os.stat(log).st_ino
        os.rename(log, log + ".1")
        write(log, "b", 0, 10)
        self.start(self.conf(self.tmp.join("app.log*")), name="second")
        seen = self.wait_seen(70, "the rotated file's tail and the new file")
        self.assertOnce(seen, want(("a", 60), ("b", 10)))
        # One entry per inode; the rotated file's keeps the path it was first
        # recorded under, as Fluentd leaves it. (Written within
        # pos_file_write_interval.)
        want_pos = {(log, old_ino): os.path.getsize(log + ".1"),
                    (log, os.stat(log).st_ino): os.path.getsize(log)}
        wait_for(lambda: pos_entries(self.tmp.join("tail.pos")) == want_pos,
                 what="one entry per inode at the end of its file")

    def test_renamed_into_the_watched_set(self):
        os.makedirs(self.tmp.join("logs"))  # not next to skiff's own log
        a = self.tmp.join("logs", "a.log")
        b = self.tmp.join("logs", "b.log")
        write(a, "a", 0, 20)
        s = self.start(self.conf(self.tmp.join("logs", "*.log")))
        self.wait_seen(20, "the first lines")
        os.rename(a, b)  # both names match: the same file goes on
        write(b, "a", 20, 5)
        wait_for(lambda: "following %s (the rotated %s)" % (b, a) in s.log(),
                 what="b.log followed as the renamed a.log")
        write(b, "a", 25, 5)
        seen = self.wait_seen(30, "lines after the rename")
        self.assertOnce(seen, want(("a", 30)))
        ino = os.stat(b).st_ino
        wait_for(lambda: pos_entries(self.tmp.join("tail.pos")).get((a, ino)) ==
                 os.path.getsize(b), what="the inode's entry at the end of b.log")
        s.stop()

    def test_requires_pos_file(self):
        conf = self.conf(self.tmp.join("*.log"), pos=False)
        line = conf.splitlines().index("  follow_inodes true") + 1
        path = self.tmp.join("bad.conf")
        with open(path, "w") as f:
            f.write(conf)
        code, _, err = run_skiff("--dry-run", "-c", path)
        self.assertNotEqual(code, 0)
        self.assertRegex(err, r"bad\.conf:%d: .*Can't follow inodes without pos_file" % line)


if __name__ == "__main__":
    unittest.main()
