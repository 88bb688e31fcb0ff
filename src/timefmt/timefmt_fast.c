/*
 * Fast paths for the layouts logs use most. Each accepts only text of the
 * exact canonical shape and otherwise answers "not mine", so the
 * interpreter (timefmt_scan.c) keeps deciding every unusual case; the unit
 * tests check both give the same instants on random and mutated text.
 */
#include "timefmt/timefmt_int.h"

#include <string.h>

#define CLF_LEN 26 /* "10/Oct/2000:13:55:36 -0700" */

static int two(const char *p)
{
    unsigned a = (unsigned char)(p[0] - '0');
    unsigned b = (unsigned char)(p[1] - '0');

    return a <= 9 && b <= 9 ? (int)(a * 10 + b) : -1;
}

/* Exact-case month abbreviation, or 0. */
static int month3(const char *p)
{
    switch ((unsigned)(unsigned char)p[0] << 16 | (unsigned)(unsigned char)p[1] << 8 |
            (unsigned char)p[2]) {
    case 'J' << 16 | 'a' << 8 | 'n': return 1;
    case 'F' << 16 | 'e' << 8 | 'b': return 2;
    case 'M' << 16 | 'a' << 8 | 'r': return 3;
    case 'A' << 16 | 'p' << 8 | 'r': return 4;
    case 'M' << 16 | 'a' << 8 | 'y': return 5;
    case 'J' << 16 | 'u' << 8 | 'n': return 6;
    case 'J' << 16 | 'u' << 8 | 'l': return 7;
    case 'A' << 16 | 'u' << 8 | 'g': return 8;
    case 'S' << 16 | 'e' << 8 | 'p': return 9;
    case 'O' << 16 | 'c' << 8 | 't': return 10;
    case 'N' << 16 | 'o' << 8 | 'v': return 11;
    case 'D' << 16 | 'e' << 8 | 'c': return 12;
    default: return 0;
    }
}

int tf_fast_clf(const char *s, size_t len, struct sk_time *out)
{
    int d, mon, yh, yl, h, mi, sec, zh, zm;
    int32_t off;

    if (len != CLF_LEN || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' ||
        s[17] != ':' || s[20] != ' ' || (s[21] != '+' && s[21] != '-')) {
        return 0;
    }
    d = two(s);
    mon = month3(s + 3);
    yh = two(s + 7);
    yl = two(s + 9);
    h = two(s + 12);
    mi = two(s + 15);
    sec = two(s + 18);
    zh = two(s + 22);
    zm = two(s + 24);
    if (d < 1 || d > 31 || mon == 0 || yh < 0 || yl < 0 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || sec < 0 || sec > 60 || zh < 0 || zm < 0) {
        return 0;
    }
    off = (zh * 60 + zm) * 60;
    if (s[21] == '-') {
        off = -off;
    }
    out->sec = tf_days_from_civil(yh * 100 + yl, mon, d) * 86400 + h * 3600 + mi * 60 + sec -
               off;
    out->nsec = 0;
    return 1;
}

/* --- "%Y-%m-%dT%H:%M:%S[.%N][%z]" and relatives ---------------------------- */

static bool is_op(const struct tf_prog *p, size_t i, enum tf_op op)
{
    return i < p->n && p->items[i].op == op;
}

static bool lit_is(const struct tf_prog *p, size_t i, char *c)
{
    return i < p->n && tf_item_char(p, &p->items[i], c);
}

/* The date and time part: YEAR a MON b MDAY c HOUR : MIN : SEC. */
static bool date_time_shape(const struct tf_prog *p, struct tf_shape *sh)
{
    char colon1;
    char colon2;

    if (!is_op(p, 0, TF_YEAR) || !lit_is(p, 1, &sh->sep[0]) || !is_op(p, 2, TF_MON) ||
        !lit_is(p, 3, &sh->sep[1]) || !is_op(p, 4, TF_MDAY)) {
        return false;
    }
    if (is_op(p, 5, TF_WS)) {
        sh->blank_day = true;
        sh->sep[2] = ' ';
    } else if (!lit_is(p, 5, &sh->sep[2])) {
        return false;
    }
    return is_op(p, 6, TF_HOUR) && lit_is(p, 7, &colon1) && colon1 == ':' &&
           is_op(p, 8, TF_MIN) && lit_is(p, 9, &colon2) && colon2 == ':' &&
           is_op(p, 10, TF_SEC);
}

