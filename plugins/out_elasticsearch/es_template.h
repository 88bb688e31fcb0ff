#ifndef SK_OUT_ELASTICSEARCH_ES_TEMPLATE_H
#define SK_OUT_ELASTICSEARCH_ES_TEMPLATE_H

/*
 * Index template bodies (es-api.md §7). Pure functions: the user's template
 * (template_file, templates, after customize_template) or nothing, plus
 * what skiff must add, in; the PUT body out.
 *
 *   legacy      PUT /_template/<name>
 *               {"index_patterns":[..],"order":N,"settings":{..},"mappings":..}
 *   composable  PUT /_index_template/<name>
 *               {"index_patterns":[..],"priority":N,"template":{"settings":{..},..}
 *                [,"data_stream":{}]}
 *
 * With ILM/ISM, as fluent-plugin-elasticsearch's
 * inject_ilm_settings_to_template: index_patterns is replaced by the
 * rollover indices' pattern, the lifecycle settings (policy name, rollover
 * alias) are set (over any the user wrote), and the order / priority is
 * raised to <the template's own, or 50 / 100> + 1 + <separators in the
 * index prefix>, so that a per-alias template wins over a catch-all one of
 * the same family without two composable templates ever sharing a
 * priority. A legacy template's "template" key (the ES 5 name of
 * index_patterns) is dropped when index_patterns is replaced.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "param/param.h"
#include "util/buf.h"
#include "util/err.h"

enum es_template_api {
    ES_TEMPLATE_LEGACY,     /* _template */
    ES_TEMPLATE_COMPOSABLE, /* _index_template */
};

enum es_template_prio {
    ES_PRIO_KEEP, /* leave order / priority as written */
    ES_PRIO_BUMP, /* (own or 50 / 100) + 1 + prio_value */
    ES_PRIO_SET,  /* prio_value */
};

struct es_template_setting {
    const char *key;   /* borrowed: flat name, e.g. "index.lifecycle.name" */
    const char *value; /* borrowed */
};

struct es_template_spec {
    enum es_template_api api;
    const char *json; /* borrowed: the user's template, or NULL to generate one */
    size_t len;
    const char *pattern; /* borrowed: new index_patterns ([pattern]); NULL keeps them */
    enum es_template_prio prio;
    int64_t prio_value;
    const struct es_template_setting *settings; /* borrowed; nsettings of them */
    size_t nsettings;
    bool data_stream; /* composable: add "data_stream":{} */
};

/*
 * Tells which API a user's template is written for: composable when it has
 * "template" holding an object, "composed_of", "priority" or
 * "data_stream"; legacy when it has "settings", "mappings", "aliases",
 * "order" or a string "template". Returns 1 (decided, *api set), 0 (only
 * index_patterns and the like: either fits), SK_EINVAL with `err` (not a
 * JSON object), SK_ENOMEM.
 */
int es_template_shape(const char *json, size_t len, enum es_template_api *api, char *err,
                      size_t err_size) SK_WUR;

/*
 * Appends the PUT body for `s` to `out`. Returns 0; SK_EINVAL with `err`
 * (the user's template is not a JSON object); SK_ENOMEM / SK_ETOOBIG.
 */
int es_template_body(const struct es_template_spec *s, struct sk_buf *out, char *err,
                     size_t err_size) SK_WUR;

/*
 * customize_template: appends `text` to `out` with every occurrence of each
 * key of `pairs` replaced by its value in lower case (fluent-plugin-
 * elasticsearch's gsub on the template file, in the order given).
 * Returns 0, SK_ENOMEM, SK_ETOOBIG.
 */
int es_template_customize(const char *text, size_t len, const struct sk_kvv *pairs,
                          struct sk_buf *out) SK_WUR;

#endif
