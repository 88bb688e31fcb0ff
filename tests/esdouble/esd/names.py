"""Index names: validation and date-math resolution (es-api.md §3.2, §6.2).

Why a module of its own: skiff writes date-named indices, either as plain
names it formats itself (`logstash-2024.05.01`) or as date-math expressions
(`<logstash-{now/d}>`, URL-encoded in paths).  Both paths must be checked the
way Elasticsearch checks them, with the same error wording, because the
wording is what a shipper's error handling and its operators see.

Public functions raise `NameError_` with the Elasticsearch description; the
callers decide whether that is an item error (bulk) or a whole-request 400.
"""

import datetime
import re

MAX_INDEX_NAME_BYTES = 255

# Strings.INVALID_FILENAME_CHARS as Elasticsearch 7 prints the set.
_INVALID_CHARS = '\\/*?"<>| ,'
_INVALID_CHARS_TEXT = '[ , ", *, \\, <, |, ,, >, /, ?]'


class NameError_(Exception):
    """An invalid index name; `.type` is the Elasticsearch exception type."""

    def __init__(self, name, reason, type_="invalid_index_name_exception"):
        super().__init__(reason)
        self.name = name
        self.reason = reason
        self.type = type_


def validate_index_name(name):
    """Raise NameError_ if `name` is not a valid concrete index name.

    The order of the checks is Elasticsearch's
    (MetadataCreateIndexService.validateIndexOrAliasName, then lowercase).
    """
    def bad(desc):
        raise NameError_(name, "Invalid index name [%s], %s" % (name, desc))

    if any(c in _INVALID_CHARS for c in name):
        bad("must not contain the following characters " + _INVALID_CHARS_TEXT)
    if name == "":
        bad("must not be empty")
    if "#" in name:
        bad("must not contain '#'")
    if ":" in name:
        bad("must not contain ':'")
    if name[0] in "_-+":
        bad("must not start with '_', '-', or '+'")
    nbytes = len(name.encode("utf-8", "surrogatepass"))
    if nbytes > MAX_INDEX_NAME_BYTES:
        bad("index name is too long, (%d > %d)" % (nbytes, MAX_INDEX_NAME_BYTES))
    if name in (".", ".."):
        bad("must not be '.' or '..'")
    if name.lower() != name:
        bad("must be lowercase")


def validate_alias_name(name):
    """Aliases follow the same rules except the lowercase one."""
    def bad(desc):
        raise NameError_(name, "Invalid alias name [%s], %s" % (name, desc),
                         "invalid_alias_name_exception")

    if any(c in _INVALID_CHARS for c in name):
        bad("must not contain the following characters " + _INVALID_CHARS_TEXT)
    if name == "":
        bad("must not be empty")
    if "#" in name:
        bad("must not contain '#'")
    if ":" in name:
        bad("must not contain ':'")
    if name[0] in "_-+":
        bad("must not start with '_', '-', or '+'")


# --------------------------------------------------------------------------
# Date math: <static{now/d{yyyy.MM.dd|+09:00}}static>

DEFAULT_FORMAT = "yyyy.MM.dd"


def is_date_math(name):
    return len(name) >= 2 and name[0] == "<" and name[-1] == ">"


def resolve(name, now):
    """Resolve a date-math expression; plain names come back unchanged.

    `now` is an aware UTC datetime (the double's clock).  Raises NameError_
    (type parse_exception) for a malformed expression, with the reason
    Elasticsearch gives: "invalid dynamic name expression [...]".
    """
    if not is_date_math(name):
        return name
    text = name[1:-1]
    out = []
    i = 0
    n = len(text)

    def fail(why):
        raise NameError_(name, "invalid dynamic name expression [%s]. %s" % (text, why),
                         "parse_exception")

    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                fail("invalid escape at the end")
            out.append(text[i + 1])
            i += 2
        elif c == "{":
            j, expr, fmt, tz = _scan_expression(text, i + 1, fail)
            out.append(_evaluate(expr, fmt, tz, now, fail))
            i = j
        elif c == "}":
            fail("invalid character in placeholder at position [%d]" % i)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _scan_expression(text, i, fail):
    """Read `expr{format|tz}}` or `expr}` starting after the opening brace."""
    expr = []
    fmt = None
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                fail("invalid escape at the end")
            expr.append(text[i + 1])
            i += 2
            continue
        if c == "{":
            close = text.find("}", i + 1)
            if close < 0:
                fail("missing closing '}' for date format")
            fmt = text[i + 1:close]
            i = close + 1
            if i >= n or text[i] != "}":
                fail("missing closing '}' after date format")
            return i + 1, "".join(expr), *_split_format(fmt)
        if c == "}":
            return i + 1, "".join(expr), DEFAULT_FORMAT, None
        expr.append(c)
        i += 1
    fail("date math placeholder is open ended")
    return None  # not reached


