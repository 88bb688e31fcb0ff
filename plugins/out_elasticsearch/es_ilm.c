/*
 * Lifecycle policy bodies for ILM and ISM, and the ILM -> ISM translation
 * (the table is in es_ilm.h). The policy is parsed into a msgpack tree
 * (json/json.h) and written back out; values skiff does not interpret
 * (allocation rules, sizes, ages) are copied as they are.
 */
#include "out_elasticsearch/es_ilm.h"

#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "json/json.h"
#include "util/alloc.h"

#define ES_POLICY_JSON_MAX (4u << 20)

const char es_ilm_default_policy[] =
    "{\"policy\":{\"phases\":{\"hot\":{\"min_age\":\"0ms\",\"actions\":{\"rollover\":"
    "{\"max_size\":\"50gb\",\"max_age\":\"30d\"}}}}}}";

const char *es_lifecycle_policy_path(enum es_lifecycle lc)
{
    switch (lc) {
    case ES_LIFECYCLE_ISM:
        return "/_plugins/_ism/policies/";
    case ES_LIFECYCLE_OPENDISTRO:
        return "/_opendistro/_ism/policies/";
    case ES_LIFECYCLE_ILM:
        break;
    }
    return "/_ilm/policy/";
}

const char *es_lifecycle_alias_setting(enum es_lifecycle lc)
{
    switch (lc) {
    case ES_LIFECYCLE_ISM:
        return "plugins.index_state_management.rollover_alias";
    case ES_LIFECYCLE_OPENDISTRO:
        return "opendistro.index_state_management.rollover_alias";
    case ES_LIFECYCLE_ILM:
        break;
    }
    return "index.lifecycle.rollover_alias";
}

/* --- tree helpers ------------------------------------------------------------- */

static const msgpack_object *get(const msgpack_object *map, const char *key)
{
    size_t n = strlen(key);

    if (map == NULL || map->type != MSGPACK_OBJECT_MAP) {
        return NULL;
    }
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;

        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0) {
            return &map->via.map.ptr[i].val;
        }
    }
    return NULL;
}

static bool key_is(const msgpack_object *k, const char *s)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(s) &&
           memcmp(k->via.str.ptr, s, k->via.str.size) == 0;
}

/* The policy object: the value of "policy", or the document itself. */
static const msgpack_object *policy_of(const msgpack_object *doc)
{
    const msgpack_object *p = get(doc, "policy");

    return p != NULL && p->type == MSGPACK_OBJECT_MAP ? p : doc;
}

/* A writer that stops at the first error, so that the translation reads
 * as a sequence of writes. */
struct w {
    struct sk_buf *out;
    int rc;
    char *err;
    size_t err_size;
};

static void lit(struct w *w, const char *s)
{
    if (w->rc == 0) {
        w->rc = sk_buf_append_str(w->out, s);
    }
}

static void str(struct w *w, const char *s, size_t n)
{
    if (w->rc == 0) {
        w->rc = sk_json_write_string(w->out, s, n);
    }
}

static void val(struct w *w, const msgpack_object *o)
{
    if (w->rc == 0) {
        w->rc = sk_json_write_object(w->out, o);
    }
}

static void fail(struct w *w, const char *what, const char *action, const char *phase)
{
    if (w->rc == 0) {
        snprintf(w->err, w->err_size, "ILM %s [%s] in phase [%s] has no ISM equivalent", what,
                 action, phase);
        w->rc = SK_EINVAL;
    }
}

/* Writes "key":value for each key of `map` listed in `from`, renamed to
 * the matching entry of `to`; any other key is an error. Returns the
 * number written. */
static int renamed(struct w *w, const msgpack_object *map, const char *const *from,
                   const char *const *to, const char *action, const char *phase, bool comma)
{
    int n = 0;

    for (uint32_t i = 0; map != NULL && map->type == MSGPACK_OBJECT_MAP && i < map->via.map.size;
         i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        size_t j = 0;

        while (from[j] != NULL && !key_is(k, from[j])) {
            j++;
        }
        if (from[j] == NULL) {
            char what[96];

            snprintf(what, sizeof(what), "setting [%.*s] of action",
                     k->type == MSGPACK_OBJECT_STR ? (int)k->via.str.size : 1,
                     k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "?");
            fail(w, what, action, phase);
            return n;
        }
        if (comma || n > 0) {
            lit(w, ",");
        }
        str(w, to[j], strlen(to[j]));
        lit(w, ":");
        val(w, &map->via.map.ptr[i].val);
        n++;
    }
    return n;
}

