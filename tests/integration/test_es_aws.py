"""@type aws-elasticsearch-service end to end (issue 7): skiff signs every
request with AWS SigV4 for the Amazon persona of the Elasticsearch double,
which verifies each signature and answers AWS-style 403 bodies.

Credentials come from each source the AWS credential chain knows, served by
the AWS double on loopback (static keys, environment, IMDSv2, web identity
via STS, ECS, AssumeRole on top). Also: wrong keys (403 logged, events kept,
delivered once the keys are right), credentials that expire every couple of
seconds while lines keep coming, gzip bodies signed as sent, and the whole
thing through tinyproxy. No sleeps as synchronisation: the tests poll.
"""
import json
import os
import subprocess
import sys
import threading
import time
import unittest

from harness import SRC, Skiff, TempDir, run_skiff, wait_for

sys.path.insert(0, os.path.join(SRC, "tests", "esdouble"))
sys.path.insert(0, os.path.join(SRC, "tests", "awsdouble"))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
from esdouble import EsDouble  # noqa: E402
from awsdouble import AwsDouble  # noqa: E402
from test_es_proxy import TinyProxy  # noqa: E402

REGION = "eu-west-1"
AKID = "AKIDSKIFFTEST0000001"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSKIFFSECRET"
TOKEN = "FQoGZXIvYXdzEBkaDSKIFFSESSIONTOKEN//test=="
WRONG = ("AKIDWRONGWRONGWRONG1", "not-the-secret", "not-the-token")

CONFIG = """
<source>
  @type tail
  path {log}
  pos_file {dir}/tail.pos
  read_from_head true
  tag app.log
  <parse>
    @type json
  </parse>
</source>

<match app.**>
  @type aws-elasticsearch-service
  index_name awslogs
  request_timeout 10s
  reload_connections false
  reload_on_failure false
{extra}
  <endpoint>
    url http://127.0.0.1:{port}
    region {region}
{endpoint}
  </endpoint>
  <buffer tag>
    @type file
    path {dir}/buffer
    flush_interval 200ms
    chunk_limit_size 8k
    retry_wait 200ms
    retry_max_interval 1s
    retry_forever true
  </buffer>
</match>
"""

AWS_VARS = [k for k in os.environ if k.startswith("AWS_")] + [
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
    "no_proxy", "NO_PROXY"]


def write_lines(path, start, n):
    with open(path, "a") as f:
        for i in range(start, start + n):
            f.write(json.dumps({"n": i, "msg": "line %d" % i}) + "\n")


class AwsCase(unittest.TestCase):
    def setUp(self):
        self.t0 = time.monotonic()
        self.tmp = TempDir()
        self.log = self.tmp.join("app.log")
        open(self.log, "w").close()
        self.saved_env = {k: os.environ.pop(k) for k in AWS_VARS if k in os.environ}
        self.es = self.aws = self.proxy = self.skiff = None

    def tearDown(self):
        if self.skiff is not None:
            self.skiff.stop()
        for x in (self.proxy, self.aws, self.es):
            if x is not None:
                x.stop()
        for k in [k for k in os.environ if k.startswith("AWS_")]:
            os.environ.pop(k)
        os.environ.update(self.saved_env)
        self.tmp.cleanup()
        sys.stderr.write("[%.1fs] " % (time.monotonic() - self.t0))

    # --- helpers ---------------------------------------------------------------------

    def start_es(self, keys=(AKID, SECRET, TOKEN), **kw):
        akid, secret, token = keys
        self.es = EsDouble(flavor="es7", aws=True, sigv4={
            "access_key": akid, "secret": secret, "region": REGION, "service": "es",
            "token": token}, **kw).start()
        return self.es

    def start_aws(self, **kw):
        kw.setdefault("fixed", (AKID, SECRET, TOKEN))
        self.aws = AwsDouble(**kw).start()
        return self.aws

    def start_skiff(self, endpoint="", extra="", env=None):
        env = dict(env or {})
        env.setdefault("HOME", self.tmp.path)  # no ~/.aws of the machine
        env.setdefault("AWS_CONFIG_FILE", self.tmp.join("no-aws-config"))
        env.setdefault("AWS_SHARED_CREDENTIALS_FILE", self.tmp.join("no-aws-credentials"))
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            self.skiff = Skiff(self.tmp.path, CONFIG.format(
                log=self.log, dir=self.tmp.path, port=self.es.port, region=REGION,
                endpoint=endpoint, extra=extra)).start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return self.skiff

    def delivered(self):
        seen = {}
        for d in self.es.docs("awslogs"):
            n = d["_source"]["n"]
            seen[n] = seen.get(n, 0) + 1
        return seen

    def wait_all(self, n, timeout=40):
        seen = wait_for(lambda: (lambda d: d if len(d) >= n else None)(self.delivered()),
                        timeout=timeout, what="%d documents (log: %s)" % (
                            n, self.skiff.log()[-3000:] if self.skiff else ""))
        self.assertEqual(sorted(seen), list(range(n)))
        self.assertEqual(set(seen.values()), {1}, "every document exactly once")
        return seen

    def assert_all_signed(self, token=TOKEN):
        reqs = self.es.requests()
        self.assertTrue(reqs)
        for r in reqs:
            h = {k.lower(): v for k, v in r["headers"].items()}
            self.assertTrue(h.get("authorization", "").startswith("AWS4-HMAC-SHA256 Credential="),
                            r)
            self.assertIn("/%s/es/aws4_request" % REGION, h["authorization"])
            if token:
                self.assertEqual(h.get("x-amz-security-token"), token)
        return reqs

    def assert_no_secret_in_log(self):
        log = self.skiff.log()
        for s in (SECRET, TOKEN):
            self.assertNotIn(s, log)

    def round_trip(self, n=300):
        write_lines(self.log, 0, n)
        self.wait_all(n)
        reqs = self.assert_all_signed(token=self.expect_token)
        self.assertTrue(any(r["path"] == "/" and r["status"] == 200 for r in reqs),
                        "GET / signed and accepted")
        self.assertTrue(all(r["status"] != 403 for r in reqs),
                        [r for r in reqs if r["status"] == 403][:2])
        self.assert_no_secret_in_log()

    expect_token = TOKEN


