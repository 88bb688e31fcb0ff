"""in_forward with the real binary: every mode of the Forward protocol sent
by a hand-written msgpack encoder, acks, JSON connections, the UDP
heartbeat, the <security> shared-key handshake (sha512 digests computed
here from the spec), skipped invalid events, a malformed stream (that
connection closes, skiff stays up), and a large PackedForward.
"""
import gzip
import hashlib
import json
import os
import re
import signal
import socket
import struct
import time
import unittest

from harness import Skiff, TempDir, free_port, run_skiff, wait_for

LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} [+-]\d{4}) (\S+): (\{.*\})$")


# --- a tiny msgpack encoder/decoder (no pip packages) ------------------------

class EventTime:
    def __init__(self, sec, nsec=0):
        self.sec, self.nsec = sec, nsec


class Raw:
    """Bytes inserted as they are (hand-made or broken msgpack)."""
    def __init__(self, data):
        self.data = data


def pack(o):
    if o is None:
        return b"\xc0"
    if o is True:
        return b"\xc3"
    if o is False:
        return b"\xc2"
    if isinstance(o, Raw):
        return o.data
    if isinstance(o, EventTime):
        return b"\xd7\x00" + struct.pack(">II", o.sec, o.nsec)
    if isinstance(o, int):
        if 0 <= o < 128:
            return bytes([o])
        if -32 <= o < 0:
            return struct.pack(">b", o)
        if 0 <= o < 2 ** 32:
            return b"\xce" + struct.pack(">I", o)
        if 0 <= o:
            return b"\xcf" + struct.pack(">Q", o)
        return b"\xd3" + struct.pack(">q", o)
    if isinstance(o, float):
        return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, str):
        b = o.encode()
        if len(b) < 32:
            return bytes([0xa0 | len(b)]) + b
        if len(b) < 256:
            return b"\xd9" + bytes([len(b)]) + b
        return b"\xdb" + struct.pack(">I", len(b)) + b
    if isinstance(o, (bytes, bytearray)):
        return b"\xc6" + struct.pack(">I", len(o)) + bytes(o)
    if isinstance(o, (list, tuple)):
        head = bytes([0x90 | len(o)]) if len(o) < 16 else b"\xdd" + struct.pack(">I", len(o))
        return head + b"".join(pack(x) for x in o)
    if isinstance(o, dict):
        head = bytes([0x80 | len(o)]) if len(o) < 16 else b"\xdf" + struct.pack(">I", len(o))
        return head + b"".join(pack(k) + pack(v) for k, v in o.items())
    raise TypeError(o)


def str32(b):
    """PackedForward entries as out_forward writes them: str32."""
    return Raw(b"\xdb" + struct.pack(">I", len(b)) + b)


def unpack(data, off=0):
    """Decodes one value; returns (value, next offset). Bin stays bytes."""
    c = data[off]
    off += 1
    if c <= 0x7f:
        return c, off
    if c >= 0xe0:
        return c - 256, off
    if 0xa0 <= c <= 0xbf:
        n = c & 0x1f
        return data[off:off + n].decode(), off + n
    if 0x90 <= c <= 0x9f or c in (0xdc, 0xdd):
        n, off = _len(c, data, off, 0x90)
        out = []
        for _ in range(n):
            v, off = unpack(data, off)
            out.append(v)
        return out, off
    if 0x80 <= c <= 0x8f or c in (0xde, 0xdf):
        n, off = _len(c, data, off, 0x80)
        out = {}
        for _ in range(n):
            k, off = unpack(data, off)
            v, off = unpack(data, off)
            out[k] = v
        return out, off
    if c == 0xc0:
        return None, off
    if c in (0xc2, 0xc3):
        return c == 0xc3, off
    if c in (0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb):
        w = {0xc4: 1, 0xc5: 2, 0xc6: 4, 0xd9: 1, 0xda: 2, 0xdb: 4}[c]
        n = int.from_bytes(data[off:off + w], "big")
        off += w
        body = data[off:off + n]
        return (body if c <= 0xc6 else body.decode()), off + n
    if c in (0xcc, 0xcd, 0xce, 0xcf):
        w = 1 << (c - 0xcc)
        return int.from_bytes(data[off:off + w], "big"), off + w
    raise ValueError("unsupported msgpack byte 0x%02x" % c)


