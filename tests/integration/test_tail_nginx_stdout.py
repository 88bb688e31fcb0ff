"""Real nginx writes its access log; skiff tails it and prints every request.

Checks exact event count and fields (as Fluentd's nginx parser yields
them), that the pos_file is written in td-agent's format, and that a
restart resumes exactly where it stopped: no line twice, none missing.
"""
import json
import os
import re
import unittest

from harness import Nginx, wait_for
from tailhelp import TailCase, config

LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} [+-]\d{4}) (\S+): (\{.*\})$")


def events(skiff):
    out = []
    for line in skiff.output_lines():
        m = LINE.match(line)
        if m:
            out.append((m.group(2), json.loads(m.group(3))))
    return out


class TailNginxStdout(TailCase):
    def setUp(self):
        super().setUp()
        self.nginx = Nginx(self.tmp.path).start()
        self.conf = config(self.nginx.access_log, self.tmp.join("access.pos"),
                           tag="nginx.access")

    def tearDown(self):
        self.stop_runs()  # skiff first, then the nginx it tails
        self.nginx.stop()
        super().tearDown()

    def test_every_request_once_with_fields_and_resume(self):
        n = 150
        for i in range(n):
            path = "/index.html?i=%d" % i if i % 3 else "/missing/%d" % i
            self.nginx.get(path, agent="agent-%d" % i, referer="http://ref/%d" % i)
        wait_for(lambda: os.path.getsize(self.nginx.access_log) > 0, what="nginx log")

        self.skiff = self.start(self.conf)
        got = wait_for(lambda: len(events(self.skiff)) >= n and events(self.skiff),
                       what="%d events" % n)
        self.assertEqual(len(got), n)
        for i, (tag, rec) in enumerate(got):
            self.assertEqual(tag, "nginx.access")
            self.assertEqual(rec["remote"], "127.0.0.1")
            self.assertEqual(rec["host"], "-")
            self.assertEqual(rec["user"], "-")
            self.assertEqual(rec["method"], "GET")
            self.assertEqual(rec["agent"], "agent-%d" % i)
            self.assertEqual(rec["referer"], "http://ref/%d" % i)
            if i % 3:
                self.assertEqual(rec["path"], "/index.html?i=%d" % i)
                self.assertEqual(rec["code"], "200")
            else:
                self.assertEqual(rec["path"], "/missing/%d" % i)
                self.assertEqual(rec["code"], "404")
            self.assertIsInstance(rec["size"], str)
            self.assertNotIn("time", rec)

        # pos_file in td-agent's format, at the end of the log.
        size = os.path.getsize(self.nginx.access_log)
        inode = os.stat(self.nginx.access_log).st_ino
        want = "%s\t%016x\t%016x\n" % (self.nginx.access_log, size, inode)
        wait_for(lambda: open(self.tmp.join("access.pos")).read() == want, what="pos_file")
        self.assertEqual(self.skiff.stop(), 0)

        # Lines written while skiff is down, then a restart: only those appear.
        for i in range(20):
            self.nginx.get("/index.html?later=%d" % i)
        wait_for(lambda: os.path.getsize(self.nginx.access_log) > size, what="more log")
        self.skiff = self.start(self.conf)
        got = wait_for(lambda: len(events(self.skiff)) >= n + 20 and events(self.skiff),
                       what="%d events" % (n + 20))
        later = [r["path"] for _, r in got[n:]]
        self.assertEqual(later, ["/index.html?later=%d" % i for i in range(20)])
        self.assertEqual(len(got), n + 20)

        # Live tailing: new requests arrive without a restart.
        for i in range(10):
            self.nginx.get("/index.html?live=%d" % i)
        got = wait_for(lambda: len(events(self.skiff)) >= n + 30 and events(self.skiff),
                       what="live events")
        self.assertEqual([r["path"] for _, r in got[n + 20:]],
                         ["/index.html?live=%d" % i for i in range(10)])


if __name__ == "__main__":
    unittest.main()
