"""`_bulk`: strict NDJSON parsing and per-item execution (es-api.md §3).

Why so strict: skiff writes bulk bodies byte by byte from msgpack, without a
JSON library in between.  Every mistake such a writer can make — a missing
final newline, a stray key in an action line, `_type` on a cluster that no
longer accepts it, a broken escape, invalid UTF-8, a duplicate key — must
come back as the exact error Elasticsearch gives, in the same place
(whole-request 400 vs. a per-item error), so that skiff's error handling is
tested against reality.

Parsing follows Elasticsearch's BulkRequestParser line by line (so the line
numbers in errors match, an earlier error wins over a later one, and an
action whose source line is missing at the very end is silently dropped, as
ES does).  Deliberately stricter than ES 7/8: an action object with more than
one key is rejected (ES only logs a deprecation warning and ignores extras).
"""

import time

from . import datastreams
from . import indices
from . import jsonutil
from . import names
from .responses import EsError, Response, error_obj, es_error, index_not_found, rejected_type, \
    write_queue_rejection

ACTIONS = ("create", "delete", "index", "update")

_META = {"_index", "_id", "routing", "op_type", "version", "version_type", "if_seq_no",
         "if_primary_term", "retry_on_conflict", "pipeline", "require_alias", "_source",
         "dynamic_templates", "require_data_stream", "list_executed_pipelines"}

_UPDATE_KEYS = {"doc", "doc_as_upsert", "upsert", "script", "scripted_upsert", "detect_noop",
                "_source", "lang", "params"}

MAX_ID_BYTES = 512


class Action:
    __slots__ = ("op", "meta", "raw", "line", "update", "index", "id", "type")

    def __init__(self, op, meta, line):
        self.op = op
        self.meta = meta
        self.line = line
        self.raw = None
        self.update = None
        self.index = meta.get("_index")
        self.id = meta.get("_id")
        self.type = meta.get("_type")


def _illegal(reason):
    return EsError(es_error(400, "illegal_argument_exception", reason))


def _text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return None if v is None else str(v)


def _decode(raw, line):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        msg = jsonutil.utf8_error(raw, e)
        raise EsError(es_error(400, "x_content_parse_exception", "[%d:%d] %s" % (line, e.start + 1, msg),
                               caused_by={"type": "json_parse_exception", "reason": msg}))


def _parse_action(text, line, flavor):
    try:
        obj = jsonutil.loads(text)
    except jsonutil.JsonError as e:
        e.line = line
        raise EsError(es_error(400, "x_content_parse_exception", e.es_reason(),
                               caused_by={"type": "json_parse_exception", "reason": e.msg}))
    malformed = "Malformed action/metadata line [%d], " % line
    if not isinstance(obj, dict):
        raise _illegal(malformed + "expected START_OBJECT but found [%s]" % jsonutil.token_name(obj))
    if not obj:
        raise _illegal(malformed + "expected FIELD_NAME but found [END_OBJECT]")
    op = next(iter(obj))
    if op not in ACTIONS:
        raise _illegal(malformed + "expected field [create], [delete], [index] or [update] but "
                                   "found [%s]" % op)
    meta = obj[op]
    if meta is not None and not isinstance(meta, dict):
        raise _illegal(malformed + "expected START_OBJECT or END_OBJECT but found [%s]"
                       % jsonutil.token_name(meta))
    if len(obj) > 1:
        raise _illegal(malformed + "expected END_OBJECT but found [FIELD_NAME]")
    out = {}
    for k, v in (meta or {}).items():
        if isinstance(v, list):
            raise _illegal(malformed + "expected a simple value for field [%s] but found "
                                       "[START_ARRAY]" % k)
        if isinstance(v, dict) and k not in ("dynamic_templates", "_source"):
            raise _illegal(malformed + "expected a simple value for field [%s] but found "
                                       "[START_OBJECT]" % k)
        if k == "_type" and flavor.accepts_type:
            out[k] = _text(v)
            continue
        if k not in _META or (k == "require_data_stream" and not
                              (flavor.is_es and flavor.version >= (8, 13, 0))):
            raise _illegal("Action/metadata line [%d] contains an unknown parameter [%s]" % (line, k))
        if v is None:
            continue
        out[k] = v if isinstance(v, dict) else _text(v)
    if op == "index" and out.get("op_type") == "create":
        op = "create"
    return Action(op, out, line)


