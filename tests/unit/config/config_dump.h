#ifndef SK_TEST_CONFIG_DUMP_H
#define SK_TEST_CONFIG_DUMP_H

#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "util/buf.h"

/*
 * Test helpers shared by the config tests (header-only: every test file is
 * its own executable). A tree is written as one line so a whole expected
 * tree fits in a table cell:
 *
 *   <source>{@type=tail;path="/x";<parse>{@type=nginx;}}<match a.**>{...}
 *
 * Parameters come first in each section, then child sections; a value is
 * written bare, 'single' or "double" as it was quoted. Diagnostics are one
 * "E:" or "W:" line each.
 */

#define SK_TEST_DUMP_MAX (1024 * 1024)

static inline void sk_test_dump_section(const struct sk_conf_section *s, struct sk_buf *out)
{
    int rc = 0;

    for (size_t i = 0; i < s->nparams && rc == 0; i++) {
        const struct sk_conf_param *p = &s->params[i];
        const char *q = p->quote == SK_CONF_SINGLE ? "'" : p->quote == SK_CONF_DOUBLE ? "\"" : "";

        rc = sk_buf_printf(out, "%s=%s%s%s;", p->key, q, p->value, q);
    }
    for (size_t i = 0; i < s->nchildren && rc == 0; i++) {
        char label[256];

        rc = sk_buf_printf(out, "%s{", sk_conf_section_label(s->children[i], label, sizeof(label)));
        sk_test_dump_section(s->children[i], out);
        rc = rc == 0 ? sk_buf_putc(out, '}') : rc;
    }
}

/* The dump of a whole tree, in static storage. */
static inline const char *sk_test_dump(const struct sk_conf *conf)
{
    static char text[SK_TEST_DUMP_MAX];
    struct sk_buf out;

    sk_buf_init(&out, SK_TEST_DUMP_MAX - 1);
    text[0] = '\0';
    if (conf != NULL) {
        sk_test_dump_section(conf->root, &out);
    }
    if (out.data != NULL) {
        memcpy(text, out.data, out.len + 1);
    }
    sk_buf_cleanup(&out);
    return text;
}

/* The diagnostics, one "E:text" or "W:text" per line, in static storage. */
static inline const char *sk_test_diag_text(const struct sk_diag *d)
{
    static char text[65536];
    size_t used = 0;

    text[0] = '\0';
    for (size_t i = 0; i < d->count && used < sizeof(text); i++) {
        int n = snprintf(text + used, sizeof(text) - used, "%s%s:%s", i > 0 ? "\n" : "",
                         d->entries[i].level == SK_DIAG_ERROR ? "E" : "W", d->entries[i].text);

        used += n > 0 ? (size_t)n : 0;
    }
    return text;
}

#endif
