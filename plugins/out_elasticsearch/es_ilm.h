#ifndef SK_OUT_ELASTICSEARCH_ES_ILM_H
#define SK_OUT_ELASTICSEARCH_ES_ILM_H

/*
 * Lifecycle policies: the body skiff PUTs for a policy, in the dialect of
 * the server. Pure functions: JSON text in, JSON text out.
 *
 * A policy is written by the user (ilm_policy, ilm_policies,
 * data_stream_ilm_policy, the files in conf/ilm) in one of two forms:
 *
 *   ILM (Elasticsearch)   {"policy":{"phases":{"hot":{"min_age":..,"actions":{..}},..}}}
 *   ISM (OpenSearch)      {"policy":{"default_state":..,"states":[..],"ism_template":..}}
 *
 * (the outer {"policy": ...} may be left out). Elasticsearch takes only
 * ILM; OpenSearch (_plugins/_ism) and Amazon Elasticsearch 7.x
 * (_opendistro/_ism) take only ISM, so an ILM policy is translated:
 *
 *   ILM                                    ISM
 *   phase hot/warm/cold/delete             state of the same name, in that order;
 *                                          the first present is default_state
 *   next phase's min_age                   transition {"min_index_age": min_age}
 *                                          (ISM counts from index creation)
 *   rollover max_size/max_age/max_docs/    rollover min_size/min_index_age/
 *            max_primary_shard_size                 min_doc_count/min_primary_shard_size
 *   set_priority {priority}                index_priority {priority}
 *   readonly                               read_only
 *   allocate {require,include,exclude}     allocation {.., "wait_for": true}
 *   allocate {number_of_replicas}          replica_count {number_of_replicas}
 *   shrink {number_of_shards |             shrink {num_new_shards | max_shard_size}
 *           max_primary_shard_size}
 *   forcemerge {max_num_segments}          force_merge {max_num_segments}
 *   delete                                 delete
 *   migrate {"enabled": false}             (nothing)
 *
 * Actions are emitted in ILM's fixed execution order (ISM runs them in
 * array order). Anything else (searchable_snapshot, freeze, downsample,
 * unfollow, wait_for_snapshot, migrate, max_primary_shard_docs, min_*
 * rollover conditions, total_shards_per_node, the frozen phase...) has
 * no ISM equivalent: the translation fails and says which action of which
 * phase, rather than installing a policy that does something else.
 * The translated policy gets an ism_template for the given index patterns,
 * which is how ISM attaches a policy to the indices a rollover creates.
 */
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* The lifecycle API a server speaks. */
enum es_lifecycle {
    ES_LIFECYCLE_ILM,       /* _ilm/policy (Elasticsearch) */
    ES_LIFECYCLE_ISM,       /* _plugins/_ism (OpenSearch) */
    ES_LIFECYCLE_OPENDISTRO /* _opendistro/_ism (Amazon Elasticsearch 7.x, Open Distro) */
};

enum es_policy_form {
    ES_POLICY_ILM,
    ES_POLICY_ISM,
};

/* fluent-plugin-elasticsearch's default-ilm-policy.json: hot phase,
 * rollover at 50gb or 30d (es-api.md §8). */
extern const char es_ilm_default_policy[];

/* The URL prefix of the policy API ("/_ilm/policy/",
 * "/_plugins/_ism/policies/", "/_opendistro/_ism/policies/"). */
const char *es_lifecycle_policy_path(enum es_lifecycle lc);

/* The index setting naming the rollover alias for `lc`
 * ("index.lifecycle.rollover_alias", "plugins.index_state_management.
 * rollover_alias", "opendistro.index_state_management.rollover_alias"). */
const char *es_lifecycle_alias_setting(enum es_lifecycle lc);

/*
 * Reads a policy document and tells its form. Returns 0, or SK_EINVAL
 * with `err` saying what is wrong (not JSON, not an object, neither
 * "phases" nor "states"), SK_ENOMEM.
 */
int es_policy_form(const char *json, size_t len, enum es_policy_form *form, char *err,
                   size_t err_size) SK_WUR;

/*
 * Appends to `out` the body of PUT <policy path><id> for `lc`: the policy
 * as written when its form matches the API (an ISM policy without
 * ism_template gets one for `patterns`), an ILM policy translated for
 * ISM (see above). `patterns` (npatterns of them, may be 0) are the index
 * patterns of the added ism_template. Returns 0; SK_EINVAL with `err`
 * (an ISM policy for Elasticsearch, an action with no ISM equivalent,
 * malformed JSON); SK_ENOMEM / SK_ETOOBIG from `out`. `out` may hold part
 * of a body on failure.
 */
int es_policy_body(const char *json, size_t len, enum es_lifecycle lc, const char *const *patterns,
                   size_t npatterns, struct sk_buf *out, char *err, size_t err_size) SK_WUR;

#endif
