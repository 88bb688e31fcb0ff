#include "in_tail/tail_conv.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/buf.h"

#define CONV_NONE ((iconv_t)-1)
/* The longest character a probe tries (GB18030: 4; escapes are shorter
 * than this in the stateful encodings iconv knows). */
#define CONV_PROBE_MAX 8

struct tail_conv {
    iconv_t cd;          /* from -> to */
    iconv_t probe;       /* from -> UTF-8: a character, or invalid bytes? */
    struct sk_buf out;   /* the converted line */
    char repl[8];        /* the replacement, in the target encoding */
    size_t repl_len;
    char eol[8];         /* "\n" in the source encoding */
    size_t eol_len;
};

/* Ruby's names that glibc spells differently. */
static const struct {
    const char *ruby;
    const char *glibc;
} conv_aliases[] = {
    {"ASCII-8BIT", "ASCII"}, {"BINARY", "ASCII"},     {"Windows-31J", "CP932"},
    {"eucJP-ms", "EUC-JP-MS"}, {"CP51932", "EUC-JP"}, {"macJapanese", "MAC-JAPANESE"},
};

static const char *glibc_name(const char *name)
{
    for (size_t i = 0; i < sizeof(conv_aliases) / sizeof(conv_aliases[0]); i++) {
        if (strcasecmp(name, conv_aliases[i].ruby) == 0) {
            return conv_aliases[i].glibc;
        }
    }
    return name;
}

bool tail_conv_known(const char *name)
{
    iconv_t cd = iconv_open("UTF-8", glibc_name(name));

    if (cd == CONV_NONE) {
        return false;
    }
    iconv_close(cd);
    return true;
}

bool tail_conv_same(const char *a, const char *b)
{
    return strcasecmp(glibc_name(a), glibc_name(b)) == 0;
}

/* Converts a short fixed text once (set-up only). 0 or -1. */
static int convert_text(const char *to, const char *from, const char *in, size_t len, char *out,
                        size_t cap, size_t *out_len)
{
    iconv_t cd = iconv_open(to, from);
    char *ip = (char *)in;
    char *op = out;
    size_t il = len;
    size_t ol = cap;
    size_t r;

    if (cd == CONV_NONE) {
        return -1;
    }
    r = iconv(cd, &ip, &il, &op, &ol);
    if (r != (size_t)-1) {
        r = iconv(cd, NULL, NULL, &op, &ol);
    }
    iconv_close(cd);
    *out_len = (size_t)(op - out);
    return r == (size_t)-1 ? -1 : 0;
}

/* Ruby replaces with U+FFFD when the target is Unicode, with '?' otherwise. */
static int set_replacement(struct tail_conv *c, const char *to)
{
    bool unicode = strncasecmp(to, "UTF", 3) == 0 || strncasecmp(to, "UCS", 3) == 0;

    if (unicode && convert_text(to, "UTF-8", "\xEF\xBF\xBD", 3, c->repl, sizeof(c->repl),
                                &c->repl_len) == 0) {
        return 0;
    }
    return convert_text(to, "UTF-8", "?", 1, c->repl, sizeof(c->repl), &c->repl_len);
}

/* "\n" in the source encoding; two of them, so a byte-order mark that the
 * converter puts first is not taken for part of the terminator. */
static int set_eol(struct tail_conv *c, const char *from)
{
    char one[16];
    char two[16];
    size_t n1;
    size_t n2;

    if (convert_text(from, "UTF-8", "\n", 1, one, sizeof(one), &n1) < 0 ||
        convert_text(from, "UTF-8", "\n\n", 2, two, sizeof(two), &n2) < 0 || n2 <= n1 ||
        n2 - n1 > sizeof(c->eol)) {
        return -1;
    }
    c->eol_len = n2 - n1;
    memcpy(c->eol, two + n2 - c->eol_len, c->eol_len);
    return 0;
}

