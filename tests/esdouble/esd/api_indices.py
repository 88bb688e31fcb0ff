"""Index-level endpoints: `_bulk`, create/exists/get/delete index, settings,
mappings, open/close, refresh, `_count`, `_search`, single documents
(es-api.md §3, §5, §6.1).
"""

from . import bulk
from . import indices
from . import query
from . import settings as settings_mod
from . import templates
from .api_cluster import cluster_read_only
from .responses import EsError, Response, bad_request, es_error, index_not_found

BULK_PARAMS = ("refresh", "pipeline", "routing", "timeout", "wait_for_active_shards",
               "require_alias", "_source", "_source_includes", "_source_excludes",
               "_source_include", "_source_exclude", "require_data_stream",
               "list_executed_pipelines", "type")


def _refresh_param(req):
    v = req.params.get("refresh")
    if v is not None and v not in ("", "true", "false", "wait_for"):
        raise bad_request("Unknown value for refresh: [%s]." % v)
    if "require_alias" in req.params:
        req.bool_param("require_alias")


def do_bulk(double, req, index=None, type_=None):
    _refresh_param(req)
    if not req.body:
        raise EsError(es_error(400, "parse_exception", "request body is required"))
    url_index = index
    actions = bulk.parse(req.body, double.flavor)
    bulk.validate(actions, url_index)
    block = cluster_read_only(double.store)
    if block:
        raise EsError(es_error(403, "cluster_block_exception",
                               "blocked by: [FORBIDDEN/6/cluster read-only (api)];"
                               if block.endswith("read_only") else
                               "blocked by: [FORBIDDEN/13/cluster read-only / allow delete (api)];"))
    params = dict(req.params)
    if params.get("require_alias") == "":
        params["require_alias"] = "true"
    return bulk.execute(double, actions, url_index, params, req.decision, url_type=type_)


def bulk_typed(double, req, index, type_):
    return do_bulk(double, req, index, type_)


# ---------------------------------------------------------------------------
# index CRUD

def put_index(double, req, index):
    store = double.store
    body = req.json()
    with store.lock:
        name = indices.resolve_name(store, index)
        ix = indices.create_index(store, name, body,
                                  provided_name=index if name != index else None)
    return Response(200, {"acknowledged": True, "shards_acknowledged": True, "index": ix.name})


def head_index(double, req, index):
    store = double.store
    with store.lock:
        try:
            found = indices.resolve_expression(store, index, allow_no_indices=False)
        except EsError:
            found = []
    return Response(200 if found else 404, raw=b"")


def _index_view(double, ix, flat=False):
    settings = dict(ix.settings)
    view = {"aliases": {a: dict(p) for a, p in ix.aliases.items()}, "mappings": ix.mappings,
            "settings": settings if flat else settings_mod.nest(settings)}
    if ix.data_stream:
        view["data_stream"] = ix.data_stream
    return view


def get_index(double, req, index):
    store = double.store
    with store.lock:
        found = indices.resolve_expression(store, index,
                                           ignore_unavailable=req.bool_param("ignore_unavailable"))
        flat = req.bool_param("flat_settings")
        return Response(200, {ix.name: _index_view(double, ix, flat) for ix in found})


def delete_index(double, req, index):
    store = double.store
    with store.lock:
        destructive = store.cluster_settings["persistent"].get(
            "action.destructive_requires_name",
            "true" if double.flavor.is_es and double.flavor.major >= 8 else "false")
        if destructive == "true" and ("*" in index or index == "_all"):
            raise bad_request("Wildcard expressions or all indices are not allowed")
        for part in index.split(","):
            name = indices.resolve_name(store, part)
            if "*" not in name and name not in store.indices and store.is_alias(name):
                raise bad_request("The provided expression [%s] matches an alias, specify the "
                                  "corresponding concrete indices instead." % name)
        found = indices.resolve_expression(store, index,
                                           ignore_unavailable=req.bool_param("ignore_unavailable"))
        for ix in found:
            ds = store.data_streams.get(ix.data_stream) if ix.data_stream else None
            if ds and ds["indices"][-1] == ix.name:
                raise bad_request("index [%s] is the write index for data stream [%s] and cannot "
                                  "be deleted" % (ix.name, ix.data_stream))
        for ix in found:
            if ix.data_stream and ix.data_stream in store.data_streams:
                store.data_streams[ix.data_stream]["indices"].remove(ix.name)
            store.delete_index(ix.name)
    return Response(200, {"acknowledged": True})


