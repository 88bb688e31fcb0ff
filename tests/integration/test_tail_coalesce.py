"""A log written in many small appends is read in batches: a change event
is read TAIL_COALESCE_MS (20 ms) later, with whatever else was appended
meanwhile, instead of once per append. Observed through skiff's write
system calls (/proc/<pid>/io syscw): out_stdout writes once per batch of
events, so 300 appends 2 ms apart must give far fewer than 300 writes, and
every line still arrives once."""
import time
import unittest

from tailhelp import TailCase, config, want, write


def syscw(pid):
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("syscw:"):
                return int(line.split()[1])
    raise AssertionError("no syscw in /proc/%d/io" % pid)


class Coalesce(TailCase):
    def test_small_appends_are_read_together(self):
        log = self.tmp.join("app.log")
        write(log, "a", 0, 1)
        s = self.start(config(log, self.tmp.join("tail.pos")))
        self.wait_seen(1, "the first line")
        before = syscw(s.proc.pid)
        for i in range(1, 301):
            write(log, "a", i, 1)
            time.sleep(0.002)  # the writer's pace, not synchronisation
        self.wait_seen(301, "every appended line")
        writes = syscw(s.proc.pid) - before
        # One write per batch (plus a pos_file write a second): 300 appends
        # read one by one would be about 300.
        self.assertLess(writes, 150, "%d writes for 300 appends" % writes)
        self.assertOnce(self.seen(), want(("a", 301)))


if __name__ == "__main__":
    unittest.main()
