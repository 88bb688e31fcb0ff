"""Cluster-level endpoints: `/`, `_nodes`, `_cluster/health`, `_cluster/settings`,
`_cat/*`, `_xpack` (es-api.md §1, §4, §5, §8).

`_nodes/http` is where the td-agent incident started: the answer can be
switched (fault `sniff`) to point at an unreachable loopback address or to
the Amazon shape without `http` sections.
"""

import time

from . import indices
from . import settings as settings_mod
from . import templates
from .faults import UNREACHABLE
from .responses import EsError, Response, amazon, bad_request

_CAT_PARAMS = ("format", "h", "v", "s", "bytes", "pri", "health", "expand_wildcards", "help",
               "local", "master_timeout", "time", "include_unloaded_segments")


def root(double, req):
    return Response(200, double.flavor.root_body())


def nodes(double, req, node_id=None, metric=None):
    flavor = double.flavor
    mode = double.faults.sniff_mode()
    if isinstance(mode, list):
        publish = mode
    elif mode == "unreachable":
        publish = [UNREACHABLE]
    elif mode == "amazon" or flavor.aws:
        publish = None
    else:
        publish = [flavor.default_publish(double.host, double.port)]
    return Response(200, flavor.nodes_http(publish, double.port))


def nodes_metric(double, req, metric):
    return nodes(double, req, None, metric)


# ---------------------------------------------------------------------------
# health

_RANK = {"green": 0, "yellow": 1, "red": 2}


def index_health(double, ix):
    if double.faults.is_red(ix.name):
        return "red"
    return "green" if ix.replicas == 0 else "yellow"


def _status(double, index_list):
    status = "green"
    for ix in index_list:
        if ix.closed:
            continue
        h = index_health(double, ix)
        if _RANK[h] > _RANK[status]:
            status = h
    return status


def health(double, req, index=None):
    store = double.store
    want = req.params.get("wait_for_status")
    if want is not None and want not in _RANK:
        raise bad_request("unknown cluster health status [%s]" % want)
    timeout_ms = settings_mod.parse_time_ms(req.params.get("timeout"), 30000)
    deadline = time.monotonic() + max(0, timeout_ms) / 1000.0
    with store.lock:
        while True:
            targets = (indices.resolve_expression(store, index) if index
                       else [ix for ix in store.indices.values()])
            status = _status(double, targets)
            red = sum(1 for ix in targets if index_health(double, ix) == "red")
            if want is None or _RANK[status] <= _RANK[want]:
                return Response(200, double.flavor.health_body(status, targets, red=red))
            left = deadline - time.monotonic()
            if left <= 0:
                body = double.flavor.health_body(status, targets, timed_out=True, red=red)
                return Response(double.flavor.health_timeout_status, body)
            store.changed.wait(min(left, 0.1))


# ---------------------------------------------------------------------------
# cluster settings

_CLUSTER_PREFIXES = ("action.", "cluster.", "indices.", "logger.", "search.", "thread_pool.",
                     "transport.", "http.", "network.", "discovery.", "gateway.", "ingest.",
                     "script.", "persistent_tasks.", "snapshot.")
_AWS_ALLOWED = ("action.auto_create_index", "action.destructive_requires_name", "indices.",
                "cluster.max_shards_per_node", "search.", "plugins.", "opendistro.")


def _check_cluster_key(double, key):
    f = double.flavor
    if f.aws and not key.startswith(_AWS_ALLOWED):
        raise EsError(amazon(401, "Your request: '/_cluster/settings' payload is not allowed."))
    ok = key.startswith(_CLUSTER_PREFIXES) or \
        (f.is_es and key.startswith("xpack.")) or \
        (f.is_opensearch and key.startswith(("plugins.", "opendistro.")))
    if not ok:
        raise bad_request("persistent setting [%s], not recognized" % key)


def get_cluster_settings(double, req):
    s = double.store.cluster_settings
    flat = req.bool_param("flat_settings")
    view = (lambda d: dict(d)) if flat else settings_mod.nest
    return Response(200, {"persistent": view(s["persistent"]), "transient": view(s["transient"])})


def put_cluster_settings(double, req):
    body = req.json(required=True)
    if not isinstance(body, dict) or not set(body) <= {"persistent", "transient"}:
        raise bad_request("request body must contain only [persistent] and [transient]")
    store = double.store
    with store.lock:
        applied = {"persistent": {}, "transient": {}}
        for scope in ("persistent", "transient"):
            flat = _flatten(body.get(scope) or {})
            for key, value in flat.items():
                _check_cluster_key(double, key)
            for key, value in flat.items():
                if value is None:
                    store.cluster_settings[scope].pop(key, None)
                else:
                    store.cluster_settings[scope][key] = value
                applied[scope][key] = value
        store.save_state()
    return Response(200, {"acknowledged": True,
                          "persistent": settings_mod.nest({k: v for k, v in applied["persistent"].items() if v is not None}),
                          "transient": settings_mod.nest({k: v for k, v in applied["transient"].items() if v is not None})})


def _flatten(obj, prefix=""):
    out = {}
    for k, v in obj.items():
        if isinstance(v, dict):
            out.update(_flatten(v, prefix + k + "."))
        else:
            out[prefix + k] = None if v is None else (
                ("true" if v else "false") if isinstance(v, bool) else str(v))
    return out


def cluster_read_only(store):
    for scope in ("transient", "persistent"):
        for key in ("cluster.blocks.read_only", "cluster.blocks.read_only_allow_delete"):
            if store.cluster_settings[scope].get(key) == "true":
                return key
    return None


# ---------------------------------------------------------------------------
# _cat

