/* reconcile: see reconcile.h. */
#include "bot/reconcile.h"
#include "bot/repolayout.h"
#include "bot/trust.h"
#include "store/jobs.h"
#include "util/log.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Whether before..head touches env, with the layout of deploybot.json at
 * head, as the job will diff it. */
static int touched(job_runner *r, const char *env, const char *before, const char *head) {
    repoconfig rc;
    changes_layout layout;
    change_set cs;
    int hit = 0;

    if (job_repoconfig(r, head, &rc, NULL) != 0) return 0;
    repolayout_from_config(&rc, &layout);
    if (changes_between(r->repo, &layout, before, head, &cs, NULL) == 0) {
        for (size_t i = 0; i < cs.n_envs; i++) hit |= strcmp(cs.envs[i], env) == 0;
        change_set_free(&cs);
    }
    repolayout_free(&layout);
    repoconfig_free(&rc);
    return hit;
}

/* Queues the push of env's branch head `head`, unless a run of it was
 * recorded already or it does not touch env since its last good commit. */
static int queue_env(job_runner *r, store *q, const repoconfig_env *env, const char *head, errinfo *err) {
    char before[41], delivery[256];
    long recorded = store_run_recorded(r->db, env->name, head, err);
    int dup = 0;

    if (recorded != 0) return recorded < 0 ? -1 : 0;
    /* It catches up on what was missed; it does not bring up an environment
     * the bot never applied (the first push does). */
    int good = store_run_last_good(r->db, env->name, before, err);
    if (good <= 0) return good;
    if (!touched(r, env->name, before, head)) return 0;
    snprintf(delivery, sizeof(delivery), "reconcile:%s:%s", env->name, head);
    json_t *p = json_pack("{s:s+,s:s,s:s}", "ref", "refs/heads/", env->branch, "before", before, "after", head);
    char *payload = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (!payload) return errinfo_set(err, ERR_INVALID, "reconcile: branch name of %s is not UTF-8", env->name);
    int rc = store_delivery_add(q, delivery, RECONCILE_EVENT, payload, NULL, &dup, err);
    free(payload);
    if (rc < 0) return -1;
    if (!dup)
        log_write(LOG_INFO, &(log_ctx){.env = env->name, .commit = head},
                  "reconcile: %s's branch %s is at %.12s, not applied: queued", env->name, env->branch, head);
    return dup ? 0 : 1;
}

int reconcile_heads(job_runner *r, store *q, errinfo *err) {
    trust_rules rules;
    int queued = 0;

    if (job_refresh(r, NULL, NULL, err) != 0) return errinfo_prefix(err, "reconcile: fetch");
    trust_rules_load(r, &rules);
    for (size_t i = 0; rules.readable && i < rules.rc.n_envs && queued >= 0; i++) {
        const repoconfig_env *env = &rules.rc.envs[i];
        char head[41];
        int n;

        /* A deploy branch that does not exist (yet) has nothing to apply. */
        if (cfgrepo_branch_head(r->repo, env->branch, head, NULL) != 0) continue;
        n = queue_env(r, q, env, head, err);
        queued = n < 0 ? -1 : queued + n;
    }
    trust_rules_free(&rules);
    return queued;
}

int reconcile_event_parse(const bot_config *cfg, const char *payload, host_event *out, errinfo *err) {
    const char *ref = NULL, *before = NULL, *after = NULL;
    json_t *p = json_loads(payload, 0, NULL);

    memset(out, 0, sizeof(*out));
    if (!p || json_unpack(p, "{s:s,s:s,s:s}", "ref", &ref, "before", &before, "after", &after) != 0 ||
        strlen(before) != 40 || strlen(after) != 40 || strlen(ref) >= sizeof(out->ref)) {
        json_decref(p);
        return errinfo_set(err, ERR_INVALID, "reconcile job: malformed payload");
    }
    out->kind = HOST_EVENT_PUSH;
    snprintf(out->ref, sizeof(out->ref), "%s", ref);
    memcpy(out->before, before, 41);
    memcpy(out->after, after, 41);
    snprintf(out->repo, sizeof(out->repo), "%s", cfg->repo_name ? cfg->repo_name : "");
    snprintf(out->clone_url, sizeof(out->clone_url), "%s", cfg->repo_url ? cfg->repo_url : "");
    json_decref(p);
    return 0;
}
