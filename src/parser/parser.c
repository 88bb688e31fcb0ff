/*
 * The parameters every parser shares and their compilation: the time
 * parser, `types` converters and null rules, with Fluentd's configure-time
 * rules (parser.rb, time.rb, parser_json.rb).
 */
#include "parser/parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "parser/parser_int.h"
#include "timefmt/timefmt.h"
#include "util/alloc.h"

static const char *const time_type_names[] = {"string", "unixtime", "float", NULL};

#define COMMON(field) offsetof(struct sk_parser_common, field)

const struct sk_param_def sk_parser_common_params[] = {
    {.name = "time_key", .type = SK_PARAM_STRING, .offset = COMMON(time_key),
     .desc = "Field holding the event time (the parser's default when unset)."},
    {.name = "time_format", .type = SK_PARAM_STRING, .offset = COMMON(time_format),
     .desc = "strptime format of the time field (the parser's default when unset)."},
    {.name = "time_type", .type = SK_PARAM_ENUM, .def = "string", .choices = time_type_names,
     .offset = COMMON(time_type), .desc = "Time field as text, epoch seconds or float seconds."},
    {.name = "keep_time_key", .type = SK_PARAM_BOOL, .def = "false",
     .offset = COMMON(keep_time_key), .desc = "Keep the time field in the record."},
    {.name = "localtime", .type = SK_PARAM_BOOL, .def = "true", .offset = COMMON(localtime),
     .desc = "Read times without an offset as local time (false: UTC)."},
    {.name = "utc", .type = SK_PARAM_BOOL, .def = "false", .offset = COMMON(utc),
     .desc = "Read times without an offset as UTC."},
    {.name = "timezone", .type = SK_PARAM_STRING, .offset = COMMON(timezone),
     .desc = "Zone for times without an offset: +09:00, +0900 or Region/City."},
    {.name = "estimate_current_event", .type = SK_PARAM_BOOL, .def = "true",
     .offset = COMMON(estimate_current_event),
     .desc = "Use the current time when the record has no time field."},
    {.name = "types", .type = SK_PARAM_HASH, .offset = COMMON(types),
     .desc = "Value conversions, e.g. code:integer,size:integer."},
    {.name = "null_value_pattern", .type = SK_PARAM_STRING, .offset = COMMON(null_value_pattern),
     .desc = "Values matching this regexp become null."},
    {.name = "null_empty_string", .type = SK_PARAM_BOOL, .def = "false",
     .offset = COMMON(null_empty_string), .desc = "Empty values become null."},
    SK_PARAM_END,
};

static void cfg_error(struct sk_diag *d, const struct sk_conf_section *sec, const char *fmt, ...)
    SK_PRINTF(3, 4);

