#include "testutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config_dump.h"
#include "util/alloc.h"

/*
 * @include against the files in tests/data/config/include. Most tests run
 * from inside that directory and load a relative name, so messages carry
 * short, exact "file:line:" prefixes.
 */

static const char *include_dir(void)
{
    static char dir[1024];

    snprintf(dir, sizeof(dir), "%s", sk_test_data("config/include"));
    return dir;
}

static int enter_dir(void **state)
{
    return chdir(include_dir());
}

struct load_case {
    const char *file;
    const char *tree;
    const char *diag;
};

static const struct load_case load_cases[] = {
    { "main.conf",
      "<system>{log_level=info;}<source>{@type=a;path=/var/log/a.log;tag=a;}<source>{@type=b;}"
      "<filter **>{@type=grep;}<match app.**>{@type=copy;<store>{@type=elasticsearch;"
      "host=es.local;}<store>{@type=stdout;}}<filter **>{@type=grep;}",
      "W:main.conf:6: 'include' is deprecated: use '@include'" },
    { "cycle.conf", "<source>{@type=x;}",
      "E:cycle2.conf:4: @include cycle.conf: include cycle (the file is already being read)" },
    { "self.conf", "<source>{}",
      "E:self.conf:2: <source>: @include self.conf: include cycle (the file is already being "
      "read)" },
    { "broken.conf", "<match open>{@type=stdout;}<source>{@type=ok;tag=t;}<match x>{}",
      "E:broken/open.conf:1: <match open>: missing </match>: reached the end of the file\n"
      "E:broken/close.conf:2: <source>: unexpected </source>: a section opened in another file "
      "cannot be closed here\n"
      "E:broken.conf:7: <match x>: @include conf.d: cannot read the file: Is a directory\n"
      "E:broken.conf:8: <match x>: @include missing.conf: cannot read the file: No such file or "
      "directory" },
};

static void test_load_cases(void **state)
{
    for (size_t i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
        const struct load_case *c = &load_cases[i];
        struct sk_diag d;
        struct sk_conf *conf;

        sk_diag_init(&d);
        conf = sk_conf_load(c->file, &d);
        if (conf == NULL) {
            fail_msg("%s: load returned NULL", c->file);
        }
        if (strcmp(sk_test_dump(conf), c->tree) != 0) {
            fail_msg("%s:\n  tree  %s\n  want  %s", c->file, sk_test_dump(conf), c->tree);
        }
        if (strcmp(sk_test_diag_text(&d), c->diag) != 0) {
            fail_msg("%s:\n  diag  %s\n  want  %s", c->file, sk_test_diag_text(&d), c->diag);
        }
        sk_conf_destroy(conf);
        sk_diag_cleanup(&d);
    }
}

/* Every parameter and section keeps the file and line it was written at;
 * conf->files lists each file read, in order. */
static void test_locations(void **state)
{
    static const char *files[] = {
        "main.conf",        "conf.d/02-a.conf", "conf.d/../fragments/tail.conf",
        "conf.d/10-b.conf", "legacy.conf",      "stores/es.conf",
        "legacy.conf",
    };
    struct sk_diag d;
    struct sk_conf *conf;
    struct sk_conf_section *src;
    struct sk_conf_section *store;
    struct sk_conf_param *p;

    sk_diag_init(&d);
    conf = sk_conf_load("main.conf", &d);
    assert_non_null(conf);
    assert_int_equal(conf->nfiles, sizeof(files) / sizeof(files[0]));
    for (size_t i = 0; i < conf->nfiles; i++) {
        assert_string_equal(conf->files[i], files[i]);
    }
    assert_string_equal(conf->root->file, "main.conf");
    src = conf->root->children[1];
    assert_string_equal(src->file, "conf.d/02-a.conf");
    assert_int_equal(src->line, 1);
    p = sk_conf_find(src, "tag");
    assert_string_equal(p->file, "conf.d/../fragments/tail.conf");
    assert_int_equal(p->line, 2);
    p = sk_conf_find(src, "@type");
    assert_string_equal(p->file, "conf.d/02-a.conf");
    assert_int_equal(p->line, 2);
    store = conf->root->children[4]->children[1];
    assert_ptr_equal(store->parent, conf->root->children[4]);
    assert_string_equal(store->file, "stores/es.conf");
    assert_int_equal(store->line, 5);
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
}

