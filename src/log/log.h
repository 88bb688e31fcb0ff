#ifndef SK_LOG_LOG_H
#define SK_LOG_LOG_H

#include <stdint.h>

#include "util/err.h"

/* skiff's own log, shaped like Fluentd's: "2024-05-01 12:00:00 +0000 [warn]: msg". */
enum sk_log_level {
    SK_LOG_TRACE = 0,
    SK_LOG_DEBUG,
    SK_LOG_INFO,
    SK_LOG_WARN,
    SK_LOG_ERROR,
    SK_LOG_FATAL,
};

/* Writes to stderr until sk_log_open() names a file. */
void sk_log_set_level(enum sk_log_level level);
enum sk_log_level sk_log_get_level(void);

/* Opens (or, on SIGHUP, reopens) the log file. Returns 0 or an SK_E* code;
 * on failure logging continues where it was. */
int sk_log_open(const char *path) SK_WUR;
int sk_log_reopen(void) SK_WUR;
void sk_log_close(void);

/* Parses "trace".."fatal"; returns the level or -1. */
int sk_log_level_parse(const char *name);
const char *sk_log_level_name(enum sk_log_level level);

void sk_log(enum sk_log_level level, const char *fmt, ...) SK_PRINTF(2, 3);

/*
 * Rate limiting for messages that can repeat per record (rejected documents,
 * unmatched lines): at most `burst` messages per `interval_ms`, then one
 * summary of how many were suppressed. State lives in the caller.
 */
struct sk_log_limit {
    int64_t window_start_ms;
    unsigned int interval_ms;
    unsigned int burst;
    unsigned int emitted;
    unsigned long suppressed;
};

#define SK_LOG_LIMIT_INIT(interval_ms, burst) { 0, (interval_ms), (burst), 0, 0 }

void sk_log_limited(struct sk_log_limit *lim, enum sk_log_level level, const char *fmt, ...)
    SK_PRINTF(3, 4);

#define sk_trace(...) sk_log(SK_LOG_TRACE, __VA_ARGS__)
#define sk_debug(...) sk_log(SK_LOG_DEBUG, __VA_ARGS__)
#define sk_info(...) sk_log(SK_LOG_INFO, __VA_ARGS__)
#define sk_warn(...) sk_log(SK_LOG_WARN, __VA_ARGS__)
#define sk_error(...) sk_log(SK_LOG_ERROR, __VA_ARGS__)

#endif