def _len(c, data, off, fix):
    if c in (0xdc, 0xde):
        return int.from_bytes(data[off:off + 2], "big"), off + 2
    if c in (0xdd, 0xdf):
        return int.from_bytes(data[off:off + 4], "big"), off + 4
    return c - fix, off


def sha512_hex(*parts):
    h = hashlib.sha512()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
    return h.hexdigest()


# --- helpers -------------------------------------------------------------------

class Conn:
    """A client connection that reads whole msgpack replies."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def reply(self):
        while True:
            if self.buf:
                try:
                    value, off = unpack(self.buf)
                    self.buf = self.buf[off:]
                    return value
                except (IndexError, ValueError):
                    pass
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by skiff")
            self.buf += chunk

    def closed_by_peer(self):
        """True once skiff closed the connection (EOF or reset)."""
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def events(skiff):
    out = []
    for line in skiff.output_lines():
        m = LINE.match(line)
        if m:
            out.append((m.group(1), m.group(2), json.loads(m.group(3))))
    return out


def wait_events(skiff, n, what="events"):
    return wait_for(lambda: len(events(skiff)) >= n and events(skiff), timeout=30,
                    what="%d %s" % (n, what))


def wait_port(port):
    def up():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False
    wait_for(up, timeout=20, what="port %d" % port)


def start(tmp, body, name="skiff"):
    os.environ["TZ"] = "UTC"  # stdout prints local time: make it UTC
    port = free_port()
    conf = """
<source>
  @type forward
  port {port}
  bind 127.0.0.1
{body}
</source>
<match **>
  @type stdout
