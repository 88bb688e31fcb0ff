/* From the configuration tree to plugin instances and routes. */
#include <stdio.h>
#include <string.h>

#include "engine/engine_int.h"
#include "log/log.h"
#include "parser/parser.h"
#include "util/alloc.h"

static const char *const kind_names[] = {"input", "parser", "filter", "output"};

static const char *const log_levels[] = {"trace", "debug", "info", "warn", "error", "fatal", NULL};

#define SYS(f) offsetof(struct sk_system_conf, f)
static const struct sk_param_def system_params[] = {
    {.name = "log_level", .type = SK_PARAM_ENUM, .def = "info", .choices = log_levels,
     .offset = SYS(log_level), .desc = "skiff's own log level."},
    {.name = "root_dir", .type = SK_PARAM_STRING, .offset = SYS(root_dir),
     .desc = "Directory for buffers of outputs with an @id."},
    {.name = "workers", .type = SK_PARAM_INT, .def = "1", .min = "1", .offset = SYS(workers),
     .desc = "Fluentd worker processes; skiff always runs one."},
    {.name = "suppress_repeated_stacktrace", .type = SK_PARAM_BOOL, .def = "true",
     .offset = SYS(suppress_repeated_stacktrace), .flags = SK_PARAM_IGNORED,
     .desc = "Accepted for compatibility."},
    {.name = "without_source", .type = SK_PARAM_BOOL, .def = "false",
     .offset = SYS(without_source), .desc = "Start no input."},
    {.name = "process_name", .type = SK_PARAM_STRING, .offset = SYS(process_name),
     .flags = SK_PARAM_IGNORED, .desc = "Accepted for compatibility."},
    SK_PARAM_END,
};

/* Fluentd system knobs that mean nothing for skiff: accepted silently. */
static const char *const system_ignored[] = {
    "suppress_config_dump", "log_event_verbose", "emit_error_log_interval", "rpc_endpoint",
    "enable_get_dump", "file_permission", "dir_permission", "strict_config_value",
    "enable_msgpack_time_support", "disable_shared_socket", "enable_input_metrics",
    "enable_size_metrics", "enable_jit", "format", "time_format", "ignore_repeated_log_interval",
    "ignore_same_log_interval", "counter_server", "counter_client", NULL};

static void mark_param(struct sk_conf_section *sec, const char *key)
{
    for (size_t i = 0; i < sec->nparams; i++) {
        if (strcmp(sec->params[i].key, key) == 0) {
            sec->params[i].used = true;
        }
    }
}

static int apply_system(struct sk_engine *eng, struct sk_conf_section *sec, struct sk_diag *d)
{
    int rc = sk_param_apply(system_params, sec, &eng->system, d);

    sec->used = true;
    for (const char *const *k = system_ignored; *k != NULL; k++) {
        mark_param(sec, *k);
    }
    for (size_t i = 0; i < sec->nchildren; i++) {
        /* <log> (format, rotation) is skiff's own logging: accepted. */
        sec->children[i]->used = true;
        for (size_t j = 0; j < sec->children[i]->nparams; j++) {
            sec->children[i]->params[j].used = true;
        }
    }
    if (eng->system.workers > 1) {
        sk_diag_add(d, SK_DIAG_WARN, sec->file, sec->line, "<system>",
                    "workers %lld: skiff runs one process (it is fast enough alone)",
                    (long long)eng->system.workers);
    }
    sk_log_set_level((enum sk_log_level)eng->system.log_level);
    return rc;
}

void sk_section_free(struct sk_conf_section *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nparams; i++) {
        sk_free(s->params[i].key);
        sk_free(s->params[i].value);
    }
    sk_free(s->params);
    sk_free(s->children); /* children are borrowed from the real tree */
    sk_free(s->name);
    sk_free(s->arg);
    sk_free(s);
}

static int section_add(struct sk_conf_section *s, const char *key, const char *value,
                       const char *file, int line)
{
    struct sk_conf_param *p = sk_realloc(s->params, (s->nparams + 1) * sizeof(*p));

    if (p == NULL) {
        return SK_ENOMEM;
    }
    s->params = p;
    p = &s->params[s->nparams];
    memset(p, 0, sizeof(*p));
    p->key = sk_strdup(key);
    p->value = sk_strdup(value);
    p->file = file;
    p->line = line;
    s->nparams++;
    return p->key != NULL && p->value != NULL ? 0 : SK_ENOMEM;
}