def _parse_update(action, text):
    try:
        body = jsonutil.loads(text)
    except jsonutil.JsonError as e:
        e.line = action.line
        raise EsError(es_error(400, "x_content_parse_exception", e.es_reason(),
                               caused_by={"type": "json_parse_exception", "reason": e.msg}))
    if not isinstance(body, dict):
        raise EsError(es_error(400, "x_content_parse_exception",
                               "[%d:1] [UpdateRequest] Expected START_OBJECT but was: %s"
                               % (action.line, jsonutil.token_name(body))))
    for k in body:
        if k not in _UPDATE_KEYS:
            raise EsError(es_error(400, "x_content_parse_exception",
                                   "[%d:2] [UpdateRequest] unknown field [%s]" % (action.line, k)))
    action.update = body


def newline_error():
    return _illegal("The bulk request must be terminated by a newline [\\n]")


def parse(body, flavor):
    """Split an NDJSON bulk body into Actions; raises EsError for whole-request errors."""
    actions = []
    pos, line, n = 0, 0, len(body)
    while True:
        nl = body.find(b"\n", pos)
        if nl < 0:
            if pos != n:
                raise newline_error()
            break
        line += 1
        raw = body[pos:nl]
        pos = nl + 1
        text = _decode(raw, line)
        if text.strip() == "":
            continue
        action = _parse_action(text, line, flavor)
        if action.op != "delete":
            nl = body.find(b"\n", pos)
            if nl < 0:
                if pos != n:
                    raise newline_error()
                break  # ES drops an action whose source line is missing at the end
            line += 1
            action.raw = body[pos:nl]
            pos = nl + 1
            src_text = _decode(action.raw, line)
            if action.op == "update":
                _parse_update(action, src_text)
        actions.append(action)
    return actions


def validate(actions, url_index):
    """ES BulkRequest.validate(): collected errors fail the whole request."""
    errors = []
    if not actions:
        errors.append("no requests added")
    for a in actions:
        if a.index is None and url_index is None:
            errors.append("index is missing")
        if a.op in ("update", "delete"):
            if not a.id:
                errors.append("id is missing")
        elif a.id is not None and a.id == "":
            errors.append("if _id is specified it must not be empty")
        if a.id and len(a.id.encode("utf-8")) > MAX_ID_BYTES:
            errors.append("id [%s] is too long, must be no longer than 512 bytes but was: %d"
                          % (a.id, len(a.id.encode("utf-8"))))
        if ("if_seq_no" in a.meta) != ("if_primary_term" in a.meta):
            errors.append("ifSeqNo is set, but primary term is [0]" if "if_seq_no" in a.meta
                          else "ifPrimaryTerm is set, but seqNo is not")
    if errors:
        reason = "Validation Failed: " + "".join("%d: %s;" % (i + 1, e) for i, e in enumerate(errors))
        raise EsError(es_error(400, "action_request_validation_exception", reason))


# ---------------------------------------------------------------------------
# Execution

class ItemError(Exception):
    def __init__(self, status, error):
        super().__init__(status)
        self.status = status
        self.error = error


def _from_es_error(err):
    body = err.response.obj["error"]
    e = {k: v for k, v in body.items() if k != "root_cause"}
    return ItemError(err.response.status, e)


class BulkContext:
    def __init__(self, double, params, decision):
        self.double = double
        self.store = double.store
        self.flavor = double.flavor
        self.params = params
        self.decision = decision
        self.touched = set()
        self.refresh = params.get("refresh")
        self.require_alias = params.get("require_alias") == "true"
        self.pipeline = params.get("pipeline")
        self.url_type = None


