/*
 * skiff-bench-gen: writes realistic nginx `combined` access-log lines.
 *
 * Batch mode (default): --lines N lines whose timestamps are spread evenly
 * and monotonically over --days D UTC days from --start, as fast as possible.
 *
 * Live mode (--rate LPS --duration SEC): appends lines to --out at a steady
 * rate, stamped with the current time. Each request path carries
 * "bench_seq=<n>&bench_t=<CLOCK_REALTIME ns>" so the sink can measure the
 * delay from line written to document received (the skiff end-to-end lag).
 *
 * Either way the expected number of lines per daily index is written as JSON
 * to --counts (default FILE.counts, or stderr when writing to stdout):
 *   {"lines":N,"bytes":B,"marked":M,"indices":{"es-log-2018.07.19":N,...}}
 * so a runner can check that every document reached the right index.
 */
#include "bench_util.h"
#include "nginx_model.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GEN_BUF_SIZE (4u << 20)
#define GEN_MAX_DAYS 3660
/* Live mode wakes up this often; 1 ms keeps the per-line send-time error
 * far below the delays being measured (flush intervals of 100 ms and up). */
#define GEN_TICK_NS 1000000

struct gen_opts {
    uint64_t lines;
    uint64_t days;
    uint64_t seed;
    int64_t start;
    const char *out;
    const char *counts;
    const char *prefix;
    uint64_t rate;
    uint64_t duration_s;
    int backslash_quotes;
};

/* Lines per UTC day; day numbers are days since the epoch. */
struct gen_counts {
    int64_t first_day;
    uint64_t per_day[GEN_MAX_DAYS];
    uint64_t lines;
    uint64_t bytes;
    uint64_t marked;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(void)
{
    fputs("usage: skiff-bench-gen --lines N [--days D] [--seed S] [--start YYYY-MM-DD]\n"
          "                       [--out FILE] [--counts FILE] [--prefix es-log]\n"
          "                       [--rate LPS --duration SEC] [--backslash-quotes]\n"
          "  batch mode: N lines spread over D days (UTC) from --start (default 2018-07-19)\n"
          "  live mode:  append LPS lines/s for SEC seconds (and at most N lines if given),\n"
          "              each path carrying bench_seq=<n>&bench_t=<realtime ns>\n",
          stderr);
}

static int parse_args(int argc, char **argv, struct gen_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->days = 1;
    o->seed = 1;
    o->prefix = "es-log";
    if (bench_parse_date("2018-07-19", &o->start) != 0) {
        return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (strcmp(a, "--backslash-quotes") == 0) {
            o->backslash_quotes = 1;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "skiff-bench-gen: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--lines") == 0) {
            rc = bench_parse_u64(v, 0, &o->lines);
        } else if (strcmp(a, "--days") == 0) {
            rc = bench_parse_u64(v, 0, &o->days);
        } else if (strcmp(a, "--seed") == 0) {
            rc = bench_parse_u64(v, 0, &o->seed);
        } else if (strcmp(a, "--start") == 0) {
            rc = bench_parse_date(v, &o->start);
        } else if (strcmp(a, "--out") == 0) {
            o->out = v;
        } else if (strcmp(a, "--counts") == 0) {
            o->counts = v;
        } else if (strcmp(a, "--prefix") == 0) {
            o->prefix = v;
        } else if (strcmp(a, "--rate") == 0) {
            rc = bench_parse_u64(v, 0, &o->rate);
        } else if (strcmp(a, "--duration") == 0) {
            rc = bench_parse_u64(v, 0, &o->duration_s);
        } else {
            rc = -1;
        }
        if (rc != 0) {
            fprintf(stderr, "skiff-bench-gen: bad option or value: %s %s\n", a, v);
            return -1;
        }
    }
    if (o->days < 1 || o->days > GEN_MAX_DAYS - 1) {
        fputs("skiff-bench-gen: --days must be 1..3659\n", stderr);
        return -1;
    }
    if (o->rate == 0 && o->lines == 0) {
        fputs("skiff-bench-gen: give --lines N, or --rate and --duration\n", stderr);
        return -1;
    }
    if ((o->rate == 0) != (o->duration_s == 0)) {
        fputs("skiff-bench-gen: --rate and --duration go together\n", stderr);
        return -1;
    }
    return 0;
}

