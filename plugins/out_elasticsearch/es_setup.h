#ifndef SK_OUT_ELASTICSEARCH_ES_SETUP_H
#define SK_OUT_ELASTICSEARCH_ES_SETUP_H

/*
 * Index management: what must exist on the cluster before documents go
 * out (fluent-plugin-elasticsearch's templates, ILM and rollover aliases,
 * and @type elasticsearch_data_stream). For each *target* - a rollover
 * alias, a data stream, or a plain template - skiff makes sure, in order
 * and idempotently:
 *
 *   alias (enable_ilm / rollover_index)       data stream              template only
 *   1 policy    GET, PUT if absent/overwrite   1 policy                 1 template
 *   2 template  GET, PUT if absent/overwrite   2 template (data_stream)
 *   3 alias     HEAD /_alias/<a>; if 404:      3 GET /_data_stream/<d>;
 *               PUT /<bootstrap, URL-encoded>    PUT if 404
 *               {"aliases":{"<a>":{"is_write_index":true}}}
 *
 * Elasticsearch speaks ILM (_ilm/policy, index.lifecycle.*); OpenSearch
 * ISM (_plugins/_ism, plugins.index_state_management.rollover_alias,
 * ism_template); Amazon Elasticsearch 7.x Open Distro ISM. The choice
 * follows GET / unless lifecycle_api forces it (es_ilm.h translates ILM
 * policies for ISM).
 *
 * A target is set up the first time a bulk request would write to it: at
 * start for static names, later for a new day's alias (logstash_format)
 * or a new ${tag}. Until it is ready the chunk is handed back
 * (SK_FLUSH_RETRY): the events stay buffered and nothing blocks. Failed
 * steps are retried with backoff (1 s doubling to 60 s);
 * max_retry_putting_template and fail_on_putting_template_retry_exceed
 * keep their meaning for the policy and template steps (false: give them
 * up and go on), never for the alias, without which documents cannot go.
 *
 * Bulk requests then address the alias with require_alias=true (ES 7.10+,
 * OpenSearch), so a deleted alias fails loudly (404 items, retried) and
 * is bootstrapped again, instead of Elasticsearch auto-creating a
 * concrete index named like the alias. A rival shipper creating the same
 * first index at the same moment (resource_already_exists_exception) is
 * normal: skiff checks the alias again and goes on.
 *
 * Names (fluent-plugin-elasticsearch 5.x):
 *   alias       index_name (or deflector_alias with rollover_index),
 *               placeholders expanded per chunk; with logstash_format the
 *               day's index name <prefix><sep><date> is the alias
 *   bootstrap   <index_name><index_separator><application_name>-{<index_date_pattern>}-000001
 *               (no date part with an empty index_date_pattern); with
 *               logstash_format <prefix><sep><application_name><sep><date>-000001
 *   template    named after the alias with enable_ilm (else template_name),
 *               index_patterns <bootstrap prefix><index_separator>*
 *   policy      ilm_policy_id: ilm_policies[id], else ilm_policy, else the
 *               default (hot: rollover 50gb / 30d)
 *   data stream data_stream_name; policy data_stream_ilm_name or
 *               <name>_policy; template data_stream_template_name or
 *               <name>_template (composable, data_stream, index_patterns
 *               <name>*)
 */
#include <stdbool.h>
#include <stddef.h>

#include "out_elasticsearch/es_response.h"
#include "util/err.h"

struct es_ctx;
struct es_bulk_req;
struct es_setup_names;
struct es_tmpl_ctx;
struct sk_diag;
struct sk_instance;

/*
 * es_init: reads the index management parameters into es->setup (left
 * NULL when there is nothing to manage), checks them (files readable,
 * policies and templates valid JSON, combinations fluent-plugin-
 * elasticsearch refuses), and adjusts es->index_conf / es->bulk (the
 * deflector alias, the data stream). Returns 0, SK_ECONFIG (the reasons
 * are in d), SK_ENOMEM. es_setup_destroy cleans up after a failure too.
 */
int es_setup_create(struct es_ctx *es, struct sk_instance *ins, struct sk_diag *d) SK_WUR;
void es_setup_destroy(struct es_ctx *es);

/* es_start / es_stop. Stop destroys the retry timers and forgets work in
 * progress (the HTTP client's cancellation completes the requests). */
void es_setup_start(struct es_ctx *es);
void es_setup_stop(struct es_ctx *es);

/* The server version became known (ok) or detection failed: decides the
 * dialect (ILM/ISM, legacy/composable templates, require_alias) once and
 * starts the targets whose names are known without a chunk. */
void es_setup_version_ready(struct es_ctx *es, bool ok);

/*
 * Per chunk: expands the names that may hold placeholders (${tag}, chunk
 * keys, strftime of the timekey). *out is NULL when es->setup is NULL.
 * Returns 0, SK_ENOMEM, SK_ETOOBIG, SK_EINVAL (strftime).
 */
int es_setup_begin_chunk(struct es_ctx *es, struct es_tmpl_ctx *ctx,
                         struct es_setup_names **out) SK_WUR;
void es_setup_names_free(struct es_setup_names *n);

/*
 * Before each bulk request: 0 when every index the request writes to is
 * ready (for a data stream the actions are rewritten to `create`);
 * SK_EAGAIN when some set-up is pending or failing (it has been started:
 * hand the chunk back for a later retry); SK_ENOMEM.
 */
int es_setup_prepare(struct es_ctx *es, struct es_setup_names *n, struct es_bulk_req *req) SK_WUR;

/* Extra query parameters for POST /_bulk: "" or "&require_alias=true". */
const char *es_setup_bulk_params(const struct es_ctx *es);

/* The write operation to judge bulk items by (create for data streams). */
enum es_write_op es_setup_response_op(const struct es_ctx *es, enum es_write_op op);

/* After a bulk answer, per item: a 404 caused by require_alias means the
 * alias is gone; the item becomes a retry and the alias is set up again. */
void es_setup_item(struct es_ctx *es, struct es_item *it);

#endif
