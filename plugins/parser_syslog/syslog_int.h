#ifndef SK_PARSER_SYSLOG_SYSLOG_INT_H
#define SK_PARSER_SYSLOG_SYSLOG_INT_H

/*
 * parser_syslog internals: the conf, the compiled state, and the record
 * the readers fill. Fluentd's SyslogParser (parser_syslog.rb, v1.12+) has
 * two engines per format that give the same record on well-formed lines
 * and their own answers on odd ones, both kept here:
 *
 *   regexp (default)  the time is cut by counting the time format's
 *                     blanks, then host/ident/pid/... come from Fluentd's
 *                     regexps (run by PCRE2) searched after it
 *   string            Fluentd's hand-written index/slice walk
 *
 * Records carry only what Fluentd puts there: pri (integer) first with
 * the regexp engine, after host with the string engine; the time text
 * only with keep_time_key; no `types` or null rules (Fluentd's syslog
 * parser does not run convert_values).
 */
#include <stdbool.h>
#include <stdint.h>

#include "parser/parser.h"
#include "parser/ruby_regex.h"
#include "util/buf.h"

enum syslog_format {
    SYSLOG_RFC3164,
    SYSLOG_RFC5424,
    SYSLOG_AUTO,
};

enum syslog_engine {
    SYSLOG_REGEXP,
    SYSLOG_STRING,
};

struct syslog_conf {
    struct sk_parser_common common;
    bool with_priority;
    int message_format; /* enum syslog_format */
    char *rfc5424_time_format;
    int parser_engine;  /* enum syslog_engine */
    bool support_colonless_ident;
};

enum syslog_kind {
    SL_STR,
    SL_INT,
    SL_NIL,
};

struct syslog_field {
    const char *key;
    enum syslog_kind kind;
    const char *v; /* SL_STR: into the line or a ctx buffer */
    size_t len;
    int64_t i;     /* SL_INT */
};

#define SYSLOG_MAX_FIELDS 10

struct syslog_record {
    struct syslog_field f[SYSLOG_MAX_FIELDS];
    size_t n;
    struct sk_time t;
};

struct sk_timefmt;

/* Time parsing for one format family. */
struct syslog_time {
    struct sk_timefmt *tf;        /* owned */
    struct sk_timefmt *fallback;  /* owned: rfc5424 without subseconds, or NULL */
    int spaces;                   /* blanks to count: squeezed format's blanks + 1 */
    bool skip;                    /* the string engine's fixed-width shortcut applies */
};

struct syslog_ctx {
    struct sk_parser_core core; /* validation of the common parameters */
    const struct syslog_conf *conf;
    struct syslog_time t3164;
    struct syslog_time t5424;
    struct sk_ruby_regex re3164;   /* RFC3164_WITHOUT_TIME_AND_PRI_REGEXP */
    struct sk_ruby_regex re5424;   /* RFC5424_WITHOUT_TIME_AND_PRI_REGEXP */
    struct sk_ruby_regex pri5424;  /* RFC5424_PRI_REGEXP */
    struct sk_ruby_regex detect;   /* REGEXP_DETECT_RFC5424 */
    struct sk_buf timebuf;         /* squeezed time text */
    struct sk_buf edbuf;           /* extradata without backslashes */
};

/* syslog_scan.c: the four readers. Each fills r and returns 0, or
 * SK_EPARSE where Fluentd yields nil or raises; SK_ENOMEM. */
int syslog_rfc3164_regexp(struct syslog_ctx *ctx, const char *s, size_t len,
                          struct syslog_record *r) SK_WUR;
int syslog_rfc5424_regexp(struct syslog_ctx *ctx, const char *s, size_t len,
                          struct syslog_record *r) SK_WUR;
int syslog_rfc3164_string(struct syslog_ctx *ctx, const char *s, size_t len,
                          struct syslog_record *r) SK_WUR;
int syslog_rfc5424_string(struct syslog_ctx *ctx, const char *s, size_t len,
                          struct syslog_record *r) SK_WUR;

#endif
