"""Fault injection: the failures a log shipper must live through.

A fault spec is a JSON object (or a list of them, "rules"); the first rule
that matches a request and provides a given kind of fault wins for that
kind.  Keys (all optional; unknown keys are rejected so typos in tests fail):

  scope      method ("POST" or a list), path (regex searched in the path)
  down       "close" | "reset" | "hang" | "refuse"   (no answer at all)
  status     whole-request HTTP status (429, 500, 502, 503, 504, 401, 403, 413 ...)
  style      body style: es | opensearch | amazon | amazon_token_invalid |
             amazon_token_expired | amazon_signature | circuit_breaking | html
  body       literal body to send with `status` (object -> JSON, string -> text)
  retry_after   value of a Retry-After header on the `status` answer
  fail_next_n   apply `status` to the next N matching requests only
  drop_connection      close the next N matching requests without answering
  drop_after_processing  with drop_connection: index the bulk first, then drop
  slow_ms    delay before answering
  max_body_bytes, max_body_style ("es": empty 413 on the decoded body;
             "amazon": {"Message":...} on the bytes on the wire)
  item_429_fraction, seed, item_429_max_per_doc   per-item 429 rejections
  reject_400_if   [{"field": "a.b", "value": V} | {"substring": "s"}] -> item 400
  sniff      "self" | "unreachable" | "amazon" | ["host:port", ...]
  sniff_unreachable   true (= sniff "unreachable") or "amazon"
  close_after_response   answer with Connection: close
  idle_timeout_ms      close keep-alive connections idle longer than this
                       (what a proxy or load balancer does; unscoped)
  hang_ms    with down=hang: give up after this long (default: until cleared)
  red_indices  index pattern(s) whose primary is unassigned: health red, bulk
             items 503 unavailable_shards_exception (unscoped)
  duration_ms          the rule expires after this long
  name       label copied into the request log

Why deterministic: a 429 decision is a hash of (seed, document identity,
attempt number), so a run is reproducible and a rejected document is
accepted after at most `item_429_max_per_doc` rejections — retries converge.
"""

import hashlib
import re
import threading
import time

from .responses import FAULT_STYLES

UNREACHABLE = "127.0.0.254:1"

_KEYS = {"method", "path", "down", "status", "style", "body", "retry_after", "fail_next_n",
         "drop_connection", "drop_after_processing", "slow_ms", "max_body_bytes",
         "max_body_style", "item_429_fraction", "seed", "item_429_max_per_doc", "reject_400_if",
         "sniff", "sniff_unreachable", "close_after_response", "duration_ms", "name", "hang_ms",
         "idle_timeout_ms", "red_indices"}


class FaultSpecError(ValueError):
    pass


def _int(spec, key, low=0, high=None):
    v = spec.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < low or (high is not None and v > high):
        raise FaultSpecError("fault [%s] must be an integer >= %d%s, got %r"
                             % (key, low, "" if high is None else " and <= %d" % high, v))
    return v


