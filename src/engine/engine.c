/* Engine life cycle: create, start order, signals, graceful stop. */
#include "engine/engine.h"

#include <signal.h>
#include <string.h>

#include "config/config.h"
#include "engine/engine_int.h"
#include "log/log.h"
#include "loop/loop.h"
#include "parser/parser.h"
#include "util/alloc.h"

/* How long a graceful stop may spend flushing before it gives up. */
#define SK_STOP_GRACE_MS 30000
#define SK_STOP_POLL_MS 50
#define SK_SCRATCH_MAX (256u << 20)

struct sk_loop *sk_engine_loop(struct sk_engine *eng)
{
    return eng->loop;
}

bool sk_engine_dry_run(const struct sk_engine *eng)
{
    return eng->dry_run;
}

struct sk_engine *sk_engine_create(const char *path, bool dry_run, struct sk_diag *d)
{
    struct sk_engine *eng = sk_calloc(1, sizeof(*eng));

    if (eng == NULL) {
        return NULL;
    }
    eng->dry_run = dry_run;
    eng->unmatched_log = (struct sk_log_limit)SK_LOG_LIMIT_INIT(60000, 5);
    eng->error_log = (struct sk_log_limit)SK_LOG_LIMIT_INIT(60000, 20);
    sk_evbuf_init(&eng->scratch[0], SK_SCRATCH_MAX);
    sk_evbuf_init(&eng->scratch[1], SK_SCRATCH_MAX);
    eng->loop = sk_loop_create();
    if (eng->loop == NULL) {
        sk_engine_destroy(eng);
        return NULL;
    }
    eng->conf = sk_conf_load(path, d);
    if (eng->conf == NULL || d->errors > 0) {
        sk_engine_destroy(eng);
        return NULL;
    }
    if (sk_engine_build(eng, d) < 0 || d->errors > 0) {
        sk_engine_destroy(eng);
        return NULL;
    }
    return eng;
}

static int dump_section(const struct sk_engine *eng, const struct sk_conf_section *sec,
                        int indent, struct sk_buf *out);

static const struct sk_instance *instance_of(const struct sk_engine *eng,
                                             const struct sk_conf_section *sec)
{
    for (size_t i = 0; i < eng->ninstances; i++) {
        if (eng->instances[i]->section == sec) {
            return eng->instances[i];
        }
    }
    return NULL;
}

static int dump_instance(const struct sk_instance *ins, int indent, struct sk_buf *out)
{
    const struct sk_core *core = ins->core;
    int rc = sk_buf_printf(out, "%*s@type %s\n%*s@id %s\n", indent, "", ins->plugin->name, indent,
                           "", ins->id);

    if (rc == 0 && ins->label != NULL) {
        rc = sk_buf_printf(out, "%*s@label %s\n", indent, "", ins->label);
    }
    if (rc == 0 && ins->plugin->kind == SK_PLUGIN_PARSER) {
        rc = sk_param_dump(sk_parser_common_params, ins->conf, indent, out);
    }
    if (rc == 0 && ins->plugin->params != NULL) {
        rc = sk_param_dump(ins->plugin->params, ins->conf, indent, out);
    }
    if (rc == 0 && core->chunk_keys != NULL) {
        rc = sk_buf_printf(out, "%*s<buffer %s>\n", indent, "", core->chunk_keys);
        if (rc == 0) {
            rc = sk_param_dump(sk_buffer_params, &core->bconf, indent + 2, out);
        }
        if (rc == 0) {
            rc = sk_buf_printf(out, "%*s</buffer>\n", indent, "");
        }
    }
    return rc;
}

/* Sub-sections parsed by plugins themselves (<security>, <user>, <endpoint>)
 * carry no table here: mask the parameters that are secrets by name. */
static bool secret_name(const char *key)
{
    static const char *const secrets[] = {"password", "shared_key", "secret_access_key",
                                          "api_key", "session_token", "client_key_pass",
                                          "cloud_auth", "aws_sec_key", "token", "access_key_id",
                                          "aws_key_id", NULL};

    for (const char *const *s = secrets; *s != NULL; s++) {
        if (strstr(key, *s) != NULL) {
            return true;
        }
    }
    return false;
}

