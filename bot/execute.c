/* execute: see execute.h. */
#include "bot/execute.h"
#include "bot/metrics.h"
#include "bot/runlog.h"
#include "bot/runstop.h"
#include "bot/trust.h"
#include "deploy/envrun.h"
#include "deploy/userdata.h"
#include "store/locks.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FINISH_RETRY_MS 60000
#define FINISH_RETRY_STEP_MS 500

typedef struct {
    const char *state;  /* final run state */
    const char *status; /* commit status state */
    char desc[1400];    /* status description / run result */
    char plan_summary[128];
} outcome;

/* What the run is about, for chat and comments. A merge commit's revert
 * needs -m 1 (the mainline); unknown parentage gets it too, since git >= 2.21
 * accepts -m 1 for any commit. */
static notify_subject subject_of(job_runner *r, const run *x, char url[600]) {
    snprintf(url, 600, "%s/runs/%ld", r->cfg->public_url, x->id);
    int parents = r->repo ? cfgrepo_parent_count(r->repo, x->sha) : -1;
    return (notify_subject){x->repo, x->sha, x->ref, x->pr_number, url, parents != 1};
}

/* Chat, and the pull request's plan comment or the commit's apply comment. */
static void report(job_runner *r, const run *x, int applied, int failed, const char *summary,
                   const envrun_result *res) {
    char url[600];
    notify_subject s = subject_of(r, x, url);
    const char *error = !failed ? NULL : res && res->errors ? res->errors
                                                            : summary;
    notify_env_result e = {x->env, applied, failed, res ? res->changes : 0, summary,
                           res ? res->plan_text : NULL, error, 0, NULL};
    notifier_result(r->nt, &s, &e);
}

/* A file of the commit; missing is an error only when `required`. */
static int read_at(job_runner *r, const char *sha, const char *path, int required, char **text,
                   size_t *len, errinfo *err) {
    int missing = 0;

    *text = cfgrepo_read_file(r->repo, sha, path, r->cfg->max_file_bytes, len, &missing, err);
    if (*text || (missing && !required)) return 0;
    if (missing) errinfo_set(err, ERR_NOT_FOUND, "missing");
    return errinfo_prefix(err, "%s", path);
}

/* A destroy's stack.json, for its region only: the folder is gone at the
 * commit that deleted it, so the one it had at `before` (NULL: none). */
static char *stack_before(job_runner *r, const char *before, const char *file, size_t *len) {
    char *text = NULL;
    if (before && cfgrepo_has_commit(r->repo, before)) read_at(r, before, file, 0, &text, len, NULL);
    return text;
}

static int secret_found(void *rd, const char *text) { return redact_found(rd, text); }

int execute_deploy_at(job_runner *r, const repoconfig_env *env, const char *sha, const char *before,
                      envrun_mode mode, run_log *log, envrun_result *res) {
    char file[600], *text = NULL, *tmpl = NULL;
    errinfo err;
    snprintf(file, sizeof(file), "%.500s/stack.json", env->folder);
    const bot_env_config *ec = bot_config_env(r->cfg, env->name); /* its account, if its own */
    envrun_request req = {.env = env->name, .stack_file = file, .region = r->cfg->aws_region, .role_arn = ec ? ec->role_arn : NULL, .external_id = ec ? ec->external_id : NULL, .sessions = r->sessions, .mode = mode, .log = run_log_line, .log_arg = log, .options = &r->cfg->deploy, .prevent_destroy = ec && ec->prevent_destroy};
    if (mode == ENVRUN_DESTROY) text = stack_before(r, before, file, &req.stack_len);
    if (mode != ENVRUN_DESTROY &&
        (read_at(r, sha, file, 1, &text, &req.stack_len, &err) != 0 ||
         read_at(r, sha, USERDATA_TEMPLATE, 0, &tmpl, &req.user_data_template_len, &err) != 0)) {
        memset(res, 0, sizeof(*res));
        res->discover_s = res->plan_s = res->apply_s = -1;
        snprintf(res->summary, sizeof(res->summary), "%.1100s", err.msg);
        run_log_line(log, res->summary);
        free(text);
        return -1;
    }
    req.stack_text = text;
    req.user_data_template = tmpl;
    req.render = (plan_render_opts){.is_secret = secret_found, .secret_arg = r->rd}; /* no colour: for comments and the run page */
    req.metrics = r->metrics;
    req.cancel = r->stop ? runstop_check : NULL;
    req.cancel_arg = r->stop;
    if (log->t_envrun == 0) log->t_envrun = clock_mono_us();
    int rc = envrun(&req, res, NULL);
    free(tmpl);
    free(text);
    return rc;
}

