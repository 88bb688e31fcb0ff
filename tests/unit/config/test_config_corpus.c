#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config_dump.h"

/*
 * Every td-agent.conf in ../shared/testdata/td-agent-configs (real files
 * from public repositories, see SOURCES.md there) loads as expected: the
 * number of files read, sections and parameters in the tree, and errors,
 * with the exact first error. Files are loaded by relative name from that
 * directory, so messages start with the file's own name. Warnings (unset
 * ENV variables, globs matching nothing, 'include' without '@') are not
 * counted: they do not stop a load.
 */
struct corpus_case {
    const char *file;
    size_t files;
    size_t sections;
    size_t params;
    size_t errors;
    const char *first_error; /* prefix of the first error, or NULL */
};

static const struct corpus_case cases[] = {
    { "001-cheungpat-k8s-aws-es-v012.conf", 1, 17, 119, 0, NULL },
    { "002-greytip-docker-aws-es-v012.conf", 1, 6, 30, 0, NULL },
    { "003-gnokoheat-aws-es-v1.conf", 1, 3, 13, 0, NULL },
    /* `url "#{ENV['AWS_ES_DOMAIN_URL']}"m`: Fluentd rejects it too. */
    { "004-zgolus-aws-es-typo.conf", 1, 3, 7, 1,
      "004-zgolus-aws-es-typo.conf:11: <endpoint>: unexpected text after the closing quote: m" },
    { "005-orkusinc-aws-es-label-copy.conf", 1, 11, 33, 0, NULL },
    /* `include /etc/td-agent/extra/(glob).conf`: a glob matching nothing warns. */
    { "006-fryckbos-k8s-es-include-noat.conf", 1, 16, 114, 0, NULL },
    { "007-ernoaapa-k8s-es-env-fetch.conf", 1, 13, 82, 0, NULL },
    { "008-oxalide-k8s-es-dup-type.conf", 1, 3, 26, 0, NULL },
    { "009-antmanler-k8s-es-placeholder.conf", 1, 4, 30, 0, NULL },
    { "010-cmachler-coreos-es-minimal.conf", 1, 4, 32, 0, NULL },
    { "011-cmachler-coreos-ruby-secure-fwd.conf", 1, 7, 26, 0, NULL },
    { "012-dailyhotel-elb-to-es.conf", 1, 7, 40, 0, NULL },
    { "013-dailyhotel-kafka-to-es.conf", 1, 6, 34, 0, NULL },
    { "014-govtechsg-nginx-s3-es-copy.conf", 1, 6, 32, 0, NULL },
    { "015-govtechsg-es-label-hostname.conf", 1, 7, 10, 0, NULL },
    { "016-gom-nginx-es-v012-noindent.conf", 1, 2, 13, 0, NULL },
    { "017-lysori-nginx-filter-parser-es.conf", 1, 6, 19, 0, NULL },
    { "018-natemarks-nginx-parse-es.conf", 1, 9, 33, 0, NULL },
    { "019-natemarks-nginx-json-es.conf", 1, 9, 34, 0, NULL },
    { "020-kk0kojirr-nginx-parse-forward.conf", 1, 5, 14, 0, NULL },
    { "021-shravan-nginx-s3.conf", 1, 3, 19, 0, NULL },
    /* `@include conf.d/(glob).conf` finds no conf.d beside the top-level copy. */
    { "022-ryoh-td-agent-nginx-grok.conf", 1, 1, 1, 0, NULL },
    { "023-s-take-nginx-ltsv-es.conf", 1, 8, 29, 0, NULL },
    { "024-asigatchov-nginx-regex-es-dynamic.conf", 1, 4, 25, 0, NULL },
    { "025-tomorrowkey-nginx-ltsv-es.conf", 1, 9, 27, 0, NULL },
    { "026-morioka-nginx-es-copy-buffer.conf", 1, 14, 55, 0, NULL },
    { "027-pushkarm-nginx-opensearch.conf", 1, 4, 13, 0, NULL },
    { "028-cosmo0920-es-buffer-secondary.conf", 1, 6, 41, 0, NULL },
    { "029-technicalguru-es-local-mixed.conf", 1, 19, 119, 0, NULL },
    { "030-noahbailey-opensearch-influxdb.conf", 1, 8, 48, 0, NULL },
    { "031-xiaojun207-es-concat-label.conf", 1, 13, 49, 0, NULL },
    { "032-watson1978-es-labels-quoted.conf", 1, 11, 36, 0, NULL },
    { "033-georgeyord-es-fluent-log-label.conf", 1, 13, 43, 0, NULL },
    { "034-panupongdeve-efk-file-copy.conf", 1, 7, 25, 0, NULL },
    { "035-mqasim-s3-es-noindent-colon.conf", 1, 8, 68, 0, NULL },
    /* Fifteen lines of `"#{ENV['x']"` (no closing brace) or `']']"`. */
    { "036-mgrzybek-kafka-s3-broken-env.conf", 1, 3, 7, 15,
      "036-mgrzybek-kafka-s3-broken-env.conf:4: <source>: unterminated embedded Ruby code (no "
      "closing '}' on the line): #{ENV['broker_servers']']\"" },
    { "037-ccpgames-k8s-s3.conf", 1, 16, 115, 0, NULL },
    { "038-kishara-wso2-worker-es.conf", 1, 11, 32, 0, NULL },
    { "039-jreock-multi-parse-es.conf", 1, 14, 40, 0, NULL },
    { "040-inouetakuya-v012-rewrite-copy.conf", 1, 30, 85, 0, NULL },
    { "041-treasure-data-td-agent2-default.conf", 1, 5, 12, 0, NULL },
    { "042-tmtk75-minimal-v012-es.conf", 1, 4, 10, 0, NULL },
    { "043-t-taira-apache-mysql-es.conf", 1, 6, 29, 0, NULL },
    { "044-suzuken-v012-es-hosts.conf", 1, 2, 12, 0, NULL },
    { "045-xaviermoon-es-include-abs-glob.conf", 1, 5, 26, 0, NULL },
    { "046-tokkolabs-sidecar-include-ruby.conf", 1, 4, 17, 0, NULL },
    { "047-lis0x90-tabs-ruby-es.conf", 1, 6, 14, 0, NULL },
    { "048-acalephstorage-env-comment.conf", 1, 4, 14, 0, NULL },
    { "049-amyth-aggregator-tabs-mongo.conf", 1, 4, 50, 0, NULL },
    { "050-geraudster-kafka-group.conf", 1, 3, 9, 0, NULL },
    { "051-takeru911-nginx-kafka-v012.conf", 1, 2, 7, 0, NULL },
    { "052-razrosh-syslog-kafka2.conf", 1, 5, 18, 0, NULL },
    { "053-srleyva-k8s-kinesis-prometheus.conf", 1, 25, 120, 0, NULL },
    { "054-wangqiang-s3-copy-v012.conf", 1, 4, 22, 0, NULL },
    { "055-abrahambosch-minio-s3.conf", 1, 9, 40, 0, NULL },
    /* 056-061 top-level copies name sibling files that were not saved
     * (systemd.conf, prometheus.conf, kubernetes.conf): a named include that
     * is missing is an error. The folder copies below resolve them. */
    { "056-k8s-daemonset-es8.conf", 1, 2, 28, 3,
      "056-k8s-daemonset-es8.conf:5: @include systemd.conf: cannot read the file: No such file "
      "or directory" },
    { "057-k8s-daemonset-es7-ilm.conf", 1, 2, 31, 3,
      "057-k8s-daemonset-es7-ilm.conf:5: @include systemd.conf: cannot read the file: No such "
      "file or directory" },
    { "058-k8s-daemonset-v012-es.conf", 1, 1, 21, 2,
      "058-k8s-daemonset-v012-es.conf:5: @include systemd.conf: cannot read the file: No such "
      "file or directory" },
    { "059-k8s-daemonset-kafka2.conf", 1, 3, 16, 3,
      "059-k8s-daemonset-kafka2.conf:5: @include systemd.conf: cannot read the file: No such "
      "file or directory" },
    { "060-k8s-daemonset-s3.conf", 1, 3, 15, 3,
      "060-k8s-daemonset-s3.conf:5: @include systemd.conf: cannot read the file: No such file or "
      "directory" },
    { "061-k8s-daemonset-opensearch.conf", 1, 2, 30, 3,
      "061-k8s-daemonset-opensearch.conf:5: @include systemd.conf: cannot read the file: No such "
      "file or directory" },
    { "062-fluent-package-opensearch-test.conf", 1, 3, 13, 0, NULL },
    { "063-fluentd-repo-root-sample.conf", 1, 5, 14, 0, NULL },
    { "064-monotek-label-include-only.conf", 1, 2, 1, 0, NULL },
    { "065-videomark-anonymizer-sections.conf", 1, 20, 51, 0, NULL },
    { "066-chrsmark-nats-es.conf", 1, 8, 33, 0, NULL },
    { "067-onehao-td-agent-copy-es.conf", 1, 8, 23, 0, NULL },
    { "022-ryoh-td-agent-nginx-grok/td-agent.conf", 2, 16, 45, 0, NULL },
    /* The official daemonset: everything resolves, including
     * `@include "#{ENV['FLUENTD_SYSTEMD_CONF'] || 'systemd'}.conf"` and
     * File.join(...) pos_file paths; kubernetes_url is computed by real Ruby
     * (IPAddr, assignments) and is refused. */
    { "056-k8s-daemonset-es8/fluent.conf", 19, 44, 174, 1,
      "056-k8s-daemonset-es8/kubernetes.conf:30: <filter kubernetes.**>: embedded Ruby code is "
      "not supported: #{ENV['FLUENT_FILTER_KUBERNETES_URL'] || (host = " },
    { "058-k8s-daemonset-v012-es/fluent.conf", 3, 20, 144, 0, NULL },
};