def refresh(double, req, index=None):
    store = double.store
    with store.lock:
        found = indices.resolve_expression(store, index or "_all")
        for ix in found:
            ix.refresh()
        shards = sum(1 + ix.replicas for ix in found)
    return Response(200, {"_shards": {"total": shards, "successful": len(found), "failed": 0}})


def get_settings(double, req, index=None, name=None):
    store = double.store
    with store.lock:
        found = indices.resolve_expression(store, index or "_all")
        flat = req.bool_param("flat_settings")
        out = {}
        for ix in found:
            s = {k: v for k, v in ix.settings.items()
                 if name is None or any(templates.glob_match(p, k) for p in name.split(","))}
            out[ix.name] = {"settings": s if flat else settings_mod.nest(s)}
        return Response(200, out)


_STATIC = {"index.number_of_shards", "index.codec", "index.number_of_routing_shards",
           "index.uuid", "index.creation_date", "index.provided_name", "index.version.created"}


def put_settings(double, req, index=None):
    body = req.json(required=True)
    if isinstance(body, dict) and set(body) == {"settings"}:
        body = body["settings"]
    flat = settings_mod.normalize(body)
    settings_mod.validate(double.flavor, flat)
    store = double.store
    with store.lock:
        found = indices.resolve_expression(store, index or "_all")
        static = sorted(k for k in flat if k in _STATIC)
        open_ = [ix for ix in found if not ix.closed]
        if static and open_:
            raise bad_request("Can't update non dynamic settings [[%s]] for open indices [%s]"
                              % (", ".join(static),
                                 ", ".join("[%s/%s]" % (ix.name, ix.uuid) for ix in open_)))
        for ix in found:
            for k, v in flat.items():
                if v is None:
                    ix.settings.pop(k, None)
                else:
                    ix.settings[k] = v
        store.save_state()
        store.changed.notify_all()
    return Response(200, {"acknowledged": True})


def get_mapping(double, req, index=None):
    store = double.store
    with store.lock:
        found = indices.resolve_expression(store, index or "_all")
        return Response(200, {ix.name: {"mappings": ix.mappings} for ix in found})


def put_mapping(double, req, index):
    body = req.json(required=True)
    templates.validate_mappings(body)
    store = double.store
    with store.lock:
        for ix in indices.resolve_expression(store, index):
            ix.mappings = templates.merge_mappings(ix.mappings, body)
        store.save_state()
    return Response(200, {"acknowledged": True})


def _open_close(double, req, index, close):
    store = double.store
    with store.lock:
        found = indices.resolve_expression(store, index)
        for ix in found:
            ix.closed = close
        store.save_state()
    body = {"acknowledged": True, "shards_acknowledged": True}
    if close:
        body["indices"] = {ix.name: {"closed": True} for ix in found}
    return Response(200, body)


def close_index(double, req, index):
    return _open_close(double, req, index, True)


def open_index(double, req, index):
    return _open_close(double, req, index, False)


# ---------------------------------------------------------------------------
# search and count

def _targets(double, req, index):
    store = double.store
    return indices.resolve_expression(
        store, index or "_all", ignore_unavailable=req.bool_param("ignore_unavailable"),
        allow_no_indices=req.bool_param("allow_no_indices", True))


def _closed_error(ix):
    return EsError(es_error(400, "index_closed_exception", "closed", index_uuid=ix.uuid,
                            index=ix.name))