/* A failed apply of an environment whose trusted rules ask for it: re-apply
 * the last commit that deployed successfully, and say so. */
static void auto_rollback(job_runner *r, const run *x, run_log *log, outcome *o) {
    char good[41], failed[700];
    repoconfig grc;
    errinfo err;
    envrun_result res;
    if (store_run_last_good(r->db, x->env, good, NULL) != 1 || strcmp(good, x->sha) == 0)
        return;
    run_log_printf(log, "auto_rollback: re-applying %.12s, the last commit deployed successfully", good);
    if (job_repoconfig(r, good, &grc, &err) != 0) {
        run_log_printf(log, "auto_rollback: %s", err.msg);
        return;
    }
    const repoconfig_env *genv = repoconfig_env_find(&grc, x->env);
    int rc = genv ? execute_deploy_at(r, genv, good, NULL, ENVRUN_APPLY, log, &res) : -1;
    snprintf(failed, sizeof(failed), "%.650s", o->desc);
    /* The rollback goes first: a status description is cut at 140 characters. */
    snprintf(o->desc, sizeof(o->desc), "auto-rollback to %.12s %s; %.600s", good,
             !genv ? "impossible (environment missing there)" : rc == 0 ? "succeeded"
                                                                        : "failed too",
             failed);
    if (genv) {
        run_log_printf(log, "auto_rollback: %s", res.summary);
        envrun_result_free(&res);
    }
    repoconfig_free(&grc);
}

/* The pending status, and chat's "apply started". */
static void announce(job_runner *r, const run *x, envrun_mode mode, run_log *log) {
    long long t = clock_mono_us();
    job_status(r, x, "pending", mode == ENVRUN_PLAN ? "Planning" : "Planning, then applying");
    log->notify_us += clock_mono_us() - t;
    if (mode != ENVRUN_PLAN) {
        char url[600];
        notify_subject s = subject_of(r, x, url);
        notifier_started(r->nt, &s, x->env);
    }
}

/* The outcome of an envrun. `apply`: the run asked for an apply or destroy;
 * `lock`: why the environment is locked, NULL when it is not; `v`: what the
 * trust rules allowed a push (NULL: not a push). */
static void judge(outcome *o, const envrun_result *res, int ok, int apply, const char *lock,
                  const trust_verdict *v) {
    snprintf(o->plan_summary, sizeof(o->plan_summary), "%s", res->plan_summary);
    o->state = ok ? "succeeded" : "failed";
    o->status = ok ? "success" : "failure";
    if (lock) {
        o->state = "blocked";
        o->status = "failure";
        snprintf(o->desc, sizeof(o->desc), "Locked (%.300s): not applied. %.900s", lock, res->summary);
    } else if (v && v->decision == TRUST_REFUSE) {
        o->state = "blocked";
        o->status = "failure";
        snprintf(o->desc, sizeof(o->desc), "Not applied: %.600s. %.700s", v->why, res->summary);
    } else if (ok && v && v->decision == TRUST_PLAN) {
        snprintf(o->desc, sizeof(o->desc), "Plan only: %.600s. %.700s", v->why, res->summary);
    } else if (ok && !apply && res->changes) {
        snprintf(o->desc, sizeof(o->desc), "%s (not applied)", res->summary);
    } else {
        snprintf(o->desc, sizeof(o->desc), "%s", res->summary);
    }
}

