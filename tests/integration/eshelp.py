"""Helpers shared by the integration tests that ship to the Elasticsearch
double: nginx lines to write, documents delivered, and a wait that also
lets the double finish logging its requests."""
import os

from harness import wait_for

LINE = '10.0.%d.%d - - [01/May/2024:12:%02d:%02d +0000] "GET /d/%d HTTP/1.1" 200 %d "-" "t"\n'


def write_lines(path, start, n):
    """Appends nginx lines /d/<start> .. /d/<start+n-1> to path."""
    with open(path, "a") as f:
        for i in range(start, start + n):
            f.write(LINE % (i // 250, i % 250, (i // 60) % 60, i % 60, i, i))


def delivered(es):
    """Document paths in the double: {path: times indexed}."""
    seen = {}
    for d in es.docs("es-log-*"):
        p = d["_source"]["path"]
        seen[p] = seen.get(p, 0) + 1
    return seen


def quiet(es):
    """True once no connection of the double is inside a request: every
    request that stored documents has been written to its request log too
    (documents are stored before the log entry)."""
    return all(not getattr(h, "busy", False) for h in list(es._conns.values()))


def wait_all(es, n, timeout=60):
    """Waits for n distinct documents and a quiet double; returns delivered()."""
    seen = wait_for(lambda: (lambda d: d if len(d) >= n else None)(delivered(es)),
                    timeout=timeout, what="%d documents" % n)
    wait_for(lambda: quiet(es), timeout=timeout, what="the double's request log")
    return seen


def chunk_files(d):
    """Chunk data files in <d>/buffer."""
    bdir = os.path.join(d, "buffer")
    return [f for f in os.listdir(bdir) if f.endswith(".log")] if os.path.isdir(bdir) else []
