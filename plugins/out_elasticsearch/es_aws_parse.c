/*
 * Pure helpers of the AWS credentials provider: what STS, the instance
 * metadata service and the container endpoint answer, times, URLs, and the
 * refresh arithmetic. No clock, no environment, no network.
 */
#include "out_elasticsearch/es_aws_creds_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <msgpack.h>

#include "json/json.h"
#include "util/alloc.h"

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

void es_aws_wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        sk_free(s);
    }
}

void es_aws_key_clear(struct es_aws_key *k)
{
    if (k == NULL) {
        return;
    }
    es_aws_wipe_free(k->access_key_id);
    es_aws_wipe_free(k->secret_access_key);
    es_aws_wipe_free(k->session_token);
    memset(k, 0, sizeof(*k));
}

int es_aws_key_set(struct es_aws_key *k, const char *akid, const char *secret,
                   const char *token, int64_t expiration)
{
    struct es_aws_key n = {0};

    n.access_key_id = sk_strdup(akid);
    n.secret_access_key = sk_strdup(secret);
    if (token != NULL && token[0] != '\0') {
        n.session_token = sk_strdup(token);
    }
    n.expiration = expiration;
    if (n.access_key_id == NULL || n.secret_access_key == NULL ||
        (token != NULL && token[0] != '\0' && n.session_token == NULL)) {
        es_aws_key_clear(&n);
        es_aws_key_clear(k);
        return SK_ENOMEM;
    }
    es_aws_key_move(k, &n);
    return 0;
}

void es_aws_key_move(struct es_aws_key *dst, struct es_aws_key *src)
{
    es_aws_key_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

void es_aws_key_mask(const char *akid, char out[16])
{
    size_t n = akid != NULL ? strlen(akid) : 0;

    if (n < 12) {
        memcpy(out, "****", 5);
        return;
    }
    memcpy(out, akid, 4);
    memcpy(out + 4, "****", 4);
    memcpy(out + 8, akid + n - 4, 4);
    out[12] = '\0';
}

/* ------------------------------------------------------------------ */
/* Times                                                               */
/* ------------------------------------------------------------------ */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly n digits at s[*i]. */
static int digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0;

    for (int k = 0; k < n; k++) {
        if (*i >= len || !isdigit((unsigned char)s[*i])) {
            return SK_EPARSE;
        }
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    *out = v;
    return 0;
}

static int expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c) {
        return SK_EPARSE;
    }
    (*i)++;
    return 0;
}

/* The zone suffix at s[i..len): "", "Z", "+hh:mm", "+hhmm", "+hh". */
static int parse_zone(const char *s, size_t len, size_t i, int *offset_s)
{
    int sign, hh = 0, mm = 0;

    *offset_s = 0;
    if (i == len || ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len)) {
        return 0;
    }
    if (s[i] != '+' && s[i] != '-') {
        return SK_EPARSE;
    }
    sign = s[i++] == '-' ? -1 : 1;
    if (digits(s, len, &i, 2, &hh) < 0) {
        return SK_EPARSE;
    }
    if (i < len && s[i] == ':') {
        i++;
    }
    if (i < len && digits(s, len, &i, 2, &mm) < 0) {
        return SK_EPARSE;
    }
    if (i != len || hh > 23 || mm > 59) {
        return SK_EPARSE;
    }
    *offset_s = sign * (hh * 3600 + mm * 60);
    return 0;
}