/* 1 when the run was stopped before it was done (bot/runstop.h): its
 * outcome is then a failure that says why. */
static int stopped(job_runner *r, outcome *o) {
    if (!r->stop || runstop_reason(r->stop) == RUNSTOP_NONE) return 0;
    o->state = "failed";
    o->status = "failure";
    runstop_describe(r->stop, o->desc, sizeof(o->desc));
    return 1;
}

/* The run is left to another start (a shutdown) or replica (its lease was
 * lost): its outcome is not known yet, and not this thread's to tell. */
static int handed_over(job_runner *r) {
    runstop_why why = r->stop ? runstop_reason(r->stop) : RUNSTOP_NONE;
    return why == RUNSTOP_SHUTDOWN || why == RUNSTOP_LEASE_LOST ||
           (r->stop && r->stop->lease && replica_lease_lost(r->stop->lease));
}

/* Whether env is locked, with the reason; a lock that cannot be read (the
 * database unavailable) counts as held: an apply never slips past it. */
static int lock_of(job_runner *r, const char *env, char *reason, size_t size) {
    errinfo err;
    int rc = store_lock_get(r->db, env, reason, size, &err);

    if (rc < 0)
        snprintf(reason, size, "the lock cannot be read: %.300s", err.msg);
    return rc != 0;
}

/* Plans env at the run's commit, and applies (or destroys) when mode says
 * so, the trust rules allow it and the environment is not locked; then
 * reports. */
static void run_env(job_runner *r, const run *x, const repoconfig_env *env, envrun_mode mode,
                    const trust_verdict *v, run_log *log, outcome *o) {
    char reason[400];
    int apply = mode != ENVRUN_PLAN;
    int locked = apply && lock_of(r, x->env, reason, sizeof(reason));
    const trust_verdict *pushed = strcmp(x->trigger, "push") == 0 ? v : NULL;
    int refused = v->decision == TRUST_REFUSE;
    envrun_result res;
    if (locked || v->decision != TRUST_APPLY) mode = ENVRUN_PLAN;
    announce(r, x, mode, log);
    int ok = execute_deploy_at(r, env, x->sha, x->before, mode, log, &res) == 0;
    bot_metrics_phase(r->metrics, x->env, "discover", res.discover_s);
    bot_metrics_phase(r->metrics, x->env, "plan", res.plan_s);
    bot_metrics_phase(r->metrics, x->env, "apply", res.apply_s);
    judge(o, &res, ok, apply, locked ? reason : NULL, pushed);
    int stop = !ok && stopped(r, o);
    if (!ok && !stop && mode == ENVRUN_APPLY && !res.invalid && v->auto_rollback) auto_rollback(r, x, log, o);
    if (!handed_over(r)) /* it resumes: the outcome is not known yet */
        report(r, x, mode != ENVRUN_PLAN, !ok || locked || refused,
               mode == ENVRUN_PLAN && !locked && !refused && !stop ? res.summary : o->desc, &res);
    /* envrun logged its own summary; add the line only when it says more. */
    if (strcmp(o->desc, res.summary) != 0) run_log_line(log, o->desc);
    envrun_result_free(&res);
}

static envrun_mode mode_of(const run *x) {
    if (strcmp(x->kind, "plan") == 0) return ENVRUN_PLAN;
    return strcmp(x->kind, "destroy") == 0 ? ENVRUN_DESTROY : ENVRUN_APPLY;
}

/* What the operator or the bot decided to apply again, though applied
 * already: a redeploy, a drift's remediation (bot/drift.h). */
static int reapplies(const run *x) {
    return strcmp(x->trigger, "redeploy") == 0 || strcmp(x->trigger, "drift") == 0;
}

