"""The EsDouble object: persona + store + faults + HTTP server thread.

Everything a test needs in-process (start/stop, port, url, counts, docs,
faults, reset) and the glue the HTTP layer calls back into (connection
registry, authentication, listening-socket state for down=refuse).
"""

import base64
import ssl
import threading

from . import api_aliases
from . import api_cluster
from . import api_indices
from . import api_templates
from . import datastreams
from . import httpd
from . import ilm
from . import ism
from . import rollover
from . import templates
from .faults import Faults
from .flavors import Flavor
from .reqlog import RequestLog
from .responses import es_unauthorized, opensearch_unauthorized
from .router import Router
from .store import Store

_ALLOWED_HOST_PREFIX = "127."


def build_router():
    r = Router()
    api_cluster.register(r)
    api_templates.register(r)
    api_aliases.register(r)
    ilm.register(r)
    ism.register(r)
    rollover.register(r)
    ds = lambda d, q, name=None: {"GET": datastreams.api_get, "PUT": datastreams.api_put,  # noqa
                                  "DELETE": datastreams.api_delete}[q.method](d, q, name)
    r.add("GET", "/_data_stream", ds, ("expand_wildcards", "include_defaults"))
    r.add("GET,PUT,DELETE", "/_data_stream/{name}", ds, ("expand_wildcards", "include_defaults",
                                                         "timeout", "master_timeout"))
    api_indices.register(r)
    return r