static struct sk_conf_section *section_new(const char *name, const char *file, int line)
{
    struct sk_conf_section *s = sk_calloc(1, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    s->name = sk_strdup(name);
    s->file = file;
    s->line = line;
    if (s->name == NULL) {
        sk_free(s);
        return NULL;
    }
    return s;
}

static struct sk_conf_section *find_child(struct sk_conf_section *sec, const char *name)
{
    for (size_t i = 0; i < sec->nchildren; i++) {
        if (strcmp(sec->children[i]->name, name) == 0) {
            return sec->children[i];
        }
    }
    return NULL;
}

static void mark_tree_used(struct sk_conf_section *sec)
{
    sec->used = true;
    for (size_t i = 0; i < sec->nparams; i++) {
        sec->params[i].used = true;
    }
    for (size_t i = 0; i < sec->nchildren; i++) {
        mark_tree_used(sec->children[i]);
    }
}

static const char *instance_type(struct sk_conf_section *sec, struct sk_diag *d,
                                 const char *where)
{
    struct sk_conf_param *p = sk_conf_find(sec, "@type");

    if (p == NULL) {
        p = sk_conf_find(sec, "type"); /* v0.12 spelling */
    }
    if (p == NULL) {
        return NULL;
    }
    p->used = true;
    return p->value;
}

/*
 * Output buffer settings: the <buffer> section plus v0.12 names written in
 * <match> itself, merged into one synthetic section so one table applies.
 * Marks are copied back so unused-parameter warnings stay right.
 */
static int build_buffer(struct sk_instance *ins, struct sk_diag *d)
{
    struct sk_core *core = ins->core;
    struct sk_conf_section *real = find_child(ins->section, "buffer");
    struct sk_conf_section *syn;
    const char *keys;
    int rc = 0;

    syn = section_new("buffer", real ? real->file : ins->section->file,
                      real ? real->line : ins->section->line);
    if (syn == NULL) {
        return SK_ENOMEM;
    }
    for (size_t i = 0; real != NULL && i < real->nparams && rc == 0; i++) {
        rc = section_add(syn, real->params[i].key, real->params[i].value, real->params[i].file,
                         real->params[i].line);
    }
    for (size_t i = 0; sk_buffer_v012_names[i][0] != NULL && rc == 0; i++) {
        struct sk_conf_param *p = sk_conf_find(ins->section, sk_buffer_v012_names[i][0]);

        if (p == NULL) {
            continue;
        }
        p->used = true;
        if (sk_buffer_v012_names[i][1] != NULL &&
            (real == NULL || sk_conf_find(real, sk_buffer_v012_names[i][1]) == NULL)) {
            rc = section_add(syn, sk_buffer_v012_names[i][1], p->value, p->file, p->line);
        }
    }
    if (rc == 0 && sk_param_apply(sk_buffer_params, syn, &core->bconf, d) < 0) {
        rc = SK_ECONFIG;
    }
    for (size_t i = 0; real != NULL && i < real->nparams; i++) {
        real->params[i].used = syn->params[i].used;
    }
    if (real != NULL) {
        real->used = true;
    }
    sk_section_free(syn);
    if (rc < 0) {
        return rc;
    }
    keys = real != NULL && real->arg != NULL && *real->arg != '\0' ? real->arg
                                                                   : ins->plugin->default_chunk_keys;
    core->chunk_keys = sk_strdup(keys != NULL ? keys : "");
    if (core->chunk_keys == NULL) {
        return SK_ENOMEM;
    }
    if (ins->engine->dry_run) {
        return 0;
    }
    core->buffer = sk_buffer_create(ins, &core->bconf, core->chunk_keys, ins->engine->loop,
                                    ins->engine->system.root_dir, d, ins->section->file,
                                    ins->section->line);
    return core->buffer != NULL ? 0 : SK_ECONFIG;
}

/* <secondary>: where chunks go that the output gave up on. */
static int build_secondary(struct sk_instance *ins, struct sk_diag *d)
{
    struct sk_conf_section *sec = find_child(ins->section, "secondary");
    struct sk_core *core = ins->core;
    struct sk_instance *second;
    char where[512];

    if (sec == NULL) {
        return 0;
    }
    if (core->chunk_keys == NULL) {
        sk_conf_section_label(sec, where, sizeof(where));
        sk_diag_add(d, SK_DIAG_ERROR, sec->file, sec->line, where,
                    "<secondary> needs a buffered output (add a <buffer> section)");
        return SK_ECONFIG;
    }
    second = sk_instance_create(ins->engine, SK_PLUGIN_OUTPUT, sec, NULL, d);
    if (second == NULL) {
        return SK_ECONFIG;
    }
    if (core->buffer != NULL) {
        sk_buffer_set_secondary(core->buffer, second);
    }
    return 0;
}

static bool wants_buffer(const struct sk_instance *ins)
{
    if (ins->plugin->flags & SK_PLUGIN_NO_BUFFER) {
        return false;
    }
    return (ins->plugin->flags & SK_PLUGIN_BUFFERED) || find_child(ins->section, "buffer") != NULL;
}

static int mark_common(struct sk_instance *ins, struct sk_diag *d, const char *where)
{
    struct sk_conf_param *p;

    p = sk_conf_find(ins->section, "@id");
    if (p != NULL) {
        p->used = true;
        sk_free(ins->id);
        ins->id = sk_strdup(p->value);
    }
    p = sk_conf_find(ins->section, "@label");
    if (p != NULL) {
        p->used = true;
        ins->label = sk_strdup(p->value);
        if (ins->label == NULL) {
            return SK_ENOMEM;
        }
    }
    p = sk_conf_find(ins->section, "@log_level");
    if (p == NULL) {
        p = sk_conf_find(ins->section, "log_level");
    }
    ins->log_level = -1;
    if (p != NULL) {
        p->used = true;
        ins->log_level = sk_log_level_parse(p->value);
        if (ins->log_level < 0) {
            sk_diag_add(d, SK_DIAG_ERROR, p->file, p->line, where,
                        "invalid value for parameter '@log_level': '%s'", p->value);
            return SK_ECONFIG;
        }
    }
    return ins->id != NULL ? 0 : SK_ENOMEM;
}

struct sk_instance *sk_instance_create(struct sk_engine *eng, enum sk_plugin_kind kind,
                                       struct sk_conf_section *sec, const char *type,
                                       struct sk_diag *d)
{
    char where[512];
    char idbuf[128];
    const struct sk_plugin *plugin;
    struct sk_instance *ins;
    struct sk_instance **grown;
    int rc = 0;

