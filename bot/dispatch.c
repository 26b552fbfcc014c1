/* dispatch: see dispatch.h. */
#include "bot/dispatch.h"
#include "bot/reconcile.h"
#include "bot/repolayout.h"
#include "bot/trust.h"
#include "host/host.h"
#include "git/changes.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

#define ZERO_SHA "0000000000000000000000000000000000000000"

/* What a job is about: its event and the commits it compares. */
typedef struct {
    const store_job *job;
    const host_event *ev;
    int is_push;
    const char *sha;         /* the commit to plan or apply */
    const char *before;      /* what it is compared with */
    char base[41];           /* a pull request's merge base, when found */
    trust_rules rules;       /* whether a push applies (bot/trust.h) */
    long long t0, t_fetched; /* for the timings line (bench/ reads it) */
} delivery;

/* The context of a line about job j (its commit `sha`) in the daemon's log. */
static log_ctx job_ctx(const store_job *j, const char *sha) {
    return (log_ctx){.job = j->id, .delivery = j->delivery, .commit = sha};
}

/* A pull request changes what its branch added since it forked, not
 * whatever the base branch did meanwhile: it is compared with the merge
 * base. The commit must be in the mirror. */
static void delivery_init(delivery *d, job_runner *r, const store_job *j, const host_event *ev,
                          long long t0) {
    memset(d, 0, sizeof(*d));
    d->t0 = t0;
    d->t_fetched = clock_mono_us();
    d->job = j;
    d->ev = ev;
    d->is_push = ev->kind == HOST_EVENT_PUSH;
    d->sha = d->is_push ? ev->after : ev->head_sha;
    d->before = d->is_push ? ev->before : ev->base_sha;
    if (d->is_push) return;
    /* A host that sends no base commit (GitLab) is compared with its
     * target branch as fetched. */
    char base_head[41];
    const char *base = ev->base_sha;
    if (!*base && cfgrepo_branch_head(r->repo, ev->base_ref, base_head, NULL) == 0) base = base_head;
    if (cfgrepo_merge_base(r->repo, base, d->sha, d->base, NULL) == 0)
        d->before = d->base;
}

static int diff(job_runner *r, const delivery *d, const repoconfig *rc, change_set *cs, errinfo *err) {
    changes_layout layout;
    int rc_diff;

    repolayout_from_config(rc, &layout);
    rc_diff = changes_between(r->repo, &layout, d->before, d->sha, cs, err);
    repolayout_free(&layout);
    return rc_diff;
}

/* One run per touched environment. Whether it applies is for the trusted
 * rules; a deleted folder is a destroy run, which execute refuses unless
 * they allow it at the run's start. */
static int add_runs(job_runner *r, const delivery *d, const repoconfig *rc, const change_set *cs,
                    errinfo *err) {
    const host_event *ev = d->ev;

    for (size_t i = 0; i < cs->n_envs; i++) {
        const repoconfig_env *env = repoconfig_env_find(rc, cs->envs[i]);
        trust_verdict v;
        int deleted = 0, apply;

        trust_verdict_of(&d->rules, r->cfg, env->name, d->is_push ? "push" : "pull_request",
                         d->is_push ? ev->ref : NULL, &v);
        for (size_t k = 0; k < cs->n_deleted; k++) deleted |= strcmp(cs->deleted[k], env->name) == 0;
        apply = v.decision == TRUST_APPLY;
        run_spec spec = {d->job->id, env->name, ev->repo, d->sha, d->before,
                         d->is_push ? ev->ref : NULL, d->is_push ? 0 : ev->pr_number,
                         deleted ? "destroy" : apply ? "apply"
                                                     : "plan",
                         d->is_push ? "push" : "pull_request"};
        if (store_run_add(r->db, &spec, err) < 0) return errinfo_prefix(err, "history");
    }
    return 0;
}

