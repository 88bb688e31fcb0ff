"""Index templates: legacy `_template`, composable `_index_template`,
`_component_template` (es-api.md §7), and what applies when an index is created.

Why it matters for a shipper: skiff installs templates at start-up and then
relies on them when its first bulk auto-creates the day's index.  The double
stores them, validates them like the real thing (unknown keys, missing
component templates, equal-priority overlaps, product-specific settings) and
applies them on index creation, so a wrong template shows up as the wrong
settings/aliases on the created index, or as the data-stream trap.

Elasticsearch 7.9+ ships built-in composable templates (`logs-*-*` etc., data
streams, priority 100); they are installed on the ES personas unless
disabled, because writing `index` actions into `logs-x-y` names on a stock
cluster really fails.
"""

import copy
import re

from . import settings as settings_mod
from .responses import Response, bad_request, es_error, EsError

_ROOT_MAPPING_KEYS = {"properties", "dynamic", "dynamic_templates", "_source", "_routing", "_meta",
                      "date_detection", "numeric_detection", "dynamic_date_formats",
                      "_field_names", "enabled", "runtime", "_data_stream_timestamp", "subobjects"}


def glob_match(pattern, name):
    if "*" not in pattern:
        return pattern == name
    rx = "^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$"
    return re.match(rx, name) is not None


def _patterns_overlap(a, b):
    if glob_match(a, b) or glob_match(b, a):
        return True
    pa, pb = a.split("*")[0], b.split("*")[0]
    return ("*" in a and "*" in b) and (pa.startswith(pb) or pb.startswith(pa))


def validate_mappings(mappings):
    if mappings is None:
        return
    if not isinstance(mappings, dict):
        raise bad_request("Failed to parse mapping: mappings must be an object",
                          "mapper_parsing_exception")
    extra = [k for k in mappings if k not in _ROOT_MAPPING_KEYS]
    if extra:
        shown = ", ".join("%s : %s" % (k, _java_str(mappings[k])) for k in extra)
        reason = "Root mapping definition has unsupported parameters:  [%s]" % shown
        raise EsError(es_error(400, "mapper_parsing_exception", "Failed to parse mapping: " + reason,
                               caused_by={"type": "mapper_parsing_exception", "reason": reason}))


def _java_str(v):
    if isinstance(v, dict):
        return "{" + ", ".join("%s=%s" % (k, _java_str(x)) for k, x in v.items()) + "}"
    return str(v)


