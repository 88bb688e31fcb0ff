"""Real nginx under load, real logrotate rotating its log every second.

Every request must reach skiff exactly once, with `create` (rename, nginx
reopens on USR1) and with `copytruncate` (the file is copied then cut
short; lines written in between are recovered from the rotated copy).
Also: a file deleted and re-created under the same name, and many files
tailed at once.
"""
import os
import re
import signal
import subprocess
import threading
import time
import unittest

from harness import Nginx, wait_for
from tailhelp import TailCase, config, paths_seen, write


class Rotation(TailCase):
    def setUp(self):
        super().setUp()
        self.skiff = None
        self.nginx = None

    def tearDown(self):
        self.stop_runs()
        if self.nginx:
            self.nginx.stop()
        super().tearDown()

    def conf(self, paths, tag):
        return config(paths, self.tmp.join("tail.pos"), tag=tag, refresh_interval="1s",
                      rotate_wait="2s")

    def rotate_under_load(self, mode, rotations=6):
        self.nginx = Nginx(self.tmp.path).start()
        log = self.nginx.access_log
        conf = self.tmp.join("logrotate.conf")
        post = ("postrotate\n    kill -USR1 $(cat %s/nginx.pid)\n  endscript" % self.tmp.path
                if mode == "create" else "")
        with open(conf, "w") as f:
            f.write("%s {\n  %s\n  rotate 1000\n  missingok\n  nocompress\n  %s\n}\n" % (
                log, mode, post))
        self.skiff = self.start(self.conf(log, "nginx.access"))
        stop = threading.Event()
        sent = []

        def load():
            i = 0
            while not stop.is_set():
                self.nginx.get("/r/%d" % i)
                i += 1
            sent.append(i)

        loader = threading.Thread(target=load)
        loader.start()
        for n in range(1, rotations + 1):
            time.sleep(0.5)  # the load runs meanwhile: this paces rotations, it syncs nothing
            subprocess.run(["logrotate", "-f", "-s", self.tmp.join("lr.state"), conf],
                           check=True, capture_output=True)
        time.sleep(0.3)
        stop.set()
        loader.join()
        total = sent[0]
        want = ["/r/%d" % i for i in range(total)]
        on_disk = set()
        for name in os.listdir(self.tmp.path):
            if name.startswith("access.log"):
                with open(os.path.join(self.tmp.path, name), errors="replace") as f:
                    on_disk.update(re.findall(r"GET (/r/\d+) ", f.read()))
        # Lines nginx appended after logrotate's copy and before its truncate
        # exist nowhere once the file is cut: copytruncate's own loss window.
        # skiff must deliver every line that exists (or existed while it read).
        seen = wait_for(lambda: (lambda s: s if all(s[p] for p in on_disk) else None)(
            paths_seen(self.skiff)), timeout=60, what="every line on disk delivered")
        wait_for(lambda: sum(paths_seen(self.skiff).values()) >= len(on_disk), what="settle")
        seen = paths_seen(self.skiff)
        missing = [p for p in want if seen[p] == 0]
        dup = {p: c for p, c in seen.items() if c > 1}
        self.assertEqual(dup, {}, "duplicates")
        if mode == "create":
            self.assertEqual(missing, [], "%d missing after %d rotations" % (len(missing), n))
        else:
            self.assertTrue(all(p not in on_disk for p in missing), "a line on disk was lost")
            print("copytruncate: %d requests, %d lost in logrotate's copy/truncate window" % (
                total, len(missing)))
            self.assertLess(len(missing), total / 100)
        self.assertGreater(total, 500)
        rotated = [f for f in os.listdir(self.tmp.path) if f.startswith("access.log.")]
        self.assertGreaterEqual(len(rotated), 3, "logrotate really rotated")

    def test_logrotate_create(self):
        self.rotate_under_load("create")

    def test_logrotate_copytruncate(self):
        self.rotate_under_load("copytruncate")

    def test_copytruncate_while_skiff_is_behind(self):
        """skiff is stopped (SIGSTOP) while lines are written, the file is
        copied and truncated, and more lines are written: the unread lines
        are recovered from the rotated copy, found by its content."""
        log = self.tmp.join("app.log")
        write(log, "a", 0, 100)
        self.skiff = self.start(self.conf(log, "app"))
        wait_for(lambda: sum(paths_seen(self.skiff).values()) >= 100, what="first lines")
        self.skiff.signal(signal.SIGSTOP)
        try:
            write(log, "b", 0, 300)  # not read yet: skiff is stopped
            conf = self.tmp.join("lr.conf")
            with open(conf, "w") as f:
                f.write("%s {\n  copytruncate\n  rotate 5\n  nocompress\n}\n" % log)
            subprocess.run(["logrotate", "-f", "-s", self.tmp.join("lr.state"), conf], check=True)
            self.assertEqual(os.path.getsize(log), 0)
            write(log, "c", 0, 20)  # the new content, shorter than what skiff had read
        finally:
            self.skiff.signal(signal.SIGCONT)
        want = ["/a/%d" % i for i in range(100)] + ["/b/%d" % i for i in range(300)] + \
               ["/c/%d" % i for i in range(20)]
        seen = wait_for(lambda: (lambda s: s if sum(s.values()) >= len(want) else None)(
            paths_seen(self.skiff)), what="all lines")
        self.assertEqual(sorted(seen), sorted(want))
        self.assertTrue(all(c == 1 for c in seen.values()), "no duplicates")
        self.assertIn("reading %s.1" % log, self.skiff.log())

    def test_deleted_and_recreated(self):
        log = self.tmp.join("app.log")
        write(log, "a", 0, 100)
        self.skiff = self.start(self.conf(log, "app"))
        wait_for(lambda: sum(paths_seen(self.skiff).values()) >= 100, what="first file")
        os.unlink(log)
        write(log, "b", 0, 50)
        seen = wait_for(lambda: (lambda s: s if sum(s.values()) >= 150 else None)(
            paths_seen(self.skiff)), what="re-created file")
        self.assertEqual(sorted(seen), sorted(["/a/%d" % i for i in range(100)] +
                                              ["/b/%d" % i for i in range(50)]))
        self.assertTrue(all(c == 1 for c in seen.values()))

    def test_many_files(self):
        nfiles = 200
        d = self.tmp.join("logs")
        os.makedirs(d)
        for i in range(nfiles):
            write(os.path.join(d, "f%03d.log" % i), "f/%d" % i, 0, 1)
        self.skiff = self.start(self.conf(d + "/*.log", "many.*"))
        wait_for(lambda: sum(paths_seen(self.skiff).values()) >= nfiles, what="first lines")
        for i in range(nfiles):
            write(os.path.join(d, "f%03d.log" % i), "f/%d" % i, 1, 1)
        seen = wait_for(lambda: (lambda s: s if sum(s.values()) >= 2 * nfiles else None)(
            paths_seen(self.skiff)), what="second lines")
        self.assertEqual(len(seen), 2 * nfiles)
        self.assertTrue(all(c == 1 for c in seen.values()))
        tags = set(l.split(" ")[3].rstrip(":") for l in self.skiff.output_lines())
        self.assertIn("many.%s.f000.log" % d.strip("/").replace("/", "."), tags)


if __name__ == "__main__":
    unittest.main()
