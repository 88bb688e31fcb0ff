"""Elasticsearch ILM (es-api.md §8): policies and explain.

Only on the ES personas; OpenSearch answers "no handler found" and the
Amazon front end "not allowed", which is how a shipper learns to use ISM
instead.  Policies are validated (phases, actions per phase, rollover
conditions) because skiff ships a hot-warm-cold policy JSON and a typo in it
must fail here, not in production.  `explain` reports the classic
misconfiguration (rollover alias missing or not pointing at the index).
"""

from . import rollover
from .responses import EsError, Response, amazon, bad_request, es_error

_PHASE_ACTIONS = {
    "hot": {"set_priority", "unfollow", "rollover", "readonly", "downsample", "shrink",
            "forcemerge", "searchable_snapshot"},
    "warm": {"set_priority", "unfollow", "readonly", "downsample", "allocate", "migrate",
             "shrink", "forcemerge"},
    "cold": {"set_priority", "unfollow", "readonly", "downsample", "searchable_snapshot",
             "allocate", "migrate", "freeze"},
    "frozen": {"unfollow", "searchable_snapshot"},
    "delete": {"wait_for_snapshot", "delete"},
}


def _check_policy(flavor, body):
    if not isinstance(body, dict) or set(body) != {"policy"} or not isinstance(body["policy"], dict):
        if isinstance(body, dict):
            for k in body:
                if k != "policy":
                    raise EsError(es_error(400, "x_content_parse_exception",
                                           "[1:2] [put_lifecycle_request] unknown field [%s]" % k))
        raise EsError(es_error(400, "x_content_parse_exception",
                               "[1:2] Required [policy]"))
    policy = body["policy"]
    for k in policy:
        if k not in ("phases", "_meta"):
            raise EsError(es_error(400, "x_content_parse_exception",
                                   "[1:12] [lifecycle_policy] unknown field [%s]" % k))
    phases = policy.get("phases")
    if not isinstance(phases, dict):
        raise EsError(es_error(400, "x_content_parse_exception", "[1:12] Required [phases]"))
    for phase, spec in phases.items():
        if phase not in _PHASE_ACTIONS:
            raise bad_request("Timeseries lifecycle does not support phase [%s]" % phase)
        if not isinstance(spec, dict):
            raise EsError(es_error(400, "x_content_parse_exception",
                                   "[1:24] [phase] failed to parse field [%s]" % phase))
        for k in spec:
            if k not in ("min_age", "actions"):
                raise EsError(es_error(400, "x_content_parse_exception",
                                       "[1:24] [phase] unknown field [%s]" % k))
        if "min_age" in spec:
            rollover.parse_age_ms(spec["min_age"])
        actions = spec.get("actions") or {}
        for action in actions:
            if action not in set().union(*_PHASE_ACTIONS.values()):
                raise EsError(es_error(400, "x_content_parse_exception",
                                       "[1:40] [actions] unknown field [%s]" % action))
            if action not in _PHASE_ACTIONS[phase] or (action == "freeze" and flavor.major >= 8):
                raise bad_request("invalid action [%s] defined in phase [%s]" % (action, phase))
        if "rollover" in actions:
            cond = actions["rollover"] or {}
            allowed = rollover.allowed_conditions(flavor)
            for k in cond:
                if k not in allowed:
                    raise EsError(es_error(400, "x_content_parse_exception",
                                           "[1:60] [rollover] unknown field [%s]" % k))
            if not cond:
                raise bad_request("At least one rollover condition must be set.")
            if not any(k.startswith("max_") for k in cond):
                raise bad_request("At least one max_* rollover condition must be set.")
        if phase == "hot" and "rollover" not in actions:
            needing = sorted(a for a in ("shrink", "forcemerge", "searchable_snapshot",
                                         "downsample") if a in actions)
            if needing:
                raise bad_request("the [%s] action(s) may not be used in the [hot] phase without "
                                  "an accompanying [rollover] action" % ", ".join(needing))


