/* out_null: discards events on purpose (what the user asked for). */
#include "plugin/plugin.h"

struct null_conf {
    int unused;
};

static int null_emit(struct sk_instance *ins, const char *tag, const struct sk_events *ev)
{
    (void)ins;
    (void)tag;
    (void)ev;
    return 0;
}

static int null_flush(struct sk_flush *f)
{
    sk_flush_done(f, SK_FLUSH_OK, NULL);
    return 0;
}

const struct sk_plugin sk_plugin_out_null = {
    .name = "null",
    .kind = SK_PLUGIN_OUTPUT,
    .api = SK_PLUGIN_API,
    .conf_size = sizeof(struct null_conf),
    .desc = "Discard events.",
    .emit = null_emit,
    .flush = null_flush,
};