class Rule:
    def __init__(self, spec, now):
        if not isinstance(spec, dict):
            raise FaultSpecError("a fault rule must be a JSON object")
        unknown = sorted(set(spec) - _KEYS)
        if unknown:
            raise FaultSpecError("unknown fault key(s) %s; known: %s" % (unknown, sorted(_KEYS)))
        self.spec = dict(spec)
        self.name = spec.get("name")
        m = spec.get("method")
        self.methods = None if m is None else {x.upper() for x in ([m] if isinstance(m, str) else m)}
        try:
            self.path = re.compile(spec["path"]) if spec.get("path") else None
        except re.error as e:
            raise FaultSpecError("fault [path] is not a valid regex: %s" % e)
        self.down = spec.get("down") or None
        if self.down not in (None, "close", "reset", "hang", "refuse"):
            raise FaultSpecError("fault [down] must be close, reset, hang or refuse")
        self.status = _int(spec, "status", 100, 599)
        self.style = spec.get("style")
        if self.style is not None and self.style not in FAULT_STYLES:
            raise FaultSpecError("fault [style] must be one of %s" % (FAULT_STYLES,))
        self.body = spec.get("body")
        ra = spec.get("retry_after")
        self.retry_after = None if ra is None else str(ra)
        self.fail_next_n = _int(spec, "fail_next_n", 0)
        self.drop_connection = _int(spec, "drop_connection", 0)
        self.drop_after_processing = bool(spec.get("drop_after_processing"))
        self.slow_ms = _int(spec, "slow_ms", 0) or 0
        self.max_body_bytes = _int(spec, "max_body_bytes", 0)
        self.max_body_style = spec.get("max_body_style", "es")
        if self.max_body_style not in ("es", "amazon"):
            raise FaultSpecError("fault [max_body_style] must be es or amazon")
        frac = spec.get("item_429_fraction")
        if frac is not None and (isinstance(frac, bool) or not isinstance(frac, (int, float))
                                 or not 0 <= frac <= 1):
            raise FaultSpecError("fault [item_429_fraction] must be a number in [0, 1]")
        self.item_429_fraction = float(frac or 0)
        self.seed = spec.get("seed", 0)
        self.item_429_max_per_doc = _int(spec, "item_429_max_per_doc", 1)
        if self.item_429_max_per_doc is None:
            self.item_429_max_per_doc = 1
        self.reject = self._parse_reject(spec.get("reject_400_if"))
        self.sniff = self._parse_sniff(spec)
        self.close_after_response = bool(spec.get("close_after_response"))
        self.hang_ms = _int(spec, "hang_ms", 0)
        self.idle_timeout_ms = _int(spec, "idle_timeout_ms", 1)
        red = spec.get("red_indices")
        self.red = [red] if isinstance(red, str) else list(red or [])
        if not all(isinstance(p, str) for p in self.red):
            raise FaultSpecError("fault [red_indices] is an index pattern or a list of them")
        duration = _int(spec, "duration_ms", 0)
        self.expires = None if duration is None else now + duration / 1000.0
        if self.down == "refuse" and (spec.get("path") or self.methods):
            raise FaultSpecError("down=refuse closes the listening socket; it cannot be scoped")
        needs_status = [k for k in ("style", "body", "retry_after", "fail_next_n") if k in spec]
        if needs_status and self.status is None:
            raise FaultSpecError("fault key(s) %s need [status]" % needs_status)
        if self.drop_after_processing and not self.drop_connection:
            raise FaultSpecError("fault [drop_after_processing] needs [drop_connection]")

    @staticmethod
    def _parse_reject(value):
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out = []
        for it in items:
            if not isinstance(it, dict) or not (("field" in it) ^ ("substring" in it)):
                raise FaultSpecError("reject_400_if entries are {\"field\": F, \"value\": V} or "
                                     "{\"substring\": S}")
            extra = set(it) - {"field", "value", "substring", "type", "reason"}
            if extra:
                raise FaultSpecError("unknown reject_400_if key(s) %s" % sorted(extra))
            out.append(it)
        return out

    @staticmethod
    def _parse_sniff(spec):
        s = spec.get("sniff")
        su = spec.get("sniff_unreachable")
        if su is not None:
            if s is not None:
                raise FaultSpecError("give either sniff or sniff_unreachable, not both")
            s = "amazon" if su == "amazon" else ("unreachable" if su else None)
        if s is None:
            return None
        if isinstance(s, list):
            if not all(isinstance(x, str) for x in s) or not s:
                raise FaultSpecError("fault [sniff] list must hold publish_address strings")
            return s
        if s not in ("self", "unreachable", "amazon"):
            raise FaultSpecError("fault [sniff] must be self, unreachable, amazon or a list")
        return s

    def expired(self, now):
        return self.expires is not None and now >= self.expires

    def matches(self, method, path):
        if self.methods is not None and method not in self.methods:
            return False
        if self.path is not None and not self.path.search(path):
            return False
        return True

    def status_active(self):
        return self.status is not None and (self.fail_next_n is None or self.fail_next_n > 0)

    def describe(self):
        d = dict(self.spec)
        if self.fail_next_n is not None:
            d["fail_next_n_remaining"] = self.fail_next_n
        if self.drop_connection is not None:
            d["drop_connection_remaining"] = self.drop_connection
        if self.expires is not None:
            d["expires_in_ms"] = max(0, int((self.expires - time.monotonic()) * 1000))
        return d


class Decision:
    """What happens to one request; filled by Faults.decide()."""

    def __init__(self):
        self.down = None
        self.hang_rule = None
        self.status_rule = None
        self.drop = False
        self.drop_after = False
        self.slow_ms = 0
        self.max_body = None         # (bytes, style)
        self.close_after = False
        self.item_rules = []
        self.labels = []

    def label(self):
        return ",".join(self.labels) or None