static void cfg_error(struct sk_diag *d, const struct sk_conf_section *sec, const char *fmt, ...)
{
    char msg[512];
    char where[128];
    va_list ap;

    if (d == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (sec != NULL) {
        snprintf(where, sizeof(where), "<%s%s%s>", sec->name, sec->arg ? " " : "",
                 sec->arg ? sec->arg : "");
    }
    sk_diag_add(d, SK_DIAG_ERROR, sec ? sec->file : NULL, sec ? sec->line : 0,
                sec ? where : NULL, "%s", msg);
}

static bool has_param(const struct sk_conf_section *sec, const char *key)
{
    for (size_t i = 0; sec != NULL && i < sec->nparams; i++) {
        if (strcmp(sec->params[i].key, key) == 0) {
            return true;
        }
    }
    return false;
}

/* Fluentd's json parser: `time_type ||= 'string'` when time_format is given,
 * float otherwise; every other parser defaults to string. */
static int effective_time_type(const struct sk_parser_common *c,
                               const struct sk_parser_defaults *defs,
                               const struct sk_conf_section *sec)
{
    bool given = sec != NULL ? has_param(sec, "time_type") : c->time_type != SK_TIME_TYPE_STRING;

    if (given) {
        return c->time_type;
    }
    if (defs->time_type == SK_TIME_TYPE_FLOAT && c->time_format != NULL) {
        return SK_TIME_TYPE_STRING;
    }
    return defs->time_type;
}

/*
 * Fluentd's time_parser_create for a string type: the zone is the
 * timezone, else local time unless utc (or localtime false); a missing
 * format (Time.parse) cannot take a zone.
 */
static int make_time_parser(struct sk_timefmt **out, const struct sk_parser_common *c,
                            const char *format, const char *timezone,
                            const struct sk_conf_section *sec, struct sk_diag *d)
{
    bool local = c->localtime && !c->utc && timezone == NULL;
    const char *zone = timezone != NULL ? timezone : local ? NULL : "UTC";
    int err = 0;

    if (format == NULL && !local) {
        cfg_error(d, sec, "specifying timezone requires time format");
        return SK_ECONFIG;
    }
    *out = sk_timefmt_create(format, zone, &err);
    if (*out == NULL) {
        if (err == SK_ENOMEM) {
            return err;
        }
        if (timezone != NULL) {
            cfg_error(d, sec, "Unsupported timezone '%s'", timezone);
        } else {
            cfg_error(d, sec, "invalid time format '%s'", format ? format : "");
        }
        return SK_ECONFIG;
    }
    return 0;
}

/* Fluent::Timezone.validate: [+-]HH[[:]MM] or Region/Zone[/Zone] that
 * exists in the zone database. */
static bool fluent_zone_valid(const char *s)
{
    size_t len = strlen(s);
    int off;
    size_t slashes = 0;
    struct sk_timefmt *f;
    int err;

    if (len >= 3 && (s[0] == '+' || s[0] == '-')) {
        bool digits = s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9';

        return digits && (len == 3 || len == 5 || (len == 6 && s[3] == ':')) &&
               sk_tz_parse_offset(s, &off) == 0;
    }
    for (size_t i = 0; i < len; i++) {
        slashes += s[i] == '/';
    }
    if (slashes < 1 || slashes > 2 || s[0] == '/' || s[len - 1] == '/' ||
        strstr(s, "//") != NULL) {
        return false;
    }
    f = sk_timefmt_create("%Y", s, &err);
    sk_timefmt_destroy(f);
    return f != NULL;
}

/*
 * `time[:option]` in types (Fluentd build_type_converters): option is
 * "timezone:format" when its head is a valid zone, else the format; a
 * format of "unixtime"/"float"/"string" is a time type instead. So
 * "+09:00:%H" reads as zone "+09" and format "00:%H", as in Fluentd.
 */
static int build_time_conv(struct sk_parser_conv *cv, const struct sk_parser_common *c,
                           const char *option, const struct sk_conf_section *sec,
                           struct sk_diag *d)
{
    char *zone = NULL;
    const char *format = NULL;
    const char *colon = option != NULL ? strchr(option, ':') : NULL;
    int rc;

    cv->time_type = SK_TIME_TYPE_STRING;
    if (option != NULL) {
        zone = sk_strndup(option, colon != NULL ? (size_t)(colon - option) : strlen(option));
        if (zone == NULL) {
            return SK_ENOMEM;
        }
        format = colon != NULL ? colon + 1 : NULL;
        if (!fluent_zone_valid(zone)) {
            sk_free(zone);
            zone = NULL;
            format = option;
        }
        for (int i = 0; format != NULL && time_type_names[i] != NULL; i++) {
            if (strcmp(format, time_type_names[i]) == 0) {
                cv->time_type = i;
                format = NULL;
                break;
            }
        }
    }
    rc = cv->time_type != SK_TIME_TYPE_STRING
             ? 0
             : make_time_parser(&cv->timefmt, c, format, zone, sec, d);
    sk_free(zone);
    return rc;
}

static int build_conv(struct sk_parser_conv *cv, const struct sk_parser_common *c,
                      const struct sk_kv *kv, const struct sk_conf_section *sec,
                      struct sk_diag *d)
{
    static const char *const names[] = {"string", "integer", "float", "bool", "time", "array"};
    const char *def = kv->value != NULL ? kv->value : "";
    const char *colon = strchr(def, ':');
    size_t tlen = colon != NULL ? (size_t)(colon - def) : strlen(def);
    const char *option = colon != NULL ? colon + 1 : NULL;

    cv->key = kv->key;
    cv->klen = strlen(kv->key);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == tlen && memcmp(names[i], def, tlen) == 0) {
            cv->type = (enum sk_conv_type)i;
            if (cv->type == SK_CONV_ARRAY) {
                cv->delim = option != NULL ? option : ",";
                cv->dlen = strlen(cv->delim);
            }
            return cv->type == SK_CONV_TIME ? build_time_conv(cv, c, option, sec, d) : 0;
        }
    }
    cfg_error(d, sec, "unknown value conversion for key:'%s', type:'%.*s'", kv->key, (int)tlen,
              def);
    return SK_ECONFIG;
}

