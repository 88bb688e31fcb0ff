"""TLS (server certs, wrong CA, wrong host, mutual TLS), authentication
(basic, API key; ES and OpenSearch bodies) and the double as a process."""

import base64
import json
import os
import signal
import ssl
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from esdouble import EsDouble  # noqa: E402
from esd.testing import Client, Process, certs, client_tls, ndjson, once, wait_for  # noqa: E402

BULK = ndjson({"index": {"_index": "t"}}, {"x": 1})


def cert(name):
    return os.path.join(certs(), name)


class TlsTest(unittest.TestCase):
    def double(self, server="server", **kw):
        return EsDouble(tls_cert=cert(server + ".pem"), tls_key=cert(server + ".key"), **kw)

    def test_trusted_ca(self):
        with self.double() as d:
            self.assertEqual(d.url, "https://127.0.0.1:%d" % d.port)
            with Client(d.port, tls_context=client_tls(cert("ca.pem"))) as c:
                self.assertEqual(c.bulk(BULK).status, 200)
                r = c.get("/", headers={"Accept-Encoding": "gzip"})
                self.assertIsNone(r.header("Content-Encoding"), "ES does not compress over TLS")
                self.assertTrue(c.requests()[0]["tls"])
            with Client(d.port, host="localhost", tls_context=client_tls(cert("ca.pem"))) as c:
                self.assertEqual(c.get("/").status, 200)

    def test_wrong_ca_fails_and_is_recorded(self):
        with self.double() as d:
            with self.assertRaises(ssl.SSLCertVerificationError):
                with Client(d.port, tls_context=client_tls(cert("other-ca.pem"))) as c:
                    c.get("/")
            with Client(d.port, tls_context=client_tls(cert("ca.pem"))) as c:
                wait_for(lambda: c.get("/_double/state").json["stats"]["tls_handshake_failures"])

    def test_server_signed_by_other_ca(self):
        with self.double("other-server") as d:
            with self.assertRaises(ssl.SSLCertVerificationError):
                with Client(d.port, tls_context=client_tls(cert("ca.pem"))) as c:
                    c.get("/")

    def test_wrong_host_name(self):
        with self.double("wronghost") as d:
            with self.assertRaises(ssl.SSLCertVerificationError) as cm:
                with Client(d.port, tls_context=client_tls(cert("ca.pem"))) as c:
                    c.get("/")
            self.assertIn("IP address mismatch", str(cm.exception))

    def test_plain_http_to_tls_port(self):
        with self.double() as d:
            with self.assertRaises(Exception):
                once(d.port, "GET", "/")
            with Client(d.port, tls_context=client_tls(cert("ca.pem"))) as c:
                wait_for(lambda: c.get("/_double/state").json["stats"]["tls_handshake_failures"])

    def test_mutual_tls(self):
        with self.double(tls_client_ca=cert("ca.pem")) as d:
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                with Client(d.port, tls_context=client_tls(cert("ca.pem"))) as c:
                    c.get("/")
            ctx = client_tls(cert("ca.pem"), cert("client.pem"), cert("client.key"))
            with Client(d.port, tls_context=ctx) as c:
                self.assertEqual(c.get("/").status, 200)


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()}


class AuthTest(unittest.TestCase):
    def test_es_basic_auth(self):
        with EsDouble(user="elastic", password="s3cret") as d, Client(d.port) as c:
            r = c.bulk(BULK, path="/_bulk?refresh=true")
            self.assertEqual(r.status, 401)
            hdr = ['Basic realm="security" charset="UTF-8"', "ApiKey"]
            reason = "missing authentication credentials for REST request [/_bulk?refresh=true]"
            self.assertEqual(r.json, {"error": {
                "root_cause": [{"type": "security_exception", "reason": reason,
                                "header": {"WWW-Authenticate": hdr}}],
                "type": "security_exception", "reason": reason,
                "header": {"WWW-Authenticate": hdr}}, "status": 401})
            self.assertEqual(r.headers_all("WWW-Authenticate"), hdr)
            r = c.bulk(BULK, headers=basic("elastic", "wrong"))
            self.assertEqual(r.json["error"]["reason"],
                             "unable to authenticate user [elastic] for REST request [/_bulk]")
            self.assertEqual(c.bulk(BULK, headers=basic("elastic", "s3cret")).status, 200)
            self.assertEqual(c.request("HEAD", "/").status, 401)
            self.assertEqual(c.counts(), {"t": 1}, "the control API needs no credentials")

    def test_opensearch_basic_auth(self):
        with EsDouble(flavor="opensearch2", user="admin", password="admin") as d, \
                Client(d.port) as c:
            r = c.get("/")
            self.assertEqual((r.status, r.data), (401, b"Unauthorized"))
            self.assertEqual(r.header("WWW-Authenticate"), 'Basic realm="OpenSearch Security"')
            self.assertEqual(c.get("/", headers=basic("admin", "admin")).status, 200)

    def test_api_key(self):
        with EsDouble(api_key="id1:key1") as d, Client(d.port) as c:
            good = base64.b64encode(b"id1:key1").decode()
            self.assertEqual(c.get("/", headers={"Authorization": "ApiKey " + good}).status, 200)
            bad = base64.b64encode(b"id1:nope").decode()
            self.assertEqual(c.get("/", headers={"Authorization": "ApiKey " + bad}).status, 401)


class ProcessTest(unittest.TestCase):
    def test_cli_with_tls_auth_faults(self):
        p = Process("--flavor", "opensearch2", "--tls-cert", cert("server.pem"), "--tls-key",
                    cert("server.key"), "--user", "u", "--password", "p",
                    "--fault", "status=503", "--fault", "path=_bulk", "--seed", "5")
        try:
            ctx = client_tls(cert("ca.pem"))
            with Client(p.port, tls_context=ctx) as c:
                r = c.get("/", headers=basic("u", "p"))
                self.assertEqual(r.json["version"]["distribution"], "opensearch")
                self.assertEqual(c.bulk(BULK, headers=basic("u", "p")).status, 503)
                c.request("DELETE", "/_double/faults")
                self.assertEqual(c.bulk(BULK, headers=basic("u", "p")).status, 200)
                self.assertEqual(c.counts(), {"t": 1})
            # a plain urllib client works too (what a shell script in a test would use)
            req = urllib.request.Request("https://127.0.0.1:%d/_double/counts" % p.port)
            with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
                self.assertEqual(json.loads(resp.read()), {"t": 1})
        finally:
            self.assertEqual(p.stop(), 0, "SIGTERM is a clean exit")

    def test_cli_data_dir_survives_kill(self):
        import tempfile
        import shutil
        data = tempfile.mkdtemp()
        try:
            p = Process("--data-dir", data, "--flavor", "es7")
            with Client(p.port) as c:
                c.bulk(ndjson({"index": {"_index": "k", "_id": "1"}}, {"x": 1}))
            p.proc.send_signal(signal.SIGKILL)
            p.proc.wait()
            p.stop()
            p = Process("--data-dir", data, "--flavor", "es7")
            try:
                with Client(p.port) as c:
                    self.assertEqual(c.counts(), {"k": 1})
            finally:
                p.stop()
        finally:
            shutil.rmtree(data)

    def test_bad_arguments(self):
        import subprocess
        here = os.path.dirname(os.path.abspath(__file__))
        r = subprocess.run([sys.executable, os.path.join(here, "esdouble.py"), "--host",
                            "0.0.0.0"], capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"loopback only", r.stderr)


if __name__ == "__main__":
    unittest.main()
