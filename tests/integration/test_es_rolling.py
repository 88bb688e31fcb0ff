"""A three-node cluster restarted one node at a time while skiff ships.

Real processes: skiff with `hosts` naming three Elasticsearch doubles (each
its own store and data directory, as three nodes behind no load balancer),
lines written continuously. Each node in turn goes down for real (listening
socket closed, connections closed) and comes back on the same port with its
documents. Checks: every line is a document in exactly one node, nothing
lost, nothing twice; every node was declared dead and then alive again, and
took new documents after its restart.
"""
import os
import sys
import threading
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
  request_timeout 10s
  resurrect_after 1s
{extra}
  <buffer tag>
    @type file
    path {dir}/buffer
    flush_interval 100ms
    chunk_limit_size 8k
    flush_thread_count 2
    retry_wait 200ms
    retry_max_interval 1s
    retry_forever true
  </buffer>
</match>
"""


class Writer(threading.Thread):
    """Appends lines to the log at a steady pace, as nginx would."""

    def __init__(self, path, per_tick=20, tick=0.05):
        super().__init__(daemon=True)
        self.path, self.per_tick, self.tick = path, per_tick, tick
        self.written = 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            with open(self.path, "a") as f:
                for i in range(self.written, self.written + self.per_tick):
                    f.write(LINE % (i // 250 % 250, i % 250, (i // 60) % 60, i % 60, i, i))
            self.written += self.per_tick
            self.halt.wait(self.tick)

    def stop(self):
        self.halt.set()
        self.join()
        return self.written


class Node:
    """One double with its data directory; stop() is a real down."""

    def __init__(self, data_dir, flavor):
        self.data_dir = data_dir
        self.flavor = flavor
        self.es = EsDouble(flavor=flavor, data_dir=data_dir).start()
        self.port = self.es.port
        self.up = True

    def docs(self):
        return self.es.docs("es-log-*") if self.up else self.saved

    def stop(self, graceful):
        """graceful: like an ES node shutting down — stop accepting, let the
        requests in progress answer, then go away. Otherwise: close at once."""
        if graceful:
            self.es.set_faults({"down": "refuse"})
            wait_for(lambda: len(self.es._conns) == 0, timeout=30,
                     what="node %d to finish its requests" % self.port)
        self.saved = self.es.docs("es-log-*")
        self.es.stop()
        self.up = False

    def start(self):
        self.es = EsDouble(flavor=self.flavor, port=self.port, data_dir=self.data_dir).start()
        self.up = True


class RollingRestart(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.log = self.tmp.join("access.log")
        open(self.log, "w").close()
        self.nodes = []
        self.skiff = None
        self.writer = None

    def tearDown(self):
        if self.writer is not None:
            self.writer.stop()
        if self.skiff is not None:
            self.skiff.stop()
        for n in self.nodes:
            if n.up:
                n.es.stop()
        self.tmp.cleanup()

    def per_node(self):
        out = []
        for n in self.nodes:
            seen = {}
            for d in n.docs():
                p = d["_source"]["path"]
                seen[p] = seen.get(p, 0) + 1
            out.append(seen)
        return out

    def total(self):
        return sum(sum(s.values()) for s in self.per_node())

    def sniff_all(self, node):
        """_nodes/http lists the three nodes (as a real cluster would)."""
        node.es.set_faults({"sniff": ["127.0.0.1:%d" % n.port for n in self.nodes]})

    def roll(self, graceful, extra="", flavor="es8", sniff=False):
        for k in range(3):
            self.nodes.append(Node(self.tmp.join("node%d" % k), flavor))
        hosts = ",".join("http://127.0.0.1:%d" % n.port for n in self.nodes)
        for n in self.nodes if sniff else []:
            self.sniff_all(n)
        self.skiff = Skiff(self.tmp.path, CONFIG.format(log=self.log, dir=self.tmp.path,
                                                        hosts=hosts, extra=extra)).start()
        self.writer = Writer(self.log)
        self.writer.start()
        wait_for(lambda: all(len(n.docs()) > 0 for n in self.nodes), timeout=30,
                 what="every node to take documents (round robin)")
        for k, node in enumerate(self.nodes):
            node.stop(graceful)
            # The other two carry on alone.
            base = self.total()
            wait_for(lambda: self.total() >= base + 400, timeout=60,
                     what="documents while node %d is down" % k)
            node.start()
            if sniff:
                self.sniff_all(node)
            had = len(node.docs())
            wait_for(lambda: len(node.docs()) >= had + 50, timeout=60,
                     what="node %d to take documents again after its restart" % k)
        written = self.writer.stop()
        self.writer = None
        wait_for(lambda: self.total() >= written, timeout=60,
                 what="all %d documents" % written)
        # Stopped before counting: nothing is still in flight.
        self.assertEqual(self.skiff.stop(), 0)
        log = self.skiff.log()
        self.skiff = None
        per = self.per_node()
        merged = {}
        for seen in per:
            for p, c in seen.items():
                merged[p] = merged.get(p, 0) + c
        missing = [i for i in range(written) if "/d/%d" % i not in merged]
        self.assertEqual(missing, [], "lost documents")
        self.assertEqual(len(merged), written)
        for n in self.nodes:
            self.assertIn("connection http://127.0.0.1:%d is dead" % n.port, log)
            self.assertIn("connection http://127.0.0.1:%d is alive again" % n.port, log)
        self.assertNotIn("Cannot get new connection", log)
        print("rolling restart (%s): %d lines, per node %s, %d duplicates" % (
            "graceful" if graceful else "hard", written, [sum(s.values()) for s in per],
            sum(merged.values()) - len(merged)))
        return merged

    def test_graceful_rolling_restart_exactly_once(self):
        merged = self.roll(graceful=True, extra="  reload_connections false")
        dups = {p: c for p, c in merged.items() if c > 1}
        self.assertEqual(dups, {}, "documents indexed twice")

    def test_hard_rolling_restart_with_sniffing_loses_nothing(self):
        """Nodes go away with connections cut (requests in flight may be lost
        or may have landed: at-least-once) while skiff sniffs the three
        nodes' addresses every few requests. Nothing is lost."""
        merged = self.roll(graceful=False, flavor="es7", sniff=True,
                           extra="  reload_connections true\n  reload_after 5\n"
                                 "  reload_on_failure true")
        # Only a request cut in flight can be doubled: a handful at most.
        self.assertLessEqual(sum(merged.values()) - len(merged), 3 * 200)


if __name__ == "__main__":
    unittest.main()