bool tf_fast_shape(const struct tf_prog *p, struct tf_shape *sh)
{
    size_t i = 11;
    char dot;

    memset(sh, 0, sizeof(*sh));
    if (!date_time_shape(p, sh)) {
        return false;
    }
    if (lit_is(p, i, &dot) && dot == '.' && is_op(p, i + 1, TF_FRAC)) {
        sh->frac = (uint8_t)p->items[i + 1].arg;
        sh->frac_all = p->items[i + 1].len != 0;
        i += 2;
    }
    if (is_op(p, i, TF_WS) && is_op(p, i + 1, TF_ZONE)) {
        sh->zone_blank = true;
        i++;
    }
    if (is_op(p, i, TF_ZONE)) {
        sh->zone = true;
        i++;
    }
    return i == p->n;
}

/* [+-]hh[:]mm or Z at p; returns the end or NULL. */
static const char *fixed_zone(const char *p, const char *pe, int32_t *off)
{
    int h;
    int m;

    if (p < pe && (*p == 'Z' || *p == 'z')) {
        *off = 0;
        return p + 1;
    }
    if (pe - p < 5 || (*p != '+' && *p != '-')) {
        return NULL;
    }
    h = two(p + 1);
    if (h < 0) {
        return NULL;
    }
    if (p[3] == ':') {
        m = pe - p >= 6 ? two(p + 4) : -1;
        if (m < 0) {
            return NULL;
        }
        *off = (*p == '-' ? -1 : 1) * (h * 3600 + m * 60);
        return p + 6;
    }
    m = two(p + 3);
    if (m < 0) {
        return NULL;
    }
    *off = (*p == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return p + 5;
}

static const char *fixed_frac(const struct tf_shape *sh, const char *p, const char *pe,
                              uint32_t *nsec)
{
    uint32_t v = 0;
    size_t n = 0;

    if (p >= pe || *p != '.') {
        return NULL;
    }
    p++;
    while (n < sh->frac && p + n < pe && (unsigned char)(p[n] - '0') <= 9) {
        v = v * 10 + (uint32_t)(p[n] - '0');
        n++;
    }
    if (n == 0) {
        return NULL;
    }
    for (size_t k = n; k < 9; k++) {
        v *= 10;
    }
    p += n;
    while (sh->frac_all && p < pe && (unsigned char)(*p - '0') <= 9) {
        p++;
    }
    *nsec = v;
    return p;
}

long tf_fast_fixed(const struct tf_shape *sh, const char *s, size_t len, struct tf_fields *fl)
{
    const char *pe = s + len;
    const char *p = s + 19;
    int y1;
    int y2;

    if (len < 19 || s[4] != sh->sep[0] || s[7] != sh->sep[1] || s[10] != sh->sep[2] ||
        s[13] != ':' || s[16] != ':') {
        return 0;
    }
    memset(fl, 0, sizeof(*fl));
    fl->ampm = -1;
    y1 = two(s);
    y2 = two(s + 2);
    fl->mon = two(s + 5);
    fl->mday = two(s + 8);
    fl->hour = two(s + 11);
    fl->min = two(s + 14);
    fl->sec = two(s + 17);
    if (y1 < 0 || y2 < 0 || fl->mon < 1 || fl->mon > 12 || fl->mday < 1 || fl->mday > 31 ||
        fl->hour < 0 || fl->hour > 23 || fl->min < 0 || fl->min > 59 || fl->sec < 0 ||
        fl->sec > 60) {
        return 0;
    }
    fl->year = y1 * 100 + y2;
    fl->set = TF_SET_YEAR | TF_SET_MON | TF_SET_MDAY | TF_SET_HOUR | TF_SET_MIN | TF_SET_SEC;
    if (sh->frac != 0) {
        p = fixed_frac(sh, p, pe, &fl->nsec);
    }
    if (p != NULL && sh->zone) {
        if (sh->zone_blank && p < pe && *p == ' ') {
            p++;
        }
        p = fixed_zone(p, pe, &fl->off);
        fl->set |= TF_SET_OFF;
    }
    return p != NULL ? (long)(p - s) : 0;
}