/* x is skipped as not the head: the head's apply may have been superseded by
 * x (whose run id was the higher, its push dispatched later), so it is
 * queued again (store_run_requeue_head) lest the head stay unapplied. */
static void requeue_head(job_runner *r, const run *x, const char *head) {
    errinfo err;
    long id = store_run_requeue_head(r->db, x->env, head, &err);
    log_ctx ctx = {.run = x->id, .env = x->env};

    if (id < 0)
        log_write(LOG_ERROR, &ctx, "%s", err.msg);
    else if (id > 0)
        log_write(LOG_INFO, &ctx, "run #%ld (apply of the head %.12s) queued again", id, head);
}

/* Why x must not run (1, said in o): its environment is gone, it was
 * applied already (unless it reapplies), it destroys what the
 * trust rules keep, or a push's commit is no longer its branch's head. */
static int must_not_run(job_runner *r, const run *x, const repoconfig_env *env, envrun_mode mode,
                        const trust_verdict *v, outcome *o) {
    errinfo err;
    long done = mode != ENVRUN_PLAN && !reapplies(x)
                    ? store_run_applied(r->db, x->env, x->sha, NULL)
                    : 0;
    int head = 0;
    char head_sha[41];
    if (!env) {
        snprintf(o->desc, sizeof(o->desc), "environment %s is not in deploybot.json at %.12s", x->env, x->sha);
    } else if (done > 0) {
        o->state = "skipped";
        o->status = "success";
        snprintf(o->desc, sizeof(o->desc), "Already applied by run #%ld; not applied twice", done);
    } else if (mode == ENVRUN_DESTROY && (v->decision != TRUST_APPLY || !v->allow_destroy)) {
        snprintf(o->desc, sizeof(o->desc), "%.300s was deleted; not destroyed: %.900s", env->folder, v->why);
    } else if (mode != ENVRUN_PLAN && v->decision == TRUST_APPLY && strcmp(x->trigger, "push") == 0 &&
               (head = trust_head_check(r, x->ref, x->sha, head_sha, o->desc, sizeof(o->desc), &err)) != 0) {
        if (head < 0) snprintf(o->desc, sizeof(o->desc), "%s", err.msg);
        o->state = head < 0 ? "failed" : "skipped";
        o->status = head < 0 ? "failure" : "success";
        if (head > 0 && head_sha[0]) requeue_head(r, x, head_sha);
    } else {
        return 0;
    }
    return 1;
}

/* Runs x unless it must not run. What a push may do is decided now, by the
 * rules as the remote has them at the run's start (bot/trust.h). */
static void execute(job_runner *r, const run *x, run_log *log, outcome *o) {
    errinfo err;
    repoconfig rc;
    trust_rules tr;
    trust_verdict v;
    envrun_mode mode = mode_of(x);
    int push_apply = mode != ENVRUN_PLAN && strcmp(x->trigger, "push") == 0;
    o->state = "failed";
    o->status = "failure";
    long long t0 = clock_mono_us();
    int fetched = (push_apply ? job_refresh(r, NULL, x->sha, &err) : job_fetch(r, NULL, x->sha, &err)) == 0;
    bot_metrics_phase(r->metrics, x->env, "fetch", (clock_mono_us() - t0) / 1e6);
    if (!fetched || job_repoconfig(r, x->sha, &rc, &err) != 0) {
        snprintf(o->desc, sizeof(o->desc), "%s", err.msg);
        run_log_line(log, err.msg);
        return;
    }
    trust_rules_load(r, &tr);
    trust_verdict_of(&tr, r->cfg, x->env, x->trigger, x->ref, &v);
    trust_rules_free(&tr);
    const repoconfig_env *env = repoconfig_env_find(&rc, x->env);
    if (!must_not_run(r, x, env, mode, &v, o)) {
        run_env(r, x, env, mode, &v, log, o);
    } else {
        run_log_line(log, o->desc);
        if (strcmp(o->state, "failed") == 0) report(r, x, mode != ENVRUN_PLAN, 1, o->desc, NULL);
    }
    repoconfig_free(&rc);
}

