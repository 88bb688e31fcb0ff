#!/usr/bin/env python3
"""The demo: real nginx on loopback, skiff tailing its access log, shipping
to the bundled Elasticsearch double, then documents per daily index.

    make demo

It writes a few days of history into the log first (as if nginx had been
running), then sends live requests to nginx, and prints what arrived in
each index next to what was expected.
"""
import argparse
import collections
import datetime
import json
import os
import random
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
sys.path.insert(0, os.path.join(SRC, "tests", "esdouble"))

from harness import Nginx, Skiff, TempDir, wait_for  # noqa: E402

CONFIG = """
<source>
  @type tail
  path {log}
  pos_file {dir}/access.pos
  read_from_head true
  tag nginx.access
  <parse>
    @type nginx
  </parse>
</source>

<match nginx.**>
  @type elasticsearch
  host 127.0.0.1
  port {es_port}
  logstash_format true
  logstash_prefix es-log
  reload_connections false
  reload_on_failure false
  <buffer tag>
    @type file
    path {dir}/buffer
    flush_interval 1s
  </buffer>
</match>
"""

AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "curl/7.88.1",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"]


def history(path, days, per_day, seed=7):
    """Appends nginx combined lines for `days` past days; returns counts per index."""
    rnd = random.Random(seed)
    counts = collections.Counter()
    today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0,
                                                                 microsecond=0)
    with open(path, "a") as f:
        for d in range(days, 0, -1):
            day = today - datetime.timedelta(days=d)
            for i in range(per_day):
                t = day + datetime.timedelta(seconds=int(i * 86400 / per_day))
                f.write('203.0.113.%d - - [%s] "GET /item/%d?page=%d HTTP/1.1" %d %d "-" "%s"\n' % (
                    rnd.randint(1, 254), t.strftime("%d/%b/%Y:%H:%M:%S +0000"), i, rnd.randint(1, 9),
                    rnd.choice([200, 200, 200, 304, 404]), rnd.randint(100, 9000), rnd.choice(AGENTS)))
                counts["es-log-" + t.strftime("%Y.%m.%d")] += 1
    return counts


def es_counts(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/_double/counts" % port, timeout=5) as r:
        return json.load(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", default=os.path.join(SRC, "build", "skiff"))
    ap.add_argument("--live", type=int, default=200, help="live requests sent to nginx")
    args = ap.parse_args()
    os.environ["SKIFF_BIN"] = os.path.abspath(args.skiff)

    from esdouble import EsDouble  # the project's Elasticsearch double

    tmp = TempDir("skiff-demo-")
    es = EsDouble(flavor="es8")
    es.start()
    nginx = Nginx(tmp.path).start()
    skiff = None
    try:
        expected = history(nginx.access_log, days=3, per_day=500)
        skiff = Skiff(tmp.path, CONFIG.format(log=nginx.access_log, dir=tmp.path,
                                              es_port=es.port)).start()
        print("nginx on 127.0.0.1:%d, Elasticsearch double on 127.0.0.1:%d, skiff pid %d" % (
            nginx.port, es.port, skiff.proc.pid))
        for i in range(args.live):
            nginx.get("/live/%d" % i if i % 10 else "/", agent=random.choice(AGENTS))
        today = "es-log-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y.%m.%d")
        expected[today] += args.live
        total = sum(expected.values())
        wait_for(lambda: sum(es_counts(es.port).values()) >= total, timeout=60,
                 what="%d documents in Elasticsearch" % total)
        got = es_counts(es.port)
        print("\n%-22s %10s %10s" % ("index", "expected", "indexed"))
        for index in sorted(set(expected) | set(got)):
            print("%-22s %10d %10d" % (index, expected.get(index, 0), got.get(index, 0)))
        print("%-22s %10d %10d" % ("total", total, sum(got.values())))
        ok = dict(got) == dict(expected)
        print("\nall documents delivered to the right daily index" if ok else "\nMISMATCH")
        return 0 if ok else 1
    finally:
        if skiff:
            skiff.stop()
        nginx.stop()
        es.stop()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
