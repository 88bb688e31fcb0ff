#include "util/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

const char *sk_strerror(int err)
{
    if (err == 0) {
        return "success";
    }
#define SK_ERR_CASE_(name, text) \
    if (err == SK_E##name) { \
        return text; \
    }
    SK_ERRNO_MAP(SK_ERR_CASE_)
#undef SK_ERR_CASE_
    return "unknown error";
}

int sk_err_from_errno(int errnum)
{
    switch (errnum) {
    case ENOMEM:
        return SK_ENOMEM;
    case ENOENT:
    case ENOTDIR:
        return SK_ENOENT;
    case ENOSPC:
    case EDQUOT:
        return SK_ENOSPC;
    case EACCES:
    case EPERM:
    case EROFS:
        return SK_EPERM;
    case EAGAIN:
    case EINTR:
        return SK_EAGAIN;
    case EEXIST:
        return SK_EEXISTS;
    case EINVAL:
        return SK_EINVAL;
    case ETIMEDOUT:
        return SK_ETIMEOUT;
    default:
        return SK_EIO;
    }
}

void sk_bug(const char *file, int line, const char *what)
{
    fprintf(stderr, "skiff: BUG at %s:%d: %s\n", file, line, what);
    abort();
}