def count(double, req, index=None):
    body = req.json() or {}
    q = body.get("query") if isinstance(body, dict) else None
    if q is None and "q" in req.params:
        q = query.from_uri(req.params["q"])
    pred = query.compile_any(q)
    store = double.store
    with store.lock:
        found = _targets(double, req, index)
        n = 0
        for ix in found:
            if ix.closed:
                raise _closed_error(ix)
            ix.maybe_refresh(store.default_refresh_ms)
            n += sum(1 for d in ix.visible.values() if pred(d))
    k = len(found)
    return Response(200, {"count": n, "_shards": {"total": k, "successful": k, "skipped": 0,
                                                  "failed": 0}})


def search(double, req, index=None):
    body = req.json() or {}
    if not isinstance(body, dict):
        raise bad_request("request body must be an object")
    q = body.get("query")
    if q is None and "q" in req.params:
        q = query.from_uri(req.params["q"])
    pred = query.compile_any(q)
    size = int(req.params.get("size", body.get("size", 10)))
    start = int(req.params.get("from", body.get("from", 0)))
    store = double.store
    hits = []
    with store.lock:
        found = _targets(double, req, index)
        for ix in found:
            if ix.closed:
                raise _closed_error(ix)
            ix.maybe_refresh(store.default_refresh_ms)
            hits.extend((ix, d) for d in ix.visible.values() if pred(d))
    for spec in reversed(_sort_spec(body.get("sort"))):
        field, desc = spec
        hits.sort(key=lambda h: _sort_value(h[1], field), reverse=desc)
    total = len(hits)
    page = hits[start:start + size]
    src_filter = body.get("_source", True)
    out_hits = []
    for ix, d in page:
        h = {"_index": ix.name}
        if double.flavor.item_has_type:
            h["_type"] = "_doc"
        h.update({"_id": d.id, "_score": 1.0})
        if src_filter is not False:
            h["_source"] = _filter_source(d.source, src_filter)
        out_hits.append(h)
    k = len(found)
    total_obj = total if req.bool_param("rest_total_hits_as_int") else \
        {"value": total, "relation": "eq"}
    return Response(200, {"took": 1, "timed_out": False,
                          "_shards": {"total": k, "successful": k, "skipped": 0, "failed": 0},
                          "hits": {"total": total_obj, "max_score": 1.0 if out_hits else None,
                                   "hits": out_hits}})


def _sort_spec(sort):
    out = []
    for item in (sort if isinstance(sort, list) else ([sort] if sort else [])):
        if isinstance(item, str):
            out.append((item, False))
        elif isinstance(item, dict):
            for field, how in item.items():
                order = how.get("order", "asc") if isinstance(how, dict) else how
                out.append((field, order == "desc"))
    return out


def _sort_value(doc, field):
    if field == "_id":
        return (0, doc.id)
    v = query._get(doc.source, field)
    if v is None:
        return (1, "")
    return (0, v) if isinstance(v, str) else (0, "%030.10f" % float(v)) \
        if isinstance(v, (int, float)) else (0, str(v))


def _filter_source(src, spec):
    if spec is True or spec is None:
        return src
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, list):
        return {k: v for k, v in src.items()
                if any(templates.glob_match(p, k) for p in spec)}
    return src


# ---------------------------------------------------------------------------
# single documents (handy for tests; implemented on top of bulk)

def get_doc(double, req, index, doc_id):
    store = double.store
    with store.lock:
        name = indices.resolve_name(store, index)
        concrete = indices.concrete_for(store, name)
        if not concrete:
            raise EsError(index_not_found(name))
        ix = store.indices[concrete[0]]
        d = ix.docs.get(doc_id)
        head = {"_index": ix.name}
        if double.flavor.item_has_type:
            head["_type"] = "_doc"
        head["_id"] = doc_id
        if d is None:
            head["found"] = False
            return Response(404, head)
        head.update({"_version": d.version, "_seq_no": d.seq_no, "_primary_term": 1,
                     "found": True, "_source": d.source})
        return Response(200, head)