static int build_convs(struct sk_parser_core *pc, const struct sk_parser_common *c,
                       const struct sk_conf_section *sec, struct sk_diag *d)
{
    int rc = 0;

    if (c->types.n == 0) {
        return 0;
    }
    pc->convs = sk_calloc(c->types.n, sizeof(*pc->convs));
    if (pc->convs == NULL) {
        return SK_ENOMEM;
    }
    for (size_t i = 0; i < c->types.n; i++) {
        int r = build_conv(&pc->convs[pc->nconvs], c, &c->types.v[i], sec, d);

        if (r == 0 || pc->convs[pc->nconvs].timefmt != NULL) {
            pc->nconvs++; /* keep what must be freed */
        }
        if (r < 0 && rc == 0) {
            rc = r;
        }
    }
    return rc;
}

/* null_value_pattern is a Ruby regexp matched anywhere in the value. */
static int compile_null(struct sk_parser_core *pc, const struct sk_parser_common *c,
                        const struct sk_conf_section *sec, struct sk_diag *d)
{
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re;

    if (c->null_value_pattern == NULL) {
        return 0;
    }
    re = pcre2_compile((PCRE2_SPTR)c->null_value_pattern, PCRE2_ZERO_TERMINATED, 0, &errcode,
                       &erroff, NULL);
    if (re == NULL) {
        PCRE2_UCHAR msg[128];

        pcre2_get_error_message(errcode, msg, sizeof(msg));
        cfg_error(d, sec, "invalid null_value_pattern '%s': %s at offset %zu",
                  c->null_value_pattern, (const char *)msg, (size_t)erroff);
        return SK_ECONFIG;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    pc->null_re = re;
    pc->null_md = pcre2_match_data_create_from_pattern(re, NULL);
    return pc->null_md == NULL ? SK_ENOMEM : 0;
}

int sk_parser_core_init(struct sk_parser_core *pc, const struct sk_parser_common *c,
                        const struct sk_parser_defaults *defs, const struct sk_conf_section *sec,
                        struct sk_diag *d)
{
    int rc = 0;

    memset(pc, 0, sizeof(*pc));
    pc->time_key = c->time_key != NULL ? c->time_key : defs->time_key;
    pc->time_key_len = pc->time_key != NULL ? strlen(pc->time_key) : 0;
    pc->keep_time_key = c->keep_time_key;
    pc->estimate_current_event = c->estimate_current_event;
    pc->null_empty_string = c->null_empty_string;
    pc->time_type = effective_time_type(c, defs, sec);
    if (has_param(sec, "localtime") && has_param(sec, "utc")) {
        cfg_error(d, sec, "both of utc and localtime are specified, use only one of them");
        rc = SK_ECONFIG;
    }
    if (rc == 0 && pc->time_type == SK_TIME_TYPE_STRING) {
        const char *format = c->time_format != NULL ? c->time_format : defs->time_format;

        rc = make_time_parser(&pc->timefmt, c, format, c->timezone, sec, d);
    }
    if (rc == 0) {
        rc = build_convs(pc, c, sec, d);
    }
    if (rc == 0) {
        rc = compile_null(pc, c, sec, d);
    }
    pc->convert = pc->nconvs > 0 || pc->null_re != NULL || pc->null_empty_string;
    return rc;
}

void sk_parser_core_cleanup(struct sk_parser_core *pc)
{
    if (pc == NULL) {
        return;
    }
    for (size_t i = 0; i < pc->nconvs; i++) {
        sk_timefmt_destroy(pc->convs[i].timefmt);
    }
    sk_free(pc->convs);
    sk_timefmt_destroy(pc->timefmt);
    pcre2_match_data_free(pc->null_md);
    pcre2_code_free(pc->null_re);
    memset(pc, 0, sizeof(*pc));
}

bool sk_parser_core_plain(const struct sk_parser_core *pc)
{
    return !pc->convert && !pc->keep_time_key;
}
