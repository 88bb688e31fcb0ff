#include "router/pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "util/buf.h"

/* Appends the regex for one space-free pattern. */
static int translate_one(struct sk_buf *re, const char *p, size_t len)
{
    int depth = 0;
    int rc = 0;

    for (size_t i = 0; i < len && rc == 0; i++) {
        char c = p[i];
        bool at_start = i == 0 || p[i - 1] == '{' || p[i - 1] == ',';

        if (c == '*' && i + 1 < len && p[i + 1] == '*') {
            if (i + 2 < len && p[i + 2] == '.' && at_start) {
                rc = sk_buf_append_str(re, "(?:[^.]+\\.)*"); /* "**." : zero or more "x." */
                i += 2;
            } else {
                rc = sk_buf_append_str(re, ".*");
                i += 1;
            }
        } else if (c == '.' && i + 2 < len && p[i + 1] == '*' && p[i + 2] == '*' &&
                   (i + 3 == len || p[i + 3] == '.' || p[i + 3] == '}' || p[i + 3] == ',')) {
            rc = sk_buf_append_str(re, "(?:\\..*)?"); /* ".**": "a.**" matches "a" too */
            i += 2;
        } else if (c == '*') {
            rc = sk_buf_append_str(re, "[^.]*");
        } else if (c == '{') {
            depth++;
            rc = sk_buf_append_str(re, "(?:");
        } else if (c == '}') {
            if (--depth < 0) {
                return SK_EPARSE;
            }
            rc = sk_buf_putc(re, ')');
        } else if (c == ',' && depth > 0) {
            rc = sk_buf_putc(re, '|');
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-') {
            rc = sk_buf_putc(re, c);
        } else {
            rc = sk_buf_putc(re, '\\');
            if (rc == 0) {
                rc = sk_buf_putc(re, c);
            }
        }
    }
    if (rc == 0 && depth != 0) {
        return SK_EPARSE;
    }
    return rc;
}

static int translate(const char *text, struct sk_buf *re)
{
    const char *s = text != NULL && *text != '\0' ? text : "**";
    int n = 0;
    int rc = sk_buf_append_str(re, "\\A(?:");

    while (rc == 0 && *s != '\0') {
        size_t len;

        s += strspn(s, " \t");
        len = strcspn(s, " \t");
        if (len == 0) {
            break;
        }
        if (n++ > 0) {
            rc = sk_buf_putc(re, '|');
        }
        if (rc == 0) {
            rc = sk_buf_append_str(re, "(?:");
        }
        if (rc == 0) {
            rc = translate_one(re, s, len);
        }
        if (rc == 0) {
            rc = sk_buf_putc(re, ')');
        }
        s += len;
    }
    if (rc == 0) {
        rc = sk_buf_append_str(re, ")\\z");
    }
    return rc;
}

int sk_pattern_to_regex(const char *text, char *out, size_t size)
{
    struct sk_buf re;
    int rc;

    sk_buf_init(&re, 4096);
    rc = translate(text, &re);
    if (rc == 0 && re.len >= size) {
        rc = SK_ETOOBIG;
    }
    if (rc == 0) {
        memcpy(out, re.data, re.len + 1);
    }
    sk_buf_cleanup(&re);
    return rc;
}

int sk_pattern_init(struct sk_pattern *p, const char *text)
{
    struct sk_buf re;
    int errcode;
    PCRE2_SIZE erroff;
    int rc;

    p->code = NULL;
    p->md = NULL;
    sk_buf_init(&re, 64 * 1024);
    rc = translate(text, &re);
    if (rc == 0) {
        p->code = pcre2_compile((PCRE2_SPTR)re.data, re.len, PCRE2_DOTALL, &errcode, &erroff, NULL);
        if (p->code == NULL) {
            rc = SK_EPARSE;
        }
    }
    if (rc == 0) {
        pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE);
        p->md = pcre2_match_data_create_from_pattern(p->code, NULL);
        if (p->md == NULL) {
            rc = SK_ENOMEM;
        }
    }
    sk_buf_cleanup(&re);
    if (rc < 0) {
        sk_pattern_cleanup(p);
    }
    return rc;
}

void sk_pattern_cleanup(struct sk_pattern *p)
{
    pcre2_match_data_free(p->md);
    pcre2_code_free(p->code);
    p->md = NULL;
    p->code = NULL;
}

bool sk_pattern_match(const struct sk_pattern *p, const char *tag)
{
    return pcre2_match(p->code, (PCRE2_SPTR)tag, strlen(tag), 0, 0, p->md, NULL) >= 0;
}
