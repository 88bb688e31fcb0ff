"""Fault injection: every mode, driven through the control API as skiff's
integration tests will drive it."""

import http.client
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from esdouble import EsDouble  # noqa: E402
from esd.testing import Client, ndjson, once, wait_for  # noqa: E402

BULK = ndjson({"index": {"_index": "f"}}, {"x": 1})


def docs_body(n, index="f", ids=True):
    lines = []
    for i in range(n):
        meta = {"_index": index}
        if ids:
            meta["_id"] = "d%d" % i
        lines += [{"index": meta}, {"n": i}]
    return ndjson(*lines)


class FaultCase(unittest.TestCase):
    flavor = "es8"
    kwargs = {}

    def setUp(self):
        self.d = EsDouble(flavor=self.flavor, refresh_interval_ms=-1, **self.kwargs).start()
        self.c = Client(self.d.port)

    def tearDown(self):
        self.c.close()
        self.d.stop()


class StatusFaultTest(FaultCase):
    def test_503_until_cleared_scoped_to_bulk(self):
        self.c.faults({"status": 503, "path": "_bulk", "retry_after": 7})
        r = self.c.bulk(BULK)
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json["error"]["type"], "cluster_block_exception")
        self.assertEqual(r.header("Retry-After"), "7")
        self.assertEqual(self.c.get("/").status, 200, "GET / is out of scope")
        self.assertEqual(self.c.counts(), {})
        self.assertEqual(self.c.requests("?path=_bulk")[0]["fault"], "status:503")
        self.c.request("DELETE", "/_double/faults")
        self.assertEqual(self.c.bulk(BULK).status, 200)

    def test_fail_next_n_then_recover(self):
        self.c.faults({"status": 429, "fail_next_n": 2, "method": "POST"})
        got = [self.c.bulk(BULK).status for _ in range(4)]
        self.assertEqual(got, [429, 429, 200, 200])
        r = self.c.get("/_double/faults").json
        self.assertEqual(r["rules"][0]["fail_next_n_remaining"], 0)
        self.assertEqual(self.c.counts(), {"f": 2})

    def test_429_body_per_product(self):
        self.c.faults({"status": 429})
        e = self.c.bulk(BULK).json["error"]
        self.assertEqual(e["type"], "es_rejected_execution_exception")
        self.assertIn("coordinating operation", e["reason"])
        self.c.faults({"status": 429, "style": "circuit_breaking"})
        e = self.c.bulk(BULK).json["error"]
        self.assertEqual((e["type"], e["durability"]), ("circuit_breaking_exception", "TRANSIENT"))

    def test_auth_statuses_and_styles(self):
        self.c.faults({"status": 401})
        r = self.c.bulk(BULK)
        self.assertEqual(r.json["error"]["type"], "security_exception")
        self.assertIn('Basic realm="security" charset="UTF-8"', r.headers_all("WWW-Authenticate"))
        self.c.faults({"status": 403})
        self.assertIn("is unauthorized for user", self.c.bulk(BULK).json["error"]["reason"])
        self.c.faults({"status": 403, "style": "amazon"})
        self.assertEqual(self.c.bulk(BULK).json,
                         {"Message": "User: anonymous is not authorized to perform: es:ESHttpPost"})
        self.c.faults({"status": 403, "style": "amazon_token_expired"})
        self.assertEqual(self.c.bulk(BULK).json,
                         {"message": "The security token included in the request is expired"})
        self.c.faults({"status": 502})
        r = self.c.bulk(BULK)
        self.assertEqual(r.status, 502)
        self.assertIn(b"502 Bad Gateway", r.data)
        self.c.faults({"status": 500, "body": {"custom": True}})
        self.assertEqual(self.c.bulk(BULK).json, {"custom": True})

    def test_duration_expires(self):
        self.c.faults({"status": 503, "duration_ms": 150})
        self.assertEqual(self.c.get("/").status, 503)
        wait_for(lambda: self.c.get("/").status == 200, timeout=5)

    def test_bad_spec_rejected(self):
        r = self.c.request("POST", "/_double/faults", body={"stauts": 503})
        self.assertEqual(r.status, 400)
        self.assertIn("unknown fault key", r.json["error"])
        for bad in ({"item_429_fraction": 2}, {"retry_after": 3}, {"down": "sometimes"},
                    {"down": "refuse", "path": "_bulk"}, {"drop_after_processing": True},
                    {"path": "("}):
            r = self.c.request("POST", "/_double/faults", body=bad)
            self.assertEqual(r.status, 400, bad)