def _denied(double, req):
    if double.flavor.aws:
        raise EsError(amazon(401, "Your request: '%s' is not allowed." % req.path))


def put_policy(double, req, name):
    _denied(double, req)
    body = req.json(required=True)
    _check_policy(double.flavor, body)
    store = double.store
    with store.lock:
        old = store.ilm_policies.get(name)
        store.ilm_policies[name] = {
            "version": (old["version"] + 1) if old else 1,
            "modified_date": store.clock.now().strftime("%Y-%m-%dT%H:%M:%S.") +
            "%03dZ" % (store.clock.now_ms() % 1000),
            "policy": body["policy"]}
        store.save_state()
    return Response(200, {"acknowledged": True})


def _in_use_by(store, name):
    idx = [n for n, ix in store.indices.items() if ix.settings.get("index.lifecycle.name") == name]
    comp = [t for t, body in store.index_templates.items()
            if ((body.get("template") or {}).get("settings") or {}).get("index.lifecycle.name") == name]
    ds = [d for d, v in store.data_streams.items()
          if v["indices"] and store.indices.get(v["indices"][-1]) is not None and
          store.indices[v["indices"][-1]].settings.get("index.lifecycle.name") == name]
    return {"indices": idx, "data_streams": ds, "composable_templates": comp}


def get_policy(double, req, name=None):
    _denied(double, req)
    store = double.store
    with store.lock:
        if name is None:
            found = dict(store.ilm_policies)
        else:
            found = {n: store.ilm_policies[n] for n in name.split(",") if n in store.ilm_policies}
            if not found:
                raise EsError(es_error(404, "resource_not_found_exception",
                                       "Lifecycle policy not found: %s" % name))
        out = {}
        for n, p in found.items():
            out[n] = {"version": p["version"], "modified_date": p["modified_date"],
                      "policy": p["policy"], "in_use_by": _in_use_by(store, n)}
        return Response(200, out)


def delete_policy(double, req, name):
    _denied(double, req)
    store = double.store
    with store.lock:
        if name not in store.ilm_policies:
            raise EsError(es_error(404, "resource_not_found_exception",
                                   "Lifecycle policy not found: %s" % name))
        users = _in_use_by(store, name)["indices"]
        if users:
            raise bad_request("Cannot delete policy [%s]. It is in use by one or more indices: [%s]"
                              % (name, ", ".join(users)))
        del store.ilm_policies[name]
        store.save_state()
    return Response(200, {"acknowledged": True})


def explain_one(double, ix):
    store = double.store
    name = ix.settings.get("index.lifecycle.name")
    if not name:
        return {"index": ix.name, "managed": False}
    now = store.clock.now_ms()
    since = lifecycle_date(ix)
    out = {"index": ix.name, "managed": True, "policy": name,
           "index_creation_date_millis": ix.created_ms, "time_since_index_creation":
               _age(now - ix.created_ms), "lifecycle_date_millis": since,
           "age": _age(now - since)}
    policy = store.ilm_policies.get(name)
    if policy is None:
        out.update({"step": "ERROR", "failed_step": "check-rollover-ready",
                    "step_info": {"type": "illegal_argument_exception",
                                  "reason": "policy [%s] does not exist" % name}})
        return out
    hot = policy["policy"]["phases"].get("hot", {})
    actions = hot.get("actions", {})
    out["phase"] = "hot"
    if "rollover" in actions and not ix.rolled_over:
        problem = _rollover_problem(store, ix)
        if problem:
            out.update({"action": "rollover", "step": "ERROR", "failed_step": "check-rollover-ready",
                        "is_auto_retryable_error": True,
                        "step_info": {"type": "illegal_argument_exception", "reason": problem}})
        else:
            out.update({"action": "rollover", "step": "check-rollover-ready"})
    else:
        out.update({"action": "complete", "step": "complete"})
    out["phase_execution"] = {"policy": name, "phase_definition": hot,
                              "version": policy["version"],
                              "modified_date_in_millis": now}
    return out


