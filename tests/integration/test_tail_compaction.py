"""pos_file_compaction_interval: while skiff runs, the pos_file is rewritten
without the lines of files no longer followed (td-agent's ffff... marker)
and without duplicates, and stays in td-agent's format; updates after the
rewrite land on the right entries."""
import os
import re
import unittest

from harness import wait_for
from tailhelp import TailCase, config, paths_seen, pos_line, write

TD_AGENT_LINE = re.compile(r"^[^\t]+\t[0-9a-f]{16}\t[0-9a-f]{16}$")


class Compaction(TailCase):
    def run_case(self, follow):
        pos = self.tmp.join("pos", "tail.pos")
        os.makedirs(self.tmp.join("logs"))  # not next to skiff's own log
        logs = [self.tmp.join("logs", n + ".log") for n in "abc"]
        for p in logs:
            write(p, os.path.basename(p)[0], 0, 5)
        s = self.start(config(self.tmp.join("logs", "*.log"), pos,
                              pos_file_compaction_interval="1s", follow_inodes=follow,
                              rotate_wait="1s"))
        wait_for(lambda: sum(paths_seen(s).values()) >= 15, what="first lines")

        def entries():
            with open(pos) as f:
                return f.read().splitlines()
        wait_for(lambda: len(entries()) == 3, what="three entries")
        os.unlink(logs[1])
        os.unlink(logs[2])

        def compacted():
            lines = entries()
            return lines if len(lines) == 1 else None
        lines = wait_for(compacted, what="the unwatched entries compacted away")
        a = logs[0]
        self.assertEqual(lines, [pos_line(a, os.path.getsize(a), os.stat(a).st_ino).rstrip("\n")])
        self.assertIn("compacted pos_file", s.log())
        write(a, "a", 5, 3)

        def at_end():
            with open(pos) as f:
                return f.read() == pos_line(a, os.path.getsize(a), os.stat(a).st_ino)
        wait_for(at_end, what="the entry updated in place after the rewrite")
        self.assertEqual(os.stat(pos).st_mode & 0o777, 0o644)
        s.stop()
        seen = paths_seen(s)
        self.assertEqual(sum(seen.values()), 18)
        self.assertTrue(all(c == 1 for c in seen.values()))
        for line in entries():
            self.assertRegex(line, TD_AGENT_LINE)

    def test_by_path(self):
        self.run_case(False)

    def test_by_inode(self):
        self.run_case(True)


if __name__ == "__main__":
    unittest.main()
