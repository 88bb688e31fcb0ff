"""`_rollover` (es-api.md §10): condition evaluation, name increment, date
re-evaluation of date-math names, write-alias swap, data-stream generations.

Also used by the lifecycle runner (`POST /_double/lifecycle/run`) to play
ILM/ISM rollover actions, so a test can make skiff live through rollovers.
"""

import re

from . import datastreams
from . import indices
from . import names
from .responses import EsError, Response, bad_request, es_error

_INDEX_NAME = re.compile(r"^.*-\d+$")

_SIZE = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}
_TIME = {"nanos": 1e-6, "micros": 1e-3, "ms": 1, "s": 1000, "m": 60000, "h": 3600000,
         "d": 86400000}

_ES_MAX = ("max_age", "max_docs", "max_size", "max_primary_shard_size", "max_primary_shard_docs")
_ES_MIN = ("min_age", "min_docs", "min_size", "min_primary_shard_size", "min_primary_shard_docs")


def parse_size(v):
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*", str(v))
    if not m or m.group(2).lower() not in _SIZE:
        raise bad_request("failed to parse setting [max_size] with value [%s] as a size in bytes: "
                          "unit is missing or unrecognized" % v, "parse_exception")
    return int(float(m.group(1)) * _SIZE[m.group(2).lower()])


def parse_age_ms(v):
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", str(v))
    if not m or m.group(2) not in _TIME:
        raise bad_request("failed to parse [%s] as a time value: unit is missing or unrecognized"
                          % v, "parse_exception")
    return int(float(m.group(1)) * _TIME[m.group(2)])


def allowed_conditions(flavor):
    if flavor.is_opensearch:
        return ("max_age", "max_docs", "max_size", "max_primary_shard_size")
    allowed = ["max_age", "max_docs", "max_size"]
    if flavor.version >= (7, 13, 0):
        allowed.append("max_primary_shard_size")
    if flavor.version >= (8, 2, 0):
        allowed.append("max_primary_shard_docs")
    if flavor.version >= (8, 4, 0):
        allowed += list(_ES_MIN)
    return tuple(allowed)


def evaluate(store, ix, conditions):
    """{"[max_age: 1d]": bool, ...} and whether the rollover happens."""
    results = {}
    max_met, min_ok, any_max = False, True, False
    age_ms = store.clock.now_ms() - ix.created_ms
    docs = len(ix.docs)
    size = ix.size_bytes()
    for name, value in conditions.items():
        if name.endswith("age"):
            met = age_ms >= parse_age_ms(value)
        elif name.endswith("docs"):
            met = docs >= int(value)
        else:
            met = size >= parse_size(value)
        results["[%s: %s]" % (name, str(value).lower() if not name.endswith("docs") else value)] = met
        if name.startswith("max_"):
            any_max = True
            max_met = max_met or met
        else:
            min_ok = min_ok and met
    if not conditions:
        return results, True
    return results, (max_met or not any_max) and min_ok


def next_name(provided):
    """Elasticsearch's generateRolloverIndexName, applied to the *provided*
    name so that a date-math name is re-evaluated at rollover time."""
    is_math = names.is_date_math(provided)
    inner = provided[1:-1] if is_math else provided
    if not _INDEX_NAME.match(inner):
        raise bad_request("index name [%s] does not match pattern '^.*-\\d+$'" % provided)
    cut = inner.rfind("-")
    counter = int(inner[cut + 1:])
    new = inner[:cut] + "-%06d" % (counter + 1)
    return "<%s>" % new if is_math else new


def _parse_body(double, body):
    body = body or {}
    if not isinstance(body, dict):
        raise bad_request("request body must be an object")
    for k in body:
        if k not in ("conditions", "settings", "mappings", "aliases"):
            raise EsError(es_error(400, "x_content_parse_exception",
                                   "[1:2] [rollover] unknown field [%s]" % k))
    conditions = body.get("conditions") or {}
    allowed = allowed_conditions(double.flavor)
    for k in conditions:
        if k not in allowed:
            raise EsError(es_error(400, "x_content_parse_exception",
                                   "[1:16] [conditions] unknown field [%s]" % k))
    return body, conditions


def api(double, req, target, new_index=None):
    body, conditions = _parse_body(double, req.json())
    dry_run = req.bool_param("dry_run")
    store = double.store
    with store.lock:
        return Response(200, perform(double, target, new_index, conditions, dry_run,
                                     {k: body[k] for k in ("settings", "mappings", "aliases")
                                      if k in body}))


def perform(double, target, new_index, conditions, dry_run, create_body=None):
    store = double.store
    target = indices.resolve_name(store, target)
    if target in store.data_streams:
        old, new, gen = datastreams.rollover(store, target, new_index)
        results, met = evaluate(store, store.indices[old], conditions)
        if met and not dry_run:
            datastreams.commit_rollover(store, target, new, gen)
            store.indices[old].rolled_over = True
            store.indices[old].rolled_over_ms = store.clock.now_ms()
        return _answer(double, old, new, met and not dry_run, dry_run, results)
    if target in store.indices:
        raise bad_request("rollover target is a [concrete index] but one of [alias,data_stream] "
                          "was expected")
    members = store.alias_members(target)
    if not members:
        raise bad_request("rollover target [%s] does not exist" % target)
    writers = [n for n, p in members.items() if p.get("is_write_index") is True]
    if writers:
        old = writers[0]
    elif len(members) == 1 and next(iter(members.values())).get("is_write_index") is not False:
        old = next(iter(members))
    else:
        raise bad_request("rollover target [%s] does not point to a write index" % target)
    old_ix = store.indices[old]
    if new_index:
        provided = new_index
    else:
        provided = next_name(old_ix.provided_name)
    new = indices.resolve_name(store, provided)
    if new in store.indices:
        raise indices.already_exists(store.indices[new])
    results, met = evaluate(store, old_ix, conditions)
    if met and not dry_run:
        explicit = members[old].get("is_write_index") is True
        body = dict(create_body or {})
        ix = indices.create_index(store, new, body,
                                  provided_name=provided if names.is_date_math(provided) else None)
        props = dict(members[old])
        if explicit:
            old_ix.aliases[target]["is_write_index"] = False
            props["is_write_index"] = True
        else:
            del old_ix.aliases[target]
        ix.aliases[target] = props
        old_ix.rolled_over = True
        old_ix.rolled_over_ms = store.clock.now_ms()
        store.save_state()
    return _answer(double, old, new, met and not dry_run, dry_run, results)


def _answer(double, old, new, rolled, dry_run, results):
    body = {"acknowledged": rolled, "shards_acknowledged": rolled, "old_index": old,
            "new_index": new, "rolled_over": rolled, "dry_run": dry_run}
    if double.flavor.lazy_rollover_field:
        body["lazy"] = False
    body["conditions"] = results
    return body


def register(router):
    p = ("dry_run", "wait_for_active_shards", "timeout", "master_timeout",
         "cluster_manager_timeout", "lazy", "include_type_name")
    router.add("POST", "/{target}/_rollover", api, p)
    router.add("POST", "/{target}/_rollover/{new_index}", api, p)
