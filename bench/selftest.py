#!/usr/bin/env python3
"""Self-test of the bench tools (no skiff needed): python3 bench/selftest.py [BIN_DIR].

Checks the generator (determinism, counts, parseability with Fluentd's nginx
regex), the sink (ES answers, bulk items, gzip, chunked, Expect: 100-continue,
pipelining, 413, error bodies, outage modes, latency markers) and the replay
client (verified per-index counts). Exits non-zero on the first failure.
"""

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(BENCH), "build-bench")
GEN = os.path.join(BIN, "skiff-bench-gen")
SINK = os.path.join(BIN, "skiff-bench-sink")
REPLAY = os.path.join(BIN, "skiff-bench-replay")

# Fluentd's parser_nginx.rb expression (shared/compat-formats.md, section d).
NGINX_RX = re.compile(
    r'^(?P<remote>[^ ]*) (?P<host>[^ ]*) (?P<user>[^ ]*) \[(?P<time>[^\]]*)\] '
    r'"(?P<method>\S+)(?: +(?P<path>[^\"]*?)(?: +\S*)?)?" (?P<code>[^ ]*) (?P<size>[^ ]*)'
    r'(?: "(?P<referer>[^\"]*)" "(?P<agent>[^\"]*)"(?:\s+\"?(?P<xff>[^\"]*)\"?)?)?$')


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)
    print(f"ok   {what}")


def check_bytes(got, want, what):
    check(got == want, what if got == want else f"{what}\n  got  {got}\n  want {want}")


