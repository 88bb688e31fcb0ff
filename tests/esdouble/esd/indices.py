"""Index lifecycle primitives: create (explicit and automatic), resolve names
and wildcard expressions, aliases (es-api.md §6).

Why separate from the HTTP handlers: bulk auto-creation, `PUT /<index>`,
rollover and data streams all create indices, and must do it the same way
(template application, alias checks, default settings).  Functions here
raise EsError with the real error body; bulk turns that into an item error.
"""

from . import names
from . import settings as settings_mod
from . import templates
from .responses import EsError, es_error, bad_request, index_not_found


def name_error(err, status=400):
    """EsError for a names.NameError_."""
    fields = {"index_uuid": "_na_", "index": err.name} if err.type == "invalid_index_name_exception" \
        else {}
    return EsError(es_error(status, err.type, err.reason, **fields))


def resolve_name(store, raw):
    """Resolve date math in a single index name (raises EsError)."""
    try:
        return names.resolve(raw, store.clock.now())
    except names.NameError_ as e:
        raise name_error(e)


def already_exists(ix):
    return EsError(es_error(400, "resource_already_exists_exception",
                            "index [%s/%s] already exists" % (ix.name, ix.uuid),
                            index_uuid=ix.uuid, index=ix.name))


def create_index(store, name, body=None, provided_name=None, data_stream=None):
    """Create concrete index `name` (already date-math resolved).

    `body` is the create-index body (settings/mappings/aliases) or None.
    `data_stream` is the stream name when creating a backing index.
    Returns the Index.  Raises EsError on any validation failure.
    """
    from .store import Index
    try:
        names.validate_index_name(name)
    except names.NameError_ as e:
        raise name_error(e)
    if name in store.indices:
        raise already_exists(store.indices[name])
    if store.is_alias(name):
        raise EsError(es_error(400, "invalid_index_name_exception",
                               "Invalid index name [%s], already exists as alias" % name,
                               index_uuid="_na_", index=name))
    if name in store.data_streams:
        raise EsError(es_error(400, "resource_already_exists_exception",
                               "data stream [%s] already exists" % name))
    body = body or {}
    if not isinstance(body, dict):
        raise bad_request("request body must be an object")
    for k in body:
        if k not in ("settings", "mappings", "aliases"):
            raise bad_request("unknown key [%s] for create index" % k, "parse_exception")
    t = templates.resolve(store, name, for_backing_of=data_stream)
    if t["data_stream"] and data_stream is None:
        raise bad_request("cannot create index with name [%s], because it matches with template "
                          "[%s] that creates data streams only, use create data stream api instead"
                          % (name, t["template"]))
    flat = dict(t["settings"])
    own = settings_mod.normalize(body.get("settings"))
    settings_mod.validate(store.flavor, own)
    flat.update(own)
    templates.validate_mappings(body.get("mappings"))
    mappings = templates.merge_mappings(t["mappings"], body.get("mappings"))
    aliases = dict(t["aliases"])
    aliases.update(body.get("aliases") or {})
    uuid = store.new_uuid()
    created = store.clock.now_ms()
    flat.setdefault("index.number_of_shards", "1")
    flat.setdefault("index.number_of_replicas", "1")
    flat.update({"index.uuid": uuid, "index.creation_date": str(created),
                 "index.provided_name": provided_name or name,
                 "index.version.created": _version_created(store.flavor)})
    if data_stream:
        flat["index.hidden"] = "true"
    ix = Index(name, uuid, created, flat, mappings, provided_name or name)
    ix.data_stream = data_stream
    for alias, props in aliases.items():
        check_alias_name(store, alias)
        ix.aliases[alias] = alias_props(props)
    for alias, props in ix.aliases.items():
        if props.get("is_write_index") is True:
            others = [n for n, p in store.alias_members(alias).items()
                      if p.get("is_write_index") is True]
            if others:
                raise EsError(es_error(400, "illegal_state_exception",
                                       "alias [%s] has more than one write index [%s]"
                                       % (alias, ",".join(others + [name]))))
    _attach_ism_template(store, ix)
    store.add_index(ix)
    return ix


def _version_created(flavor):
    major, minor, patch = flavor.version
    return str(major * 1000000 + minor * 10000 + patch * 100 + 99)


def _attach_ism_template(store, ix):
    """OpenSearch ISM: policies with a matching ism_template manage new indices."""
    if not store.flavor.ism_bases:
        return
    best = None
    for pid, p in store.ism_policies.items():
        tmpls = p["policy"].get("ism_template") or []
        if isinstance(tmpls, dict):
            tmpls = [tmpls]
        for t in tmpls:
            if any(templates.glob_match(pat, ix.name) for pat in t.get("index_patterns", [])):
                prio = int(t.get("priority", 0))
                if best is None or prio > best[0]:
                    best = (prio, pid)
    if best:
        ix.ism_policy = best[1]


