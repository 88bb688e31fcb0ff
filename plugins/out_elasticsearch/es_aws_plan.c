/*
 * The credential chain as a pure decision: given the <endpoint> settings,
 * the environment and the selected profile, which source to use and which
 * roles to assume on top (order in es_aws_creds.h). Explicit settings in
 * the configuration come before what the environment suggests; within the
 * environment the order is the AWS SDKs' default chain.
 */
#include "out_elasticsearch/es_aws_creds_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"

#define ENV_FIELDS(X)                                                \
    X(access_key_id, "AWS_ACCESS_KEY_ID")                            \
    X(secret_access_key, "AWS_SECRET_ACCESS_KEY")                    \
    X(session_token, "AWS_SESSION_TOKEN")                            \
    X(profile, "AWS_PROFILE")                                        \
    X(shared_credentials_file, "AWS_SHARED_CREDENTIALS_FILE")        \
    X(config_file, "AWS_CONFIG_FILE")                                \
    X(home, "HOME")                                                  \
    X(web_identity_token_file, "AWS_WEB_IDENTITY_TOKEN_FILE")        \
    X(role_arn, "AWS_ROLE_ARN")                                      \
    X(role_session_name, "AWS_ROLE_SESSION_NAME")                    \
    X(ecs_relative_uri, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")    \
    X(ecs_full_uri, "AWS_CONTAINER_CREDENTIALS_FULL_URI")            \
    X(ecs_auth_token, "AWS_CONTAINER_AUTHORIZATION_TOKEN")           \
    X(ecs_auth_token_file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") \
    X(imds_disabled, "AWS_EC2_METADATA_DISABLED")                    \
    X(imds_v1_disabled, "AWS_EC2_METADATA_V1_DISABLED")              \
    X(imds_endpoint, "AWS_EC2_METADATA_SERVICE_ENDPOINT")            \
    X(imds_endpoint_mode, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")  \
    X(sts_endpoint_url, "AWS_ENDPOINT_URL_STS")                      \
    X(sts_endpoint, "AWS_STS_ENDPOINT")                              \
    X(region, "AWS_REGION")                                          \
    X(default_region, "AWS_DEFAULT_REGION")

#define DEFAULT_IMDS "http://169.254.169.254"
#define DEFAULT_IMDS_V6 "http://[fd00:ec2::254]"
#define DEFAULT_ECS "http://169.254.170.2"

void es_aws_env_free(struct es_aws_env *env)
{
    if (env == NULL) {
        return;
    }
#define FREE_FIELD(f, name) es_aws_wipe_free((char *)env->f);
    ENV_FIELDS(FREE_FIELD)
#undef FREE_FIELD
    memset(env, 0, sizeof(*env));
}

int es_aws_env_read(struct es_aws_env *env)
{
    int rc = 0;

    memset(env, 0, sizeof(*env));
#define READ_FIELD(f, name)                          \
    if (rc == 0 && getenv(name) != NULL) {           \
        env->f = sk_strdup(getenv(name));            \
        rc = env->f != NULL ? 0 : SK_ENOMEM;         \
    }
    ENV_FIELDS(READ_FIELD)
#undef READ_FIELD
    if (rc < 0) {
        es_aws_env_free(env);
    }
    return rc;
}

const char *es_aws_source_name(enum es_aws_source s)
{
    switch (s) {
    case ES_AWS_SRC_CONFIG:
        return "config";
    case ES_AWS_SRC_ENV:
        return "environment";
    case ES_AWS_SRC_PROFILE:
        return "profile";
    case ES_AWS_SRC_WEB_IDENTITY:
        return "web-identity";
    case ES_AWS_SRC_ECS:
        return "ecs";
    case ES_AWS_SRC_IMDS:
        return "imds";
    default:
        return "none";
    }
}

static bool set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static const char *or_default(const char *s, const char *def)
{
    return set(s) ? s : def;
}

static bool truthy(const char *s)
{
    return s != NULL && strcasecmp(s, "true") == 0;
}

const char *es_aws_profile_name(const struct es_aws_creds_conf *conf, const struct es_aws_env *env)
{
    return set(conf->profile) ? conf->profile : or_default(env->profile, "default");
}

int es_aws_profile_paths(const struct es_aws_env *env, struct sk_buf *credentials,
                         struct sk_buf *config)
{
    int rc = 0;

    sk_buf_reset(credentials);
    sk_buf_reset(config);
    if (set(env->shared_credentials_file)) {
        rc = sk_buf_append_str(credentials, env->shared_credentials_file);
    } else if (set(env->home)) {
        rc = sk_buf_printf(credentials, "%s/.aws/credentials", env->home);
    }
    if (rc == 0 && set(env->config_file)) {
        rc = sk_buf_append_str(config, env->config_file);
    } else if (rc == 0 && set(env->home)) {
        rc = sk_buf_printf(config, "%s/.aws/config", env->home);
    }
    return rc;
}

const char *es_aws_imds_endpoint(const struct es_aws_creds_conf *conf,
                                 const struct es_aws_env *env)
{
    if (set(conf->imds_endpoint)) {
        return conf->imds_endpoint;
    }
    if (set(env->imds_endpoint)) {
        return env->imds_endpoint;
    }
    if (env->imds_endpoint_mode != NULL && strcasecmp(env->imds_endpoint_mode, "IPv6") == 0) {
        return DEFAULT_IMDS_V6;
    }
    return DEFAULT_IMDS;
}

int es_aws_sts_target(const struct es_aws_creds_conf *conf, const struct es_aws_env *env,
                      const struct es_aws_profile *prof, struct sk_buf *url, const char **region)
{
    const char *r = conf->sts_credentials_region;
    const char *ep = set(conf->sts_endpoint) ? conf->sts_endpoint
                                             : or_default(env->sts_endpoint_url, env->sts_endpoint);

    r = set(r) ? r : or_default(conf->region, or_default(env->region, env->default_region));
    if (!set(r) && prof != NULL && prof->found) {
        r = prof->region;
    }
    sk_buf_reset(url);
    if (set(ep)) {
        *region = or_default(r, "us-east-1");
        return sk_buf_append_str(url, ep);
    }
    if (!set(r)) {
        *region = "us-east-1";
        return sk_buf_append_str(url, "https://sts.amazonaws.com");
    }
    *region = r;
    return sk_buf_printf(url, "https://sts.%s.amazonaws.com%s", r,
                         strncmp(r, "cn-", 3) == 0 ? ".cn" : "");
}

static int add_role(struct es_aws_plan *out, const char *arn, const char *session,
                    const char *external_id)
{
    if (out->nroles >= ES_AWS_MAX_ROLES) {
        return SK_ECONFIG;
    }
    out->roles[out->nroles].arn = arn;
    out->roles[out->nroles].session_name = or_default(session, ES_AWS_DEFAULT_SESSION);
    out->roles[out->nroles].external_id = set(external_id) ? external_id : NULL;
    out->nroles++;
    return 0;
}

static void use_keys(struct es_aws_plan *out, enum es_aws_source src, const char *akid,
                     const char *secret, const char *token)
{
    out->source = src;
    out->access_key_id = akid;
    out->secret_access_key = secret;
    out->session_token = set(token) ? token : NULL;
}

/* The container endpoint from the environment; SK_ENOENT when not set. */
static int use_env_ecs(const struct es_aws_creds_conf *conf, const struct es_aws_env *env,
                       struct es_aws_plan *out, const char **why)
{
    if (set(env->ecs_relative_uri)) {
        out->ecs_base = or_default(conf->ecs_endpoint, DEFAULT_ECS);
        out->ecs_uri = env->ecs_relative_uri;
    } else if (set(env->ecs_full_uri)) {
        if (!es_aws_ecs_url_allowed(env->ecs_full_uri)) {
            *why = "AWS_CONTAINER_CREDENTIALS_FULL_URI must use https or a loopback or "
                   "ECS/EKS agent address";
            return SK_ECONFIG;
        }
        out->ecs_base = NULL;
        out->ecs_uri = env->ecs_full_uri;
    } else {
        return SK_ENOENT;
    }
    out->source = ES_AWS_SRC_ECS;
    out->ecs_auth_token = set(env->ecs_auth_token) ? env->ecs_auth_token : NULL;
    out->ecs_auth_token_file = set(env->ecs_auth_token_file) ? env->ecs_auth_token_file : NULL;
    return 0;
}

static void use_imds(const struct es_aws_creds_conf *conf, const struct es_aws_env *env,
                     struct es_aws_plan *out)
{
    out->source = ES_AWS_SRC_IMDS;
    out->imds_endpoint = es_aws_imds_endpoint(conf, env);
    out->imds_v1_fallback = !truthy(env->imds_v1_disabled);
}

/* A profile's role_arn: its base credentials and the role on top. */
static int profile_role(const struct es_aws_creds_conf *conf, const struct es_aws_env *env,
                        const struct es_aws_profile *prof, const struct es_aws_profile *source,
                        struct es_aws_plan *out, const char **why)
{
    const char *cs = prof->credential_source;

    if (set(prof->web_identity_token_file)) {
        out->source = ES_AWS_SRC_WEB_IDENTITY;
        out->wi_role_arn = prof->role_arn;
        out->wi_token_file = prof->web_identity_token_file;
        out->wi_session_name = or_default(prof->role_session_name, ES_AWS_DEFAULT_SESSION);
        return 0;
    }
    if (set(prof->source_profile)) {
        if (source == NULL || !source->found || !set(source->aws_access_key_id) ||
            !set(source->aws_secret_access_key)) {
            *why = "the profile's source_profile has no aws_access_key_id and "
                   "aws_secret_access_key (chained roles are not supported)";
            return SK_ECONFIG;
        }
        use_keys(out, ES_AWS_SRC_PROFILE, source->aws_access_key_id,
                 source->aws_secret_access_key, source->aws_session_token);
    } else if (cs != NULL && strcmp(cs, "Environment") == 0) {
        if (!set(env->access_key_id) || !set(env->secret_access_key)) {
            *why = "credential_source Environment without AWS_ACCESS_KEY_ID and "
                   "AWS_SECRET_ACCESS_KEY";
            return SK_ECONFIG;
        }
        use_keys(out, ES_AWS_SRC_ENV, env->access_key_id, env->secret_access_key,
                 env->session_token);
    } else if (cs != NULL && strcmp(cs, "Ec2InstanceMetadata") == 0) {
        use_imds(conf, env, out);
    } else if (cs != NULL && strcmp(cs, "EcsContainer") == 0) {
        int rc = use_env_ecs(conf, env, out, why);

        if (rc == SK_ENOENT) {
            *why = "credential_source EcsContainer without AWS_CONTAINER_CREDENTIALS_*_URI";
            return SK_ECONFIG;
        }
        if (rc < 0) {
            return rc;
        }
    } else {
        *why = "the profile has role_arn but no source_profile, credential_source "
               "(Environment, Ec2InstanceMetadata, EcsContainer) or web_identity_token_file";
        return SK_ECONFIG;
    }
    return add_role(out, prof->role_arn, prof->role_session_name, prof->external_id);
}

/* Steps 5: the shared files. SK_ENOENT when the profile gives nothing. */
static int from_profile(const struct es_aws_creds_conf *conf, const struct es_aws_env *env,
                        const struct es_aws_profile *prof, const struct es_aws_profile *source,
                        struct es_aws_plan *out, const char **why)
{
    bool named = set(conf->profile) || set(env->profile);

    if (prof == NULL || !prof->found) {
        if (named) {
            *why = "the profile named by profile / AWS_PROFILE is in neither shared file";
            return SK_ECONFIG;
        }
        return SK_ENOENT;
    }
    out->profile_name = es_aws_profile_name(conf, env);
    if (set(prof->role_arn)) {
        return profile_role(conf, env, prof, source, out, why);
    }
    if (set(prof->aws_access_key_id) != set(prof->aws_secret_access_key)) {
        *why = "the profile has only one of aws_access_key_id and aws_secret_access_key";
        return SK_ECONFIG;
    }
    if (set(prof->aws_access_key_id)) {
        use_keys(out, ES_AWS_SRC_PROFILE, prof->aws_access_key_id, prof->aws_secret_access_key,
                 prof->aws_session_token);
        return 0;
    }
    if (prof->unsupported) {
        *why = "the profile uses credential_process or SSO, which skiff does not support";
        return SK_ECONFIG;
    }
    out->profile_name = NULL;
    return SK_ENOENT; /* a profile with only settings (region ...) */
}

/* Steps 1-3: what <endpoint> says explicitly. SK_ENOENT when nothing. */
static int from_conf(const struct es_aws_creds_conf *conf, const struct es_aws_env *env,
                     struct es_aws_plan *out, const char **why)
{
    if (set(conf->access_key_id) != set(conf->secret_access_key)) {
        *why = "access_key_id and secret_access_key must be given together";
        return SK_ECONFIG;
    }
    if (set(conf->access_key_id)) {
        use_keys(out, ES_AWS_SRC_CONFIG, conf->access_key_id, conf->secret_access_key, NULL);
        return 0;
    }
    if (set(conf->assume_role_web_identity_token_file)) {
        if (!set(conf->assume_role_arn)) {
            *why = "assume_role_web_identity_token_file needs assume_role_arn";
            return SK_ECONFIG;
        }
        out->source = ES_AWS_SRC_WEB_IDENTITY;
        out->wi_role_arn = conf->assume_role_arn;
        out->wi_token_file = conf->assume_role_web_identity_token_file;
        out->wi_session_name = or_default(conf->assume_role_session_name, ES_AWS_DEFAULT_SESSION);
        return 0;
    }
    if (set(conf->ecs_container_credentials_relative_uri)) {
        out->source = ES_AWS_SRC_ECS;
        out->ecs_base = or_default(conf->ecs_endpoint, DEFAULT_ECS);
        out->ecs_uri = conf->ecs_container_credentials_relative_uri;
        out->ecs_auth_token = set(env->ecs_auth_token) ? env->ecs_auth_token : NULL;
        out->ecs_auth_token_file = set(env->ecs_auth_token_file) ? env->ecs_auth_token_file : NULL;
        return 0;
    }
    return SK_ENOENT;
}

/* Steps 4-8: the SDKs' default chain. */
static int from_env(const struct es_aws_creds_conf *conf, const struct es_aws_env *env,
                    const struct es_aws_profile *prof, const struct es_aws_profile *source,
                    struct es_aws_plan *out, const char **why)
{
    /* A profile named in <endpoint> is explicit: it beats keys in the
     * environment (as an explicit profile does in the SDKs). */
    bool env_keys = !set(conf->profile);
    int rc;

    if (env_keys && set(env->access_key_id) != set(env->secret_access_key)) {
        *why = "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set";
        return SK_ECONFIG;
    }
    if (env_keys && set(env->access_key_id)) {
        use_keys(out, ES_AWS_SRC_ENV, env->access_key_id, env->secret_access_key,
                 env->session_token);
        return 0;
    }
    rc = from_profile(conf, env, prof, source, out, why);
    if (rc != SK_ENOENT) {
        return rc;
    }
    if (set(env->web_identity_token_file) && set(env->role_arn)) {
        out->source = ES_AWS_SRC_WEB_IDENTITY;
        out->wi_role_arn = env->role_arn;
        out->wi_token_file = env->web_identity_token_file;
        out->wi_session_name = or_default(env->role_session_name, ES_AWS_DEFAULT_SESSION);
        return 0;
    }
    rc = use_env_ecs(conf, env, out, why);
    if (rc != SK_ENOENT) {
        return rc;
    }
    if (truthy(env->imds_disabled)) {
        *why = "no credentials in <endpoint>, the environment or the shared files, and "
               "AWS_EC2_METADATA_DISABLED is true";
        return SK_ENOENT;
    }
    use_imds(conf, env, out);
    return 0;
}

int es_aws_plan_make(const struct es_aws_creds_conf *conf, const struct es_aws_env *env,
                     const struct es_aws_profile *prof, const struct es_aws_profile *source,
                     struct es_aws_plan *out, const char **why)
{
    int rc;

    memset(out, 0, sizeof(*out));
    *why = NULL;
    rc = from_conf(conf, env, out, why);
    if (rc == SK_ENOENT) {
        rc = from_env(conf, env, prof, source, out, why);
    }
    if (rc == 0 && set(conf->assume_role_arn) &&
        !(out->source == ES_AWS_SRC_WEB_IDENTITY && out->wi_role_arn == conf->assume_role_arn)) {
        rc = add_role(out, conf->assume_role_arn, conf->assume_role_session_name,
                      conf->assume_role_external_id);
        if (rc < 0) {
            *why = "assume_role_arn on top of a profile role and its source is too deep";
        }
    }
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        if (*why == NULL) {
            *why = "no credentials source";
        }
    }
    return rc;
}