class Sources(AwsCase):
    """One source of credentials per test; every request signed and accepted."""

    def test_static_keys_gzip(self):
        self.expect_token = None
        self.start_es(keys=(AKID, SECRET, None))
        self.start_skiff("    access_key_id %s\n    secret_access_key %s" % (AKID, SECRET),
                         extra="  compression_level best_speed",
                         env={"AWS_EC2_METADATA_DISABLED": "true"})
        self.round_trip()
        bulks = [r for r in self.es.requests("_bulk") if r["method"] == "POST"]
        self.assertTrue(bulks)
        self.assertTrue(all(r["content_encoding"] == "gzip" and r["status"] == 200
                            for r in bulks), bulks[:2])
        self.assertIn("signing requests with AWS SigV4 (region %s, service es)" % REGION,
                      self.skiff.log())

    def test_environment(self):
        self.start_es()
        self.start_skiff(env={"AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET,
                              "AWS_SESSION_TOKEN": TOKEN, "AWS_EC2_METADATA_DISABLED": "true"})
        self.round_trip()

    def test_imdsv2(self):
        self.start_es()
        aws = self.start_aws(imds_mode="v2-required")
        self.start_skiff("    imds_endpoint %s" % aws.url)
        self.round_trip()
        c = aws.counts()
        self.assertGreaterEqual(c["issued"]["imds"], 1)
        self.assertGreaterEqual(c["imds_tokens"], 1)

    def test_web_identity(self):
        self.start_es()
        aws = self.start_aws(web_identity_token="oidc-token-123")
        tok = self.tmp.join("token")
        with open(tok, "w") as f:
            f.write("oidc-token-123")
        self.start_skiff("    assume_role_arn arn:aws:iam::123456789012:role/shipper\n"
                         "    assume_role_web_identity_token_file %s\n"
                         "    sts_endpoint %s" % (tok, aws.url),
                         env={"AWS_EC2_METADATA_DISABLED": "true"})
        self.round_trip()
        self.assertGreaterEqual(aws.counts()["issued"]["web_identity"], 1)

    def test_ecs(self):
        self.start_es()
        aws = self.start_aws()
        self.start_skiff("    ecs_container_credentials_relative_uri /v2/credentials/skiff-test\n"
                         "    ecs_endpoint %s" % aws.url,
                         env={"AWS_EC2_METADATA_DISABLED": "true"})
        self.round_trip()
        self.assertGreaterEqual(aws.counts()["issued"]["ecs"], 1)

    def test_assume_role_on_imds(self):
        self.start_es()
        aws = self.start_aws()
        self.start_skiff("    imds_endpoint %s\n    sts_endpoint %s\n"
                         "    assume_role_arn arn:aws:iam::123456789012:role/shipper\n"
                         "    assume_role_session_name skiff-it" % (aws.url, aws.url))
        self.round_trip()
        c = aws.counts()
        self.assertGreaterEqual(c["issued"]["imds"], 1)
        self.assertGreaterEqual(c["issued"]["assume_role"], 1)


