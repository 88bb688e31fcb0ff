"""In-memory cluster state: indices, documents, aliases, data streams, policies.

Why this shape: tests ask "what did skiff deliver, exactly" — so every
document is kept per concrete index, in arrival order, with the `_version`
and `_seq_no` Elasticsearch would have given it.  One re-entrant lock guards
everything (a test double needs correctness, not parallel indexing); a
condition on it lets `/_double/wait` block until documents arrive instead of
tests sleeping.

Search visibility follows ES: documents become visible to `_count`/`_search`
on refresh (every `index.refresh_interval`, default 1s, or `refresh=true`);
the control API always sees everything stored.

With a data dir, each index's writes are appended as JSON lines to
`<dir>/docs/<index>.jsonl` and the metadata is rewritten to
`<dir>/state.json`, so a restarted double comes back with its data.
"""

import base64
import datetime
import json
import os
import random
import threading
import time

from . import settings as settings_mod


class Clock:
    """Real time, optionally frozen or shifted (for date math and rollover)."""

    def __init__(self):
        self.fixed = None
        self.offset = 0.0

    def time(self):
        return self.fixed if self.fixed is not None else time.time() + self.offset

    def now(self):
        return datetime.datetime.fromtimestamp(self.time(), datetime.timezone.utc)

    def now_ms(self):
        return int(self.time() * 1000)

    def describe(self):
        return {"now": self.now().isoformat().replace("+00:00", "Z"), "now_ms": self.now_ms(),
                "frozen": self.fixed is not None, "offset_s": self.offset}


class Doc:
    """One stored document version (never mutated; replaced on write)."""
    __slots__ = ("id", "source", "raw", "version", "seq_no", "primary_term", "routing")

    def __init__(self, id_, source, raw, version, seq_no, routing=None):
        self.id = id_
        self.source = source
        self.raw = raw
        self.version = version
        self.seq_no = seq_no
        self.primary_term = 1
        self.routing = routing


class Index:
    def __init__(self, name, uuid, created_ms, flat_settings, mappings, provided_name=None):
        self.name = name
        self.uuid = uuid
        self.created_ms = created_ms
        self.settings = flat_settings
        self.mappings = mappings or {}
        self.aliases = {}          # alias name -> {"is_write_index": bool, ...}
        self.docs = {}             # _id -> Doc, in arrival order
        self.visible = {}          # snapshot at last refresh
        self.last_refresh = time.monotonic()
        self.next_seq_no = 0
        self.closed = False
        self.data_stream = None    # name of the owning data stream, if a backing index
        self.provided_name = provided_name or name
        self.deleted_count = 0
        self.rolled_over = False
        self.rolled_over_ms = None  # ILM's lifecycle date after a rollover
        self.ism_policy = None     # OpenSearch ISM policy id attached via add/ism_template

    @property
    def replicas(self):
        try:
            return int(self.settings.get("index.number_of_replicas", "1"))
        except ValueError:
            return 1

    def setting(self, key, default=None):
        return self.settings.get(key, default)

    def block(self):
        """The write block in force, or None (es-api.md §3.7)."""
        s = self.settings
        for key in ("index.blocks.read_only_allow_delete", "index.blocks.read_only",
                    "index.blocks.write"):
            if settings_mod.parse_bool(s.get(key, "false")):
                return key
        return None

    def refresh_interval_ms(self, default_ms):
        return settings_mod.parse_time_ms(self.settings.get("index.refresh_interval"), default_ms)

    def refresh(self):
        self.visible = dict(self.docs)
        self.last_refresh = time.monotonic()

    def maybe_refresh(self, default_ms):
        interval = self.refresh_interval_ms(default_ms)
        if interval >= 0 and (time.monotonic() - self.last_refresh) * 1000 >= interval:
            self.refresh()

    def size_bytes(self):
        return sum(len(d.raw) for d in self.docs.values()) + 225 * (1 if self.docs else 0)


