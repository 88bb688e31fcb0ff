/* out_relabel: sends events on to the label given by @label. */
#include "plugin/plugin.h"

struct relabel_conf {
    int unused;
};

static int relabel_init(struct sk_instance *ins, struct sk_diag *d)
{
    if (ins->label == NULL) {
        char where[256];

        sk_diag_add(d, SK_DIAG_ERROR, ins->section->file, ins->section->line,
                    sk_instance_where(ins, where, sizeof(where)),
                    "@type relabel needs @label");
        return SK_ECONFIG;
    }
    return 0;
}

static int relabel_emit(struct sk_instance *ins, const char *tag, const struct sk_events *ev)
{
    return sk_emit_label(ins, ins->label, tag, ev);
}

const struct sk_plugin sk_plugin_out_relabel = {
    .name = "relabel",
    .kind = SK_PLUGIN_OUTPUT,
    .api = SK_PLUGIN_API,
    .flags = SK_PLUGIN_NO_BUFFER,
    .conf_size = sizeof(struct relabel_conf),
    .desc = "Route events to another <label>.",
    .init = relabel_init,
    .emit = relabel_emit,
};
