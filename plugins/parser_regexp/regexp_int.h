#ifndef SK_PARSER_REGEXP_REGEXP_INT_H
#define SK_PARSER_REGEXP_REGEXP_INT_H

/* parser_regexp's conf, for tests that fill it by hand. */
#include <stdbool.h>

#include "parser/parser.h"

struct regexp_conf {
    struct sk_parser_common common;
    char *expression; /* "/body/flags" or a bare body */
    bool ignorecase;  /* deprecated in Fluentd: no effect */
    bool multiline;   /* deprecated in Fluentd: no effect */
};

#endif
