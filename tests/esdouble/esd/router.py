"""Request routing: path patterns, methods, query-parameter checks.

Why a table: the REST surface grows (ILM, ISM, data streams...) and differs
per persona; one table with per-route allowed parameters and availability
keeps that readable.  Like Elasticsearch, the double answers an unknown path
with 400 "no handler found", a known path with the wrong method with 405,
and an unknown query parameter with 400 "contains unrecognized parameter"
— which catches typos in a client's URLs (`?refesh=true`).
"""

import difflib
import urllib.parse

from . import jsonutil
from .responses import EsError, es_error, method_not_allowed, no_handler

GLOBAL_PARAMS = {"pretty", "human", "error_trace", "filter_path"}


class Request:
    def __init__(self, method, uri, headers, body, conn_id=0, tls=False):
        self.method = method
        self.uri = uri
        path, _, query = uri.partition("?")
        self.path = path
        self.query = query
        self.segments = [urllib.parse.unquote(s) for s in path.split("/")[1:] if s != ""]
        self.params = {}
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
            self.params[k] = v
        self.headers = headers
        self.body = body
        self.conn_id = conn_id
        self.tls = tls
        self.decision = None
        self.user = None

    def json(self, required=False):
        """The body as a strict JSON object (None when empty and not required)."""
        if not self.body or not self.body.strip():
            if required:
                raise EsError(es_error(400, "parse_exception", "request body is required"))
            return None
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise EsError(es_error(400, "json_parse_exception", jsonutil.utf8_error(self.body, e)))
        try:
            return jsonutil.loads(text)
        except jsonutil.JsonError as e:
            raise EsError(es_error(400, "x_content_parse_exception", e.es_reason(),
                                   caused_by={"type": "json_parse_exception", "reason": e.msg}))

    def bool_param(self, name, default=False):
        if name not in self.params:
            return default
        v = self.params[name]
        if v in ("", "true"):
            return True
        if v == "false":
            return False
        raise EsError(es_error(400, "illegal_argument_exception",
                               "Failed to parse value [%s] as only [true] or [false] are allowed."
                               % v))


class Route:
    def __init__(self, methods, pattern, handler, params=(), when=None):
        self.methods = set(methods.split(",")) if isinstance(methods, str) else set(methods)
        self.parts = [p for p in pattern.split("/") if p]
        self.handler = handler
        self.params = None if params is None else set(params) | GLOBAL_PARAMS
        self.when = when
        self.specificity = sum(1 for p in self.parts if not p.startswith("{"))

    def match(self, segments):
        if len(segments) != len(self.parts):
            return None
        out = {}
        for part, seg in zip(self.parts, segments):
            if part.startswith("{"):
                name = part[1:-1]
                if name == "index" and seg.startswith("_") and seg != "_all":
                    return None
                out[name] = seg
            elif part != seg:
                return None
        return out


class Router:
    def __init__(self):
        self.routes = []

    def add(self, methods, pattern, handler, params=(), when=None):
        self.routes.append(Route(methods, pattern, handler, params, when))

    def dispatch(self, double, req):
        candidates = []
        for r in self.routes:
            if r.when is not None and not r.when(double.flavor):
                continue
            vars_ = r.match(req.segments)
            if vars_ is not None:
                candidates.append((r, vars_))
        if not candidates:
            return no_handler(req.method, req.uri)
        candidates.sort(key=lambda c: -c[0].specificity)
        method = req.method
        chosen = next(((r, v) for r, v in candidates if method in r.methods), None)
        if chosen is None and method == "HEAD":
            # like ES, HEAD on a GET endpoint answers the GET headers without a body
            chosen = next(((r, v) for r, v in candidates if "GET" in r.methods), None)
        if chosen is None:
            best = candidates[0][0].specificity
            allowed = set()
            for r, _ in candidates:
                if r.specificity == best:
                    allowed |= r.methods
            return method_not_allowed(method, req.uri, allowed)
        route, vars_ = chosen
        _check_params(route, req)
        return route.handler(double, req, **vars_)


def _check_params(route, req):
    if route.params is None:
        return
    unknown = [k for k in req.params if k not in route.params]
    if not unknown:
        return
    shown = []
    for k in unknown:
        close = difflib.get_close_matches(k, sorted(route.params), n=1, cutoff=0.7)
        shown.append("[%s]" % k + (" -> did you mean [%s]?" % close[0] if close else ""))
    raise EsError(es_error(400, "illegal_argument_exception",
                           "request [%s] contains unrecognized parameter%s: %s"
                           % (req.path, "s" if len(unknown) > 1 else "", ", ".join(shown))))

