#!/usr/bin/env python3
"""Unit tests of the AWS credential endpoints double (awsdouble.py)."""

import datetime
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import awsdouble  # noqa: E402
from awsdouble import AwsDouble  # noqa: E402

NS = {"s": awsdouble.STS_NS}
BASE_AKID = "AKIDEXAMPLEBASE00001"
BASE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ROLE_ARN = "arn:aws:iam::123456789012:role/shipper"


class Client:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def req(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        data = r.read()
        return r.status, dict(r.getheaders()), data

    def close(self):
        self.conn.close()


def amz_now(offset_s=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    return t.strftime("%Y%m%dT%H%M%SZ")


class DoubleCase(unittest.TestCase):
    settings = {}

    def setUp(self):
        kw = {"base_keys": {BASE_AKID: BASE_SECRET}}
        kw.update(self.settings)
        self.d = AwsDouble(**kw).start()
        self.c = Client(self.d.port)

    def tearDown(self):
        self.c.close()
        self.d.stop()

    # helpers
    def control(self, path, obj):
        status, _, data = self.c.req("POST", path, json.dumps(obj))
        return status, json.loads(data)

    def imds_token(self, ttl="21600"):
        return self.c.req("PUT", "/latest/api/token", b"",
                          {"X-aws-ec2-metadata-token-ttl-seconds": ttl})

    def imds(self, rest="", token=None, extra=None):
        h = dict(extra or {})
        if token is not None:
            h["X-aws-ec2-metadata-token"] = token
        return self.c.req("GET", awsdouble.IMDS_PREFIX + rest, headers=h)

    def assume(self, akid=BASE_AKID, secret=BASE_SECRET, token=None, region="us-east-1",
               service="sts", body=None, amz_date=None, tamper=False, path="/"):
        body = body if body is not None else urllib.parse.urlencode(
            {"Action": "AssumeRole", "RoleArn": ROLE_ARN, "RoleSessionName": "fluentd",
             "Version": "2011-06-15"}).encode()
        host = "127.0.0.1:%d" % self.d.port
        headers = [("Host", host),
                   ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
        added = awsdouble.sign("POST", path, headers, body, akid, secret, region, service,
                               amz_date or amz_now(), token)
        h = dict(headers + added)
        if tamper:
            h["Authorization"] = h["Authorization"][:-1] + (
                "0" if h["Authorization"][-1] != "0" else "1")
        return self.c.req("POST", path, body, h)

    def web_identity(self, token="jwt-token", arn=ROLE_ARN):
        body = urllib.parse.urlencode({"Action": "AssumeRoleWithWebIdentity", "RoleArn": arn,
                                       "RoleSessionName": "skiff", "Version": "2011-06-15",
                                       "WebIdentityToken": token}).encode()
        return self.c.req("POST", "/", body,
                          {"Content-Type": "application/x-www-form-urlencoded"})

    def sts_creds(self, data, action="AssumeRole"):
        root = ET.fromstring(data)
        cred = root.find("s:%sResult/s:Credentials" % action, NS)
        self.assertIsNotNone(cred, data)
        return {k: cred.find("s:" + k, NS).text
                for k in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")}

    def sts_error(self, data):
        root = ET.fromstring(data)
        return root.find("s:Error/s:Code", NS).text


class TestImds(DoubleCase):
    def test_v2_flow_issues_credentials(self):
        status, headers, token = self.imds_token("300")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("X-aws-ec2-metadata-token-ttl-seconds"), "300")
        status, _, role = self.imds(token=token.decode())
        self.assertEqual((status, role), (200, b"skiff-role"))
        status, _, data = self.imds("skiff-role", token=token.decode())
        self.assertEqual(status, 200)
        doc = json.loads(data)
        self.assertEqual(doc["Code"], "Success")
        self.assertTrue(doc["AccessKeyId"].startswith("ASIA"))
        exp = datetime.datetime.strptime(doc["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        self.assertAlmostEqual(exp, time.time() + 3600, delta=3)
        counts = self.d.counts()
        self.assertEqual(counts["issued"]["imds"], 1)
        self.assertEqual(counts["imds_tokens"], 1)
        self.assertEqual(counts["requests"]["imds-creds"], 1)

    def test_token_optional_in_v2_mode(self):
        self.assertEqual(self.imds()[0], 200)
        self.assertEqual(self.imds("skiff-role")[0], 200)

    def test_invalid_token_is_401(self):
        self.assertEqual(self.imds(token="nope")[0], 401)
        self.assertEqual(self.d.counts()["errors"]["imds-role"], 1)

    def test_token_ttl_required_and_bounded(self):
        self.assertEqual(self.c.req("PUT", "/latest/api/token", b"")[0], 400)
        self.assertEqual(self.imds_token("0")[0], 400)
        self.assertEqual(self.imds_token("21601")[0], 400)

    def test_forwarded_requests_refused(self):
        status, _, _ = self.c.req("PUT", "/latest/api/token", b"",
                                  {"X-aws-ec2-metadata-token-ttl-seconds": "60",
                                   "X-Forwarded-For": "10.0.0.1"})
        self.assertEqual(status, 403)
        self.assertEqual(self.imds(extra={"X-Forwarded-For": "1.2.3.4"})[0], 403)

    def test_proxied_requests_counted(self):
        self.imds("skiff-role", extra={"Via": "1.1 tinyproxy"})
        self.imds("skiff-role")
        self.assertEqual(self.d.counts()["proxied"]["imds-creds"], 1)

    def test_wrong_role_is_404(self):
        self.assertEqual(self.imds("other-role")[0], 404)

    def test_same_credentials_until_rotation(self):
        self.control("/_aws/config", {"expiry_s": 2, "imds_reuse": 0.4})
        a = json.loads(self.imds("skiff-role")[2])
        b = json.loads(self.imds("skiff-role")[2])
        self.assertEqual(a["AccessKeyId"], b["AccessKeyId"])
        exp = datetime.datetime.strptime(a["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        time.sleep(max(0.0, exp - 0.4 * 2 - time.time() + 0.1))
        c = json.loads(self.imds("skiff-role")[2])
        self.assertNotEqual(a["AccessKeyId"], c["AccessKeyId"])
        self.assertEqual(self.d.counts()["issued"]["imds"], 2)


class TestImdsRequired(DoubleCase):
    settings = {"imds_mode": "v2-required"}

    def test_no_token_is_401(self):
        self.assertEqual(self.imds()[0], 401)
        self.assertEqual(self.imds("skiff-role")[0], 401)
        token = self.imds_token()[2].decode()
        self.assertEqual(self.imds("skiff-role", token=token)[0], 200)


class TestImdsV1(DoubleCase):
    settings = {"imds_mode": "v1"}

    def test_put_404_get_without_token(self):
        self.assertEqual(self.imds_token()[0], 404)
        self.assertEqual(self.imds()[2], b"skiff-role")
        self.assertEqual(self.imds("skiff-role")[0], 200)
        self.assertEqual(self.imds("skiff-role", token="x")[0], 401)


class TestSts(DoubleCase):
    def test_assume_role_with_base_keys(self):
        status, _, data = self.assume()
        self.assertEqual(status, 200, data)
        creds = self.sts_creds(data)
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(self.d.counts()["issued"]["assume_role"], 1)
        self.assertEqual(self.d.issued()[0]["base"], BASE_AKID)

    def test_assume_role_with_issued_temporary_credentials(self):
        doc = json.loads(self.imds("skiff-role")[2])
        status, _, data = self.assume(doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"])
        self.assertEqual(status, 200, data)
        # and again on top of the assumed role (chained)
        c = self.sts_creds(data)
        status, _, data = self.assume(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
        self.assertEqual(status, 200, data)

    def test_bad_signature(self):
        status, _, data = self.assume(tamper=True)
        self.assertEqual((status, self.sts_error(data)), (403, "SignatureDoesNotMatch"))

    def test_wrong_secret(self):
        status, _, data = self.assume(secret="x" * 40)
        self.assertEqual((status, self.sts_error(data)), (403, "SignatureDoesNotMatch"))

    def test_unknown_key(self):
        status, _, data = self.assume(akid="AKIDUNKNOWN000000000")
        self.assertEqual((status, self.sts_error(data)), (403, "InvalidClientTokenId"))

    def test_missing_or_wrong_session_token(self):
        doc = json.loads(self.imds("skiff-role")[2])
        status, _, data = self.assume(doc["AccessKeyId"], doc["SecretAccessKey"], None)
        self.assertEqual((status, self.sts_error(data)), (403, "InvalidClientTokenId"))
        status, _, data = self.assume(doc["AccessKeyId"], doc["SecretAccessKey"], "bad")
        self.assertEqual((status, self.sts_error(data)), (403, "InvalidClientTokenId"))

    def test_expired_base_credentials(self):
        doc = json.loads(self.imds("skiff-role")[2])
        self.control("/_aws/expire", {"access_key_id": doc["AccessKeyId"]})
        status, _, data = self.assume(doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"])
        self.assertEqual((status, self.sts_error(data)), (403, "ExpiredToken"))
        self.assertIn(b"security token included in the request is expired", data)

    def test_missing_authentication(self):
        body = b"Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=yy"
        status, _, data = self.c.req("POST", "/", body)
        self.assertEqual((status, self.sts_error(data)), (403, "MissingAuthenticationToken"))

    def test_wrong_service_scope(self):
        status, _, data = self.assume(service="es")
        self.assertEqual(status, 403)
        self.assertIn(b"correct service: 'sts'", data)

    def test_clock_skew(self):
        status, _, data = self.assume(amz_date=amz_now(-600))
        self.assertEqual(status, 403)
        self.assertIn(b"Signature expired", data)

    def test_signed_path_other_than_root(self):
        status, _, data = self.assume(path="/sts/")
        self.assertEqual(status, 200, data)

    def test_validation(self):
        body = urllib.parse.urlencode({"Action": "AssumeRole", "Version": "2011-06-15",
                                       "RoleArn": "bad", "RoleSessionName": "s1"}).encode()
        status, _, data = self.assume(body=body)
        self.assertEqual((status, self.sts_error(data)), (400, "ValidationError"))
        status, _, data = self.c.req("POST", "/", b"Action=AssumeRole")
        self.assertEqual((status, self.sts_error(data)), (400, "MissingParameter"))
        status, _, data = self.c.req("POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15")
        self.assertEqual((status, self.sts_error(data)), (400, "InvalidAction"))

    def test_web_identity(self):
        status, _, data = self.web_identity()
        self.assertEqual(status, 200, data)
        creds = self.sts_creds(data, "AssumeRoleWithWebIdentity")
        self.assertTrue(creds["SessionToken"])
        self.assertEqual(self.d.counts()["issued"]["web_identity"], 1)

    def test_web_identity_bad_arn(self):
        status, _, data = self.web_identity(arn="nope")
        self.assertEqual((status, self.sts_error(data)), (400, "ValidationError"))


class TestStsStrict(DoubleCase):
    settings = {"web_identity_token": "the-jwt", "sts_region": "eu-west-1"}

    def test_web_identity_token_checked(self):
        status, _, data = self.web_identity("other")
        self.assertEqual((status, self.sts_error(data)), (400, "InvalidIdentityToken"))
        self.assertEqual(self.web_identity("the-jwt")[0], 200)

    def test_region_checked(self):
        self.assertEqual(self.assume(region="us-east-1")[0], 403)
        self.assertEqual(self.assume(region="eu-west-1")[0], 200)


class TestEcs(DoubleCase):
    settings = {"ecs_auth": "Bearer secret-token"}

    def test_auth_required(self):
        status, _, data = self.c.req("GET", "/v2/credentials/skiff-test")
        self.assertEqual(status, 401)
        self.assertIn(b"AccessDenied", data)
        status, _, data = self.c.req("GET", "/v2/credentials/skiff-test",
                                     headers={"Authorization": "Bearer secret-token"})
        self.assertEqual(status, 200)
        doc = json.loads(data)
        self.assertEqual(set(doc), {"RoleArn", "AccessKeyId", "SecretAccessKey", "Token",
                                    "Expiration"})
        self.assertEqual(self.d.counts()["issued"]["ecs"], 1)

    def test_other_path_404(self):
        self.assertEqual(self.c.req("GET", "/v2/credentials/other")[0], 404)


class TestControl(DoubleCase):
    def test_faults_count_down(self):
        self.control("/_aws/fail", {"route": "imds-creds", "status": 500, "count": 2})
        self.assertEqual(self.imds("skiff-role")[0], 500)
        self.assertEqual(self.imds("skiff-role")[0], 500)
        self.assertEqual(self.imds("skiff-role")[0], 200)
        self.assertEqual(self.d.counts()["errors"]["imds-creds"], 2)

    def test_fault_delay_then_answer(self):
        self.control("/_aws/fail", {"route": "sts", "delay_s": 0.3, "count": 1})
        t = time.time()
        self.assertEqual(self.web_identity()[0], 200)
        self.assertGreaterEqual(time.time() - t, 0.3)

    def test_bad_control_requests(self):
        self.assertEqual(self.control("/_aws/config", {"nope": 1})[0], 400)
        self.assertEqual(self.control("/_aws/config", {"imds_mode": "v3"})[0], 400)
        self.assertEqual(self.control("/_aws/fail", {"route": "x"})[0], 400)

    def test_credentials_list_and_reset(self):
        self.imds("skiff-role")
        self.web_identity()
        status, _, data = self.c.req("GET", "/_aws/credentials")
        lst = json.loads(data)
        self.assertEqual([c["source"] for c in lst], ["imds", "web_identity"])
        self.control("/_aws/reset", {})
        self.assertEqual(self.d.counts()["issued"]["total"], 0)

    def test_fixed_credentials(self):
        self.control("/_aws/config", {"fixed": "ASIAFIXED:sekrit:tok"})
        doc = json.loads(self.imds("skiff-role")[2])
        self.assertEqual((doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"]),
                         ("ASIAFIXED", "sekrit", "tok"))

    def test_expire_all(self):
        doc = json.loads(self.imds("skiff-role")[2])
        self.control("/_aws/expire", {})
        self.assertLessEqual(self.d.issued()[0]["expires_at"], time.time())
        # the next IMDS answer rotates
        doc2 = json.loads(self.imds("skiff-role")[2])
        self.assertNotEqual(doc["AccessKeyId"], doc2["AccessKeyId"])


class TestProcess(unittest.TestCase):
    def test_port_file_and_sigterm(self):
        with tempfile.TemporaryDirectory() as tmp:
            pf = os.path.join(tmp, "port")
            proc = subprocess.Popen([sys.executable, os.path.join(HERE, "awsdouble.py"),
                                     "--port", "0", "--port-file", pf, "--expiry-s", "5",
                                     "--base-key", "%s:%s" % (BASE_AKID, BASE_SECRET)],
                                    stderr=subprocess.PIPE)
            try:
                deadline = time.time() + 10
                while not os.path.exists(pf) and time.time() < deadline:
                    time.sleep(0.05)
                with open(pf) as f:
                    port = int(f.read())
                c = Client(port)
                status, _, data = c.req("GET", awsdouble.IMDS_PREFIX + "skiff-role")
                c.close()
                self.assertEqual(status, 200)
                self.assertIn("Expiration", json.loads(data))
            finally:
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=10), 0)
                proc.stderr.close()

    def test_loopback_only(self):
        with self.assertRaises(ValueError):
            AwsDouble(host="0.0.0.0")


if __name__ == "__main__":
    unittest.main()
