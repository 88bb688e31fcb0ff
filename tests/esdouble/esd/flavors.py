"""Personas: what each product version says about itself (es-api.md §1, §4, §5).

A persona is a flavor (es8, es7, opensearch2, opensearch1) plus modifiers:
`aws` (the Amazon managed-service front end: no X-Elastic-Product, OSS build,
nodes without `http`, admin APIs refused) and `compat` (OpenSearch
compatibility mode: version 7.10.2, no `distribution`).  Behaviour that
differs by version (e.g. `_type` in bulk items, `document_parsing_exception`
from 8.8) asks the Flavor object instead of comparing strings everywhere.
"""

FLAVORS = {
    "es8": dict(product="elasticsearch", number="8.13.4", lucene="9.10.0",
                build_hash="da95df118650b55a500dcc181889ac35c6d8da7c",
                build_date="2024-05-06T22:04:45.107454559Z", wire="7.17.0", index="7.0.0"),
    "es7": dict(product="elasticsearch", number="7.17.9", lucene="8.11.1",
                build_hash="ef48222227ee6b9e70e502f0f0daa52435ee634d",
                build_date="2023-01-31T05:34:43.305517834Z", wire="6.8.0", index="6.0.0-beta1"),
    "opensearch2": dict(product="opensearch", number="2.19.1", lucene="9.12.1",
                        build_hash="2e4741fb45d1b150aaeeadf66d41445b23ff5982",
                        build_date="2025-02-27T01:22:24.665339607Z", wire="7.10.0", index="7.0.0"),
    "opensearch1": dict(product="opensearch", number="1.3.20", lucene="8.10.1",
                        build_hash="0c4dc8fa5d9cd1e0e0bb9c9b8f9e3b5b9b4bbb1d",
                        build_date="2024-12-03T18:30:18.491183957Z", wire="6.8.0",
                        index="6.0.0-beta1"),
}

# Amazon Elasticsearch Service (ES engine) stops at 7.10, OSS build.
_AWS_ES7 = dict(number="7.10.2", lucene="8.7.0", build_hash="unknown",
                build_date="2023-10-27T08:12:40.918516Z", wire="6.8.0", index="6.0.0-beta1")

NODE_ID = "Xr6uH1mNT0q8V3qQWv4J9A"
CLUSTER_UUID = "Ad3Yz9b8T7eB1mqzN2bV7g"


def _vtuple(number):
    out = []
    for part in number.split("-")[0].split("."):
        try:
            out.append(int(part))
        except ValueError:
            out.append(0)
    return tuple(out + [0, 0, 0])[:3]