    sk_conf_section_label(sec, where, sizeof(where));
    sec->used = true;
    if (type == NULL) {
        type = instance_type(sec, d, where);
    }
    if (type == NULL) {
        sk_diag_add(d, SK_DIAG_ERROR, sec->file, sec->line, where, "'@type' parameter is required");
        return NULL;
    }
    plugin = sk_plugin_find(kind, type);
    if (plugin == NULL) {
        sk_diag_add(d, SK_DIAG_ERROR, sec->file, sec->line, where, "unknown %s type '%s'",
                    kind_names[kind], type);
        mark_tree_used(sec); /* one error, not one warning per parameter */
        return NULL;
    }
    ins = sk_calloc(1, sizeof(*ins));
    grown = sk_realloc(eng->instances, (eng->ninstances + 1) * sizeof(*grown));
    if (ins == NULL || grown == NULL) {
        sk_free(ins);
        if (grown != NULL) {
            eng->instances = grown;
        }
        return NULL;
    }
    eng->instances = grown;
    eng->instances[eng->ninstances++] = ins;
    ins->plugin = plugin;
    ins->engine = eng;
    ins->section = sec;
    snprintf(idbuf, sizeof(idbuf), "%s.%zu", plugin->name, eng->ninstances);
    ins->id = sk_strdup(idbuf);
    ins->conf = sk_calloc(1, plugin->conf_size ? plugin->conf_size : 1);
    ins->core = sk_calloc(1, sizeof(struct sk_core));
    if (ins->id == NULL || ins->conf == NULL || ins->core == NULL) {
        return NULL; /* the engine destroys the half-built instance */
    }
    if (mark_common(ins, d, where) < 0) {
        rc = SK_ECONFIG;
    }
    if (kind == SK_PLUGIN_PARSER &&
        sk_param_apply(sk_parser_common_params, sec, ins->conf, d) < 0) {
        rc = SK_ECONFIG;
    }
    if (plugin->params != NULL && sk_param_apply(plugin->params, sec, ins->conf, d) < 0) {
        rc = SK_ECONFIG;
    }
    if (rc == 0 && kind == SK_PLUGIN_OUTPUT && wants_buffer(ins) && build_buffer(ins, d) < 0) {
        rc = SK_ECONFIG;
    }
    if (rc == 0 && kind == SK_PLUGIN_OUTPUT && build_secondary(ins, d) < 0) {
        rc = SK_ECONFIG;
    }
    if (rc == 0 && plugin->init != NULL && plugin->init(ins, d) < 0) {
        rc = SK_ECONFIG;
    }
    return rc == 0 ? ins : NULL;
}

void sk_instance_destroy(struct sk_instance *ins)
{
    struct sk_core *core;

    if (ins == NULL) {
        return;
    }
    core = ins->core;
    if (ins->plugin->destroy != NULL) {
        ins->plugin->destroy(ins);
    }
    if (core != NULL) {
        sk_buffer_destroy(core->buffer);
        sk_param_release(sk_buffer_params, &core->bconf);
        sk_free(core->chunk_keys);
        sk_section_free(core->synthetic);
        sk_free(core);
    }
    if (ins->plugin->kind == SK_PLUGIN_PARSER) {
        sk_param_release(sk_parser_common_params, ins->conf);
    }
    if (ins->plugin->params != NULL) {
        sk_param_release(ins->plugin->params, ins->conf);
    }
    sk_free(ins->conf);
    sk_free(ins->id);
    sk_free(ins->label);
    sk_free(ins);
}

struct sk_label *sk_engine_find_label(struct sk_engine *eng, const char *name)
{
    for (size_t i = 1; i < eng->nlabels; i++) {
        if (strcmp(eng->labels[i].name, name) == 0) {
            return &eng->labels[i];
        }
    }
    return NULL;
}

static struct sk_label *label_add(struct sk_engine *eng, const char *name)
{
    struct sk_label *grown = sk_realloc(eng->labels, (eng->nlabels + 1) * sizeof(*grown));

