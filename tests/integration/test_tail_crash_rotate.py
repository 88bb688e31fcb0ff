"""A file rotated by rename is still read for rotate_wait. Its position must
be in the pos_file meanwhile (under its new name, td-agent's format), so a
crash (kill -9) in those seconds loses none of its unread tail: the next
start finds the file by its inode among the rotated siblings and reads the
tail first. The same holds when the rotation happened while nothing ran
(a td-agent pos_file whose inode now lives in access.log.1)."""
import os
import signal
import unittest

from harness import wait_for
from tailhelp import LINE, TailCase, config, pos_entries, pos_line, want, write


class CrashDuringRotateWait(TailCase):
    def setUp(self):
        super().setUp()
        self.log = self.tmp.join("app.log")
        self.pos = self.tmp.join("tail.pos")

    def start_run(self, name, rotate_wait="60s"):
        return self.start(config(self.log, self.pos, rotate_wait=rotate_wait), name=name)

    def test_kill9_during_rotate_wait(self):
        rotated = self.log + ".1"
        write(self.log, "a", 0, 100)
        s = self.start_run("first")
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

        s2 = self.start_run("second")
        seen = self.wait_seen(165, "every line after the restart")
        self.assertOnce(seen, want(("a", 100), ("b", 10), ("c", 20), ("d", 30), ("e", 5)))
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
            f.write(pos_line(self.log, offset, old_ino))
        os.rename(self.log, rotated)
        write(self.log, "b", 0, 10)
        s = self.start_run("only", rotate_wait="1s")
        seen = self.wait_seen(30, "the unread tail and the new file")
        self.assertOnce(seen, want(("b", 10)) + ["/a/%d" % i for i in range(30, 50)])
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
        s = self.start_run("only", rotate_wait="1s")
        self.wait_seen(3, "the complete lines")
        os.rename(self.log, self.log + ".1")
        write(self.log, "b", 0, 1)
        seen = self.wait_seen(5, "the unterminated line after rotate_wait")
        self.assertEqual(sorted(seen), want(("a", 4), ("b", 1)))
        self.assertIn("ended without a newline", s.log())
        s.stop()


if __name__ == "__main__":
    unittest.main()
