/*
 * The requests of the set-up steps (es_setup_int.h): method, URL and body
 * per step, and the headers they go with. Pure: no I/O.
 *
 *   policy    GET|PUT /_ilm/policy/<id>
 *                     /_plugins/_ism/policies/<id>[?if_seq_no=N&if_primary_term=N]
 *   template  GET|PUT /_template/<name>, /_index_template/<name>
 *   alias     HEAD    /_alias/<alias>
 *   first     PUT     /<bootstrap, percent-encoded>
 *                     {"aliases":{"<alias>":{"is_write_index":true}}}
 *   alias     PUT     /<bootstrap>/_alias/<alias>  {"is_write_index":true}
 *   stream    GET|PUT /_data_stream/<name>
 */
#include "out_elasticsearch/es_setup_int.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "json/json.h"

int es_setup_url_encode(struct sk_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && rc == 0; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            rc = sk_buf_putc(out, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

            rc = sk_buf_append(out, e, 3);
        }
    }
    return rc;
}

static int template_body(const struct es_target *t, struct sk_buf *out, char *err, size_t size)
{
    const struct es_setup *s = t->s;
    struct es_template_setting set[2];
    struct es_template_spec spec = {0};
    size_t jlen = t->template_json != NULL ? strlen(t->template_json) : 0;

    spec.api = t->kind == ES_TARGET_DATA_STREAM ? ES_TEMPLATE_COMPOSABLE
                                                : es_setup_template_api(s, t->template_json, jlen);
    spec.json = t->template_json;
    spec.len = jlen;
    spec.settings = set;
    if (t->kind == ES_TARGET_DATA_STREAM) {
        spec.pattern = t->pattern;
        spec.data_stream = true;
        /* Above Elasticsearch's built-in logs-*-* (100); longer, more
         * specific names win over shorter ones of the same family. */
        spec.prio = ES_PRIO_SET;
        spec.prio_value = 200 + (int64_t)strlen(t->name);
        if (s->lc == ES_LIFECYCLE_ILM) {
            set[spec.nsettings++] = (struct es_template_setting){"index.lifecycle.name", t->policy};
        }
    } else if (t->template_ilm) {
        spec.pattern = t->pattern;
        spec.prio = ES_PRIO_BUMP;
        spec.prio_value = t->prio_count;
        if (s->lc == ES_LIFECYCLE_ILM) {
            set[spec.nsettings++] = (struct es_template_setting){"index.lifecycle.name", t->policy};
        }
        set[spec.nsettings++] =
            (struct es_template_setting){es_lifecycle_alias_setting(s->lc), t->name};
    }
    return es_template_body(&spec, out, err, size);
}

static const char *template_path(const struct es_target *t)
{
    bool legacy = t->kind != ES_TARGET_DATA_STREAM &&
                  es_setup_template_api(t->s, t->template_json,
                                        t->template_json != NULL ? strlen(t->template_json) : 0) ==
                      ES_TEMPLATE_LEGACY;

    return legacy ? "/_template/" : "/_index_template/";
}

int es_setup_build(const struct es_target *t, const char *base_url, struct sk_buf *url,
                   struct sk_buf *body, const char **method, char *err, size_t size)
{
    struct es_setup *s = t->s;
    const char *patterns[2] = {t->ism_patterns[0], t->ism_patterns[1]};
    int rc = sk_buf_append_str(url, base_url);

    *method = "GET";
    switch (t->step) {
    case ES_STEP_POLICY_PUT:
        *method = "PUT";
        rc = rc == 0 ? es_policy_body(t->policy_json, strlen(t->policy_json), s->lc, patterns,
                                      t->nism, body, err, size)
                     : rc;
        /* fall through */
    case ES_STEP_POLICY_GET:
        rc = rc == 0 ? sk_buf_append_str(url, es_lifecycle_policy_path(s->lc)) : rc;
        rc = rc == 0 ? es_setup_url_encode(url, t->policy) : rc;
        if (rc == 0 && t->step == ES_STEP_POLICY_PUT && t->have_seq) {
            rc = sk_buf_printf(url, "?if_seq_no=%" PRId64 "&if_primary_term=%" PRId64, t->if_seq_no,
                               t->if_primary_term);
        }
        return rc;
    case ES_STEP_TEMPLATE_PUT:
        *method = "PUT";
        rc = rc == 0 ? template_body(t, body, err, size) : rc;
        /* fall through */
    case ES_STEP_TEMPLATE_GET:
        rc = rc == 0 ? sk_buf_append_str(url, template_path(t)) : rc;
        return rc == 0 ? es_setup_url_encode(url, t->template_name) : rc;
    case ES_STEP_ALIAS_HEAD:
    case ES_STEP_ALIAS_RECHECK:
        *method = "HEAD";
        rc = rc == 0 ? sk_buf_append_str(url, "/_alias/") : rc;
        return rc == 0 ? es_setup_url_encode(url, t->name) : rc;
    case ES_STEP_INDEX_PUT:
    case ES_STEP_ALIAS_PUT:
        *method = "PUT";
        rc = rc == 0 ? sk_buf_putc(url, '/') : rc;
        rc = rc == 0 ? es_setup_url_encode(url, t->bootstrap) : rc;
        if (t->step == ES_STEP_ALIAS_PUT) {
            rc = rc == 0 ? sk_buf_append_str(url, "/_alias/") : rc;
            rc = rc == 0 ? es_setup_url_encode(url, t->name) : rc;
            return rc == 0 ? sk_buf_append_str(body, "{\"is_write_index\":true}") : rc;
        }
        rc = rc == 0 ? sk_buf_append_str(body, "{\"aliases\":{") : rc;
        rc = rc == 0 ? sk_json_write_string(body, t->name, strlen(t->name)) : rc;
        return rc == 0 ? sk_buf_append_str(body, ":{\"is_write_index\":true}}}") : rc;
    case ES_STEP_DS_PUT:
        *method = "PUT";
        /* fall through */
    case ES_STEP_DS_GET:
        rc = rc == 0 ? sk_buf_append_str(url, "/_data_stream/") : rc;
        return rc == 0 ? es_setup_url_encode(url, t->name) : rc;
    case ES_STEP_DONE:
        break;
    }
    return SK_EINVAL;
}

size_t es_setup_headers(const struct es_ctx *es, bool body, struct sk_http_header *out, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < es->nheaders && k + 1 < n; i++) {
        if (strcasecmp(es->headers[i].name, "Content-Type") != 0) {
            out[k++] = es->headers[i];
        }
    }
    if (body) {
        out[k].name = "Content-Type";
        out[k++].value = "application/json";
    }
    return k;
}

enum es_template_api es_setup_template_api(const struct es_setup *s, const char *json, size_t len)
{
    enum es_template_api api = ES_TEMPLATE_LEGACY;
    char err[64];

    if (s->legacy_param >= 0) {
        return s->legacy_param == 1 ? ES_TEMPLATE_LEGACY : ES_TEMPLATE_COMPOSABLE;
    }
    if (json != NULL && es_template_shape(json, len, &api, err, sizeof(err)) == 1) {
        return api;
    }
    return s->composable_ok ? ES_TEMPLATE_COMPOSABLE : ES_TEMPLATE_LEGACY;
}
