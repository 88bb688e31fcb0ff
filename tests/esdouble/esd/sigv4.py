"""AWS SigV4 verification (es-api.md §12.2, §12.5) — the Amazon front end.

Why a verifier and not just "accept any Authorization": skiff signs its own
requests (es_sigv4.c), and the mistakes that matter are subtle — signing the
decoded instead of the compressed body, single- instead of double-encoding a
date-math path, signing a Host the proxy rewrites, a stale clock.  The double
rebuilds the canonical request from the SignedHeaders list and answers with
the exact Amazon error bodies (note `Message` vs `message`).

Configuration (EsDouble(sigv4=...)): {"access_key", "secret", "region",
"service" ("es" or "aoss"), "token" (required X-Amz-Security-Token or None)}.
`sign()` is the reference signer used by the tests.
"""

import datetime
import hashlib
import hmac
import urllib.parse

from .responses import amazon, aws_action

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_S = 300


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
    """Non-S3 services: normalise, then URI-encode each segment of the path
    *as sent* — so `%3C` in the request becomes `%253C` here."""
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
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((_quote(urllib.parse.unquote(k)), _quote(urllib.parse.unquote(v))))
    return "&".join("%s=%s" % kv for kv in sorted(pairs))


def _header_value(values):
    return ",".join(" ".join(v.split()) for v in values)


def canonical_request(method, path, query, headers, signed, payload_hash):
    """`headers`: list of (name, value); `signed`: sorted lower-case names."""
    lines = [method, canonical_uri(path), canonical_query(query)]
    for name in signed:
        values = [v for k, v in headers if k.lower() == name]
        lines.append("%s:%s" % (name, _header_value(values)))
    return "\n".join(lines + ["", ";".join(signed), payload_hash])


def string_to_sign(amz_date, scope, creq):
    return "\n".join([ALGORITHM, amz_date, scope,
                      hashlib.sha256(creq.encode("utf-8")).hexdigest()])


def sign(method, uri, headers, body, access_key, secret, region, service, amz_date,
         token=None, sign_payload_header=False):
    """Return the headers to add (X-Amz-Date, Authorization, ...) for a request.

    `headers` must contain Host; every header given is signed."""
    path, _, query = uri.partition("?")
    extra = [("X-Amz-Date", amz_date)]
    payload_hash = hashlib.sha256(body or b"").hexdigest()
    if sign_payload_header:
        extra.append(("X-Amz-Content-Sha256", payload_hash))
    if token:
        extra.append(("X-Amz-Security-Token", token))
    all_headers = list(headers) + extra
    signed = sorted({k.lower() for k, _ in all_headers})
    creq = canonical_request(method, path, query, all_headers, signed, payload_hash)
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = string_to_sign(amz_date, scope, creq)
    sig = hmac.new(signing_key(secret, amz_date[:8], region, service), sts.encode("utf-8"),
                   hashlib.sha256).hexdigest()
    extra.append(("Authorization", "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                  % (ALGORITHM, access_key, scope, ";".join(signed), sig)))
    return extra


def _parse_authorization(value):
    rest = value[len(ALGORITHM):].strip()
    fields = {}
    for part in rest.split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    return fields


def _msg(text):
    return amazon(403, text, "message")


def _fmt(t):
    return t.strftime("%Y%m%dT%H%M%SZ")


def verify(double, handler, wire):
    """None when the signature is valid, else the Amazon 403 Response."""
    cfg = double.sigv4
    h = handler.headers
    auth = h.get("Authorization")
    if not auth:
        return amazon(403, "User: anonymous is not authorized to perform: %s"
                      % aws_action(handler.command))
    if not auth.startswith(ALGORITHM + " "):
        if double.users and auth.lower().startswith("basic "):
            return None  # fine-grained access control: internal users may use Basic
        return _msg("Authorization header requires 'Credential' parameter. Authorization header "
                    "requires 'Signature' parameter. Authorization header requires "
                    "'SignedHeaders' parameter. Authorization header requires existence of either "
                    "a 'X-Amz-Date' or a 'Date' header. Authorization=%s" % auth.split(" ")[0])
    f = _parse_authorization(auth)
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not f.get(k)]
    if missing:
        return _msg(" ".join("Authorization header requires '%s' parameter." % k for k in missing))
    cred = f["Credential"].split("/")
    if len(cred) != 5 or cred[4] != "aws4_request":
        return _msg("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. "
                    % (cred[-1] if cred else ""))
    akid, date, region, service = cred[:4]
    if akid != cfg["access_key"]:
        return _msg("The security token included in the request is invalid.")
    if service != cfg["service"]:
        return _msg("Credential should be scoped to correct service: '%s'. " % cfg["service"])
    if region != cfg["region"]:
        return _msg("Credential should be scoped to a valid region. ")
    amz_date = h.get("X-Amz-Date")
    if not amz_date:
        return _msg("Authorization header requires existence of either a 'X-Amz-Date' or a "
                    "'Date' header.")
    try:
        t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        return _msg("Date must be in ISO-8601 'basic format'. Got '%s'." % amz_date)
    if date != amz_date[:8]:
        return _msg("Credential should be scoped to a valid date: '%s'." % amz_date[:8])
    now = double.store.clock.now().replace(microsecond=0)
    skew = (now - t).total_seconds()
    if skew > MAX_SKEW_S:
        return _msg("Signature expired: %s is now earlier than %s (%s - 5 min.)"
                    % (amz_date, _fmt(now - datetime.timedelta(seconds=MAX_SKEW_S)), _fmt(now)))
    if skew < -MAX_SKEW_S:
        return _msg("Signature not yet current: %s is still later than %s (%s + 5 min.)"
                    % (amz_date, _fmt(now + datetime.timedelta(seconds=MAX_SKEW_S)), _fmt(now)))
    signed = f["SignedHeaders"].split(";")
    if "host" not in signed:
        return _msg("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    token = h.get("X-Amz-Security-Token")
    if cfg.get("token") and token != cfg["token"] or token and not cfg.get("token"):
        return _msg("The security token included in the request is invalid.")
    body_hash = hashlib.sha256(wire).hexdigest()
    claimed = h.get("X-Amz-Content-Sha256")
    if cfg["service"] == "aoss" and not claimed:
        return _msg("Missing required header for this request: x-amz-content-sha256")
    if claimed and claimed != body_hash and claimed != "UNSIGNED-PAYLOAD":
        return _msg("The provided 'x-amz-content-sha256' header does not match what was "
                    "computed.")
    payload_hash = claimed or body_hash
    path, _, query = handler.path.partition("?")
    creq = canonical_request(handler.command, path, query, list(h.items()), signed, payload_hash)
    sts = string_to_sign(amz_date, "/".join(cred[1:]), creq)
    want = hmac.new(signing_key(cfg["secret"], date, region, service), sts.encode("utf-8"),
                    hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, f["Signature"]):
        double.last_sigv4_creq = creq
        return _msg("The request signature we calculated does not match the signature you "
                    "provided. Check your AWS Secret Access Key and signing method. Consult the "
                    "service documentation for details.")
    return None