    if (grown == NULL) {
        return NULL;
    }
    eng->labels = grown;
    memset(&grown[eng->nlabels], 0, sizeof(*grown));
    if (name != NULL) {
        grown[eng->nlabels].name = sk_strdup(name);
        if (grown[eng->nlabels].name == NULL) {
            return NULL;
        }
    }
    return &eng->labels[eng->nlabels++];
}

static int route_add(struct sk_engine *eng, size_t label_index, struct sk_conf_section *sec,
                     bool is_filter, struct sk_diag *d)
{
    struct sk_label *label = &eng->labels[label_index];
    struct sk_route *grown;
    struct sk_instance *ins;
    char where[512];

    sk_conf_section_label(sec, where, sizeof(where));
    ins = sk_instance_create(eng, is_filter ? SK_PLUGIN_FILTER : SK_PLUGIN_OUTPUT, sec, NULL, d);
    if (ins == NULL) {
        return SK_ECONFIG;
    }
    label = &eng->labels[label_index];
    grown = sk_realloc(label->routes, (label->nroutes + 1) * sizeof(*grown));
    if (grown == NULL) {
        return SK_ENOMEM;
    }
    label->routes = grown;
    grown[label->nroutes].ins = ins;
    grown[label->nroutes].is_filter = is_filter;
    if (sk_pattern_init(&grown[label->nroutes].pattern, sec->arg) < 0) {
        sk_diag_add(d, SK_DIAG_ERROR, sec->file, sec->line, where, "invalid tag pattern '%s'",
                    sec->arg ? sec->arg : "");
        return SK_ECONFIG;
    }
    label->nroutes++;
    return 0;
}

static int build_routes(struct sk_engine *eng, size_t label_index, struct sk_conf_section *sec,
                        struct sk_diag *d)
{
    int result = 0;

