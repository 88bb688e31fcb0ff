"""skiff --dry-run on every shipped config and on 67 real td-agent configs.

Each real config written by other people must either load, or be refused
with errors that name the file, the line, and the unsupported plugin or
Ruby expression. Nothing else is acceptable: no crash, no vague message.
"""
import glob
import os
import re
import unittest

from harness import SHARED, SRC, run_skiff

ERROR = re.compile(r"\[error\]: (?P<file>[^:]+):(?P<line>\d+): (?P<msg>.*)$")
# What a refusal may be about: a plugin skiff does not have, Ruby code, or
# an @include whose target is not in the collection (td-agent fails too).
REFUSAL = re.compile(r"unknown (input|output|filter|parser) type '[^']+'"
                     r"|embedded Ruby code"
                     r"|not supported"
                     r"|@include .*: cannot read")

# Configs that are broken as their authors wrote them (td-agent refuses them
# too): the error must still name the file and line, and say this.
BROKEN_AS_WRITTEN = {
    "004-zgolus-aws-es-typo.conf": "unexpected text after the closing quote",
    "020-kk0kojirr-nginx-parse-forward.conf": "'tag' parameter is required",
    # A deployment template's placeholder left in: td-agent would read port 0.
    "023-s-take-nginx-ltsv-es.conf": "invalid value for parameter 'port': '__ES_PORT__'",
    # A stray '%' at the end of time_key_format: no record time could be read.
    "013-dailyhotel-kafka-to-es.conf": "time_key_format '%Y-%m-%dT%H:%M:%S.%N%' is not a supported format",
    # Deployment templates' placeholders instead of the domain URL (sed'ed in
    # later): fluent-plugin-aws-elasticsearch-service would fail on them too.
    "002-greytip-docker-aws-es-v012.conf": "<endpoint> url 'ES_ENDPOINT' is not an http(s) URL",
    "005-orkusinc-aws-es-label-copy.conf": "<endpoint> url 'AWS_ELASTICSEARCH_URL' is not an http(s) URL",
}


class DryRun(unittest.TestCase):
    def test_shipped_configs_are_valid(self):
        confs = sorted(glob.glob(os.path.join(SRC, "conf", "*.conf")))
        self.assertGreaterEqual(len(confs), 3)
        for conf in confs:
            code, out, err = run_skiff("--dry-run", "-c", conf)
            self.assertEqual(code, 0, "%s:\n%s" % (conf, err))
            self.assertIn("<source>", out, conf)
            self.assertIn("@type", out, conf)
            self.assertNotIn("[error]", err, conf)

    def test_dry_run_fills_defaults_and_masks_secrets(self):
        code, out, err = run_skiff("--dry-run", "-c", os.path.join(SRC, "conf", "td-agent2-v012.conf"))
        self.assertEqual(code, 0, err)
        # v0.12 names were mapped onto their v1 meaning.
        self.assertIn("chunk_limit_size 8388608", out)
        self.assertIn("flush_interval 10s", out)
        self.assertIn("flush_thread_count 2", out)
        self.assertIn("retry_max_times 17", out)
        self.assertIn("retry_max_interval 300s", out)
        self.assertIn("@type nginx", out)  # `format nginx` became a <parse>

    def test_real_td_agent_configs(self):
        confs = sorted(glob.glob(os.path.join(SHARED, "testdata", "td-agent-configs", "*.conf")))
        self.assertGreater(len(confs), 50)
        loaded = refused = 0
        problems = []
        for conf in confs:
            code, out, err = run_skiff("--dry-run", "-c", conf)
            if code == 0:
                loaded += 1
                continue
            if code != 1:
                problems.append("%s: exit code %d\n%s" % (conf, code, err[-2000:]))
                continue
            errors = [ERROR.search(l) for l in err.splitlines() if "[error]:" in l]
            located = [m for m in errors if m]
            if not located:
                problems.append("%s: refused without a file:line error\n%s" % (conf, err[-2000:]))
                continue
            for m in located:
                if not os.path.basename(m.group("file")).endswith(".conf") and "/" not in m.group("file"):
                    problems.append("%s: error does not name a file: %s" % (conf, m.group(0)))
                known = BROKEN_AS_WRITTEN.get(os.path.basename(conf))
                if known and known in m.group("msg"):
                    continue
                if not REFUSAL.search(m.group("msg")):
                    problems.append("%s: refused for a reason other than an unsupported "
                                    "plugin or Ruby expression: %s" % (conf, m.group(0)))
            refused += 1
        print("real configs: %d loaded, %d refused with located reasons" % (loaded, refused))
        self.assertEqual(problems, [], "\n\n".join(problems))


if __name__ == "__main__":
    unittest.main()
