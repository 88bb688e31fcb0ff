"""A small query evaluator for `_search` and `_count` (es-api.md §5).

Only what migration checks and tests need: match_all, term/terms, match
(exact or token containment), ids, exists, range, bool (must/filter/should/
must_not), and `q=field:value` URI queries.  Unknown query types fail with
Elasticsearch's parsing_exception rather than silently matching everything.
"""

from .responses import EsError, es_error


def _get(src, path):
    node = src
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, dict) and path in node:
            return node[path]
        else:
            return None
    return node


def _values(v):
    return v if isinstance(v, list) else [v]


def _unknown(name):
    return EsError(es_error(400, "parsing_exception", "unknown query [%s]" % name, line=1, col=1))


def _one_field(name, body):
    if not isinstance(body, dict) or len(body) != 1:
        raise EsError(es_error(400, "parsing_exception",
                               "[%s] query doesn't support multiple fields, found [%s]"
                               % (name, ", ".join(body) if isinstance(body, dict) else body),
                               line=1, col=1))
    field, spec = next(iter(body.items()))
    return field, spec


def _eq(a, b):
    if isinstance(a, (int, float)) and not isinstance(a, bool) and isinstance(b, str):
        try:
            return float(b) == a
        except ValueError:
            return False
    return a == b or str(a) == str(b)


def compile_query(q):
    """Return a predicate over _source dicts (plus `_id` via the doc)."""
    if q is None:
        return lambda doc: True
    if not isinstance(q, dict) or len(q) != 1:
        raise EsError(es_error(400, "parsing_exception",
                               "[_na] query malformed, must start with start_object", line=1, col=1))
    kind, body = next(iter(q.items()))
    if kind == "match_all":
        return lambda doc: True
    if kind == "match_none":
        return lambda doc: False
    if kind in ("term", "match", "match_phrase"):
        field, spec = _one_field(kind, body)
        value = spec.get("query", spec.get("value")) if isinstance(spec, dict) else spec
        if kind == "term":
            return lambda doc: any(_eq(v, value) for v in _values(_get(doc.source, field)))

        def match(doc):
            for v in _values(_get(doc.source, field)):
                if _eq(v, value) or (isinstance(v, str) and str(value).lower() in v.lower()):
                    return True
            return False
        return match
    if kind == "terms":
        field, values = next(((k, v) for k, v in body.items() if k != "boost"), (None, []))
        return lambda doc: any(_eq(v, w) for v in _values(_get(doc.source, field)) for w in values)
    if kind == "ids":
        ids = set(body.get("values", []))
        return lambda doc: doc.id in ids
    if kind == "exists":
        field = body.get("field")
        return lambda doc: _get(doc.source, field) is not None
    if kind == "range":
        field, spec = _one_field(kind, body)

        def rng(doc):
            v = _get(doc.source, field)
            if v is None:
                return False
            for op, bound in spec.items():
                try:
                    a, b = (float(v), float(bound)) if not isinstance(v, str) else (v, str(bound))
                except (TypeError, ValueError):
                    return False
                if op == "gt" and not a > b or op == "gte" and not a >= b or \
                        op == "lt" and not a < b or op == "lte" and not a <= b:
                    return False
            return True
        return rng
    if kind == "bool":
        must = [compile_query(x) for k in ("must", "filter") for x in _values(body.get(k, []))]
        should = [compile_query(x) for x in _values(body.get("should", []))]
        must_not = [compile_query(x) for x in _values(body.get("must_not", []))]
        minimum = int(body.get("minimum_should_match", 1 if should and not must else 0))

        def boolean(doc):
            if not all(p(doc) for p in must) or any(p(doc) for p in must_not):
                return False
            return sum(1 for p in should if p(doc)) >= minimum
        return boolean
    raise _unknown(kind)


def from_uri(q):
    """`q=field:value` (or a bare value matched against any field)."""
    if q is None:
        return None
    if ":" in q:
        field, value = q.split(":", 1)
        if value == "*":
            return {"exists": {"field": field}}
        return {"match": {field: value.strip('"')}}
    return None if q in ("*", "*:*") else {"_any": q}


def compile_any(q):
    if isinstance(q, dict) and "_any" in q:
        needle = q["_any"]
        return lambda doc: needle in (doc.raw or b"").decode("utf-8", "replace")
    return compile_query(q)