def _split_format(fmt):
    if "|" in fmt:
        f, tz = fmt.split("|", 1)
        return (f or DEFAULT_FORMAT), tz
    return (fmt or DEFAULT_FORMAT), None


_MATH = re.compile(r"([+-])(\d+)([yMwdhHms])|/([yMwdhHms])")


def _zone(tz, fail):
    if tz is None or tz in ("Z", "UTC", "utc"):
        return datetime.timezone.utc
    m = re.fullmatch(r"([+-])(\d{1,2})(?::?(\d{2}))?", tz)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        return datetime.timezone(sign * datetime.timedelta(minutes=minutes))
    try:
        import zoneinfo
        return zoneinfo.ZoneInfo(tz)
    except Exception:  # unknown zone id
        fail("invalid time zone [%s]" % tz)
    return None


def _evaluate(expr, fmt, tz, now, fail):
    if not expr.startswith("now"):
        fail("date math expression must start with [now], got [%s]" % expr)
    t = now.astimezone(_zone(tz, fail))
    rest = expr[3:]
    pos = 0
    while pos < len(rest):
        m = _MATH.match(rest, pos)
        if not m:
            fail("invalid date math [%s]" % expr)
        if m.group(4):
            t = _round_down(t, m.group(4))
        else:
            t = _add(t, int(m.group(2)) * (-1 if m.group(1) == "-" else 1), m.group(3))
        pos = m.end()
    return format_java(t, fmt, fail)


def _add(t, amount, unit):
    if unit == "y":
        return _add_months(t, 12 * amount)
    if unit == "M":
        return _add_months(t, amount)
    seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    return t + datetime.timedelta(seconds=seconds * amount)


def _add_months(t, months):
    y, m = divmod(t.month - 1 + months, 12)
    year, month = t.year + y, m + 1
    import calendar
    day = min(t.day, calendar.monthrange(year, month)[1])
    return t.replace(year=year, month=month, day=day)


def _round_down(t, unit):
    t = t.replace(microsecond=0)
    if unit == "s":
        return t
    t = t.replace(second=0)
    if unit == "m":
        return t
    t = t.replace(minute=0)
    if unit in "hH":
        return t
    t = t.replace(hour=0)
    if unit == "d":
        return t
    if unit == "w":
        return t - datetime.timedelta(days=t.weekday())
    t = t.replace(day=1)
    if unit == "M":
        return t
    return t.replace(month=1)


_FMT_TOKEN = re.compile(r"'([^']*)'|([a-zA-Z])\2*|.", re.S)


def format_java(t, fmt, fail=None):
    """Format with a subset of Java DateTimeFormatter patterns.

    Supported letters: y/u (year), M (month), d (day), H (hour), m, s,
    S (fraction); quoted literals; everything else that is not a letter is
    copied.  Other letters are an error, as an unknown pattern is in ES.
    """
    out = []
    for m in _FMT_TOKEN.finditer(fmt):
        tok = m.group(0)
        if m.group(1) is not None:
            out.append(m.group(1) if m.group(1) else "'")
            continue
        letter = m.group(2)
        if letter is None:
            out.append(tok)
            continue
        width = len(tok)
        if letter in "yuY":
            out.append("%02d" % (t.year % 100) if width == 2 else "%0*d" % (width, t.year))
        elif letter == "M":
            out.append("%0*d" % (width, t.month))
        elif letter == "d":
            out.append("%0*d" % (width, t.day))
        elif letter == "H":
            out.append("%0*d" % (width, t.hour))
        elif letter == "m":
            out.append("%0*d" % (width, t.minute))
        elif letter == "s":
            out.append("%0*d" % (width, t.second))
        elif letter == "S":
            out.append(("%06d" % t.microsecond)[:width].ljust(width, "0"))
        else:
            if fail:
                fail("unsupported date format letter [%s] in [%s]" % (letter, fmt))
            raise ValueError(fmt)
    return "".join(out)
