"""OpenSearch ISM (es-api.md §9) under `_plugins/_ism` (and `_opendistro/_ism`
on OpenSearch 1.x and Amazon Elasticsearch 7.x).

Why: skiff's hot-warm-cold policy exists in two dialects; the ISM one uses
`min_*` rollover conditions, states and transitions.  The classic mistake —
sending ILM-style `max_size` to ISM — fails here with ISM's own wording
("Invalid field: [max_size] found in RolloverAction."), and updates without
`if_seq_no`/`if_primary_term` get the 409 a real cluster gives.
"""

from . import rollover
from .responses import EsError, Response, bad_request, es_error

_POLICY_KEYS = {"policy_id", "description", "last_updated_time", "schema_version",
                "error_notification", "default_state", "states", "ism_template", "user"}
_ACTION_FIELDS = {
    "rollover": {"min_size", "min_doc_count", "min_index_age", "min_primary_shard_size",
                 "copy_alias"},
    "delete": set(), "read_only": set(), "read_write": set(), "close": set(), "open": set(),
    "replica_count": {"number_of_replicas"}, "force_merge": {"max_num_segments"},
    "index_priority": {"priority"}, "notification": {"destination", "channel", "message_template"},
    "snapshot": {"repository", "snapshot"}, "allocation": {"require", "include", "exclude",
                                                           "wait_for"},
    "shrink": {"num_new_shards", "max_shard_size", "percentage_of_source_shards",
               "target_index_name_template", "aliases", "force_unsafe", "switch_aliases"},
    "rollup": {"ism_rollup"}, "transform": {"ism_transform"}, "alias": {"actions"},
}
_COMMON_ACTION_FIELDS = {"retry", "timeout", "custom"}
_CONDITIONS = {"min_index_age", "min_doc_count", "min_size", "cron", "min_rollover_age"}
_CONFIG_INDEX = ".opendistro-ism-config"


def _invalid(field, where):
    return bad_request("Invalid field: [%s] found in %s." % (field, where))


def _check(body):
    if not isinstance(body, dict) or "policy" not in body or not isinstance(body["policy"], dict):
        raise bad_request("Required [policy]")
    for k in body:
        if k != "policy":
            raise _invalid(k, "Policy")
    p = body["policy"]
    for k in p:
        if k not in _POLICY_KEYS:
            raise _invalid(k, "Policy")
    states = p.get("states")
    if not isinstance(states, list) or not states:
        raise bad_request("Policy must contain at least one State")
    state_names = [s.get("name") for s in states if isinstance(s, dict)]
    if p.get("default_state") not in state_names:
        raise bad_request("Policy must have a valid default_state, [%s] is not one of the states %s"
                          % (p.get("default_state"), state_names))
    for s in states:
        for k in s:
            if k not in ("name", "actions", "transitions"):
                raise _invalid(k, "State")
        for action in s.get("actions") or []:
            if not isinstance(action, dict):
                raise bad_request("Invalid action in state [%s]" % s.get("name"))
            kinds = [k for k in action if k not in _COMMON_ACTION_FIELDS]
            if len(kinds) != 1 or kinds[0] not in _ACTION_FIELDS:
                raise _invalid(kinds[0] if kinds else "", "Action")
            kind = kinds[0]
            cfg = action[kind] or {}
            for f in cfg:
                if f not in _ACTION_FIELDS[kind]:
                    raise _invalid(f, "%sAction" % "".join(w.capitalize() for w in kind.split("_")))
        for t in s.get("transitions") or []:
            if t.get("state_name") not in state_names:
                raise bad_request("Policy contains a transition to a state that does not exist "
                                  "[%s]" % t.get("state_name"))
            for c in t.get("conditions") or {}:
                if c not in _CONDITIONS:
                    raise _invalid(c, "Conditions")
    tmpl = p.get("ism_template")
    for t in ([tmpl] if isinstance(tmpl, dict) else (tmpl or [])):
        for k in t:
            if k not in ("index_patterns", "priority", "last_updated_time"):
                raise _invalid(k, "ISMTemplate")


def _normalise(store, pid, policy):
    now = store.clock.now_ms()
    p = {"policy_id": pid, "description": policy.get("description", ""),
         "last_updated_time": now, "schema_version": policy.get("schema_version", 1),
         "error_notification": policy.get("error_notification"),
         "default_state": policy["default_state"], "states": policy["states"]}
    if "ism_template" in policy:
        p["ism_template"] = policy["ism_template"]
    states = []
    for s in p["states"]:
        s = dict(s)
        acts = []
        for a in s.get("actions") or []:
            a = dict(a)
            a.setdefault("retry", {"count": 3, "backoff": "exponential", "delay": "1m"})
            acts.append(a)
        s["actions"] = acts
        s.setdefault("transitions", [])
        states.append(s)
    p["states"] = states
    tmpl = p.get("ism_template")
    if tmpl is not None:
        p["ism_template"] = [dict(t, last_updated_time=now)
                             for t in ([tmpl] if isinstance(tmpl, dict) else tmpl)]
    return p


