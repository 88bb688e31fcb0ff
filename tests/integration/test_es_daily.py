"""nginx access lines spread over three days land in three daily indices.

Real processes: skiff tails a file written as nginx writes it (and, in one
test, a real nginx's own log) into the Elasticsearch double. Checks the
index each line goes to (the UTC date of the line's time, as td-agent's
`utc_index true`), `@timestamp` (the event time, ISO 8601 with nanoseconds,
in skiff's local zone as Fluentd's Time.at does) and every nginx field.
"""
import datetime
import os
import sys
import unittest

from harness import SRC, Nginx, Skiff, TempDir, wait_for

sys.path.insert(0, os.path.join(SRC, "tests", "esdouble"))
from esdouble import EsDouble  # noqa: E402

CONFIG = """
<source>
  @type tail
  path {log}
  pos_file {dir}/tail.pos
  read_from_head true
  tag nginx.access
  <parse>
    @type nginx
  </parse>
</source>

<match nginx.**>
  @type elasticsearch
  host 127.0.0.1
  port {port}
  logstash_format true
  logstash_prefix es-log
  request_timeout 10s
  <buffer tag>
    @type file
    path {dir}/buffer
    flush_interval 200ms
    chunk_limit_size 256k
    retry_wait 200ms
    retry_max_interval 1s
    retry_forever true
  </buffer>
</match>
"""

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# (day, month, hour, minute, second, zone) of each line's $time_local. The
# zoned ones cross a date line: 01/May 01:30 +0200 is 30/Apr 23:30 UTC.
TIMES = []
for k in range(120):
    TIMES.append((30, 4, 0 + k % 24, k % 60, k % 60, "+0000"))
for k in range(150):
    TIMES.append((1, 5, k % 24, (k * 7) % 60, (k * 13) % 60, "+0000"))
for k in range(90):
    TIMES.append((2, 5, k % 24, (k * 11) % 60, (k * 3) % 60, "+0000"))
TIMES += [(1, 5, 1, 30, 0, "+0200"),   # 2024-04-30T23:30:00Z
          (2, 5, 20, 15, 0, "-0500"),  # 2024-05-03T01:15:00Z: a fourth day
          (3, 5, 0, 59, 59, "+0100")]  # 2024-05-02T23:59:59Z


def utc_of(day, month, hour, minute, second, zone):
    sign = 1 if zone[0] == "+" else -1
    off = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
    local = datetime.datetime(2024, month, day, hour, minute, second)
    return local - off


def line(i, t):
    day, month, hour, minute, second, zone = t
    return ('10.1.%d.%d - user%d [%02d/%s/2024:%02d:%02d:%02d %s] "%s /p/%d?q=%d HTTP/1.1" %d %d '
            '"http://ref.example/%d" "agent %d; \\x22quoted\\x22"\n'
            % (i // 250, i % 250, i % 3, day, MONTHS[month - 1], hour, minute, second, zone,
               "GET" if i % 4 else "POST", i, i * 3, 200 if i % 5 else 404, 100 + i, i, i))