static void count_line(struct gen_counts *c, int64_t t, size_t len)
{
    int64_t day = t / 86400 - c->first_day;
    if (day >= 0 && day < GEN_MAX_DAYS) {
        c->per_day[day]++;
    }
    c->lines++;
    c->bytes += len;
}

/* Writes the counts JSON to path (atomically) or to stderr when path is NULL. */
static int write_counts(const struct gen_counts *c, const char *prefix, const char *path)
{
    size_t cap = 256 + GEN_MAX_DAYS * (strlen(prefix) + 40);
    char *buf = malloc(cap);
    if (buf == NULL) {
        return -1;
    }
    int n = snprintf(buf, cap, "{\"lines\":%llu,\"bytes\":%llu,\"marked\":%llu,\"indices\":{",
                     (unsigned long long)c->lines, (unsigned long long)c->bytes,
                     (unsigned long long)c->marked);
    size_t len = (size_t)n;
    const char *sep = "";
    for (int64_t d = 0; d < GEN_MAX_DAYS; d++) {
        if (c->per_day[d] == 0) {
            continue;
        }
        char name[256];
        if (bench_index_name(name, sizeof(name), prefix, (c->first_day + d) * 86400) == 0) {
            free(buf);
            return -1;
        }
        n = snprintf(buf + len, cap - len, "%s\"%s\":%llu", sep, name,
                     (unsigned long long)c->per_day[d]);
        len += (size_t)n;
        sep = ",";
    }
    n = snprintf(buf + len, cap - len, "}}\n");
    len += (size_t)n;
    int rc;
    if (path == NULL) {
        rc = bench_write_all(2, buf, len);
    } else {
        rc = bench_write_file_atomic(path, buf, len);
    }
    free(buf);
    return rc;
}

/* Batch mode: timestamps go from start to start + days, second i*span/N. */
static int run_batch(const struct gen_opts *o, struct nx_model *m, int fd, struct gen_counts *c,
                     char *buf)
{
    const uint64_t span = o->days * 86400;
    size_t used = 0;
    int64_t cached_t = -1;
    char tl[NX_TIME_LOCAL_LEN];
    struct nx_record rec;
    c->first_day = o->start / 86400;
    for (uint64_t i = 0; i < o->lines; i++) {
        int64_t t = o->start + (int64_t)(i * span / o->lines);
        if (t != cached_t) {
            nx_format_time_local(tl, t);
            cached_t = t;
        }
        nx_model_next(m, &rec);
        size_t n = nx_format_line(&rec, tl, NULL, 0, buf + used);
        count_line(c, t, n);
        used += n;
        if (GEN_BUF_SIZE - used < NX_LINE_MAX) {
            if (bench_write_all(fd, buf, used) != 0) {
                return -1;
            }
            used = 0;
        }
    }
    return bench_write_all(fd, buf, used);
}

static void sleep_until(int64_t mono_ns)
{
    struct timespec ts = {.tv_sec = mono_ns / 1000000000, .tv_nsec = mono_ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        if (stop_requested) {
            return;
        }
    }
}

/* Live mode: every tick, write the lines that are due so far in one write(),
 * all stamped with the time just before formatting them. */