    for (size_t i = 0; i < sec->nchildren; i++) {
        struct sk_conf_section *c = sec->children[i];
        bool filter = strcmp(c->name, "filter") == 0;

        if (filter || strcmp(c->name, "match") == 0) {
            if (route_add(eng, label_index, c, filter, d) < 0) {
                result = SK_ECONFIG;
            }
        }
    }
    return result;
}

/* Directives at the top (or inside <worker N>). */
static int build_top(struct sk_engine *eng, struct sk_conf_section *top, struct sk_diag *d)
{
    int result = 0;
    char where[512];

    for (size_t i = 0; i < top->nchildren; i++) {
        struct sk_conf_section *c = top->children[i];

        sk_conf_section_label(c, where, sizeof(where));
        if (strcmp(c->name, "system") == 0) {
            continue; /* applied first, in sk_engine_build */
        }
        if (strcmp(c->name, "source") == 0) {
            if (!eng->system.without_source &&
                sk_instance_create(eng, SK_PLUGIN_INPUT, c, NULL, d) == NULL) {
                result = SK_ECONFIG;
            }
        } else if (strcmp(c->name, "worker") == 0) {
            c->used = true;
            if (build_top(eng, c, d) < 0) {
                result = SK_ECONFIG;
            }
        } else if (strcmp(c->name, "label") == 0) {
            c->used = true;
            if (c->arg == NULL || c->arg[0] != '@') {
                sk_diag_add(d, SK_DIAG_ERROR, c->file, c->line, where,
                            "a label name must start with '@'");
                result = SK_ECONFIG;
                continue;
            }
            if (sk_engine_find_label(eng, c->arg) != NULL) {
                sk_diag_add(d, SK_DIAG_ERROR, c->file, c->line, where,
                            "label '%s' is defined twice", c->arg);
                result = SK_ECONFIG;
                continue;
            }
            if (label_add(eng, c->arg) == NULL) {
                return SK_ENOMEM;
            }
            if (build_routes(eng, eng->nlabels - 1, c, d) < 0) {
                result = SK_ECONFIG;
            }
        } else if (strcmp(c->name, "match") != 0 && strcmp(c->name, "filter") != 0) {
            sk_diag_add(d, SK_DIAG_ERROR, c->file, c->line, where, "unknown directive <%s>",
                        c->name);
            result = SK_ECONFIG;
        }
    }
    if (build_routes(eng, 0, top, d) < 0) {
        result = SK_ECONFIG;
    }
    return result;
}

static int check_labels(struct sk_engine *eng, struct sk_diag *d)
{
    int result = 0;

    for (size_t i = 0; i < eng->ninstances; i++) {
        struct sk_instance *ins = eng->instances[i];

        if (ins->label != NULL && sk_engine_find_label(eng, ins->label) == NULL) {
            char where[512];

            sk_conf_section_label(ins->section, where, sizeof(where));
            sk_diag_add(d, SK_DIAG_ERROR, ins->section->file, ins->section->line, where,
                        "@label '%s' is not defined", ins->label);
            result = SK_ECONFIG;
        }
    }
    return result;
}

int sk_engine_build(struct sk_engine *eng, struct sk_diag *d)
{
    struct sk_conf_section *root = eng->conf->root;
    int result = 0;

    if (label_add(eng, NULL) == NULL) {
        return SK_ENOMEM;
    }
    for (size_t i = 0; i < root->nchildren; i++) {
        if (strcmp(root->children[i]->name, "system") == 0 &&
            apply_system(eng, root->children[i], d) < 0) {
            result = SK_ECONFIG;
        }
    }
    /* Labels must exist before inputs name them: collect label names first. */
    if (build_top(eng, root, d) < 0) {
        result = SK_ECONFIG;
    }
    if (check_labels(eng, d) < 0) {
        result = SK_ECONFIG;
    }
    sk_param_warn_unused(root, d);
    return result;
}

/* --- parsers owned by other plugins ------------------------------------ */

/* Builds a <parse> section from v0.12 "format" style parameters. */
static struct sk_conf_section *synthesize_parse(struct sk_instance *owner, const char *deftype)
{
    struct sk_conf_param *fmt = sk_conf_find(owner->section, "format");
    const struct sk_plugin *plugin;
    struct sk_conf_section *syn;
    const char *type = deftype;
    int rc = 0;

