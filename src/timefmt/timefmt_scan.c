/*
 * Compiling strptime formats and running them over text.
 *
 * The reading rules are those of the strptime gem (nurse/strptime), which
 * Fluentd uses for every format it supports: numbers are 1..N digits
 * (%d reads "1" or "01"), ranges are checked per field (%d 1..31 whatever
 * the month, %S up to 60), month names match case-insensitively in full or
 * abbreviated, a blank in the format skips any run of blanks (also none),
 * %z reads [+-]h[h][:][mm] without bounds, and text after the format is
 * left alone (the caller decides whether that is an error).
 */
#include "timefmt/timefmt_int.h"

#include <string.h>
#include <strings.h>

#include "util/alloc.h"

static const char *const month_names[] = {
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December", "Jan", "Feb", "Mar", "Apr",
    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static const char *const day_names[] = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_digit(char c)
{
    return (unsigned char)(c - '0') <= 9u;
}

/* --- compiling ------------------------------------------------------------ */

static int put(struct tf_prog *p, size_t *cap, uint8_t op, uint8_t len, uint16_t arg)
{
    if (p->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct tf_item *items = sk_realloc(p->items, ncap * sizeof(*items));

        if (items == NULL) {
            return SK_ENOMEM;
        }
        p->items = items;
        *cap = ncap;
    }
    p->items[p->n].op = op;
    p->items[p->n].len = len;
    p->items[p->n].arg = arg;
    p->n++;
    return 0;
}

/* Appends the items of a composite directive (%T, %D, %F, %R). */
static int put_seq(struct tf_prog *p, size_t *cap, const uint8_t *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = put(p, cap, ops[i], 0, 0);

        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* Literal separators of composites live in this static text. */
static const char composite_lits[] = ":/-";

static int put_composite(struct tf_prog *p, size_t *cap, char c)
{
    /* A literal item needs an offset into p->fmt; composites use their own
     * separators, so they are encoded as items with op TF_LIT pointing at
     * composite_lits through len 0xff (resolved in tf_run). */
    static const uint8_t t[] = {TF_HOUR, TF_LIT, TF_MIN, TF_LIT, TF_SEC};
    static const uint8_t r[] = {TF_HOUR, TF_LIT, TF_MIN};
    static const uint8_t d[] = {TF_MON, TF_LIT, TF_MDAY, TF_LIT, TF_YEAR2};
    static const uint8_t fdate[] = {TF_YEAR, TF_LIT, TF_MON, TF_LIT, TF_MDAY};
    const uint8_t *ops = c == 'T' ? t : c == 'R' ? r : c == 'D' ? d : fdate;
    size_t n = c == 'R' ? 3 : 5;
    uint16_t sep = c == 'D' ? 1 : c == 'F' ? 2 : 0;
    size_t first = p->n;
    int rc = put_seq(p, cap, ops, n);

    for (size_t i = first; rc == 0 && i < p->n; i++) {
        if (p->items[i].op == TF_LIT) {
            p->items[i].len = 0xff;
            p->items[i].arg = sep;
        }
    }
    return rc;
}

/* Maps one directive letter to an item; SK_EINVAL when unknown. */
static int put_directive(struct tf_prog *p, size_t *cap, char c, unsigned int width)
{
    switch (c) {
    case 'Y': return put(p, cap, TF_YEAR, 0, 0);
    case 'y': return put(p, cap, TF_YEAR2, 0, 0);
    case 'm': return put(p, cap, TF_MON, 0, 0);
    case 'b': case 'B': case 'h': return put(p, cap, TF_MONN, 0, 0);
    case 'd': return put(p, cap, TF_MDAY, 0, 0);
    case 'e': return put(p, cap, TF_MDAYS, 0, 0);
    case 'j': return put(p, cap, TF_YDAY, 0, 0);
    case 'a': case 'A': return put(p, cap, TF_WDAYN, 0, 0);
    case 'H': return put(p, cap, TF_HOUR, 0, 0);
    case 'k': return put(p, cap, TF_HOURS, 0, 0);
    case 'I': return put(p, cap, TF_HOUR12, 0, 0);
    case 'l': return put(p, cap, TF_HOUR12S, 0, 0);
    case 'p': case 'P': return put(p, cap, TF_AMPM, 0, 0);
    case 'M': return put(p, cap, TF_MIN, 0, 0);
    case 'S': return put(p, cap, TF_SEC, 0, 0);
    case 'N': return put(p, cap, TF_FRAC, width == 0, (uint16_t)(width ? width : 9));
    case 'L': return put(p, cap, TF_FRAC, width == 0, (uint16_t)(width ? width : 9));
    case 'z': return put(p, cap, TF_ZONE, 0, 0);
    case 'Z': return put(p, cap, TF_ZNAME, 0, 0);
    case 's': return put(p, cap, TF_EPOCH, 0, 0);
    case 'n': case 't': return put(p, cap, TF_WS, 0, 0);
    case 'T': case 'D': case 'F': case 'R': return put_composite(p, cap, c);
    default: return SK_EINVAL;
    }
}

/* Reads "%[width]X" at fmt[*i] (just after '%'); advances *i past it. */
static int compile_directive(const char *fmt, size_t *i, struct tf_prog *p, size_t *cap)
{
    unsigned int width = 0;
    char c;

    if (fmt[*i] == '%') {
        (*i)++;
        return put(p, cap, TF_LIT, 1, (uint16_t)(*i - 1));
    }
    while (is_digit(fmt[*i]) && width < 100) {
        width = width * 10 + (unsigned int)(fmt[*i] - '0');
        (*i)++;
    }
    c = fmt[*i];
    if (c == '\0' || (width != 0 && c != 'N' && c != 'L') || width > 9) {
        return SK_EINVAL;
    }
    (*i)++;
    return put_directive(p, cap, c, width);
}

int tf_compile(const char *fmt, struct tf_prog *p)
{
    size_t cap = 0;
    size_t i = 0;
    size_t flen = strlen(fmt);
    int rc = 0;

    p->fmt = fmt;
    p->items = NULL;
    p->n = 0;
    if (flen > UINT16_MAX) {
        return SK_EINVAL;
    }
    while (rc == 0 && fmt[i] != '\0') {
        size_t start = i;

        if (fmt[i] == '%') {
            i++;
            rc = compile_directive(fmt, &i, p, &cap);
        } else if (is_blank(fmt[i])) {
            while (is_blank(fmt[i])) {
                i++;
            }
            rc = put(p, &cap, TF_WS, 0, 0);
        } else {
            while (fmt[i] != '\0' && fmt[i] != '%' && !is_blank(fmt[i]) && i - start < 250) {
                i++;
            }
            rc = put(p, &cap, TF_LIT, (uint8_t)(i - start), (uint16_t)start);
        }
    }
    if (rc < 0) {
        sk_free(p->items);
        p->items = NULL;
        p->n = 0;
    }
    return rc;
}

/* --- reading -------------------------------------------------------------- */

/* Reads 1..width digits; returns how many (0: none). */
static size_t read_num(const char *p, const char *pe, size_t width, int *out)
{
    size_t n = 0;
    int v = 0;

    while (n < width && p + n < pe && is_digit(p[n])) {
        v = v * 10 + (p[n] - '0');
        n++;
    }
    *out = v;
    return n;
}

/* Reads a bounded number, optionally after one space (%e %k %l). */
static const char *read_field(const char *p, const char *pe, size_t width, int lo, int hi,
                              bool space_ok, int *out)
{
    size_t n;

    if (space_ok && p < pe && *p == ' ') {
        p++;
    }
    n = read_num(p, pe, width, out);
    if (n == 0 || *out < lo || *out > hi) {
        return NULL;
    }
    return p + n;
}

/*
 * A month or day name, full or abbreviated, in any case. The strptime gem
 * tries every full name, then every abbreviation; since abbreviations are
 * unique prefixes of the full names, finding the abbreviation first and
 * then preferring the full name gives the same answer. `names` lists the
 * n full names, then the n abbreviations (lower-case compare: |0x20 maps
 * exactly the ASCII capitals onto the small letters).
 */
static const char *read_name(const char *p, const char *pe, const char *const *names, size_t n,
                             size_t *index)
{
    if (pe - p < 3) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *a = names[n + i];
        size_t l;

        if ((p[0] | 0x20) != (a[0] | 0x20) || (p[1] | 0x20) != a[1] || (p[2] | 0x20) != a[2]) {
            continue;
        }
        *index = i;
        l = strlen(names[i]);
        if ((size_t)(pe - p) >= l && strncasecmp(names[i] + 3, p + 3, l - 3) == 0) {
            return p + l;
        }
        return p + 3;
    }
    return NULL;
}

/* The strptime gem's %z: "Z" (UTC), or [+-]h[h][:][m[m]] with no bounds. */
static const char *read_offset(const char *p, const char *pe, int32_t *off)
{
    const char *p0 = p;
    int h;
    int m = 0;
    size_t n;

    if (p < pe && (*p == 'Z' || *p == 'z')) {
        *off = 0;
        return p + 1;
    }
    if (p < pe && (*p == '+' || *p == '-')) {
        p++;
    }
    n = read_num(p, pe, 2, &h);
    if (n == 0) {
        return NULL;
    }
    p += n;
    if (p < pe && *p == ':') {
        p++;
    }
    p += read_num(p, pe, 2, &m);
    *off = (h * 60 + m) * 60;
    if (*p0 == '-') {
        *off = -*off;
    }
    return p;
}

/* Zone abbreviations Ruby's Time.parse knows (the common subset). */
static const struct {
    const char *name;
    int32_t off;
} zone_names[] = {
    {"UTC", 0}, {"GMT", 0}, {"UT", 0}, {"Z", 0},
    {"EST", -5 * 3600}, {"EDT", -4 * 3600}, {"CST", -6 * 3600}, {"CDT", -5 * 3600},
    {"MST", -7 * 3600}, {"MDT", -6 * 3600}, {"PST", -8 * 3600}, {"PDT", -7 * 3600},
    {"JST", 9 * 3600}, {"CET", 3600}, {"CEST", 2 * 3600},
};

/* %Z: a known abbreviation (optionally followed by an offset, "GMT+9"),
 * or a numeric offset as for %z. */
static const char *read_zone_name(const char *p, const char *pe, int32_t *off)
{
    size_t best = 0;
    int32_t base = 0;

    for (size_t i = 0; i < sizeof(zone_names) / sizeof(zone_names[0]); i++) {
        size_t l = strlen(zone_names[i].name);

        if (l > best && (size_t)(pe - p) >= l && strncasecmp(zone_names[i].name, p, l) == 0 &&
            (p + l == pe || !((p[l] | 0x20) >= 'a' && (p[l] | 0x20) <= 'z'))) {
            best = l;
            base = zone_names[i].off;
        }
    }
    if (best == 0) {
        return read_offset(p, pe, off);
    }
    p += best;
    *off = base;
    if (p < pe && (*p == '+' || *p == '-')) {
        int32_t extra;
        const char *q = read_offset(p, pe, &extra);

        if (q != NULL) {
            *off += extra;
            p = q;
        }
    }
    return p;
}

static const char *read_frac(const char *p, const char *pe, const struct tf_item *it,
                             uint32_t *nsec)
{
    size_t width = it->arg;
    size_t n = 0;
    uint32_t v = 0;

    while (n < width && p + n < pe && is_digit(p[n])) {
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
    while (it->len && p < pe && is_digit(*p)) {
        p++; /* Ruby reads every digit of %N as the fraction */
    }
    *nsec = v;
    return p;
}

static const char *read_epoch(const char *p, const char *pe, int64_t *epoch)
{
    bool neg = p < pe && *p == '-';
    int64_t v = 0;
    size_t n = 0;

    if (neg) {
        p++;
    }
    while (p + n < pe && is_digit(p[n]) && n < 18) {
        v = v * 10 + (p[n] - '0');
        n++;
    }
    if (n == 0) {
        return NULL;
    }
    *epoch = neg ? -v : v;
    return p + n;
}

static const char *read_lit(const struct tf_prog *pr, const struct tf_item *it, const char *p,
                            const char *pe)
{
    const char *lit = it->len == 0xff ? composite_lits + it->arg : pr->fmt + it->arg;
    size_t len = it->len == 0xff ? 1 : it->len;

    if ((size_t)(pe - p) < len || memcmp(p, lit, len) != 0) {
        return NULL;
    }
    return p + len;
}

static const char *read_year(const char *p, const char *pe, struct tf_fields *fl)
{
    char sign = p < pe ? *p : '\0';
    int y;
    size_t n;

    if (sign == '+' || sign == '-') {
        p++;
    }
    n = read_num(p, pe, 4, &y);
    if (n == 0) {
        return NULL;
    }
    fl->year = sign == '-' ? -y : y;
    fl->set |= TF_SET_YEAR;
    return p + n;
}

static const char *read_names(const char *p, const char *pe, bool month, struct tf_fields *fl)
{
    size_t idx;

    if (month) {
        p = read_name(p, pe, month_names, 12, &idx);
        if (p != NULL) {
            fl->mon = (int)idx + 1;
            fl->set |= TF_SET_MON;
        }
        return p;
    }
    return read_name(p, pe, day_names, 7, &idx);
}

static const char *read_ampm(const char *p, const char *pe, struct tf_fields *fl)
{
    char c = p < pe ? (char)(*p | 0x20) : '\0';

    if ((c != 'a' && c != 'p') || p + 1 >= pe) {
        return NULL;
    }
    fl->ampm = c == 'p';
    if ((p[1] | 0x20) == 'm') {
        return p + 2;
    }
    if (p[1] == '.' && p + 3 < pe && (p[2] | 0x20) == 'm' && p[3] == '.') {
        return p + 4;
    }
    return NULL;
}

/* Numeric fields: which struct member, width, bounds, flag. */
static const char *read_number_item(enum tf_op op, const char *p, const char *pe,
                                    struct tf_fields *fl)
{
    int v;
    const char *q;

    switch (op) {
    case TF_YEAR2:
        q = read_field(p, pe, 2, 0, 99, false, &v);
        fl->year = v < 69 ? v + 2000 : v + 1900;
        fl->set |= q ? TF_SET_YEAR : 0;
        return q;
    case TF_MON:
        q = read_field(p, pe, 2, 1, 12, false, &fl->mon);
        fl->set |= q ? TF_SET_MON : 0;
        return q;
    case TF_MDAY:
    case TF_MDAYS:
        q = read_field(p, pe, 2, 1, 31, op == TF_MDAYS, &fl->mday);
        fl->set |= q ? TF_SET_MDAY : 0;
        return q;
    case TF_YDAY:
        q = read_field(p, pe, 3, 1, 366, false, &fl->yday);
        fl->set |= q ? TF_SET_YDAY : 0;
        return q;
    case TF_HOUR:
    case TF_HOURS:
        q = read_field(p, pe, 2, 0, 23, op == TF_HOURS, &fl->hour);
        fl->set |= q ? TF_SET_HOUR : 0;
        return q;
    case TF_HOUR12:
    case TF_HOUR12S:
        q = read_field(p, pe, 2, 1, 12, op == TF_HOUR12S, &fl->hour);
        fl->set |= q ? TF_SET_HOUR | TF_SET_HOUR12 : 0;
        return q;
    case TF_MIN:
        q = read_field(p, pe, 2, 0, 59, false, &fl->min);
        fl->set |= q ? TF_SET_MIN : 0;
        return q;
    default: /* TF_SEC */
        q = read_field(p, pe, 2, 0, 60, false, &fl->sec);
        fl->set |= q ? TF_SET_SEC : 0;
        return q;
    }
}

static const char *run_item(const struct tf_prog *pr, const struct tf_item *it, const char *p,
                            const char *pe, struct tf_fields *fl)
{
    const char *q;

    switch ((enum tf_op)it->op) {
    case TF_LIT: return read_lit(pr, it, p, pe);
    case TF_WS:
        while (p < pe && is_blank(*p)) {
            p++;
        }
        return p;
    case TF_YEAR: return read_year(p, pe, fl);
    case TF_MONN: return read_names(p, pe, true, fl);
    case TF_WDAYN: return read_names(p, pe, false, fl);
    case TF_AMPM: return read_ampm(p, pe, fl);
    case TF_FRAC: return read_frac(p, pe, it, &fl->nsec);
    case TF_ZONE:
    case TF_ZNAME:
        q = it->op == TF_ZONE ? read_offset(p, pe, &fl->off) : read_zone_name(p, pe, &fl->off);
        fl->set |= q ? TF_SET_OFF : 0;
        return q;
    case TF_EPOCH:
        q = read_epoch(p, pe, &fl->epoch);
        fl->set |= q ? TF_SET_EPOCH : 0;
        return q;
    default: return read_number_item((enum tf_op)it->op, p, pe, fl);
    }
}

bool tf_item_char(const struct tf_prog *pr, const struct tf_item *it, char *c)
{
    if (it->op != TF_LIT || (it->len != 1 && it->len != 0xff)) {
        return false;
    }
    *c = it->len == 0xff ? composite_lits[it->arg] : pr->fmt[it->arg];
    return true;
}

long tf_run(const struct tf_prog *pr, const char *s, size_t len, struct tf_fields *fl)
{
    const char *p = s;
    const char *pe = s + len;

    for (size_t i = 0; i < pr->n; i++) {
        p = run_item(pr, &pr->items[i], p, pe, fl);
        if (p == NULL) {
            return -1;
        }
    }
    return (long)(p - s);
}

/* --- ISO 8601 -------------------------------------------------------------- */

/* Exactly `n` digits. */
static const char *fixed_num(const char *p, const char *pe, size_t n, int *out)
{
    if ((size_t)(pe - p) < n || read_num(p, pe, n, out) != n) {
        return NULL;
    }
    return p + n;
}

static const char *iso_time(const char *p, const char *pe, struct tf_fields *fl)
{
    p = fixed_num(p, pe, 2, &fl->hour);
    p = p && p < pe && *p == ':' ? fixed_num(p + 1, pe, 2, &fl->min) : NULL;
    p = p && p < pe && *p == ':' ? fixed_num(p + 1, pe, 2, &fl->sec) : NULL;
    if (p == NULL || fl->hour > 24 || fl->min > 59 || fl->sec > 60) {
        return NULL;
    }
    fl->set |= TF_SET_HOUR | TF_SET_MIN | TF_SET_SEC;
    if (p < pe && *p == '.' && p + 1 < pe && is_digit(p[1])) {
        static const struct tf_item frac = {TF_FRAC, 1, 9};

        p = read_frac(p + 1, pe, &frac, &fl->nsec);
    }
    if (p < pe && (*p == 'Z' || *p == 'z')) {
        fl->off = 0;
        fl->set |= TF_SET_OFF;
        return p + 1;
    }
    if (p < pe && (*p == '+' || *p == '-')) {
        int h;
        int m = 0;
        const char *q = fixed_num(p + 1, pe, 2, &h);

        if (q != NULL && q < pe && *q == ':') {
            q++;
        }
        if (q != NULL && fixed_num(q, pe, 2, &m) != NULL) {
            q += 2;
        }
        if (q == NULL) {
            return NULL;
        }
        fl->off = (*p == '-' ? -1 : 1) * (h * 3600 + m * 60);
        fl->set |= TF_SET_OFF;
        p = q;
    }
    return p;
}

long tf_run_iso8601(const char *s, size_t len, struct tf_fields *fl)
{
    const char *p = s;
    const char *pe = s + len;
    int y;

    while (p < pe && is_blank(*p)) {
        p++;
    }
    p = p < pe && *p == '-' ? p + 1 : p;
    if (fixed_num(p, pe, 4, &y) == NULL) {
        return -1;
    }
    fl->year = p > s && p[-1] == '-' ? -y : y;
    p += 4;
    p = p < pe && *p == '-' ? fixed_num(p + 1, pe, 2, &fl->mon) : NULL;
    p = p && p < pe && *p == '-' ? fixed_num(p + 1, pe, 2, &fl->mday) : NULL;
    if (p == NULL || fl->mon < 1 || fl->mon > 12 || fl->mday < 1 || fl->mday > 31) {
        return -1;
    }
    fl->set |= TF_SET_YEAR | TF_SET_MON | TF_SET_MDAY;
    if (p < pe && (*p == 'T' || *p == 't')) {
        p = iso_time(p + 1, pe, fl);
    }
    if (p == NULL) {
        return -1;
    }
    while (p < pe && is_blank(*p)) {
        p++;
    }
    return (long)(p - s);
}
