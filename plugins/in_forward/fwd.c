/*
 * in_forward: receives events over Fluentd's Forward protocol (Message,
 * Forward, PackedForward, CompressedPackedForward; msgpack or JSON
 * streams), with acks, the <security> shared-key handshake and the UDP
 * heartbeat. This file holds the descriptor, the parameter table and the
 * life cycle; fwd_sess.c speaks the protocol, fwd_net.c the sockets.
 */
#include <string.h>

#include "in_forward/fwd.h"

#define OFF(f) offsetof(struct fwd_conf, f)

static const struct sk_param_def fwd_params[] = {
    {.name = "port", .type = SK_PARAM_INT, .def = "24224", .min = "1", .max = "65535",
     .offset = OFF(port), .desc = "TCP port to listen to (UDP heartbeat on the same port)."},
    {.name = "bind", .type = SK_PARAM_STRING, .def = "0.0.0.0", .offset = OFF(bind),
     .desc = "Address to listen on."},
    {.name = "backlog", .type = SK_PARAM_INT, .min = "0", .max = "1000000",
     .offset = OFF(backlog), .desc = "Listen backlog (default: the system's maximum)."},
    {.name = "linger_timeout", .type = SK_PARAM_INT, .def = "0", .min = "0", .max = "3600",
     .offset = OFF(linger_timeout),
     .desc = "SO_LINGER seconds on connections (0: reset on close, no TIME_WAIT)."},
    {.name = "blocking_timeout", .type = SK_PARAM_TIME, .def = "0.5",
     .offset = OFF(blocking_timeout_ms), .flags = SK_PARAM_IGNORED,
     .desc = "Accepted for compatibility (Cool.io loop timeout)."},
    {.name = "resolve_hostname", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(resolve_hostname),
     .desc = "Resolve peer names (on by default with source_hostname_key)."},
    {.name = "deny_keepalive", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(deny_keepalive), .desc = "Close each connection after its first message."},
    {.name = "send_keepalive_packet", .type = SK_PARAM_BOOL, .def = "false",
     .offset = OFF(send_keepalive_packet), .desc = "Enable TCP keepalive probes."},
    {.name = "chunk_size_warn_limit", .type = SK_PARAM_SIZE, .offset = OFF(chunk_size_warn_limit),
     .desc = "Warn about messages larger than this."},
    {.name = "chunk_size_limit", .type = SK_PARAM_SIZE, .max = "4g",
     .offset = OFF(chunk_size_limit),
     .desc = "Largest message; a larger one closes its connection (default 256m)."},
    {.name = "skip_invalid_event", .type = SK_PARAM_BOOL, .def = "true",
     .offset = OFF(skip_invalid_event),
     .desc = "Skip events whose time is not an integer/EventTime or record not a map."},
    {.name = "source_address_key", .type = SK_PARAM_STRING, .offset = OFF(source_address_key),
     .desc = "Record key for the client's IP address."},
    {.name = "source_hostname_key", .type = SK_PARAM_STRING,
     .offset = OFF(source_hostname_key), .desc = "Record key for the client's host name."},
    {.name = "add_tag_prefix", .type = SK_PARAM_STRING, .offset = OFF(add_tag_prefix),
     .desc = "Prefix added to incoming tags ('<prefix>.<tag>')."},
    SK_PARAM_END,
};

static void diag(struct sk_instance *ins, struct sk_diag *d, const char *what)
{
    char where[256];

    sk_diag_add(d, SK_DIAG_ERROR, ins->section->file, ins->section->line,
                sk_instance_where(ins, where, sizeof(where)), "%s", what);
}

/* Cross-field rules, as Fluentd's configure checks them. */
static int validate(struct fwd *f, struct sk_diag *d)
{
    const struct fwd_conf *conf = f->conf;
    int rc = 0;

    if (conf->add_tag_prefix != NULL && conf->add_tag_prefix[0] == '\0') {
        diag(f->ins, d, "add_tag_prefix should not be empty string");
        rc = SK_ECONFIG;
    }
    if (conf->source_hostname_key != NULL &&
        sk_conf_get(f->ins->section, "resolve_hostname") != NULL && !conf->resolve_hostname) {
        diag(f->ins, d, "resolve_hostname must be true with source_hostname_key");
        rc = SK_ECONFIG;
    }
    return rc;
}

static void setup_sessions(struct fwd *f)
{
    const struct fwd_conf *conf = f->conf;
    struct fwd_sess_conf *sc = &f->sess_conf;

    f->resolve = conf->source_hostname_key != NULL;
    sc->id = f->ins->id;
    sc->security = f->has_security ? &f->security : NULL;
    sc->tag_prefix = conf->add_tag_prefix;
    sc->addr_key = conf->source_address_key;
    sc->host_key = conf->source_hostname_key;
    sc->skip_invalid = conf->skip_invalid_event;
    sc->deny_keepalive = conf->deny_keepalive;
    sc->warn_limit = conf->chunk_size_warn_limit;
    sc->msg_max = conf->chunk_size_limit > 0 ? (size_t)conf->chunk_size_limit
                                             : FWD_MSG_MAX_DEFAULT;
    sc->inflate_max = FWD_INFLATE_MAX;
    sc->batch_bytes = FWD_BATCH_BYTES;
    sc->log = &f->log;
}

static int fwd_init(struct sk_instance *ins, struct sk_diag *d)
{
    struct fwd *f = sk_calloc(1, sizeof(*f));
    int rc;

    if (f == NULL) {
        return SK_ENOMEM;
    }
    ins->ctx = f;
    f->ins = ins;
    f->conf = ins->conf;
    f->tcp_fd = -1;
    f->udp_fd = -1;
    f->log = (struct sk_log_limit)SK_LOG_LIMIT_INIT(10000, 10);
    rc = validate(f, d);
    if (fwd_conf_sections(f, d) < 0) {
        rc = SK_ECONFIG;
    }
    setup_sessions(f);
    return rc;
}

static int fwd_start(struct sk_instance *ins)
{
    return fwd_net_start(ins->ctx);
}

static void fwd_stop(struct sk_instance *ins)
{
    fwd_net_stop(ins->ctx);
}

static void fwd_destroy(struct sk_instance *ins)
{
    struct fwd *f = ins->ctx;

    if (f == NULL) {
        return;
    }
    fwd_net_stop(f);
    fwd_conf_cleanup(f);
    sk_free(f);
    ins->ctx = NULL;
}

const struct sk_plugin sk_plugin_in_forward = {
    .name = "forward",
    .kind = SK_PLUGIN_INPUT,
    .api = SK_PLUGIN_API,
    .params = fwd_params,
    .conf_size = sizeof(struct fwd_conf),
    .desc = "Receive events over Fluentd's forward protocol (out_forward, fluent-bit, fluent-cat).",
    .init = fwd_init,
    .start = fwd_start,
    .stop = fwd_stop,
    .destroy = fwd_destroy,
};
