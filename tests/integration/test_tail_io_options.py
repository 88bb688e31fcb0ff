"""in_tail's reading options: open_on_every_update (no descriptor kept
between reads), read_bytes_limit_per_second (per-file throttle resumed by a
timer, not by polling), encoding/from_encoding (iconv conversion, invalid
bytes replaced, unknown names refused at load), and path_key on unmatched
lines (emit_unmatched_lines and @ERROR), as Fluentd adds it there too."""
import os
import time
import unittest

from harness import run_skiff, wait_for
from tailhelp import TailCase, config, paths_seen, records, want, write


def open_fds(pid, path):
    """Descriptors of process `pid` that name `path`."""
    target = os.path.realpath(path)
    hits = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith(target):
                hits.append(fd)
        except OSError:
            pass
    return hits


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Options(TailCase):
    def setUp(self):
        super().setUp()
        self.log = self.tmp.join("app.log")
        self.pos = self.tmp.join("tail.pos")

    def conf(self, parser="nginx", parse_extra="", tail="", **params):
        return config(self.log, self.pos, parser=parser, parse_extra=parse_extra, tail=tail,
                      **params)

    def test_open_on_every_update(self):
        write(self.log, "a", 0, 20)
        s = self.start(self.conf(open_on_every_update=True, rotate_wait="30s"))
        self.wait_seen(20, "first lines")
        pid = s.proc.pid
        # Between reads the file is closed: deleting it would free its space.
        wait_for(lambda: not open_fds(pid, self.log), what="the file closed after reading")
        write(self.log, "a", 20, 5)
        self.wait_seen(25, "lines written later")
        self.assertEqual(open_fds(pid, self.log), [])
        # Rotation by rename: the old file is read on under its new name.
        os.rename(self.log, self.log + ".1")
        wait_for(lambda: "detected rotation of %s to %s.1" % (self.log, self.log) in s.log(),
                 what="the rotation")
        write(self.log + ".1", "b", 0, 5)
        write(self.log, "c", 0, 5)
        seen = self.wait_seen(35, "lines of both files")
        self.assertOnce(seen, want(("a", 25), ("b", 5), ("c", 5)))
        self.assertEqual(open_fds(pid, self.log), [])

    def test_read_bytes_limit_per_second(self):
        write(self.log, "a", 0, 400)  # about 32 KB: four seconds at 8192 bytes per second
        size = os.path.getsize(self.log)
        s = self.start(self.conf(read_bytes_limit_per_second=1000))
        self.assertIn("read_bytes_limit_per_second 1000 is less than 8192: using 8192", s.log())
        self.wait_seen(1, "the first lines")
        began = time.monotonic()
        cpu_before = cpu_seconds(s.proc.pid)
        seen = wait_for(lambda: (lambda x: x if sum(x.values()) >= 400 else None)(
            paths_seen(s)), timeout=60, what="every line")
        took = time.monotonic() - began
        cpu = cpu_seconds(s.proc.pid) - cpu_before
        print("throttled read: %d bytes in %.2fs, %.3fs CPU" % (size, took, cpu))
        self.assertOnce(seen, want(("a", 400)))
        # size/8192 windows of one second, the first of them already begun.
        self.assertGreaterEqual(took, size // 8192 - 1 - 0.2, "read faster than the limit")
        # A throttled file waits on a timer: no busy polling meanwhile.
        self.assertLess(cpu, 0.5, "%.2fs of CPU while throttled for %.1fs" % (cpu, took))

    def test_encoding_conversion(self):
        lines = ["日本語のログ %d" % i for i in range(3)]
        with open(self.log, "wb") as f:
            for line in lines:
                f.write(line.encode("shift_jis") + b"\n")
            f.write(b"bad \xff byte\r\n")  # invalid in Shift_JIS: replaced, not dropped
            f.write("半角ｶﾅ".encode("shift_jis") + b"\n")
        s = self.start(self.conf(parser="none", encoding="UTF-8", from_encoding="Shift_JIS"))
        recs = wait_for(lambda: (lambda r: r if len(r) >= 5 else None)(records(s)),
                        what="converted lines")
        self.assertEqual([r["message"] for r in recs],
                         lines + ["bad \ufffd byte", "半角ｶﾅ"])

    def test_utf16_file(self):
        """A wider source encoding: lines end in "\n\0" (UTF-16LE), CRLF too."""
        with open(self.log, "wb") as f:
            f.write("première ligne\r\nzweite Zeile\n".encode("utf-16le"))
        s = self.start(self.conf(parser="none", encoding="UTF-8", from_encoding="UTF-16LE"))
        recs = wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(records(s)),
                        what="converted lines")
        self.assertEqual([r["message"] for r in recs], ["première ligne", "zweite Zeile"])
        with open(self.log, "ab") as f:
            f.write("dritte".encode("utf-16le"))  # no terminator yet: not a line
            f.flush()
            f.write("\n".encode("utf-16le"))
        wait_for(lambda: len(records(s)) == 3, what="the third line")
        self.assertEqual(records(s)[2]["message"], "dritte")

    def test_unknown_encoding_is_a_config_error(self):
        # Each diagnostic points at the line of the parameter it is about.
        for params, key, what in (
                ({"encoding": "UTF-8", "from_encoding": "no-such-enc"}, "from_encoding",
                 "invalid value for parameter 'from_encoding': 'no-such-enc'"),
                ({"encoding": "klingon"}, "encoding",
                 "invalid value for parameter 'encoding': 'klingon'"),
                ({"from_encoding": "EUC-JP"}, "from_encoding",
                 "'from_encoding' parameter must be specified with 'encoding' parameter")):
            conf = self.conf(parser="none", **params)
            where = 1 + [l.split()[0] if l.strip() else "" for l in conf.splitlines()].index(key)
            path = self.tmp.join("bad.conf")
            with open(path, "w") as f:
                f.write(conf)
            code, _, err = run_skiff("--dry-run", "-c", path)
            self.assertNotEqual(code, 0, params)
            self.assertIn("bad.conf:%d: <source>: %s" % (where, what), err)

    def unmatched_case(self, tail, **params):
        with open(self.log, "w") as f:
            f.write("alpha 1\nthis line does not match\n")
        s = self.start(self.conf(parser="regexp",
                                 parse_extra="    expression /^(?<word>[a-z]+) (?<num>\\d+)$/",
                                 tail=tail, path_key="tailed_path", **params))
        return wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(records(s)),
                        what="both lines")

    def test_path_key_on_unmatched_lines(self):
        recs = self.unmatched_case("", emit_unmatched_lines=True)
        self.assertEqual(recs, [{"word": "alpha", "num": "1", "tailed_path": self.log},
                                {"unmatched_line": "this line does not match",
                                 "tailed_path": self.log}])

    def test_path_key_on_lines_sent_to_error_label(self):
        recs = self.unmatched_case("<label @ERROR>\n  <match **>\n    @type stdout\n"
                                   "  </match>\n</label>\n")
        self.assertIn({"unmatched_line": "this line does not match", "tailed_path": self.log},
                      recs)

    def test_path_key_keeps_a_parsed_field(self):
        """Fluentd: record[path_key] ||= path. nginx's own "path" field stays."""
        write(self.log, "a", 0, 1)
        s = self.start(self.conf(path_key="path"))
        wait_for(lambda: records(s), what="the event")
        line = [l for l in s.output_lines() if "{" in l][0]
        self.assertEqual(line.count('"path"'), 1, line)
        self.assertEqual(records(s)[0]["path"], "/a/0")


if __name__ == "__main__":
    unittest.main()
