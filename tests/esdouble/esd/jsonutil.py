"""Strict JSON decoding the way Elasticsearch's Jackson parser is configured.

Elasticsearch rejects duplicate keys (strict duplicate detection, on since
6.0), NaN/Infinity and raw control characters in strings.  A shipper that
adds `@timestamp` to a record that already has one produces a duplicate key;
the double must refuse that document exactly as the cluster would.
"""

import json


class JsonError(ValueError):
    """Decoding failed; `line`/`col` are 1-based, `msg` Jackson-like."""

    def __init__(self, msg, line=1, col=1):
        super().__init__(msg)
        self.msg = msg
        self.line = line
        self.col = col

    def es_reason(self):
        return "[%d:%d] %s" % (self.line, self.col, self.msg)


class _Dup(Exception):
    def __init__(self, key):
        super().__init__(key)
        self.key = key


def _pairs(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise _Dup(k)
        out[k] = v
    return out


def _constant(name):
    raise JsonError("Non-standard token '%s': enable JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS to "
                    "allow" % name)


def loads(text):
    """Parse `text` (str); raises JsonError."""
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except _Dup as e:
        needle = '"%s"' % e.key
        first = text.find(needle)
        second = text.find(needle, first + 1)
        col = (second if second >= 0 else 0) + len(needle) + 1
        raise JsonError("Duplicate field '%s'" % e.key, 1, col)
    except json.JSONDecodeError as e:
        msg = e.msg
        if msg.startswith("Expecting value") and e.pos >= len(text.rstrip()):
            msg = "Unexpected end-of-input"
        elif msg.startswith("Expecting value") and e.pos < len(text):
            ch = text[e.pos]
            msg = ("Unexpected character ('%s' (code %d)): expected a valid value (JSON String, "
                   "Number, Array, Object or token 'null', 'true' or 'false')" % (ch, ord(ch)))
        elif msg.startswith("Invalid control character"):
            ch = text[e.pos] if e.pos < len(text) else "?"
            msg = ("Illegal unquoted character ((CTRL-CHAR, code %d)): has to be escaped using "
                   "backslash to be included in string value" % ord(ch))
        raise JsonError(msg, e.lineno, e.colno)


def token_name(value):
    """The Jackson token a JSON value starts with (for "but found [X]")."""
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if isinstance(value, (int, float)):
        return "VALUE_NUMBER"
    return "VALUE_NULL"


def utf8_error(raw, err):
    """A Jackson-style message for invalid UTF-8 in `raw` (a UnicodeDecodeError)."""
    if "start byte" in err.reason:
        return "Invalid UTF-8 start byte 0x%02x" % raw[err.start]
    if err.end < len(raw) and "continuation" in err.reason:
        return "Invalid UTF-8 middle byte 0x%02x" % raw[err.end]
    return "Unexpected end-of-input in UTF-8 sequence"