/* --- ILM actions -> ISM actions -------------------------------------------------- */

static void open_action(struct w *w, bool *first, const char *name)
{
    lit(w, *first ? "{\"" : ",{\"");
    lit(w, name);
    lit(w, "\":{");
    *first = false;
}

static void act_rollover(struct w *w, const msgpack_object *cfg, const char *phase, bool *first)
{
    static const char *const from[] = {"max_size", "max_age", "max_docs", "max_primary_shard_size",
                                       NULL};
    static const char *const to[] = {"min_size", "min_index_age", "min_doc_count",
                                     "min_primary_shard_size", NULL};

    open_action(w, first, "rollover");
    renamed(w, cfg, from, to, "rollover", phase, false);
    lit(w, "}}");
}

static void act_allocate(struct w *w, const msgpack_object *cfg, const char *phase, bool *first)
{
    static const char *const rules[] = {"require", "include", "exclude", NULL};
    static const char *const replicas[] = {"number_of_replicas", NULL};
    bool any = false;

    for (uint32_t i = 0; cfg != NULL && cfg->type == MSGPACK_OBJECT_MAP && i < cfg->via.map.size;
         i++) {
        const msgpack_object *k = &cfg->via.map.ptr[i].key;

        if (!key_is(k, "require") && !key_is(k, "include") && !key_is(k, "exclude") &&
            !key_is(k, "number_of_replicas")) {
            char what[96];

            snprintf(what, sizeof(what), "setting [%.*s] of action",
                     k->type == MSGPACK_OBJECT_STR ? (int)k->via.str.size : 1,
                     k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "?");
            fail(w, what, "allocate", phase);
            return;
        }
        any |= !key_is(k, "number_of_replicas");
    }
    if (get(cfg, "number_of_replicas") != NULL) {
        open_action(w, first, "replica_count");
        str(w, replicas[0], strlen(replicas[0]));
        lit(w, ":");
        val(w, get(cfg, "number_of_replicas"));
        lit(w, "}}");
    }
    if (any) {
        open_action(w, first, "allocation");
        for (size_t j = 0; rules[j] != NULL; j++) {
            if (get(cfg, rules[j]) != NULL) {
                str(w, rules[j], strlen(rules[j]));
                lit(w, ":");
                val(w, get(cfg, rules[j]));
                lit(w, ",");
            }
        }
        lit(w, "\"wait_for\":true}}");
    }
}

static void act_simple(struct w *w, const char *ism, const msgpack_object *cfg,
                       const char *const *from, const char *const *to, const char *ilm,
                       const char *phase, bool *first)
{
    open_action(w, first, ism);
    renamed(w, cfg, from, to, ilm, phase, false);
    lit(w, "}}");
}

/* ILM's execution order within a phase (the union over phases). */
static const char *const action_order[] = {
    "set_priority", "unfollow",          "rollover", "readonly",   "downsample",
    "allocate",     "migrate",           "shrink",   "forcemerge", "searchable_snapshot",
    "freeze",       "wait_for_snapshot", "delete",   NULL,
};

static void one_action(struct w *w, const char *name, const msgpack_object *cfg, const char *phase,
                       bool *first)
{
    static const char *const prio[] = {"priority", NULL};
    static const char *const shrink_from[] = {"number_of_shards", "max_primary_shard_size", NULL};
    static const char *const shrink_to[] = {"num_new_shards", "max_shard_size", NULL};
    static const char *const merge[] = {"max_num_segments", NULL};
    static const char *const none[] = {NULL};
    const msgpack_object *enabled = get(cfg, "enabled");

    if (strcmp(name, "set_priority") == 0) {
        act_simple(w, "index_priority", cfg, prio, prio, name, phase, first);
    } else if (strcmp(name, "rollover") == 0) {
        act_rollover(w, cfg, phase, first);
    } else if (strcmp(name, "readonly") == 0) {
        act_simple(w, "read_only", cfg, none, none, name, phase, first);
    } else if (strcmp(name, "allocate") == 0) {
        act_allocate(w, cfg, phase, first);
    } else if (strcmp(name, "shrink") == 0) {
        act_simple(w, "shrink", cfg, shrink_from, shrink_to, name, phase, first);
    } else if (strcmp(name, "forcemerge") == 0) {
        act_simple(w, "force_merge", cfg, merge, merge, name, phase, first);
    } else if (strcmp(name, "delete") == 0) {
        /* delete_searchable_snapshot only matters for searchable snapshots. */
        open_action(w, first, "delete");
        lit(w, "}}");
    } else if (strcmp(name, "migrate") == 0 && enabled != NULL &&
               enabled->type == MSGPACK_OBJECT_BOOLEAN && !enabled->via.boolean) {
        /* A disabled migration is nothing to do. */
    } else {
        fail(w, "action", name, phase);
    }
}

