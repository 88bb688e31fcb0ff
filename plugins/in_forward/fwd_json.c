/* Framing of JSON-stream connections (the legacy JSON form of the protocol). */
#include "in_forward/fwd_decode.h"

size_t fwd_json_ws(const char *p, size_t len)
{
    size_t i = 0;

    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) {
        i++;
    }
    return i;
}

int fwd_json_frame(struct fwd_json_frame *st, const char *p, size_t len, size_t *n)
{
    if (st->off == 0) {
        if (len == 0) {
            return SK_EAGAIN;
        }
        if (p[0] != '{' && p[0] != '[') {
            return SK_EPROTO;
        }
        st->depth = 0;
        st->in_str = false;
        st->esc = false;
    }
    for (; st->off < len; st->off++) {
        char c = p[st->off];

        if (st->in_str) {
            if (st->esc) {
                st->esc = false;
            } else if (c == '\\') {
                st->esc = true;
            } else if (c == '"') {
                st->in_str = false;
            }
            continue;
        }
        if (c == '"') {
            st->in_str = true;
        } else if (c == '{' || c == '[') {
            st->depth++;
        } else if ((c == '}' || c == ']') && --st->depth == 0) {
            *n = st->off + 1;
            st->off = 0;
            return 0;
        }
    }
    return SK_EAGAIN;
}