def _single(double, req, index, op, doc_id=None):
    _refresh_param(req)
    meta = {"_index": index}
    if doc_id is not None:
        meta["_id"] = doc_id
    a = bulk.Action(op, meta, 1)
    if op != "delete":
        a.raw = req.body or b""
    if "op_type" in req.params and req.params["op_type"] == "create":
        a.op = "create"
    for p in ("if_seq_no", "if_primary_term", "version", "version_type", "routing", "pipeline"):
        if p in req.params:
            a.meta[p] = req.params[p]
    resp = bulk.execute(double, [a], None, dict(req.params), req.decision)
    item = next(iter(resp.obj["items"][0].values()))
    status = item.pop("status")
    if "error" in item:
        err = item["error"]
        root = {k: v for k, v in err.items() if k != "caused_by"}
        return Response(status, {"error": dict([("root_cause", [root])] + list(err.items())),
                                 "status": status})
    return Response(status, item)


def index_doc(double, req, index, doc_id=None):
    return _single(double, req, index, "index", doc_id)


def create_doc(double, req, index, doc_id):
    return _single(double, req, index, "create", doc_id)


def delete_doc(double, req, index, doc_id):
    return _single(double, req, index, "delete", doc_id)


def register(router):
    r = router.add
    type_ok = lambda f: f.accepts_type  # noqa: E731
    r("POST,PUT", "/_bulk", do_bulk, BULK_PARAMS)
    r("POST,PUT", "/{index}/_bulk", do_bulk, BULK_PARAMS)
    r("POST,PUT", "/{index}/{type_}/_bulk", bulk_typed, BULK_PARAMS, when=type_ok)
    create_params = ("wait_for_active_shards", "timeout", "master_timeout",
                     "cluster_manager_timeout", "include_type_name")
    r("PUT", "/{index}", put_index, create_params)
    r("HEAD", "/{index}", head_index, ("ignore_unavailable", "allow_no_indices",
                                       "expand_wildcards", "local", "flat_settings",
                                       "include_defaults"))
    r("GET", "/{index}", get_index, ("ignore_unavailable", "allow_no_indices",
                                     "expand_wildcards", "local", "flat_settings",
                                     "include_defaults", "master_timeout", "features"))
    r("DELETE", "/{index}", delete_index, ("ignore_unavailable", "allow_no_indices",
                                           "expand_wildcards", "timeout", "master_timeout",
                                           "cluster_manager_timeout"))
    r("POST,GET", "/_refresh", refresh, ("ignore_unavailable", "allow_no_indices",
                                         "expand_wildcards"))
    r("POST,GET", "/{index}/_refresh", refresh, ("ignore_unavailable", "allow_no_indices",
                                                 "expand_wildcards"))
    sparams = ("flat_settings", "include_defaults", "ignore_unavailable", "allow_no_indices",
               "expand_wildcards", "local", "master_timeout", "preserve_existing", "timeout")
    r("GET", "/_settings", get_settings, sparams)
    r("GET", "/{index}/_settings", get_settings, sparams)
    r("GET", "/{index}/_settings/{name}", get_settings, sparams)
    r("PUT", "/_settings", put_settings, sparams)
    r("PUT", "/{index}/_settings", put_settings, sparams)
    r("GET", "/_mapping", get_mapping, None)
    r("GET", "/{index}/_mapping", get_mapping, None)
    r("PUT,POST", "/{index}/_mapping", put_mapping, None)
    r("POST", "/{index}/_close", close_index, None)
    r("POST", "/{index}/_open", open_index, None)
    r("GET,POST", "/_count", count, None)
    r("GET,POST", "/{index}/_count", count, None)
    r("GET,POST", "/_search", search, None)
    r("GET,POST", "/{index}/_search", search, None)
    doc_params = ("refresh", "routing", "pipeline", "op_type", "if_seq_no", "if_primary_term",
                  "version", "version_type", "timeout", "wait_for_active_shards",
                  "require_alias", "realtime", "preference", "_source", "_source_includes",
                  "_source_excludes", "stored_fields")
    r("GET,HEAD", "/{index}/_doc/{doc_id}", get_doc, doc_params)
    r("PUT,POST", "/{index}/_doc/{doc_id}", index_doc, doc_params)
    r("POST", "/{index}/_doc", index_doc, doc_params)
    r("PUT,POST", "/{index}/_create/{doc_id}", create_doc, doc_params)
    r("DELETE", "/{index}/_doc/{doc_id}", delete_doc, doc_params)
