/* skiff: command line, logging set-up, and the engine's life cycle. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/diag.h"
#include "engine/engine.h"
#include "log/log.h"
#include "util/buf.h"

#define SK_DEFAULT_CONFIG "/etc/skiff/skiff.conf"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: skiff [-c FILE] [--dry-run] [-v|-q] [--log FILE]\n"
            "\n"
            "  -c, --config FILE  td-agent / Fluentd configuration (default %s)\n"
            "      --dry-run      check the configuration, print it with defaults filled\n"
            "                     in and secrets masked, and exit (0 valid, 1 invalid)\n"
            "  -v, --verbose      more log output (repeat for trace)\n"
            "  -q, --quiet        only warnings and errors\n"
            "      --log FILE     write skiff's own log to FILE (SIGHUP reopens it)\n"
            "      --version      print the version and exit\n"
            "  -h, --help         this text\n",
            SK_DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'}, {"dry-run", no_argument, NULL, 'n'},
        {"verbose", no_argument, NULL, 'v'},      {"quiet", no_argument, NULL, 'q'},
        {"log", required_argument, NULL, 'l'},    {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *config = SK_DEFAULT_CONFIG;
    const char *log_path = NULL;
    bool dry_run = false;
    int level = SK_LOG_INFO;
    int level_override = 0;
    struct sk_diag diag;
    struct sk_engine *eng;
    int opt;
    int rc = 0;

    while ((opt = getopt_long(argc, argv, "c:vqh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'n':
            dry_run = true;
            break;
        case 'v':
            level = level > SK_LOG_TRACE ? level - 1 : level;
            level_override = 1;
            break;
        case 'q':
            level = SK_LOG_WARN;
            level_override = 1;
            break;
        case 'l':
            log_path = optarg;
            break;
        case 'V':
            printf("skiff %s\n", SKIFF_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "skiff: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    sk_log_set_level((enum sk_log_level)level);
    if (log_path != NULL && sk_log_open(log_path) < 0) {
        fprintf(stderr, "skiff: cannot open log file %s\n", log_path);
        return 1;
    }
    sk_diag_init(&diag);
    eng = sk_engine_create(config, dry_run, &diag);
    if (level_override) {
        sk_log_set_level((enum sk_log_level)level); /* the command line beats <system> */
    }
    sk_diag_log(&diag);
    if (eng == NULL) {
        sk_log(SK_LOG_ERROR, "%s: configuration has %zu error(s); not starting", config,
               diag.errors);
        rc = 1;
    } else if (dry_run) {
        struct sk_buf out;

        sk_buf_init(&out, 64u << 20);
        if (sk_engine_dump(eng, &out) == 0 && out.data != NULL) {
            fputs(out.data, stdout);
        }
        sk_buf_cleanup(&out);
        fprintf(stderr, "%s: configuration is valid\n", config);
    } else if (sk_engine_run(eng) < 0) {
        rc = 1;
    }
    sk_engine_destroy(eng);
    sk_diag_cleanup(&diag);
    sk_log_close();
    return rc;
}