def put_policy(double, req, pid):
    body = req.json(required=True)
    _check(body)
    store = double.store
    with store.lock:
        old = store.ism_policies.get(pid)
        if old is not None:
            if "if_seq_no" not in req.params or "if_primary_term" not in req.params:
                raise EsError(es_error(409, "version_conflict_engine_exception",
                                       "[%s]: version conflict, document already exists (current "
                                       "version [%d])" % (pid, old["_version"]),
                                       index_uuid="_na_", shard="0", index=_CONFIG_INDEX))
            want_seq, want_term = int(req.params["if_seq_no"]), int(req.params["if_primary_term"])
            if want_seq != old["_seq_no"] or want_term != 1:
                raise EsError(es_error(409, "version_conflict_engine_exception",
                                       "[%s]: version conflict, required seqNo [%d], primary term "
                                       "[%d]. current document has seqNo [%d] and primary term [1]"
                                       % (pid, want_seq, want_term, old["_seq_no"]),
                                       index_uuid="_na_", shard="0", index=_CONFIG_INDEX))
        store.policy_seq_no += 1
        rec = {"_id": pid, "_version": (old["_version"] + 1) if old else 1, "_primary_term": 1,
               "_seq_no": store.policy_seq_no, "policy": _normalise(store, pid, body["policy"])}
        store.ism_policies[pid] = rec
        store.save_state()
    return Response(200 if old else 201, {"_id": pid, "_version": rec["_version"],
                                          "_primary_term": 1, "_seq_no": rec["_seq_no"],
                                          "policy": {"policy": rec["policy"]}})


def _not_found():
    return EsError(es_error(404, "status_exception", "Policy not found"))


def get_policy(double, req, pid=None):
    store = double.store
    with store.lock:
        if pid is None:
            pols = [{"_id": r["_id"], "_seq_no": r["_seq_no"], "_primary_term": 1,
                     "policy": r["policy"]} for r in store.ism_policies.values()]
            return Response(200, {"policies": pols, "total_policies": len(pols)})
        r = store.ism_policies.get(pid)
        if r is None:
            raise _not_found()
        return Response(200, {"_id": pid, "_version": r["_version"], "_seq_no": r["_seq_no"],
                              "_primary_term": 1, "policy": r["policy"]})


def delete_policy(double, req, pid):
    store = double.store
    with store.lock:
        r = store.ism_policies.pop(pid, None)
        if r is None:
            raise _not_found()
        store.policy_seq_no += 1
        store.save_state()
    return Response(200, {"_index": _CONFIG_INDEX, "_id": pid, "_version": r["_version"] + 1,
                          "result": "deleted", "forced_refresh": True,
                          "_shards": {"total": 2, "successful": 1, "failed": 0},
                          "_seq_no": store.policy_seq_no, "_primary_term": 1})


def add_policy(double, req, index):
    from . import indices
    body = req.json(required=True)
    pid = body.get("policy_id") if isinstance(body, dict) else None
    if not pid:
        raise bad_request("Missing policy_id")
    store = double.store
    with store.lock:
        if pid not in store.ism_policies:
            raise EsError(es_error(404, "status_exception", "Could not find policy=%s" % pid))
        found = indices.resolve_expression(store, index)
        updated, failed = 0, []
        for ix in found:
            if ix.ism_policy:
                failed.append({"index_name": ix.name, "index_uuid": ix.uuid,
                               "reason": "This index already has a policy, use the update policy "
                                         "API to update index policies"})
            else:
                ix.ism_policy = pid
                updated += 1
        store.save_state()
    return Response(200, {"updated_indices": updated, "failures": bool(failed),
                          "failed_indices": failed})


def remove_policy(double, req, index):
    from . import indices
    store = double.store
    with store.lock:
        found = indices.resolve_expression(store, index)
        updated, failed = 0, []
        for ix in found:
            if ix.ism_policy:
                ix.ism_policy = None
                updated += 1
            else:
                failed.append({"index_name": ix.name, "index_uuid": ix.uuid,
                               "reason": "This index does not have a policy to remove"})
        store.save_state()
    return Response(200, {"updated_indices": updated, "failures": bool(failed),
                          "failed_indices": failed})


