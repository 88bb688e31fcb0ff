#include "log/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"

static enum sk_log_level current_level = SK_LOG_INFO;
static FILE *log_file;   /* owned; NULL means stderr */
static char *log_path;   /* owned */

static const char *const level_names[] = {"trace", "debug", "info", "warn", "error", "fatal"};

void sk_log_set_level(enum sk_log_level level)
{
    current_level = level;
}

enum sk_log_level sk_log_get_level(void)
{
    return current_level;
}

int sk_log_level_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const char *sk_log_level_name(enum sk_log_level level)
{
    if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0])) {
        return "?";
    }
    return level_names[level];
}

int sk_log_open(const char *path)
{
    FILE *f = fopen(path, "a");
    char *copy;

    if (f == NULL) {
        return sk_err_from_errno(errno);
    }
    copy = sk_strdup(path);
    if (copy == NULL) {
        fclose(f);
        return SK_ENOMEM;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    sk_log_close();
    log_file = f;
    log_path = copy;
    return 0;
}

int sk_log_reopen(void)
{
    FILE *f;

    if (log_path == NULL) {
        return 0;
    }
    f = fopen(log_path, "a");
    if (f == NULL) {
        return sk_err_from_errno(errno);
    }
    setvbuf(f, NULL, _IOLBF, 0);
    fclose(log_file);
    log_file = f;
    return 0;
}

void sk_log_close(void)
{
    if (log_file != NULL) {
        fclose(log_file);
    }
    log_file = NULL;
    sk_free(log_path);
    log_path = NULL;
}

static void log_write(enum sk_log_level level, const char *fmt, va_list ap)
{
    FILE *out = log_file != NULL ? log_file : stderr;
    char stamp[64];
    struct tm tm;
    time_t now = time(NULL);

    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S %z", &tm);
    flockfile(out);
    fprintf(out, "%s [%s]: ", stamp, sk_log_level_name(level));
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    funlockfile(out);
}

void sk_log(enum sk_log_level level, const char *fmt, ...)
{
    va_list ap;
    int saved = errno;

    if (level < current_level) {
        return;
    }
    va_start(ap, fmt);
    log_write(level, fmt, ap);
    va_end(ap);
    errno = saved;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sk_log_limited(struct sk_log_limit *lim, enum sk_log_level level, const char *fmt, ...)
{
    va_list ap;
    int64_t now;

    if (level < current_level) {
        return;
    }
    now = monotonic_ms();
    if (now - lim->window_start_ms >= (int64_t)lim->interval_ms) {
        if (lim->suppressed > 0) {
            sk_log(level, "(%lu similar messages suppressed in the last %u ms)", lim->suppressed,
                   lim->interval_ms);
        }
        lim->window_start_ms = now;
        lim->emitted = 0;
        lim->suppressed = 0;
    }
    if (lim->emitted >= lim->burst) {
        lim->suppressed++;
        return;
    }
    lim->emitted++;
    va_start(ap, fmt);
    log_write(level, fmt, ap);
    va_end(ap);
}