def execute(double, actions, url_index, params, decision, url_type=None):
    """Run the actions against the store; returns the bulk Response."""
    started = time.monotonic()
    ctx = BulkContext(double, params, decision)
    ctx.url_type = url_type
    items = []
    with ctx.store.lock:
        for a in actions:
            items.append({a.op: _execute_one(ctx, a, url_index)})
        if ctx.refresh in ("true", "", "wait_for"):
            for name in ctx.touched:
                if name in ctx.store.indices:
                    ctx.store.indices[name].refresh()
        ctx.store.flush()  # with --data-dir: on disk before the answer goes out
    errors = any("error" in next(iter(it.values())) for it in items)
    took = int((time.monotonic() - started) * 1000)
    headers = []
    if any(a.type for a in actions) or url_type:
        headers.append(("Warning", ctx.flavor.warning(
            "[types removal] Specifying types in bulk requests is deprecated.")))
    return Response(200, {"took": took, "errors": errors, "items": items}, headers=headers)


def _head(ctx, index, a, doc_id):
    item = {"_index": index}
    if ctx.flavor.item_has_type:
        item["_type"] = a.type or ctx.url_type or "_doc"
    item["_id"] = doc_id
    return item


def _execute_one(ctx, a, url_index):
    target = a.index if a.index is not None else url_index
    doc_id = a.id
    index_name = target
    try:
        index_name = indices.resolve_name(ctx.store, target)
        ix = _target_index(ctx, a, index_name, target)
        index_name = ix.name
        ctx.touched.add(ix.name)
        if doc_id is None and a.op in ("index", "create"):
            doc_id = ctx.store.new_id()
        _check_writable(ctx, ix, a)
        return _apply(ctx, a, ix, doc_id)
    except EsError as e:
        err = _from_es_error(e)
    except ItemError as e:
        err = e
    item = _head(ctx, index_name, a, doc_id)
    item["status"] = err.status
    item["error"] = err.error
    return item


def _target_index(ctx, a, name, raw):
    """Concrete Index for a write to `name` (`raw` before date-math resolution),
    auto-creating when allowed."""
    store = ctx.store
    require_alias = a.meta.get("require_alias", "true" if ctx.require_alias else "false") == "true"
    if require_alias and not store.is_alias(name) and a.op != "delete":
        raise ItemError(404, error_obj(
            "index_not_found_exception",
            "no such index [%s] and [require_alias] request flag is [true] and [%s] is not an alias"
            % (name, name), index_uuid="_na_", index=name))
    if name in store.indices:
        return store.indices[name]  # also a data stream's backing index, by name
    if store.is_alias(name):
        try:
            return store.indices[store.write_index_of_alias(name)]
        except ValueError as e:
            raise ItemError(400, error_obj("illegal_argument_exception", str(e)))
    if name in store.data_streams or datastreams.template_for(store, name):
        if a.op != "create":
            raise ItemError(400, error_obj(
                "illegal_argument_exception",
                "only write ops with an op_type of create are allowed in data streams"))
        if name not in store.data_streams:
            _check_auto_create(ctx, name)
            datastreams.create(store, name)
        return store.indices[store.data_streams[name]["indices"][-1]]
    if a.op == "delete":
        raise EsError(index_not_found(name))
    _check_auto_create(ctx, name)
    return indices.create_index(store, name, provided_name=raw if names.is_date_math(raw)
                                else None)


def _check_auto_create(ctx, name):
    setting = ctx.store.cluster_settings["transient"].get(
        "action.auto_create_index", ctx.store.cluster_settings["persistent"].get(
            "action.auto_create_index", "true"))
    if auto_create_allowed(setting, name):
        return
    raise ItemError(404, error_obj(
        "index_not_found_exception",
        "no such index [%s] and [action.auto_create_index] %s" % (
            name, "is [false]" if setting == "false" else
            "([%s]) doesn't match" % setting),
        index_uuid="_na_", index=name))


def auto_create_allowed(setting, name):
    from . import templates
    if setting in ("true", True, None):
        return True
    if setting in ("false", False):
        return False
    for pat in str(setting).split(","):
        pat = pat.strip()
        neg = pat.startswith("-")
        pat = pat.lstrip("+-")
        if templates.glob_match(pat, name):
            return not neg
    return False