class Failures(AwsCase):
    def test_wrong_keys_then_rotated(self):
        """Wrong keys: AWS's 403 is logged loudly and the events stay buffered;
        once the credentials source hands out the right keys, all go once."""
        self.start_es()
        aws = self.start_aws(fixed=WRONG, expiry_s=2)
        self.start_skiff("    imds_endpoint %s\n    credentials_refresh_before 1s" % aws.url)
        write_lines(self.log, 0, 200)
        wait_for(lambda: "security token included in the request is invalid" in self.skiff.log(),
                 timeout=20, what="the 403 in skiff's log")
        wait_for(lambda: any(r["status"] == 403 for r in self.es.requests()), timeout=10,
                 what="a refused request")
        self.assertEqual(self.es.docs("awslogs"), [])
        log = self.skiff.log()
        self.assertRegex(log, r"\[error\].*403.*security token included in the request is invalid")
        aws.state.configure({"fixed": "%s:%s:%s" % (AKID, SECRET, TOKEN)})
        self.wait_all(200)
        self.assert_no_secret_in_log()

    def test_expiry_refresh_under_load(self):
        """Credentials live 2 s while lines keep coming for ~6 s: refreshed
        ahead of expiry, plus two 'token expired' answers from the domain
        (invalidated and re-signed): every document delivered exactly once."""
        self.start_es()
        aws = self.start_aws(expiry_s=2)
        self.start_skiff("    imds_endpoint %s\n    credentials_refresh_before 1s" % aws.url)
        write_lines(self.log, 0, 50)
        wait_for(lambda: len(self.delivered()) >= 50, timeout=20, what="first documents")
        self.es.set_faults({"path": "_bulk", "status": 403, "style": "amazon_token_expired",
                            "fail_next_n": 2})
        n, t_end = 50, time.monotonic() + 6
        while time.monotonic() < t_end:
            write_lines(self.log, n, 40)
            n += 40
            # Pace the writer on delivery, not on a timer.
            wait_for(lambda: len(self.delivered()) >= n - 200, timeout=20, what="progress")
        self.wait_all(n)
        self.assertGreaterEqual(aws.counts()["issued"]["imds"], 3, aws.counts())
        self.assertIn("security token expired", self.skiff.log())
        refused = [r for r in self.es.requests("_bulk") if r["status"] == 403]
        self.assertEqual(len(refused), 2)


class Proxy(AwsCase):
    def test_through_tinyproxy(self):
        """The VPC case: domain and STS behind tinyproxy; IMDS never proxied.
        The signature covers the Host the domain receives."""
        self.start_es()
        aws = self.start_aws()
        self.proxy = TinyProxy(self.tmp.path).start()
        self.start_skiff("    imds_endpoint %s\n    sts_endpoint %s\n"
                         "    assume_role_arn arn:aws:iam::123456789012:role/shipper"
                         % (aws.url, aws.url), extra="  proxy %s" % self.proxy.url)
        self.round_trip()
        base = "http://127.0.0.1:%d" % self.es.port
        seen = self.proxy.requests()
        self.assertIn("GET %s/" % base, seen)
        bulks = [r for r in seen if r.startswith("POST %s/_bulk" % base)]
        self.assertGreaterEqual(len(bulks), 1)
        self.assertEqual(len(self.es.requests("_bulk")), len(bulks))
        self.assertTrue(any(r.startswith("POST %s" % aws.url) for r in seen), "STS proxied")
        self.assertFalse(any("/latest/" in r for r in seen), "IMDS not proxied")


class Config(unittest.TestCase):
    def test_dry_run_masks_secrets(self):
        tmp = TempDir()
        try:
            conf = tmp.join("s.conf")
            with open(conf, "w") as f:
                f.write(CONFIG.format(log=tmp.join("a.log"), dir=tmp.path, port=9, region=REGION,
                                      extra="", endpoint="    access_key_id %s\n"
                                      "    secret_access_key %s" % (AKID, SECRET)))
            code, out, err = run_skiff("--dry-run", "-c", conf)
            self.assertEqual(code, 0, out + err)
            self.assertIn("aws-elasticsearch-service", out)
            self.assertNotIn(SECRET, out + err)
            self.assertNotIn(AKID, out + err)
        finally:
            tmp.cleanup()

    def test_endpoint_required(self):
        tmp = TempDir()
        try:
            conf = tmp.join("s.conf")
            text = CONFIG.format(log=tmp.join("a.log"), dir=tmp.path, port=9, region=REGION,
                                 extra="", endpoint="")
            text = text[:text.index("  <endpoint>")] + text[text.index("  <buffer"):]
            with open(conf, "w") as f:
                f.write(text)
            code, out, err = run_skiff("--dry-run", "-c", conf)
            self.assertNotEqual(code, 0)
            self.assertIn("<endpoint>", out + err)
        finally:
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