int es_aws_parse_time(const char *s, size_t len, int64_t *out)
{
    static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, off;
    size_t i = 0;

    while (len > 0 && isspace((unsigned char)s[len - 1])) {
        len--;
    }
    while (i < len && isspace((unsigned char)s[i])) {
        i++;
    }
    if (digits(s, len, &i, 4, &y) < 0 || expect(s, len, &i, '-') < 0 ||
        digits(s, len, &i, 2, &mo) < 0 || expect(s, len, &i, '-') < 0 ||
        digits(s, len, &i, 2, &d) < 0) {
        return SK_EPARSE;
    }
    if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) {
        return SK_EPARSE;
    }
    i++;
    if (digits(s, len, &i, 2, &h) < 0 || expect(s, len, &i, ':') < 0 ||
        digits(s, len, &i, 2, &mi) < 0 || expect(s, len, &i, ':') < 0 ||
        digits(s, len, &i, 2, &sec) < 0) {
        return SK_EPARSE;
    }
    if (i < len && (s[i] == '.' || s[i] == ',')) {
        i++;
        if (i >= len || !isdigit((unsigned char)s[i])) {
            return SK_EPARSE;
        }
        while (i < len && isdigit((unsigned char)s[i])) {
            i++; /* fractions are dropped: expiry has second precision */
        }
    }
    if (parse_zone(s, len, i, &off) < 0) {
        return SK_EPARSE;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
        sec > 60) {
        return SK_EPARSE;
    }
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        return SK_EPARSE;
    }
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - off;
    return 0;
}

int64_t es_aws_refresh_delay_ms(int64_t now, int64_t expiration, int64_t before_ms)
{
    int64_t left_ms, delay;

    if (expiration == 0) {
        return -1;
    }
    left_ms = (expiration - now) * 1000;
    delay = left_ms - before_ms;
    if (delay < left_ms / 2) {
        delay = left_ms / 2;
    }
    return delay < 100 ? 100 : delay;
}

int64_t es_aws_backoff_ms(unsigned failures, int64_t wait_ms, int64_t max_ms)
{
    int64_t d = wait_ms > 0 ? wait_ms : 1;

    for (unsigned i = 1; i < failures && d < max_ms; i++) {
        d *= 2;
    }
    return d > max_ms ? max_ms : d;
}

/* ------------------------------------------------------------------ */
/* STS XML                                                             */
/* ------------------------------------------------------------------ */

/* Whether xml[i..] starts "<tag" followed by '>', '/', or a blank. */
static bool open_tag_at(const char *xml, size_t len, size_t i, const char *tag, size_t tlen)
{
    char c;

    if (i + 1 + tlen >= len || xml[i] != '<' || memcmp(xml + i + 1, tag, tlen) != 0) {
        return false;
    }
    c = xml[i + 1 + tlen];
    return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int es_aws_xml_find(const char *xml, size_t len, const char *tag, const char **val, size_t *vlen)
{
    size_t tlen = strlen(tag);

    for (size_t i = 0; i < len; i++) {
        const char *gt, *close;
        size_t start;

        if (!open_tag_at(xml, len, i, tag, tlen)) {
            continue;
        }
        gt = memchr(xml + i, '>', len - i);
        if (gt == NULL) {
            return SK_ENOENT;
        }
        start = (size_t)(gt - xml) + 1;
        if (gt[-1] == '/') { /* <tag/>: empty */
            *val = xml + start;
            *vlen = 0;
            return 0;
        }
        for (close = xml + start; close != NULL;) {
            size_t left = len - (size_t)(close - xml);

            close = memmem(close, left, "</", 2);
            if (close == NULL) {
                break;
            }
            left = len - (size_t)(close - xml);
            if (left >= tlen + 3 && memcmp(close + 2, tag, tlen) == 0 &&
                (close[2 + tlen] == '>' || isspace((unsigned char)close[2 + tlen]))) {
                *val = xml + start;
                *vlen = (size_t)(close - xml) - start;
                return 0;
            }
            close += 2;
        }
        return SK_ENOENT;
    }
    return SK_ENOENT;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
        return (c | 0x20) - 'a' + 10;
    }
    return -1;
}

/* Decodes one entity at v[*i] ('&'); appends the character. */
static int xml_entity(const char *v, size_t vlen, size_t *i, struct sk_buf *out)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    const char *semi = memchr(v + *i, ';', vlen - *i);

    for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
        size_t n = strlen(ents[k].name);

        if (vlen - *i >= n && memcmp(v + *i, ents[k].name, n) == 0) {
            *i += n;
            return sk_buf_putc(out, ents[k].c);
        }
    }
    if (semi != NULL && semi - (v + *i) <= 10 && *i + 2 < vlen && v[*i + 1] == '#') {
        bool hex = v[*i + 2] == 'x' || v[*i + 2] == 'X';
        unsigned long cp = 0;
        const char *p = v + *i + (hex ? 3 : 2);

        for (; p < semi; p++) {
            int dv = hex_value(*p);

            if (dv < 0 || (!hex && dv > 9)) {
                break;
            }
            cp = cp * (hex ? 16 : 10) + (unsigned long)dv;
        }
        if (p == semi && cp > 0 && cp < 0x80) {
            *i = (size_t)(semi - v) + 1;
            return sk_buf_putc(out, (char)cp);
        }
    }
    (*i)++;
    return sk_buf_putc(out, '&'); /* not an entity we know: keep it */
}

