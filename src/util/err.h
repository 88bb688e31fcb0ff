#ifndef SK_UTIL_ERR_H
#define SK_UTIL_ERR_H

/*
 * One list of error codes for the whole program (libuv's model): integer
 * calls return 0 on success or a negative SK_E* code, and sk_strerror()
 * names it. Add new codes here only.
 */
#define SK_ERRNO_MAP(X)                                   \
    X(NOMEM, "out of memory")                             \
    X(INVAL, "invalid argument")                          \
    X(IO, "input/output error")                           \
    X(NOENT, "no such file or entry")                     \
    X(RANGE, "value out of range")                        \
    X(PARSE, "parse error")                               \
    X(TOOBIG, "too large")                                \
    X(AGAIN, "try again later")                           \
    X(NOSPC, "no space left on device")                   \
    X(CONFIG, "configuration error")                      \
    X(UNSUPPORTED, "not supported")                       \
    X(EXISTS, "already exists")                           \
    X(CLOSED, "closed")                                   \
    X(PROTO, "protocol error")                            \
    X(TIMEOUT, "timed out")                               \
    X(PERM, "permission denied")                          \
    X(FULL, "buffer full")

enum sk_err_pos_ {
    SK_ERR_POS_BASE_ = 0,
#define SK_ERR_POS_(name, text) SK_E##name##_POS_,
    SK_ERRNO_MAP(SK_ERR_POS_)
#undef SK_ERR_POS_
};

/* SK_ENOMEM = -1, SK_EINVAL = -2, ... in the order of the map. */
enum sk_err {
    SK_OK = 0,
#define SK_ERR_ENUM_(name, text) SK_E##name = -(int)SK_E##name##_POS_,
    SK_ERRNO_MAP(SK_ERR_ENUM_)
#undef SK_ERR_ENUM_
};

/* Returns a static description of an SK_E* code (or of 0). Never NULL. */
const char *sk_strerror(int err);

/* Maps a positive errno value to the closest SK_E* code. */
int sk_err_from_errno(int errnum);

#if defined(__GNUC__)
#define SK_WUR __attribute__((warn_unused_result))
#define SK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SK_WUR
#define SK_PRINTF(f, a)
#endif

/* Always-on check for states that would lose data: abort loudly. */
#define SK_BUG_ON(cond) \
    do { \
        if (cond) { \
            sk_bug(__FILE__, __LINE__, #cond); \
        } \
    } while (0)

void sk_bug(const char *file, int line, const char *what) __attribute__((noreturn));

#endif
