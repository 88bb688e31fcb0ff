/*
 * filter elasticsearch_genid: adds an id to each record so that the
 * Elasticsearch output can index idempotently (id_key), as
 * fluent-plugin-elasticsearch's filter of the same name does:
 *
 *   default               base64 of a random UUID string (not repeatable)
 *   use_record_as_seed    base64 of hash_type(seed), seed per genid_seed.h:
 *                         the same record always gets the same id, so a
 *                         retried or re-shipped chunk overwrites (or, with
 *                         write_operation create, is refused as 409) instead
 *                         of duplicating.
 *
 *   <filter **>
 *     @type elasticsearch_genid
 *     hash_id_key _hash
 *     use_record_as_seed true
 *     record_keys remote,time_local,request
 *   </filter>
 */
#include <string.h>

#include "filter_elasticsearch_genid/genid_hash.h"
#include "filter_elasticsearch_genid/genid_seed.h"
#include "plugin/plugin.h"

#define GENID_SEED_MAX (16u << 20)
#define GENID_ID_MAX 96

struct genid_conf {
    char *hash_id_key;
    bool include_tag_in_seed;
    bool include_time_in_seed;
    bool use_record_as_seed;
    bool use_entire_record;
    struct sk_strv record_keys;
    char *separator;
    int hash_type;
};

struct genid_ctx {
    struct genid_seed_opts opts;
    struct sk_buf seed; /* reused for every record */
    size_t klen;
};

static const char *const hash_types[] = {"md5", "sha1", "sha256", "sha512", NULL};

static const struct sk_param_def genid_params[] = {
    {.name = "hash_id_key", .type = SK_PARAM_STRING, .def = "_hash",
     .offset = offsetof(struct genid_conf, hash_id_key), .desc = "Record key for the id."},
    {.name = "include_tag_in_seed", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct genid_conf, include_tag_in_seed),
     .desc = "Start the seed with the tag."},
    {.name = "include_time_in_seed", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct genid_conf, include_time_in_seed),
     .desc = "Add the event time (seconds) to the seed."},
    {.name = "use_record_as_seed", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct genid_conf, use_record_as_seed),
     .desc = "Hash the record (record_keys, or all of it) instead of a random UUID."},
    {.name = "use_entire_record", .type = SK_PARAM_BOOL, .def = "false",
     .offset = offsetof(struct genid_conf, use_entire_record),
     .desc = "Seed with every key and value of the record."},
    {.name = "record_keys", .type = SK_PARAM_ARRAY, .def = "[]",
     .offset = offsetof(struct genid_conf, record_keys), .desc = "Keys whose values form the seed."},
    {.name = "separator", .type = SK_PARAM_STRING, .def = "_",
     .offset = offsetof(struct genid_conf, separator), .desc = "Between the seed's parts."},
    {.name = "hash_type", .type = SK_PARAM_ENUM, .def = "sha1", .choices = hash_types,
     .offset = offsetof(struct genid_conf, hash_type), .desc = "md5, sha1, sha256 or sha512."},
    SK_PARAM_END,
};

static int genid_init(struct sk_instance *ins, struct sk_diag *d)
{
    const struct genid_conf *c = ins->conf;
    struct genid_ctx *g;
    char where[256];

    if (c->use_record_as_seed && !c->use_entire_record && c->record_keys.n == 0) {
        sk_diag_add(d, SK_DIAG_ERROR, ins->section->file, ins->section->line,
                    sk_instance_where(ins, where, sizeof(where)),
                    "When using record as hash seed, users must specify `record_keys`.");
        return SK_ECONFIG;
    }
    g = sk_calloc(1, sizeof(*g));
    if (g == NULL) {
        return SK_ENOMEM;
    }
    g->opts.include_tag = c->include_tag_in_seed;
    g->opts.include_time = c->include_time_in_seed;
    g->opts.use_entire_record = c->use_entire_record;
    g->opts.record_keys = &c->record_keys;
    g->opts.separator = c->separator;
    g->klen = strlen(c->hash_id_key);
    sk_buf_init(&g->seed, GENID_SEED_MAX);
    ins->ctx = g;
    return 0;
}