</match>
""".format(port=port, body=body)
    skiff = Skiff(tmp.path, conf, name=name).start()
    wait_port(port)
    return skiff, port


# --- tests ---------------------------------------------------------------------

class Modes(unittest.TestCase):
    """One skiff with the brief's plain config; each test uses its own tags."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.skiff, cls.port = start(cls.tmp, "")

    @classmethod
    def tearDownClass(cls):
        code = cls.skiff.stop()
        log = cls.skiff.log()
        cls.tmp.cleanup()
        assert code == 0, "skiff exited with %s:\n%s" % (code, log)

    def tagged(self, tag, n):
        got = wait_for(lambda: len([e for e in events(self.skiff) if e[1] == tag]) >= n and
                       [e for e in events(self.skiff) if e[1] == tag], what="%d %s" % (n, tag))
        self.assertEqual(len(got), n)
        return got

    def test_message_mode_with_ack(self):
        c = Conn(self.port)
        c.send(pack(["mode.message", EventTime(1700000000, 123456789), {"k": "v", "n": 1},
                     {"chunk": "Y2h1bmsx\n"}]))
        self.assertEqual(c.reply(), {"ack": "Y2h1bmsx\n"})
        c.send(pack(["mode.message", 1700000001, {"k": "int time"}]))  # no option: no ack
        got = self.tagged("mode.message", 2)
        self.assertEqual(got[0][0], "2023-11-14 22:13:20.123456789 +0000")
        self.assertEqual(got[0][2], {"k": "v", "n": 1})
        self.assertEqual(got[1][0], "2023-11-14 22:13:21.000000000 +0000")
        c.close()

    def test_forward_mode(self):
        c = Conn(self.port)
        entries = [[EventTime(1700000000 + i), {"i": i}] for i in range(5)]
        c.send(pack(["mode.forward", entries, {"chunk": "fwd-1", "size": 5}]))
        self.assertEqual(c.reply(), {"ack": "fwd-1"})
        got = self.tagged("mode.forward", 5)
        self.assertEqual([e[2]["i"] for e in got], list(range(5)))
        c.close()

    def test_packed_forward_str_and_bin(self):
        c = Conn(self.port)
        stream = b"".join(pack([EventTime(1700000000, i), {"p": i}]) for i in range(3))
        c.send(pack(["mode.packed", str32(stream), {"size": 3, "chunk": "p1",
                                                    "compressed": "text"}]))
        self.assertEqual(c.reply(), {"ack": "p1"})
        c.send(pack(["mode.packed", stream, {"chunk": "p2"}]))  # bin
        self.assertEqual(c.reply(), {"ack": "p2"})
        got = self.tagged("mode.packed", 6)
        self.assertEqual([e[2]["p"] for e in got], [0, 1, 2, 0, 1, 2])
        c.close()

    def test_compressed_packed_forward(self):
        c = Conn(self.port)
        s1 = b"".join(pack([EventTime(1700000000), {"z": i}]) for i in range(3))
        s2 = b"".join(pack([EventTime(1700000000), {"z": i}]) for i in range(3, 5))
        payload = gzip.compress(s1) + gzip.compress(s2)  # one member per append
        c.send(pack(["mode.gzip", str32(payload), {"size": 5, "chunk": "gz",
                                                   "compressed": "gzip"}]))
        self.assertEqual(c.reply(), {"ack": "gz"})
        got = self.tagged("mode.gzip", 5)
        self.assertEqual([e[2]["z"] for e in got], list(range(5)))
        c.close()

    def test_many_messages_in_one_write_and_keepalive_nil(self):
        c = Conn(self.port)
        data = b"".join(pack(["mode.batch", EventTime(1700000000), {"b": i},
                              {"chunk": "b%d" % i}]) + pack(None) for i in range(50))
        c.send(data)
        self.assertEqual([c.reply() for _ in range(50)], [{"ack": "b%d" % i} for i in range(50)])
        self.tagged("mode.batch", 50)
        c.close()

    def test_message_split_across_writes(self):
        c = Conn(self.port)
        data = pack(["mode.split", EventTime(1700000000), {"s": "x" * 300}, {"chunk": "sp"}])
        for i in range(0, len(data), 7):
            c.send(data[i:i + 7])
            time.sleep(0.001)
        self.assertEqual(c.reply(), {"ack": "sp"})
        self.tagged("mode.split", 1)
        c.close()

    def test_json_connection(self):
        c = Conn(self.port)
        c.send(b'["mode.json", 1700000000, {"j": 1}, {"chunk": "j-1"}]\n')
        c.send(b'["mode.json", [[1700000001, {"j": 2}], [1700000002, {"j": 3}]], '
               b'{"chunk": "j-2"}]')
        buf = b""
        while buf.count(b"}") < 2:
            buf += c.sock.recv(4096)
        self.assertEqual(buf, b'{"ack":"j-1"}{"ack":"j-2"}')
        got = self.tagged("mode.json", 3)
        self.assertEqual([e[2]["j"] for e in got], [1, 2, 3])
        c.close()

    def test_invalid_events_skipped_and_still_acked(self):
        c = Conn(self.port)
        entries = [[EventTime(1700000000), {"ok": 1}],
                   [1.5, {"float": "time"}],
                   [None, {"nil": "time"}],
                   [EventTime(1700000000), "not a map"],
                   [EventTime(1700000000), {"ok": 2}]]
        c.send(pack(["mode.invalid", entries, {"chunk": "inv"}]))
        self.assertEqual(c.reply(), {"ack": "inv"})
        got = self.tagged("mode.invalid", 2)
        self.assertEqual([e[2] for e in got], [{"ok": 1}, {"ok": 2}])
        wait_for(lambda: "skipped 3 invalid events" in self.skiff.log(), what="skip warning")
        c.close()

    def test_malformed_stream_closes_connection_skiff_stays(self):
        for junk in (b"\xc1\xc1\xc1", pack([1, 2, 3]), pack("just a string"),
                     b"[\"mode.bad\", 1, {\"a\": }]"):
            c = Conn(self.port)
            c.send(junk)
            self.assertTrue(wait_for(c.closed_by_peer, timeout=10, what="connection closed"))
            c.close()
        self.assertIsNone(self.skiff.proc.poll())
        c = Conn(self.port)  # still serving
        c.send(pack(["mode.after_bad", EventTime(1700000000), {"alive": True}, {"chunk": "a"}]))
        self.assertEqual(c.reply(), {"ack": "a"})
        c.close()
        self.assertIn("closing the connection from 127.0.0.1", self.skiff.log())

    def test_large_packed_forward(self):
        n = 50000
        stream = b"".join(pack([EventTime(1700000000, i), {"seq": i, "pad": "p" * 64}])
                          for i in range(n))
        self.assertGreater(len(stream), 4 << 20)
        c = Conn(self.port)
        c.send(pack(["mode.large", str32(stream), {"size": n, "chunk": "large"}]))
        self.assertEqual(c.reply(), {"ack": "large"})
        got = self.tagged("mode.large", n)
        self.assertEqual([e[2]["seq"] for e in got], list(range(n)))
        c.close()

    def test_udp_heartbeat(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(5)
            u.sendto(b"\x00", ("127.0.0.1", self.port))
            data, _ = u.recvfrom(16)
        self.assertEqual(data, b"\x00")


class Backpressure(unittest.TestCase):
    """A full buffer refuses events: no ack, and skiff stops reading that
    connection; once the buffer drains the held chunk goes in exactly once
    and is acked."""

    def test_full_buffer_delays_ack_then_resumes(self):
        tmp = TempDir()
        os.environ["TZ"] = "UTC"
        port = free_port()
        skiff = Skiff(tmp.path, """
<source>
  @type forward
  port {port}
  bind 127.0.0.1
</source>
<match **>
  @type stdout
  <buffer tag>
    @type memory
    chunk_limit_size 16k
    total_limit_size 64k
    flush_interval 3600s
  </buffer>
</match>
""".format(port=port)).start()
        try:
            wait_port(port)
            c = Conn(port)
            acks = []
            # 8 tags, one staged chunk of ~12 KiB each (never full, never
            # flushed before SIGUSR1): about 5 fit in 64 KiB.
            for i in range(8):
                stream = b"".join(pack([EventTime(1700000000), {"c": i, "e": j, "pad": "x" * 100}])
                                  for j in range(100))
                c.send(pack(["bp.%d" % i, str32(stream), {"chunk": "bp%d" % i}]))
            c.sock.settimeout(1.5)
            try:
                while True:
                    acks.append(c.reply()["ack"])
            except socket.timeout:
                pass
            self.assertGreater(len(acks), 0)
            self.assertLess(len(acks), 8, "a full buffer must hold acks back")
            self.assertEqual(events(skiff), [])
            c.sock.settimeout(10)
            deadline = time.monotonic() + 30
            while len(acks) < 8 and time.monotonic() < deadline:
                skiff.signal(signal.SIGUSR1)  # flush: the buffer drains
                try:
                    c.sock.settimeout(0.5)
                    acks.append(c.reply()["ack"])
                except socket.timeout:
                    pass
            self.assertEqual(acks, ["bp%d" % i for i in range(8)])
            skiff.signal(signal.SIGUSR1)
            got = wait_events(skiff, 800)
            self.assertEqual(sorted((e[2]["c"], e[2]["e"]) for e in got),
                             [(i, j) for i in range(8) for j in range(100)])
            c.close()
        finally:
            skiff.stop()
            tmp.cleanup()


class Security(unittest.TestCase):
    """<security> with a shared key, a per-network <client> key and users."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.skiff, cls.port = start(cls.tmp, """
  add_tag_prefix remote
  source_address_key src
  <security>
    self_hostname skiff.test
    shared_key global-secret
    user_auth true
    <user>
      username alice
      password wonderland
    </user>
    <client>
      network 127.0.0.0/8
      shared_key loopback-secret
    </client>
  </security>
""")

    @classmethod
    def tearDownClass(cls):
        cls.skiff.stop()
        cls.tmp.cleanup()

    def handshake(self, key, user="alice", password="wonderland"):
        c = Conn(self.port)
        helo = c.reply()
        self.assertEqual(helo[0], "HELO")
        opts = helo[1]
        nonce, auth = opts["nonce"], opts["auth"]
        self.assertEqual(len(nonce), 16)
        self.assertEqual(len(auth), 16)
        self.assertIs(opts["keepalive"], True)
        salt = b"client-salt-0123"
        c.send(pack(["PING", "client.test", Raw(pack(salt)),
                     sha512_hex(salt, "client.test", nonce, key), user,
                     sha512_hex(auth, user, password)]))
        return c, c.reply(), salt, nonce

    def test_handshake_then_events(self):
        c, pong, salt, nonce = self.handshake("loopback-secret")
        self.assertEqual(pong[:4], ["PONG", True, "", "skiff.test"])
        self.assertEqual(pong[4], sha512_hex(salt, "skiff.test", nonce, "loopback-secret"))
        c.send(pack(["secure", EventTime(1700000000), {"m": 1}, {"chunk": "s1"}]))
        self.assertEqual(c.reply(), {"ack": "s1"})
        got = wait_events(self.skiff, 1)
        self.assertEqual(got[0][1], "remote.secure")
        self.assertEqual(got[0][2], {"m": 1, "src": "127.0.0.1"})
        c.close()

    def test_wrong_shared_key_refused(self):
        # The <client> network matches, so the global key is the wrong one.
        c, pong, _, _ = self.handshake("global-secret")
        self.assertEqual(pong, ["PONG", False, "shared_key mismatch", "", ""])
        self.assertTrue(wait_for(c.closed_by_peer, timeout=10, what="connection closed"))
        c.close()

    def test_wrong_password_refused(self):
        c, pong, _, _ = self.handshake("loopback-secret", password="nope")
        self.assertEqual(pong, ["PONG", False, "username/password mismatch", "", ""])
        c.close()

    def test_events_before_ping_refused(self):
        c = Conn(self.port)
        self.assertEqual(c.reply()[0], "HELO")
        c.send(pack(["sneaky", EventTime(1700000000), {"m": 1}, {"chunk": "x"}]))
        self.assertEqual(c.reply(), ["PONG", False, "invalid ping message", "", ""])
        c.close()
        time.sleep(0.2)
        self.assertFalse(any(e[1] == "remote.sneaky" for e in events(self.skiff)))


class ConfigErrors(unittest.TestCase):
    def dry_run(self, body):
        tmp = TempDir()
        try:
            path = tmp.join("c.conf")
            with open(path, "w") as f:
                f.write("<source>\n  @type forward\n%s\n</source>\n"
                        "<match **>\n  @type stdout\n</match>\n" % body)
            return run_skiff("--dry-run", "-c", path)
        finally:
            tmp.cleanup()

    def test_transport_tls_is_a_clear_error(self):
        code, out, err = self.dry_run("  <transport tls>\n    cert_path /x.pem\n  </transport>")
        self.assertNotEqual(code, 0)
        self.assertIn("<transport tls> is not supported yet", out + err)

    def test_security_needs_keys_and_users(self):
        code, out, err = self.dry_run("  <security>\n    self_hostname h\n  </security>")
        self.assertNotEqual(code, 0)
        self.assertIn("'shared_key' parameter is required", out + err)
        code, out, err = self.dry_run(
            "  <security>\n    self_hostname h\n    shared_key k\n    user_auth true\n"
            "  </security>")
        self.assertNotEqual(code, 0)
        self.assertIn("<user> sections required", out + err)

    def test_defaults(self):
        code, out, err = self.dry_run("")
        self.assertEqual(code, 0, out + err)
        for line in ("port 24224", "bind 0.0.0.0", "skip_invalid_event true",
                     "linger_timeout 0", "deny_keepalive false"):
            self.assertIn(line, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
