"""The HTTP/1.1 layer: keep-alive, bodies (Content-Length or chunked, gzip or
deflate), TLS per connection, and where each fault bites.

Order of events for one request (non-control):
  request head read -> fault decision (down: close/reset/hang answer nothing)
  -> body read -> max_body_bytes "amazon" (wire size, 413) -> status fault /
  fail_next_n -> drop_connection -> SigV4 / basic / API key authentication
  -> gzip/deflate decoding -> max_body_bytes "es" (decoded size, 413)
  -> Content-Type check -> route -> drop_after_processing -> slow_ms
  -> response (+ gzip if the client accepts it, as ES does with
  http.compression on plain HTTP).

Why hand-rolled on http.server: a test double must be able to misbehave at
the socket level (close without answering, reset, stall), which frameworks
hide; the standard library keeps it dependency-free.
"""

import gzip
import http.server
import socket
import ssl
import struct
import sys
import time
import traceback
import urllib.parse
import zlib

from . import control
from .responses import EsError, Response, es_error, fault_response
from . import filterpath

_JSON_TYPES = ("application/json", "application/x-ndjson", "application/smile",
               "application/cbor", "application/yaml")
_GO_ON = object()
_ES8_COMPAT = ("application/vnd.elasticsearch+json", "application/vnd.elasticsearch+x-ndjson")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    block_on_close = False

    def __init__(self, addr, double):
        self.double = double
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        """Runs in the connection's thread: the TLS handshake happens here so
        that a slow or failing client never blocks the accept loop."""
        ctx = self.double.ssl_context
        if ctx is not None:
            try:
                request.settimeout(10)
                request = ctx.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError) as e:
                self.double.note("tls_handshake_failures", str(e))
                return
        try:
            Handler(request, client_address, self)
        finally:
            if ctx is not None:
                try:
                    request.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):
        if self.double.verbose:
            traceback.print_exc()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "esdouble"
    sys_version = ""

    # -- connection bookkeeping -------------------------------------------------
    def setup(self):
        super().setup()
        self.double = self.server.double
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.busy = False
        self.conn_id = self.double.register_connection(self)
        self._decision = None

    def finish(self):
        try:
            super().finish()
        finally:
            self.double.unregister_connection(self.conn_id)

    def log_message(self, fmt, *args):
        if self.double.verbose:
            sys.stderr.write("esdouble: %s - %s\n" % (self.address_string(), fmt % args))

    def handle_one_request(self):
        try:
            self.busy = False
            idle = self.double.faults.idle_timeout_ms()
            self.connection.settimeout(idle / 1000.0 if idle else None)
            self.raw_requestline = self.rfile.readline(65537)
            self.connection.settimeout(None)
            self.busy = True
            if len(self.raw_requestline) > 65536:
                self.send_error(414)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            self._decision = None
            if not self.parse_request():
                return
            self._serve()
            self.wfile.flush()
            if self.double.refusing:
                self.close_connection = True
        except (socket.timeout, ConnectionError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            self.busy = False

    def _control(self):
        return self.path.startswith("/_double/") or self.path == "/_double"

    def _decide(self):
        if self._decision is None and not self._control():
            self._decision = self.double.faults.decide(self.command, self.path.split("?")[0])
        return self._decision

    def handle_expect_100(self):
        if self._control():
            return super().handle_expect_100()
        d = self._decide()
        length = self.headers.get("Content-Length")
        limit = self._max_body_limit(d)
        if limit is not None and length and length.isdigit() and int(length) > limit[0]:
            self._send(self._too_large(limit), head=False)
            self.close_connection = True
            self._log(None, 0, 0, 413, d)
            return False
        return super().handle_expect_100()

    # -- bodies -------------------------------------------------------------------
    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self._read_exact(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self._read_exact(length) if length else b""

    def _read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.rfile.read(n - len(buf))
            if not chunk:
                raise ConnectionError("eof in body")
            buf += chunk
        return bytes(buf)

    def _decode_body(self, wire):
        enc = (self.headers.get("Content-Encoding") or "").strip().lower()
        if not enc or enc == "identity" or not wire:
            return wire, None
        try:
            if enc in ("gzip", "x-gzip"):
                return gzip.decompress(wire), enc
            if enc == "deflate":
                try:
                    return zlib.decompress(wire), enc
                except zlib.error:
                    return zlib.decompress(wire, -15), enc
        except (OSError, EOFError, zlib.error) as e:
            raise EsError(es_error(400, "illegal_argument_exception",
                                   "failed to decompress request body (Content-Encoding: %s): %s"
                                   % (enc, e)))
        raise EsError(es_error(400, "illegal_argument_exception",
                               "unsupported Content-Encoding [%s]" % enc))

    # -- the request ---------------------------------------------------------------
    def _serve(self):
        t0 = time.monotonic()
        if self._control():
            self._serve_control()
            return
        d = self._decide()
        if d.down == "reset":
            self._log(None, 0, 0, None, d, t0)
            self._abort(reset=True)
            return
        if d.down == "close":
            try:
                self._read_body()  # drain, so the close is a clean FIN, not an RST
            except (ConnectionError, ValueError):
                pass
            self._log(None, 0, 0, None, d, t0)
            self._abort(reset=False)
            return
        try:
            wire = self._read_body()
        except (ConnectionError, ValueError):
            self.close_connection = True
            return
        if d.down == "hang":
            self._log(None, len(wire), len(wire), None, d, t0, wire)
            self.double.faults.wait_hang(d.hang_rule, self.double.stopping)
            self._abort(reset=False)
            return
        body, enc = wire, None
        try:
            resp = self._pre_route(d, wire)
            if resp is _GO_ON:
                body, enc = self._decode_body(wire)
                resp = self._after_decode(d, body)
            if resp is _GO_ON:
                resp = self._route(d, body)
        except EsError as e:
            resp = e.response
        self._log(resp, len(wire), len(body), None if resp is None else resp.status, d, t0,
                  body, wire if enc else None)
        if resp is None:     # dropped
            self._abort(reset=False)
            return
        if d.slow_ms:
            self.double.stopping.wait(d.slow_ms / 1000.0)
        if d.close_after:
            resp.close = True
        self._send(resp)

    def _pre_route(self, d, wire):
        """Faults and checks that answer before the body is even decoded (the
        front end: size on the wire, injected statuses, drops, authentication
        and SigV4 over the bytes as sent).  A Response, None (drop the
        connection without answering) or _GO_ON."""
        limit = self._max_body_limit(d)
        if limit is not None and limit[1] == "amazon" and len(wire) > limit[0]:
            return self._too_large(limit)
        if d.status_rule is not None:
            return self._status_fault(d.status_rule)
        if d.drop and not d.drop_after:
            return None
        return self.double.authenticate(self, wire) or _GO_ON

    def _after_decode(self, d, body):
        limit = self._max_body_limit(d)
        if limit is not None and limit[1] == "es" and len(body) > limit[0]:
            return self._too_large(limit)
        if body:
            self._check_content_type()
        return _GO_ON

    def _route(self, d, body):
        from .router import Request
        req = Request(self.command, self.path, self.headers, body, self.conn_id,
                      self.double.ssl_context is not None)
        req.decision = d
        try:
            resp = self.double.router.dispatch(self.double, req)
        except EsError as e:
            resp = e.response
        except Exception as e:  # a bug in the double: say so loudly
            traceback.print_exc()
            resp = es_error(500, "esdouble_internal_error", "%s: %s" % (type(e).__name__, e))
        if d.drop and d.drop_after:
            return None
        # ES >= 7.14 marks every response it produces (clients check it on any answer)
        resp.headers += self.double.flavor.root_headers()
        if resp.obj is not None and "filter_path" in req.params:
            resp.obj = filterpath.apply(resp.obj, req.params["filter_path"])
        resp.pretty = "pretty" in req.params and req.params["pretty"] != "false"
        return resp

    def _serve_control(self):
        from .router import Request
        try:
            body = self._read_body()
        except (ConnectionError, ValueError):
            self.close_connection = True
            return
        req = Request(self.command, self.path, self.headers, body, self.conn_id)
        try:
            resp = control.handle(self.double, req)
        except EsError as e:
            resp = e.response
        except Exception as e:
            traceback.print_exc()
            resp = Response(500, {"error": "%s: %s" % (type(e).__name__, e)})
        self._send(resp)

    # -- checks ---------------------------------------------------------------------
    def _max_body_limit(self, d):
        if d is not None and d.max_body is not None:
            return d.max_body
        if self.double.max_body_bytes is not None:
            return (self.double.max_body_bytes, "amazon" if self.double.flavor.aws else "es")
        return None

    def _too_large(self, limit):
        r = fault_response(self.double.flavor, 413, "amazon" if limit[1] == "amazon" else "es",
                           self.command, self.path, max_bytes=limit[0])
        r.close = True
        return r

    def _status_fault(self, rule):
        if rule.body is not None:
            if isinstance(rule.body, (dict, list)):
                r = Response(rule.status, rule.body)
            else:
                r = Response(rule.status, raw=str(rule.body).encode(),
                             content_type="text/plain; charset=UTF-8")
        else:
            r = fault_response(self.double.flavor, rule.status, rule.style, self.command,
                               self.path.split("?")[0] if rule.status != 401 else self.path)
        if rule.retry_after is not None:
            r.headers.append(("Retry-After", rule.retry_after))
        return r

    def _check_content_type(self):
        ctype = self.headers.get("Content-Type")
        if ctype is None:
            raise EsError(Response(406, {"error": "Content-Type header is missing", "status": 406}))
        mime = ctype.split(";")[0].strip().lower()
        if mime in _JSON_TYPES:
            return
        flavor = self.double.flavor
        if mime in _ES8_COMPAT and flavor.is_es and flavor.major >= 8 and \
                ("compatible-with=8" in ctype.replace(" ", "") or
                 "compatible-with=7" in ctype.replace(" ", "")):
            return
        raise EsError(Response(406, {"error": "Content-Type header [%s] is not supported" % ctype,
                                     "status": 406}))

    # -- output ---------------------------------------------------------------------
    def _abort(self, reset):
        """Close without answering: a FIN, or with reset=True an RST (SO_LINGER 0
        and close before socketserver's own shutdown could send a FIN)."""
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.rfile.close()
                self.wfile.close()
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, resp, head=None):
        pretty = getattr(resp, "pretty", False)
        body = resp.body_bytes(pretty)
        if head is None:
            head = self.command == "HEAD"
        headers = list(resp.headers)
        accept = (self.headers.get("Accept-Encoding") or "").lower()
        if body and "gzip" in accept and self.double.compression and \
                self.double.ssl_context is None and not head:
            body = gzip.compress(body, 6)
            headers.append(("Content-Encoding", "gzip"))
            headers.append(("Vary", "Accept-Encoding"))
        self.send_response_only(resp.status)
        if body or resp.content_type and resp.raw != b"":
            self.send_header("content-type", resp.content_type)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        if resp.close or self.close_connection_requested():
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def close_connection_requested(self):
        return (self.headers.get("Connection") or "").lower() == "close"

    def _log(self, resp, wire_len, body_len, status, d, t0=None, body=None, wire=None):
        if self._control():
            return
        path, _, query = self.path.partition("?")
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        entry = {"time": time.time(), "conn": self.conn_id, "method": self.command,
                 "path": path, "query": query, "params": params,
                 "headers": {k: v for k, v in self.headers.items()},
                 "body_bytes": wire_len, "body_decoded_bytes": body_len,
                 "content_encoding": self.headers.get("Content-Encoding"),
                 "status": status, "fault": d.label() if d else None,
                 "tls": self.double.ssl_context is not None,
                 "duration_ms": None if t0 is None else int((time.monotonic() - t0) * 1000)}
        obj = getattr(resp, "obj", None)
        if isinstance(obj, dict) and isinstance(obj.get("items"), list) and "errors" in obj:
            statuses = {}
            for it in obj["items"]:
                inner = next(iter(it.values())) if isinstance(it, dict) and it else {}
                st = str(inner.get("status"))
                statuses[st] = statuses.get(st, 0) + 1
            entry["bulk"] = {"items": len(obj["items"]), "errors": obj["errors"],
                             "statuses": statuses}
        self.double.reqlog.add(entry, body, wire)