class OpenSearchFaultTest(FaultCase):
    flavor = "opensearch2"

    def test_bodies(self):
        self.c.faults({"status": 429})
        self.assertEqual(self.c.bulk(BULK).json["error"]["type"], "rejected_execution_exception")
        self.c.faults({"status": 401})
        r = self.c.bulk(BULK)
        self.assertEqual((r.status, r.data), (401, b"Unauthorized"))


class AwsFaultTest(FaultCase):
    flavor = "es7"
    kwargs = {"aws": True}

    def test_default_amazon_bodies_and_payload_limit(self):
        self.c.faults({"status": 403})
        self.assertIn("Message", self.c.bulk(BULK).json)
        self.c.request("DELETE", "/_double/faults")
        r = self.c.bulk("x" * (10485760 + 1))
        self.assertEqual(r.status, 413)
        self.assertEqual(r.json, {"Message": "Request size exceeded 10485760 bytes"})

    def test_nodes_have_no_http(self):
        b = self.c.get("/_nodes/http").json
        self.assertTrue(b["nodes"])
        for node in b["nodes"].values():
            self.assertNotIn("http", node)


class ItemFaultTest(FaultCase):
    def test_item_429_deterministic_and_converging(self):
        spec = {"item_429_fraction": 0.5, "seed": 42}
        self.c.faults(spec)
        r = self.c.bulk(docs_body(40))
        first = [i["index"]["status"] for i in r.json["items"]]
        self.assertIn(429, first)
        self.assertIn(201, first)
        self.assertTrue(r.json["errors"])
        rejected = next(i["index"] for i in r.json["items"] if i["index"]["status"] == 429)
        self.assertEqual(rejected["error"]["type"], "es_rejected_execution_exception")
        # same seed, fresh double: same decisions
        with EsDouble(refresh_interval_ms=-1) as other:
            oc = Client(other.port)
            oc.faults(spec)
            again = [i["index"]["status"] for i in oc.bulk(docs_body(40)).json["items"]]
            oc.close()
        self.assertEqual(first, again)
        # retrying the rejected documents converges
        retry = [i for i, s in enumerate(first) if s == 429]
        lines = []
        for i in retry:
            lines += [{"index": {"_index": "f", "_id": "d%d" % i}}, {"n": i}]
        r = self.c.bulk(ndjson(*lines))
        self.assertFalse(r.json["errors"], r.json)
        self.assertEqual(self.c.counts(), {"f": 40})

    def test_item_429_without_ids_converges(self):
        self.c.faults({"item_429_fraction": 1.0, "seed": 3})
        r = self.c.bulk(docs_body(5, ids=False))
        self.assertTrue(all(i["index"]["status"] == 429 for i in r.json["items"]))
        self.assertTrue(all(len(i["index"]["_id"]) == 20 for i in r.json["items"]))
        r = self.c.bulk(docs_body(5, ids=False))
        self.assertFalse(r.json["errors"])

    def test_reject_400_if(self):
        self.c.faults({"reject_400_if": [{"field": "resp.code", "value": "abc"},
                                         {"substring": "poison"}]})
        r = self.c.bulk(ndjson({"index": {"_index": "f", "_id": "1"}}, {"resp": {"code": "abc"}},
                               {"index": {"_index": "f", "_id": "2"}}, {"m": "poison pill"},
                               {"index": {"_index": "f", "_id": "3"}}, {"resp": {"code": 200}}))
        st = [i["index"]["status"] for i in r.json["items"]]
        self.assertEqual(st, [400, 400, 201])
        e = r.json["items"][0]["index"]["error"]
        self.assertEqual(e["type"], "document_parsing_exception")
        self.assertIn("failed to parse field [resp.code]", e["reason"])
        self.assertEqual(e["caused_by"]["type"], "illegal_argument_exception")
        # a 400 is permanent: the retry fails again
        r = self.c.bulk(ndjson({"index": {"_index": "f", "_id": "1"}}, {"resp": {"code": "abc"}}))
        self.assertEqual(r.json["items"][0]["index"]["status"], 400)


