#include "config/diag.h"

#include <stdarg.h>
#include <string.h>

#include "log/log.h"
#include "util/alloc.h"
#include "util/buf.h"

#define SK_DIAG_MAX_TEXT 4096

void sk_diag_init(struct sk_diag *d)
{
    memset(d, 0, sizeof(*d));
}

void sk_diag_cleanup(struct sk_diag *d)
{
    for (size_t i = 0; i < d->count; i++) {
        sk_free(d->entries[i].text);
    }
    sk_free(d->entries);
    memset(d, 0, sizeof(*d));
}

void sk_diag_add(struct sk_diag *d, enum sk_diag_level level, const char *file, int line,
                 const char *where, const char *fmt, ...)
{
    struct sk_buf text;
    va_list ap;
    int rc = 0;

    if (level == SK_DIAG_ERROR) {
        d->errors++;
    }
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct sk_diag_entry *e = sk_realloc(d->entries, cap * sizeof(*e));

        if (e == NULL) {
            return;
        }
        d->entries = e;
        d->cap = cap;
    }
    sk_buf_init(&text, SK_DIAG_MAX_TEXT);
    if (file != NULL && line > 0) {
        rc = sk_buf_printf(&text, "%s:%d: ", file, line);
    } else if (file != NULL) {
        rc = sk_buf_printf(&text, "%s: ", file);
    }
    if (rc == 0 && where != NULL) {
        rc = sk_buf_printf(&text, "%s: ", where);
    }
    if (rc == 0) {
        va_start(ap, fmt);
        rc = sk_buf_vprintf(&text, fmt, ap);
        va_end(ap);
    }
    if (rc < 0 || text.data == NULL) {
        sk_buf_cleanup(&text);
        return;
    }
    d->entries[d->count].level = level;
    d->entries[d->count].text = sk_buf_take(&text, NULL);
    d->count++;
}

void sk_diag_log(const struct sk_diag *d)
{
    for (size_t i = 0; i < d->count; i++) {
        sk_log(d->entries[i].level == SK_DIAG_ERROR ? SK_LOG_ERROR : SK_LOG_WARN, "%s",
               d->entries[i].text);
    }
}

int sk_diag_contains(const struct sk_diag *d, const char *needle)
{
    for (size_t i = 0; i < d->count; i++) {
        if (strstr(d->entries[i].text, needle) != NULL) {
            return 1;
        }
    }
    return 0;
}