def explain(double, req, index):
    from . import indices
    store = double.store
    with store.lock:
        found = indices.resolve_expression(store, index)
        out = {}
        managed = 0
        for ix in found:
            pid = ix.ism_policy
            entry = {"index.plugins.index_state_management.policy_id": pid,
                     "index.opendistro.index_state_management.policy_id": pid}
            if pid:
                managed += 1
                entry.update({"index": ix.name, "index_uuid": ix.uuid, "policy_id": pid,
                              "enabled": True})
                state = getattr(ix, "ism_state", None)
                if state:
                    entry["state"] = {"name": state}
                problem = _rollover_problem(store, ix)
                if problem and _has_rollover(store, ix):
                    entry["info"] = {"message": problem}
            else:
                entry["enabled"] = None
            out[ix.name] = entry
        out["total_managed_indices"] = managed
    return Response(200, out)


def _rollover_alias(ix):
    return ix.settings.get("index.plugins.index_state_management.rollover_alias") or \
        ix.settings.get("index.opendistro.index_state_management.rollover_alias")


def _has_rollover(store, ix):
    r = store.ism_policies.get(ix.ism_policy)
    return bool(r) and any("rollover" in a for s in r["policy"]["states"] for a in s["actions"])


def _rollover_problem(store, ix):
    alias = _rollover_alias(ix)
    if not alias:
        return "Missing rollover_alias index setting [index=%s]" % ix.name
    if alias not in ix.aliases:
        return "Rollover alias [%s] does not point to index [%s]" % (alias, ix.name)
    return None


def run(double):
    """One ISM pass over managed indices (for /_double/lifecycle/run)."""
    store = double.store
    done = []
    for ix in list(store.indices.values()):
        rec = store.ism_policies.get(ix.ism_policy) if ix.ism_policy else None
        if not rec or ix.name not in store.indices:
            continue
        policy = rec["policy"]
        states = {s["name"]: s for s in policy["states"]}
        state = states.get(getattr(ix, "ism_state", None) or policy["default_state"])
        ix.ism_state = state["name"]
        for action in state["actions"]:
            if "delete" in action:
                store.delete_index(ix.name)
                done.append({"index": ix.name, "action": "delete"})
                break
            if "rollover" in action and not ix.rolled_over:
                if _rollover_problem(store, ix):
                    continue
                cond = action["rollover"] or {}
                age = store.clock.now_ms() - ix.created_ms
                met = not cond or any((
                    "min_index_age" in cond and age >= rollover.parse_age_ms(cond["min_index_age"]),
                    "min_doc_count" in cond and len(ix.docs) >= int(cond["min_doc_count"]),
                    "min_size" in cond and ix.size_bytes() >= rollover.parse_size(cond["min_size"]),
                    "min_primary_shard_size" in cond and
                    ix.size_bytes() >= rollover.parse_size(cond["min_primary_shard_size"])))
                if met:
                    result = rollover.perform(double, _rollover_alias(ix), None, {}, False)
                    done.append({"index": ix.name, "action": "rollover",
                                 "new_index": result["new_index"]})
        if ix.name not in store.indices:
            continue
        for t in state.get("transitions") or []:
            c = t.get("conditions") or {}
            age = store.clock.now_ms() - ix.created_ms
            if not c or ("min_index_age" in c and age >= rollover.parse_age_ms(c["min_index_age"])) \
                    or ("min_doc_count" in c and len(ix.docs) >= int(c["min_doc_count"])):
                ix.ism_state = t["state_name"]
                done.append({"index": ix.name, "action": "transition", "state": t["state_name"]})
                break
    return done


def register(router):
    for base in ("_plugins/_ism", "_opendistro/_ism"):
        when = (lambda b: lambda f: b in f.ism_bases)(base)
        p = ("if_seq_no", "if_primary_term", "show_policy", "validate_action", "queryString",
             "from", "size", "sortField", "sortOrder")
        router.add("PUT", "/%s/policies/{pid}" % base, put_policy, p, when=when)
        router.add("GET", "/%s/policies" % base, get_policy, p, when=when)
        router.add("GET", "/%s/policies/{pid}" % base, get_policy, p, when=when)
        router.add("DELETE", "/%s/policies/{pid}" % base, delete_policy, p, when=when)
        router.add("POST", "/%s/add/{index}" % base, add_policy, p, when=when)
        router.add("POST", "/%s/remove/{index}" % base, remove_policy, p, when=when)
        router.add("GET", "/%s/explain/{index}" % base, explain, p, when=when)

