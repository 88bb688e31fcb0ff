"""`filter_path` response filtering (es-api.md §2).

Shippers commonly ask for `?filter_path=errors,items.*.error,items.*.status`
to shrink bulk answers; when they do, the fields they did not ask for are
really absent, and a client that still reads them must break in tests the
same way it would against Elasticsearch.  Semantics implemented: comma list,
dot-separated segments, `*` wildcard inside a segment, `**` for any depth,
arrays are transparent, `-pattern` excludes, empty results become `{}`.
"""

import re

_MISSING = object()


def _glob(seg):
    if seg == "**":
        return "**"
    if "*" not in seg:
        return seg
    return re.compile("^" + ".*".join(re.escape(p) for p in seg.split("*")) + "$")


def _compile(spec):
    includes, excludes = [], []
    for raw in spec.split(","):
        raw = raw.strip()
        if not raw:
            continue
        target = includes
        if raw.startswith("-"):
            target, raw = excludes, raw[1:]
        target.append(tuple(_glob(s) for s in raw.split(".")))
    return includes, excludes


def _seg_match(seg, key):
    if isinstance(seg, str):
        return seg == key
    return bool(seg.match(key))


def _step(patterns, key):
    """Patterns that remain after descending into `key`; () means full match."""
    out = set()
    stack = list(patterns)
    while stack:
        p = stack.pop()
        if not p:
            continue
        seg = p[0]
        if seg == "**":
            out.add(p)              # ** swallows this key and may go on
            stack.append(p[1:])     # ** matches zero levels
            if len(p) == 1:
                out.add(())
        elif _seg_match(seg, key):
            out.add(p[1:])
    return out


def _include(node, patterns):
    if () in patterns:
        return node
    if isinstance(node, dict):
        result = {}
        for k, v in node.items():
            sub = _step(patterns, k)
            if sub:
                r = _include(v, sub)
                if r is not _MISSING:
                    result[k] = r
        return result if result else _MISSING
    if isinstance(node, list):
        items = [r for r in (_include(e, patterns) for e in node) if r is not _MISSING]
        return items if items else _MISSING
    return _MISSING


def _exclude(node, patterns):
    if () in patterns:
        return _MISSING
    if isinstance(node, dict):
        result = {}
        for k, v in node.items():
            sub = _step(patterns, k)
            r = _exclude(v, sub) if sub else v
            if r is not _MISSING:
                result[k] = r
        return result
    if isinstance(node, list):
        return [r for r in (_exclude(e, patterns) for e in node) if r is not _MISSING]
    return node


def apply(obj, spec):
    """Return `obj` filtered by the filter_path `spec` (a new object)."""
    includes, excludes = _compile(spec)
    if includes:
        obj = _include(obj, set(includes))
        if obj is _MISSING:
            return {}
    if excludes:
        obj = _exclude(obj, set(excludes))
        if obj is _MISSING:
            return {}
    return obj
