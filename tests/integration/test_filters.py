"""The filters real td-agent configs use, in a real skiff: in_tail reads a
file of JSON lines, then parser -> grep -> stdout -> record_transformer
filters, then the stdout output.

Checks exact output lines as Fluentd prints them (time, tag, JSON), the
order of filters, that the filter stdout prints what passes through it,
that unparsable lines go to the error stream, and the same pipeline
written in v0.12 style (format json, regexpN, excludeN).
"""
import json
import os
import socket
import unittest

from harness import Skiff, TempDir, wait_for

TAG = "app.web.access"
LINES = [
    {"time": 1532167200, "path": "/index.html", "code": 200, "user": {"name": "ann"}, "secret": "s1"},
    {"time": 1532167201, "path": "/style.css", "code": 200, "user": {"name": "bob"}, "secret": "s2"},
    "this line is not JSON",
    {"time": 1532167202, "path": "/api/items", "code": 500, "user": {"name": "al"}, "secret": "s3"},
    {"time": 1532167203, "path": "/api/other", "code": 404, "user": {"name": "zed"}, "secret": "s4"},
]

V1 = """
<source>
  @type tail
  path {log}
  pos_file {pos}
  read_from_head true
  tag {tag}
  <parse>
    @type none
  </parse>
</source>

<filter app.**>
  @type parser
  key_name message
  <parse>
    @type json
  </parse>
</filter>

<filter app.**>
  @type grep
  <regexp>
    key $.user.name
    pattern /^A/i
  </regexp>
  <exclude>
    key path
    pattern /\\.css$/
  </exclude>
</filter>

<filter app.**>
  @type stdout
</filter>

<filter app.**>
  @type record_transformer
  remove_keys secret,$.user.name
  <record>
    service ${{tag_parts[1]}}
    status  c${{record["code"]}}
    code    ${{record["code"]}}
    host    ${{hostname}}
  </record>
</filter>

<match app.**>
  @type stdout
</match>
"""

V012 = """
<source>
  type tail
  path {log}
  pos_file {pos}
  read_from_head true
  tag {tag}
  format none
</source>

<filter app.**>
  type parser
  key_name message
  format json
</filter>

<filter app.**>
  type grep
  regexp1 path ^/(index|api)
  exclude1 code ^404$
</filter>

<filter app.**>
  type record_transformer
  <record>
    service ${{tag_parts[1]}}
    who ${{user}}
  </record>
</filter>

<match app.**>
  type stdout
</match>
"""

ERROR_LABEL = """
<source>
  @type tail
  path {log}
  pos_file {pos}
  read_from_head true
  tag {tag}
  <parse>
    @type none
  </parse>
</source>

<filter app.**>
  @type parser
  key_name message
  <parse>
    @type json
  </parse>
</filter>

<match app.**>
  @type stdout
</match>

<label @ERROR>
  <filter **>
    @type record_transformer
    <record>
      error_stream yes
    </record>
  </filter>
  <match **>
    @type stdout
  </match>
</label>
"""


def write_log(path):
    with open(path, "w") as f:
        for line in LINES:
            f.write((line if isinstance(line, str) else json.dumps(line, separators=(",", ":"))) + "\n")


def prefix(sec):
    # out_stdout / filter stdout lines, with TZ=UTC for skiff.
    import time
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sec)) + ".000000000 +0000 " + TAG + ": "


