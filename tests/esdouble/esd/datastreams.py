"""Data streams (es-api.md §11).

Why: on a stock Elasticsearch 7.9+/8 cluster, any name matching `logs-*-*`
is a data stream, where only `create` actions are allowed and documents must
carry `@timestamp`.  A shipper writing `index` actions there fails item by
item; the double reproduces that, and supports explicit data streams for
skiff's data-stream output mode.
"""

from . import indices
from . import names
from . import templates
from .responses import EsError, Response, es_error, bad_request


def template_for(store, name):
    """The composable template that makes `name` a data stream, or None."""
    tname, t = templates.find_composable(store, name)
    if t is not None and t.get("data_stream") is not None:
        return tname
    return None


def _timestamp_field(store, name):
    tname, t = templates.find_composable(store, name)
    spec = (t or {}).get("data_stream") or {}
    ts = spec.get("timestamp_field")
    return ts.get("name", "@timestamp") if isinstance(ts, dict) else "@timestamp"


def backing_name(store, name, generation):
    if store.flavor.backing_index_has_date:
        day = store.clock.now().strftime("%Y.%m.%d")
        return ".ds-%s-%s-%06d" % (name, day, generation)
    return ".ds-%s-%06d" % (name, generation)


def create(store, name):
    """Create data stream `name` with its first backing index."""
    try:
        names.validate_index_name(name)
    except names.NameError_ as e:
        raise indices.name_error(e)
    if name in store.data_streams:
        raise EsError(es_error(400, "resource_already_exists_exception",
                               "data_stream [%s] already exists" % name))
    if name in store.indices or store.is_alias(name):
        raise bad_request("data stream [%s] conflicts with index" % name)
    tname = template_for(store, name)
    if tname is None:
        raise bad_request("no matching index template found for data stream [%s]" % name)
    first = backing_name(store, name, 1)
    store.data_streams[name] = {"name": name, "timestamp_field": _timestamp_field(store, name),
                                "indices": [], "generation": 1, "template": tname}
    try:
        indices.create_index(store, first, data_stream=name)
    except EsError:
        del store.data_streams[name]
        raise
    store.data_streams[name]["indices"].append(first)
    store.save_state()
    return store.data_streams[name]


def check_timestamp(ctx, ix, src):
    from .bulk import ItemError
    from .responses import error_obj
    ds = ctx.store.data_streams.get(ix.data_stream) or {}
    field = ds.get("timestamp_field", "@timestamp")
    node = src
    for part in field.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None and field not in src:
        if ctx.flavor.is_opensearch:
            reason = ("documents must contain a single-valued timestamp field '%s' of date type"
                      % field)
        else:
            prefix = "[1:1] " if ctx.flavor.doc_parse_type.startswith("document") else ""
            reason = "%sfailed to parse: data stream timestamp field [%s] is missing" % (prefix, field)
        raise ItemError(400, error_obj(ctx.flavor.doc_parse_type, reason))


def rollover(store, name, new_name=None):
    """Add a new backing index; returns (old, new) names."""
    ds = store.data_streams[name]
    old = ds["indices"][-1]
    gen = ds["generation"] + 1
    new = new_name or backing_name(store, name, gen)
    return old, new, gen


def commit_rollover(store, name, new, gen):
    ds = store.data_streams[name]
    indices.create_index(store, new, data_stream=name)
    ds["indices"].append(new)
    ds["generation"] = gen
    store.save_state()


# -- REST -------------------------------------------------------------------------

def api_put(double, req, name):
    with double.store.lock:
        create(double.store, indices.resolve_name(double.store, name))
    return Response(200, {"acknowledged": True})


def _view(store, ds):
    status = "GREEN"
    for n in ds["indices"]:
        ix = store.indices.get(n)
        if ix and ix.replicas > 0:
            status = "YELLOW"
    t = store.index_templates.get(ds["template"]) or {}
    flat = templates.resolve(store, ds["name"], for_backing_of=ds["name"])["settings"]
    out = {"name": ds["name"], "timestamp_field": {"name": ds["timestamp_field"]},
           "indices": [{"index_name": n, "index_uuid": store.indices[n].uuid}
                       for n in ds["indices"] if n in store.indices],
           "generation": ds["generation"], "status": status, "template": ds["template"]}
    policy = flat.get("index.lifecycle.name")
    if policy and store.flavor.is_es:
        out["ilm_policy"] = policy
    out["hidden"] = bool((t.get("data_stream") or {}).get("hidden", False))
    if store.flavor.is_es:
        out["system"] = False
    return out


def api_get(double, req, name=None):
    store = double.store
    with store.lock:
        if name in (None, "*", "_all"):
            found = list(store.data_streams.values())
        else:
            found = []
            for part in name.split(","):
                matched = [d for n, d in store.data_streams.items() if templates.glob_match(part, n)]
                if not matched and "*" not in part:
                    raise EsError(es_error(404, "index_not_found_exception",
                                           "no such index [%s]" % part,
                                           **{"resource.type": "index_or_alias",
                                              "resource.id": part, "index_uuid": "_na_",
                                              "index": part}))
                found.extend(matched)
        return Response(200, {"data_streams": [_view(store, d) for d in found]})


def api_delete(double, req, name):
    store = double.store
    with store.lock:
        matched = [n for n in store.data_streams if templates.glob_match(name, n)]
        if not matched:
            if "*" in name:
                return Response(200, {"acknowledged": True})
            raise EsError(es_error(404, "index_not_found_exception", "no such index [%s]" % name,
                                   **{"resource.type": "index_or_alias", "resource.id": name,
                                      "index_uuid": "_na_", "index": name}))
        for n in matched:
            for backing in store.data_streams[n]["indices"]:
                store.delete_index(backing)
            del store.data_streams[n]
        store.save_state()
    return Response(200, {"acknowledged": True})
