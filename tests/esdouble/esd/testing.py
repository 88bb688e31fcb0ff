"""Helpers for the double's own tests (and for integration tests that want them).

`Client` speaks plain http.client to a double (keep-alive by default) and
decodes JSON; `spawn()` starts the double as a process and waits for its
port file by polling, never by sleeping a fixed time; `certs()` makes the
TLS test certificates once per process.
"""

import atexit
import gzip
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/esdouble


class Reply:
    def __init__(self, status, headers, data):
        self.status = status
        self.headers = headers
        self.data = data

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def json(self):
        data = self.data
        if self.header("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return json.loads(data.decode("utf-8")) if data else None

    def __repr__(self):
        return "<Reply %d %r>" % (self.status, self.data[:300])


class Client:
    def __init__(self, port, host="127.0.0.1", tls_context=None, timeout=10):
        self.host, self.port, self.tls, self.timeout = host, port, tls_context, timeout
        self.conn = None

    def _connect(self):
        if self.tls is not None:
            return http.client.HTTPSConnection(self.host, self.port, context=self.tls,
                                               timeout=self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method, path, body=None, headers=None, ctype="application/json",
                fresh=False):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        h = {}
        if body is not None and ctype:
            h["Content-Type"] = ctype
        h.update(headers or {})
        if fresh or self.conn is None:
            self.close()
            self.conn = self._connect()
        try:
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse()
            data = r.read()
        except Exception:
            self.close()
            raise
        if r.getheader("Connection", "").lower() == "close":
            self.close()
        return Reply(r.status, r.getheaders(), data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def bulk(self, ndjson, path="/_bulk", **kw):
        if isinstance(ndjson, list):
            ndjson = "".join(json.dumps(x) + "\n" for x in ndjson)
        return self.request("POST", path, body=ndjson, ctype="application/x-ndjson", **kw)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # control API shortcuts
    def faults(self, spec):
        r = self.request("POST", "/_double/faults", body=spec)
        assert r.status == 200, r
        return r.json

    def counts(self):
        return self.get("/_double/counts").json

    def docs(self, index=None):
        q = "?index=%s" % index if index else ""
        return self.get("/_double/docs" + q).json["docs"]

    def requests(self, query=""):
        return self.get("/_double/requests" + query).json["requests"]


def once(port, method, path, body=None, **kw):
    """One request on a new connection that is closed afterwards."""
    with Client(port) as c:
        if method == "BULK":
            return c.bulk(body, **kw)
        return c.request(method, path, body=body, **kw)


def ndjson(*objs):
    return "".join(json.dumps(o) + "\n" for o in objs)


def wait_for(predicate, timeout=10.0, interval=0.02):
    """Poll `predicate` until it returns a truthy value (returned) or time out."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %.1fs" % timeout)
        time.sleep(interval)


class Process:
    """The double as a child process (`python3 esdouble.py ...`)."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="esdouble-")
        self.port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "esdouble.py"), "--port", "0",
             "--port-file", self.port_file] + list(args),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("esdouble exited: %s" % self.proc.stderr.read().decode())
            return os.path.exists(self.port_file)
        wait_for(ready, timeout=15)
        with open(self.port_file) as f:
            self.port = int(f.read().strip())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode


_CERTS = None


def certs():
    """Directory with the make_certs.sh output (made once per process)."""
    global _CERTS
    if _CERTS is None:
        d = tempfile.mkdtemp(prefix="esdouble-certs-")
        atexit.register(shutil.rmtree, d, True)
        subprocess.run(["sh", os.path.join(HERE, "make_certs.sh"), d], check=True)
        _CERTS = d
    return _CERTS


def client_tls(ca=None, cert=None, key=None):
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx
