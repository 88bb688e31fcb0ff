#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config_dump.h"
#include "util/alloc.h"

/*
 * The Fluentd configuration syntax, one table row per form: input text,
 * the expected tree (see config_dump.h) and the exact diagnostics. Rows
 * load through sk_conf_load_string as "t.conf".
 */
struct syntax_case {
    const char *name;
    const char *text;
    const char *tree;
    const char *diag; /* "" when clean */
};

static const struct syntax_case syntax_cases[] = {
    { "source with params", "<source>\n  @type tail\n  path /var/log/nginx/access.log\n</source>\n",
      "<source>{@type=tail;path=/var/log/nginx/access.log;}", "" },
    { "match with several patterns", "<match nginx.** app.*>\n  @type stdout\n</match>\n",
      "<match nginx.** app.*>{@type=stdout;}", "" },
    { "filter, label, system, worker",
      "<system>\n log_level warn\n</system>\n<worker 1>\n<source>\n@type forward\n</source>\n"
      "</worker>\n<label @OUT>\n<filter **>\n@type grep\n</filter>\n<match **>\n@type null\n"
      "</match>\n</label>\n",
      "<system>{log_level=warn;}<worker 1>{<source>{@type=forward;}}"
      "<label @OUT>{<filter **>{@type=grep;}<match **>{@type=null;}}",
      "" },
    { "nested sections of any name",
      "<match a>\n @type copy\n <store>\n  @type elasticsearch\n  <buffer tag,time>\n"
      "   @type file\n  </buffer>\n  <secondary>\n   @type file\n  </secondary>\n </store>\n"
      " <store>\n  @type stdout\n  <format>\n   @type json\n  </format>\n </store>\n</match>\n",
      "<match a>{@type=copy;<store>{@type=elasticsearch;<buffer tag,time>{@type=file;}"
      "<secondary>{@type=file;}}<store>{@type=stdout;<format>{@type=json;}}}",
      "" },
    { "header argument trimmed, no argument is NULL",
      "<match    a.b   >\n</match>\n<filter>\n</filter>\n<buffer\ttag , time>\n</buffer>\n",
      "<match a.b>{}<filter>{}<buffer tag , time>{}", "" },
    { "no indentation, tabs, mixed", "<source>\n@type tail\n\tpath /a\n \t tag x\n</source>\n",
      "<source>{@type=tail;path=/a;tag=x;}", "" },
    { "CRLF line ends", "<source>\r\n  @type tail\r\n  path /x # c\r\n  k\r\n</source>\r\n",
      "<source>{@type=tail;path=/x;k=;}", "" },
    { "comments everywhere",
      "# head\n<source> # after tag\n  # inside\n  @type tail   # after value\n"
      "</source> # after close\n   # indented\n",
      "<source>{@type=tail;}", "" },
    { "hash without a blank before it is part of the value",
      "a /x#y\nb http://h/#frag # c\nc a\t#comment\n", "a=/x#y;b=http://h/#frag;c=a;", "" },
    { "key without value", "disable_retry_limit\nutc # comment\nlast",
      "disable_retry_limit=;utc=;last=;", "" },
    { "trailing blanks trimmed, inner kept", "a  one  two  \t\nb x\n", "a=one  two;b=x;", "" },
    { "single quotes are literal but for \\' and \\\\",
      "a 'x\\'y\\\\z\\n'\nb 'has # hash' # c\nc '#{ENV[\"X\"]}'\nd ''\n",
      "a='x'y\\z\\n';b='has # hash';c='#{ENV[\"X\"]}';d='';", "" },
    { "double-quote escapes", "a \"t\\tn\\nq\\\"b\\\\h\\#d\\$s\\ \"\nb \"x\" # c\nc \"\"\n",
      "a=\"t\tn\nq\"b\\h#d$s \";b=\"x\";c=\"\";", "" },
    { "double quotes over several lines",
      "a \"line1\nline2\"\nb \"abc\\\n  def\"\nc \"x\r\ny\"\nd after\n",
      "a=\"line1\nline2\";b=\"abc  def\";c=\"x\ny\";d=after;", "" },
    { "hash in a double-quoted value is literal", "a \"x # y\"\n", "a=\"x # y\";", "" },
    { "ENV in double quotes",
      "a \"#{ENV['SKT_HOST']}\"\nb \"#{ENV[\"SKT_HOST\"]}\"\n"
      "c \"http://#{ENV['SKT_HOST']}:9200/\"\nd '#{ENV[\"SKT_HOST\"]}'\ne x#{ENV['SKT_HOST']}\n",
      "a=\"es.local\";b=\"es.local\";c=\"http://es.local:9200/\";d='#{ENV[\"SKT_HOST\"]}';"
      "e=x#{ENV['SKT_HOST']};",
      "" },
    /* Fluentd passes "#..." here but means it as a comment: its bool type
     * reads "#foo" as an empty value. */
    { "a value starting with '#' is a comment", "a #{ENV['SKT_HOST']}\nb #foo\n", "a=;b=;", "" },
    { "ENV.fetch, ||, ?: and literals",
      "a \"#{ENV.fetch('SKT_UNSET', 'dflt')}\"\nb \"#{ENV.fetch('SKT_HOST', 'dflt')}\"\n"
      "c \"#{ENV['SKT_UNSET'] || 'fallback'}\"\nd \"#{ENV['SKT_HOST'] || 'fallback'}\"\n"
      "e \"#{ENV['SKT_UNSET'] ? ENV['SKT_UNSET'] : 9243}\"\n"
      "f \"#{ENV['SKT_HOST'] ? 'yes' : 'no'}\"\ng \"#{ENV.fetch('SKT_UNSET', 9200)}\"\n"
      "h \"#{ENV['SKT_UNSET'] || true}\"\ni \"#{nil}#{false}\"\nj \"#{(ENV['SKT_UNSET'])}\"\n",
      "a=\"dflt\";b=\"es.local\";c=\"fallback\";d=\"es.local\";e=\"9243\";f=\"yes\";"
      "g=\"9200\";h=\"true\";i=\"false\";j=\"\";",
      "W:t.conf:10: environment variable SKT_UNSET is not set: the value is empty" },
    { "unset ENV is empty, with a warning", "<match a>\n host \"#{ENV['SKT_UNSET']}\"\n</match>\n",
      "<match a>{host=\"\";}",
      "W:t.conf:2: <match a>: environment variable SKT_UNSET is not set: the value is empty" },
    { "File.join as in fluentd-kubernetes-daemonset",
      "pos_file \"#{File.join('/var/log/', ENV.fetch('SKT_UNSET', ''), 'x.pos')}\"\n"
      "b \"#{File.join('a', '/b', 'c/', '/d')}\"\n",
      "pos_file=\"/var/log/x.pos\";b=\"a/b/c/d\";", "" },
    { "use_default and use_nil leave the parameter out",
      "<match a>\n user \"#{ENV['SKT_UNSET'] || use_default}\"\n"
      " tpl \"#{ENV['SKT_UNSET'] || use_nil}\"\n host \"#{ENV['SKT_HOST'] || use_default}\"\n"
      "</match>\n",
      "<match a>{host=\"es.local\";}", "" },
    { "worker_id", "w \"#{worker_id}\"\n", "w=\"0\";", "" },
    { "JSON array on one line, compacted", "a [\"x\", \"y\" , 1]\nb [ ]\n",
      "a=[\"x\",\"y\",1];b=[];", "" },
    { "JSON over several lines with comments",
      "<source>\n exclude_path [\"/var/log/a*.log\",   # first\n   \"/var/log/b]#{}.log\"\n ]\n"
      " tag x\n</source>\n",
      "<source>{exclude_path=[\"/var/log/a*.log\",\"/var/log/b]#{}.log\"];tag=x;}", "" },
    { "JSON hash",
      "dummy {\"message\": \"hello fluentd\", \"n\": {\"x\": [1, 2]}}\n"
      "h {\n  \"k\": \"v \\\" }\"\n}\n",
      "dummy={\"message\":\"hello fluentd\",\"n\":{\"x\":[1,2]}};h={\"k\":\"v \\\" }\"};", "" },
    { "values seen in real configs",
      "queues >\nindex_name: docker\n@log_level debug\nformat /^(?<a>[^ ]*) \"(?<b>.*)\"$/\n"
      "logstash_dateformat %Y.%m.\ns3_object_key_format "
      "%{path}%{time_slice}_%{index}.%{file_extension}\n",
      "queues=>;index_name:=docker;@log_level=debug;format=/^(?<a>[^ ]*) \"(?<b>.*)\"$/;"
      "logstash_dateformat=%Y.%m.;s3_object_key_format=%{path}%{time_slice}_%{index}.%{file_"
      "extension};",
      "" },
    { "bare include inside a section is a parameter", "<source>\ninclude x\n</source>\n",
      "<source>{include=x;}", "" },
    { "byte order mark and no final newline", "\xEF\xBB\xBF<source>\n@type tail\n</source>",
      "<source>{@type=tail;}", "" },
    { "empty file", "", "", "" },
    { "only comments and blank lines", "\n\n# x\n   \n\t# y\n", "", "" },
};

/* Problems: every message and its exact "file:line: <section>:" prefix. */
static const struct syntax_case error_cases[] = {
    { "section not closed at EOF", "<match a>\n@type stdout\n", "<match a>{@type=stdout;}",
      "E:t.conf:1: <match a>: missing </match>: reached the end of the file" },
    { "nested sections not closed", "<match a>\n<store>\n", "<match a>{<store>{}}",
      "E:t.conf:2: <store>: missing </store>: reached the end of the file\n"
      "E:t.conf:1: <match a>: missing </match>: reached the end of the file" },
    { "mismatched closing tag", "<match a>\n@type stdout\n</source>\nx 1\n",
      "x=1;<match a>{@type=stdout;}",
      "E:t.conf:3: <match a>: mismatched closing tag </source>: expected </match> "
      "(opened at line 1)" },
    { "closing an outer section closes the inner ones",
      "<match a>\n<buffer>\n@type file\n</match>\nx 1\n", "x=1;<match a>{<buffer>{@type=file;}}",
      "E:t.conf:4: <buffer>: missing </buffer> before </match> (opened at line 2)" },
    { "closing tag with nothing open", "</match>\na b\n", "a=b;",
      "E:t.conf:1: unexpected </match>: no section is open" },
    { "tag without '>' still opens its section", "<match a.b\n@type stdout\n</match>\n",
      "<match a.b>{@type=stdout;}", "E:t.conf:1: <match a.b>: missing '>' at the end of the tag" },
    { "text after a tag", "<source> @type tail\n</source>\n", "<source>{}",
      "E:t.conf:1: <source>: unexpected text after the tag: @type tail" },
    { "tag without a name", "<>\n< match>\nk v\n", "k=v;",
      "E:t.conf:1: expected a section name after '<': <>\n"
      "E:t.conf:2: expected a section name after '<': < match>" },
    { "malformed closing tag", "<source>\n</source\n", "<source>{}",
      "E:t.conf:2: <source>: malformed closing tag: </source" },
    { "text after a closing tag", "<source>\n</source> x\n", "<source>{}",
      "E:t.conf:2: <source>: unexpected text after </source>: x" },
    { "unterminated double quote restarts on the next line",
      "<source>\n  tag \"abc\n  path /x\n</source>\n", "<source>{path=/x;}",
      "E:t.conf:2: <source>: unterminated double-quoted value (no closing '\"' before the end "
      "of the file)" },
    { "unterminated single quote", "a 'abc\nb c\n", "b=c;",
      "E:t.conf:1: unterminated single-quoted value (a ' value must end on its line)" },
    { "text after a closing quote",
      "<match a>\n<endpoint>\nurl \"#{ENV['SKT_HOST']}\"m\nregion x\n</endpoint>\n</match>\n",
      "<match a>{<endpoint>{region=x;}}",
      "E:t.conf:3: <endpoint>: unexpected text after the closing quote: m" },
    { "a quote missing makes the value run on", "a \"abc\nb \"x\"\nc d\n", "c=d;",
      "E:t.conf:2: unexpected text after the closing quote of a value that started at line 1 "
      "(missing closing quote?): x\"" },
    { "unknown escape", "a \"\\d+\"\nb c\n", "b=c;",
      "E:t.conf:1: unknown escape '\\d' in a double-quoted value (write '\\\\d', or use "
      "single quotes)" },
    { "unsupported embedded Ruby", "<match a>\n  path \"#{File.read('/x')}\"\n</match>\n",
      "<match a>{}",
      "E:t.conf:2: <match a>: embedded Ruby code is not supported: #{File.read('/x')}" },
    { "other unsupported Ruby",
      "a \"#{`id`}\"\nb \"#{ENV['A'].upcase}\"\nc \"#{require 'x'}\"\nd \"#{1 + 2}\"\n", "",
      "E:t.conf:1: embedded Ruby code is not supported: #{`id`}\n"
      "E:t.conf:2: embedded Ruby code is not supported: #{ENV['A'].upcase}\n"
      "E:t.conf:3: embedded Ruby code is not supported: #{require 'x'}\n"
      "E:t.conf:4: embedded Ruby code is not supported: #{1 + 2}" },
    { "unterminated embedded Ruby", "a \"#{ENV['x']\"\nb c\n", "b=c;",
      "E:t.conf:1: unterminated embedded Ruby code (no closing '}' on the line): #{ENV['x']\"" },
    { "ENV.fetch without default", "a \"#{ENV.fetch('SKT_UNSET')}\"\n", "",
      "E:t.conf:1: ENV.fetch: SKT_UNSET is not set and has no default" },
    { "use_default inside a longer value", "a \"x#{use_default}\"\n", "",
      "E:t.conf:1: use_nil and use_default must be the whole quoted value" },
    { "JSON array never closed", "a [1,\n2\n", "2=;",
      "E:t.conf:1: unterminated JSON array: no closing ']' before the end of the file" },
    { "JSON array cut by the next tag", "<source>\nexclude_path [\"a\",\n</source>\n", "<source>{}",
      "E:t.conf:2: <source>: unterminated JSON array: no closing ']' before line 3" },
    { "JSON array cut by the next parameter",
      "a [\"x\",\n  \"y\"\nb [1,\n true, null, -1, {}, # c\n\nfalse]\nc d\n",
      "b=[1,true,null,-1,{},false];c=d;",
      "E:t.conf:1: unterminated JSON array: no closing ']' before line 3" },
    { "JSON hash never closed", "h {\"a\": 1\n", "",
      "E:t.conf:1: unterminated JSON hash: no closing '}' before the end of the file" },
    { "text after JSON", "a [1] x\n", "", "E:t.conf:1: unexpected text after the JSON array: x" },
    { "remote include", "@include http://example.com/x.conf\n", "",
      "E:t.conf:1: @include http://example.com/x.conf: including a URL is not supported "
      "(only local files)" },
    { "include without a path", "@include\ninclude # x\n", "",
      "E:t.conf:1: @include needs a file path or glob\n"
      "E:t.conf:2: include needs a file path or glob" },
    { "missing include file", "<source>\n@include /nonexistent-skiff/x.conf\n</source>\n",
      "<source>{}",
      "E:t.conf:2: <source>: @include /nonexistent-skiff/x.conf: cannot read the file: No such "
      "file or directory" },
    { "include glob with no match", "@include /nonexistent-skiff/*.conf\n", "",
      "W:t.conf:1: @include /nonexistent-skiff/*.conf matched no files" },
    { "old include spelling", "include /nonexistent-skiff/*.conf\n", "",
      "W:t.conf:1: 'include' is deprecated: use '@include'\n"
      "W:t.conf:1: @include /nonexistent-skiff/*.conf matched no files" },
    { "use_default cannot name a file", "@include \"#{use_default}\"\n", "",
      "E:t.conf:1: use_nil and use_default cannot name a file" },
    { "many problems in one run",
      "<source>\n @type tail\n path \"#{File.read('x')}\"\n</source>\n<match a\n x 'y\n"
      "</match>\n<match b>\n",
      "<source>{@type=tail;}<match a>{}<match b>{}",
      "E:t.conf:3: <source>: embedded Ruby code is not supported: #{File.read('x')}\n"
      "E:t.conf:5: <match a>: missing '>' at the end of the tag\n"
      "E:t.conf:6: <match a>: unterminated single-quoted value (a ' value must end on its "
      "line)\n"
      "E:t.conf:8: <match b>: missing </match>: reached the end of the file" },
};

static void run_case(const struct syntax_case *c)
{
    struct sk_diag d;
    struct sk_conf *conf;

    sk_diag_init(&d);
    conf = sk_conf_load_string("t.conf", c->text, strlen(c->text), &d);
    if (conf == NULL) {
        fail_msg("%s: load returned NULL", c->name);
    }
    if (strcmp(sk_test_dump(conf), c->tree) != 0) {
        fail_msg("%s:\n  tree  %s\n  want  %s", c->name, sk_test_dump(conf), c->tree);
    }
    if (strcmp(sk_test_diag_text(&d), c->diag) != 0) {
        fail_msg("%s:\n  diag  %s\n  want  %s", c->name, sk_test_diag_text(&d), c->diag);
    }
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
}

static void test_syntax(void **state)
{
    for (size_t i = 0; i < sizeof(syntax_cases) / sizeof(syntax_cases[0]); i++) {
        run_case(&syntax_cases[i]);
    }
}

static void test_errors(void **state)
{
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        run_case(&error_cases[i]);
        assert_true(error_cases[i].diag[0] != '\0');
    }
}

static void test_hostname(void **state)
{
    const char *text =
        "a \"#{Socket.gethostname}\"\nb \"#{hostname}\"\nc \"h-#{Socket.gethostname}\"\n";
    char host[256] = "";
    char want[1024]; /* three host names of up to 255 bytes and the quoting */
    struct sk_diag d;
    struct sk_conf *conf;

    assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
    snprintf(want, sizeof(want), "a=\"%s\";b=\"%s\";c=\"h-%s\";", host, host, host);
    sk_diag_init(&d);
    conf = sk_conf_load_string("t.conf", text, strlen(text), &d);
    assert_non_null(conf);
    assert_string_equal(sk_test_dump(conf), want);
    assert_int_equal(d.count, 0);
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
}

static void test_nul_bytes(void **state)
{
    static const char text[] = "a b\0c\nd e\n";
    struct sk_diag d;
    struct sk_conf *conf;

    sk_diag_init(&d);
    conf = sk_conf_load_string("t.conf", text, sizeof(text) - 1, &d);
    assert_non_null(conf);
    assert_string_equal(sk_test_diag_text(&d),
                        "E:t.conf: file contains NUL bytes (not a text file?)");
    assert_string_equal(sk_conf_get(conf->root, "d"), "e");
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
}

/* Locations, sk_conf_find's "last one wins", sk_conf_get and labels. */
static void test_api(void **state)
{
    const char *text = "<match app.**>\n  @type elasticsearch\n  host a\n  port 9200\n"
                       "  host 'b'\n  <buffer>\n  </buffer>\n</match>\n";
    struct sk_diag d;
    struct sk_conf *conf;
    struct sk_conf_section *m;
    struct sk_conf_param *p;
    char label[8];
    char full[64];

    sk_diag_init(&d);
    conf = sk_conf_load_string("t.conf", text, strlen(text), &d);
    assert_non_null(conf);
    assert_int_equal(d.count, 0);
    assert_string_equal(conf->root->name, "ROOT");
    assert_null(conf->root->parent);
    assert_int_equal(conf->nfiles, 1);
    assert_string_equal(conf->files[0], "t.conf");
    assert_int_equal(conf->root->nchildren, 1);
    m = conf->root->children[0];
    assert_ptr_equal(m->parent, conf->root);
    assert_string_equal(m->name, "match");
    assert_string_equal(m->arg, "app.**");
    assert_ptr_equal(m->file, conf->files[0]);
    assert_int_equal(m->line, 1);
    p = sk_conf_find(m, "host");
    assert_non_null(p);
    assert_string_equal(p->value, "b");
    assert_int_equal(p->line, 5);
    assert_int_equal(p->quote, SK_CONF_SINGLE);
    assert_false(p->used);
    assert_ptr_equal(p->file, conf->files[0]);
    assert_string_equal(sk_conf_get(m, "port"), "9200");
    assert_null(sk_conf_get(m, "nothere"));
    assert_null(sk_conf_find(m, "nothere"));
    assert_null(m->children[0]->arg);
    assert_ptr_equal(m->children[0]->parent, m);
    assert_string_equal(sk_conf_section_label(m, full, sizeof(full)), "<match app.**>");
    assert_string_equal(sk_conf_section_label(m->children[0], full, sizeof(full)), "<buffer>");
    assert_string_equal(sk_conf_section_label(m, label, sizeof(label)), "<match ");
    assert_ptr_equal(sk_conf_section_label(m, label, 0), label);
    sk_conf_destroy(conf);
    sk_conf_destroy(NULL);
    sk_diag_cleanup(&d);

    sk_diag_init(&d);
    conf = sk_conf_load_string("empty", NULL, 0, &d);
    assert_non_null(conf);
    assert_int_equal(d.count, 0);
    assert_int_equal(conf->root->nchildren + conf->root->nparams, 0);
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
}

static void test_load_missing_file(void **state)
{
    struct sk_diag d;

    sk_diag_init(&d);
    assert_null(sk_conf_load("/nonexistent-skiff/td-agent.conf", &d));
    assert_string_equal(sk_test_diag_text(&d),
                        "E:/nonexistent-skiff/td-agent.conf: cannot read the configuration file: "
                        "No such file or directory");
    sk_diag_cleanup(&d);
    sk_diag_init(&d);
    assert_null(sk_conf_load("/", &d));
    assert_string_equal(sk_test_diag_text(&d),
                        "E:/: cannot read the configuration file: Is a directory");
    sk_diag_cleanup(&d);
}

/*
 * Fails each allocation of a load in turn, once and from then on: every
 * step ends with a whole tree or NULL and an error, never a crash, and
 * (under valgrind or ASan) no leak.
 */
static void test_alloc_failures(void **state)
{
    const char *text = "<source>\n @type tail\n path \"#{ENV['SKT_HOST']}/x\"\n"
                       " exclude_path [\"a\", \"b\"]\n <parse>\n  @type nginx\n </parse>\n"
                       "</source>\n<match **>\n x 'y'\n y \"#{File.join('a', 'b')}\"\n"
                       " z \"#{ENV['SKT_UNSET']}\"\n</match>\n@include /nonexistent-skiff/*.conf\n";
    int sticky;

    for (sticky = 0; sticky <= 1; sticky++) {
        long n;
        bool done = false;

        for (n = 1; !done; n++) {
            struct sk_diag d;
            struct sk_conf *conf;
            long before;

            sk_diag_init(&d);
            before = sk_alloc_count();
            sk_alloc_fail_after(n, sticky);
            conf = sk_conf_load_string("t.conf", text, strlen(text), &d);
            done = sk_alloc_count() - before < n;
            sk_alloc_fail_after(0, 0);
            if (conf == NULL) {
                assert_true(d.errors > 0);
            }
            if (done) {
                assert_non_null(conf);
                assert_string_equal(sk_conf_get(conf->root->children[1], "y"), "a/b");
            }
            sk_conf_destroy(conf);
            sk_diag_cleanup(&d);
            assert_true(n < 10000);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_hostname),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_api),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_alloc_failures),
    };

    setenv("SKT_HOST", "es.local", 1);
    unsetenv("SKT_UNSET");
    unsetenv("SERVERENGINE_WORKER_ID");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