class EsDouble:
    """One double: persona, store, faults, HTTP server thread."""

    def __init__(self, flavor="es8", host="127.0.0.1", port=0, tls_cert=None, tls_key=None,
                 tls_client_ca=None, data_dir=None, user=None, password=None, api_key=None,
                 aws=False, compat=False, version=None, seed=None, refresh_interval_ms=1000,
                 log_size=1000, compression=True, builtin_templates=True, faults=None,
                 max_body_bytes=None, sigv4=None, verbose=False):
        if not host.startswith(_ALLOWED_HOST_PREFIX) and host != "localhost":
            raise ValueError("esdouble listens on loopback only (127.0.0.0/8), not %r" % host)
        self.flavor = Flavor(flavor, aws=aws, compat=compat, version=version)
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self.verbose = verbose
        self.compression = compression
        # http.max_content_length defaults to 100mb; the Amazon front end
        # enforces 10 MiB on small instance types (es-api.md §12.4).
        if max_body_bytes is None:
            max_body_bytes = 10485760 if aws else 104857600
        self.max_body_bytes = max_body_bytes
        self.users = {user: password} if user is not None else {}
        self.api_keys = {}
        if api_key:
            key_id, _, key = api_key.partition(":")
            self.api_keys[key_id] = key
        self.sigv4 = sigv4
        self.ssl_context = None
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            if tls_client_ca:
                ctx.load_verify_locations(tls_client_ca)
                ctx.verify_mode = ssl.CERT_REQUIRED
            self.ssl_context = ctx
        self.store = Store(self.flavor, data_dir=data_dir, seed=seed,
                           refresh_interval_ms=refresh_interval_ms)
        self.builtin_templates = builtin_templates
        if builtin_templates and not self.store.index_templates:
            templates.install_builtins(self.store)
        self.faults = Faults(on_change=self._listen_state_changed)
        self.reqlog = RequestLog(log_size)
        self.router = build_router()
        self.stopping = threading.Event()
        self.refusing = False
        self._server = None
        self._thread = None
        self._conns = {}
        self._conn_seq = 0
        self._lock = threading.Lock()
        self._timer = None
        self._listen_lock = threading.Lock()
        self.stats = {"connections_opened": 0, "tls_handshake_failures": 0}
        self.last_tls_error = None
        self.last_sigv4_creq = None
        self._started = False
        if faults:
            self.faults.set(faults)

    # -- lifecycle -----------------------------------------------------------------
    def start(self):
        self._listen()
        self._started = True
        active, _ = self.faults.refuse_rule()
        if active:
            self._listen_state_changed()
        return self

    def _listen(self):
        self._server = httpd.Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={
            "poll_interval": 0.05}, name="esdouble-%d" % self.port, daemon=True)
        self._thread.start()

    def _unlisten(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def stop(self):
        self.stopping.set()
        if self._timer:
            self._timer.cancel()
        self._unlisten()
        self.close_connections()
        self.store.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def scheme(self):
        return "https" if self.ssl_context else "http"

    @property
    def url(self):
        return "%s://%s:%d" % (self.scheme, self.host, self.port)

    # -- connections ------------------------------------------------------------------
    def register_connection(self, handler):
        with self._lock:
            self._conn_seq += 1
            self._conns[self._conn_seq] = handler
            self.stats["connections_opened"] += 1
            return self._conn_seq

    def unregister_connection(self, conn_id):
        with self._lock:
            self._conns.pop(conn_id, None)

    def close_connections(self, only_idle=False):
        import socket
        with self._lock:
            handlers = list(self._conns.values())
        for h in handlers:
            if only_idle and h.busy:
                continue
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def note(self, stat, detail=None):
        with self._lock:
            self.stats[stat] = self.stats.get(stat, 0) + 1
            if stat == "tls_handshake_failures":
                self.last_tls_error = detail

    def _listen_state_changed(self):
        """down=refuse: close the listening socket (and idle connections);
        listen again on the same port once the rule is gone or expired."""
        with self._listen_lock:
            self._apply_listen_state()

    def _apply_listen_state(self):
        if self.stopping.is_set() or not self._started:
            return
        active, left = self.faults.refuse_rule()
        with self._lock:
            if self._timer:
                self._timer.cancel()
                self._timer = None
        if active and not self.refusing:
            self.refusing = True
            self._unlisten()
            self.close_connections(only_idle=True)
        elif not active and self.refusing:
            self.refusing = False
            self._listen()
        if active and left is not None:
            with self._lock:
                self._timer = threading.Timer(left + 0.01, self._listen_state_changed)
                self._timer.daemon = True
                self._timer.start()

    # -- authentication -----------------------------------------------------------------
    def authenticate(self, handler, wire):
        """None if the request may proceed, else the Response to send."""
        if self.sigv4 is not None:
            from . import sigv4
            resp = sigv4.verify(self, handler, wire)
            if resp is not None:
                return resp
        if not self.users and not self.api_keys:
            return None
        auth = handler.headers.get("Authorization") or ""
        scheme, _, cred = auth.partition(" ")
        user = None
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(cred.strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", None
            if user in self.users and self.users[user] == password:
                return None
        elif scheme.lower() == "apikey":
            try:
                key_id, _, key = base64.b64decode(cred.strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                key_id, key = "", None
            if key_id in self.api_keys and self.api_keys[key_id] == key:
                return None
            user = key_id
        if self.flavor.is_opensearch:
            return opensearch_unauthorized()
        resp = es_unauthorized(handler.path, user)
        resp.headers += self.flavor.root_headers()
        return resp

    # -- state for tests ------------------------------------------------------------------
    def counts(self):
        with self.store.lock:
            return {name: len(ix.docs) for name, ix in self.store.indices.items()}

    def docs(self, index=None):
        from . import control
        with self.store.lock:
            out = []
            for name in control._select(self.store, index):
                out.extend({"_index": name, "_id": d.id, "_version": d.version,
                            "_source": d.source} for d in self.store.indices[name].docs.values())
            return out

    def requests(self, path=None):
        import re
        return self.reqlog.entries(0, re.compile(path) if path else None, None)

    def set_faults(self, spec):
        self.faults.set(spec)

    def clear_faults(self):
        self.faults.clear()

    def reset(self):
        self.faults.clear()
        self.store.reset()
        if self.builtin_templates:
            templates.install_builtins(self.store)
        self.store.clock.fixed, self.store.clock.offset = None, 0.0
        self.reqlog.clear()

    def describe(self):
        return {"persona": self.flavor.describe(), "host": self.host, "port": self.port,
                "scheme": self.scheme, "auth": bool(self.users or self.api_keys),
                "sigv4": self.sigv4 is not None, "clock": self.store.clock.describe(),
                "connections_open": len(self._conns), "stats": dict(self.stats),
                "last_tls_error": self.last_tls_error, "refusing": self.refusing,
                "last_sigv4_canonical_request": self.last_sigv4_creq,
                "indices": len(self.store.indices), "docs": self.store.total_docs(),
                "faults": self.faults.describe()}