class DailyIndices(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.log = self.tmp.join("access.log")
        open(self.log, "w").close()
        self.es = EsDouble(flavor="es8")
        self.es.start()
        self.skiff = None

    def tearDown(self):
        if self.skiff is not None:
            self.skiff.stop()
        self.es.stop()
        self.tmp.cleanup()

    def run_skiff(self, tz):
        os.environ["TZ"] = tz
        try:
            self.skiff = Skiff(self.tmp.path, CONFIG.format(log=self.log, dir=self.tmp.path,
                                                            port=self.es.port)).start()
        finally:
            del os.environ["TZ"]

    def check_days(self, offset_text):
        with open(self.log, "a") as f:
            for i, t in enumerate(TIMES):
                f.write(line(i, t))
        n = len(TIMES)
        docs = wait_for(lambda: (lambda d: d if len(d) >= n else None)(self.es.docs("es-log-*")),
                        timeout=60, what="%d documents" % n)
        self.assertEqual(len(docs), n)
        counts = self.es.counts()
        expect = {}
        for t in TIMES:
            name = "es-log-" + utc_of(*t).strftime("%Y.%m.%d")
            expect[name] = expect.get(name, 0) + 1
        self.assertEqual({k: v for k, v in counts.items() if k.startswith("es-log-")}, expect)
        self.assertEqual(expect["es-log-2024.04.30"], 121)
        self.assertEqual(expect["es-log-2024.05.01"], 150)
        self.assertEqual(expect["es-log-2024.05.02"], 91)
        self.assertEqual(expect["es-log-2024.05.03"], 1)

        by_path = {d["_source"]["path"]: d for d in docs}
        self.assertEqual(len(by_path), n)
        for i, t in enumerate(TIMES):
            d = by_path["/p/%d?q=%d" % (i, i * 3)]
            src = d["_source"]
            utc = utc_of(*t)
            self.assertEqual(d["_index"], "es-log-" + utc.strftime("%Y.%m.%d"))
            # @timestamp: the instant of the line, written in skiff's zone.
            local = utc + offset_text[1]
            self.assertEqual(src["@timestamp"],
                             local.strftime("%Y-%m-%dT%H:%M:%S") + ".000000000" + offset_text[0],
                             "line %d" % i)
            self.assertEqual(src["remote"], "10.1.%d.%d" % (i // 250, i % 250))
            self.assertEqual(src["host"], "-")
            self.assertEqual(src["user"], "user%d" % (i % 3))
            self.assertEqual(src["method"], "GET" if i % 4 else "POST")
            self.assertEqual(src["code"], "200" if i % 5 else "404")
            self.assertEqual(src["size"], str(100 + i))
            self.assertEqual(src["referer"], "http://ref.example/%d" % i)
            self.assertEqual(src["agent"], 'agent %d; \\x22quoted\\x22' % i)
            self.assertNotIn("time", src)
            self.assertEqual(set(src), {"remote", "host", "user", "method", "path", "code", "size",
                                        "referer", "agent", "@timestamp"})
        # Every bulk request was answered 200 and had no item errors (the
        # double logs a request just after storing its documents: wait).
        wait_for(lambda: sum(r["bulk"]["items"] for r in self.es.requests(r"_bulk")
                             if r.get("bulk")) >= n, timeout=30, what="the request log")
        bulks = self.es.requests(r"_bulk")
        self.assertTrue(bulks)
        self.assertTrue(all(r["status"] == 200 and not r["bulk"]["errors"] for r in bulks),
                        bulks[:3])

    def test_three_days_utc(self):
        self.run_skiff("UTC")
        self.check_days(("+00:00", datetime.timedelta(0)))

    def test_three_days_local_zone_timestamp(self):
        """Index dates stay UTC; @timestamp is written in the local zone."""
        self.run_skiff("Asia/Kolkata")
        self.check_days(("+05:30", datetime.timedelta(hours=5, minutes=30)))

    def test_real_nginx_requests(self):
        """A real nginx writes today's lines; each request becomes one document."""
        ndir = self.tmp.join("nginx")
        os.makedirs(ndir)
        nginx = Nginx(ndir).start()
        try:
            self.log = nginx.access_log
            self.run_skiff("UTC")
            n = 40
            for i in range(n):
                nginx.get("/index.html?r=%d" % i if i % 4 else "/nope/%d" % i,
                          agent="ua-%d" % i, referer="http://r/%d" % i)
            docs = wait_for(lambda: (lambda d: d if len(d) >= n else None)(
                self.es.docs("es-log-*")), timeout=60, what="%d nginx documents" % n)
        finally:
            nginx.stop()
        self.assertEqual(len(docs), n)
        today = datetime.datetime.now(datetime.timezone.utc)
        names = {d["_index"] for d in docs}
        # A run across midnight may see two dates.
        self.assertTrue(names <= {"es-log-" + (today + datetime.timedelta(days=k)).strftime(
            "%Y.%m.%d") for k in (-1, 0)}, names)
        agents = sorted(d["_source"]["agent"] for d in docs)
        self.assertEqual(agents, sorted("ua-%d" % i for i in range(n)))
        for d in docs:
            src = d["_source"]
            i = int(src["agent"][3:])
            self.assertEqual(src["remote"], "127.0.0.1")
            self.assertEqual(src["code"], "200" if i % 4 else "404")
            self.assertEqual(src["referer"], "http://r/%d" % i)
            ts = datetime.datetime.strptime(src["@timestamp"][:19], "%Y-%m-%dT%H:%M:%S")
            self.assertTrue(src["@timestamp"].endswith("+00:00"), src["@timestamp"])
            self.assertLess(abs((ts - today.replace(tzinfo=None)).total_seconds()), 600)


if __name__ == "__main__":
    unittest.main()