static void phase_actions(struct w *w, const msgpack_object *actions, const char *phase)
{
    bool first = true;

    /* Unknown action names first: they must not slip through unnoticed. */
    for (uint32_t i = 0;
         actions != NULL && actions->type == MSGPACK_OBJECT_MAP && i < actions->via.map.size; i++) {
        const msgpack_object *k = &actions->via.map.ptr[i].key;
        size_t j = 0;

        while (action_order[j] != NULL && !key_is(k, action_order[j])) {
            j++;
        }
        if (action_order[j] == NULL) {
            char name[64];

            snprintf(name, sizeof(name), "%.*s",
                     k->type == MSGPACK_OBJECT_STR ? (int)k->via.str.size : 1,
                     k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "?");
            fail(w, "action", name, phase);
            return;
        }
    }
    lit(w, "\"actions\":[");
    for (size_t j = 0; action_order[j] != NULL && w->rc == 0; j++) {
        const msgpack_object *cfg = get(actions, action_order[j]);

        if (cfg != NULL) {
            one_action(w, action_order[j], cfg, phase, &first);
        }
    }
    lit(w, "]");
}

/* ISM counts ages from index creation; "0ms"/"0s"/"0" need no condition. */
static bool zero_age(const msgpack_object *age)
{
    if (age == NULL) {
        return true;
    }
    if (age->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return age->via.u64 == 0;
    }
    if (age->type != MSGPACK_OBJECT_STR) {
        return false;
    }
    for (uint32_t i = 0; i < age->via.str.size; i++) {
        char c = age->via.str.ptr[i];

        if (c >= '1' && c <= '9') {
            return false;
        }
    }
    return true;
}

static const char *const phase_order[] = {"hot", "warm", "cold", "frozen", "delete", NULL};

static void ilm_to_ism(struct w *w, const msgpack_object *policy, const char *const *patterns,
                       size_t npatterns)
{
    const msgpack_object *phases = get(policy, "phases");
    const char *present[8];
    size_t n = 0;

    for (uint32_t i = 0; phases != NULL && i < phases->via.map.size; i++) {
        const msgpack_object *k = &phases->via.map.ptr[i].key;
        size_t j = 0;

        while (phase_order[j] != NULL && !key_is(k, phase_order[j])) {
            j++;
        }
        if (phase_order[j] == NULL || strcmp(phase_order[j], "frozen") == 0) {
            snprintf(w->err, w->err_size, "ILM phase [%.*s] has no ISM equivalent",
                     k->type == MSGPACK_OBJECT_STR ? (int)k->via.str.size : 1,
                     k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "?");
            w->rc = SK_EINVAL;
            return;
        }
    }
    for (size_t j = 0; phase_order[j] != NULL; j++) {
        if (get(phases, phase_order[j]) != NULL) {
            present[n++] = phase_order[j];
        }
    }
    if (n == 0) {
        snprintf(w->err, w->err_size, "the ILM policy has no phases");
        w->rc = SK_EINVAL;
        return;
    }
    lit(w, "{\"policy\":{\"description\":\"translated by skiff from an ILM policy\","
           "\"default_state\":");
    str(w, present[0], strlen(present[0]));
    lit(w, ",\"states\":[");
    for (size_t i = 0; i < n && w->rc == 0; i++) {
        lit(w, i > 0 ? ",{\"name\":" : "{\"name\":");
        str(w, present[i], strlen(present[i]));
        lit(w, ",");
        phase_actions(w, get(get(phases, present[i]), "actions"), present[i]);
        lit(w, ",\"transitions\":[");
        if (i + 1 < n) {
            const msgpack_object *age = get(get(phases, present[i + 1]), "min_age");

            lit(w, "{\"state_name\":");
            str(w, present[i + 1], strlen(present[i + 1]));
            if (!zero_age(age)) {
                lit(w, ",\"conditions\":{\"min_index_age\":");
                val(w, age);
                lit(w, "}");
            }
            lit(w, "}");
        }
        lit(w, "]}");
    }
    lit(w, "]");
    if (npatterns > 0) {
        lit(w, ",\"ism_template\":[{\"index_patterns\":[");
        for (size_t i = 0; i < npatterns; i++) {
            if (i > 0) {
                lit(w, ",");
            }
            str(w, patterns[i], strlen(patterns[i]));
        }
        lit(w, "],\"priority\":100}]");
    }
    lit(w, "}}");
}

