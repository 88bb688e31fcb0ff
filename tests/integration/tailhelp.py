"""Helpers shared by the in_tail integration tests: nginx lines to write,
the td-agent config they run, what skiff printed (out_stdout), the
pos_file, and a test case that runs skiff, once or several times, on one
temporary directory."""
import collections
import json
import os
import unittest

from harness import Skiff, TempDir, wait_for

LINE = '127.0.0.1 - - [21/Jul/2018:10:00:00 +0000] "GET /%s/%d HTTP/1.1" 200 1 "-" "t"\n'
UNWATCHED = 0xFFFFFFFFFFFFFFFF


def write(path, name, start, n):
    """Appends nginx lines for /<name>/<start> .. /<name>/<start+n-1>."""
    with open(path, "a") as f:
        for i in range(start, start + n):
            f.write(LINE % (name, i))


def want(*parts):
    """Sorted paths of (name, n) parts: /name/0 .. /name/n-1."""
    return sorted("/%s/%d" % (name, i) for name, n in parts for i in range(n))


def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def config(path, pos_file=None, tag="app", parser="nginx", parse_extra="", tail="",
           read_from_head=True, **params):
    """A td-agent config: one tail <source> (path may be a glob or a comma
    list; params are more "key value" lines, in order, booleans as
    true/false), its <parse> section (parse_extra: more lines in it), every
    event to out_stdout, then `tail` (e.g. a <label @ERROR>)."""
    lines = ["<source>", "  @type tail", "  path %s" % path]
    if pos_file is not None:
        lines.append("  pos_file %s" % pos_file)
    if read_from_head:
        lines.append("  read_from_head true")
    lines += ["  %s %s" % (k, _value(v)) for k, v in params.items()]
    lines += ["  tag %s" % tag, "  <parse>", "    @type %s" % parser]
    if parse_extra:
        lines.append(parse_extra)
    lines += ["  </parse>", "</source>", "<match **>", "  @type stdout", "</match>", ""]
    return "\n".join(lines) + tail


def records(skiff):
    """The records out_stdout printed, in order."""
    out = []
    for line in skiff.output_lines():
        brace = line.find("{")
        if brace >= 0:
            out.append(json.loads(line[brace:]))
    return out


def paths_seen(skiff, key="path"):
    """Counter of record[key] over the printed records."""
    seen = collections.Counter()
    for line in skiff.output_lines():
        brace = line.find("{")
        if brace < 0:
            continue
        try:
            rec = json.loads(line[brace:])
        except ValueError:
            continue
        if key in rec:
            seen[rec[key]] += 1
    return seen


def printed_count(skiff):
    """Lines out_stdout printed so far (cheap: no JSON parsing)."""
    try:
        with open(skiff.stdout_path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def printed_paths(skiff, key="path"):
    """record[key] of every printed record that has it, in print order."""
    out = []
    for rec in records(skiff):
        if key in rec:
            out.append(rec[key])
    return out


def runs(seq, group):
    """Lengths and groups of the runs of consecutive items of one group:
    [(group, length), ...]."""
    out = []
    for item in seq:
        g = group(item)
        if out and out[-1][0] == g:
            out[-1] = (g, out[-1][1] + 1)
        else:
            out.append((g, 1))
    return out


def read_offset(pid, path):
    """Where process `pid` reads `path` now (its descriptor's position), or
    None when it has no descriptor for it."""
    target = os.path.realpath(path)
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != target:
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("pos:"):
                        return int(line.split()[1])
        except OSError:
            pass
    return None


def pos_line(path, offset, inode):
    """One pos_file line in td-agent's format."""
    return "%s\t%016x\t%016x\n" % (path, offset, inode)


def pos_entries(path, unwatched=False):
    """{(path, inode): offset} of the pos_file's entries in td-agent's
    format (each field checked); unwatched ones (ffff...) only if asked."""
    out = {}
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        p, off, ino = line.split("\t")
        assert len(off) == 16 and len(ino) == 16, line
        if unwatched or int(off, 16) != UNWATCHED:
            out[(p, int(ino, 16))] = int(off, 16)
    return out


def pos_offset(pos_file, log):
    """The offset the pos_file records for the file now at `log`, or None."""
    return pos_entries(pos_file).get((log, os.stat(log).st_ino))


class TailCase(unittest.TestCase):
    """A temporary directory and the skiff runs of one test; every run's
    output counts (seen), and runs still alive are stopped at the end."""

    def setUp(self):
        self.tmp = TempDir()
        self.runs = []

    def tearDown(self):
        self.stop_runs()
        self.tmp.cleanup()

    def stop_runs(self):
        for s in self.runs:
            if s.proc and s.proc.poll() is None:
                s.stop()

    def start(self, conf, name="skiff"):
        s = Skiff(self.tmp.path, conf, name=name).start()
        self.runs.append(s)
        return s

    def seen(self, key="path"):
        total = collections.Counter()
        for s in self.runs:
            total.update(paths_seen(s, key))
        return total

    def wait_seen(self, n, what, timeout=30):
        """Waits until the runs printed n records (with a path) in all."""
        return wait_for(lambda: (lambda x: x if sum(x.values()) >= n else None)(self.seen()),
                        timeout=timeout, what=what)

    def assertOnce(self, seen, expected):
        """seen (a Counter) holds exactly the paths of `expected`, once each."""
        self.assertEqual(sorted(seen), sorted(expected))
        dups = {p: c for p, c in seen.items() if c != 1}
        self.assertEqual(dups, {}, "lines delivered more than once")