class Faults:
    def __init__(self, on_change=None):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.rules = []
        self.attempts = {}
        self.stats = {}
        self.on_change = on_change

    def set(self, spec):
        """Replace all rules with `spec` (object or list); raises FaultSpecError."""
        specs = spec if isinstance(spec, list) else [spec]
        now = time.monotonic()
        rules = [Rule(s, now) for s in specs if s != {}]
        with self.lock:
            self.rules = rules
            self.attempts = {}
            self.cond.notify_all()
        if self.on_change:
            self.on_change()

    def clear(self):
        self.set([])

    def describe(self):
        with self.lock:
            self._expire()
            return {"rules": [r.describe() for r in self.rules], "stats": dict(self.stats)}

    def _expire(self):
        now = time.monotonic()
        if any(r.expired(now) for r in self.rules):
            self.rules = [r for r in self.rules if not r.expired(now)]
            self.cond.notify_all()
            return True
        return False

    def _count(self, key, n=1):
        self.stats[key] = self.stats.get(key, 0) + n

    def refuse_rule(self):
        """(active, seconds left or None) for a down=refuse rule."""
        with self.lock:
            self._expire()
            for r in self.rules:
                if r.down == "refuse":
                    left = None if r.expires is None else max(0.0, r.expires - time.monotonic())
                    return True, left
        return False, None

    def decide(self, method, path):
        d = Decision()
        with self.lock:
            if self._expire() and self.on_change:
                threading.Thread(target=self.on_change, daemon=True).start()
            for r in self.rules:
                if not r.matches(method, path):
                    continue
                if r.down in ("close", "reset", "hang") and d.down is None:
                    d.down = r.down
                    d.hang_rule = r
                    d.labels.append("down:" + r.down)
                if r.status_active() and d.status_rule is None:
                    d.status_rule = r
                    if r.fail_next_n is not None:
                        r.fail_next_n -= 1
                    d.labels.append("status:%d" % r.status)
                if r.drop_connection and not d.drop:
                    r.drop_connection -= 1
                    d.drop = True
                    d.drop_after = r.drop_after_processing
                    d.labels.append("drop_after" if d.drop_after else "drop")
                if r.slow_ms and not d.slow_ms:
                    d.slow_ms = r.slow_ms
                    d.labels.append("slow:%d" % r.slow_ms)
                if r.max_body_bytes is not None and d.max_body is None:
                    d.max_body = (r.max_body_bytes, r.max_body_style)
                if r.close_after_response:
                    d.close_after = True
                if r.item_429_fraction or r.reject:
                    d.item_rules.append(r)
                if r.name:
                    d.labels.append("rule:" + r.name)
            for lab in d.labels:
                if not lab.startswith("rule:"):
                    self._count(lab.split(":")[0])
        return d

    def wait_hang(self, rule, stop_event):
        """Block while `rule` is still in force (down=hang)."""
        deadline = None if rule.hang_ms is None else time.monotonic() + rule.hang_ms / 1000.0
        with self.lock:
            while rule in self.rules and not stop_event.is_set():
                self._expire()
                left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                if left <= 0:
                    return
                self.cond.wait(left)

    def idle_timeout_ms(self):
        """Close keep-alive connections idle this long (like a proxy or LB)."""
        with self.lock:
            for r in self.rules:
                if r.idle_timeout_ms and not r.expired(time.monotonic()):
                    return r.idle_timeout_ms
        return None

    def is_red(self, index):
        """Whether `index` matches a red_indices pattern (primary unassigned)."""
        from . import templates
        with self.lock:
            now = time.monotonic()
            return any(templates.glob_match(p, index) for r in self.rules
                       if not r.expired(now) for p in r.red)

    def sniff_mode(self):
        with self.lock:
            self._expire()
            for r in self.rules:
                if r.sniff is not None:
                    return r.sniff
        return "self"

    # -- per-item faults (bulk) ------------------------------------------------
    def item_fault(self, rules, index, doc_id, raw, source):
        """None, ("400", entry) or ("429", None) for one bulk item."""
        if not rules:
            return None
        for r in rules:
            for entry in r.reject:
                if _reject_matches(entry, raw, source):
                    with self.lock:
                        self._count("item_400")
                    return ("400", entry)
        for r in rules:
            if not r.item_429_fraction:
                continue
            identity = "%s\0%s" % (index, doc_id if doc_id is not None
                                   else hashlib.sha1(raw or b"").hexdigest())
            with self.lock:
                attempt = self.attempts.get(identity, 0)
                self.attempts[identity] = attempt + 1
                if attempt >= r.item_429_max_per_doc:
                    continue
                h = hashlib.sha256(("%s:%s:%d" % (r.seed, identity, attempt)).encode()).digest()
                if int.from_bytes(h[:8], "big") / 2.0 ** 64 < r.item_429_fraction:
                    self._count("item_429")
                    return ("429", None)
        return None


def _reject_matches(entry, raw, source):
    if "substring" in entry:
        return entry["substring"].encode("utf-8") in (raw or b"")
    node = source
    for part in entry["field"].split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return "value" not in entry or node == entry["value"]