int es_aws_xml_text(const char *val, size_t vlen, struct sk_buf *out)
{
    size_t i = 0;
    int rc = 0;

    while (vlen > 0 && isspace((unsigned char)val[vlen - 1])) {
        vlen--;
    }
    while (i < vlen && isspace((unsigned char)val[i])) {
        i++;
    }
    while (i < vlen && rc == 0) {
        const char *amp = memchr(val + i, '&', vlen - i);
        size_t n = amp != NULL ? (size_t)(amp - (val + i)) : vlen - i;

        rc = sk_buf_append(out, val + i, n);
        i += n;
        if (rc == 0 && i < vlen) {
            rc = xml_entity(val, vlen, &i, out);
        }
    }
    return rc;
}

/* Appends the decoded text of <tag> inside scope to out, NUL-separated
 * from what came before; *off = where it starts. */
static int xml_field(const char *scope, size_t slen, const char *tag, struct sk_buf *out,
                     size_t *off)
{
    const char *v;
    size_t vlen;
    int rc = es_aws_xml_find(scope, slen, tag, &v, &vlen);

    if (rc < 0) {
        return rc;
    }
    *off = out->len;
    rc = es_aws_xml_text(v, vlen, out);
    if (rc == 0) {
        rc = sk_buf_putc(out, '\0');
    }
    return rc;
}

/* Appends a reason to err (may be NULL); a full buffer only loses words. */
static void note(struct sk_buf *err, const char *what)
{
    if (err != NULL && sk_buf_append_str(err, what) < 0) {
        return;
    }
}

/* "Code: Message" of an AWS XML or JSON error into err. */
static void error_text(struct sk_buf *err, const char *code, const char *msg)
{
    if (err == NULL) {
        return;
    }
    if (sk_buf_printf(err, "%s%s%.300s", code != NULL && code[0] ? code : "error",
                        msg != NULL && msg[0] ? ": " : "", msg != NULL ? msg : "") < 0) {
        return;
    }
}

static int sts_error(const char *xml, size_t len, struct sk_buf *err)
{
    struct sk_buf t;
    size_t code = 0, msg = 0;
    const char *scope;
    size_t slen;
    int rc;

    if (es_aws_xml_find(xml, len, "Error", &scope, &slen) < 0) {
        return SK_ENOENT;
    }
    sk_buf_init(&t, 8192);
    rc = sk_buf_putc(&t, '\0');
    if (rc == 0 && xml_field(scope, slen, "Code", &t, &code) == SK_ENOMEM) {
        rc = SK_ENOMEM;
    }
    if (rc == 0 && xml_field(scope, slen, "Message", &t, &msg) == SK_ENOMEM) {
        rc = SK_ENOMEM;
    }
    if (rc == 0) {
        error_text(err, t.data + code, t.data + msg);
    }
    sk_buf_cleanup(&t);
    return rc < 0 ? rc : SK_EPROTO;
}