/* Each environment planned costs AWS calls: a commit touching more than
 * the operator allows fails as a whole (nothing planned, nothing applied)
 * rather than in part, so a half-deployed push cannot happen. */
static int over_env_cap(job_runner *r, const delivery *d, const change_set *cs, char *summary,
                        size_t len) {
    run x = {.env = "config", .repo = (char *)d->ev->repo, .sha = (char *)d->sha};

    if (cs->n_envs <= (size_t)r->cfg->max_envs_per_push)
        return 0;
    snprintf(summary, len,
             "%zu environments touched, over the limit max_envs_per_push = %d: nothing applied",
             cs->n_envs, r->cfg->max_envs_per_push);
    log_ctx ctx = job_ctx(d->job, d->sha);
    log_write(LOG_WARN, &ctx, "%s", summary);
    job_status(r, &x, "failure", summary);
    return 1;
}

/* Whether a push's runs apply is for the default branch's rules as the
 * remote has them: fetched again, since the pushed commit may have been in
 * the mirror while the branches moved on (bot/trust.h). Only when there are
 * runs to record: a push that touches nothing costs no fetch. */
static int load_rules(job_runner *r, delivery *d, const change_set *cs, errinfo *err) {
    if (d->is_push && cs->n_envs > 0 && job_refresh(r, d->ev->clone_url, d->sha, err) != 0)
        return errinfo_prefix(err, "fetch");
    trust_rules_load(r, &d->rules);
    return 0;
}

/* The runs of a fetched commit whose deploybot.json was read. */
static int record(job_runner *r, delivery *d, const repoconfig *rc, char *summary, size_t len) {
    const host_event *ev = d->ev;
    change_set cs;
    errinfo err;
    int ok;

    if (diff(r, d, rc, &cs, &err) != 0) {
        snprintf(summary, len, "diff: %s", err.msg);
        return -1;
    }
    strbuf ref = {0};
    strbuf_put_escaped(&ref, d->is_push ? ev->ref : "pull request");
    snprintf(summary, len, "%s %.12s: %zu environment(s) touched (%s)", ref.s ? ref.s : "", d->sha, cs.n_envs,
             cs.reason);
    strbuf_free(&ref);
    log_ctx ctx = job_ctx(d->job, d->sha);
    log_write(LOG_INFO, &ctx, "%s", summary);
    log_write(LOG_INFO, &ctx, "timings: fetch=%.1fms diff=%.1fms", (d->t_fetched - d->t0) / 1e3,
              (clock_mono_us() - d->t_fetched) / 1e3);
    ok = 0;
    if (!over_env_cap(r, d, &cs, summary, len) && (ok = load_rules(r, d, &cs, &err)) == 0)
        ok = add_runs(r, d, rc, &cs, &err);
    trust_rules_free(&d->rules);
    if (ok != 0)
        snprintf(summary, len, "%s", err.msg);
    /* The pull request's comment lists these environments as being planned. */
    else if (!d->is_push)
        notifier_pr_head(r->nt, ev->repo, ev->pr_number, d->sha, (const char *const *)cs.envs, cs.n_envs);
    change_set_free(&cs);
    return ok;
}

/* A pull request's head is fetched by its ref, always: it is the one
 * place a fork's commits are in the repository, and a branch deleted since
 * the push leaves its commits there too. */
static int fetch(job_runner *r, const host_event *ev, errinfo *err) {
    if (ev->kind == HOST_EVENT_PUSH) return job_fetch(r, ev->clone_url, ev->after, err);
    return job_fetch_pr(r, ev->clone_url, ev->pr_number, ev->head_sha, err);
}

/* A fork's pull request is planned only when the operator said so: its
 * author sees the plan, hence what exists in AWS. Otherwise nothing of it
 * is fetched, and one status says why: `error` ("could not run"), as
 * neither `success` (nothing was checked) nor `failure` (nothing is wrong
 * with the change) is true. */