/* One parseable line per run, after its final status (bench/ reads it).
 * notify_before: the time spent on statuses before the final one. */
static void print_timings(const run_log *l, long long t0, long long t1, long long notify_before) {
    long long planned = l->t_planned > 0 ? l->t_planned : t1;
    if (l->t_envrun == 0) return;
    log_ctx ctx = run_log_ctx(l);
    log_write(LOG_INFO, &ctx, "timings: prepare=%.1fms discover_plan=%.1fms apply=%.1fms notify=%.1fms",
              (l->t_envrun - t0 - notify_before) / 1e3, (planned - l->t_envrun) / 1e3, (t1 - planned) / 1e3,
              l->notify_us / 1e3);
}

/* The outcome outlives a short outage of the database (PostgreSQL
 * restarting): a finish refused as unavailable is tried again, for up to
 * FINISH_RETRY_MS, so the run is not left "running" to be run again at the
 * next start. The same UPDATE each time. */
static int finish_recorded(job_runner *r, const run *x, const outcome *o, const char *log, errinfo *err) {
    const struct timespec pause = {0, FINISH_RETRY_STEP_MS * 1000000L};
    const char *summary = o->plan_summary[0] ? o->plan_summary : NULL;
    int rc, tries = 0;

    while ((rc = store_run_finish(r->db, x->id, r->fence, o->state, summary, o->desc, log, err)) != 0 &&
           err->code == ERR_UNAVAILABLE && ++tries * FINISH_RETRY_STEP_MS < FINISH_RETRY_MS && !handed_over(r))
        nanosleep(&pause, NULL);
    return rc;
}

void execute_run(job_runner *r, const run *x) {
    run_log log;
    outcome o = {0};
    errinfo err;
    run_log_init(&log, x->id, x->env, r->rd, r->db);
    log.commit = x->sha;
    log.fence = r->fence;
    long long t0 = clock_mono_us();
    run_log_printf(&log, "%s of %.12s (%s, attempt %d)", x->kind, x->sha, x->trigger, x->attempts);
    if (r->stop && runstop_check(r->stop) && stopped(r, &o)) /* canceled before it started */
        run_log_line(&log, o.desc);
    else
        execute(r, x, &log, &o);
    if (handed_over(r)) {
        run_log_line(&log, runstop_reason(r->stop) == RUNSTOP_SHUTDOWN
                               ? "stopped: deploybot is shutting down; the run resumes at the next start"
                               : "stopped: this replica lost the lease of the environment; another takes the run over");
        run_log_free(&log);
        return;
    }
    long long t1 = clock_mono_us(), notify_before = log.notify_us;
    job_status(r, x, o.status, o.desc);
    log.notify_us += clock_mono_us() - t1;
    print_timings(&log, t0, t1, notify_before);
    redact_buf(r->rd, o.desc, sizeof(o.desc)); /* the history is served by /api/runs */
    if (finish_recorded(r, x, &o, log.buf, &err) != 0) {
        log_ctx ctx = run_log_ctx(&log);
        log_write(LOG_ERROR, &ctx, "history not recorded: %s", err.msg);
    }
    bot_metrics_run(r->metrics, x->env, x->kind, o.state, (t1 - t0) / 1e6);
    run_log_free(&log);
}

void execute_report_superseded(job_runner *r, const run *list, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char desc[200];
        snprintf(desc, sizeof(desc), "Not applied on its own: %s", list[i].result ? list[i].result : "superseded");
        log_ctx ctx = job_run_ctx(&list[i]);
        log_write(LOG_INFO, &ctx, "%s", desc);
        job_status(r, &list[i], "success", desc);
        bot_metrics_run(r->metrics, list[i].env, list[i].kind, "superseded", -1);
    }
}
