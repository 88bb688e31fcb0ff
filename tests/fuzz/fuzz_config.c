/*
 * libFuzzer target for the configuration reader (sk_conf_load_string).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *       tests/fuzz/fuzz_config.c src/config/config.c src/config/config_lex.c \
 *       src/config/config_ruby.c src/config/config_include.c src/config/diag.c \
 *       src/util/alloc.c src/util/buf.c src/util/err.c src/log/log.c -o fuzz_config
 *   ./fuzz_config -max_total_time=60 corpus-dir/
 *
 * Inputs naming @include are skipped: they would read and glob the fuzzing
 * machine's files, which makes runs slow and irreproducible; the include code
 * is covered by tests/unit/config/test_config_include.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches every node so the sanitizers see every byte the tree owns. */
static size_t walk(const struct sk_conf_section *s)
{
    char label[64];
    size_t n = strlen(sk_conf_section_label(s, label, sizeof(label)));

    for (size_t i = 0; i < s->nparams; i++) {
        n += strlen(s->params[i].key) + strlen(s->params[i].value) + (size_t)s->params[i].line;
        if (sk_conf_find(s, s->params[i].key) == NULL) {
            __builtin_trap();
        }
    }
    for (size_t i = 0; i < s->nchildren; i++) {
        if (s->children[i]->parent != s) {
            __builtin_trap();
        }
        n += walk(s->children[i]);
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sk_diag d;
    struct sk_conf *conf;
    volatile size_t sink;

    if (memmem(data, size, "include", 7) != NULL) {
        return 0;
    }
    sk_diag_init(&d);
    conf = sk_conf_load_string("fuzz.conf", (const char *)data, size, &d);
    if (conf != NULL) {
        sink = walk(conf->root);
        (void)sink;
    }
    for (size_t i = 0; i < d.count; i++) {
        sink = strlen(d.entries[i].text);
        (void)sink;
    }
    sk_conf_destroy(conf);
    sk_diag_cleanup(&d);
    return 0;
}
