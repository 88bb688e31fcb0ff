/*
 * Zone tables for local time and IANA zones.
 *
 * glibc has no "localtime in zone X" call and mktime per line is slow, so
 * a zone is sampled once into a table of offset periods (see struct sk_tz)
 * and every later conversion is a lookup. Sampling walks 1900..2100 a day
 * at a time with localtime_r and bisects each change of tm_gmtoff down to
 * the second: about 73,000 calls, a few milliseconds, once per zone and
 * process. Two changes less than a day apart that cancel out would be
 * missed; tzdata has none since 1900 that matter for log timestamps.
 * Before 1900 the first offset applies, after 2100 the last.
 *
 * An IANA zone is sampled with TZ set to its name, then TZ is restored.
 * That touches the environment, so it happens only inside
 * sk_timefmt_create (configuration time, one thread) under a lock; the
 * name is checked against the zoneinfo files first because glibc silently
 * treats an unknown TZ as UTC.
 */
#include "timefmt/timefmt_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"

#define SCAN_FROM (-2208988800LL) /* 1900-01-01T00:00:00Z */
#define SCAN_TO (4102444800LL)    /* 2100-01-01T00:00:00Z */
#define SCAN_STEP 86400

static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sk_tz *zones; /* built tables, never freed */

static int32_t sample(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (localtime_r(&tt, &tm) == NULL) {
        return 0;
    }
    return (int32_t)tm.tm_gmtoff;
}

/* Growable period arrays while sampling. */
struct builder {
    int64_t *start;
    int32_t *off;
    size_t n;
    size_t cap;
};

static int push(struct builder *b, int64_t start, int32_t off)
{
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 64;
        int64_t *s = sk_realloc(b->start, ncap * sizeof(*s));
        int32_t *o;

        if (s == NULL) {
            return SK_ENOMEM;
        }
        b->start = s;
        o = sk_realloc(b->off, ncap * sizeof(*o));
        if (o == NULL) {
            return SK_ENOMEM;
        }
        b->off = o;
        b->cap = ncap;
    }
    b->start[b->n] = start;
    b->off[b->n] = off;
    b->n++;
    return 0;
}

/* First second in (lo, hi] whose offset is not off_lo (one exists). */
static int64_t bisect(int64_t lo, int64_t hi, int32_t off_lo)
{
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;

        if (sample(mid) == off_lo) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return hi;
}

/* Samples the current TZ into b. */
static int sample_zone(struct builder *b)
{
    int64_t prev = SCAN_FROM;
    int32_t prev_off = sample(SCAN_FROM);
    int rc = push(b, INT64_MIN, prev_off);

    for (int64_t t = SCAN_FROM + SCAN_STEP; rc == 0 && t <= SCAN_TO; t += SCAN_STEP) {
        int32_t o = sample(t);

        while (rc == 0 && o != prev_off) {
            int64_t at = bisect(prev, t, prev_off);

            prev_off = sample(at);
            prev = at;
            rc = push(b, at, prev_off);
        }
        prev = t;
    }
    return rc;
}

static struct sk_tz *finish(struct builder *b, const char *name)
{
    struct sk_tz *z = sk_calloc(1, sizeof(*z));

    if (z == NULL) {
        return NULL;
    }
    z->wall_lo = sk_malloc(b->n * sizeof(*z->wall_lo));
    z->name = name != NULL ? sk_strdup(name) : NULL;
    if (z->wall_lo == NULL || (name != NULL && z->name == NULL)) {
        sk_free(z->wall_lo);
        sk_free(z->name);
        sk_free(z);
        return NULL;
    }
    z->n = b->n;
    z->start = b->start;
    z->off = b->off;
    z->wall_lo[0] = INT64_MIN;
    for (size_t i = 1; i < z->n; i++) {
        int32_t hi = z->off[i - 1] > z->off[i] ? z->off[i - 1] : z->off[i];

        z->wall_lo[i] = z->start[i] + hi;
    }
    b->start = NULL;
    b->off = NULL;
    return z;
}

