"""The td-agent incident: the cluster sits behind a proxy, and sniffing
(`GET /_nodes/http`) answers node addresses nobody can reach from here.

Real processes: tinyproxy on loopback stands in for the VPC proxy, skiff,
the Elasticsearch double answering `_nodes/http` with 127.0.0.254:1 (an
unused loopback address and a closed port). skiff must keep delivering with
`reload_connections false` and with sniffing on; the proxy's own log shows
the requests went through it. Also: HTTP_PROXY / NO_PROXY from the
environment, and TLS through the proxy (CONNECT).
"""
import os
import re
import subprocess
import sys
import unittest

from eshelp import LINE, delivered, quiet, wait_all, write_lines  # noqa: F401
from harness import SRC, Skiff, TempDir, free_port, wait_for

sys.path.insert(0, os.path.join(SRC, "tests", "esdouble"))
from esdouble import EsDouble  # noqa: E402
from esd.testing import certs  # noqa: E402


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
{extra}
  <buffer tag>
    @type file
    path {dir}/buffer
    flush_interval 200ms
    chunk_limit_size 16k
    retry_wait 200ms
    retry_max_interval 1s
    retry_forever true
  </buffer>
</match>
"""

PROXY_CONF = """
Port {port}
Listen 127.0.0.1
Timeout 30
Allow 127.0.0.1
MaxClients 64
LogFile "{log}"
LogLevel Info
DisableViaHeader Yes
{connect}
"""

PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
              "no_proxy", "NO_PROXY")


class TinyProxy:
    """tinyproxy in the foreground with its own config and log file."""

    def __init__(self, workdir, connect_ports=(), auth=None):
        self.log_path = os.path.join(workdir, "tinyproxy.log")
        self.conf = os.path.join(workdir, "tinyproxy.conf")
        self.connect_ports = connect_ports
        self.auth = auth
        self.proc = None
        self.port = None

    def start(self):
        for _ in range(5):  # free_port() can race with another process: try again
            self.port = free_port()
            with open(self.conf, "w") as f:
                f.write(PROXY_CONF.format(
                    port=self.port, log=self.log_path,
                    connect="".join("ConnectPort %d\n" % p for p in self.connect_ports) +
                    ("BasicAuth %s %s\n" % self.auth if self.auth else "")))
            self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", self.conf],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for(lambda: self.proc.poll() is not None or "Accepting connections" in
                         self.log(), timeout=20, what="tinyproxy to listen")
            except AssertionError:
                self.stop()
                raise
            if self.proc.poll() is None:
                return self
        raise RuntimeError("tinyproxy did not start: %s" % self.log())

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def requests(self):
        """Request lines the proxy received: ['POST http://127.0.0.1:9/_bulk?...', ...]."""
        return re.findall(r"Request \(file descriptor \d+\): (\S+ \S+) HTTP/1\.1", self.log())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


REVERSE_CONF = """
user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    client_max_body_size 100m;
    log_format paths '$request_method $request_uri $status';
    access_log {d}/access.log paths;
    upstream es {{ server 127.0.0.1:{es_port}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        location /es/ {{
            proxy_pass http://es/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


class ReverseProxy:
    """A real nginx publishing the cluster under /es/ (path prefix)."""

    def __init__(self, workdir, es_port):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(workdir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(REVERSE_CONF.format(d=workdir, port=self.port, es_port=es_port))
        self.proc = None

    def start(self):
        import socket
        self.proc = subprocess.Popen(["nginx", "-c", self.conf, "-p", self.dir,
                                      "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: %s" % open(
                    os.path.join(self.dir, "error.log")).read())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return False
        wait_for(up, timeout=20, what="nginx")
        return self

    def requests(self):
        try:
            with open(os.path.join(self.dir, "access.log")) as f:
                return [line.split() for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(15)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class BehindProxy(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.log = self.tmp.join("access.log")
        open(self.log, "w").close()
        self.saved_env = {k: os.environ.pop(k) for k in PROXY_VARS if k in os.environ}
        self.es = None
        self.proxy = None
        self.skiff = None

    def tearDown(self):
        if self.skiff is not None:
            self.skiff.stop()
        if self.proxy is not None:
            self.proxy.stop()
        if getattr(self, "nginx", None) is not None:
            self.nginx.stop()
        if self.es is not None:
            self.es.stop()
        for k in PROXY_VARS:
            os.environ.pop(k, None)
        os.environ.update(self.saved_env)
        self.tmp.cleanup()

    def start_skiff(self, extra, env=None, port=None):
        env = env or {}
        os.environ.update(env)
        try:
            self.skiff = Skiff(self.tmp.path, CONFIG.format(
                log=self.log, dir=self.tmp.path, port=port or self.es.port, extra=extra)).start()
        finally:
            for k in env:
                os.environ.pop(k, None)
        return self.skiff

    def bulk_via_proxy(self):
        return [r for r in self.proxy.requests() if r.startswith("POST ") and "/_bulk" in r]

    def test_reload_connections_false(self):
        """The td-agent fix: no sniffing at all; everything goes through the proxy."""
        self.es = EsDouble(flavor="es7", faults={"sniff": "unreachable"}).start()
        self.proxy = TinyProxy(self.tmp.path).start()
        s = self.start_skiff("  proxy %s\n  reload_connections false\n  reload_on_failure false\n"
                             "  resurrect_after 60s" % self.proxy.url)
        write_lines(self.log, 0, 600)
        seen = wait_all(self.es, 600)
        self.assertEqual(set(seen.values()), {1})
        self.assertEqual(self.es.requests(r"_nodes"), [])
        base = "http://127.0.0.1:%d" % self.es.port
        self.assertIn("GET %s/" % base, self.proxy.requests())
        bulks = self.bulk_via_proxy()
        self.assertGreaterEqual(len(bulks), 2)  # 16k chunks: several requests
        self.assertTrue(all(b.startswith("POST %s/_bulk" % base) for b in bulks), bulks)
        # The double saw no request that did not come through the proxy: each
        # of its requests matches one the proxy forwarded.
        self.assertEqual(len(self.es.requests(r"_bulk")), len(bulks))
        self.assertNotIn("sniff", s.log())

    def test_sniffing_on_keeps_delivering(self):
        """reload_connections / reload_on_failure on, behind the proxy: sniffing
        keeps answering 127.0.0.254:1; skiff warns, probes it through the proxy,
        never sends it a document, and loses nothing."""
        self.es = EsDouble(flavor="es7", faults={"sniff": "unreachable"}).start()
        self.proxy = TinyProxy(self.tmp.path).start()
        s = self.start_skiff("  proxy %s\n  reload_connections true\n  reload_after 2\n"
                             "  reload_on_failure true\n  resurrect_after 60s" % self.proxy.url)
        wait_for(lambda: "go through a proxy" in s.log(), timeout=10, what="start-up warning")
        total = 0
        for round_ in range(4):
            if round_ == 2:
                # One failed request on the way (reload_on_failure sniffs again).
                self.es.set_faults([{"sniff": "unreachable"},
                                    {"path": "_bulk", "status": 503, "fail_next_n": 1}])
            write_lines(self.log, total, 250)
            total += 250
            wait_all(self.es, total)
        seen = wait_all(self.es, total)
        self.assertEqual(len(seen), total)
        self.assertEqual(set(seen.values()), {1})
        self.assertGreaterEqual(len(self.es.requests(r"^/_nodes/http$")), 2)
        wait_for(lambda: "http://127.0.0.254:1 left the pool" in s.log(), timeout=30,
                 what="the unreachable node dropped after its probe")
        log = s.log()
        self.assertIn("sniffing found http://127.0.0.254:1", log)
        self.assertNotIn("Cannot get new connection", log)
        # The unreachable node was only ever probed (HEAD, through the proxy).
        to_bad = [r for r in self.proxy.requests() if "127.0.0.254" in r]
        self.assertTrue(to_bad)
        self.assertTrue(all(r.startswith("HEAD ") for r in to_bad), to_bad)
        self.assertIn("Could not establish a connection to 127.0.0.254:1", self.proxy.log())
        base = "http://127.0.0.1:%d" % self.es.port
        self.assertTrue(all(b.startswith("POST %s/_bulk" % base) for b in self.bulk_via_proxy()))
        # A refused address is not probed again on every sniff.
        self.assertLessEqual(len(to_bad), 2, to_bad)

    def test_sniffing_on_without_proxy(self):
        """The same cluster without a proxy: the sniffed node does not answer
        (connection refused on 127.0.0.254:1); the seed keeps working."""
        self.es = EsDouble(flavor="es8", faults={"sniff": "unreachable"}).start()
        s = self.start_skiff("  reload_connections true\n  reload_after 1\n"
                             "  reload_on_failure true")
        total = 0
        for _ in range(3):
            write_lines(self.log, total, 200)
            total += 200
            wait_all(self.es, total)
        self.assertEqual(set(delivered(self.es).values()), {1})
        self.assertGreaterEqual(len(self.es.requests(r"^/_nodes/http$")), 2)
        wait_for(lambda: "http://127.0.0.254:1 left the pool" in s.log(), timeout=30,
                 what="the unreachable node dropped after its probe")
        self.assertRegex(s.log(), r"127\.0\.0\.254:1 left the pool "
                                  r"\(probe: failed to connect to 127\.0\.0\.254 port 1")

    def test_http_proxy_environment(self):
        """HTTP_PROXY (upper case, as in systemd units) and http_proxy are used
        when `proxy` is not set; NO_PROXY sends the cluster's requests direct."""
        self.es = EsDouble(flavor="es8").start()
        self.proxy = TinyProxy(self.tmp.path).start()
        total = 0
        for env, via_proxy in ((
                {"HTTP_PROXY": self.proxy.url}, True),
                ({"http_proxy": self.proxy.url}, True),
                ({"HTTP_PROXY": self.proxy.url, "NO_PROXY": "localhost,127.0.0.1"}, False),
                ({"http_proxy": self.proxy.url, "no_proxy": "127.0.0.1"}, False)):
            before = len(self.bulk_via_proxy())
            s = self.start_skiff("  reload_connections false", env=env)
            write_lines(self.log, total, 100)
            total += 100
            wait_all(self.es, total)
            self.assertEqual(s.stop(), 0)
            self.skiff = None
            after = len(self.bulk_via_proxy())
            if via_proxy:
                self.assertGreater(after, before, env)
            else:
                self.assertEqual(after, before, env)
        self.assertEqual(set(delivered(self.es).values()), {1})

    def test_proxy_parameter_overrides_environment(self):
        """`proxy ""` means no proxy at all, whatever the environment says; a
        configured proxy is used even for hosts NO_PROXY lists."""
        self.es = EsDouble(flavor="es8").start()
        self.proxy = TinyProxy(self.tmp.path).start()
        s = self.start_skiff('  proxy ""\n  reload_connections false',
                             env={"HTTP_PROXY": self.proxy.url, "http_proxy": self.proxy.url})
        write_lines(self.log, 0, 100)
        wait_all(self.es, 100)
        self.assertEqual(self.bulk_via_proxy(), [])
        self.assertEqual(s.stop(), 0)
        self.skiff = None
        self.start_skiff("  proxy %s\n  reload_connections false" % self.proxy.url,
                         env={"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
        write_lines(self.log, 100, 100)
        wait_all(self.es, 200)
        self.assertTrue(self.bulk_via_proxy())
        self.assertEqual(set(delivered(self.es).values()), {1})

    def test_https_proxy_environment(self):
        """HTTPS_PROXY for an https cluster: a CONNECT tunnel, verified TLS."""
        c = certs()
        self.es = EsDouble(flavor="es8", tls_cert=os.path.join(c, "server.pem"),
                           tls_key=os.path.join(c, "server.key")).start()
        self.proxy = TinyProxy(self.tmp.path, connect_ports=(self.es.port,)).start()
        self.start_skiff("  scheme https\n  ssl_verify true\n  ca_file %s\n"
                         "  reload_connections false" % os.path.join(c, "ca.pem"),
                         env={"HTTPS_PROXY": self.proxy.url})
        write_lines(self.log, 0, 100)
        wait_all(self.es, 100)
        self.assertIn("CONNECT 127.0.0.1:%d" % self.es.port, self.proxy.requests())

    def test_proxy_authentication(self):
        """A proxy that wants a password: credentials in the proxy URL work; a
        wrong one is a loud error, events are kept and arrive once the proxy
        accepts."""
        self.es = EsDouble(flavor="es8").start()
        self.proxy = TinyProxy(self.tmp.path, auth=("shipper", "pr0xy")).start()
        s = self.start_skiff("  proxy http://shipper:wrong@127.0.0.1:%d\n"
                             "  reload_connections false" % self.proxy.port)
        write_lines(self.log, 0, 200)
        # tinyproxy answers 401 (others 407) with an HTML page: its title is logged.
        wait_for(lambda: re.search(r"\[error\]: .*HTTP 40[17]: (40[17] )?Unauthorized\)", s.log()),
                 timeout=30, what="the refusal in skiff's log")
        self.assertEqual(delivered(self.es), {})
        self.assertNotIn("wrong", s.log())  # the proxy password is not logged
        self.assertEqual(s.stop(), 0)
        self.skiff = None
        self.start_skiff("  proxy http://shipper:pr0xy@127.0.0.1:%d\n"
                         "  reload_connections false" % self.proxy.port)
        seen = wait_all(self.es, 200)
        self.assertEqual(set(seen.values()), {1})
        self.assertNotIn("pr0xy", self.skiff.log())

    def test_tls_through_connect_proxy(self):
        """https with a self-signed CA through the proxy: CONNECT, verified."""
        c = certs()
        self.es = EsDouble(flavor="es8", tls_cert=os.path.join(c, "server.pem"),
                           tls_key=os.path.join(c, "server.key")).start()
        self.proxy = TinyProxy(self.tmp.path, connect_ports=(self.es.port,)).start()
        self.start_skiff("  scheme https\n  ssl_verify true\n  ca_file %s\n  proxy %s\n"
                         "  reload_connections false" % (os.path.join(c, "ca.pem"),
                                                          self.proxy.url))
        write_lines(self.log, 0, 300)
        seen = wait_all(self.es, 300)
        self.assertEqual(set(seen.values()), {1})
        self.assertIn("CONNECT 127.0.0.1:%d" % self.es.port, self.proxy.requests())
        self.assertTrue(all(r["tls"] for r in self.es.requests()))


    def test_reverse_proxy_path_prefix_and_502(self):
        """The cluster published by a real nginx under /es/ (`path /es/`).
        When the cluster goes away nginx answers 502 Bad Gateway: skiff says
        so, keeps the events, and delivers them once it is back."""
        data = self.tmp.join("es-data")
        self.es = EsDouble(flavor="es8", data_dir=data).start()
        port = self.es.port
        self.nginx = ReverseProxy(self.tmp.join("nginx"), port).start()
        s = self.start_skiff("  path /es/\n  reload_connections false\n  resurrect_after 1s",
                             port=self.nginx.port)
        write_lines(self.log, 0, 300)
        wait_all(self.es, 300)
        self.assertTrue(self.es.requests(r"^/_bulk$"))
        # nginx took the prefix off: the cluster saw plain API paths.
        self.assertEqual({r["path"] for r in self.es.requests()}, {"/", "/_bulk"})
        # nginx writes its access log once a response is sent: poll.
        wait_for(lambda: {("POST", "/es/_bulk"), ("GET", "/es/")} <= {
            (m, u.split("?")[0]) for m, u, _ in self.nginx.requests()}, timeout=30,
            what="nginx's access log")
        # The node shuts down as a node does: no new connections, the
        # requests in progress answered (a request cut after indexing would
        # be sent again: at-least-once, a duplicate without ids).
        self.es.set_faults({"down": "refuse"})
        wait_for(lambda: len(self.es._conns) == 0, timeout=30, what="connections closed")
        self.es.stop()
        self.es = None
        write_lines(self.log, 300, 300)
        wait_for(lambda: "502 Bad Gateway" in s.log(), timeout=30, what="the 502 in the log")
        self.assertRegex(s.log(), r"connection http://127\.0\.0\.1:%d is dead \(502 Bad Gateway\)"
                         % self.nginx.port)
        self.es = EsDouble(flavor="es8", port=port, data_dir=data).start()
        seen = wait_all(self.es, 600)
        self.assertEqual(set(seen.values()), {1})


if __name__ == "__main__":
    unittest.main()