static int run_live(const struct gen_opts *o, struct nx_model *m, int fd, struct gen_counts *c,
                    char *buf)
{
    const int64_t t0 = bench_mono_ns();
    const int64_t end = t0 + (int64_t)o->duration_s * 1000000000;
    const uint64_t max_lines = o->lines ? o->lines : UINT64_MAX;
    const size_t max_batch = GEN_BUF_SIZE / NX_LINE_MAX;
    c->first_day = bench_real_ns() / 1000000000 / 86400;
    uint64_t seq = 0;
    int64_t next_tick = t0;
    struct nx_record rec;
    char tl[NX_TIME_LOCAL_LEN];
    while (!stop_requested && seq < max_lines) {
        int64_t now = bench_mono_ns();
        if (now >= end) {
            break;
        }
        uint64_t due = (uint64_t)((double)(now - t0) * (double)o->rate / 1e9);
        if (due > max_lines) {
            due = max_lines;
        }
        size_t used = 0;
        int64_t real = bench_real_ns();
        int64_t t = real / 1000000000;
        nx_format_time_local(tl, t);
        while (seq < due && used / NX_LINE_MAX < max_batch - 1) {
            char mark[80];
            size_t ml = 0;
            memcpy(mark, "bench_seq=", 10);
            ml = 10 + bench_fmt_u64(mark + 10, seq);
            memcpy(mark + ml, "&bench_t=", 9);
            ml += 9;
            ml += bench_fmt_u64(mark + ml, (uint64_t)real);
            nx_model_next(m, &rec);
            size_t n = nx_format_line(&rec, tl, mark, ml, buf + used);
            count_line(c, t, n);
            c->marked += rec.proto != NULL;
            used += n;
            seq++;
        }
        if (used > 0 && bench_write_all(fd, buf, used) != 0) {
            return -1;
        }
        next_tick += GEN_TICK_NS;
        if (next_tick < now) {
            next_tick = now; /* we fell behind; do not try to catch up in a burst of ticks */
        }
        sleep_until(next_tick);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct gen_opts o;
    struct nx_model model;
    struct gen_counts *counts = NULL;
    char *buf = NULL;
    int fd = 1;
    int rc = 1;
    char tmp_path[4096] = "";

    memset(&model, 0, sizeof(model));
    if (parse_args(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    counts = calloc(1, sizeof(*counts));
    buf = malloc(GEN_BUF_SIZE);
    if (counts == NULL || buf == NULL || nx_model_init(&model, o.seed, o.backslash_quotes) != 0) {
        fputs("skiff-bench-gen: out of memory\n", stderr);
        goto cleanup;
    }
    if (o.out != NULL) {
        /* A batch file is written under a temporary name and renamed at the
         * end, so a cached benchmark input is never half written. */
        const char *path = o.out;
        struct stat st;
        if (o.rate == 0 && (stat(o.out, &st) != 0 || S_ISREG(st.st_mode))) {
            snprintf(tmp_path, sizeof(tmp_path), "%s.tmp.%ld", o.out, (long)getpid());
            path = tmp_path;
        }
        int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (o.rate ? O_APPEND : O_TRUNC);
        fd = open(path, flags, 0644);
        if (fd < 0) {
            fprintf(stderr, "skiff-bench-gen: %s: %s\n", path, strerror(errno));
            goto cleanup;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int64_t t0 = bench_mono_ns();
    int wrc = o.rate ? run_live(&o, &model, fd, counts, buf) : run_batch(&o, &model, fd, counts, buf);
    if (wrc != 0) {
        fprintf(stderr, "skiff-bench-gen: write: %s\n", strerror(errno));
        goto cleanup;
    }
    if (tmp_path[0] != '\0') {
        int crc = close(fd);
        fd = -1;
        if (crc != 0 || rename(tmp_path, o.out) != 0) {
            fprintf(stderr, "skiff-bench-gen: %s: %s\n", o.out, strerror(errno));
            goto cleanup;
        }
        tmp_path[0] = '\0';
    }
    double secs = (double)(bench_mono_ns() - t0) / 1e9;

    char counts_path[4096];
    const char *cp = o.counts;
    if (cp == NULL && o.out != NULL) {
        snprintf(counts_path, sizeof(counts_path), "%s.counts", o.out);
        cp = counts_path;
    }
    if (write_counts(counts, o.prefix, cp) != 0) {
        fprintf(stderr, "skiff-bench-gen: counts: %s\n", strerror(errno));
        goto cleanup;
    }
    fprintf(stderr, "skiff-bench-gen: %llu lines, %.1f MB in %.3f s (%.0f lines/s, %.0f MB/s)\n",
            (unsigned long long)counts->lines, (double)counts->bytes / 1e6, secs,
            (double)counts->lines / secs, (double)counts->bytes / 1e6 / secs);
    rc = 0;

cleanup:
    if (fd > 2 && close(fd) != 0 && rc == 0) {
        fprintf(stderr, "skiff-bench-gen: close: %s\n", strerror(errno));
        rc = 1;
    }
    if (tmp_path[0] != '\0') {
        unlink(tmp_path);
    }
    nx_model_cleanup(&model);
    free(buf);
    free(counts);
    return rc;
}