def lifecycle_date(ix):
    """Phase ages count from the rollover once an index has rolled over."""
    return ix.rolled_over_ms if ix.rolled_over_ms is not None else ix.created_ms


def _rollover_problem(store, ix):
    if ix.data_stream:
        return None
    alias = ix.settings.get("index.lifecycle.rollover_alias")
    if not alias:
        return "setting [index.lifecycle.rollover_alias] for index [%s] is empty or not defined" \
            % ix.name
    if alias not in ix.aliases:
        return "%s [%s] does not point to index [%s]" % ("index.lifecycle.rollover_alias", alias,
                                                         ix.name)
    members = store.alias_members(alias)
    props = ix.aliases[alias]
    if props.get("is_write_index") is False or (len(members) > 1 and
                                                props.get("is_write_index") is not True):
        return "index [%s] is not the write index for alias [%s]" % (ix.name, alias)
    return None


def _age(ms):
    if ms >= 86400000:
        return "%.2fd" % (ms / 86400000.0)
    if ms >= 3600000:
        return "%.2fh" % (ms / 3600000.0)
    if ms >= 60000:
        return "%.2fm" % (ms / 60000.0)
    return "%.2fs" % (ms / 1000.0)


def explain(double, req, index):
    _denied(double, req)
    from . import indices
    store = double.store
    with store.lock:
        found = indices.resolve_expression(store, index)
        if req.bool_param("only_managed"):
            found = [ix for ix in found if ix.settings.get("index.lifecycle.name")]
        return Response(200, {"indices": {ix.name: explain_one(double, ix) for ix in found}})


def status(double, req):
    _denied(double, req)
    return Response(200, {"operation_mode": "RUNNING"})


def run(double):
    """Play one ILM pass: rollover when conditions are met, delete expired
    indices.  Returns a list of what happened (for /_double/lifecycle/run)."""
    store = double.store
    done = []
    for ix in list(store.indices.values()):
        name = ix.settings.get("index.lifecycle.name")
        policy = store.ilm_policies.get(name) if name else None
        if not policy:
            continue
        phases = policy["policy"]["phases"]
        cond = (phases.get("hot", {}).get("actions") or {}).get("rollover")
        if cond is not None and not ix.rolled_over:
            # still in the hot phase, waiting for its rollover
            if _rollover_problem(store, ix):
                continue
            target = ix.data_stream or ix.settings["index.lifecycle.rollover_alias"]
            result = rollover.perform(double, target, None, cond, False)
            if result["rolled_over"]:
                ix.settings["index.lifecycle.indexing_complete"] = "true"
                done.append({"index": ix.name, "action": "rollover",
                             "new_index": result["new_index"]})
            continue
        age = store.clock.now_ms() - lifecycle_date(ix)
        delete = phases.get("delete")
        if delete is not None and "delete" in (delete.get("actions") or {}) and \
                age >= rollover.parse_age_ms(delete.get("min_age", "0ms")):
            if ix.data_stream and store.data_streams[ix.data_stream]["indices"][-1] == ix.name:
                continue  # the write index of a data stream is never deleted
            store.delete_index(ix.name)
            if ix.data_stream and ix.data_stream in store.data_streams:
                store.data_streams[ix.data_stream]["indices"].remove(ix.name)
            done.append({"index": ix.name, "action": "delete"})
    return done


def register(router):
    es = lambda f: f.is_es  # noqa: E731
    p = ("master_timeout", "timeout", "only_managed", "only_errors")
    router.add("PUT", "/_ilm/policy/{name}", put_policy, p, when=es)
    router.add("GET", "/_ilm/policy", get_policy, p, when=es)
    router.add("GET", "/_ilm/policy/{name}", get_policy, p, when=es)
    router.add("DELETE", "/_ilm/policy/{name}", delete_policy, p, when=es)
    router.add("GET", "/{index}/_ilm/explain", explain, p, when=es)
    router.add("GET", "/_ilm/status", status, p, when=es)

