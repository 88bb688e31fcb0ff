/*
 * Guess mode: what Fluentd does with a time field when no time_format is
 * set (Fluent::EventTime.parse, i.e. Ruby's Time.parse). Time.parse is a
 * large heuristic; skiff accepts the layouts that appear in logs: ISO 8601
 * / RFC 3339 (with 'T' or a blank, optional seconds fraction and zone),
 * nginx/Apache CLF, RFC 2822, ctime, syslog (current year) and
 * "YYYY/MM/DD hh:mm:ss". Anything else is SK_EPARSE where Ruby might
 * still have found a date.
 */
#include "timefmt/timefmt_int.h"

#include <string.h>

#include "util/alloc.h"

static const char *const candidates[] = {
    "%d/%b/%Y:%H:%M:%S %z",
    "%d/%b/%Y:%H:%M:%S",
    "%a, %d %b %Y %H:%M:%S %Z",
    "%a, %d %b %Y %H:%M:%S",
    "%d %b %Y %H:%M:%S %Z",
    "%d %b %Y %H:%M:%S",
    "%a %b %d %H:%M:%S %Z %Y",
    "%a %b %d %H:%M:%S %Y",
    "%b %d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S.%N %Z",
    "%Y/%m/%d %H:%M:%S.%N",
    "%Y/%m/%d %H:%M:%S %Z",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M:%S.%N %Z",
    "%Y-%m-%d %H:%M:%S.%N",
    "%Y-%m-%d %H:%M:%S %Z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
};

#define NCANDIDATES (sizeof(candidates) / sizeof(candidates[0]))

int tf_guess_init(struct sk_timefmt *f)
{
    f->guess = sk_calloc(NCANDIDATES, sizeof(*f->guess));
    if (f->guess == NULL) {
        return SK_ENOMEM;
    }
    for (size_t i = 0; i < NCANDIDATES; i++) {
        int rc = tf_compile(candidates[i], &f->guess[f->nguess]);

        if (rc < 0) {
            return rc;
        }
        f->nguess++;
    }
    return 0;
}

static bool only_blanks(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            return false;
        }
    }
    return true;
}

int tf_guess_parse(struct sk_timefmt *f, const char *s, size_t len, struct sk_time *out)
{
    struct tf_fields fl;
    size_t first = 0;
    bool digit_first;
    long n;

    while (first < len && (s[first] == ' ' || s[first] == '\t')) {
        first++;
    }
    digit_first = first < len && s[first] >= '0' && s[first] <= '9';
    memset(&fl, 0, sizeof(fl));
    fl.ampm = -1;
    n = tf_run_iso8601(s, len, &fl);
    if (n >= 0 && only_blanks(s + n, len - (size_t)n)) {
        return tf_fields_to_time(f, &fl, out);
    }
    for (size_t i = 0; i < f->nguess; i++) {
        uint8_t op = f->guess[i].items[0].op;

        if ((op == TF_MONN || op == TF_WDAYN) == digit_first) {
            continue; /* a name cannot start with a digit, nor a number with a letter */
        }
        memset(&fl, 0, sizeof(fl));
        fl.ampm = -1;
        n = tf_run(&f->guess[i], s, len, &fl);
        if (n >= 0 && only_blanks(s + n, len - (size_t)n)) {
            return tf_fields_to_time(f, &fl, out);
        }
    }
    return SK_EPARSE;
}
