"""pos_file writes are batched: a moved position is written at most every
pos_file_write_interval (1 s), and always at stop, instead of after every
batch of lines. A position behind the delivered lines only means lines read
again after a crash, never lines lost; a position ahead of them is never
written (a kill -9 in the middle of a backlog shows it)."""
import os
import unittest

from harness import wait_for
from tailhelp import LINE, TailCase, config, pos_offset, printed_count, printed_paths, write

FIRST = 100000  # six digits: every line has the same length
WIDTH = len(LINE % ("a", FIRST))


def paths(n, start=0):
    return ["/a/%d" % i for i in range(FIRST + start, FIRST + n)]


class PosFileWrites(TailCase):
    def setUp(self):
        super().setUp()
        self.log = self.tmp.join("app.log")
        self.pos = self.tmp.join("tail.pos")

    def test_written_after_the_interval_and_at_stop(self):
        write(self.log, "a", FIRST, 10)
        s = self.start(config(self.log, self.pos, pos_file_write_interval="1h"), name="first")
        self.wait_seen(10, "the first lines")
        for i in range(10, 20):  # small appends, each read and emitted on its own
            write(self.log, "a", FIRST + i, 1)
            self.wait_seen(i + 1, "line %d" % i)
        # Every line is out, the position written when the file was opened
        # (its start) is still the pos_file's: the next write is an hour away.
        self.assertEqual(pos_offset(self.pos, self.log), 0)
        self.assertEqual(s.stop(), 0)
        self.assertEqual(pos_offset(self.pos, self.log), 20 * WIDTH)

        # The default interval: written while running, within a second.
        self.start(config(self.log, self.pos), name="second")
        write(self.log, "a", FIRST + 20, 5)
        self.wait_seen(25, "lines after the restart")
        wait_for(lambda: pos_offset(self.pos, self.log) == 25 * WIDTH,
                 what="the position written while running")
        self.assertOnce(self.seen(), paths(25))

    def test_kill9_before_the_interval_reads_again(self):
        """A crash before a moved position was written: the lines are read
        again (duplicates), none is lost."""
        write(self.log, "a", FIRST, 50)
        s = self.start(config(self.log, self.pos, pos_file_write_interval="1h"), name="first")
        self.wait_seen(50, "the lines")
        s.kill9()
        self.assertEqual(pos_offset(self.pos, self.log), 0)
        write(self.log, "a", FIRST + 50, 10)
        self.start(config(self.log, self.pos), name="second")
        seen = self.wait_seen(110, "every line after the restart")
        self.assertEqual(sorted(seen), paths(60))
        self.assertEqual({p: c for p, c in seen.items() if c != 1},
                         {p: 2 for p in paths(50)})

    def test_kill9_during_backlog_position_not_ahead(self):
        """kill -9 while a (throttled) backlog is read and positions are
        written every 200 ms: the pos_file points at a line's end no later
        than the last line delivered, and a restart delivers the rest."""
        n = 3000  # 250 KB at 64 KB per second
        write(self.log, "a", FIRST, n)
        s = self.start(config(self.log, self.pos, pos_file_write_interval="200ms",
                              read_bytes_limit_per_second="64k"), name="first")
        wait_for(lambda: 0 < (pos_offset(self.pos, self.log) or 0) < n * WIDTH,
                 interval=0.005, what="a position written in the middle of the backlog")
        s.kill9()
        offset = pos_offset(self.pos, self.log)
        printed = printed_paths(s)
        self.assertEqual(printed, paths(len(printed)))
        self.assertLess(len(printed), n)
        self.assertEqual(offset % WIDTH, 0, "a position inside a line")
        self.assertLessEqual(offset, len(printed) * WIDTH, "a position ahead of the delivered")
        self.start(config(self.log, self.pos), name="second")
        wait_for(lambda: printed_count(self.runs[1]) >= n - offset // WIDTH, what="the rest")
        self.assertEqual(printed_paths(self.runs[1]), paths(n, offset // WIDTH))


if __name__ == "__main__":
    unittest.main()