/* Accepts names that can only be files under the zoneinfo directory. */
static bool zone_name_ok(const char *name)
{
    if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL || strlen(name) > 200) {
        return false;
    }
    for (const char *p = name; *p != '\0'; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '/' || *p == '_' || *p == '-' || *p == '+')) {
            return false;
        }
    }
    return true;
}

static bool zone_file_exists(const char *name)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    char magic[4];
    FILE *fp;
    bool ok;

    snprintf(path, sizeof(path), "%s/%s", dir != NULL && dir[0] != '\0' ? dir :
             "/usr/share/zoneinfo", name);
    fp = fopen(path, "rb");
    if (fp == NULL) {
        return false;
    }
    ok = fread(magic, 1, sizeof(magic), fp) == sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
    fclose(fp);
    return ok;
}

/* Samples zone `name` with TZ switched to it; restores TZ. */
static int sample_named(struct builder *b, const char *name)
{
    const char *cur = getenv("TZ");
    char *saved = cur != NULL ? sk_strdup(cur) : NULL;
    int rc;

    if (cur != NULL && saved == NULL) {
        return SK_ENOMEM;
    }
    if (setenv("TZ", name, 1) != 0) {
        sk_free(saved);
        return SK_ENOMEM;
    }
    tzset();
    rc = sample_zone(b);
    if (saved != NULL) {
        rc = setenv("TZ", saved, 1) != 0 && rc == 0 ? SK_ENOMEM : rc;
    } else {
        unsetenv("TZ");
    }
    tzset();
    sk_free(saved);
    return rc;
}

static struct sk_tz *find(const char *name)
{
    for (struct sk_tz *z = zones; z != NULL; z = z->next) {
        if ((name == NULL && z->name == NULL) ||
            (name != NULL && z->name != NULL && strcmp(name, z->name) == 0)) {
            return z;
        }
    }
    return NULL;
}

static struct sk_tz *build(const char *name, int *err)
{
    struct builder b = {0};
    struct sk_tz *z = NULL;
    int rc;

    if (name != NULL && (!zone_name_ok(name) || !zone_file_exists(name))) {
        *err = SK_EINVAL;
        return NULL;
    }
    rc = name != NULL ? sample_named(&b, name) : sample_zone(&b);
    if (rc == 0) {
        z = finish(&b, name);
        rc = z == NULL ? SK_ENOMEM : 0;
    }
    sk_free(b.start);
    sk_free(b.off);
    *err = rc;
    return z;
}

const struct sk_tz *tf_tz_get(const char *name, int *err)
{
    struct sk_tz *z;

    pthread_mutex_lock(&zone_lock);
    z = find(name);
    if (z == NULL) {
        z = build(name, err);
        if (z != NULL) {
            z->next = zones;
            zones = z;
        }
    }
    pthread_mutex_unlock(&zone_lock);
    return z;
}

/* Largest i with key[i] <= v (key[0] is INT64_MIN, so one exists). */
static size_t search(const int64_t *key, size_t n, int64_t v)
{
    size_t lo = 0;
    size_t hi = n;

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (key[mid] <= v) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int32_t tf_tz_offset_at(const struct sk_tz *z, int64_t t)
{
    return z->off[search(z->start, z->n, t)];
}

int32_t tf_tz_wall_offset(const struct sk_tz *z, int64_t wall, struct tf_wall_cache *wc)
{
    size_t i;

    if (wall >= wc->lo && wall < wc->hi) {
        return wc->off;
    }
    i = search(z->wall_lo, z->n, wall);
    wc->lo = z->wall_lo[i];
    wc->hi = i + 1 < z->n ? z->wall_lo[i + 1] : INT64_MAX;
    wc->off = z->off[i];
    return wc->off;
}
