"""Index settings: normalisation, validation per product, nesting for output.

Why strict: the classic cross-product mistake is putting ILM settings
(`index.lifecycle.name`) in a template sent to OpenSearch, or ISM settings
sent to Elasticsearch (es-api.md §7.1).  Real clusters reject those with
"unknown setting [...]", and so does the double, as it does typos such as
`index.number_of_shard`.

Settings are kept flat with `index.` prefixed keys and string values, the way
Elasticsearch stores them; `nest()` rebuilds the nested form for GET answers.
"""

from .responses import bad_request

_KNOWN = {
    "number_of_shards", "number_of_replicas", "refresh_interval", "auto_expand_replicas",
    "codec", "hidden", "priority", "max_result_window", "max_inner_result_window",
    "max_docvalue_fields_search", "max_script_fields", "max_ngram_diff", "max_shingle_diff",
    "max_refresh_listeners", "max_terms_count", "max_regex_length", "default_pipeline",
    "final_pipeline", "number_of_routing_shards", "load_fixed_bitset_filters_eagerly",
    "shard.check_on_startup", "gc_deletes", "provided_name", "creation_date", "uuid",
    "version.created", "format", "sort.field", "sort.order", "query.default_field",
    "write.wait_for_active_shards", "soft_deletes.enabled", "soft_deletes.retention_lease.period",
    "unassigned.node_left.delayed_timeout", "verified_before_close", "history.uuid",
}
_PREFIXES = ("blocks.", "routing.", "analysis.", "translog.", "merge.", "search.", "indexing.",
             "mapping.", "similarity.", "store.", "highlight.", "sort.", "allocation.",
             "queries.", "requests.", "shard.")

_ILM = {"name", "rollover_alias", "parse_origination_date", "origination_date",
        "indexing_complete", "step.wait_time_threshold", "prefer_ilm", "skip"}
_ISM = {"rollover_alias", "policy_id", "auto_manage", "rollover_skip"}


def _stringify(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return [_stringify(x) for x in v]
    if v is None:
        return None
    return str(v)


def normalize(obj, prefix=""):
    """Flatten {"index": {"number_of_shards": 1}} / {"number_of_shards": 1} to
    {"index.number_of_shards": "1"}."""
    flat = {}
    if obj is None:
        return flat
    if not isinstance(obj, dict):
        raise bad_request("settings must be an object")
    for k, v in obj.items():
        key = prefix + k
        if isinstance(v, dict):
            flat.update(normalize(v, key + "."))
        else:
            flat[key] = _stringify(v)
    if prefix:
        return flat
    return {(k if k.startswith("index.") else "index." + k): v for k, v in flat.items()}


def is_known(flavor, key):
    """Whether `key` (index.-prefixed) is a setting this persona knows."""
    sub = key[len("index."):]
    if sub in _KNOWN or sub.startswith(_PREFIXES):
        return True
    if sub.startswith("lifecycle."):
        return flavor.has_ilm and sub[len("lifecycle."):] in _ILM
    for base in ("plugins.index_state_management.", "opendistro.index_state_management."):
        if sub.startswith(base):
            if not flavor.ism_bases:
                return False
            if base.startswith("plugins.") and not flavor.is_opensearch:
                return False
            return sub[len(base):] in _ISM
    if sub.startswith("opendistro.") or sub.startswith("plugins."):
        return flavor.is_opensearch or flavor.aws
    return False


def validate(flavor, flat):
    """Raise a 400 for unknown settings and obviously bad values."""
    for key, value in flat.items():
        if not is_known(flavor, key):
            raise bad_request(
                "unknown setting [%s] please check that any required plugins are installed, "
                "or check the breaking changes documentation for removed settings" % key)
        if key in ("index.number_of_shards", "index.number_of_replicas") and value is not None:
            try:
                n = int(value)
            except ValueError:
                raise bad_request("Failed to parse value [%s] for setting [%s]" % (value, key))
            low = 1 if key.endswith("shards") else 0
            if n < low:
                raise bad_request("Failed to parse value [%s] for setting [%s] must be >= %d"
                                  % (value, key, low))


def nest(flat):
    out = {}
    for key, value in sorted(flat.items()):
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):  # a value and a prefix collide; keep the value flat
                node = None
                break
            node = nxt
        if node is None:
            out[key] = value
        else:
            node[parts[-1]] = value
    return out


def parse_bool(value):
    return str(value).lower() == "true"


def parse_time_ms(value, default_ms):
    """Elasticsearch time value ("1s", "500ms", "-1") in ms; -1 means never."""
    if value is None:
        return default_ms
    v = str(value).strip()
    if v == "-1":
        return -1
    units = (("nanos", 1e-6), ("micros", 1e-3), ("ms", 1), ("s", 1000), ("m", 60000),
             ("h", 3600000), ("d", 86400000))
    for suffix, mult in units:
        if v.endswith(suffix):
            try:
                return int(float(v[:-len(suffix)]) * mult)
            except ValueError:
                break
    raise bad_request("failed to parse setting [index.refresh_interval] with value [%s] as a time "
                      "value: unit is missing or unrecognized" % v)