def check_alias_name(store, alias):
    try:
        names.validate_alias_name(alias)
    except names.NameError_ as e:
        raise name_error(e)
    if alias in store.indices or alias in store.data_streams:
        raise EsError(es_error(400, "invalid_alias_name_exception",
                               "Invalid alias name [%s]: an index or data stream exists with the "
                               "same name as the alias" % alias))


_ALIAS_KEYS = ("is_write_index", "routing", "index_routing", "search_routing", "filter", "is_hidden")


def alias_props(props):
    out = {}
    for k in _ALIAS_KEYS:
        if isinstance(props, dict) and k in props and props[k] is not None:
            v = props[k]
            if k in ("is_write_index", "is_hidden"):
                v = v if isinstance(v, bool) else str(v).lower() == "true"
            out[k] = v
    return out


def scan_alias_body(obj, found=None):
    """Collect alias keys anywhere in the body, ignoring nesting depth.

    Elasticsearch's RestIndexPutAliasAction reads the body token by token and
    picks these fields up wherever they are; fluent-plugin-elasticsearch
    relies on that by sending {"aliases":{"x":{"is_write_index":true}}}.
    """
    found = {} if found is None else found
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "filter" and isinstance(v, dict):
                found["filter"] = v
            elif k in ("is_write_index", "routing", "index_routing", "search_routing", "index",
                       "alias") and not isinstance(v, (dict, list)):
                found[k] = v
            else:
                scan_alias_body(v, found)
    elif isinstance(obj, list):
        for v in obj:
            scan_alias_body(v, found)
    return found


def ensure_single_write_index(store, alias):
    writers = [n for n, p in store.alias_members(alias).items() if p.get("is_write_index") is True]
    if len(writers) > 1:
        raise EsError(es_error(400, "illegal_state_exception",
                               "alias [%s] has more than one write index [%s]"
                               % (alias, ",".join(writers))))


# ---------------------------------------------------------------------------
# Read-side resolution of index expressions

def _visible_names(store, include_hidden):
    for name, ix in store.indices.items():
        hidden = name.startswith(".") or settings_mod.parse_bool(ix.settings.get("index.hidden", "false"))
        if include_hidden or not hidden:
            yield name


def resolve_expression(store, expr, ignore_unavailable=False, allow_no_indices=True,
                       include_hidden=False):
    """Concrete Index objects for a comma list of names, aliases, data streams
    and wildcards (with `-` exclusions).  Raises EsError 404 for a missing
    explicit name unless `ignore_unavailable`."""
    result = []
    seen = set()

    def add(name):
        if name not in seen and name in store.indices:
            seen.add(name)
            result.append(name)

    parts = [p for p in (expr or "_all").split(",") if p != ""]
    wildcard_seen = False
    for part in parts:
        if part.startswith("-") and wildcard_seen:
            pat = resolve_name(store, part[1:])
            drop = set(_match_all_kinds(store, pat, include_hidden=True))
            result = [n for n in result if n not in drop]
            seen -= drop
            continue
        if part in ("_all", "*"):
            wildcard_seen = True
            for n in _visible_names(store, include_hidden):
                add(n)
            continue
        if "*" in part:
            wildcard_seen = True
            for n in _match_all_kinds(store, part, include_hidden or part.startswith(".")):
                add(n)
            continue
        name = resolve_name(store, part)
        concrete = concrete_for(store, name)
        if not concrete:
            if ignore_unavailable:
                continue
            raise EsError(index_not_found(name))
        for n in concrete:
            add(n)
    if not result and not allow_no_indices:
        raise EsError(index_not_found(expr))
    return [store.indices[n] for n in result]


def concrete_for(store, name):
    """Indices behind a single exact name (index, alias, or data stream)."""
    if name in store.indices:
        return [name]
    if name in store.data_streams:
        return list(store.data_streams[name]["indices"])
    members = store.alias_members(name)
    return list(members)


def _match_all_kinds(store, pattern, include_hidden):
    out = []
    for n in _visible_names(store, include_hidden):
        if templates.glob_match(pattern, n):
            out.append(n)
    for n, ix in list(store.indices.items()):
        for alias in ix.aliases:
            if templates.glob_match(pattern, alias):
                out.append(n)
    for ds, d in store.data_streams.items():
        if templates.glob_match(pattern, ds):
            out.extend(d["indices"])
    return out