def http(port, raw, read_until_close=False, timeout=10):
    """Sends raw bytes, returns the raw answer (one response unless told)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(raw)
    data = b""
    while True:
        try:
            chunk = s.recv(1 << 20)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
        if not read_until_close and complete_responses(data) >= 1:
            break
    s.close()
    return data


def complete_responses(data):
    """Counts complete (final, non-100) responses in data."""
    n, pos = 0, 0
    while True:
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            return n
        head = data[pos:end].decode()
        m = re.search(r"content-length: (\d+)", head, re.I)
        length = int(m.group(1)) if m else 0
        if head.startswith("HTTP/1.1 100"):
            pos = end + 4
            continue
        if len(data) < end + 4 + length:
            return n
        n += 1
        pos = end + 4 + length


def post(path, body, headers=()):
    h = [f"POST {path} HTTP/1.1", "Host: x", "Content-Type: application/x-ndjson",
         f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def body_of(resp):
    return resp.split(b"\r\n\r\n", 1)[1]


def stats(port):
    return json.loads(body_of(http(port, b"GET /_sink/stats HTTP/1.1\r\nHost: x\r\n\r\n")))


def test_gen(tmp):
    out = os.path.join(tmp, "a.log")
    t0 = time.monotonic()
    subprocess.run([GEN, "--lines", "100000", "--days", "3", "--seed", "7", "--out", out],
                   check=True, capture_output=True)
    secs = time.monotonic() - t0
    counts = json.load(open(out + ".counts"))
    check(counts["lines"] == 100000 and sum(counts["indices"].values()) == 100000,
          f"gen: 100k lines in {secs:.2f} s, counts add up")
    check(list(counts["indices"]) == ["es-log-2018.07.19", "es-log-2018.07.20",
                                      "es-log-2018.07.21"], "gen: three daily indices")
    again = subprocess.run([GEN, "--lines", "100000", "--days", "3", "--seed", "7"],
                           check=True, capture_output=True).stdout
    check(again == open(out, "rb").read(), "gen: same seed, same bytes")
    lines = again.decode("latin-1").splitlines()
    bad = [l for l in lines if not NGINX_RX.match(l)]
    check(not bad, f"gen: every line matches the Fluentd nginx regex ({bad[:1]})")
    check(sum(":" in l.split(" ", 1)[0] for l in lines) > 5000, "gen: IPv6 remotes")
    check(sum("\\x22" in l for l in lines) > 100 and sum("\\xE5" in l for l in lines) > 100,
          "gen: \\x22 and UTF-8 \\xHH escapes as nginx writes them")
    codes = {NGINX_RX.match(l).group("code") for l in lines}
    check({"200", "301", "304", "404", "500", "400"} <= codes, f"gen: statuses {sorted(codes)}")
    days = [l.split("[", 1)[1][:11] for l in lines]
    check(days[0] == "19/Jul/2018" and days[-1] == "21/Jul/2018", "gen: spans the days")
    return counts


def test_sink_basics(port):
    r = http(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    check(b"X-Elastic-Product: Elasticsearch" in r and b'"number":"8.11.0"' in r,
          "sink: GET / answers as ES 8.11.0 with X-Elastic-Product")
    r = http(port, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    check(r.startswith(b"HTTP/1.1 200") and r.endswith(b"\r\n\r\n"), "sink: HEAD / has no body")
    nd = (b'{"index":{"_index":"es-log-2018.07.19"}}\n{"a":1}\n'
          b'{"create":{"_index":"es-log-2018.07.20","_id":"x1"}}\n{"b":2}\n'
          b'{"delete":{"_index":"es-log-2018.07.20","_id":"zz"}}\n')
    j = json.loads(body_of(http(port, post("/_bulk", nd))))
    items = j["items"]
    check(j["errors"] is False and [list(i)[0] for i in items] == ["index", "create", "delete"]
          and items[0]["index"]["status"] == 201 and items[1]["create"]["_id"] == "x1"
          and len(items[0]["index"]["_id"]) == 20, "sink: bulk items in order, keyed by action")
    j = json.loads(body_of(http(port, post("/_bulk", gzip.compress(nd),
                                          ["Content-Encoding: gzip"]))))
    check(len(j["items"]) == 3, "sink: gzip body")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(nd[i:i + 7]), nd[i:i + 7])
                      for i in range(0, len(nd), 7)) + b"0\r\n\r\n"
    raw = (b"POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
    j = json.loads(body_of(http(port, raw)))
    check(len(j["items"]) == 3, "sink: chunked body")
    # Expect: 100-continue, body sent only after the interim answer.
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(post("/_bulk", b"", ["Expect: 100-continue"]).replace(
        b"Content-Length: 0", b"Content-Length: %d" % len(nd)))
    first = s.recv(100)
    s.sendall(nd)
    rest = b""
    while complete_responses(first + rest) < 1:
        rest += s.recv(1 << 16)
    s.close()
    check(first.startswith(b"HTTP/1.1 100 Continue"), "sink: Expect: 100-continue")
    r = http(port, post("/_bulk", nd) * 3 + b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
             read_until_close=True)
    check(complete_responses(r) == 4, "sink: pipelined requests, Connection: close")
    st = stats(port)
    check(st["indices"] == {"es-log-2018.07.19": 7, "es-log-2018.07.20": 7},
          f"sink: per-index counts {st['indices']}")
    j = json.loads(body_of(http(port, post("/_bulk", b'{"index":{"_index":"a"}}\n{"x":1}'))))
    check(j["status"] == 400 and "terminated by a newline" in j["error"]["reason"],
          "sink: missing final newline -> 400")
    j = json.loads(body_of(http(port, post(
        "/_bulk", b'{"index":{"_index":"a"}}\n{"x":1}\n{"index":{"_index":"a","_type":"_doc"}}\n'
                  b'{"x":1}\n'))))
    check(j["status"] == 400 and "_type" in j["error"]["reason"] and
          stats(port)["indices"].get("a", 0) == 0, "sink: _type rejects the whole request")
    j = json.loads(body_of(http(port, post("/_bulk", b'{"index":{"_index":"Upper"}}\n{"x":1}\n'))))
    check(j["errors"] is True and j["items"][0]["index"]["status"] == 400,
          "sink: invalid index name -> item 400")
    j = json.loads(body_of(http(port, post("/myidx/_bulk?filter_path=errors,items.*.error",
                                          b'{"index":{}}\n{"x":1}\n'))))
    check(j == {"errors": False}, "sink: default index from the URL, filter_path")
    r = http(port, b"POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n\r\n",
             read_until_close=True)
    check(r.startswith(b"HTTP/1.1 413"), "sink: body over --max-body -> 413")
    http(port, b"POST /_sink/reset HTTP/1.1\r\nHost: x\r\n\r\n")
    check(stats(port)["docs"] == 0, "sink: reset")


# What skiff sends (plugins/out_elasticsearch/es_flush.c, ES_BULK_QUERY).
SKIFF_FILTER = "errors,items.*.status,items.*.error,error,status"


def test_filter_path(port):
    """filter_path on _bulk: the answers, byte for byte, that Elasticsearch 8.11
    writes for the same request. Unfiltered: errors first, then took
    (elastic/elasticsearch#98303), items in ES 8 shape; a failed item has its
    _id (null when none was given), status, error. Filtered: FilterPathBasedFilter
    semantics: kept leaves only, containers only when something inside is kept,
    empty arrays dropped, the root object always written; error answers are
    never filtered (AbstractRestChannel.newErrorBuilder)."""
    http(port, b"POST /_sink/reset HTTP/1.1\r\nHost: x\r\n\r\n")
    nd = (b'{"index":{"_index":"fp-2018.07.19","_id":"d1"}}\n{"a":1}\n'
          b'{"create":{"_index":"Fp-Bad","_id":"d2"}}\n{"b":2}\n'
          b'{"index":{"_index":"fp-2018.07.19"}}\n{"c":3}\n'
          b'{"delete":{"_index":"fp-2018.07.20","_id":"d9"}}\n')
    raw = body_of(http(port, post("/_bulk", nd)))
    took = re.search(rb',"took":(\d+),', raw)
    got = raw.replace(took.group(0), b',"took":0,') if took else raw
    auto = re.search(rb'"_id":"([A-Za-z0-9_-]{20})"', got)
    got = got.replace(auto.group(0), b'"_id":"<auto>"') if auto else got
    bad = (b'"error":{"type":"invalid_index_name_exception","reason":"Invalid index name '
           b'[Fp-Bad], must be lowercase","index_uuid":"_na_","index":"Fp-Bad"}')
    shards = b'"_shards":{"total":2,"successful":1,"failed":0}'
    want = (b'{"errors":true,"took":0,"items":['
            b'{"index":{"_index":"fp-2018.07.19","_id":"d1","_version":1,"result":"created",'
            + shards + b',"_seq_no":0,"_primary_term":1,"status":201}},'
            b'{"create":{"_index":"Fp-Bad","_id":"d2","status":400,' + bad + b'}},'
            b'{"index":{"_index":"fp-2018.07.19","_id":"<auto>","_version":1,"result":"created",'
            + shards + b',"_seq_no":1,"_primary_term":1,"status":201}},'
            b'{"delete":{"_index":"fp-2018.07.20","_id":"d9","_version":1,"result":"not_found",'
            + shards + b',"_seq_no":0,"_primary_term":1,"status":404}}]}')
    check_bytes(got, want, "sink: unfiltered bulk answer as ES 8.11 writes it")
    ok_nd = (b'{"index":{"_index":"fp-2018.07.19"}}\n{"a":1}\n'
             b'{"create":{"_index":"fp-2018.07.21","_id":"x"}}\n{"b":2}\n')
    cases = [
        (SKIFF_FILTER, nd,
         b'{"errors":true,"items":[{"index":{"status":201}},{"create":{"status":400,' + bad
         + b'}},{"index":{"status":201}},{"delete":{"status":404}}]}'),
        (SKIFF_FILTER, ok_nd,
         b'{"errors":false,"items":[{"index":{"status":201}},{"create":{"status":201}}]}'),
        # URL-encoded, as SigV4 canonical query strings have it.
        (SKIFF_FILTER.replace("*", "%2A").replace(",", "%2C"), ok_nd,
         b'{"errors":false,"items":[{"index":{"status":201}},{"create":{"status":201}}]}'),
        ("errors,items.*.error", ok_nd, b'{"errors":false}'),
        ("errors,items.*.error", nd, b'{"errors":true,"items":[{"create":{' + bad + b'}}]}'),
        ("items.*.error", ok_nd, b'{}'),
        ("took,errors,items.*.status", ok_nd.replace(b"fp-2018.07.21", b"fp-2018.07.19"),
         b'{"errors":false,"took":0,"items":[{"index":{"status":201}},'
         b'{"create":{"status":201}}]}'),
        # '+' is a space in a query string; tokens are trimmed.
        ("items.create._id,+items.*.error.type", nd,
         b'{"items":[{"create":{"_id":"d2","error":{"type":"invalid_index_name_exception"}}}]}'),
        ("items.*._shards.succ*", ok_nd,
         b'{"items":[{"index":{"_shards":{"successful":1}}},{"create":{"_shards":{"successful":1}}}]}'),
        ("**.status", nd,
         b'{"items":[{"index":{"status":201}},{"create":{"status":400}},'
         b'{"index":{"status":201}},{"delete":{"status":404}}]}'),
        ("-took,-items", ok_nd, b'{"errors":false}'),
        ("-took,-items.*._*,-items.*.result", ok_nd,
         b'{"errors":false,"items":[{"index":{"status":201}},{"create":{"status":201}}]}'),
        ("nothing.here", ok_nd, b'{}'),
        ("", ok_nd, None),  # empty value: no filtering
    ]
    for fp, body, want in cases:
        raw = body_of(http(port, post("/_bulk?filter_path=" + fp, body)))
        got = re.sub(rb'"took":\d+', b'"took":0', raw)
        if want is None:
            j = json.loads(got)
            check(list(j) == ["errors", "took", "items"] and len(j["items"]) == 2,
                  f"sink: filter_path={fp!r} (empty) answers in full")
            continue
        check_bytes(got, want, f"sink: filter_path={fp} answered as ES does")
    r = http(port, post("/_bulk?filter_path=errors",
                        b'{"index":{"_index":"a","_type":"_doc"}}\n{"x":1}\n'))
    check(r.startswith(b"HTTP/1.1 400") and b'"status":400}' in r and b'"root_cause"' in r,
          "sink: an error answer is not filtered")
    r = http(port, post("/_bulk", b"\n\n"))
    check(r.startswith(b"HTTP/1.1 400") and b"no requests added" in r,
          "sink: a body of blank lines -> 400 no requests added")
    http(port, b"POST /_sink/reset HTTP/1.1\r\nHost: x\r\n\r\n")


def test_outage(port):
    http(port, b"POST /_sink/down?seconds=2 HTTP/1.1\r\nHost: x\r\n\r\n")
    r = http(port, post("/_bulk", b'{"index":{"_index":"a"}}\n{"x":1}\n'))
    check(r.startswith(b"HTTP/1.1 503") and b"cluster_block_exception" in r,
          "sink: down (503 mode) answers 503")
    time.sleep(2.2)
    r = http(port, post("/_bulk", b'{"index":{"_index":"a"}}\n{"x":1}\n'))
    check(r.startswith(b"HTTP/1.1 200"), "sink: up again after the outage")
    http(port, b"POST /_sink/down?seconds=1&mode=close HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.2)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        refused = False
    except OSError:
        refused = True
    check(refused, "sink: close mode refuses connections")
    time.sleep(1.2)
    check(stats(port)["docs"] == 1, "sink: listening again after close mode")


def test_latency(port, tmp):
    out = os.path.join(tmp, "live.log")
    t0 = time.monotonic()
    subprocess.run([GEN, "--rate", "20000", "--duration", "2", "--out", out], check=True,
                   capture_output=True)
    secs = time.monotonic() - t0
    lines = open(out, encoding="latin-1").read().splitlines()
    counts = json.load(open(out + ".counts"))
    # Lenient lower bound: a loaded machine may delay the last ticks.
    check(30000 <= len(lines) <= 40100 and counts["lines"] == len(lines),
          f"gen live: {len(lines)} lines in {secs:.2f} s at 20k/s")
    http(port, b"POST /_sink/reset HTTP/1.1\r\nHost: x\r\n\r\n")
    nd = b"".join(b'{"index":{"_index":"x"}}\n' + json.dumps({"path": l}).encode() + b"\n"
                  for l in lines)
    http(port, post("/_bulk", nd))
    st = stats(port)
    lat = st["latency_us"]
    check(lat["count"] == counts["marked"] and st["seq"]["unique"] == counts["marked"]
          and 0 < lat["p50"] <= lat["p99"] <= lat["max"] < 10_000_000,
          f"sink: latency from bench_t markers {lat}")
    http(port, post("/_bulk", nd))
    check(stats(port)["seq"]["dups"] == counts["marked"], "sink: duplicate sequence numbers seen")


def main():
    for b in (GEN, SINK, REPLAY):
        check(os.access(b, os.X_OK), f"built: {b}")
    with tempfile.TemporaryDirectory() as tmp:
        counts = test_gen(tmp)
        pf = os.path.join(tmp, "port")
        errf = open(os.path.join(tmp, "sink.err"), "w+")
        sink = subprocess.Popen([SINK, "--port", "0", "--port-file", pf, "--latency"],
                                stderr=errf)
        try:
            for _ in range(100):
                if os.path.exists(pf):
                    break
                time.sleep(0.05)
            port = int(open(pf).read())
            test_sink_basics(port)
            test_filter_path(port)
            test_outage(port)
            test_latency(port, tmp)
            r = subprocess.run([REPLAY, "--port", str(port), "--docs", "100000", "--days", "3",
                                "--seed", "7", "--reset", "--rounds", "2"],
                               capture_output=True, text=True, timeout=120)
            runs = [json.loads(l) for l in r.stdout.splitlines()]
            check(r.returncode == 0 and len(runs) == 2 and all(x["verified"] for x in runs),
                  f"replay: 2 rounds verified, {runs[-1]['docs_per_s']:.0f} docs/s")
            st = stats(port)
            check(st["indices"] == counts["indices"],
                  "replay: sink indices equal the generator's counts for the same seed")
        finally:
            sink.terminate()
            sink.wait(10)
        errf.seek(0)
        err = errf.read()
        check(sink.returncode == 0 and "ERROR" not in err and "runtime error" not in err,
              f"sink: clean exit on SIGTERM {err[-2000:] if sink.returncode else ''}")
    print("all bench self-tests passed")


if __name__ == "__main__":
    main()
