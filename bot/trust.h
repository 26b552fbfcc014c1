/* trust: whether a webhook's commit may be applied or destroyed.
 *
 * A pushed commit decides what an environment's stack looks like (its
 * stack.json, the user-data template, the folders in its deploybot.json).
 * It never decides whether it is deployed: anyone who can push a branch
 * could otherwise deploy anything. That comes from what the pusher of an
 * unreviewed branch cannot change:
 *  - deploybot.json at the head of the default branch (repo.default_branch,
 *    "main": the branch review protects), fetched at the run's start: each
 *    environment's deploy branch, allow_destroy and auto_rollback;
 *  - the operator's config, which only restricts: environments.<env>.
 *    deploy_branch must name the same branch (a push to either of two
 *    differing branches applies nothing and fails, naming both), and
 *    allow_destroy false forbids destroying whatever deploybot.json says.
 * A push to any other branch, and a pull request, plans only. Without
 * readable rules (no default branch, no deploybot.json on it, or one that
 * does not parse) a push applies nothing and its status fails, saying why.
 *
 * And only the head of the deploy branch is applied by a push: a replayed
 * or late delivery of an older commit must not roll the environment back.
 * Older commits are applied only by what the bot records itself (the
 * operator's redeploy, auto_rollback). */
#ifndef DEPLOYBOT_BOT_TRUST_H
#define DEPLOYBOT_BOT_TRUST_H

#include <stddef.h>
#include "bot/job.h"

typedef enum {
    TRUST_APPLY,  /* may apply; destroy too when allow_destroy */
    TRUST_PLAN,   /* plans only: another branch, or a pull request */
    TRUST_REFUSE, /* plans only and fails: the rules are missing or disagree */
} trust_decision;

typedef struct {
    int readable; /* 0: there are none; `why` says why */
    repoconfig rc;
    char sha[41]; /* the default branch's head they were read at */
    char why[600];
} trust_rules;

typedef struct {
    trust_decision decision;
    int allow_destroy; /* both deploybot.json and the operator allow it */
    int auto_rollback;
    char why[700]; /* not TRUST_APPLY: why; TRUST_APPLY: why not destroyed */
} trust_verdict;

/* The rules at the default branch's head as the mirror has it: fetch first.
 * Never fails: rules that cannot be read are `readable` 0. Free them with
 * trust_rules_free. */
void trust_rules_load(job_runner *r, trust_rules *out);
void trust_rules_free(trust_rules *t);

/* What a run of `env` with `trigger` ("push", "pull_request", "redeploy", ...)
 * of `ref` ("refs/heads/x"; NULL for a pull request) may do. A run the bot
 * or the operator decided on ("redeploy") is not a push: it applies. */
void trust_verdict_of(const trust_rules *t, const bot_config *cfg, const char *env, const char *trigger,
                      const char *ref, trust_verdict *out);

/* 0 when `sha` is the head of branch `ref` in the mirror (fetch first); 1
 * when it is not, and `why` says so, with the head in `head` ("" when the
 * branch is gone); -1 when that cannot be told (err). */
int trust_head_check(job_runner *r, const char *ref, const char *sha, char head[41], char *why, size_t len,
                     errinfo *err);

#endif
