"""Template endpoints: `_template`, `_index_template`, `_component_template`
(es-api.md §7).  The logic lives in templates.py; this is the REST glue."""

from . import templates
from .responses import EsError, Response, es_error


def _select(store_dict, name):
    if name in (None, "*", "_all"):
        return dict(store_dict)
    out = {}
    for part in name.split(","):
        for n, t in store_dict.items():
            if templates.glob_match(part, n):
                out[n] = t
    return out


# -- legacy ---------------------------------------------------------------------

def put_legacy(double, req, name):
    with double.store.lock:
        return templates.put_legacy(double.store, name, req.json(required=True),
                                    create=req.bool_param("create"))


def get_legacy(double, req, name=None):
    with double.store.lock:
        found = _select(double.store.legacy_templates, name)
        if not found and name is not None:
            return Response(404, {})
        return Response(200, {n: templates.legacy_view(t) for n, t in found.items()})


def head_legacy(double, req, name):
    with double.store.lock:
        found = _select(double.store.legacy_templates, name)
    return Response(200 if found else 404, raw=b"")


def delete_legacy(double, req, name):
    store = double.store
    with store.lock:
        found = _select(store.legacy_templates, name)
        if not found:
            raise EsError(es_error(404, "index_template_missing_exception",
                                   "index_template [%s] missing" % name))
        for n in found:
            del store.legacy_templates[n]
        store.save_state()
    return Response(200, {"acknowledged": True})


# -- composable ---------------------------------------------------------------------

def put_composable(double, req, name):
    with double.store.lock:
        return templates.put_composable(double.store, name, req.json(required=True),
                                        create=req.bool_param("create"))


def get_composable(double, req, name=None):
    with double.store.lock:
        found = _select(double.store.index_templates, name)
        if not found and name is not None and "*" not in name:
            raise EsError(es_error(404, "resource_not_found_exception",
                                   "index template matching [%s] not found" % name))
        return Response(200, {"index_templates": [
            {"name": n, "index_template": templates.composable_view(t)} for n, t in found.items()]})


def head_composable(double, req, name):
    with double.store.lock:
        found = _select(double.store.index_templates, name)
    return Response(200 if found else 404, raw=b"")


def delete_composable(double, req, name):
    store = double.store
    with store.lock:
        found = _select(store.index_templates, name)
        if not found:
            raise EsError(es_error(404, "resource_not_found_exception",
                                   "index_template matching [%s] not found" % name))
        for n in found:
            users = [ds for ds, d in store.data_streams.items() if d.get("template") == n]
            if users:
                raise EsError(es_error(400, "illegal_argument_exception",
                                       "unable to remove composable templates [%s] as they are in "
                                       "use by a data streams [%s]" % (n, ", ".join(users))))
        for n in found:
            del store.index_templates[n]
        store.save_state()
    return Response(200, {"acknowledged": True})


# -- component ----------------------------------------------------------------------

def put_component(double, req, name):
    with double.store.lock:
        return templates.put_component(double.store, name, req.json(required=True))


def get_component(double, req, name=None):
    with double.store.lock:
        found = _select(double.store.component_templates, name)
        if not found and name is not None and "*" not in name:
            raise EsError(es_error(404, "resource_not_found_exception",
                                   "component template matching [%s] not found" % name))
        return Response(200, {"component_templates": [
            {"name": n, "component_template": templates.component_view(t)}
            for n, t in found.items()]})


def delete_component(double, req, name):
    store = double.store
    with store.lock:
        found = _select(store.component_templates, name)
        if not found:
            raise EsError(es_error(404, "resource_not_found_exception",
                                   "component template matching [%s] not found" % name))
        for n in found:
            users = [t for t, body in store.index_templates.items()
                     if n in (body.get("composed_of") or [])]
            if users:
                raise EsError(es_error(400, "illegal_argument_exception",
                                       "component templates [%s] cannot be removed as they are "
                                       "still in use by index templates [%s]"
                                       % (n, ", ".join(users))))
        for n in found:
            del store.component_templates[n]
        store.save_state()
    return Response(200, {"acknowledged": True})


def register(router):
    r = router.add
    p = ("create", "master_timeout", "cluster_manager_timeout", "timeout", "order", "cause",
         "flat_settings", "local", "include_type_name")
    r("PUT,POST", "/_template/{name}", put_legacy, p)
    r("GET", "/_template", get_legacy, p)
    r("GET", "/_template/{name}", get_legacy, p)
    r("HEAD", "/_template/{name}", head_legacy, p)
    r("DELETE", "/_template/{name}", delete_legacy, p)
    r("PUT,POST", "/_index_template/{name}", put_composable, p)
    r("GET", "/_index_template", get_composable, p)
    r("GET", "/_index_template/{name}", get_composable, p)
    r("HEAD", "/_index_template/{name}", head_composable, p)
    r("DELETE", "/_index_template/{name}", delete_composable, p)
    r("PUT,POST", "/_component_template/{name}", put_component, p)
    r("GET", "/_component_template", get_component, p)
    r("GET", "/_component_template/{name}", get_component, p)
    r("HEAD", "/_component_template/{name}",
      lambda d, q, name: Response(200 if _select(d.store.component_templates, name) else 404,
                                  raw=b""), p)
    r("DELETE", "/_component_template/{name}", delete_component, p)
