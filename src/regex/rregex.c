#include "regex/rregex.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

static int push_name(struct sk_rregex_names *names, const char *orig, size_t len,
                     const char *alias)
{
    char **o = sk_realloc(names->orig, (names->n + 1) * sizeof(*o));
    char **a;

    if (o == NULL) {
        return SK_ENOMEM;
    }
    names->orig = o;
    a = sk_realloc(names->alias, (names->n + 1) * sizeof(*a));
    if (a == NULL) {
        return SK_ENOMEM;
    }
    names->alias = a;
    names->orig[names->n] = sk_strndup(orig, len);
    names->alias[names->n] = sk_strdup(alias);
    names->n++;
    return names->orig[names->n - 1] != NULL && names->alias[names->n - 1] != NULL ? 0
                                                                                   : SK_ENOMEM;
}

int sk_rregex_translate(const char *src, size_t len, struct sk_buf *out,
                        struct sk_rregex_names *names)
{
    size_t i = 0;
    int rc = 0;

    while (i < len && rc == 0) {
        const char *end;
        size_t nlen;
        char alias[32];
        bool plain = true;

        if (src[i] == '\\' && i + 1 < len) {
            rc = sk_buf_append(out, src + i, 2); /* an escape is never a group */
            i += 2;
            continue;
        }
        if (i + 3 >= len || memcmp(src + i, "(?<", 3) != 0 || src[i + 3] == '=' ||
            src[i + 3] == '!') {
            rc = sk_buf_putc(out, src[i++]);
            continue;
        }
        end = memchr(src + i + 3, '>', len - i - 3);
        if (end == NULL) {
            rc = sk_buf_putc(out, src[i++]);
            continue;
        }
        nlen = (size_t)(end - (src + i + 3));
        for (size_t k = 0; k < nlen; k++) {
            plain = plain && is_word(src[i + 3 + k]);
        }
        if (plain) {
            rc = sk_buf_append(out, src + i, nlen + 4);
        } else {
            snprintf(alias, sizeof(alias), "_sk%zu", names->n);
            rc = push_name(names, src + i + 3, nlen, alias);
            if (rc == 0) {
                rc = sk_buf_printf(out, "(?<%s>", alias);
            }
        }
        i += nlen + 4;
    }
    return rc;
}

const char *sk_rregex_original(const struct sk_rregex_names *names, const char *pcre_name)
{
    for (size_t i = 0; i < names->n; i++) {
        if (strcmp(names->alias[i], pcre_name) == 0) {
            return names->orig[i];
        }
    }
    return pcre_name;
}

void sk_rregex_names_free(struct sk_rregex_names *names)
{
    for (size_t i = 0; i < names->n; i++) {
        sk_free(names->orig[i]);
        sk_free(names->alias[i]);
    }
    sk_free(names->orig);
    sk_free(names->alias);
    memset(names, 0, sizeof(*names));
}