/* An ISM policy as written, plus an ism_template when it has none. */
static void ism_as_is(struct w *w, const msgpack_object *policy, const char *const *patterns,
                      size_t npatterns)
{
    bool add = npatterns > 0 && get(policy, "ism_template") == NULL;

    lit(w, "{\"policy\":{");
    for (uint32_t i = 0; i < policy->via.map.size; i++) {
        const msgpack_object *k = &policy->via.map.ptr[i].key;

        if (i > 0) {
            lit(w, ",");
        }
        val(w, k);
        lit(w, ":");
        val(w, &policy->via.map.ptr[i].val);
    }
    if (add) {
        lit(w, policy->via.map.size > 0 ? ",\"ism_template\":[{\"index_patterns\":["
                                        : "\"ism_template\":[{\"index_patterns\":[");
        for (size_t i = 0; i < npatterns; i++) {
            if (i > 0) {
                lit(w, ",");
            }
            str(w, patterns[i], strlen(patterns[i]));
        }
        lit(w, "],\"priority\":100}]");
    }
    lit(w, "}}");
}

/* --- entry points ------------------------------------------------------------------ */

static int parse(const char *json, size_t len, struct sk_buf *scratch, msgpack_unpacked *up,
                 enum es_policy_form *form, char *err, size_t err_size)
{
    const msgpack_object *p;
    int rc = sk_json_parse(json, len, scratch, up);

    if (rc == SK_ENOMEM) {
        return rc;
    }
    if (rc < 0 || up->data.type != MSGPACK_OBJECT_MAP) {
        snprintf(err, err_size, "the policy is not a JSON object");
        return SK_EINVAL;
    }
    p = policy_of(&up->data);
    if (get(p, "phases") != NULL && get(p, "phases")->type == MSGPACK_OBJECT_MAP) {
        *form = ES_POLICY_ILM;
        return 0;
    }
    if (get(p, "states") != NULL && get(p, "states")->type == MSGPACK_OBJECT_ARRAY) {
        *form = ES_POLICY_ISM;
        return 0;
    }
    snprintf(err, err_size, "the policy has neither \"phases\" (ILM) nor \"states\" (ISM)");
    return SK_EINVAL;
}

int es_policy_form(const char *json, size_t len, enum es_policy_form *form, char *err,
                   size_t err_size)
{
    struct sk_buf scratch;
    msgpack_unpacked up;
    int rc;

    sk_buf_init(&scratch, ES_POLICY_JSON_MAX);
    msgpack_unpacked_init(&up);
    rc = parse(json, len, &scratch, &up, form, err, err_size);
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);
    return rc;
}

int es_policy_body(const char *json, size_t len, enum es_lifecycle lc, const char *const *patterns,
                   size_t npatterns, struct sk_buf *out, char *err, size_t err_size)
{
    struct sk_buf scratch;
    msgpack_unpacked up;
    enum es_policy_form form = ES_POLICY_ILM;
    struct w w = {out, 0, err, err_size};
    const msgpack_object *p;

    sk_buf_init(&scratch, ES_POLICY_JSON_MAX);
    msgpack_unpacked_init(&up);
    w.rc = parse(json, len, &scratch, &up, &form, err, err_size);
    if (w.rc == 0) {
        p = policy_of(&up.data);
        if (lc == ES_LIFECYCLE_ILM && form == ES_POLICY_ISM) {
            snprintf(err, err_size,
                     "an ISM policy (\"states\") cannot be installed as an "
                     "Elasticsearch ILM policy: write it with \"phases\"");
            w.rc = SK_EINVAL;
        } else if (lc == ES_LIFECYCLE_ILM) {
            lit(&w, "{\"policy\":");
            val(&w, p);
            lit(&w, "}");
        } else if (form == ES_POLICY_ISM) {
            ism_as_is(&w, p, patterns, npatterns);
        } else {
            ilm_to_ism(&w, p, patterns, npatterns);
        }
    }
    msgpack_unpacked_destroy(&up);
    sk_buf_cleanup(&scratch);
    return w.rc;
}
