/* job: see job.h. */
#include "bot/job.h"
#include "bot/webhook.h"
#include "deploy/envrun.h"
#include "git/cfgrepo.h"
#include "git/changes.h"
#include "git/repoconfig.h"
#include "notify/github.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct job_runner {
    const bot_config *cfg;
    cfgrepo *repo;
    github_client *gh;
};

typedef struct {
    long job;
    const char *env;
} log_ctx;

static void job_log(void *arg, const char *line) {
    const log_ctx *l = arg;
    fprintf(stderr, "[job %ld %s] %s\n", l->job, l->env, line);
}

job_runner *job_runner_new(const bot_config *cfg) {
    job_runner *r = calloc(1, sizeof(*r));
    r->cfg = cfg;
    r->gh = github_client_new(cfg->github_api_url, cfg->github_token);
    return r;
}

void job_runner_free(job_runner *r) {
    if (!r) return;
    cfgrepo_close(r->repo);
    github_client_free(r->gh);
    free(r);
}

static void set_status(job_runner *r, const webhook_event *ev, const char *sha, const char *env,
                       const char *state, const char *desc, long job) {
    char context[300], err[512], url[600];
    snprintf(context, sizeof(context), "deploybot/%s", env);
    snprintf(url, sizeof(url), "%s/api/runs/%ld", r->cfg->public_url, job);
    if (github_status_set(r->gh, ev->repo, sha, state, context, desc, url, err, sizeof(err)) != 0)
        fprintf(stderr, "[job %ld %s] status not posted: %s\n", job, env, err);
}

/* Opens the mirror (once) and fetches until `sha` is there. */
static int fetch(job_runner *r, const webhook_event *ev, const char *sha, char *err, size_t errlen) {
    if (!r->repo) {
        char dir[1024];
        const char *url = r->cfg->repo_url ? r->cfg->repo_url : ev->clone_url;
        snprintf(dir, sizeof(dir), "%s/repo.git", r->cfg->data_dir);
        r->repo = cfgrepo_open(url, dir, r->cfg->repo_token_env, err, errlen);
        if (!r->repo) return -1;
    }
    if (cfgrepo_has_commit(r->repo, sha)) return 0;
    return cfgrepo_fetch(r->repo, sha, err, errlen);
}

static int load_repoconfig(job_runner *r, const char *sha, repoconfig *rc, char *err, size_t errlen) {
    size_t len;
    int missing = 0;
    char *text = cfgrepo_read_file(r->repo, sha, "deploybot.json", &len, &missing, err, errlen);
    if (!text) {
        if (missing) snprintf(err, errlen, "deploybot.json is missing at %.12s", sha);
        return -1;
    }
    int ok = repoconfig_parse(text, len, rc, err, errlen);
    free(text);
    return ok;
}

typedef struct {
    job_runner *r;
    const webhook_event *ev;
    const char *sha;
    int apply;
    long job;
} env_job;

static void run_env(const env_job *ej, const repoconfig_env *env, int deleted) {
    log_ctx lc = {ej->job, env->name};
    char file[600], desc[1400];
    snprintf(file, sizeof(file), "%.500s/stack.json", env->folder);
    if (deleted && !env->allow_destroy) {
        snprintf(desc, sizeof(desc), "%.300s was deleted; destroying needs allow_destroy in deploybot.json", env->folder);
        job_log(&lc, desc);
        set_status(ej->r, ej->ev, ej->sha, env->name, "failure", desc, ej->job);
        return;
    }
    set_status(ej->r, ej->ev, ej->sha, env->name, "pending", ej->apply ? "Planning, then applying" : "Planning", ej->job);
    envrun_request req = {.env = env->name, .stack_file = file, .region = ej->r->cfg->aws_region,
                          .mode = deleted ? ENVRUN_DESTROY : ej->apply ? ENVRUN_APPLY : ENVRUN_PLAN,
                          .log = job_log, .log_arg = &lc};
    char *text = NULL;
    if (!deleted) {
        char err[512];
        int missing = 0;
        text = cfgrepo_read_file(ej->r->repo, ej->sha, file, &req.stack_len, &missing, err, sizeof(err));
        if (!text) {
            snprintf(desc, sizeof(desc), "%s: %s", file, missing ? "missing" : err);
            set_status(ej->r, ej->ev, ej->sha, env->name, "failure", desc, ej->job);
            return;
        }
        req.stack_text = text;
    }
    envrun_result res;
    int rc = envrun(&req, &res);
    const char *state = rc == 0 ? "success" : "failure";
    if (rc == 0 && !ej->apply && res.changes) snprintf(desc, sizeof(desc), "%s (not applied)", res.summary);
    else snprintf(desc, sizeof(desc), "%s", res.summary);
    set_status(ej->r, ej->ev, ej->sha, env->name, state, desc, ej->job);
    envrun_result_free(&res);
    free(text);
}

