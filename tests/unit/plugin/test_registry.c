/*
 * A meta-test over every registered plugin: names are unique per kind,
 * every parameter has a description, and every table's defaults parse and
 * sit within their own bounds (an empty section must configure cleanly,
 * except for REQUIRED parameters).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "buffer/buffer.h"
#include "config/config.h"
#include "parser/parser.h"
#include "plugin/plugin.h"

static void check_table(const char *owner, const struct sk_param_def *defs)
{
    struct sk_diag d;
    struct sk_conf *conf;
    size_t size = 0;
    void *storage;
    int rc;

    for (const struct sk_param_def *p = defs; p->name != NULL; p++) {
        if (p->desc == NULL || p->desc[0] == '\0') {
            fail_msg("%s: parameter '%s' has no description", owner, p->name);
        }
        if (p->type == SK_PARAM_ENUM && p->choices == NULL) {
            fail_msg("%s: enum parameter '%s' has no choices", owner, p->name);
        }
        size = p->offset + 64 > size ? p->offset + 64 : size;
    }
    sk_diag_init(&d);
    conf = sk_conf_load_string("empty.conf", "<x>\n</x>\n", 9, &d);
    assert_non_null(conf);
    storage = calloc(1, size + 64);
    assert_non_null(storage);
    rc = sk_param_apply(defs, conf->root->children[0], storage, &d);
    (void)rc; /* the entries are checked one by one below */
    for (size_t i = 0; i < d.count; i++) {
        if (strstr(d.entries[i].text, "is required") == NULL) {
            fail_msg("%s: defaults do not apply cleanly: %s", owner, d.entries[i].text);
        }
    }
    sk_param_release(defs, storage);
    free(storage);
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
}

static void test_every_plugin(void **state)
{
    size_t n = 0;

    (void)state;
    for (const struct sk_plugin *const *p = sk_plugins; *p != NULL; p++, n++) {
        assert_int_equal((*p)->api, SK_PLUGIN_API);
        assert_non_null((*p)->desc);
        assert_ptr_equal(sk_plugin_find((*p)->kind, (*p)->name), *p);
        if ((*p)->params != NULL) {
            check_table((*p)->name, (*p)->params);
        }
        switch ((*p)->kind) {
        case SK_PLUGIN_PARSER:
            assert_non_null((*p)->parse);
            break;
        case SK_PLUGIN_FILTER:
            assert_non_null((*p)->filter);
            break;
        case SK_PLUGIN_OUTPUT:
            assert_true((*p)->emit != NULL || (*p)->flush != NULL);
            break;
        case SK_PLUGIN_INPUT:
            assert_non_null((*p)->start);
            break;
        }
    }
    assert_true(n >= 4);
}

static void test_core_tables(void **state)
{
    (void)state;
    check_table("<buffer>", sk_buffer_params);
    check_table("parser common", sk_parser_common_params);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_plugin),
        cmocka_unit_test(test_core_tables),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