def _block_error(ctx, ix, key):
    f = ctx.flavor
    if key == "index.blocks.read_only_allow_delete":
        if f.is_opensearch or f.version >= (7, 9, 0):
            return ItemError(429, error_obj(
                "cluster_block_exception",
                "index [%s] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage "
                "watermark, index has read-only-allow-delete block];" % ix.name))
        return ItemError(403, error_obj(
            "cluster_block_exception",
            "index [%s] blocked by: [FORBIDDEN/12/index read-only / allow delete (api)];" % ix.name))
    what = "FORBIDDEN/5/index read-only (api)" if key == "index.blocks.read_only" \
        else "FORBIDDEN/8/index write (api)"
    return ItemError(403, error_obj("cluster_block_exception",
                                    "index [%s] blocked by: [%s];" % (ix.name, what)))


def _check_writable(ctx, ix, a):
    if ctx.double.faults.is_red(ix.name):
        raise ItemError(503, error_obj(
            "unavailable_shards_exception",
            "[%s][0] primary shard is not active Timeout: [1m], request: [BulkShardRequest "
            "[[%s][0]] containing [1] requests]" % (ix.name, ix.name)))
    if ix.closed:
        raise ItemError(400, error_obj("index_closed_exception", "closed",
                                       index_uuid=ix.uuid, index=ix.name))
    block = ix.block()
    if block and not (a.op == "delete" and block == "index.blocks.read_only_allow_delete"):
        raise _block_error(ctx, ix, block)
    pipeline = a.meta.get("pipeline", ctx.pipeline)
    if pipeline and pipeline != "_none" and a.op in ("index", "create"):
        raise ItemError(400, error_obj("illegal_argument_exception",
                                       "pipeline with id [%s] does not exist" % pipeline))


def _doc_parse_error(ctx, reason, caused_by=None):
    return ItemError(400, error_obj(ctx.flavor.doc_parse_type, reason, caused_by))


def _parse_source(ctx, a, doc_id):
    raw = a.raw
    if raw is None or raw.strip() == b"":
        raise _doc_parse_error(ctx, "failed to parse, document is empty")
    try:
        src = jsonutil.loads(raw.decode("utf-8"))
    except jsonutil.JsonError as e:
        prefix = "[%d:%d] " % (e.line, e.col) if ctx.flavor.doc_parse_type.startswith("document") \
            else ""
        raise _doc_parse_error(ctx, prefix + "failed to parse",
                               {"type": "json_parse_exception", "reason": e.msg})
    if not isinstance(src, dict):
        raise _doc_parse_error(ctx, "failed to parse", {
            "type": "not_x_content_exception",
            "reason": "Compressor detection can only be called on some xcontent bytes or "
                      "compressed xcontent bytes"})
    return src


def _item_faults(ctx, a, ix, doc_id, src):
    d = ctx.decision
    if d is None or not d.item_rules:
        return
    hit = ctx.double.faults.item_fault(d.item_rules, ix.name, a.id, a.raw, src)
    if hit is None:
        return
    kind, entry = hit
    if kind == "429":
        raise ItemError(429, error_obj(rejected_type(ctx.flavor), write_queue_rejection(ctx.flavor)))
    field = entry.get("field", "message")
    value = entry.get("value", entry.get("substring"))
    prefix = "[1:%d] " % (len(a.raw or b"") // 2 + 1) if ctx.flavor.doc_parse_type.startswith(
        "document") else ""
    reason = entry.get("reason") or (
        "%sfailed to parse field [%s] of type [long] in document with id '%s'. Preview of "
        "field's value: '%s'" % (prefix, field, doc_id, value))
    raise ItemError(400, error_obj(entry.get("type") or ctx.flavor.doc_parse_type, reason, {
        "type": "illegal_argument_exception", "reason": 'For input string: "%s"' % value}))


def _success(ctx, a, ix, doc_id, version, result, seq_no, status):
    item = _head(ctx, ix.name, a, doc_id)
    item["_version"] = version
    item["result"] = result
    if ctx.refresh in ("true", ""):
        item["forced_refresh"] = True
    noop = result == "noop"
    item["_shards"] = {"total": 0 if noop else 1 + ix.replicas, "successful": 0 if noop else 1,
                       "failed": 0}
    item["_seq_no"] = seq_no
    item["_primary_term"] = 1
    item["status"] = status
    return item


def _conflict(doc_id, reason):
    return ItemError(409, error_obj("version_conflict_engine_exception",
                                    "[%s]: version conflict, %s" % (doc_id, reason),
                                    index_uuid="_na_", shard="0"))


