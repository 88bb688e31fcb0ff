#!/usr/bin/env python3
"""awsdouble — loopback doubles of the AWS credential endpoints skiff uses.

One HTTP/1.1 server (Python 3 standard library only, 127.0.0.0/8 only)
answering like:

* the EC2 instance metadata service (IMDS):
    PUT /latest/api/token   (X-aws-ec2-metadata-token-ttl-seconds: 1..21600)
    GET /latest/meta-data/iam/security-credentials/          -> role name
    GET /latest/meta-data/iam/security-credentials/<role>    -> JSON
  modes: "v2" (token optional, checked when sent), "v2-required" (401
  without a valid token), "v1" (IMDSv1 only: PUT answers 404);
  X-Forwarded-For is refused (403) as the real service does;
* STS: POST (any path) with a form body, Action=AssumeRole (SigV4, service
  "sts", verified against known base keys and every credential this double
  issued, with AWS-style XML errors: MissingAuthenticationToken,
  IncompleteSignature, InvalidClientTokenId, SignatureDoesNotMatch,
  ExpiredToken) and Action=AssumeRoleWithWebIdentity (unsigned; the token
  is checked when one is configured: InvalidIdentityToken);
* the ECS / EKS container credentials endpoint: GET <ecs path>, with an
  optional Authorization check.

Every issued credential lives `expiry_s` seconds; IMDS hands out the same
credentials until less than 40 % of their life is left (as the real
service rotates them ahead of expiry). Issued credentials are counted.

Control API (never needs credentials), JSON:
    GET  /_aws/counts       {"issued": {...}, "requests": {...}, "errors": {...},
                             "proxied": {...} (requests with a Via header), "imds_tokens": N}
    GET  /_aws/credentials  every credential issued (tests compare keys)
    POST /_aws/config       {"expiry_s": 3, "imds_mode": "v1", ...} (see SETTINGS)
    POST /_aws/fail         {"route": "sts", "status": 500, "count": 2, "delay_s": 0}
    POST /_aws/expire       {"access_key_id": "..."} or {} for all issued
    POST /_aws/reset        counts to zero, issued credentials forgotten

Run:  python3 awsdouble.py --port 0 --port-file /tmp/aws.port [--expiry-s 3]
      [--imds-mode v2|v2-required|v1] [--role NAME] [--base-key AKID:SECRET]
      [--web-identity-token TOKEN] [--ecs-path /v2/credentials/x]
      [--ecs-auth TOKEN] [--sts-region us-east-1] [--fixed AKID:SECRET:TOKEN]
The port is written to --port-file (tmp + rename) once the server accepts;
SIGTERM/SIGINT stop it (exit 0).
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import math
import os
import signal
import socketserver
import sys
import threading
import time
import urllib.parse
import uuid

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_S = 300
IMDS_PREFIX = "/latest/meta-data/iam/security-credentials/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
ACCOUNT = "123456789012"
ROUTES = ("imds-token", "imds-role", "imds-creds", "sts", "ecs")

# Settings changeable at run time through POST /_aws/config.
SETTINGS = ("expiry_s", "imds_mode", "role", "web_identity_token", "ecs_path", "ecs_auth",
            "sts_region", "fixed", "imds_reuse")


def _iso(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _xml_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


# ---------------------------------------------------------------------------
# SigV4 (verification of AssumeRole; sign() is the reference for tests)
# ---------------------------------------------------------------------------

def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, date, region, service):
    k = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _quote(s):
    return urllib.parse.quote(s, safe="-_.~")


def canonical_uri(raw_path):
    segs = []
    for seg in raw_path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if segs:
                segs.pop()
            continue
        segs.append(seg)
    path = "/" + "/".join(_quote(s) for s in segs)
    if raw_path.endswith("/") and segs:
        path += "/"
    return path


def canonical_query(query):
    pairs = []
    for part in query.split("&") if query else []:
        if part:
            k, _, v = part.partition("=")
            pairs.append((_quote(urllib.parse.unquote(k)), _quote(urllib.parse.unquote(v))))
    return "&".join("%s=%s" % kv for kv in sorted(pairs))


def canonical_request(method, path, query, headers, signed, payload_hash):
    lines = [method, canonical_uri(path), canonical_query(query)]
    for name in signed:
        values = [" ".join(v.split()) for k, v in headers if k.lower() == name]
        lines.append("%s:%s" % (name, ",".join(values)))
    return "\n".join(lines + ["", ";".join(signed), payload_hash])


def sign(method, uri, headers, body, access_key, secret, region, service, amz_date, token=None):
    """Headers to add (X-Amz-Date, [X-Amz-Security-Token], Authorization)."""
    path, _, query = uri.partition("?")
    extra = [("X-Amz-Date", amz_date)]
    if token:
        extra.append(("X-Amz-Security-Token", token))
    all_headers = list(headers) + extra
    signed = sorted({k.lower() for k, _ in all_headers})
    payload_hash = hashlib.sha256(body or b"").hexdigest()
    creq = canonical_request(method, path, query, all_headers, signed, payload_hash)
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join([ALGORITHM, amz_date, scope,
                     hashlib.sha256(creq.encode("utf-8")).hexdigest()])
    sig = hmac.new(signing_key(secret, amz_date[:8], region, service), sts.encode("utf-8"),
                   hashlib.sha256).hexdigest()
    extra.append(("Authorization", "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                  % (ALGORITHM, access_key, scope, ";".join(signed), sig)))
    return extra


class StsError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _parse_authorization(value):
    fields = {}
    for part in value[len(ALGORITHM):].strip().split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    return fields


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------

class Credential:
    def __init__(self, akid, secret, token, expires_at, source, role):
        self.akid, self.secret, self.token = akid, secret, token
        self.expires_at, self.source, self.role = expires_at, source, role
        self.issued_at = time.time()
        self.base = None  # the access key id that signed AssumeRole

    def as_json(self):
        return {"access_key_id": self.akid, "secret_access_key": self.secret,
                "session_token": self.token, "expiration": _iso(self.expires_at),
                "expires_at": self.expires_at, "source": self.source, "role": self.role,
                "issued_at": self.issued_at, "base": self.base}


class State:
    """Everything the handlers share; one lock around it."""

    def __init__(self, expiry_s=3600, imds_mode="v2", role="skiff-role", base_keys=None,
                 web_identity_token=None, ecs_path="/v2/credentials/skiff-test",
                 ecs_auth=None, sts_region=None, fixed=None, imds_reuse=0.4, verbose=False):
        self.lock = threading.Lock()
        self.expiry_s = expiry_s
        self.imds_mode = imds_mode
        self.role = role
        self.base_keys = dict(base_keys or {})
        self.web_identity_token = web_identity_token
        self.ecs_path = ecs_path
        self.ecs_auth = ecs_auth
        self.sts_region = sts_region
        self.fixed = fixed
        self.imds_reuse = imds_reuse
        self.verbose = verbose
        self.serial = 0
        self.reset()

    def reset(self):
        self.issued = {}  # akid -> Credential
        self.order = []
        self.imds_current = None
        self.imds_tokens = {}  # token -> expires_at
        self.counts = {"issued": {"imds": 0, "ecs": 0, "web_identity": 0, "assume_role": 0,
                                  "total": 0},
                       "requests": {r: 0 for r in ROUTES},
                       "errors": {r: 0 for r in ROUTES},
                       "proxied": {r: 0 for r in ROUTES},
                       "imds_tokens": 0}
        self.faults = []

    def issue(self, source, role):
        """A new credential (caller holds the lock)."""
        self.serial += 1
        n = self.serial
        if self.fixed:
            akid, secret, token = self.fixed
        else:
            digest = hashlib.sha256(("awsdouble-%d-%s" % (n, uuid.uuid4())).encode()).digest()
            akid = "ASIADBL%013d" % n
            secret = base64.b64encode(digest + digest[:6]).decode()[:40]
            token = "IQoJb3JpZ2luX2VjE" + base64.b64encode(
                hashlib.sha512(digest).digest() * 3).decode()
        # Whole seconds as AWS writes them, never shorter than expiry_s.
        cred = Credential(akid, secret, token, int(math.ceil(time.time() + self.expiry_s)),
                          source, role)
        self.issued[akid] = cred
        self.order.append(cred)
        self.counts["issued"][source] += 1
        self.counts["issued"]["total"] += 1
        return cred

    def take_fault(self, route):
        for f in self.faults:
            if f.get("route") in (route, "*") and f.get("count", 1) > 0:
                f["count"] = f.get("count", 1) - 1
                return dict(f)
        return None

    def configure(self, spec):
        for k, v in spec.items():
            if k not in SETTINGS:
                raise ValueError("unknown setting %r" % k)
            if k == "fixed" and v is not None:
                v = tuple(v.split(":", 2)) if isinstance(v, str) else tuple(v)
            if k == "imds_mode" and v not in ("v2", "v2-required", "v1"):
                raise ValueError("imds_mode must be v2, v2-required or v1")
            setattr(self, k, v)


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "awsdouble/1"

    def log_message(self, fmt, *args):
        if self.server.state.verbose:
            sys.stderr.write("awsdouble: %s\n" % (fmt % args))

    # -- plumbing --
    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, body, ctype="text/plain", extra=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, obj):
        self._send(status, json.dumps(obj, indent=2), "application/json")

    def _fault(self, route):
        st = self.server.state
        with st.lock:
            st.counts["requests"][route] += 1
            if self.headers.get("Via"):
                st.counts["proxied"][route] += 1
            f = st.take_fault(route)
            if f is not None:
                st.counts["errors"][route] += 1
        if f is None:
            return False
        if f.get("delay_s"):
            time.sleep(float(f["delay_s"]))
        if f.get("status"):
            self._send(int(f["status"]), f.get("body", "injected fault"),
                       f.get("content_type", "text/plain"))
            return True
        return False  # a pure delay: answer normally afterwards

    def _error(self, route, status, body, ctype="text/plain"):
        with self.server.state.lock:
            self.server.state.counts["errors"][route] += 1
        self._send(status, body, ctype)

    # -- methods --
    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/_aws/"):
            return self._control_get(path)
        if path.startswith(IMDS_PREFIX):
            return self._imds_get(path[len(IMDS_PREFIX):])
        st = self.server.state
        if st.ecs_path and path == urllib.parse.urlsplit(st.ecs_path).path:
            return self._ecs()
        self._send(404, "not found")

    def do_PUT(self):
        self._body()
        if urllib.parse.urlsplit(self.path).path == "/latest/api/token":
            return self._imds_token()
        self._send(404, "not found")

    def do_POST(self):
        body = self._body()
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/_aws/"):
            return self._control_post(path, body)
        return self._sts(body)

    # -- IMDS --
    def _imds_token(self):
        st = self.server.state
        if self._fault("imds-token"):
            return
        if self.headers.get("X-Forwarded-For"):
            return self._error("imds-token", 403, "Forbidden")
        if st.imds_mode == "v1":
            return self._error("imds-token", 404, "Not Found")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self._error("imds-token", 400, "Bad Request")
        token = base64.b64encode(os.urandom(42)).decode()
        with st.lock:
            st.imds_tokens[token] = time.time() + int(ttl)
            st.counts["imds_tokens"] += 1
        self._send(200, token, extra=[("X-aws-ec2-metadata-token-ttl-seconds", ttl)])

    def _imds_token_ok(self, route):
        """False (after answering 401) when the token rules are broken."""
        st = self.server.state
        token = self.headers.get("X-aws-ec2-metadata-token")
        if self.headers.get("X-Forwarded-For"):
            self._error(route, 403, "Forbidden")
            return False
        if token is None:
            if st.imds_mode == "v2-required":
                self._error(route, 401, "Unauthorized")
                return False
            return True
        with st.lock:
            exp = st.imds_tokens.get(token)
        if st.imds_mode == "v1" or exp is None or exp < time.time():
            self._error(route, 401, "Unauthorized")
            return False
        return True

    def _imds_get(self, rest):
        st = self.server.state
        route = "imds-role" if rest == "" else "imds-creds"
        if self._fault(route) or not self._imds_token_ok(route):
            return
        if rest == "":
            return self._send(200, st.role)
        if rest != st.role:
            return self._error(route, 404, "Not Found")
        with st.lock:
            cur = st.imds_current
            left = cur.expires_at - time.time() if cur else 0
            if cur is None or left < st.imds_reuse * st.expiry_s or cur.akid not in st.issued:
                cur = st.imds_current = st.issue("imds", st.role)
        self._json(200, {"Code": "Success", "LastUpdated": _iso(cur.issued_at),
                         "Type": "AWS-HMAC", "AccessKeyId": cur.akid,
                         "SecretAccessKey": cur.secret, "Token": cur.token,
                         "Expiration": _iso(cur.expires_at)})

    # -- ECS --
    def _ecs(self):
        st = self.server.state
        if self._fault("ecs"):
            return
        if st.ecs_auth is not None and self.headers.get("Authorization") != st.ecs_auth:
            return self._error("ecs", 401, json.dumps(
                {"code": "AccessDeniedException",
                 "message": "Authorization header is missing or invalid"}), "application/json")
        with st.lock:
            cur = st.issue("ecs", "ecs-task-role")
        self._json(200, {"RoleArn": "arn:aws:iam::%s:role/ecs-task-role" % ACCOUNT,
                         "AccessKeyId": cur.akid, "SecretAccessKey": cur.secret,
                         "Token": cur.token, "Expiration": _iso(cur.expires_at)})

    # -- STS --
    def _sts_error(self, e):
        with self.server.state.lock:
            self.server.state.counts["errors"]["sts"] += 1
        kind = "Receiver" if e.status >= 500 else "Sender"
        self._send(e.status, '<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n'
                   '    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n'
                   '  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
                   % (STS_NS, kind, e.code, _xml_escape(e.message), uuid.uuid4()), "text/xml")

    def _sts(self, body):
        if self._fault("sts"):
            return
        try:
            form = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True,
                                         strict_parsing=False)
        except UnicodeDecodeError:
            form = {}
        form = {k: v[-1] for k, v in form.items()}
        if not form and "?" in self.path:
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(
                urllib.parse.urlsplit(self.path).query).items()}
        action = form.get("Action")
        try:
            if form.get("Version") != "2011-06-15":
                raise StsError(400, "InvalidParameterValue" if form.get("Version")
                               else "MissingParameter",
                               "The request must contain Version=2011-06-15")
            if action == "AssumeRole":
                base = self._verify_sigv4(body)
                return self._assume(form, "AssumeRole", base)
            if action == "AssumeRoleWithWebIdentity":
                return self._assume(form, "AssumeRoleWithWebIdentity", None)
            raise StsError(400, "InvalidAction",
                           "Could not find operation %s for version 2011-06-15" % action)
        except StsError as e:
            self._sts_error(e)

    def _verify_sigv4(self, body):
        st = self.server.state
        h = self.headers
        auth = h.get("Authorization")
        if not auth:
            raise StsError(403, "MissingAuthenticationToken",
                           "Request is missing Authentication Token")
        f = _parse_authorization(auth) if auth.startswith(ALGORITHM + " ") else {}
        cred = f.get("Credential", "").split("/")
        if len(cred) != 5 or not f.get("SignedHeaders") or not f.get("Signature"):
            raise StsError(400, "IncompleteSignature",
                           "Authorization header requires 'Credential', 'Signature' and "
                           "'SignedHeaders' parameters.")
        akid, date, region, service, term = cred
        if service != "sts" or term != "aws4_request":
            raise StsError(403, "SignatureDoesNotMatch",
                           "Credential should be scoped to correct service: 'sts'. ")
        if st.sts_region and region != st.sts_region:
            raise StsError(403, "SignatureDoesNotMatch",
                           "Credential should be scoped to a valid region. ")
        amz_date = h.get("X-Amz-Date", "")
        try:
            t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            raise StsError(403, "IncompleteSignature", "X-Amz-Date is missing or malformed")
        if abs(time.time() - t) > MAX_SKEW_S or date != amz_date[:8]:
            raise StsError(403, "SignatureDoesNotMatch",
                           "Signature expired: %s is now earlier or later than allowed"
                           % amz_date)
        with st.lock:
            issued = st.issued.get(akid)
            secret = st.base_keys.get(akid)
        token = h.get("X-Amz-Security-Token")
        if issued is not None:
            secret = issued.secret
            if token != issued.token:
                raise StsError(403, "InvalidClientTokenId",
                               "The security token included in the request is invalid.")
            if issued.expires_at <= time.time():
                raise StsError(403, "ExpiredToken",
                               "The security token included in the request is expired")
        elif secret is None:
            raise StsError(403, "InvalidClientTokenId",
                           "The security token included in the request is invalid.")
        signed = f["SignedHeaders"].split(";")
        if "host" not in signed:
            raise StsError(403, "SignatureDoesNotMatch", "'Host' must be a signed header.")
        path, _, query = self.path.partition("?")
        creq = canonical_request(self.command, path, query, list(self.headers.items()), signed,
                                 hashlib.sha256(body).hexdigest())
        scope = "/".join(cred[1:])
        sts = "\n".join([ALGORITHM, amz_date, scope,
                         hashlib.sha256(creq.encode("utf-8")).hexdigest()])
        want = hmac.new(signing_key(secret, date, region, service), sts.encode("utf-8"),
                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, f["Signature"]):
            raise StsError(403, "SignatureDoesNotMatch",
                           "The request signature we calculated does not match the signature "
                           "you provided. Check your AWS Secret Access Key and signing method. "
                           "Consult the service documentation for details.")
        return akid

    def _assume(self, form, action, base):
        st = self.server.state
        arn = form.get("RoleArn", "")
        session = form.get("RoleSessionName", "")
        if not arn.startswith("arn:") or ":role/" not in arn:
            raise StsError(400, "ValidationError", "RoleArn is missing or invalid")
        if not 2 <= len(session) <= 64:
            raise StsError(400, "ValidationError", "RoleSessionName is missing or invalid")
        extra = ""
        if action == "AssumeRoleWithWebIdentity":
            tok = form.get("WebIdentityToken", "")
            if not tok or (st.web_identity_token is not None and tok != st.web_identity_token):
                raise StsError(400, "InvalidIdentityToken",
                               "Couldn't verify the web identity token")
            extra = ("    <SubjectFromWebIdentityToken>system:serviceaccount:logging:skiff"
                     "</SubjectFromWebIdentityToken>\n    <Audience>sts.amazonaws.com</Audience>\n"
                     "    <Provider>arn:aws:iam::%s:oidc-provider/oidc.example</Provider>\n"
                     % ACCOUNT)
        role = arn.rsplit("/", 1)[-1]
        with st.lock:
            cur = st.issue("web_identity" if base is None else "assume_role", role)
            if base is not None:
                cur.base = base
        self._send(200, ('<%(a)sResponse xmlns="%(ns)s">\n  <%(a)sResult>\n%(extra)s'
                         '    <AssumedRoleUser>\n      <AssumedRoleId>AROADBL:%(s)s'
                         '</AssumedRoleId>\n      <Arn>arn:aws:sts::%(acct)s:assumed-role/'
                         '%(role)s/%(s)s</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n'
                         '      <AccessKeyId>%(k)s</AccessKeyId>\n'
                         '      <SecretAccessKey>%(sk)s</SecretAccessKey>\n'
                         '      <SessionToken>%(t)s</SessionToken>\n'
                         '      <Expiration>%(e)s</Expiration>\n    </Credentials>\n'
                         '  </%(a)sResult>\n  <ResponseMetadata>\n    <RequestId>%(r)s'
                         '</RequestId>\n  </ResponseMetadata>\n</%(a)sResponse>\n')
                   % {"a": action, "ns": STS_NS, "extra": extra, "s": _xml_escape(session),
                      "acct": ACCOUNT, "role": _xml_escape(role), "k": cur.akid,
                      "sk": _xml_escape(cur.secret), "t": _xml_escape(cur.token),
                      "e": _iso(cur.expires_at), "r": uuid.uuid4()}, "text/xml")

    # -- control --
    def _control_get(self, path):
        st = self.server.state
        with st.lock:
            if path == "/_aws/counts":
                return self._json(200, st.counts)
            if path == "/_aws/credentials":
                return self._json(200, [c.as_json() for c in st.order])
        self._send(404, "not found")

    def _control_post(self, path, body):
        st = self.server.state
        try:
            spec = json.loads(body.decode("utf-8") or "{}")
        except ValueError:
            return self._json(400, {"error": "body is not JSON"})
        with st.lock:
            try:
                if path == "/_aws/config":
                    st.configure(spec)
                elif path == "/_aws/fail":
                    if spec.get("route") not in ROUTES + ("*",):
                        raise ValueError("route must be one of %s or *" % (ROUTES,))
                    st.faults.append(dict(spec))
                elif path == "/_aws/expire":
                    now = int(time.time())
                    for c in st.order:
                        if spec.get("access_key_id") in (None, c.akid):
                            c.expires_at = min(c.expires_at, now)
                elif path == "/_aws/reset":
                    st.reset()
                else:
                    return self._send(404, "not found")
            except ValueError as e:
                return self._json(400, {"error": str(e)})
        self._json(200, {"ok": True})


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class AwsDouble:
    """The double in-process: `with AwsDouble(expiry_s=3) as d: d.url ...`."""

    def __init__(self, host="127.0.0.1", port=0, **settings):
        if not (host == "localhost" or host.startswith("127.")):
            raise ValueError("awsdouble listens on 127.0.0.0/8 only, not %r" % host)
        self.state = State(**settings)
        self.host, self.port = host, port
        self._srv = None
        self._thread = None

    def start(self):
        self._srv = _Server((self.host, self.port), Handler)
        self._srv.state = self.state
        self.port = self._srv.server_address[1]
        self._thread = threading.Thread(target=self._srv.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
            self._srv = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def counts(self):
        with self.state.lock:
            return json.loads(json.dumps(self.state.counts))

    def issued(self):
        with self.state.lock:
            return [c.as_json() for c in self.state.order]


def _write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    p = argparse.ArgumentParser(description="AWS credential endpoints double (IMDS, STS, ECS)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--expiry-s", type=float, default=3600,
                   help="lifetime of issued credentials in seconds")
    p.add_argument("--imds-mode", default="v2", choices=["v2", "v2-required", "v1"])
    p.add_argument("--role", default="skiff-role", help="instance profile role name")
    p.add_argument("--base-key", action="append", default=[], metavar="AKID:SECRET",
                   help="long-term keys STS accepts for AssumeRole; repeatable")
    p.add_argument("--web-identity-token", help="the only token AssumeRoleWithWebIdentity takes")
    p.add_argument("--ecs-path", default="/v2/credentials/skiff-test")
    p.add_argument("--ecs-auth", help="required Authorization value on the ECS path")
    p.add_argument("--sts-region", help="required signing region of AssumeRole")
    p.add_argument("--fixed", metavar="AKID:SECRET:TOKEN",
                   help="issue these credentials every time (to pair with esdouble --sigv4)")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    base = {}
    for item in args.base_key:
        akid, sep, secret = item.partition(":")
        if not sep:
            raise SystemExit("--base-key expects AKID:SECRET")
        base[akid] = secret
    fixed = tuple(args.fixed.split(":", 2)) if args.fixed else None
    if fixed is not None and len(fixed) != 3:
        raise SystemExit("--fixed expects AKID:SECRET:TOKEN")
    try:
        d = AwsDouble(host=args.host, port=args.port, expiry_s=args.expiry_s,
                      imds_mode=args.imds_mode, role=args.role, base_keys=base,
                      web_identity_token=args.web_identity_token, ecs_path=args.ecs_path,
                      ecs_auth=args.ecs_auth, sts_region=args.sts_region, fixed=fixed,
                      verbose=args.verbose)
        d.start()
    except (ValueError, OSError) as e:
        sys.stderr.write("awsdouble: %s\n" % e)
        return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if args.port_file:
        _write_port_file(args.port_file, d.port)
    sys.stderr.write("awsdouble: listening on %s\n" % d.url)
    sys.stderr.flush()
    while not done.wait(0.5):
        pass
    d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
