#ifndef SK_IN_FORWARD_FWD_MP_H
#define SK_IN_FORWARD_FWD_MP_H

/*
 * Byte-level msgpack for in_forward: framing values in a stream that
 * arrives in pieces, a nesting check, and a cursor that reads a framed
 * value without building objects (no zone, no malloc per value).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* msgpack-c's unpacker takes at most this many nested non-empty
 * containers (MSGPACK_EMBED_STACK_SIZE); deeper events could never be
 * read back from a chunk, so they are refused at the door. */
#define FWD_MP_MAX_DEPTH 32

/*
 * Resumable framing of one value. Zero it before the first call for a
 * value; after SK_EAGAIN, call again with the same (grown) bytes.
 */
struct fwd_mp_frame {
    size_t off;       /* bytes of the value walked so far */
    uint64_t pending; /* values still to walk; 0 before the first call */
};

/*
 * Finds the end of the value starting at p[0]. Returns 0 and *n = its
 * length; SK_EAGAIN when p[0..len) ends inside it (st remembers the
 * progress); SK_EPROTO for a byte msgpack never uses (0xc1).
 */
int fwd_mp_frame(struct fwd_mp_frame *st, const char *p, size_t len, size_t *n) SK_WUR;

/* True when the complete value p[0..len) nests no more than max_depth
 * non-empty containers (a top-level array counts as one). */
bool fwd_mp_depth_ok(const char *p, size_t len, unsigned int max_depth);

enum fwd_mp_type {
    FWD_MP_NIL,
    FWD_MP_BOOL,
    FWD_MP_UINT,  /* non-negative integer: u */
    FWD_MP_INT,   /* negative integer: i */
    FWD_MP_FLOAT, /* f */
    FWD_MP_STR,   /* str or bin: body/body_len (is_bin tells which) */
    FWD_MP_ARRAY, /* n elements */
    FWD_MP_MAP,   /* n pairs */
    FWD_MP_EXT,   /* ext_type, body/body_len */
};

/* One value read by the cursor. Pointers borrow the cursor's bytes. */
struct fwd_mp_val {
    enum fwd_mp_type type;
    const char *raw; /* the value's first byte */
    size_t raw_len;  /* whole value; for an entered container only its header */
    const char *body;
    size_t body_len;
    uint64_t u;
    int64_t i;
    double f;
    uint32_t n;
    int8_t ext_type;
    bool is_bin;
    bool b;
};

/* A cursor over a complete (framed) value. */
struct fwd_mp_cur {
    const char *p;
    size_t len;
    size_t off;
};

/* Starts a cursor at p[0] (borrowed for the cursor's lifetime). */
void fwd_mp_cur_init(struct fwd_mp_cur *c, const char *p, size_t len);

/*
 * Reads the next value into *v. Arrays and maps are entered (the cursor
 * stops after their header, raw_len is the header) when `enter` is true,
 * stepped over whole otherwise. Returns 0, or SK_EPROTO when the bytes
 * end early or are not msgpack (the cursor then stays where it was).
 */
int fwd_mp_next(struct fwd_mp_cur *c, struct fwd_mp_val *v, bool enter) SK_WUR;

/* True when v is a str/bin equal to the C string s. */
bool fwd_mp_str_eq(const struct fwd_mp_val *v, const char *s);

#endif
