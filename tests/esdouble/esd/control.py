"""The control API under `/_double/` — for tests only, never used by skiff.

Why HTTP (and not only Python calls): integration tests drive the real
skiff binary against a double running as its own process; they inspect and
steer it over the same port.  Control requests bypass authentication, TLS
client checks, faults and the request log, so a test can always look.

  GET    /_double/state                      persona, port, clock, stats
  GET    /_double/docs?index=X[&raw=true]    stored documents (all, not only refreshed)
  GET    /_double/counts                     {"index": n, ...}
  GET    /_double/requests[?since=&path=&method=&limit=&bodies=true]
  GET    /_double/requests/<seq>/body[?raw=true]   exact body bytes
  DELETE /_double/requests                   clear the request log
  POST   /_double/reset                      forget everything (not the persona/auth)
  GET|POST|DELETE /_double/faults            read / replace / clear fault rules
  GET|POST|DELETE /_double/clock             {"now": ISO8601 | epoch s, "advance_s": n}
  GET    /_double/wait?index=X&count=N&timeout_ms=T   block until N docs stored
  GET    /_double/wait?requests=N&path=RE&timeout_ms=T  block until N requests logged
  POST   /_double/lifecycle/run              play one ILM/ISM pass (rollover, delete)
"""

import base64
import datetime
import re
import time

from . import ilm
from . import ism
from . import templates
from .faults import FaultSpecError
from .responses import Response


def _bad(msg, status=400):
    return Response(status, {"error": msg, "status": status})


def handle(double, req):
    seg = req.segments[1:]
    m = req.method
    try:
        if seg == ["state"] and m == "GET":
            return Response(200, double.describe())
        if seg == ["docs"] and m == "GET":
            return _docs(double, req)
        if seg == ["counts"] and m == "GET":
            return Response(200, double.counts())
        if seg == ["requests"]:
            if m == "GET":
                return _requests(double, req)
            if m == "DELETE":
                double.reqlog.clear()
                return Response(200, {"acknowledged": True})
        if len(seg) == 3 and seg[0] == "requests" and seg[2] == "body" and m == "GET":
            return _body(double, req, seg[1])
        if seg == ["reset"] and m == "POST":
            double.reset()
            return Response(200, {"acknowledged": True})
        if seg == ["faults"]:
            return _faults(double, req)
        if seg == ["clock"]:
            return _clock(double, req)
        if seg == ["wait"] and m == "GET":
            return _wait(double, req)
        if seg == ["lifecycle", "run"] and m == "POST":
            with double.store.lock:
                out = {"ilm": ilm.run(double) if double.flavor.has_ilm else [],
                       "ism": ism.run(double) if double.flavor.ism_bases else []}
            return Response(200, out)
    except (ValueError, KeyError) as e:
        return _bad("bad control request: %s" % e)
    return _bad("no control endpoint [%s %s]" % (m, req.path), 404)


def _docs(double, req):
    store = double.store
    pattern = req.params.get("index")
    raw = req.params.get("raw") in ("", "true")
    with store.lock:
        names = _select(store, pattern)
        docs = []
        for name in names:
            for d in store.indices[name].docs.values():
                entry = {"_index": name, "_id": d.id, "_version": d.version, "_seq_no": d.seq_no,
                         "_source": d.source}
                if d.routing is not None:
                    entry["_routing"] = d.routing
                if raw:
                    entry["raw"] = d.raw.decode("utf-8", "replace")
                docs.append(entry)
    return Response(200, {"count": len(docs), "docs": docs})


def _select(store, pattern):
    if not pattern:
        return list(store.indices)
    out = []
    for part in pattern.split(","):
        if part in store.data_streams:
            cands = store.data_streams[part]["indices"]
        elif part not in store.indices and store.is_alias(part):
            cands = list(store.alias_members(part))
        else:
            cands = [n for n in store.indices if templates.glob_match(part, n)]
        out.extend(c for c in cands if c not in out)
    return out


def _requests(double, req):
    since = int(req.params.get("since", 0))
    limit = int(req.params.get("limit", 0)) or None
    path_re = re.compile(req.params["path"]) if req.params.get("path") else None
    method = req.params.get("method")
    with_bodies = req.params.get("bodies") in ("", "true")
    entries = double.reqlog.entries(since, path_re, method)
    if limit:
        entries = entries[-limit:]
    out = []
    for e in entries:
        e = dict(e)
        if with_bodies:
            body = double.reqlog.body(e["seq"])
            if body is not None:
                try:
                    e["body"] = body.decode("utf-8")
                except UnicodeDecodeError:
                    e["body_base64"] = base64.b64encode(body).decode()
        out.append(e)
    return Response(200, {"requests": out, "next_seq": double.reqlog.next_seq})


def _body(double, req, seq):
    body = double.reqlog.body(int(seq), raw=req.params.get("raw") in ("", "true"))
    if body is None:
        return _bad("no stored body for request [%s]" % seq, 404)
    return Response(200, raw=body, content_type="application/octet-stream")


def _faults(double, req):
    if req.method == "GET":
        return Response(200, double.faults.describe())
    if req.method == "DELETE":
        double.faults.clear()
        return Response(200, {"acknowledged": True})
    if req.method in ("POST", "PUT"):
        spec = req.json(required=True)
        try:
            double.faults.set(spec)
        except FaultSpecError as e:
            return _bad(str(e))
        return Response(200, dict(double.faults.describe(), acknowledged=True))
    return _bad("method not allowed", 405)


def _clock(double, req):
    clock = double.store.clock
    if req.method == "DELETE":
        clock.fixed, clock.offset = None, 0.0
    elif req.method in ("POST", "PUT"):
        spec = req.json(required=True)
        if "now" in spec:
            now = spec["now"]
            if isinstance(now, (int, float)):
                clock.fixed = float(now)
            else:
                clock.fixed = datetime.datetime.fromisoformat(
                    now.replace("Z", "+00:00")).timestamp()
        if "advance_s" in spec:
            if clock.fixed is not None:
                clock.fixed += float(spec["advance_s"])
            else:
                clock.offset += float(spec["advance_s"])
        if spec.get("frozen") is False and clock.fixed is not None:
            clock.offset = clock.fixed - time.time()
            clock.fixed = None
    return Response(200, clock.describe())


def _wait(double, req):
    timeout = int(req.params.get("timeout_ms", 10000)) / 1000.0
    deadline = time.monotonic() + timeout
    if "requests" in req.params:
        want = int(req.params["requests"])
        path_re = re.compile(req.params["path"]) if req.params.get("path") else None
        ok = double.reqlog.wait_count(want, path_re, deadline)
        n = len(double.reqlog.entries(0, path_re, None))
        return Response(200 if ok else 408, {"requests": n, "timed_out": not ok})
    want = int(req.params.get("count", 1))
    store = double.store
    pattern = req.params.get("index")
    with store.lock:
        while True:
            n = sum(len(store.indices[x].docs) for x in _select(store, pattern))
            left = deadline - time.monotonic()
            if n >= want or left <= 0:
                return Response(200 if n >= want else 408, {"count": n, "timed_out": n < want})
            store.changed.wait(min(left, 0.25))
