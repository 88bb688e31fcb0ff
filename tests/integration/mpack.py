"""A tiny msgpack encoder for tests (the standard library has none): just
what Fluentd's chunk and forward formats use."""
import struct


def event_time(sec, nsec=0):
    """Fluent EventTime: fixext 8, ext type 0, seconds and nanoseconds BE."""
    return b"\xd7\x00" + struct.pack(">II", sec, nsec)


def pack(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, bytes) and len(v) == 10 and v[:2] == b"\xd7\x00":
        return v  # a pre-packed EventTime
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if 0 <= v < 2 ** 32:
            return b"\xce" + struct.pack(">I", v)
        if v >= 0:
            return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32:
            return bytes([0xa0 | len(b)]) + b
        if len(b) < 256:
            return b"\xd9" + bytes([len(b)]) + b
        return b"\xda" + struct.pack(">H", len(b)) + b if len(b) < 65536 else \
            b"\xdb" + struct.pack(">I", len(b)) + b
    if isinstance(v, (bytes, bytearray)):
        return b"\xc4" + bytes([len(v)]) + bytes(v) if len(v) < 256 else \
            b"\xc6" + struct.pack(">I", len(v)) + bytes(v)
    if isinstance(v, (list, tuple)):
        head = bytes([0x90 | len(v)]) if len(v) < 16 else b"\xdc" + struct.pack(">H", len(v))
        return head + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        head = bytes([0x80 | len(v)]) if len(v) < 16 else b"\xde" + struct.pack(">H", len(v))
        return head + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(type(v))


def chunk_meta(tag, chunk_id, records, created, modified, timekey=None):
    """A Fluentd >= 1.7 .meta file: C1 00, BE length, then the map."""
    body = pack({"timekey": timekey, "tag": tag, "variables": None, "seq": 0,
                 "id": bytes(chunk_id), "s": records, "c": created, "m": modified})
    return b"\xc1\x00" + struct.pack(">I", len(body)) + body
