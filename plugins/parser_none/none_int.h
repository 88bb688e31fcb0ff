#ifndef SK_PARSER_NONE_NONE_INT_H
#define SK_PARSER_NONE_NONE_INT_H

/* parser_none's conf, for tests that fill it by hand. */
#include "parser/parser.h"

struct none_conf {
    struct sk_parser_common common;
    char *message_key; /* "message" */
};

#endif