class Filters(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.log = self.tmp.join("app.log")
        write_log(self.log)
        self.skiff = None
        self.old_tz = os.environ.get("TZ")
        os.environ["TZ"] = "UTC"

    def tearDown(self):
        if self.skiff:
            self.skiff.stop()
        if self.old_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = self.old_tz
        self.tmp.cleanup()

    def start(self, template):
        conf = template.format(log=self.log, pos=self.tmp.join("app.pos"), tag=TAG)
        self.skiff = Skiff(self.tmp.path, conf).start()

    def test_v1_pipeline(self):
        self.start(V1)
        host = socket.gethostname()
        # filter stdout: after parser and grep, before record_transformer
        printed = [
            prefix(1532167200) + '{"path":"/index.html","code":200,"user":{"name":"ann"},"secret":"s1"}',
            prefix(1532167202) + '{"path":"/api/items","code":500,"user":{"name":"al"},"secret":"s3"}',
        ]
        # out_stdout: the transformed records
        out = [
            prefix(1532167200) + '{"path":"/index.html","code":200,"user":{},"service":"web",'
                                 '"status":"c200","host":"%s"}' % host,
            prefix(1532167202) + '{"path":"/api/items","code":500,"user":{},"service":"web",'
                                 '"status":"c500","host":"%s"}' % host,
        ]
        got = wait_for(lambda: len(self.skiff.output_lines()) >= 4 and self.skiff.output_lines(),
                       what="4 lines")
        # A batch goes through each filter in turn, so how the two kinds of
        # lines interleave depends on batching; each kind keeps its order.
        self.assertEqual([l for l in got if '"secret"' in l], printed)
        self.assertEqual([l for l in got if '"secret"' not in l], out)
        # The line that is not JSON went to the error stream, with the reason.
        log = wait_for(lambda: "pattern not matched" in self.skiff.log() and self.skiff.log(),
                       what="error event in the log")
        self.assertIn("this line is not JSON", log)
        self.assertEqual(self.skiff.stop(), 0)
        self.assertIn("error events: 1", self.skiff.log())
        self.skiff = None

    def test_v012_pipeline(self):
        self.start(V012)
        want = [
            prefix(1532167200) + '{"path":"/index.html","code":200,"user":{"name":"ann"},'
                                 '"secret":"s1","service":"web","who":{"name":"ann"}}',
            prefix(1532167202) + '{"path":"/api/items","code":500,"user":{"name":"al"},'
                                 '"secret":"s3","service":"web","who":{"name":"al"}}',
        ]
        got = wait_for(lambda: len(self.skiff.output_lines()) >= len(want) and self.skiff.output_lines(),
                       what="%d lines" % len(want))
        self.assertEqual(got, want)
        # More lines while running: filtered live.
        with open(self.log, "a") as f:
            f.write('{"time":1532167300,"path":"/api/late","code":201,"user":"u"}\n')
            f.write('{"time":1532167301,"path":"/nope","code":200,"user":"u"}\n')
        want.append(prefix(1532167300) + '{"path":"/api/late","code":201,"user":"u",'
                                         '"service":"web","who":"u"}')
        got = wait_for(lambda: len(self.skiff.output_lines()) >= len(want) and self.skiff.output_lines(),
                       what="the live line")
        self.assertEqual(got, want)
        self.assertEqual(self.skiff.stop(), 0)
        self.skiff = None

    def test_error_label_with_filters(self):
        # The error stream runs its own filters while the parser filter is
        # in the middle of its batch: every good event must still come out
        # once, and the bad line once, through the @ERROR label.
        self.start(ERROR_LABEL)
        want_good = [
            prefix(1532167200) + '{"path":"/index.html","code":200,"user":{"name":"ann"},"secret":"s1"}',
            prefix(1532167201) + '{"path":"/style.css","code":200,"user":{"name":"bob"},"secret":"s2"}',
            prefix(1532167202) + '{"path":"/api/items","code":500,"user":{"name":"al"},"secret":"s3"}',
            prefix(1532167203) + '{"path":"/api/other","code":404,"user":{"name":"zed"},"secret":"s4"}',
        ]
        got = wait_for(lambda: len(self.skiff.output_lines()) >= 5 and self.skiff.output_lines(),
                       what="5 lines")
        self.assertEqual([l for l in got if "error_stream" not in l], want_good)
        errors = [l for l in got if "error_stream" in l]
        self.assertEqual(len(errors), 1)
        self.assertTrue(errors[0].endswith(' app.web.access: {"message":"this line is not JSON",'
                                           '"error_stream":"yes"}'), errors[0])
        self.assertEqual(self.skiff.stop(), 0)
        self.skiff = None


if __name__ == "__main__":
    unittest.main()