int es_aws_parse_sts(const char *xml, size_t len, struct es_aws_key *out, struct sk_buf *err)
{
    static const char *const tags[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                       "Expiration"};
    struct sk_buf t;
    size_t off[4];
    const char *scope;
    size_t slen;
    int64_t exp = 0;
    int rc;

    if (es_aws_xml_find(xml, len, "Credentials", &scope, &slen) < 0) {
        rc = sts_error(xml, len, err);
        if (rc == SK_ENOENT) {
            note(err, "no Credentials element in the answer");
        }
        return rc == SK_ENOENT ? SK_EPARSE : rc;
    }
    sk_buf_init(&t, ES_AWS_ANSWER_MAX);
    rc = 0;
    for (size_t k = 0; k < 4 && rc == 0; k++) {
        rc = xml_field(scope, slen, tags[k], &t, &off[k]);
        if (rc == SK_ENOENT) {
            note(err, "incomplete Credentials element");
            rc = SK_EPARSE;
        }
    }
    if (rc == 0 && (t.data[off[0]] == '\0' || t.data[off[1]] == '\0')) {
        rc = SK_EPARSE;
        note(err, "empty key in Credentials");
    }
    if (rc == 0 && es_aws_parse_time(t.data + off[3], strlen(t.data + off[3]), &exp) < 0) {
        rc = SK_EPARSE;
        note(err, "bad Expiration in Credentials");
    }
    if (rc == 0) {
        rc = es_aws_key_set(out, t.data + off[0], t.data + off[1], t.data + off[2], exp);
    }
    if (t.data != NULL) {
        explicit_bzero(t.data, t.len);
    }
    sk_buf_cleanup(&t);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Metadata / container JSON                                           */
/* ------------------------------------------------------------------ */

/* The string value of `key` in map `o`, NUL-terminated copy appended to t. */
static int json_field(const msgpack_object *o, const char *key, struct sk_buf *t, size_t *off)
{
    size_t klen = strlen(key);

    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object *v = &o->via.map.ptr[i].val;
        int rc;

        if (k->type != MSGPACK_OBJECT_STR || k->via.str.size != klen ||
            memcmp(k->via.str.ptr, key, klen) != 0) {
            continue;
        }
        if (v->type != MSGPACK_OBJECT_STR) {
            return SK_EPARSE;
        }
        *off = t->len;
        rc = sk_buf_append(t, v->via.str.ptr, v->via.str.size);
        return rc == 0 ? sk_buf_putc(t, '\0') : rc;
    }
    return SK_ENOENT;
}