int tail_conv_create(const char *to, const char *from, size_t max_line, struct tail_conv **out)
{
    struct tail_conv *c;

    *out = NULL;
    to = glibc_name(to);
    from = glibc_name(from);
    c = sk_calloc(1, sizeof(*c));
    if (c == NULL) {
        return SK_ENOMEM;
    }
    c->cd = iconv_open(to, from);
    c->probe = iconv_open("UTF-8", from);
    /* A character may grow (1 byte to a 3-byte replacement, UTF-16 to 4). */
    sk_buf_init(&c->out, max_line * 4 + 64);
    if (c->cd == CONV_NONE || c->probe == CONV_NONE || set_replacement(c, to) < 0 ||
        set_eol(c, from) < 0) {
        tail_conv_destroy(c);
        return SK_EINVAL;
    }
    *out = c;
    return 0;
}

void tail_conv_destroy(struct tail_conv *c)
{
    if (c == NULL) {
        return;
    }
    if (c->cd != CONV_NONE) {
        iconv_close(c->cd);
    }
    if (c->probe != CONV_NONE) {
        iconv_close(c->probe);
    }
    sk_buf_cleanup(&c->out);
    sk_free(c);
}

const char *tail_conv_eol(const struct tail_conv *c, size_t *len)
{
    *len = c->eol_len;
    return c->eol;
}

/* Bytes to replace at `p`, where the converter stopped: a whole character
 * when it is valid but has no equivalent in the target (one '?', as Ruby's
 * undef: :replace), else one code unit of invalid input. */
static size_t bad_length(struct tail_conv *c, const char *p, size_t len)
{
    char tmp[CONV_PROBE_MAX * 4];

    for (size_t k = c->eol_len; k <= len && k <= CONV_PROBE_MAX; k += c->eol_len) {
        char *ip = (char *)p;
        char *op = tmp;
        size_t il = k;
        size_t ol = sizeof(tmp);

        iconv(c->probe, NULL, NULL, NULL, NULL);
        if (iconv(c->probe, &ip, &il, &op, &ol) != (size_t)-1) {
            return k;
        }
        if (errno != EINVAL) {
            break; /* invalid, not merely incomplete */
        }
    }
    return c->eol_len <= len ? c->eol_len : len;
}

/* Converts all of in[0..len), replacing what cannot be converted. */
static int convert_input(struct tail_conv *c, const char *in, size_t len)
{
    char *ip = (char *)in;
    size_t il = len;

    while (il > 0) {
        size_t room = il * 2 + 16;
        int rc = sk_buf_reserve(&c->out, room);
        char *op;
        size_t ol = room;
        size_t skip;

        if (rc < 0) {
            return rc;
        }
        op = c->out.data + c->out.len;
        if (iconv(c->cd, &ip, &il, &op, &ol) != (size_t)-1 || errno == E2BIG) {
            c->out.len = (size_t)(op - c->out.data);
            continue;
        }
        c->out.len = (size_t)(op - c->out.data);
        skip = bad_length(c, ip, il);
        rc = sk_buf_append(&c->out, c->repl, c->repl_len);
        if (rc < 0) {
            return rc;
        }
        ip += skip;
        il -= skip;
    }
    return 0;
}

/* A stateful encoding (ISO-2022-JP) ends the line in its initial state. */
static int flush_state(struct tail_conv *c)
{
    size_t ol = 16;
    int rc = sk_buf_reserve(&c->out, ol);
    char *op;

    if (rc < 0) {
        return rc;
    }
    op = c->out.data + c->out.len;
    if (iconv(c->cd, NULL, NULL, &op, &ol) == (size_t)-1) {
        return SK_EIO;
    }
    c->out.len = (size_t)(op - c->out.data);
    return 0;
}

int tail_conv_line(struct tail_conv *c, const char *in, size_t len, const char **out,
                   size_t *out_len)
{
    int rc;

    sk_buf_reset(&c->out);
    iconv(c->cd, NULL, NULL, NULL, NULL);
    rc = convert_input(c, in, len);
    if (rc == 0) {
        rc = flush_state(c);
    }
    if (rc == 0) {
        rc = sk_buf_putc(&c->out, '\n');
    }
    if (rc < 0) {
        return rc;
    }
    c->out.len--; /* the '\n' follows the line but is not part of it */
    *out = c->out.data;
    *out_len = c->out.len;
    return 0;
}