/* Relative includes follow the including file, not the current directory. */
static void test_absolute_paths(void **state)
{
    char path[PATH_MAX];
    char text[PATH_MAX * 2];
    struct sk_diag d;
    struct sk_conf *conf;
    const char *file;

    assert_int_equal(chdir("/"), 0);
    snprintf(path, sizeof(path), "%s/main.conf", include_dir());
    sk_diag_init(&d);
    conf = sk_conf_load(path, &d);
    assert_non_null(conf);
    assert_int_equal(d.errors, 0);
    assert_string_equal(sk_test_dump(conf), load_cases[0].tree);
    file = sk_conf_find(conf->root->children[1], "tag")->file;
    snprintf(path, sizeof(path), "%s/conf.d/../fragments/tail.conf", include_dir());
    assert_string_equal(file, path);
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);

    /* An absolute @include, and the file:// form, from a string. */
    snprintf(
        text, sizeof(text),
        "<source>\n@include %s/fragments/tail.conf\n</source>\n@include file://%s/legacy.conf\n",
        include_dir(), include_dir());
    sk_diag_init(&d);
    conf = sk_conf_load_string("t.conf", text, strlen(text), &d);
    assert_non_null(conf);
    assert_string_equal(sk_test_diag_text(&d), "");
    assert_string_equal(sk_test_dump(conf),
                        "<source>{path=/var/log/a.log;tag=a;}<filter **>{@type=grep;}");
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
    assert_int_equal(chdir(include_dir()), 0);
}

/* The include path takes the value syntax, ENV included. */
static void test_env_path(void **state)
{
    struct sk_diag d;
    struct sk_conf *conf;

    setenv("SKT_INC", "nope", 1);
    sk_diag_init(&d);
    conf = sk_conf_load("main.conf", &d);
    assert_non_null(conf);
    assert_true(sk_diag_contains(
        &d, "main.conf:11: @include nope.conf: cannot read the file: No such file or directory"));
    assert_int_equal(d.errors, 1);
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
    unsetenv("SKT_INC");
}

/* A chain of includes deeper than the limit is cut with an error. */
static void test_depth_limit(void **state)
{
    const char *dir = sk_test_tmpdir();
    char path[PATH_MAX];
    char want[PATH_MAX * 2];
    struct sk_diag d;
    struct sk_conf *conf;
    int i;

    for (i = 0; i < 40; i++) {
        FILE *f;

        snprintf(path, sizeof(path), "%s/f%d.conf", dir, i);
        f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "k%d v\n@include f%d.conf\n", i, i + 1);
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/f0.conf", dir);
    sk_diag_init(&d);
    conf = sk_conf_load(path, &d);
    assert_non_null(conf);
    snprintf(want, sizeof(want),
             "E:%s/f31.conf:2: @include %s/f32.conf: too many files, or nested too deep", dir, dir);
    assert_string_equal(sk_test_diag_text(&d), want);
    assert_int_equal(conf->root->nparams, 32);
    assert_string_equal(conf->root->params[31].key, "k31");
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
    for (i = 0; i < 40; i++) {
        snprintf(path, sizeof(path), "%s/f%d.conf", dir, i);
        unlink(path);
    }
    rmdir(dir);
}

/* Allocation failures while reading several files: no crash, no leak. */
static void test_alloc_failures(void **state)
{
    for (int sticky = 0; sticky <= 1; sticky++) {
        bool done = false;

        for (long n = 1; !done; n++) {
            struct sk_diag d;
            struct sk_conf *conf;
            long before;

            sk_diag_init(&d);
            before = sk_alloc_count();
            sk_alloc_fail_after(n, sticky);
            conf = sk_conf_load("main.conf", &d);
            done = sk_alloc_count() - before < n;
            sk_alloc_fail_after(0, 0);
            if (conf == NULL) {
                assert_true(d.errors > 0);
            }
            if (done) {
                assert_string_equal(sk_test_dump(conf), load_cases[0].tree);
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
        cmocka_unit_test(test_load_cases),     cmocka_unit_test(test_locations),
        cmocka_unit_test(test_absolute_paths), cmocka_unit_test(test_env_path),
        cmocka_unit_test(test_depth_limit),    cmocka_unit_test(test_alloc_failures),
    };

    unsetenv("SKT_INC");
    return cmocka_run_group_tests(tests, enter_dir, NULL);
}