class ConnectionFaultTest(FaultCase):
    def raw_roundtrip(self, payload=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", self.d.port), timeout=5)
        try:
            s.sendall(payload)
            return s.recv(65536)
        finally:
            s.close()

    def test_down_close_answers_nothing_but_control_works(self):
        self.c.faults({"down": "close"})
        self.assertEqual(self.raw_roundtrip(), b"")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            once(self.d.port, "GET", "/")
        self.assertEqual(self.c.get("/_double/state").status, 200)
        self.c.request("DELETE", "/_double/faults")
        self.assertEqual(self.c.get("/").status, 200)

    def test_down_reset(self):
        self.c.faults({"down": "reset"})
        with self.assertRaises(ConnectionResetError):
            self.raw_roundtrip()

    def test_down_hang_until_cleared(self):
        self.c.faults({"down": "hang"})
        result = {}

        def call():
            try:
                with Client(self.d.port, timeout=5) as hc:
                    hc.get("/")
                result["r"] = "answered"
            except Exception as e:  # noqa: BLE001
                result["r"] = type(e).__name__
        t = threading.Thread(target=call)
        t0 = time.monotonic()
        t.start()
        wait_for(lambda: self.c.requests("?path=^/$"))
        self.assertTrue(t.is_alive(), "request must hang")
        self.c.request("DELETE", "/_double/faults")
        t.join(5)
        self.assertLess(time.monotonic() - t0, 4)
        self.assertEqual(result["r"], "RemoteDisconnected")

    def test_down_refuse_for_a_while(self):
        port = self.d.port
        self.c.faults({"down": "refuse", "duration_ms": 300})
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2)

        def back():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                return True
            except ConnectionRefusedError:
                return False
        wait_for(back, timeout=5)
        self.assertEqual(once(port, "GET", "/").status, 200)

    def test_refuse_in_process_clear(self):
        self.d.set_faults({"down": "refuse"})
        self.assertTrue(self.d.refusing)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.d.port), timeout=2)
        self.d.clear_faults()
        self.assertEqual(once(self.d.port, "GET", "/").status, 200)

    def test_drop_connection_next_n(self):
        self.c.faults({"drop_connection": 2, "path": "_bulk"})
        for _ in range(2):
            with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
                once(self.d.port, "BULK", None, BULK)
        self.assertEqual(self.c.bulk(BULK).status, 200)
        self.assertEqual(self.c.counts(), {"f": 1}, "dropped requests were not processed")
        log = self.c.requests("?path=_bulk")
        self.assertEqual([e["status"] for e in log], [None, None, 200])
        self.assertEqual([e["fault"] for e in log], ["drop", "drop", None])

    def test_drop_after_processing(self):
        self.c.faults({"drop_connection": 1, "drop_after_processing": True})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            once(self.d.port, "BULK", None, docs_body(3))
        self.assertEqual(self.c.counts(), {"f": 3}, "indexed although the answer was lost")

    def test_slow(self):
        self.c.faults({"slow_ms": 250, "path": "_bulk"})
        t0 = time.monotonic()
        self.assertEqual(self.c.bulk(BULK).status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        t0 = time.monotonic()
        self.c.get("/")
        self.assertLess(time.monotonic() - t0, 0.2)

    def test_max_body_bytes_es_and_amazon(self):
        self.c.faults({"max_body_bytes": 100})
        r = once(self.d.port, "BULK", None, docs_body(5))
        self.assertEqual((r.status, r.data), (413, b""))
        self.assertEqual(once(self.d.port, "BULK", None, BULK).status, 200)
        self.c.faults({"max_body_bytes": 100, "max_body_style": "amazon"})
        r = once(self.d.port, "BULK", None, docs_body(5))
        self.assertEqual(r.json, {"Message": "Request size exceeded 100 bytes"})
        self.assertEqual(r.header("Connection"), "close")

    def test_max_body_with_expect_100_continue(self):
        self.c.faults({"max_body_bytes": 10})
        s = socket.create_connection(("127.0.0.1", self.d.port), timeout=5)
        s.sendall(b"POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                  b"Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        data = s.recv(4096)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data)

    def test_idle_keepalive_connections_are_closed(self):
        self.c.faults({"idle_timeout_ms": 100})
        s = socket.create_connection(("127.0.0.1", self.d.port), timeout=5)
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = s.recv(65536)
            self.assertTrue(data.startswith(b"HTTP/1.1 200"))
            t0 = time.monotonic()
            while s.recv(65536):  # blocks until the double closes the idle connection
                pass
            self.assertLess(time.monotonic() - t0, 3)
        finally:
            s.close()

    def test_close_after_response(self):
        self.c.faults({"close_after_response": True})
        r = self.c.get("/")
        self.assertEqual(r.header("Connection"), "close")


class SniffFaultTest(FaultCase):
    def publish(self):
        b = self.c.get("/_nodes/http").json
        return [n.get("http", {}).get("publish_address") for n in b["nodes"].values()]

    def test_modes(self):
        self.c.faults({"sniff_unreachable": True})
        self.assertEqual(self.publish(), ["127.0.0.254:1"])
        self.c.faults({"sniff": "amazon"})
        self.assertEqual(self.publish(), [None])
        self.c.faults({"sniff": ["127.0.0.1:9201", "es02.local/127.0.0.3:9200", "[::1]:9200"]})
        self.assertEqual(self.publish(), ["127.0.0.1:9201", "es02.local/127.0.0.3:9200",
                                          "[::1]:9200"])
        self.c.request("DELETE", "/_double/faults")
        self.assertEqual(self.publish(), ["localhost/127.0.0.1:%d" % self.d.port])


class RedIndexTest(FaultCase):
    def test_red_index(self):
        self.c.request("PUT", "/logs-a")
        self.c.request("PUT", "/other")
        self.c.faults({"red_indices": "logs-*"})
        h = self.c.get("/_cluster/health").json
        self.assertEqual((h["status"], h["unassigned_primary_shards"]), ("red", 1))
        r = self.c.get("/_cluster/health?wait_for_status=yellow&timeout=20ms")
        self.assertEqual((r.status, r.json["timed_out"]), (200, True))
        r = self.c.bulk(ndjson({"index": {"_index": "logs-a"}}, {"x": 1},
                               {"index": {"_index": "other"}}, {"x": 1}))
        it = [i["index"] for i in r.json["items"]]
        self.assertEqual([i["status"] for i in it], [503, 201])
        self.assertEqual(it[0]["error"]["type"], "unavailable_shards_exception")
        cat = {row["index"]: row for row in self.c.get("/_cat/indices?format=json").json}
        self.assertEqual(cat["logs-a"]["health"], "red")
        self.assertIsNone(cat["logs-a"]["docs.count"])


class MultiRuleTest(FaultCase):
    def test_rules_list(self):
        self.c.faults([{"status": 503, "path": "^/_nodes"}, {"slow_ms": 1, "name": "all"}])
        self.assertEqual(self.c.get("/_nodes/http").status, 503)
        self.assertEqual(self.c.get("/").status, 200)
        faults = [e["fault"] for e in self.c.requests()]
        self.assertEqual(faults, ["status:503,slow:1,rule:all", "slow:1,rule:all"])


if __name__ == "__main__":
    unittest.main()