static void count(const struct sk_conf_section *s, size_t *sections, size_t *params)
{
    *params += s->nparams;
    for (size_t i = 0; i < s->nchildren; i++) {
        (*sections)++;
        count(s->children[i], sections, params);
    }
}

static const char *first_error(const struct sk_diag *d)
{
    for (size_t i = 0; i < d->count; i++) {
        if (d->entries[i].level == SK_DIAG_ERROR) {
            return d->entries[i].text;
        }
    }
    return "";
}

static struct sk_conf *load(const char *file, struct sk_diag *d)
{
    sk_diag_init(d);
    return sk_conf_load(file, d);
}

static void test_corpus(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct corpus_case *c = &cases[i];
        const char *err;
        size_t sections = 0;
        size_t params = 0;
        struct sk_diag d;
        struct sk_conf *conf = load(c->file, &d);

        if (conf == NULL) {
            fail_msg("%s: not loaded: %s", c->file, sk_test_diag_text(&d));
        }
        count(conf->root, &sections, &params);
        err = first_error(&d);
        if (d.errors != c->errors || conf->nfiles != c->files || sections != c->sections ||
            params != c->params) {
            fail_msg("%s: %zu files, %zu sections, %zu params, %zu errors; want %zu, %zu, %zu, "
                     "%zu\n%s",
                     c->file, conf->nfiles, sections, params, d.errors, c->files, c->sections,
                     c->params, c->errors, sk_test_diag_text(&d));
        }
        if (c->first_error != NULL && strncmp(err, c->first_error, strlen(c->first_error)) != 0) {
            fail_msg("%s: first error\n  got   %s\n  want  %s", c->file, err, c->first_error);
        }
        sk_conf_destroy(conf);
        sk_diag_cleanup(&d);
    }
}

