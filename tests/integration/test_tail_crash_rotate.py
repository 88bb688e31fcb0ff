"""A file rotated by rename is still read for rotate_wait. Its position must
be in the pos_file meanwhile (under its new name, td-agent's format), so a
crash (kill -9) in those seconds loses none of its unread tail: the next
start finds the file by its inode among the rotated siblings and reads the
tail first. The same holds when the rotation happened while nothing ran
(a td-agent pos_file whose inode now lives in access.log.1)."""
import collections
import os
import signal
import unittest

from harness import Skiff, TempDir, wait_for
from test_tail_rotation import paths_seen

LINE = '127.0.0.1 - - [21/Jul/2018:10:00:00 +0000] "GET /%s/%d HTTP/1.1" 200 1 "-" "t"\n'

CONFIG = """
<source>
  @type tail
  path {log}
  pos_file {dir}/tail.pos
  read_from_head true
  rotate_wait {rotate_wait}
  tag app
  <parse>
    @type nginx
  </parse>
</source>
<match app>
  @type stdout
</match>
"""


def write(path, name, start, n):
    with open(path, "a") as f:
        for i in range(start, start + n):
            f.write(LINE % (name, i))


def pos_entries(path):
    """{(path, inode): offset} of the watched entries, in td-agent's format."""
    out = {}
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        p, off, ino = line.split("\t")
        assert len(off) == 16 and len(ino) == 16, line
        if off != "f" * 16:
            out[(p, int(ino, 16))] = int(off, 16)
    return out


def want(*parts):
    return sorted("/%s/%d" % (name, i) for name, n in parts for i in range(n))


class CrashDuringRotateWait(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.log = self.tmp.join("app.log")
        self.pos = self.tmp.join("tail.pos")
        self.runs = []

    def tearDown(self):
        for s in self.runs:
            if s.proc and s.proc.poll() is None:
                s.stop()
        self.tmp.cleanup()

    def start(self, name, rotate_wait="60s"):
        s = Skiff(self.tmp.path, CONFIG.format(log=self.log, dir=self.tmp.path,
                                               rotate_wait=rotate_wait), name=name).start()
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

    def test_kill9_during_rotate_wait(self):
        rotated = self.log + ".1"
        write(self.log, "a", 0, 100)
        s = self.start("first")
        self.wait_seen(100, "the first file")
        old_ino = os.stat(self.log).st_ino
        os.rename(self.log, rotated)
        write(self.log, "b", 0, 10)
        self.wait_seen(110, "the successor's lines")
        # Meanwhile the rotated file's position is recorded under its new name.
        wait_for(lambda: pos_entries(self.pos).get((rotated, old_ino)) == os.path.getsize(rotated),
                 what="the rotated file's entry in the pos_file")
        write(rotated, "c", 0, 20)  # nginx writes on until it reopens its log
        self.wait_seen(130, "lines written to the rotated file")
        wait_for(lambda: pos_entries(self.pos).get((rotated, old_ino)) == os.path.getsize(rotated),
                 what="the rotated file's entry to advance")
        s.signal(signal.SIGSTOP)
        write(rotated, "d", 0, 30)  # not read before the crash
        write(self.log, "e", 0, 5)
        s.kill9()
        self.assertIn("detected rotation of %s to %s" % (self.log, rotated), s.log())

        s2 = self.start("second")
        seen = self.wait_seen(165, "every line after the restart")
        self.assertEqual(sorted(seen), want(("a", 100), ("b", 10), ("c", 20), ("d", 30), ("e", 5)))
        self.assertTrue(all(c == 1 for c in seen.values()), "no duplicates")
        self.assertIn("reading rotated %s" % rotated, s2.log())
        s2.stop()
        # Both files' positions are where they end.
        entries = pos_entries(self.pos)
        self.assertEqual(entries[(self.log, os.stat(self.log).st_ino)], os.path.getsize(self.log))
        self.assertEqual(entries[(rotated, old_ino)], os.path.getsize(rotated))

    def test_rotated_while_nothing_ran(self):
        """td-agent read 30 of 50 lines, then the file was rotated while no
        shipper ran: the 20 unread lines are in access.log.1 now."""
        rotated = self.log + ".1"
        write(self.log, "a", 0, 50)
        with open(self.log) as f:
            offset = sum(len(l) for l in f.readlines()[:30])
        old_ino = os.stat(self.log).st_ino
        with open(self.pos, "w") as f:
            f.write("%s\t%016x\t%016x\n" % (self.log, offset, old_ino))
        os.rename(self.log, rotated)
        write(self.log, "b", 0, 10)
        s = self.start("only", rotate_wait="1s")
        seen = self.wait_seen(30, "the unread tail and the new file")
        self.assertEqual(sorted(seen), sorted(want(("b", 10)) + ["/a/%d" % i for i in range(30, 50)]))
        self.assertTrue(all(c == 1 for c in seen.values()), "no duplicates")
        order = [l for l in s.output_lines() if '"path"' in l]
        self.assertIn('"/a/49"', order[19], "the rotated file's tail is read first")
        # Once read and rotate_wait passed, its entry is released (ffff...).
        wait_for(lambda: (rotated, old_ino) not in pos_entries(self.pos),
                 what="the rotated entry to be unwatched")
        with open(self.pos) as f:
            self.assertIn("%s\t%s\t%016x\n" % (rotated, "f" * 16, old_ino), f.read())
        s.stop()

    def test_unterminated_last_line_of_rotated_file(self):
        """A rotated file whose last line never got its newline: once
        rotate_wait passed, that line is shipped (with a warning), not lost."""
        write(self.log, "a", 0, 3)
        with open(self.log, "a") as f:
            f.write((LINE % ("a", 3)).rstrip("\n"))
        s = self.start("only", rotate_wait="1s")
        self.wait_seen(3, "the complete lines")
        os.rename(self.log, self.log + ".1")
        write(self.log, "b", 0, 1)
        seen = self.wait_seen(5, "the unterminated line after rotate_wait")
        self.assertEqual(sorted(seen), want(("a", 4), ("b", 1)))
        self.assertIn("ended without a newline", s.log())
        s.stop()


if __name__ == "__main__":
    unittest.main()
