"""Alias endpoints (es-api.md §6.3, §10.1).

Rollover bootstrapping depends on these exact answers: `HEAD /_alias/x`
404 before the first index exists, `PUT /<index>/_alias/<x>` with the body
fluent-plugin-elasticsearch sends, and the write-index rules that decide
where bulk items through the alias land.
"""

import copy

from . import indices
from . import templates
from .responses import EsError, Response, bad_request, es_error


def _alias_filter(store, name):
    """Alias names matching `name` (comma list, wildcards, _all)."""
    all_aliases = []
    for ix in store.indices.values():
        for a in ix.aliases:
            if a not in all_aliases:
                all_aliases.append(a)
    if name in (None, "_all", "*"):
        return all_aliases, []
    found, missing = [], []
    for part in name.split(","):
        matched = [a for a in all_aliases if templates.glob_match(part, a)]
        if not matched and "*" not in part:
            missing.append(part)
        found.extend(m for m in matched if m not in found)
    return found, missing


def get_alias(double, req, name=None, index=None):
    store = double.store
    with store.lock:
        targets = indices.resolve_expression(store, index) if index else \
            [ix for ix in store.indices.values()]
        wanted, missing = _alias_filter(store, name)
        out = {}
        for ix in targets:
            props = {a: dict(p) for a, p in ix.aliases.items() if a in wanted}
            if props or name is None:
                out[ix.name] = {"aliases": props}
        if missing:
            body = {"error": "alias [%s] missing" % ",".join(missing), "status": 404}
            body.update(out)
            return Response(404, body)
        if name is not None and not out and "*" not in name and name != "_all":
            return Response(404, {"error": "alias [%s] missing" % name, "status": 404})
        return Response(200, out)


def head_alias(double, req, name, index=None):
    resp = get_alias(double, req, name, index)
    ok = resp.status == 200 and bool(resp.obj)
    return Response(200 if ok else 404, raw=b"")


def put_alias(double, req, index, name):
    body = req.json()
    props = indices.scan_alias_body(body or {})
    store = double.store
    with store.lock:
        alias = indices.resolve_name(store, name)
        indices.check_alias_name(store, alias)
        targets = indices.resolve_expression(store, index)
        snapshot = {ix.name: copy.deepcopy(ix.aliases) for ix in targets}
        for ix in targets:
            ix.aliases[alias] = indices.alias_props(props)
        try:
            indices.ensure_single_write_index(store, alias)
        except EsError:
            for ix in targets:
                ix.aliases = snapshot[ix.name]
            raise
        store.save_state()
    return Response(200, {"acknowledged": True})


def delete_alias(double, req, index, name):
    store = double.store
    with store.lock:
        targets = indices.resolve_expression(store, index)
        removed = False
        for ix in targets:
            for a in [a for a in ix.aliases if templates.glob_match(name, a)]:
                del ix.aliases[a]
                removed = True
        if not removed:
            return Response(404, {"error": "aliases [%s] missing" % name, "status": 404})
        store.save_state()
    return Response(200, {"acknowledged": True})


def _names(action, single, plural):
    v = action.get(single, action.get(plural))
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def post_aliases(double, req):
    body = req.json(required=True)
    if not isinstance(body, dict) or not isinstance(body.get("actions"), list):
        raise EsError(es_error(400, "action_request_validation_exception",
                               "Validation Failed: 1: No action specified;"))
    store = double.store
    with store.lock:
        snapshot = {n: copy.deepcopy(ix.aliases) for n, ix in store.indices.items()}
        try:
            for act in body["actions"]:
                _apply_action(store, act)
            for alias in {a for ix in store.indices.values() for a in ix.aliases}:
                indices.ensure_single_write_index(store, alias)
        except EsError:
            for n, aliases in snapshot.items():
                if n in store.indices:
                    store.indices[n].aliases = aliases
            raise
        store.save_state()
    return Response(200, {"acknowledged": True})


def _apply_action(store, act):
    if not isinstance(act, dict) or len(act) != 1:
        raise bad_request("[aliases] failed to parse field [actions]", "x_content_parse_exception")
    kind, spec = next(iter(act.items()))
    if kind not in ("add", "remove", "remove_index"):
        raise bad_request("[aliases] unknown field [%s]" % kind, "x_content_parse_exception")
    index_names = _names(spec, "index", "indices")
    if not index_names:
        raise EsError(es_error(400, "action_request_validation_exception",
                               "Validation Failed: 1: One of [index] or [indices] is required;"))
    targets = []
    for n in index_names:
        targets.extend(indices.resolve_expression(store, n))
    if kind == "remove_index":
        for ix in targets:
            store.delete_index(ix.name)
        return
    alias_names = _names(spec, "alias", "aliases")
    if not alias_names:
        raise EsError(es_error(400, "action_request_validation_exception",
                               "Validation Failed: 1: One of [alias] or [aliases] is required;"))
    for alias in alias_names:
        if kind == "add":
            indices.check_alias_name(store, alias)
            for ix in targets:
                ix.aliases[alias] = indices.alias_props(spec)
        else:
            hit = False
            for ix in targets:
                for a in [a for a in ix.aliases if templates.glob_match(alias, a)]:
                    del ix.aliases[a]
                    hit = True
            if not hit and spec.get("must_exist", True) is not False:
                raise EsError(es_error(404, "aliases_not_found_exception",
                                       "aliases [%s] missing" % alias,
                                       **{"resource.type": "aliases", "resource.id": alias}))


def register(router):
    r = router.add
    p = ("ignore_unavailable", "allow_no_indices", "expand_wildcards", "local", "timeout",
         "master_timeout", "cluster_manager_timeout", "must_exist")
    r("GET", "/_alias", get_alias, p)
    r("GET", "/_aliases", get_alias, p)
    r("GET,HEAD", "/_alias/{name}", lambda d, q, name: (head_alias if q.method == "HEAD"
                                                        else get_alias)(d, q, name), p)
    r("GET", "/{index}/_alias", lambda d, q, index: get_alias(d, q, None, index), p)
    r("GET", "/{index}/_aliases", lambda d, q, index: get_alias(d, q, None, index), p)
    r("GET,HEAD", "/{index}/_alias/{name}",
      lambda d, q, index, name: (head_alias if q.method == "HEAD" else get_alias)(d, q, name, index),
      p)
    r("PUT,POST", "/{index}/_alias/{name}", put_alias, p)
    r("PUT,POST", "/{index}/_aliases/{name}", put_alias, p)
    r("DELETE", "/{index}/_alias/{name}", delete_alias, p)
    r("DELETE", "/{index}/_aliases/{name}", delete_alias, p)
    r("POST", "/_aliases", post_aliases, p)