/* Writes a section: its instance's effective parameters, or its own. */
static int dump_section(const struct sk_engine *eng, const struct sk_conf_section *sec,
                        int indent, struct sk_buf *out)
{
    const struct sk_instance *ins = instance_of(eng, sec);
    int rc;

    if (strcmp(sec->name, "buffer") == 0 && indent > 0) {
        return 0; /* shown with its output */
    }
    if (sec->arg != NULL && *sec->arg != '\0') {
        rc = sk_buf_printf(out, "%*s<%s %s>\n", indent, "", sec->name, sec->arg);
    } else {
        rc = sk_buf_printf(out, "%*s<%s>\n", indent, "", sec->name);
    }
    if (rc == 0 && ins != NULL) {
        rc = dump_instance(ins, indent + 2, out);
    }
    for (size_t i = 0; ins == NULL && i < sec->nparams && rc == 0; i++) {
        rc = sk_buf_printf(out, "%*s%s %s\n", indent + 2, "", sec->params[i].key,
                           secret_name(sec->params[i].key) ? "xxxxxx" : sec->params[i].value);
    }
    for (size_t i = 0; i < sec->nchildren && rc == 0; i++) {
        rc = dump_section(eng, sec->children[i], indent + 2, out);
    }
    /* Parsers built from v0.12 'format' have a section of their own. */
    for (size_t i = 0; i < eng->ninstances && rc == 0 && ins != NULL; i++) {
        const struct sk_core *core = eng->instances[i]->core;

        if (core != NULL && core->synthetic != NULL &&
            eng->instances[i]->section == core->synthetic &&
            core->synthetic->line >= sec->line && sec->nchildren == 0 &&
            strcmp(sec->name, "source") == 0) {
            rc = sk_buf_printf(out, "%*s<parse>\n", indent + 2, "");
            if (rc == 0) {
                rc = dump_instance(eng->instances[i], indent + 4, out);
            }
            if (rc == 0) {
                rc = sk_buf_printf(out, "%*s</parse>\n", indent + 2, "");
            }
        }
    }
    if (rc == 0) {
        rc = sk_buf_printf(out, "%*s</%s>\n", indent, "", sec->name);
    }
    return rc;
}

int sk_engine_dump(const struct sk_engine *eng, struct sk_buf *out)
{
    const struct sk_conf_section *root = eng->conf->root;
    int rc = 0;

    for (size_t i = 0; i < root->nchildren && rc == 0; i++) {
        rc = dump_section(eng, root->children[i], 0, out);
    }
    return rc;
}

static void for_each_buffer(struct sk_engine *eng, void (*fn)(struct sk_buffer *))
{
    for (size_t i = 0; i < eng->ninstances; i++) {
        struct sk_core *core = eng->instances[i]->core;

        if (core != NULL && core->buffer != NULL) {
            fn(core->buffer);
        }
    }
}

static bool all_settled(struct sk_engine *eng)
{
    for (size_t i = 0; i < eng->ninstances; i++) {
        struct sk_core *core = eng->instances[i]->core;

        if (core != NULL && core->buffer != NULL && !sk_buffer_settled(core->buffer)) {
            return false;
        }
    }
    return true;
}

static void stop_poll(struct sk_timer *t, void *arg)
{
    struct sk_engine *eng = arg;
    int64_t now = sk_loop_update_now_ms(eng->loop);

    if (all_settled(eng) || now >= eng->stop_deadline_ms) {
        if (!all_settled(eng)) {
            sk_log(SK_LOG_WARN, "stop: gave up waiting for flushes after %d s", SK_STOP_GRACE_MS / 1000);
        }
        sk_loop_stop(eng->loop);
        return;
    }
    sk_timer_start(t, SK_STOP_POLL_MS, 0);
}

static void stop_plugins(struct sk_engine *eng, enum sk_plugin_kind kind)
{
    for (size_t i = eng->ninstances; i-- > 0;) {
        struct sk_instance *ins = eng->instances[i];
        struct sk_core *core = ins->core;

        if (ins->plugin->kind == kind && core->started) {
            core->started = false;
            if (ins->plugin->stop != NULL) {
                ins->plugin->stop(ins);
            }
        }
    }
}

void sk_engine_request_stop(struct sk_engine *eng)
{
    if (eng->stopping) {
        return;
    }
    eng->stopping = true;
    sk_log(SK_LOG_INFO, "stopping: inputs first, then flushing buffers");
    stop_plugins(eng, SK_PLUGIN_INPUT);
    for_each_buffer(eng, sk_buffer_begin_shutdown);
    eng->stop_deadline_ms = sk_loop_update_now_ms(eng->loop) + SK_STOP_GRACE_MS;
    eng->stop_timer = sk_timer_create(eng->loop, stop_poll, eng);
    if (eng->stop_timer == NULL) {
        sk_loop_stop(eng->loop);
        return;
    }
    sk_timer_start(eng->stop_timer, 0, 0);
}