static int fork_refused(job_runner *r, const host_event *ev, const store_job *j, char *summary, size_t len) {
    static const char why[] = "pull requests from forks are not planned (allow_fork_prs is off)";
    strbuf from = {0};

    if (ev->kind != HOST_EVENT_PULL_REQUEST || !ev->pr_fork || r->cfg->allow_fork_prs) return 0;
    strbuf_put_escaped(&from, ev->head_repo[0] ? ev->head_repo : "a deleted repository");
    snprintf(summary, len, "pull request #%d from %s: %s", ev->pr_number, from.s ? from.s : "", why);
    strbuf_free(&from);
    log_ctx ctx = job_ctx(j, ev->head_sha);
    log_write(LOG_INFO, &ctx, "%s", summary);
    if (notifier_status(r->nt, ev->repo, ev->head_sha, "deploybot", "error", why, NULL) != 0)
        log_write(LOG_ERROR, &ctx, "status not queued");
    return 1;
}

/* A fetch the remote refused (a wrong or missing token, a redirect the
 * token may not follow) is for a person to fix: the commit's "deploybot"
 * status says why at once, and the job is not retried. No answer at all
 * is retried. */
static int fetch_failed(job_runner *r, const host_event *ev, const char *sha, const errinfo *err,
                        const store_job *j, char *summary, size_t len) {
    snprintf(summary, len, "fetch: %s", err->msg);
    if (err->code != ERR_REMOTE && err->code != ERR_INVALID) return -1;
    if (notifier_status(r->nt, ev->repo, sha, "deploybot", "error", summary, NULL) != 0) {
        log_ctx ctx = job_ctx(j, sha);
        log_write(LOG_ERROR, &ctx, "status not queued");
    }
    return 0;
}

static int dispatch(job_runner *r, const store_job *j, const host_event *ev, char *summary, size_t len) {
    const char *sha = ev->kind == HOST_EVENT_PUSH ? ev->after : ev->head_sha;
    long long t0 = clock_mono_us();
    delivery d;
    repoconfig rc;
    errinfo err;
    int ok;

    if (fork_refused(r, ev, j, summary, len)) return 0;
    if (fetch(r, ev, &err) != 0) return fetch_failed(r, ev, sha, &err, j, summary, len);
    delivery_init(&d, r, j, ev, t0);
    if (job_repoconfig(r, sha, &rc, &err) != 0) {
        run x = {.env = "config", .repo = (char *)ev->repo, .sha = (char *)sha};

        snprintf(summary, len, "%s", err.msg);
        job_status(r, &x, "failure", err.msg);
        return 0;
    }
    ok = record(r, &d, &rc, summary, len);
    repoconfig_free(&rc);
    return ok;
}

/* Pushes that delete a branch, closed pull requests and other actions
 * change nothing that is deployed. */
static int wanted(const host_event *ev) {
    if (ev->kind == HOST_EVENT_PUSH)
        return !ev->deleted && strcmp(ev->after, ZERO_SHA) != 0;
    return ev->kind == HOST_EVENT_PULL_REQUEST &&
           (ev->pr_change == HOST_PR_OPENED || ev->pr_change == HOST_PR_UPDATED ||
            ev->pr_change == HOST_PR_REOPENED);
}

int dispatch_job(job_runner *r, const store_job *j, char *summary, size_t len) {
    host_event ev;
    errinfo err;

    int parsed = strcmp(j->event, RECONCILE_EVENT) == 0
                     ? reconcile_event_parse(r->cfg, j->payload, &ev, &err)
                     : r->host->parse(j->event, j->payload, strlen(j->payload), &ev, &err);
    if (parsed != 0) {
        snprintf(summary, len, "unreadable payload: %s", err.msg);
        return 0; /* retrying cannot help */
    }
    if (wanted(&ev))
        return dispatch(r, j, &ev, summary, len);
    snprintf(summary, len, "nothing to do for %s%s%s", j->event, ev.pr_action[0] ? " " : "", ev.pr_action);
    return 0;
}