def _check_cas(a, ix, doc_id, existing):
    m = a.meta
    if "if_seq_no" in m:
        want_seq, want_term = int(m["if_seq_no"]), int(m["if_primary_term"])
        if existing is None:
            raise _conflict(doc_id, "required seqNo [%d], primary term [%d]. but no document was "
                                    "found" % (want_seq, want_term))
        if existing.seq_no != want_seq or want_term != 1:
            raise _conflict(doc_id, "required seqNo [%d], primary term [%d]. current document has "
                                    "seqNo [%d] and primary term [1]"
                            % (want_seq, want_term, existing.seq_no))
    vtype = m.get("version_type")
    if vtype in ("external", "external_gte") and "version" in m:
        want = int(m["version"])
        cur = existing.version if existing else None
        if cur is not None and (want < cur or (vtype == "external" and want == cur)):
            raise _conflict(doc_id, "current version [%d] is higher or equal to the one provided "
                                    "[%d]" % (cur, want))
        return want
    return None


def _fix_conflict(err, ix):
    err.error["index_uuid"] = ix.uuid
    err.error["index"] = ix.name
    return err


def _apply(ctx, a, ix, doc_id):
    store = ctx.store
    existing = ix.docs.get(doc_id) if doc_id is not None else None
    try:
        external = _check_cas(a, ix, doc_id, existing)
    except ItemError as e:
        raise _fix_conflict(e, ix)
    if a.op == "delete":
        res = store.remove_doc(ix, doc_id)
        if res is None:
            seq = ix.next_seq_no
            ix.next_seq_no += 1
            return _success(ctx, a, ix, doc_id, 1, "not_found", seq, 404)
        return _success(ctx, a, ix, doc_id, res[0], "deleted", res[1], 200)
    if a.op == "update":
        return _update(ctx, a, ix, doc_id, existing)
    src = _parse_source(ctx, a, doc_id)
    if ix.data_stream:
        datastreams.check_timestamp(ctx, ix, src)
    _item_faults(ctx, a, ix, doc_id, src)
    if a.op == "create" and existing is not None:
        raise _fix_conflict(_conflict(doc_id, "document already exists (current version [%d])"
                                      % existing.version), ix)
    doc, created = store.write_doc(ix, doc_id, src, a.raw, a.meta.get("routing"))
    if external is not None:
        doc.version = external
    return _success(ctx, a, ix, doc_id, doc.version, "created" if created else "updated",
                    doc.seq_no, 201 if created else 200)


def _merge(old, new):
    out = dict(old)
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _update(ctx, a, ix, doc_id, existing):
    import json
    body = a.update
    if "script" in body:
        raise ItemError(400, error_obj("illegal_argument_exception",
                                       "esdouble does not execute update scripts"))
    if existing is None:
        if body.get("doc_as_upsert") and "doc" in body:
            new = body["doc"]
        elif "upsert" in body:
            new = body["upsert"]
        else:
            raise ItemError(404, error_obj("document_missing_exception",
                                           "[%s]: document missing" % doc_id,
                                           index_uuid=ix.uuid, shard="0", index=ix.name))
        raw = json.dumps(new, ensure_ascii=False, separators=(",", ":")).encode()
        _item_faults(ctx, a, ix, doc_id, new)
        doc, _ = ctx.store.write_doc(ix, doc_id, new, raw, a.meta.get("routing"))
        return _success(ctx, a, ix, doc_id, doc.version, "created", doc.seq_no, 201)
    if "doc" not in body:
        raise ItemError(400, error_obj("action_request_validation_exception",
                                       "Validation Failed: 1: script or doc is missing;"))
    merged = _merge(existing.source, body["doc"])
    if merged == existing.source and body.get("detect_noop", True) is not False:
        return _success(ctx, a, ix, doc_id, existing.version, "noop", existing.seq_no, 200)
    _item_faults(ctx, a, ix, doc_id, merged)
    raw = json.dumps(merged, ensure_ascii=False, separators=(",", ":")).encode()
    doc, _ = ctx.store.write_doc(ix, doc_id, merged, raw, a.meta.get("routing"))
    return _success(ctx, a, ix, doc_id, doc.version, "updated", doc.seq_no, 200)