    syn = section_new("parse", owner->section->file, owner->section->line);
    if (syn == NULL) {
        return NULL;
    }
    if (fmt != NULL) {
        fmt->used = true;
        type = fmt->value;
        syn->line = fmt->line;
        if (fmt->value[0] == '/') {
            type = "regexp";
            rc = section_add(syn, "expression", fmt->value, fmt->file, fmt->line);
        }
    }
    if (type == NULL) {
        sk_section_free(syn);
        return NULL;
    }
    if (rc == 0) {
        rc = section_add(syn, "@type", type, syn->file, syn->line);
    }
    /* Parser parameters written beside "format" belong to the parser. */
    plugin = sk_plugin_find(SK_PLUGIN_PARSER, type);
    for (size_t i = 0; i < owner->section->nparams && rc == 0; i++) {
        struct sk_conf_param *p = &owner->section->params[i];
        bool known = false;

        for (const struct sk_param_def *def = sk_parser_common_params; def->name; def++) {
            known = known || strcmp(def->name, p->key) == 0;
        }
        for (const struct sk_param_def *def = plugin ? plugin->params : NULL; def && def->name;
             def++) {
            known = known || strcmp(def->name, p->key) == 0;
        }
        if (known || (strncmp(p->key, "format", 6) == 0 && p->key[6] >= '0' && p->key[6] <= '9')) {
            p->used = true;
            rc = section_add(syn, p->key, p->value, p->file, p->line);
        }
    }
    if (rc < 0) {
        sk_section_free(syn);
        return NULL;
    }
    return syn;
}

struct sk_instance *sk_parser_create(struct sk_instance *owner, const char *default_type,
                                     struct sk_diag *d)
{
    struct sk_conf_section *sec = find_child(owner->section, "parse");
    struct sk_conf_section *syn = NULL;
    struct sk_instance *parser;
    char where[512];

    if (sec == NULL) {
        syn = synthesize_parse(owner, default_type);
        if (syn == NULL) {
            sk_conf_section_label(owner->section, where, sizeof(where));
            sk_diag_add(d, SK_DIAG_ERROR, owner->section->file, owner->section->line, where,
                        "a <parse> section (or 'format') is required");
            return NULL;
        }
        sec = syn;
    }
    parser = sk_instance_create(owner->engine, SK_PLUGIN_PARSER, sec, NULL, d);
    if (parser == NULL) {
        /* The half-built instance, if any, is the engine's; the section is ours. */
        if (syn != NULL) {
            struct sk_engine *eng = owner->engine;

            if (eng->ninstances > 0 && eng->instances[eng->ninstances - 1]->section == syn) {
                ((struct sk_core *)eng->instances[eng->ninstances - 1]->core)->synthetic = syn;
            } else {
                sk_section_free(syn);
            }
        }
        return NULL;
    }
    ((struct sk_core *)parser->core)->synthetic = syn;
    return parser;
}

int sk_parser_parse(struct sk_instance *parser, const char *line, size_t len, struct sk_evbuf *out)
{
    return parser->plugin->parse(parser, line, len, out);
}

void sk_parser_destroy(struct sk_instance *parser)
{
    (void)parser; /* owned by the engine's instance list */
}

struct sk_instance *sk_output_create(struct sk_instance *owner, struct sk_conf_section *sec,
                                     struct sk_diag *d)
{
    return sk_instance_create(owner->engine, SK_PLUGIN_OUTPUT, sec, NULL, d);
}

const char *sk_instance_where(const struct sk_instance *ins, char *out, size_t size)
{
    return sk_conf_section_label(ins->section, out, size);
}