def _size(n, unit):
    if unit == "b":
        return str(n)
    if unit == "kb":
        return str(n // 1024)
    for suffix, div in (("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10)):
        if n >= div:
            return ("%.1f" % (n / div)).rstrip("0").rstrip(".") + suffix
    return "%db" % n


def _render(req, rows, columns):
    wanted = req.params.get("h")
    cols = [c.strip() for c in wanted.split(",")] if wanted else columns
    sort = req.params.get("s")
    if sort:
        for key in reversed(sort.split(",")):
            field, _, order = key.partition(":")
            rows.sort(key=lambda r: _sort_key(r.get(field)), reverse=order == "desc")
    if req.params.get("format") == "json":
        return Response(200, [{c: r.get(c) for c in cols} for r in rows])
    table = [[("" if r.get(c) is None else str(r.get(c))) for c in cols] for r in rows]
    if req.bool_param("v"):
        table.insert(0, cols)
    widths = [max([len(row[i]) for row in table] + [0]) for i in range(len(cols))]
    text = "".join(" ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n"
                   for row in table)
    return Response(200, raw=text.encode("utf-8"), content_type="text/plain; charset=UTF-8")


def _sort_key(v):
    try:
        return (0, float(v), "")
    except (TypeError, ValueError):
        return (1, 0, str(v))


def cat_indices(double, req, index=None):
    store = double.store
    unit = req.params.get("bytes")
    rows = []
    with store.lock:
        hidden = req.params.get("expand_wildcards") in ("all", "hidden")
        for ix in indices.resolve_expression(store, index or "*", include_hidden=hidden):
            ix.maybe_refresh(store.default_refresh_ms)
            red = index_health(double, ix) == "red"
            row = {"health": index_health(double, ix),
                   "status": "close" if ix.closed else "open", "index": ix.name, "uuid": ix.uuid,
                   "pri": "1", "rep": str(ix.replicas)}
            if ix.closed or red:
                row.update({"docs.count": None, "docs.deleted": None, "store.size": None,
                            "pri.store.size": None})
            else:
                size = _size(ix.size_bytes(), unit)
                row.update({"docs.count": str(len(ix.visible)), "docs.deleted": str(ix.deleted_count),
                            "store.size": size, "pri.store.size": size})
                if double.flavor.is_es and double.flavor.version >= (8, 13, 0):
                    row["dataset.size"] = size
            rows.append(row)
    cols = ["health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted",
            "store.size", "pri.store.size"]
    if double.flavor.is_es and double.flavor.version >= (8, 13, 0):
        cols.append("dataset.size")
    return _render(req, rows, cols)


def cat_count(double, req, index=None):
    store = double.store
    with store.lock:
        total = 0
        for ix in indices.resolve_expression(store, index or "*"):
            ix.maybe_refresh(store.default_refresh_ms)
            total += len(ix.visible)
    now = store.clock.now()
    rows = [{"epoch": str(int(now.timestamp())), "timestamp": now.strftime("%H:%M:%S"),
             "count": str(total)}]
    return _render(req, rows, ["epoch", "timestamp", "count"])


def cat_aliases(double, req, name=None):
    store = double.store
    rows = []
    with store.lock:
        for ixname, ix in store.indices.items():
            for alias, props in ix.aliases.items():
                if name and not any(templates.glob_match(p, alias) for p in name.split(",")):
                    continue
                w = props.get("is_write_index")
                rows.append({"alias": alias, "index": ixname,
                             "filter": "*" if props.get("filter") else "-",
                             "routing.index": props.get("index_routing", props.get("routing", "-")),
                             "routing.search": props.get("search_routing", props.get("routing", "-")),
                             "is_write_index": "-" if w is None else ("true" if w else "false")})
    return _render(req, rows, ["alias", "index", "filter", "routing.index", "routing.search",
                               "is_write_index"])


def xpack(double, req):
    if double.flavor.aws:
        return amazon(401, "Your request: '/_xpack' is not allowed.")
    return Response(200, double.flavor.xpack_body())


def register(router):
    r = router.add
    r("GET,HEAD", "/", root)
    r("GET", "/_nodes", nodes, ("timeout", "flat_settings"))
    r("GET", "/_nodes/{metric}", nodes_metric, ("timeout", "flat_settings"))
    r("GET", "/_nodes/{node_id}/{metric}", nodes, ("timeout", "flat_settings"))
    health_params = ("wait_for_status", "timeout", "level", "local", "master_timeout",
                     "cluster_manager_timeout", "wait_for_nodes", "wait_for_active_shards",
                     "wait_for_no_relocating_shards", "wait_for_no_initializing_shards",
                     "wait_for_events", "expand_wildcards", "return_200_for_cluster_health_timeout")
    r("GET", "/_cluster/health", health, health_params)
    r("GET", "/_cluster/health/{index}", health, health_params)
    settings_params = ("flat_settings", "include_defaults", "master_timeout",
                       "cluster_manager_timeout", "timeout")
    r("GET", "/_cluster/settings", get_cluster_settings, settings_params)
    r("PUT", "/_cluster/settings", put_cluster_settings, settings_params)
    r("GET", "/_cat/indices", cat_indices, _CAT_PARAMS)
    r("GET", "/_cat/indices/{index}", cat_indices, _CAT_PARAMS)
    r("GET", "/_cat/count", cat_count, _CAT_PARAMS)
    r("GET", "/_cat/count/{index}", cat_count, _CAT_PARAMS)
    r("GET", "/_cat/aliases", cat_aliases, _CAT_PARAMS)
    r("GET", "/_cat/aliases/{name}", cat_aliases, _CAT_PARAMS)
    r("GET", "/_xpack", xpack, ("categories", "accept_enterprise"),
      when=lambda f: f.is_es)
