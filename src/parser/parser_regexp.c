/*
 * RegexpParser#parse (see parser_regexp.h): match, keep the named groups
 * that took part, then the time and conversions of a Ruby Hash record.
 */
#include "parser/parser_regexp.h"

#include <string.h>

#include "parser/parser_record.h"
#include "util/alloc.h"

int sk_regexp_parser_init(struct sk_regexp_parser *rp, const struct sk_parser_common *c,
                          const struct sk_parser_defaults *defs, const char *expression,
                          unsigned flags, const char *param, const struct sk_conf_section *sec,
                          struct sk_diag *d)
{
    char err[512];
    const char *warning = NULL;
    int rc;

    memset(rp, 0, sizeof(*rp));
    rc = sk_parser_core_init(&rp->core, c, defs, sec, d);
    if (rc < 0) {
        return rc;
    }
    rc = sk_ruby_regex_compile(&rp->re, expression, flags, err, sizeof(err), &warning);
    if (rc == SK_ECONFIG) {
        sk_parser_diag(d, SK_DIAG_ERROR, sec, "%s: %s", param, err);
    }
    if (rc < 0) {
        return rc;
    }
    if (warning != NULL) {
        sk_parser_diag(d, SK_DIAG_WARN, sec, "%s: %s", param, warning);
    }
    if (rp->re.nnames > 0) {
        rp->fields = sk_calloc(rp->re.nnames, sizeof(*rp->fields));
        if (rp->fields == NULL) {
            return SK_ENOMEM;
        }
    }
    return 0;
}

void sk_regexp_parser_cleanup(struct sk_regexp_parser *rp)
{
    if (rp == NULL) {
        return;
    }
    sk_parser_core_cleanup(&rp->core);
    sk_ruby_regex_cleanup(&rp->re);
    sk_free(rp->fields);
    rp->fields = NULL;
}

long sk_regexp_parser_match(struct sk_regexp_parser *rp, const char *line, size_t len)
{
    if (!sk_ruby_regex_search(&rp->re, line, len, 0)) {
        return -1;
    }
    return (long)sk_ruby_regex_fields(&rp->re, line, rp->fields);
}

int sk_regexp_parser_parse(struct sk_regexp_parser *rp, const char *line, size_t len,
                           struct sk_evbuf *out)
{
    long n = sk_regexp_parser_match(rp, line, len);

    if (n < 0) {
        return SK_EPARSE;
    }
    return sk_parser_emit_record(&rp->core, rp->fields, (size_t)n, NULL, out);
}
