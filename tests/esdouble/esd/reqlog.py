"""The request log: what skiff actually sent, for assertions.

Keeps the last `size` entries (method, path, query, headers, sizes, status,
fault applied, connection id — so keep-alive reuse can be asserted — and a
bulk summary), plus the request bodies of recent entries up to a total byte
budget, so tests can compare exact bytes.  Control requests are not logged.
"""

import collections
import threading


class RequestLog:
    def __init__(self, size=1000, body_budget=64 << 20):
        self.size = size
        self.body_budget = body_budget
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self._clear()

    def _clear(self):
        self._entries = collections.deque(maxlen=self.size)
        self._bodies = collections.OrderedDict()  # seq -> (decoded, wire or None)
        self._body_bytes = 0
        self.next_seq = 1

    def clear(self):
        with self.lock:
            self._clear()
            self.cond.notify_all()

    def add(self, entry, body=None, wire=None):
        with self.lock:
            entry["seq"] = self.next_seq
            self.next_seq += 1
            self._entries.append(entry)
            if body is not None:
                wire = wire if wire is not None and wire is not body else None
                self._bodies[entry["seq"]] = (body, wire)
                self._body_bytes += len(body) + (len(wire) if wire else 0)
                while self._body_bytes > self.body_budget and self._bodies:
                    _, (b, w) = self._bodies.popitem(last=False)
                    self._body_bytes -= len(b) + (len(w) if w else 0)
            self.cond.notify_all()
            return entry["seq"]

    def entries(self, since=0, path_re=None, method=None):
        with self.lock:
            return [dict(e) for e in self._entries
                    if e["seq"] > since and (path_re is None or path_re.search(e["path"]))
                    and (method is None or e["method"] == method)]

    def body(self, seq, raw=False):
        with self.lock:
            pair = self._bodies.get(seq)
        if pair is None:
            return None
        return pair[1] if raw and pair[1] is not None else pair[0]

    def wait_count(self, want, path_re, deadline):
        import time
        with self.lock:
            while True:
                n = sum(1 for e in self._entries if path_re is None or path_re.search(e["path"]))
                left = deadline - time.monotonic()
                if n >= want:
                    return True
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.25))