def merge_mappings(base, extra):
    """Deep merge; `extra` wins on conflicts (later template / request body)."""
    out = copy.deepcopy(base) if base else {}
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_mappings(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _patterns(body):
    p = body.get("index_patterns")
    if isinstance(p, str):
        p = [p]
    if not p or not isinstance(p, list):
        raise EsError(es_error(400, "action_request_validation_exception",
                               "Validation Failed: 1: index patterns are missing;"))
    return p


# -- legacy ------------------------------------------------------------------

_LEGACY_KEYS = {"index_patterns", "order", "version", "settings", "mappings", "aliases"}


def put_legacy(store, name, body, create=False):
    if not isinstance(body, dict):
        raise bad_request("request body is required")
    for k in body:
        if k not in _LEGACY_KEYS:
            raise bad_request("unknown key [%s] in the template " % k)
    patterns = _patterns(body)
    flat = settings_mod.normalize(body.get("settings"))
    settings_mod.validate(store.flavor, flat)
    validate_mappings(body.get("mappings"))
    if create and name in store.legacy_templates:
        raise bad_request("index_template [%s] already exists" % name)
    store.legacy_templates[name] = {
        "order": int(body.get("order", 0)), "version": body.get("version"),
        "index_patterns": patterns, "settings": flat,
        "mappings": body.get("mappings") or {}, "aliases": body.get("aliases") or {}}
    store.save_state()
    return Response(200, {"acknowledged": True})


def legacy_view(t):
    out = {"order": t["order"]}
    if t.get("version") is not None:
        out["version"] = t["version"]
    out.update({"index_patterns": t["index_patterns"], "settings": settings_mod.nest(t["settings"]),
                "mappings": t["mappings"], "aliases": t["aliases"]})
    return out


# -- component -------------------------------------------------------------------

def put_component(store, name, body):
    if not isinstance(body, dict) or not isinstance(body.get("template"), dict):
        raise EsError(es_error(400, "action_request_validation_exception",
                               "Validation Failed: 1: template is required;"))
    for k in body:
        if k not in ("template", "version", "_meta"):
            raise EsError(es_error(400, "x_content_parse_exception",
                                   "[1:2] [component_template] unknown field [%s]" % k))
    tmpl = body["template"]
    for k in tmpl:
        if k not in ("settings", "mappings", "aliases", "lifecycle"):
            raise EsError(es_error(400, "x_content_parse_exception",
                                   "[1:14] [template] unknown field [%s]" % k))
    flat = settings_mod.normalize(tmpl.get("settings"))
    settings_mod.validate(store.flavor, flat)
    validate_mappings(tmpl.get("mappings"))
    stored = copy.deepcopy(body)
    stored["template"]["settings"] = flat
    store.component_templates[name] = stored
    store.save_state()
    return Response(200, {"acknowledged": True})


def component_view(t):
    out = copy.deepcopy(t)
    if out["template"].get("settings"):
        out["template"]["settings"] = settings_mod.nest(out["template"]["settings"])
    else:
        out["template"].pop("settings", None)
    return out


# -- composable --------------------------------------------------------------------

_COMPOSABLE_KEYS = {"index_patterns", "template", "composed_of", "priority", "version", "_meta",
                    "data_stream", "allow_auto_create", "ignore_missing_component_templates"}


def put_composable(store, name, body, create=False):
    if not isinstance(body, dict):
        raise bad_request("request body is required")
    for k in body:
        if k not in _COMPOSABLE_KEYS:
            raise EsError(es_error(400, "x_content_parse_exception",
                                   "[1:2] [index_template] unknown field [%s]" % k))
    patterns = _patterns(body)
    composed = body.get("composed_of") or []
    missing = [c for c in composed if c not in store.component_templates]
    ignore = body.get("ignore_missing_component_templates") or []
    missing = [c for c in missing if c not in ignore]
    if missing:
        raise bad_request("index template [%s] specifies component templates %s that do not exist"
                          % (name, "[" + ", ".join(missing) + "]"))
    priority = int(body.get("priority") or 0)
    for other, t in store.index_templates.items():
        if other == name or int(t.get("priority") or 0) != priority:
            continue
        if any(_patterns_overlap(a, b) for a in patterns for b in t["index_patterns"]):
            raise bad_request(
                "index template [%s] has index patterns %s matching patterns from existing "
                "templates [%s] with patterns (%s => %s) that overlap with the same priority [%d], "
                "use index template priorities to resolve this"
                % (name, "[" + ", ".join(patterns) + "]", other, other,
                   "[" + ", ".join(t["index_patterns"]) + "]", priority))
    if create and name in store.index_templates:
        raise bad_request("index template [%s] already exists" % name)
    tmpl = body.get("template") or {}
    for k in tmpl:
        if k not in ("settings", "mappings", "aliases", "lifecycle"):
            raise EsError(es_error(400, "x_content_parse_exception",
                                   "[1:14] [template] unknown field [%s]" % k))
    flat = settings_mod.normalize(tmpl.get("settings"))
    settings_mod.validate(store.flavor, flat)
    validate_mappings(tmpl.get("mappings"))
    stored = copy.deepcopy(body)
    stored["index_patterns"] = patterns
    stored.setdefault("template", {})
    stored["template"]["settings"] = flat
    store.index_templates[name] = stored
    store.save_state()
    return Response(200, {"acknowledged": True})


def composable_view(t):
    out = copy.deepcopy(t)
    tmpl = out.get("template", {})
    if tmpl.get("settings"):
        tmpl["settings"] = settings_mod.nest(tmpl["settings"])
    else:
        tmpl.pop("settings", None)
    if not tmpl:
        out.pop("template", None)
    out.setdefault("composed_of", [])
    return out


def find_composable(store, name):
    """(template name, template) of the highest-priority composable match."""
    best = None
    for tname, t in store.index_templates.items():
        if name.startswith(".") and not any(p.startswith(".") for p in t["index_patterns"]):
            continue
        if any(glob_match(p, name) for p in t["index_patterns"]):
            prio = int(t.get("priority") or 0)
            if best is None or prio > best[0]:
                best = (prio, tname, t)
    return (best[1], best[2]) if best else (None, None)


def resolve(store, name, for_backing_of=None):
    """What templates give a new index `name`: dict(settings, mappings, aliases,
    data_stream, template).  `for_backing_of` is the data stream name when
    creating a backing index (matching is done on the stream name)."""
    match_name = for_backing_of or name
    tname, t = find_composable(store, match_name)
    flat, mappings, aliases = {}, {}, {}
    if t is not None:
        for comp in t.get("composed_of") or []:
            c = store.component_templates.get(comp)
            if not c:
                continue
            ct = c["template"]
            flat.update(ct.get("settings") or {})
            mappings = merge_mappings(mappings, ct.get("mappings"))
            aliases.update(ct.get("aliases") or {})
        own = t.get("template") or {}
        flat.update(own.get("settings") or {})
        mappings = merge_mappings(mappings, own.get("mappings"))
        aliases.update(own.get("aliases") or {})
        return {"settings": flat, "mappings": mappings, "aliases": aliases,
                "data_stream": "data_stream" in t and t["data_stream"] is not None,
                "template": tname, "data_stream_spec": t.get("data_stream")}
    legacy = sorted(((t["order"], n, t) for n, t in store.legacy_templates.items()
                     if any(glob_match(p, match_name) for p in t["index_patterns"])),
                    key=lambda x: (x[0], x[1]))
    used = []
    for _, n, t in legacy:
        flat.update(t["settings"])
        mappings = merge_mappings(mappings, t["mappings"])
        aliases.update(t["aliases"])
        used.append(n)
    return {"settings": flat, "mappings": mappings, "aliases": aliases, "data_stream": False,
            "template": used[-1] if used else None, "data_stream_spec": None}


# -- built-ins -----------------------------------------------------------------------

def install_builtins(store):
    """Elasticsearch's stack templates (7.9+, `stack.templates.enabled`)."""
    if not store.flavor.is_es or store.flavor.aws or store.flavor.version < (7, 9, 0):
        return
    ilm = store.flavor.has_ilm
    for kind in ("logs", "metrics", "synthetics"):
        comp_settings = {"index.codec": "best_compression"} if kind == "logs" else {}
        if ilm:
            comp_settings["index.lifecycle.name"] = kind
        store.component_templates["%s-settings" % kind] = {
            "template": {"settings": comp_settings}, "version": 1,
            "_meta": {"description": "default %s settings shipped by Elasticsearch" % kind,
                      "managed": True}}
        store.component_templates["%s-mappings" % kind] = {
            "template": {"mappings": {"properties": {"@timestamp": {"type": "date"}}}},
            "version": 1, "_meta": {"managed": True}}
        store.index_templates[kind] = {
            "index_patterns": ["%s-*-*" % kind], "priority": 100, "version": 1,
            "composed_of": ["%s-mappings" % kind, "%s-settings" % kind],
            "data_stream": {"hidden": False, "allow_custom_routing": False},
            "allow_auto_create": True, "template": {"settings": {}},
            "_meta": {"description": "default %s template installed by x-pack" % kind,
                      "managed": True}}
        if ilm:
            store.ilm_policies.setdefault(kind, {
                "version": 1, "modified_date": "2024-01-01T00:00:00.000Z",
                "policy": {"phases": {"hot": {"min_age": "0ms", "actions": {"rollover": {
                    "max_primary_shard_size": "50gb", "max_age": "30d"}}}},
                    "_meta": {"description": "built-in policy", "managed": True}}})