static void genid_destroy(struct sk_instance *ins)
{
    struct genid_ctx *g = ins->ctx;

    if (g == NULL) {
        return;
    }
    sk_buf_cleanup(&g->seed);
    sk_free(g);
    ins->ctx = NULL;
}

/* The id for one record into id[]; returns its length or an SK_E* code. */
static int make_id(struct sk_instance *ins, const char *tag, struct sk_time t,
                   const msgpack_object *record, char *id, size_t size)
{
    const struct genid_conf *c = ins->conf;
    struct genid_ctx *g = ins->ctx;
    int rc;

    if (!c->use_record_as_seed) {
        return genid_uuid_b64(id, size);
    }
    sk_buf_reset(&g->seed);
    rc = genid_seed(&g->seed, &g->opts, tag, t, record);
    if (rc < 0) {
        return rc;
    }
    return genid_digest_b64((enum genid_hash)c->hash_type, g->seed.data != NULL ? g->seed.data : "",
                            g->seed.len, id, size);
}

/* Packs record with hash_id_key set to id (replaced in place when present,
 * appended otherwise, as Ruby's Hash#[]= does). */
static int pack_record(struct sk_evbuf *out, const msgpack_object *record, const char *key,
                       size_t klen, const char *id, size_t idlen)
{
    const msgpack_object *old = sk_map_get(record, key, klen);
    uint32_t n = record->via.map.size + (old == NULL);
    int rc = msgpack_pack_map(&out->pk, n);

    for (uint32_t i = 0; i < record->via.map.size && rc == 0; i++) {
        const msgpack_object_kv *kv = &record->via.map.ptr[i];

        rc = msgpack_pack_object(&out->pk, kv->key);
        if (rc == 0) {
            rc = &kv->val == old ? sk_pack_str(&out->pk, id, idlen)
                                 : msgpack_pack_object(&out->pk, kv->val);
        }
    }
    if (rc == 0 && old == NULL) {
        rc = sk_pack_kv_str(&out->pk, key, klen, id, idlen);
    }
    return rc == 0 ? 0 : (rc < 0 ? rc : SK_ENOMEM);
}

static int genid_filter(struct sk_instance *ins, const char *tag, const struct sk_events *in,
                        struct sk_evbuf *out)
{
    const struct genid_conf *c = ins->conf;
    struct genid_ctx *g = ins->ctx;
    struct sk_event_iter it;
    const msgpack_object *record;
    struct sk_time t;
    char id[GENID_ID_MAX];
    int rc;

    sk_event_iter_init(&it, in->data, in->len);
    for (;;) {
        size_t mark = out->buf.len;
        int n;

        rc = sk_event_iter_next(&it, &t, &record);
        if (rc != 1) {
            break;
        }
        n = make_id(ins, tag, t, record, id, sizeof(id));
        rc = n < 0 ? n : sk_evbuf_begin(out, t);
        if (rc == 0) {
            rc = pack_record(out, record, c->hash_id_key, g->klen, id, (size_t)n);
        }
        if (rc < 0) {
            sk_evbuf_rollback(out, mark);
            break;
        }
        sk_evbuf_commit(out);
    }
    sk_event_iter_cleanup(&it);
    return rc < 0 ? rc : 0;
}

const struct sk_plugin sk_plugin_filter_elasticsearch_genid = {
    .name = "elasticsearch_genid",
    .kind = SK_PLUGIN_FILTER,
    .api = SK_PLUGIN_API,
    .params = genid_params,
    .conf_size = sizeof(struct genid_conf),
    .desc = "Add a hash or random id to each record, for idempotent Elasticsearch indexing.",
    .init = genid_init,
    .destroy = genid_destroy,
    .filter = genid_filter,
};