static void on_signal(int signum, void *arg)
{
    struct sk_engine *eng = arg;

    switch (signum) {
    case SIGTERM:
    case SIGINT:
        sk_engine_request_stop(eng);
        break;
    case SIGUSR1:
        sk_log(SK_LOG_INFO, "SIGUSR1: flushing every buffer now");
        for_each_buffer(eng, sk_buffer_flush_now);
        break;
    case SIGHUP:
        if (sk_log_reopen() < 0) {
            sk_log(SK_LOG_ERROR, "SIGHUP: cannot reopen the log file");
        }
        break;
    default:
        break;
    }
}

static int start_plugins(struct sk_engine *eng, enum sk_plugin_kind kind)
{
    for (size_t i = 0; i < eng->ninstances; i++) {
        struct sk_instance *ins = eng->instances[i];
        struct sk_core *core = ins->core;
        int rc;

        if (ins->plugin->kind != kind) {
            continue;
        }
        rc = ins->plugin->start != NULL ? ins->plugin->start(ins) : 0;
        if (rc < 0) {
            sk_log(SK_LOG_ERROR, "%s: failed to start: %s", ins->id, sk_strerror(rc));
            return rc;
        }
        core->started = true;
    }
    return 0;
}

static void report_losses(struct sk_engine *eng)
{
    for (size_t i = 0; i < eng->ninstances; i++) {
        struct sk_instance *ins = eng->instances[i];
        struct sk_core *core = ins->core;
        uint64_t left;

        if (core == NULL || core->buffer == NULL) {
            continue;
        }
        left = sk_buffer_pending_events(core->buffer);
        if (left > 0 && sk_buffer_persistent(core->buffer)) {
            sk_log(SK_LOG_INFO, "%s: %llu events stay in the file buffer for the next start",
                   ins->id, (unsigned long long)left);
        } else if (left > 0) {
            sk_log(SK_LOG_ERROR, "%s: %llu events were still buffered at exit and are lost "
                   "(memory buffer)", ins->id, (unsigned long long)left);
        }
    }
}

int sk_engine_run(struct sk_engine *eng)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGUSR1, SIGHUP};
    int rc;

    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        rc = sk_loop_on_signal(eng->loop, sigs[i], on_signal, eng);
        if (rc < 0) {
            return rc;
        }
    }
    rc = start_plugins(eng, SK_PLUGIN_OUTPUT);
    if (rc == 0) {
        rc = start_plugins(eng, SK_PLUGIN_INPUT);
    }
    if (rc < 0) {
        stop_plugins(eng, SK_PLUGIN_INPUT);
        stop_plugins(eng, SK_PLUGIN_OUTPUT);
        return rc;
    }
    sk_log(SK_LOG_INFO, "skiff %s started", SKIFF_VERSION);
    sk_loop_run(eng->loop);
    if (!eng->stopping) {
        /* The loop ran out of work on its own: stop cleanly all the same. */
        sk_engine_request_stop(eng);
        sk_loop_run(eng->loop);
    }
    stop_plugins(eng, SK_PLUGIN_OUTPUT);
    report_losses(eng);
    sk_log(SK_LOG_INFO, "skiff stopped (unmatched events: %llu, error events: %llu)",
           (unsigned long long)eng->unmatched_events, (unsigned long long)eng->error_events);
    return 0;
}

void sk_engine_destroy(struct sk_engine *eng)
{
    if (eng == NULL) {
        return;
    }
    /* Inputs first: they hold parsers and emit into outputs. */
    for (int kind = SK_PLUGIN_INPUT; kind <= SK_PLUGIN_OUTPUT; kind++) {
        for (size_t i = eng->ninstances; i-- > 0;) {
            if (eng->instances[i] != NULL && (int)eng->instances[i]->plugin->kind == kind) {
                sk_instance_destroy(eng->instances[i]);
                eng->instances[i] = NULL;
            }
        }
    }
    sk_free(eng->instances);
    for (size_t i = 0; i < eng->nlabels; i++) {
        for (size_t j = 0; j < eng->labels[i].nroutes; j++) {
            sk_pattern_cleanup(&eng->labels[i].routes[j].pattern);
        }
        sk_free(eng->labels[i].routes);
        sk_free(eng->labels[i].name);
    }
    sk_free(eng->labels);
    sk_free(eng->system.root_dir);
    sk_free(eng->system.process_name);
    sk_timer_destroy(eng->stop_timer);
    sk_evbuf_cleanup(&eng->scratch[0]);
    sk_evbuf_cleanup(&eng->scratch[1]);
    sk_conf_destroy(eng->conf);
    sk_loop_destroy(eng->loop);
    sk_free(eng);
}
