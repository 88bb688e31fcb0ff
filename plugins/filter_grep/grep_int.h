#ifndef SK_FILTER_GREP_GREP_INT_H
#define SK_FILTER_GREP_GREP_INT_H

/*
 * filter grep internals: the four condition lists Fluentd's GrepFilter
 * builds at configure time, in its order, and what fills them:
 *
 *   regexp_and   regexp1..20, top-level <regexp>, <and><regexp>
 *   regexp_or    <or><regexp>
 *   exclude_and  <and><exclude>
 *   exclude_or   exclude1..20, top-level <exclude>, <or><exclude>
 *
 * An event is dropped when some regexp_and does not match, when no
 * regexp_or matches, when every exclude_and matches, or when some
 * exclude_or matches. A key appears at most once per list.
 */
#include "filter_common/fc_accessor.h"
#include "log/log.h"
#include "parser/ruby_regex.h"
#include "plugin/plugin.h"

struct grep_expr {
    struct fc_accessor key;
    struct sk_ruby_regex re;
};

struct grep_list {
    struct grep_expr *v; /* owned */
    size_t n;
};

enum grep_which {
    GREP_REGEXP_AND,
    GREP_REGEXP_OR,
    GREP_EXCLUDE_AND,
    GREP_EXCLUDE_OR,
    GREP_NLISTS,
};

struct grep_ctx {
    struct grep_list lists[GREP_NLISTS];
    struct sk_buf text;        /* value.to_s of non-string values */
    struct sk_log_limit warn;  /* "failed to grep events" */
};

/*
 * Fills ctx's lists from the instance's section (v0.12 regexpN/excludeN,
 * <regexp>, <exclude>, <and>, <or>), marking what it reads as used.
 * Problems go to d with Fluentd's messages; returns 0, SK_ECONFIG or
 * SK_ENOMEM (ctx is then safe to clean up).
 */
int grep_conf_build(struct grep_ctx *ctx, struct sk_instance *ins, struct sk_diag *d) SK_WUR;

/* Frees the lists; accepts a zeroed or half-built ctx. */
void grep_conf_cleanup(struct grep_ctx *ctx);

#endif
