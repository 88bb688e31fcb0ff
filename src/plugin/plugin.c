#include "plugin/plugin.h"

#include <string.h>

const struct sk_plugin *sk_plugin_find(enum sk_plugin_kind kind, const char *type)
{
    for (const struct sk_plugin *const *p = sk_plugins; *p != NULL; p++) {
        if ((*p)->kind != kind) {
            continue;
        }
        if (strcmp((*p)->name, type) == 0 ||
            ((*p)->alias != NULL && strcmp((*p)->alias, type) == 0)) {
            return *p;
        }
    }
    return NULL;
}