class Flavor:
    def __init__(self, key, aws=False, compat=False, version=None):
        if key not in FLAVORS:
            raise ValueError("unknown flavor %r (choose from %s)" % (key, ", ".join(FLAVORS)))
        if aws and key == "es8":
            raise ValueError("Amazon has no Elasticsearch 8 (use es7 or opensearch*)")
        if compat and not key.startswith("opensearch"):
            raise ValueError("compat mode exists only for OpenSearch")
        self.key = key
        self.aws = aws
        self.compat = compat
        info = dict(FLAVORS[key])
        if aws and key == "es7":
            info.update(_AWS_ES7)
        if aws:
            info["build_hash"] = "unknown"
        if version:
            info["number"] = version
        self.info = info
        self.product = info["product"]
        self.number = info["number"]
        self.version = _vtuple(self.number)
        self.cluster_name = "123456789012:esdouble" if aws else "esdouble"
        self.node_name = "esdouble-node1"

    # -- behaviour switches --------------------------------------------------
    @property
    def is_opensearch(self):
        return self.product == "opensearch"

    @property
    def is_es(self):
        return self.product == "elasticsearch"

    @property
    def major(self):
        return self.version[0]

    @property
    def accepts_type(self):
        """`_type` in bulk metadata: ES 7 and OpenSearch 1 yes, later no."""
        return (self.is_es and self.major < 8) or (self.is_opensearch and self.major < 2)

    @property
    def item_has_type(self):
        return self.accepts_type

    @property
    def elastic_header(self):
        """X-Elastic-Product: Elasticsearch, default distribution ≥ 7.14 only."""
        return self.is_es and not self.aws and self.version >= (7, 14, 0)

    @property
    def doc_parse_type(self):
        if self.is_es and self.version >= (8, 8, 0):
            return "document_parsing_exception"
        return "mapper_parsing_exception"

    @property
    def has_ilm(self):
        return self.is_es and not self.aws

    @property
    def ism_bases(self):
        """URL prefixes of ISM: OpenSearch 2 `_plugins` only, OpenSearch 1 both,
        Amazon Elasticsearch 7.x (Open Distro) `_opendistro` only."""
        if self.is_opensearch:
            return ("_plugins/_ism",) if self.major >= 2 else ("_plugins/_ism", "_opendistro/_ism")
        return ("_opendistro/_ism",) if self.aws else ()

    @property
    def lazy_rollover_field(self):
        return self.is_es and self.version >= (8, 13, 0)

    @property
    def backing_index_has_date(self):
        return self.is_es and self.version >= (7, 11, 0)

    @property
    def health_timeout_status(self):
        return 200 if (self.is_es and self.major >= 8) else 408

    def warning(self, text):
        name = "OpenSearch" if self.is_opensearch else "Elasticsearch"
        return '299 %s-%s-%s "%s"' % (name, self.number, self.info["build_hash"][:7], text)

    def describe(self):
        return {"flavor": self.key, "product": self.product, "number": self.number,
                "aws": self.aws, "compat": self.compat}

    # -- bodies --------------------------------------------------------------
    def root_headers(self):
        return [("X-Elastic-Product", "Elasticsearch")] if self.elastic_header else []

    def root_body(self):
        i = self.info
        v = {}
        if self.is_opensearch and not self.compat:
            v["distribution"] = "opensearch"
        v["number"] = "7.10.2" if self.compat else self.number
        if self.is_es:
            v["build_flavor"] = "oss" if self.aws else "default"
        v["build_type"] = "tar" if (self.aws or self.is_opensearch) else "docker"
        v["build_hash"] = i["build_hash"]
        v["build_date"] = i["build_date"]
        v["build_snapshot"] = False
        v["lucene_version"] = i["lucene"]
        v["minimum_wire_compatibility_version"] = i["wire"]
        v["minimum_index_compatibility_version"] = i["index"]
        tagline = ("The OpenSearch Project: https://opensearch.org/" if self.is_opensearch
                   else "You Know, for Search")
        return {"name": self.node_name, "cluster_name": self.cluster_name,
                "cluster_uuid": CLUSTER_UUID, "version": v, "tagline": tagline}

    def nodes_http(self, publish, bound_port):
        """GET /_nodes/http.  `publish` is a list of publish_address strings,
        one node each; None means the Amazon shape (nodes without `http`)."""
        roles = (["cluster_manager", "data", "ingest", "remote_cluster_client"]
                 if self.is_opensearch and self.major >= 2
                 else ["data", "ingest", "master", "remote_cluster_client"])
        nodes = {}
        count = len(publish) if publish is not None else 1
        for n in range(count):
            node_id = NODE_ID if n == 0 else ("Node%dxxxxxxxxxxxxxxxxx" % n)[:22]
            node = {"name": "%s" % (self.node_name if n == 0 else "esdouble-node%d" % (n + 1))}
            if publish is not None:
                addr = publish[n]
                node.update({"transport_address": "127.0.0.1:9300", "host": "127.0.0.1",
                             "ip": "127.0.0.1"})
            node["version"] = self.number
            if self.is_es:
                node["build_flavor"] = "oss" if self.aws else "default"
            node["build_type"] = "tar" if (self.aws or self.is_opensearch) else "docker"
            node["build_hash"] = self.info["build_hash"]
            node["roles"] = roles
            if publish is not None:
                if self.is_es and not self.aws:
                    node["attributes"] = {"xpack.installed": "true"}
                node["http"] = {"bound_address": ["127.0.0.1:%d" % bound_port],
                                "publish_address": addr,
                                "max_content_length_in_bytes": 104857600}
            nodes[node_id] = node
        return {"_nodes": {"total": count, "successful": count, "failed": 0},
                "cluster_name": self.cluster_name, "nodes": nodes}

    def default_publish(self, host, port):
        """ES 8 always publishes `hostname/ip:port`; the others plain `ip:port`."""
        if self.is_es and self.major >= 8:
            return "localhost/%s:%d" % (host, port)
        return "%s:%d" % (host, port)

    def health_body(self, status, indices, timed_out=False, red=0):
        primaries = len(indices) - red
        replicas_unassigned = sum(ix.replicas for ix in indices) + red
        body = {"cluster_name": self.cluster_name, "status": status, "timed_out": timed_out,
                "number_of_nodes": 1, "number_of_data_nodes": 1}
        if self.is_opensearch and self.major >= 2:
            body["discovered_master"] = True
            body["discovered_cluster_manager"] = True
        body.update({"active_primary_shards": primaries, "active_shards": primaries,
                     "relocating_shards": 0, "initializing_shards": 0,
                     "unassigned_shards": replicas_unassigned})
        if self.is_es and self.version >= (8, 12, 0):
            body["unassigned_primary_shards"] = red
        total = primaries + replicas_unassigned
        body.update({"delayed_unassigned_shards": 0, "number_of_pending_tasks": 0,
                     "number_of_in_flight_fetch": 0, "task_max_waiting_in_queue_millis": 0,
                     "active_shards_percent_as_number":
                         100.0 if total == 0 else round(100.0 * primaries / total, 1)})
        return body

    def xpack_body(self):
        return {"build": {"hash": self.info["build_hash"], "date": self.info["build_date"]},
                "license": {"uid": "3d6a1b5e-6b0c-4b6f-9a53-9d1f0a4b2c11", "type": "basic",
                            "mode": "basic", "status": "active"},
                "features": {"ilm": {"available": True, "enabled": True},
                             "security": {"available": True, "enabled": False},
                             "monitoring": {"available": True, "enabled": True}},
                "tagline": "You know, for X"}
