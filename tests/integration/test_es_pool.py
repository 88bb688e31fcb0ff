"""The connection pool against real trouble: nodes that hang, sniffing that
finds (and loses) nodes, keep-alive connections closed by the other side,
and a stop while a request hangs.

Real skiff, several Elasticsearch doubles on loopback ports. Every test
ends with each line indexed once over all nodes.
"""
import os
import signal
import sys
import time
import unittest

from harness import SRC, Skiff, TempDir, wait_for

sys.path.insert(0, os.path.join(SRC, "tests", "esdouble"))
from esdouble import EsDouble  # noqa: E402

LINE = '10.0.%d.%d - - [01/May/2024:12:%02d:%02d +0000] "GET /d/%d HTTP/1.1" 200 %d "-" "t"\n'

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
  hosts {hosts}
  logstash_format true
  logstash_prefix es-log
{extra}
  <buffer tag>
    @type file
    path {dir}/buffer
    flush_interval 100ms
    chunk_limit_size 8k
    retry_wait 200ms
    retry_max_interval 1s
    retry_forever true
  </buffer>
</match>
"""


def write_lines(path, start, n):
    with open(path, "a") as f:
        for i in range(start, start + n):
            f.write(LINE % (i // 250 % 250, i % 250, (i // 60) % 60, i % 60, i, i))


class Pool(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.log = self.tmp.join("access.log")
        open(self.log, "w").close()
        self.nodes = []
        self.skiff = None

    def tearDown(self):
        if self.skiff is not None:
            self.skiff.stop()
        for es in self.nodes:
            es.stop()
        self.tmp.cleanup()

    def start(self, n, extra, seeds=None, down_first=False, **double):
        for _ in range(n):
            self.nodes.append(EsDouble(**double).start())
        if down_first:
            self.nodes[0].set_faults({"down": "refuse"})
        seeds = self.nodes if seeds is None else seeds
        hosts = ",".join("http://127.0.0.1:%d" % es.port for es in seeds)
        self.skiff = Skiff(self.tmp.path, CONFIG.format(log=self.log, dir=self.tmp.path,
                                                        hosts=hosts, extra=extra)).start()
        return self.skiff

    def per_node(self):
        return [len(es.docs("es-log-*")) for es in self.nodes]

    def merged(self):
        seen = {}
        for es in self.nodes:
            for d in es.docs("es-log-*"):
                p = d["_source"]["path"]
                seen[p] = seen.get(p, 0) + 1
        return seen

    def wait_total(self, n, timeout=60):
        return wait_for(lambda: (lambda m: m if len(m) >= n else None)(self.merged()),
                        timeout=timeout, what="%d documents over all nodes" % n)

    def assert_once(self, n):
        m = self.wait_total(n)
        self.assertEqual(sorted(m), sorted("/d/%d" % i for i in range(n)))
        self.assertEqual(set(m.values()), {1}, "documents indexed twice")

    def test_hanging_node_times_out_and_others_take_over(self):
        """A node reads requests and never answers (long GC, half-open
        network): after request_timeout it is dead, the others get its work;
        once it answers again it is used again."""
        s = self.start(3, "  request_timeout 2s\n  resurrect_after 2s\n  reload_connections false")
        write_lines(self.log, 0, 300)
        wait_for(lambda: all(c > 0 for c in self.per_node()), timeout=30, what="round robin")
        hung = self.nodes[1]
        hung.set_faults({"down": "hang"})
        write_lines(self.log, 300, 600)
        wait_for(lambda: "connection http://127.0.0.1:%d is dead" % hung.port in s.log(),
                 timeout=30, what="the hanging node declared dead")
        self.wait_total(900)
        self.assertRegex(s.log(), r"is dead \(operation timed out after \d+ ms")
        before = len(hung.docs("es-log-*"))
        hung.clear_faults()
        total = 900
        deadline = time.monotonic() + 60
        while len(hung.docs("es-log-*")) == before:
            # resurrect_after 2s: it gets a trial request once that passed.
            write_lines(self.log, total, 100)
            total += 100
            self.wait_total(total)
            self.assertLess(time.monotonic(), deadline, "the node never came back")
        self.assert_once(total)
        wait_for(lambda: "connection http://127.0.0.1:%d is alive again" % hung.port in s.log(),
                 timeout=30, what="the node declared alive again")

    def test_sniffing_adds_and_removes_nodes(self):
        """One seed; `_nodes/http` lists three nodes: the two new ones are
        probed and used (with the seed's credentials: the cluster wants basic
        auth). When one leaves the list it leaves the pool."""
        a, b, c = (EsDouble(flavor="es7", user="shipper", password="s3cret").start()
                   for _ in range(3))
        self.nodes += [a, b, c]
        addrs = ["127.0.0.1:%d" % es.port for es in (a, b, c)]
        for es in self.nodes:
            es.set_faults({"sniff": addrs})
        s = Skiff(self.tmp.path, CONFIG.format(
            log=self.log, dir=self.tmp.path, hosts="http://shipper:s3cret@127.0.0.1:%d" % a.port,
            extra="  reload_connections true\n  reload_after 3")).start()
        self.skiff = s
        total = 0
        while not (len(b.docs("es-log-*")) > 0 and len(c.docs("es-log-*")) > 0):
            write_lines(self.log, total, 100)
            total += 100
            self.wait_total(total)
            self.assertLess(total, 3000, "sniffed nodes never used: %s" % s.log())
        for es in (b, c):
            self.assertIn("sniffing found http://127.0.0.1:%d" % es.port, s.log())
            self.assertIn("http://127.0.0.1:%d answered; now in use" % es.port, s.log())
            self.assertTrue(es.requests(r"^/$"))  # probed with HEAD / before use
        # c leaves the cluster's list (decommissioned): after the next sniff
        # (every 3 requests) it leaves the pool.
        for es in self.nodes:
            es.set_faults({"sniff": addrs[:2]})
        gone = "http://127.0.0.1:%d left the pool" % c.port
        while gone not in s.log():
            write_lines(self.log, total, 50)
            total += 50
            self.wait_total(total)
            self.assertLess(total, 6000, "c never removed: %s" % s.log())
        c_before = len(c.docs("es-log-*"))
        write_lines(self.log, total, 500)
        total += 500
        self.assert_once(total)
        self.assertEqual(len(c.docs("es-log-*")), c_before)
        for es in self.nodes:
            self.assertEqual([r for r in es.requests() if r["status"] == 401], [])

    def test_first_host_down_at_start(self):
        """The first of three hosts refuses connections when skiff starts:
        the version is read from another, nothing waits for the dead one."""
        s = self.start(3, "  reload_connections false\n  resurrect_after 60s", down_first=True)
        write_lines(self.log, 0, 500)
        self.assert_once(500)
        self.assertEqual(len(self.nodes[0].docs("es-log-*")), 0)
        self.assertIn("connection http://127.0.0.1:%d is dead" % self.nodes[0].port, s.log())
        # The version came from the next host at once: no chunk had to wait.
        self.assertNotIn("cannot read the Elasticsearch version", s.log())
        self.assertNotIn("failed, retry", s.log())

    def test_stop_while_a_request_hangs(self):
        """SIGTERM while the only node hangs: skiff stops promptly, keeps the
        events, and the next skiff delivers them once."""
        s = self.start(1, "  request_timeout 4s\n  reload_connections false")
        write_lines(self.log, 0, 200)
        self.wait_total(200)
        self.nodes[0].set_faults({"down": "hang"})
        write_lines(self.log, 200, 50)  # one chunk (8k): one request in flight
        wait_for(lambda: [r for r in self.nodes[0].requests(r"_bulk$") if r["status"] is None],
                 timeout=30, what="a bulk request hanging")
        # The stop waits for the request in flight (at most request_timeout),
        # not for the whole backlog.
        t0 = time.monotonic()
        self.assertEqual(s.stop(timeout=40), 0)
        self.assertLess(time.monotonic() - t0, 15)
        self.assertIn("events stay in the file buffer", s.log())
        self.skiff = None
        self.nodes[0].clear_faults()
        self.skiff = Skiff(self.tmp.path, CONFIG.format(
            log=self.log, dir=self.tmp.path, hosts="http://127.0.0.1:%d" % self.nodes[0].port,
            extra="  reload_connections false"), name="skiff2").start()
        self.assert_once(250)

    def test_idle_connections_closed_by_server(self):
        """A load balancer closes keep-alive connections idle for 300 ms;
        skiff flushes every ~0.5 s, so most requests meet a closed
        connection first. Nothing is lost, nothing doubled."""
        s = self.start(1, "  reload_connections false", faults={"idle_timeout_ms": 300})
        total = 0
        for _ in range(6):
            write_lines(self.log, total, 50)
            total += 50
            self.wait_total(total)
            # Let the connection go idle past the server's limit.
            wait_for(lambda: self.nodes[0].describe()["connections_open"] == 0, timeout=10,
                     what="the server to close the idle connection")
        self.assert_once(total)
        self.assertGreaterEqual(self.nodes[0].stats["connections_opened"], 6)
        self.assertNotIn("is dead", s.log())

    def test_sigterm_during_outage_keeps_everything(self):
        """All nodes refuse connections; skiff is stopped and started again;
        when the nodes come back everything arrives once."""
        s = self.start(2, "  reload_connections false\n  resurrect_after 1s")
        write_lines(self.log, 0, 100)
        self.wait_total(100)
        for es in self.nodes:
            es.set_faults({"down": "refuse"})
        write_lines(self.log, 100, 400)
        wait_for(lambda: "every Elasticsearch connection is dead" in s.log(), timeout=30,
                 what="all connections dead")
        self.assertEqual(s.stop(), 0)
        self.skiff = Skiff(self.tmp.path, CONFIG.format(
            log=self.log, dir=self.tmp.path,
            hosts=",".join("http://127.0.0.1:%d" % es.port for es in self.nodes),
            extra="  reload_connections false\n  resurrect_after 1s"), name="skiff2").start()
        write_lines(self.log, 500, 100)
        for es in self.nodes:
            es.clear_faults()
        self.assert_once(600)


if __name__ == "__main__":
    unittest.main()