static int run_event(job_runner *r, const queue_job *j, const webhook_event *ev, char *summary, size_t len) {
    int is_push = ev->kind == WEBHOOK_PUSH;
    const char *sha = is_push ? ev->after : ev->head_sha;
    const char *before = is_push ? ev->before : ev->base_sha;
    char err[512], base[41];
    if (fetch(r, ev, sha, err, sizeof(err)) != 0) {
        snprintf(summary, len, "fetch: %s", err);
        return -1;
    }
    /* A pull request changes what its branch added since it forked, not
     * whatever the base branch did meanwhile. */
    if (!is_push && cfgrepo_merge_base(r->repo, ev->base_sha, sha, base, err, sizeof(err)) == 0)
        before = base;
    repoconfig rc;
    if (load_repoconfig(r, sha, &rc, err, sizeof(err)) != 0) {
        snprintf(summary, len, "%s", err);
        set_status(r, ev, sha, "config", "failure", err, j->id);
        return 0;
    }
    change_set cs;
    if (changes_between(r->repo, &rc, before, sha, &cs, err, sizeof(err)) != 0) {
        snprintf(summary, len, "diff: %s", err);
        repoconfig_free(&rc);
        return -1;
    }
    snprintf(summary, len, "%s %.12s: %zu environment(s) touched (%s)", is_push ? ev->ref : "pull request",
             sha, cs.n_envs, cs.reason);
    fprintf(stderr, "[job %ld] %s\n", j->id, summary);
    for (size_t i = 0; i < cs.n_envs; i++) {
        const repoconfig_env *env = repoconfig_env_find(&rc, cs.envs[i]);
        char ref[300];
        snprintf(ref, sizeof(ref), "refs/heads/%s", env->branch);
        env_job ej = {r, ev, sha, is_push && strcmp(ev->ref, ref) == 0, j->id};
        int deleted = 0;
        for (size_t d = 0; d < cs.n_deleted; d++) deleted |= strcmp(cs.deleted[d], env->name) == 0;
        run_env(&ej, env, deleted);
    }
    change_set_free(&cs);
    repoconfig_free(&rc);
    return 0;
}

int job_run(job_runner *r, const queue_job *j, char *summary, size_t len) {
    webhook_event ev;
    char err[512];
    if (webhook_github_parse(j->event, "application/json", j->payload, strlen(j->payload), &ev, err,
                             sizeof(err)) != 0) {
        snprintf(summary, len, "unreadable payload: %s", err);
        return 0; /* retrying cannot help */
    }
    if (ev.kind == WEBHOOK_PUSH && !ev.deleted && strcmp(ev.after, "0000000000000000000000000000000000000000") != 0)
        return run_event(r, j, &ev, summary, len);
    if (ev.kind == WEBHOOK_PULL_REQUEST &&
        (!strcmp(ev.pr_action, "opened") || !strcmp(ev.pr_action, "synchronize") || !strcmp(ev.pr_action, "reopened")))
        return run_event(r, j, &ev, summary, len);
    snprintf(summary, len, "nothing to do for %s", j->event);
    return 0;
}
