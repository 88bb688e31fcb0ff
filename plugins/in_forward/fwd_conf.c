/* <security> (<user>, <client>) and <transport> sections of in_forward. */
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "in_forward/fwd.h"

#define SOFF(f) offsetof(struct fwd_security_conf, f)
#define UOFF(f) offsetof(struct fwd_user_conf, f)
#define COFF(f) offsetof(struct fwd_client_conf, f)

static const struct sk_param_def security_params[] = {
    {.name = "self_hostname", .type = SK_PARAM_STRING, .offset = SOFF(self_hostname),
     .flags = SK_PARAM_REQUIRED, .desc = "Host name sent in PONG and digested with the key."},
    {.name = "shared_key", .type = SK_PARAM_STRING, .offset = SOFF(shared_key),
     .flags = SK_PARAM_REQUIRED | SK_PARAM_SECRET, .desc = "Shared key for authentication."},
    {.name = "user_auth", .type = SK_PARAM_BOOL, .def = "false", .offset = SOFF(user_auth),
     .desc = "Also require a <user> username and password."},
    {.name = "allow_anonymous_source", .type = SK_PARAM_BOOL, .def = "true",
     .offset = SOFF(allow_anonymous_source),
     .desc = "Accept peers that match no <client> section."},
    SK_PARAM_END,
};

static const struct sk_param_def user_params[] = {
    {.name = "username", .type = SK_PARAM_STRING, .offset = UOFF(username),
     .flags = SK_PARAM_REQUIRED, .desc = "User name for authentication."},
    {.name = "password", .type = SK_PARAM_STRING, .offset = UOFF(password),
     .flags = SK_PARAM_REQUIRED | SK_PARAM_SECRET, .desc = "Password for authentication."},
    SK_PARAM_END,
};

static const struct sk_param_def client_params[] = {
    {.name = "host", .type = SK_PARAM_STRING, .offset = COFF(host),
     .desc = "IP address or host name of the client."},
    {.name = "network", .type = SK_PARAM_STRING, .offset = COFF(network),
     .desc = "Network of the clients, e.g. 192.168.0.0/24."},
    {.name = "shared_key", .type = SK_PARAM_STRING, .offset = COFF(shared_key),
     .flags = SK_PARAM_SECRET, .desc = "Shared key for this client (default: <security>'s)."},
    {.name = "users", .type = SK_PARAM_ARRAY, .def = "[]", .offset = COFF(users),
     .desc = "Usernames this client may use (empty: any)."},
    SK_PARAM_END,
};

static void diag(struct sk_diag *d, const struct sk_conf_section *sec, const char *what)
{
    char where[256];

    sk_conf_section_label(sec, where, sizeof(where));
    sk_diag_add(d, SK_DIAG_ERROR, sec->file, sec->line, where, "%s", what);
}

static size_t count_children(const struct sk_conf_section *sec, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < sec->nchildren; i++) {
        n += strcmp(sec->children[i]->name, name) == 0;
    }
    return n;
}

static int add_client(struct fwd *f, const struct fwd_client *c)
{
    struct fwd_security *s = &f->security;
    struct fwd_client *grown = sk_realloc(s->clients, (s->nclients + 1) * sizeof(*grown));

    if (grown == NULL) {
        return SK_ENOMEM;
    }
    s->clients = grown;
    s->clients[s->nclients++] = *c;
    return 0;
}

/* <client host>: every address the name resolves to (Fluentd takes the
 * first; taking all does not let in anyone the name does not name). */
