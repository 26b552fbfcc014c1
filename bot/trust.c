/* trust: see trust.h. */
#include "bot/trust.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <string.h>

#define HEADS "refs/heads/"

void trust_rules_load(job_runner *r, trust_rules *out) {
    errinfo err;
    const char *branch = r->cfg->default_branch;

    memset(out, 0, sizeof(*out));
    if (cfgrepo_branch_head(r->repo, branch, out->sha, &err) != 0 ||
        job_repoconfig(r, out->sha, &out->rc, &err) != 0) {
        snprintf(out->why, sizeof(out->why), "no rules on the default branch %.200s: %.360s", branch, err.msg);
        return;
    }
    out->readable = 1;
}

void trust_rules_free(trust_rules *t) {
    if (t->readable) repoconfig_free(&t->rc);
    t->readable = 0;
}

/* 1 when ref is the branch `name` ("refs/heads/<name>"). */
static int is_branch(const char *ref, const char *name) {
    return ref && strncmp(ref, HEADS, strlen(HEADS)) == 0 && strcmp(ref + strlen(HEADS), name) == 0;
}

/* Why a destroy would be refused, said once decision is known to be APPLY. */
static void destroy_why(const bot_config *cfg, const bot_env_config *op, const repoconfig_env *e, const char *env,
                        trust_verdict *out) {
    if (e && e->allow_destroy && op && !op->allow_destroy)
        snprintf(out->why, sizeof(out->why), "the operator's config sets environments.%s.allow_destroy to false",
                 env);
    else if (!out->allow_destroy)
        snprintf(out->why, sizeof(out->why), "destroying needs allow_destroy for %s in deploybot.json on %.200s",
                 env, cfg->default_branch);
}

/* A push: its branch must be the environment's deploy branch by both the
 * rules and (when it names one) the operator. */
static void push_verdict(const trust_rules *t, const bot_config *cfg, const bot_env_config *op,
                         const repoconfig_env *e, const char *env, const char *ref, trust_verdict *out) {
    const char *dflt = cfg->default_branch;

    if (!t->readable) {
        out->decision = TRUST_REFUSE;
        snprintf(out->why, sizeof(out->why), "%s", t->why);
    } else if (!e) {
        out->decision = TRUST_PLAN;
        snprintf(out->why, sizeof(out->why), "%s is not in deploybot.json on %.200s", env, dflt);
    } else if (op && op->deploy_branch && strcmp(op->deploy_branch, e->branch) != 0 &&
               (is_branch(ref, op->deploy_branch) || is_branch(ref, e->branch))) {
        out->decision = TRUST_REFUSE;
        snprintf(out->why, sizeof(out->why),
                 "the deploy branch of %s is %.200s in the operator's config but %.200s in deploybot.json on %.200s",
                 env, op->deploy_branch, e->branch, dflt);
    } else if (!is_branch(ref, e->branch)) {
        strbuf pushed = {0}; /* the pusher's words: a log line must not be forged */
        strbuf_put_escaped(&pushed, ref ? ref : "?");
        out->decision = TRUST_PLAN;
        snprintf(out->why, sizeof(out->why), "%.200s is not the deploy branch of %s (%.200s)", pushed.s ? pushed.s : "", env,
                 e->branch);
        strbuf_free(&pushed);
    }
}

void trust_verdict_of(const trust_rules *t, const bot_config *cfg, const char *env, const char *trigger,
                      const char *ref, trust_verdict *out) {
    const bot_env_config *op = bot_config_env(cfg, env);
    const repoconfig_env *e = t->readable ? repoconfig_env_find(&t->rc, env) : NULL;

    memset(out, 0, sizeof(*out));
    out->decision = TRUST_APPLY;
    out->auto_rollback = e && e->auto_rollback;
    out->allow_destroy = e && e->allow_destroy && (!op || op->allow_destroy);
    destroy_why(cfg, op, e, env, out);
    if (strcmp(trigger, "pull_request") == 0) {
        out->decision = TRUST_PLAN;
        snprintf(out->why, sizeof(out->why), "a pull request is only planned");
    } else if (strcmp(trigger, "push") == 0) {
        push_verdict(t, cfg, op, e, env, ref, out);
    }
}

int trust_head_check(job_runner *r, const char *ref, const char *sha, char head[41], char *why, size_t len,
                     errinfo *err) {
    const char *branch = strncmp(ref, HEADS, strlen(HEADS)) == 0 ? ref + strlen(HEADS) : ref;
    errinfo e;

    head[0] = '\0';
    if (cfgrepo_branch_head(r->repo, ref, head, &e) != 0) {
        head[0] = '\0';
        if (e.code != ERR_NOT_FOUND) {
            if (err) *err = e;
            return -1;
        }
        snprintf(why, len, "Not applied: branch %.200s no longer exists; only a branch head is applied", branch);
        return 1;
    }
    if (strcmp(head, sha) == 0) return 0;
    snprintf(why, len, "Not applied: not the head of %.200s (now %.12s); only the branch head is applied", branch,
             head);
    return 1;
}