class Store:
    def __init__(self, flavor, data_dir=None, seed=None, refresh_interval_ms=1000):
        self.flavor = flavor
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.clock = Clock()
        self.rng = random.Random(seed)
        self.data_dir = data_dir
        self._files = {}           # index name -> open append handle (data dir)
        self.default_refresh_ms = refresh_interval_ms
        self._init_state()
        if data_dir:
            self._load()

    def _init_state(self):
        self.indices = {}
        self.legacy_templates = {}
        self.index_templates = {}
        self.component_templates = {}
        self.ilm_policies = {}
        self.ism_policies = {}
        self.data_streams = {}
        self.cluster_settings = {"persistent": {}, "transient": {}}
        self.policy_seq_no = 0

    def reset(self):
        with self.lock:
            self._init_state()
            self._close_files()
            if self.data_dir:
                for name in os.listdir(self._docs_dir()):
                    os.unlink(os.path.join(self._docs_dir(), name))
                self.save_state()
            self.changed.notify_all()

    # -- ids ---------------------------------------------------------------
    def new_id(self):
        """A 20-character base64url id, like Elasticsearch's time-based UUIDs."""
        return base64.urlsafe_b64encode(self.rng.getrandbits(120).to_bytes(15, "big")).decode()

    def new_uuid(self):
        raw = self.rng.getrandbits(128).to_bytes(16, "big")
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    # -- lookup ------------------------------------------------------------
    def alias_members(self, alias):
        """{index name: alias properties} for every index carrying `alias`."""
        return {name: ix.aliases[alias] for name, ix in self.indices.items() if alias in ix.aliases}

    def is_alias(self, name):
        return any(name in ix.aliases for ix in self.indices.values())

    def write_index_of_alias(self, alias):
        """Concrete write index for `alias`, or raise ValueError with ES's reason."""
        members = self.alias_members(alias)
        writers = [n for n, p in members.items() if p.get("is_write_index") is True]
        if writers:
            return writers[0]
        if len(members) == 1:
            name, props = next(iter(members.items()))
            if props.get("is_write_index") is not False:
                return name
        raise ValueError(
            "no write index is defined for alias [%s]. The write index may be explicitly disabled "
            "using is_write_index=false or the alias points to multiple indices without one being "
            "designated as a write index" % alias)

    def total_docs(self):
        return sum(len(ix.docs) for ix in self.indices.values())

    # -- mutation helpers ----------------------------------------------------
    def add_index(self, ix):
        self.indices[ix.name] = ix
        self.save_state()
        self.changed.notify_all()

    def delete_index(self, name):
        self.indices.pop(name, None)
        f = self._files.pop(name, None)
        if f is not None:
            f.close()
        if self.data_dir:
            path = os.path.join(self._docs_dir(), name + ".jsonl")
            if os.path.exists(path):
                os.unlink(path)
        self.save_state()
        self.changed.notify_all()

    def write_doc(self, ix, id_, source, raw, routing=None):
        """Store a new version of a document; returns (doc, created)."""
        old = ix.docs.get(id_)
        version = old.version + 1 if old else 1
        doc = Doc(id_, source, raw, version, ix.next_seq_no, routing)
        ix.next_seq_no += 1
        if old:
            del ix.docs[id_]  # keep arrival order = order of latest write
        ix.docs[id_] = doc
        self._append(ix, {"op": "index", "_id": id_, "_version": version,
                          "_seq_no": doc.seq_no, "_source": source})
        self.changed.notify_all()
        return doc, old is None

    def remove_doc(self, ix, id_):
        """Delete a document; returns (version, seq_no) or None if missing."""
        old = ix.docs.pop(id_, None)
        if old is None:
            return None
        seq = ix.next_seq_no
        ix.next_seq_no += 1
        ix.deleted_count += 1
        self._append(ix, {"op": "delete", "_id": id_, "_seq_no": seq})
        self.changed.notify_all()
        return old.version + 1, seq

    # -- persistence ---------------------------------------------------------
    def _docs_dir(self):
        d = os.path.join(self.data_dir, "docs")
        os.makedirs(d, exist_ok=True)
        return d

    def _append(self, ix, rec):
        if not self.data_dir:
            return
        f = self._files.get(ix.name)
        if f is None:
            f = open(os.path.join(self._docs_dir(), ix.name + ".jsonl"), "a", encoding="utf-8")
            self._files[ix.name] = f
        f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")

    def flush(self):
        """Push appended writes to the OS (called before a bulk is answered)."""
        for f in self._files.values():
            f.flush()

    def close(self):
        with self.lock:
            self._close_files()

    def _close_files(self):
        for f in self._files.values():
            f.close()
        self._files = {}

    def save_state(self):
        if not self.data_dir:
            return
        state = {
            "indices": {n: {"uuid": ix.uuid, "created_ms": ix.created_ms, "settings": ix.settings,
                            "mappings": ix.mappings, "aliases": ix.aliases, "closed": ix.closed,
                            "data_stream": ix.data_stream, "provided_name": ix.provided_name,
                            "ism_policy": ix.ism_policy}
                        for n, ix in self.indices.items()},
            "legacy_templates": self.legacy_templates, "index_templates": self.index_templates,
            "component_templates": self.component_templates, "ilm_policies": self.ilm_policies,
            "ism_policies": self.ism_policies, "data_streams": self.data_streams,
            "cluster_settings": self.cluster_settings,
        }
        os.makedirs(self.data_dir, exist_ok=True)
        path = os.path.join(self.data_dir, "state.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(state, f, ensure_ascii=False)
        os.replace(path + ".tmp", path)

    def _load(self):
        path = os.path.join(self.data_dir, "state.json")
        if not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        for key in ("legacy_templates", "index_templates", "component_templates", "ilm_policies",
                    "ism_policies", "data_streams", "cluster_settings"):
            setattr(self, key, state.get(key, getattr(self, key)))
        for name, m in state.get("indices", {}).items():
            ix = Index(name, m["uuid"], m["created_ms"], m["settings"], m["mappings"],
                       m.get("provided_name"))
            ix.aliases = m["aliases"]
            ix.closed = m["closed"]
            ix.data_stream = m.get("data_stream")
            ix.ism_policy = m.get("ism_policy")
            self.indices[name] = ix
            self._replay(ix)

    def _replay(self, ix):
        path = os.path.join(self._docs_dir(), ix.name + ".jsonl")
        if not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # torn last line after a crash
                rec = json.loads(line)
                if rec["op"] == "index":
                    raw = json.dumps(rec["_source"], ensure_ascii=False, separators=(",", ":"))
                    ix.docs.pop(rec["_id"], None)
                    ix.docs[rec["_id"]] = Doc(rec["_id"], rec["_source"], raw.encode(),
                                              rec["_version"], rec["_seq_no"])
                else:
                    ix.docs.pop(rec["_id"], None)
                ix.next_seq_no = rec["_seq_no"] + 1
        ix.refresh()
