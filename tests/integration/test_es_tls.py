"""TLS to Elasticsearch with a self-signed CA.

Real skiff, the Elasticsearch double serving HTTPS with certificates from
tests/esdouble/make_certs.sh. `ssl_verify true` with the right `ca_file`
delivers; the wrong CA, or a certificate for another host name, fails
cleanly: skiff stays up, says why (the TLS library's words), keeps every
event in its buffer, and delivers them all once it trusts the server.
Also client certificates (mutual TLS) and basic auth over TLS.
"""
import os
import re
import sys
import unittest

from eshelp import LINE, chunk_files, delivered, quiet, write_lines  # noqa: F401
from eshelp import wait_all as wait_count
from harness import SRC, Skiff, TempDir, wait_for

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
  host {host}
  port {port}
  scheme https
  logstash_format true
  logstash_prefix es-log
  request_timeout 10s
  reload_connections false
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


class Tls(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.log = self.tmp.join("access.log")
        open(self.log, "w").close()
        self.certs = certs()
        self.es = None
        self.skiff = None

    def tearDown(self):
        if self.skiff is not None:
            self.skiff.stop()
        if self.es is not None:
            self.es.stop()
        self.tmp.cleanup()

    def cert(self, name):
        return os.path.join(self.certs, name)

    def double(self, server="server", **kw):
        self.es = EsDouble(flavor="es8", tls_cert=self.cert(server + ".pem"),
                           tls_key=self.cert(server + ".key"), **kw).start()
        return self.es

    def start_skiff(self, extra, host="127.0.0.1"):
        if self.skiff is not None:
            self.assertEqual(self.skiff.stop(), 0)
        self.skiff = Skiff(self.tmp.path, CONFIG.format(
            log=self.log, dir=self.tmp.path, port=self.es.port, host=host, extra=extra)).start()
        return self.skiff

    def refused_then_fixed(self, bad_extra, words, good_extra, host="127.0.0.1"):
        """Starts with a configuration that must not trust the server, checks
        the clean failure, restarts with `good_extra`, checks delivery."""
        s = self.start_skiff(bad_extra, host=host)
        write_lines(self.log, 0, 500)
        # Said in the TLS library's words, and retried (chunks kept).
        wait_for(lambda: re.search(words, s.log()) and s.log().count("failed, retry") >= 3,
                 timeout=30, what="TLS refusals in the log, retried")
        wait_for(lambda: chunk_files(self.tmp.path), timeout=30, what="chunks kept on disk")
        self.assertEqual(self.es.requests(), [])  # not one request got through
        self.assertEqual(delivered(self.es), {})
        self.assertIsNone(s.proc.poll())  # still running
        log = s.log()
        # Clean: said as an error/warning, no crash, no stack of garbage.
        self.assertNotIn("BUG", log)
        self.start_skiff(good_extra, host=host)
        seen = wait_count(self.es, 500)
        self.assertEqual(len(seen), 500)
        self.assertEqual(set(seen.values()), {1})
        wait_for(lambda: chunk_files(self.tmp.path) == [], timeout=30, what="chunks deleted")
        self.assertTrue(all(r["tls"] for r in self.es.requests()))

    def test_self_signed_ca_verified(self):
        self.double()
        self.start_skiff("  ssl_verify true\n  ca_file %s" % self.cert("ca.pem"))
        write_lines(self.log, 0, 800)
        seen = wait_count(self.es, 800)
        self.assertEqual(set(seen.values()), {1})
        reqs = self.es.requests()
        self.assertTrue(reqs and all(r["tls"] for r in reqs))
        # Keep-alive: far fewer connections than requests.
        self.assertLess(self.es.stats["connections_opened"], len(reqs))
        self.assertEqual(self.es.stats["tls_handshake_failures"], 0)

    def test_wrong_ca_fails_cleanly_then_delivers(self):
        self.double()
        self.refused_then_fixed(
            "  ssl_verify true\n  ca_file %s" % self.cert("other-ca.pem"),
            r"TLS certificate verification failed: unable to get local issuer certificate",
            "  ssl_verify true\n  ca_file %s" % self.cert("ca.pem"))

    def test_system_store_does_not_trust_test_ca(self):
        """No ca_file: the system store does not know the test CA."""
        self.double()
        self.refused_then_fixed(
            "  ssl_verify true",
            r"TLS certificate verification failed: unable to get local issuer certificate",
            "  ssl_verify true\n  ca_file %s" % self.cert("ca.pem"))

    def test_wrong_host_name_fails_cleanly(self):
        """Signed by the trusted CA, but for DNS:wrong.invalid only."""
        self.double(server="wronghost")
        self.refused_then_fixed(
            "  ssl_verify true\n  ca_file %s" % self.cert("ca.pem"),
            r"TLS certificate verification failed: the certificate is not for 127.0.0.1",
            "  ssl_verify false")

    def test_localhost_name_verified(self):
        """host localhost matches the certificate's DNS:localhost."""
        self.double()
        self.start_skiff("  ssl_verify true\n  ca_file %s" % self.cert("ca.pem"),
                         host="localhost")
        write_lines(self.log, 0, 100)
        seen = wait_count(self.es, 100)
        self.assertEqual(set(seen.values()), {1})

    def test_client_certificate_and_basic_auth(self):
        """Mutual TLS plus basic auth; without the client certificate the
        handshake fails cleanly and nothing is lost."""
        self.double(tls_client_ca=self.cert("ca.pem"), user="shipper", password="s3cret")
        tls = "  ssl_verify true\n  ca_file %s\n  user shipper\n  password s3cret\n" % \
              self.cert("ca.pem")
        self.refused_then_fixed(
            tls, r"cannot read the Elasticsearch version \(attempt \d+\): .*(SSL|errno|alert|reset)",
            tls + "  client_cert %s\n  client_key %s" % (self.cert("client.pem"),
                                                         self.cert("client.key")))
        self.assertTrue(all(r["status"] == 200 for r in self.es.requests()))


if __name__ == "__main__":
    unittest.main()
