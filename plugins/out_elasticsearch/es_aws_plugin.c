/*
 * @type aws-elasticsearch-service (fluent-plugin-aws-elasticsearch-service):
 * out_elasticsearch with every one of its parameters, plus an <endpoint>
 * section that gives the domain's URL, region and credentials and turns on
 * AWS SigV4 signing of every request (es_auth.h). The life cycle is
 * out_elasticsearch's own; es_auth_create() tells the two types apart by
 * the descriptor's name (<endpoint> is required here, optional there).
 */
#include "out_elasticsearch/es.h"

extern const struct sk_plugin sk_plugin_out_elasticsearch;

static int aws_init(struct sk_instance *ins, struct sk_diag *d)
{
    return sk_plugin_out_elasticsearch.init(ins, d);
}

static int aws_start(struct sk_instance *ins)
{
    return sk_plugin_out_elasticsearch.start(ins);
}

static void aws_stop(struct sk_instance *ins)
{
    sk_plugin_out_elasticsearch.stop(ins);
}

static void aws_destroy(struct sk_instance *ins)
{
    sk_plugin_out_elasticsearch.destroy(ins);
}

const struct sk_plugin sk_plugin_out_aws_elasticsearch_service = {
    .name = "aws-elasticsearch-service",
    .kind = SK_PLUGIN_OUTPUT,
    .api = SK_PLUGIN_API,
    .flags = SK_PLUGIN_BUFFERED,
    .params = es_params,
    .conf_size = sizeof(struct es_conf),
    .desc = "Bulk-index events into Amazon Elasticsearch / OpenSearch Service with AWS SigV4 "
            "(fluent-plugin-aws-elasticsearch-service).",
    .default_chunk_keys = "tag",
    .init = aws_init,
    .start = aws_start,
    .stop = aws_stop,
    .destroy = aws_destroy,
    .flush = es_flush,
};