static int json_creds(const msgpack_object *o, struct es_aws_key *out, struct sk_buf *err)
{
    static const char *const keys[] = {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"};
    struct sk_buf t;
    size_t off[4] = {0}, code = 0, msg = 0;
    int64_t exp = 0;
    int rc;

    sk_buf_init(&t, ES_AWS_ANSWER_MAX);
    rc = sk_buf_putc(&t, '\0'); /* offset 0 is "" for absent fields */
    if (rc == 0 && json_field(o, "Code", &t, &code) == 0 && strcmp(t.data + code, "Success") != 0) {
        (void)json_field(o, "Message", &t, &msg);
        error_text(err, t.data + code, t.data + msg);
        rc = SK_EPROTO;
    }
    for (size_t k = 0; k < 4 && rc == 0; k++) {
        rc = json_field(o, keys[k], &t, &off[k]);
        if (rc == SK_ENOENT && k == 2) {
            rc = 0; /* long-term keys from a container endpoint */
        } else if (rc < 0 && rc != SK_ENOMEM) {
            note(err, "AccessKeyId, SecretAccessKey or Expiration missing");
            rc = SK_EPARSE;
        }
    }
    if (rc == 0 && (t.data[off[0]] == '\0' || t.data[off[1]] == '\0')) {
        note(err, "empty key in the answer");
        rc = SK_EPARSE;
    }
    if (rc == 0 && es_aws_parse_time(t.data + off[3], strlen(t.data + off[3]), &exp) < 0) {
        note(err, "bad Expiration in the answer");
        rc = SK_EPARSE;
    }
    if (rc == 0) {
        rc = es_aws_key_set(out, t.data + off[0], t.data + off[1], t.data + off[2], exp);
    }
    if (t.data != NULL) {
        explicit_bzero(t.data, t.len);
    }
    sk_buf_cleanup(&t);
    return rc;
}

int es_aws_parse_json_creds(const char *json, size_t len, struct es_aws_key *out,
                            struct sk_buf *err)
{
    struct sk_buf scratch;
    msgpack_unpacked u;
    int rc;

    sk_buf_init(&scratch, ES_AWS_ANSWER_MAX * 2);
    msgpack_unpacked_init(&u);
    rc = sk_json_parse(json, len, &scratch, &u);
    if (rc == 0 && u.data.type != MSGPACK_OBJECT_MAP) {
        rc = SK_EPARSE;
    }
    if (rc == 0) {
        rc = json_creds(&u.data, out, err);
    } else if (rc != SK_ENOMEM) {
        note(err, "the answer is not a JSON object");
        rc = SK_EPARSE;
    }
    msgpack_unpacked_destroy(&u);
    if (scratch.data != NULL) {
        explicit_bzero(scratch.data, scratch.len);
    }
    sk_buf_cleanup(&scratch);
    return rc;
}

int es_aws_parse_imds_role(const char *text, size_t len, struct sk_buf *out)
{
    size_t i = 0, n;

    while (i < len && isspace((unsigned char)text[i])) {
        i++;
    }
    for (n = 0; i + n < len && text[i + n] != '\n' && text[i + n] != '\r'; n++) {
        char c = text[i + n];

        if (!isalnum((unsigned char)c) && strchr("+=,.@_-", c) == NULL) {
            return SK_EPARSE;
        }
    }
    if (n == 0 || n > 128) {
        return SK_EPARSE;
    }
    return sk_buf_append(out, text + i, n);
}

/* ------------------------------------------------------------------ */
/* URLs and forms                                                      */
/* ------------------------------------------------------------------ */

int es_aws_url_split(const char *url, bool *https, const char **host, size_t *host_len,
                     const char **path)
{
    const char *a, *end, *at;

    if (url == NULL) {
        return SK_EINVAL;
    }
    if (strncasecmp(url, "https://", 8) == 0) {
        *https = true;
        a = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        *https = false;
        a = url + 7;
    } else {
        return SK_EINVAL;
    }
    end = a + strcspn(a, "/?#");
    if (*end == '?' || *end == '#' || strpbrk(end, "?#") != NULL) {
        return SK_EINVAL;
    }
    at = memchr(a, '@', (size_t)(end - a));
    if (at != NULL) {
        a = at + 1;
    }
    if (end == a || strpbrk(url, " \t\r\n") != NULL) {
        return SK_EINVAL;
    }
    *host = a;
    *host_len = (size_t)(end - a);
    *path = end;
    return 0;
}

int es_aws_form_escape(struct sk_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;

    for (; *s != '\0' && rc == 0; s++) {
        unsigned char c = (unsigned char)*s;

        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            rc = sk_buf_putc(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};

            rc = sk_buf_append(out, e, 3);
        }
    }
    return rc;
}

bool es_aws_ecs_url_allowed(const char *url)
{
    static const char *const hosts[] = {"127.", "localhost", "[::1]", "169.254.170.2",
                                        "169.254.170.23", "[fd00:ec2::23]"};
    const char *host, *path;
    size_t hlen;
    bool https;

    if (es_aws_url_split(url, &https, &host, &hlen, &path) < 0) {
        return false;
    }
    if (https) {
        return true;
    }
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        size_t n = strlen(hosts[i]);
        size_t name_len = hlen;
        const char *colon = host[0] == '[' ? memchr(host, ']', hlen) : memchr(host, ':', hlen);

        if (colon != NULL) {
            name_len = (size_t)(colon - host) + (host[0] == '[' ? 1 : 0);
        }
        if (hosts[i][n - 1] == '.') { /* a prefix: 127.x.y.z */
            if (name_len > n && strncmp(host, hosts[i], n) == 0 &&
                strspn(host, "0123456789.") >= name_len) {
                return true;
            }
        } else if (name_len == n && strncasecmp(host, hosts[i], n) == 0) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Answers from the domain                                             */
/* ------------------------------------------------------------------ */

bool es_aws_token_expired(int status, const char *body, size_t len)
{
    static const char *const needles[] = {"security token included in the request is expired",
                                          "expiredtoken"};

    if ((status != 400 && status != 401 && status != 403) || body == NULL) {
        return false;
    }
    for (size_t k = 0; k < sizeof(needles) / sizeof(needles[0]); k++) {
        size_t n = strlen(needles[k]);

        for (size_t i = 0; i + n <= len; i++) {
            if (strncasecmp(body + i, needles[k], n) == 0) {
                return true;
            }
        }
    }
    return false;
}