/* A section's child by path of names ("match/store/buffer"), first match. */
static const struct sk_conf_section *child(const struct sk_conf_section *s, const char *name,
                                           const char *arg)
{
    for (size_t i = 0; i < s->nchildren; i++) {
        const struct sk_conf_section *c = s->children[i];

        if (strcmp(c->name, name) == 0 &&
            (arg == NULL || (c->arg != NULL && strcmp(c->arg, arg) == 0))) {
            return c;
        }
    }
    fail_msg("no <%s %s> under <%s>", name, arg != NULL ? arg : "", s->name);
    return NULL;
}

/* The first parameter named `key` anywhere under s, depth first. */
static const struct sk_conf_param *find_any(const struct sk_conf_section *s, const char *key)
{
    const struct sk_conf_param *p = sk_conf_find(s, key);

    for (size_t i = 0; p == NULL && i < s->nchildren; i++) {
        p = find_any(s->children[i], key);
    }
    return p;
}

/* The shapes SOURCES.md calls out, checked value by value. */
static void test_corpus_values(void **state)
{
    const struct sk_conf_section *s;
    const struct sk_conf_param *p;
    struct sk_diag d;
    struct sk_conf *conf;

    /* v0.12 quoted type, valueless parameter. */
    conf = load("001-cheungpat-k8s-aws-es-v012.conf", &d);
    s = conf->root->children[conf->root->nchildren - 1];
    p = sk_conf_find(s, "type");
    assert_string_equal(p->value, "aws-elasticsearch-service");
    assert_int_equal(p->quote, SK_CONF_DOUBLE);
    assert_int_equal(p->line, 287);
    assert_string_equal(sk_conf_get(s, "disable_retry_limit"), "");
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);

    /* Inline comment after a bare value. */
    conf = load("014-govtechsg-nginx-s3-es-copy.conf", &d);
    assert_string_equal(sk_conf_get(conf->root->children[0], "path"), "/var/log/nginx/access.log");
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);

    /* Trailing blanks; no newline at the end of the file. */
    conf = load("017-lysori-nginx-filter-parser-es.conf", &d);
    assert_string_equal(sk_conf_get(conf->root->children[0], "bind"), "0.0.0.0");
    s = child(conf->root, "filter", "*.**");
    assert_string_equal(sk_conf_get(s, "format"), "nginx");
    assert_string_equal(sk_conf_get(child(s, "parse", NULL), "@type"), "nginx");
    assert_string_equal(conf->root->children[conf->root->nchildren - 1]->name, "match");
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);

    /* A colon glued to the key stays in the key. */
    conf = load("035-mqasim-s3-es-noindent-colon.conf", &d);
    p = find_any(conf->root, "index_name:");
    assert_non_null(p);
    assert_string_equal(p->value, "docker");
    assert_int_equal(p->line, 39);
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);

    /* <worker N>, and '<' inside a value. */
    conf = load("038-kishara-wso2-worker-es.conf", &d);
    s = child(child(conf->root, "worker", "1"), "source", NULL);
    assert_string_equal(sk_conf_get(s, "path"), "<PRODUCT_HOME>/repository/logs/wso2carbon.log");
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);

    /* An empty quoted value; a value that is just '>'. */
    conf = load("062-fluent-package-opensearch-test.conf", &d);
    p = sk_conf_find(child(conf->root, "system", NULL), "config_include_dir");
    assert_string_equal(p->value, "");
    assert_int_equal(p->quote, SK_CONF_DOUBLE);
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
    conf = load("066-chrsmark-nats-es.conf", &d);
    assert_string_equal(find_any(conf->root, "queues")->value, ">");
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);

    /* A JSON array parameter. */
    conf = load("011-cmachler-coreos-ruby-secure-fwd.conf", &d);
    assert_string_equal(sk_conf_get(conf->root->children[0], "exclude_path"),
                        "[\"/var/log/containers/kube-dns*.log\","
                        "\"/var/log/containers/fluentd-kube*.log\"]");
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);

    /* The daemonset: an included parse section lands inside its <source>;
     * File.join and || defaults give the values Fluentd would. */
    conf = load("056-k8s-daemonset-es8/fluent.conf", &d);
    s = NULL;
    for (size_t i = 0; i < conf->root->nchildren; i++) {
        const char *id = sk_conf_get(conf->root->children[i], "@id");

        if (id != NULL && strcmp(id, "in_tail_container_logs") == 0) {
            s = conf->root->children[i];
        }
    }
    assert_non_null(s);
    assert_string_equal(sk_conf_get(s, "pos_file"), "/var/log/fluentd-containers.log.pos");
    assert_string_equal(sk_conf_get(s, "path"), "/var/log/containers/*.log");
    assert_null(sk_conf_find(s, "exclude_path"));
    s = child(s, "parse", NULL);
    assert_string_equal(sk_conf_get(s, "@type"), "json");
    assert_string_equal(s->file, "056-k8s-daemonset-es8/kubernetes/../tail_container_parse.conf");
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
}

static int setup(void **state)
{
    extern char **environ;
    size_t i = 0;

    /* The files read FLUENT_* variables with use_default fallbacks; a set
     * one would change the parameter counts above. */
    while (environ[i] != NULL) {
        if (strncmp(environ[i], "FLUENT", 6) == 0) {
            char name[256];
            size_t n = strcspn(environ[i], "=");

            snprintf(name, sizeof(name), "%.*s", (int)n, environ[i]);
            unsetenv(name);
            continue;
        }
        i++;
    }
    return chdir(sk_test_shared("testdata/td-agent-configs"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_corpus_values),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