static int client_host(struct fwd *f, const struct fwd_client *base, const char *host)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    int rc = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0) {
        return SK_ENOENT;
    }
    for (struct addrinfo *ai = res; ai != NULL && rc == 0; ai = ai->ai_next) {
        struct fwd_client c = *base;

        if (ai->ai_family == AF_INET) {
            c.family = AF_INET;
            c.prefix = 32;
            memcpy(c.addr, &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr, 4);
        } else if (ai->ai_family == AF_INET6) {
            c.family = AF_INET6;
            c.prefix = 128;
            memcpy(c.addr, &((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr, 16);
        } else {
            continue;
        }
        rc = add_client(f, &c);
    }
    freeaddrinfo(res);
    return rc;
}

static int client_section(struct fwd *f, struct sk_conf_section *sec,
                          struct fwd_client_conf *cc, struct sk_diag *d)
{
    struct fwd_client c;
    int rc;

    sec->used = true;
    if (sk_param_apply(client_params, sec, cc, d) < 0) {
        return SK_ECONFIG;
    }
    if (cc->host != NULL && cc->network != NULL) {
        diag(d, sec, "both of 'host' and 'network' are specified for client");
        return SK_ECONFIG;
    }
    if (cc->host == NULL && cc->network == NULL) {
        diag(d, sec, "Either of 'host' and 'network' must be specified for client");
        return SK_ECONFIG;
    }
    memset(&c, 0, sizeof(c));
    c.shared_key = cc->shared_key != NULL ? cc->shared_key : f->sec_conf.shared_key;
    c.users = &cc->users;
    if (cc->network != NULL) {
        if (fwd_client_parse_network(cc->network, &c) < 0) {
            diag(d, sec, "network address format is invalid");
            return SK_ECONFIG;
        }
        return add_client(f, &c);
    }
    rc = client_host(f, &c, cc->host);
    if (rc == SK_ENOENT) {
        diag(d, sec, "host cannot be resolved");
        return SK_ECONFIG;
    }
    return rc;
}

static int user_sections(struct fwd *f, struct sk_conf_section *sec, struct sk_diag *d)
{
    size_t n = count_children(sec, "user");
    int result = 0;

    f->user_confs = n > 0 ? sk_calloc(n, sizeof(*f->user_confs)) : NULL;
    f->security.users = n > 0 ? sk_calloc(n, sizeof(*f->security.users)) : NULL;
    if (n > 0 && (f->user_confs == NULL || f->security.users == NULL)) {
        return SK_ENOMEM;
    }
    for (size_t i = 0; i < sec->nchildren; i++) {
        struct sk_conf_section *c = sec->children[i];
        struct fwd_user_conf *uc;

        if (strcmp(c->name, "user") != 0) {
            continue;
        }
        c->used = true;
        uc = &f->user_confs[f->nuser_confs++];
        if (sk_param_apply(user_params, c, uc, d) < 0) {
            result = SK_ECONFIG;
            continue;
        }
        f->security.users[f->security.nusers].username = uc->username;
        f->security.users[f->security.nusers].password = uc->password;
        f->security.nusers++;
    }
    return result;
}

static int client_sections(struct fwd *f, struct sk_conf_section *sec, struct sk_diag *d)
{
    size_t n = count_children(sec, "client");
    int result = 0;

    f->client_confs = n > 0 ? sk_calloc(n, sizeof(*f->client_confs)) : NULL;
    if (n > 0 && f->client_confs == NULL) {
        return SK_ENOMEM;
    }
    for (size_t i = 0; i < sec->nchildren; i++) {
        struct sk_conf_section *c = sec->children[i];
        int rc;

        if (strcmp(c->name, "client") != 0) {
            continue;
        }
        rc = client_section(f, c, &f->client_confs[f->nclient_confs++], d);
        if (rc < 0) {
            result = rc == SK_ENOMEM || result == SK_ENOMEM ? SK_ENOMEM : SK_ECONFIG;
        }
    }
    return result;
}

static int security_section(struct fwd *f, struct sk_conf_section *sec, struct sk_diag *d)
{
    int rc;

    sec->used = true;
    f->has_security = true;
    if (sk_param_apply(security_params, sec, &f->sec_conf, d) < 0) {
        return SK_ECONFIG;
    }
    f->security.self_hostname = f->sec_conf.self_hostname;
    f->security.shared_key = f->sec_conf.shared_key;
    f->security.user_auth = f->sec_conf.user_auth;
    f->security.allow_anonymous_source = f->sec_conf.allow_anonymous_source;
    rc = user_sections(f, sec, d);
    if (rc == 0) {
        rc = client_sections(f, sec, d);
    }
    if (rc == 0 && f->security.user_auth && f->security.nusers == 0) {
        diag(d, sec, "<user> sections required if user_auth enabled");
        rc = SK_ECONFIG;
    }
    if (rc == 0 && !f->security.allow_anonymous_source && f->nclient_confs == 0) {
        diag(d, sec, "<client> sections required if allow_anonymous_source disabled");
        rc = SK_ECONFIG;
    }
    return rc;
}

static int transport_section(struct sk_conf_section *sec, struct sk_diag *d)
{
    const char *proto = sec->arg != NULL && *sec->arg != '\0' ? sec->arg : "tcp";

    sec->used = true;
    for (size_t i = 0; i < sec->nparams; i++) {
        sec->params[i].used = true; /* one error below, not one warning per line */
    }
    if (strcmp(proto, "tcp") == 0) {
        return 0;
    }
    if (strcmp(proto, "tls") == 0) {
        diag(d, sec, "<transport tls> is not supported yet by skiff's in_forward: terminate TLS "
                     "in front of it (e.g. stunnel) or use <transport tcp> with <security>");
    } else {
        diag(d, sec, "unknown transport: expected tcp or tls");
    }
    return SK_ECONFIG;
}

int fwd_conf_sections(struct fwd *f, struct sk_diag *d)
{
    struct sk_conf_section *sec = f->ins->section;
    int result = 0;
    bool seen = false;

    for (size_t i = 0; i < sec->nchildren; i++) {
        struct sk_conf_section *c = sec->children[i];
        int rc = 0;

        if (strcmp(c->name, "security") == 0) {
            if (seen) {
                diag(d, c, "only one <security> section is allowed");
                rc = SK_ECONFIG;
            } else {
                seen = true;
                rc = security_section(f, c, d);
            }
        } else if (strcmp(c->name, "transport") == 0) {
            rc = transport_section(c, d);
        }
        if (rc < 0) {
            result = rc == SK_ENOMEM || result == SK_ENOMEM ? SK_ENOMEM : SK_ECONFIG;
        }
    }
    return result;
}

void fwd_conf_cleanup(struct fwd *f)
{
    for (size_t i = 0; i < f->nuser_confs; i++) {
        sk_param_release(user_params, &f->user_confs[i]);
    }
    for (size_t i = 0; i < f->nclient_confs; i++) {
        sk_param_release(client_params, &f->client_confs[i]);
    }
    sk_param_release(security_params, &f->sec_conf);
    sk_free(f->user_confs);
    sk_free(f->client_confs);
    sk_free(f->security.users);
    sk_free(f->security.clients);
    f->user_confs = NULL;
    f->client_confs = NULL;
    f->nuser_confs = 0;
    f->nclient_confs = 0;
    memset(&f->security, 0, sizeof(f->security));
}
