#ifndef SK_PARSER_NGINX_NGINX_INT_H
#define SK_PARSER_NGINX_NGINX_INT_H

/*
 * The nginx scanner, shared by the plugin, its tests and the fuzz target.
 *
 * Fluentd's nginx parser is a RegexpParser with this expression (Onigmo):
 *
 *   ^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \[(?<time>[^\]]*)\]
 *   "(?<method>\S+)(?: +(?<path>[^\"]*?)(?: +\S*)?)?" (?<code>[^ ]*)
 *   (?<size>[^ ]*)(?: "(?<referer>[^\"]*)" "(?<agent>[^\"]*)"
 *   (?:\s+\"?(?<http_x_forwarded_for>[^\"]*)\"?)?)?$
 *
 * (one line in the source; split here). nginx_scan answers, without a
 * regex engine, exactly what a backtracking engine answers: whether it
 * matches and which span each group captured in the first match found.
 * Ruby's ^ and $ are line anchors, so a value holding '\n' (possible
 * through filter_parser) is matched line-wise as Onigmo does.
 */
#include <stdbool.h>
#include <stddef.h>

#include "parser/parser.h"
#include "plugin/plugin.h"

#define NGINX_REGEX                                                                          \
    "^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] "                \
    "\"(?<method>\\S+)(?: +(?<path>[^\\\"]*?)(?: +\\S*)?)?\" (?<code>[^ ]*) "                 \
    "(?<size>[^ ]*)(?: \"(?<referer>[^\\\"]*)\" \"(?<agent>[^\\\"]*)\""                      \
    "(?:\\s+\\\"?(?<http_x_forwarded_for>[^\\\"]*)\\\"?)?)?$"

#define NGINX_TIME_FORMAT "%d/%b/%Y:%H:%M:%S %z"

/* Named groups in the order Onigmo lists them (the record's key order). */
enum nginx_field {
    NGINX_REMOTE,
    NGINX_HOST,
    NGINX_USER,
    NGINX_TIME,
    NGINX_METHOD,
    NGINX_PATH,
    NGINX_CODE,
    NGINX_SIZE,
    NGINX_REFERER,
    NGINX_AGENT,
    NGINX_XFF,
    NGINX_NFIELDS,
};

extern const char *const nginx_field_names[NGINX_NFIELDS];

/* A capture: line[off .. off+len), or not set when the group did not
 * take part in the match (Fluentd then omits the key). */
struct nginx_span {
    size_t off;
    size_t len;
    bool set;
};

struct nginx_match {
    struct nginx_span f[NGINX_NFIELDS];
};

/* Returns true and fills m when the regex matches line[0..len). Linear in
 * len for ordinary lines; never allocates. */
bool nginx_scan(const char *line, size_t len, struct nginx_match *m);

/* The plugin's conf: the common parser parameters only. */
struct nginx_conf {
    struct sk_parser_common common;
};

#endif
