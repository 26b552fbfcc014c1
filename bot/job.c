/* job: see job.h. */
#include "bot/job.h"
#include "store/locks.h"
#include "bot/webhook.h"
#include "deploy/envrun.h"
#include "deploy/userdata.h"
#include "git/cfgrepo.h"
#include "git/changes.h"
#include "deploy/repoconfig.h"
#include "bot/repolayout.h"
#include "notify/notifier.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZERO_SHA "0000000000000000000000000000000000000000"

struct job_runner {
    const bot_config *cfg;
    cfgrepo *repo;
    notifier *nt;       /* statuses, comments, chat: queued in the outbox */
    redactor *rd;       /* secrets masked in logs, history and messages */
    store *db;          /* the history and the locks */
};

/* A run's log: every line goes to stderr and into the history. */
typedef struct {
    long run;
    const char *env;
    char *buf;
    size_t len;
    /* For the timings line (bench/ reads it): when envrun started and when
     * it logged its first line, i.e. had the plan; time spent on statuses. */
    double t_envrun, t_planned, notify_ms;
    const redactor *rd;
    store *history;     /* the line is also appended there, for the live page */
} run_log;

/* Monotonic milliseconds, for the timings lines. */
static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void log_kept(run_log *l, const char *line);

/* A secret (a token pasted into a stack file, say) never reaches the log or
 * the history. */
static void log_line(void *arg, const char *line) {
    run_log *l = arg;
    char *safe = redact(l->rd, line);
    log_kept(l, safe);
    free(safe);
}

static void log_kept(run_log *l, const char *line) {
    if (l->t_envrun > 0 && l->t_planned == 0) l->t_planned = now_ms();
    fprintf(stderr, "[run %ld %s] %s\n", l->run, l->env, line);
    if (l->history) store_run_log_append(l->history, l->run, line, NULL);
    size_t n = strlen(line);
    char *b = realloc(l->buf, l->len + n + 2);
    if (!b) return;
    memcpy(b + l->len, line, n);
    b[l->len + n] = '\n';
    b[l->len + n + 1] = '\0';
    l->buf = b;
    l->len += n + 1;
}

static void logf_(run_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(run_log *l, const char *fmt, ...) {
    char line[1600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_line(l, line);
}

job_runner *job_runner_new(const bot_config *cfg, const char *db_path, char *err, size_t errlen) {
    job_runner *r = calloc(1, sizeof(*r));
    errinfo e;
    r->cfg = cfg;
    r->db = store_open(db_path, 0, &e);
    if (!r->db) {
        snprintf(err, errlen, "%s", e.msg);
        free(r);
        return NULL;
    }
    r->rd = redactor_new();
    bot_config_secrets(cfg, r->rd);
    r->nt = notifier_open(db_path, &cfg->notify, r->rd, &e);
    if (!r->nt) {
        snprintf(err, errlen, "%s", e.msg);
        store_close(r->db);
        redactor_free(r->rd);
        free(r);
        return NULL;
    }
    return r;
}

void job_runner_free(job_runner *r) {
    if (!r) return;
    cfgrepo_close(r->repo);
    notifier_close(r->nt);
    redactor_free(r->rd);
    store_close(r->db);
    free(r);
}

static void set_status(job_runner *r, const run *x, const char *state, const char *desc) {
    char context[300], url[600];
    snprintf(context, sizeof(context), "deploybot/%s", x->env);
    snprintf(url, sizeof(url), "%s/runs/%ld", r->cfg->public_url, x->id);
    /* Queued, sent by notify/sender: a GitHub outage never holds up a deploy. */
    if (notifier_status(r->nt, x->repo, x->sha, context, state, desc, url) != 0)
        fprintf(stderr, "[run %ld %s] status not queued\n", x->id, x->env);
}

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
    const char *error = !failed ? NULL : res && res->errors ? res->errors : summary;
    notify_env_result e = {x->env, applied, failed, res ? res->changes : 0, summary,
                           res ? res->plan_text : NULL, error, 0, NULL};
    notifier_result(r->nt, &s, &e);
}

/* Opens the mirror (once) and fetches until `sha` is there. */
static int fetch(job_runner *r, const char *clone_url, const char *sha, errinfo *err) {
    if (!r->repo) {
        char dir[1024];
        const char *url = r->cfg->repo_url ? r->cfg->repo_url : clone_url;
        snprintf(dir, sizeof(dir), "%s/repo.git", r->cfg->data_dir);
        r->repo = cfgrepo_open(url, dir, r->cfg->repo_token_env, err);
        if (!r->repo) return -1;
    }
    if (cfgrepo_has_commit(r->repo, sha)) return 0;
    return cfgrepo_fetch(r->repo, sha, err);
}

static int load_repoconfig(job_runner *r, const char *sha, repoconfig *rc, errinfo *err) {
    size_t len;
    int missing = 0;
    char *text = cfgrepo_read_file(r->repo, sha, "deploybot.json", &len, &missing, err);
    if (!text)
        return missing ? errinfo_set(err, ERR_NOT_FOUND, "deploybot.json is missing at %.12s", sha) : -1;
    int ok = repoconfig_parse(text, len, rc, err);
    free(text);
    return ok;
}

/* ---- executing one run ---- */

typedef struct {
    const char *state;     /* final run state */
    const char *status;    /* commit status state */
    char desc[1400];       /* status description / run result */
    char plan_summary[128];
} outcome;

/* Plans and, when mode says so, applies env's stack.json at sha. */
static int deploy_at(job_runner *r, const repoconfig_env *env, const char *sha, envrun_mode mode,
                     run_log *log, envrun_result *res) {
    char file[600];
    errinfo err;
    snprintf(file, sizeof(file), "%.500s/stack.json", env->folder);
    envrun_request req = {.env = env->name, .stack_file = file, .region = r->cfg->aws_region,
                          .mode = mode, .log = log_line, .log_arg = log, .options = &r->cfg->deploy};
    char *text = NULL;
    if (mode != ENVRUN_DESTROY) {
        int missing = 0;
        text = cfgrepo_read_file(r->repo, sha, file, &req.stack_len, &missing, &err);
        if (!text) {
            memset(res, 0, sizeof(*res));
            snprintf(res->summary, sizeof(res->summary), "%s: %.511s", file, missing ? "missing" : err.msg);
            log_line(log, res->summary);
            return -1;
        }
        req.stack_text = text;
    }
    char *tmpl = NULL; /* the user-data template at the same commit; absent: a minimal script */
    if (mode != ENVRUN_DESTROY) {
        int missing = 0;
        tmpl = cfgrepo_read_file(r->repo, sha, USERDATA_TEMPLATE, &req.user_data_template_len, &missing,
                                 &err);
        if (!tmpl && !missing) {
            memset(res, 0, sizeof(*res));
            snprintf(res->summary, sizeof(res->summary), "%s: %s", USERDATA_TEMPLATE, err.msg);
            log_line(log, res->summary);
            free(text);
            return -1;
        }
        req.user_data_template = tmpl;
    }
    if (log->t_envrun == 0) log->t_envrun = now_ms();
    int rc = envrun(&req, res, NULL);
    free(tmpl);
    free(text);
    return rc;
}

/* A failed apply of an environment that asked for it: re-apply the last
 * commit that deployed successfully, and say so. */
static void auto_rollback(job_runner *r, const run *x, const repoconfig_env *env, run_log *log, outcome *o) {
    char good[41];
    if (!env->auto_rollback || store_run_last_good(r->db, x->env, good, NULL) != 1 || strcmp(good, x->sha) == 0) return;
    logf_(log, "auto_rollback: re-applying %.12s, the last commit deployed successfully", good);
    repoconfig grc;
    errinfo err;
    envrun_result res;
    if (load_repoconfig(r, good, &grc, &err) != 0) {
        logf_(log, "auto_rollback: %s", err.msg);
        return;
    }
    const repoconfig_env *genv = repoconfig_env_find(&grc, x->env);
    int rc = genv ? deploy_at(r, genv, good, ENVRUN_APPLY, log, &res) : -1;
    char failed[700];
    snprintf(failed, sizeof(failed), "%.650s", o->desc);
    /* The rollback goes first: a status description is cut at 140 characters. */
    snprintf(o->desc, sizeof(o->desc), "auto-rollback to %.12s %s; %.600s", good,
             !genv ? "impossible (environment missing there)" : rc == 0 ? "succeeded" : "failed too", failed);
    if (genv) {
        logf_(log, "auto_rollback: %s", res.summary);
        envrun_result_free(&res);
    }
    repoconfig_free(&grc);
}

static void execute(job_runner *r, const run *x, run_log *log, outcome *o) {
    char reason[400];
    errinfo err;
    repoconfig rc;
    o->state = "failed";
    o->status = "failure";
    if (fetch(r, NULL, x->sha, &err) != 0 || load_repoconfig(r, x->sha, &rc, &err) != 0) {
        snprintf(o->desc, sizeof(o->desc), "%s", err.msg);
        log_line(log, err.msg);
        return;
    }
    const repoconfig_env *env = repoconfig_env_find(&rc, x->env);
    int apply = strcmp(x->kind, "plan") != 0;
    envrun_mode mode = !apply ? ENVRUN_PLAN : strcmp(x->kind, "destroy") == 0 ? ENVRUN_DESTROY : ENVRUN_APPLY;
    long done = apply && strcmp(x->trigger, "redeploy") != 0 ? store_run_applied(r->db, x->env, x->sha, NULL) : 0;
    int locked = apply ? store_lock_get(r->db, x->env, reason, sizeof(reason), NULL) : 0, ran = 0;
    if (!env) {
        snprintf(o->desc, sizeof(o->desc), "environment %s is not in deploybot.json at %.12s", x->env, x->sha);
    } else if (done > 0) {
        o->state = "skipped";
        o->status = "success";
        snprintf(o->desc, sizeof(o->desc), "Already applied by run #%ld; not applied twice", done);
    } else if (mode == ENVRUN_DESTROY && !env->allow_destroy) {
        snprintf(o->desc, sizeof(o->desc), "%.300s was deleted; destroying needs allow_destroy in deploybot.json",
                 env->folder);
    } else {
        if (locked == 1) mode = ENVRUN_PLAN;
        double t = now_ms();
        set_status(r, x, "pending", mode == ENVRUN_PLAN ? "Planning" : "Planning, then applying");
        log->notify_ms += now_ms() - t;
        if (mode != ENVRUN_PLAN) {
            char url[600];
            notify_subject s = subject_of(r, x, url);
            notifier_started(r->nt, &s, x->env);
        }
        envrun_result res;
        int ok = deploy_at(r, env, x->sha, mode, log, &res) == 0;
        snprintf(o->plan_summary, sizeof(o->plan_summary), "%s", res.plan_summary);
        o->state = ok ? "succeeded" : "failed";
        o->status = ok ? "success" : "failure";
        if (locked == 1) {
            o->state = "blocked";
            o->status = "failure";
            snprintf(o->desc, sizeof(o->desc), "Locked (%.300s): not applied. %.900s", reason, res.summary);
        } else if (ok && !apply && res.changes) {
            snprintf(o->desc, sizeof(o->desc), "%s (not applied)", res.summary);
        } else {
            snprintf(o->desc, sizeof(o->desc), "%s", res.summary);
        }
        if (!ok && mode == ENVRUN_APPLY && !res.invalid) auto_rollback(r, x, env, log, o);
        report(r, x, mode != ENVRUN_PLAN, !ok || locked == 1,
               mode == ENVRUN_PLAN && locked != 1 ? res.summary : o->desc, &res);
        /* envrun logged its own summary; add the line only when it says more. */
        if (strcmp(o->desc, res.summary) != 0) log_line(log, o->desc);
        envrun_result_free(&res);
        ran = 1;
    }
    if (!ran) log_line(log, o->desc);
    if (!env || (done <= 0 && mode == ENVRUN_DESTROY && !env->allow_destroy)) report(r, x, apply, 1, o->desc, NULL);
    repoconfig_free(&rc);
}

void job_execute(job_runner *r, const run *x) {
    run_log log = {x->id, x->env, NULL, 0, 0, 0, 0, r->rd, r->db};
    outcome o = {0};
    double t0 = now_ms();
    logf_(&log, "%s of %.12s (%s, attempt %d)", x->kind, x->sha, x->trigger, x->attempts);
    execute(r, x, &log, &o);
    double t1 = now_ms(), planned = log.t_planned > 0 ? log.t_planned : t1;
    double prepare = log.t_envrun - t0 - log.notify_ms; /* notify_ms: the pending status so far */
    set_status(r, x, o.status, o.desc);
    log.notify_ms += now_ms() - t1;
    if (log.t_envrun > 0) /* one parseable line per run, after its final status */
        fprintf(stderr, "[run %ld %s] timings: prepare=%.1fms discover_plan=%.1fms apply=%.1fms notify=%.1fms\n",
                x->id, x->env, prepare, planned - log.t_envrun, t1 - planned, log.notify_ms);
    redact_buf(r->rd, o.desc, sizeof(o.desc)); /* the history is served by /api/runs */
    errinfo e;
    if (store_run_finish(r->db, x->id, o.state, o.plan_summary[0] ? o.plan_summary : NULL, o.desc, log.buf, &e) != 0)
        fprintf(stderr, "[run %ld %s] history not recorded: %s\n", x->id, x->env, e.msg);
    free(log.buf);
}

void job_report_superseded(job_runner *r, const run *list, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char desc[200];
        snprintf(desc, sizeof(desc), "Not applied on its own: %s", list[i].result ? list[i].result : "superseded");
        fprintf(stderr, "[run %ld %s] %s\n", list[i].id, list[i].env, desc);
        set_status(r, &list[i], "success", desc);
    }
}

/* ---- dispatching a webhook job ---- */

static int dispatch(job_runner *r, const store_job *j, const webhook_event *ev, char *summary, size_t len) {
    int is_push = ev->kind == WEBHOOK_PUSH;
    const char *sha = is_push ? ev->after : ev->head_sha;
    const char *before = is_push ? ev->before : ev->base_sha;
    char base[41];
    errinfo err;
    double t0 = now_ms();
    if (fetch(r, ev->clone_url, sha, &err) != 0) {
        snprintf(summary, len, "fetch: %s", err.msg);
        return -1;
    }
    double t1 = now_ms();
    /* A pull request changes what its branch added since it forked, not
     * whatever the base branch did meanwhile. */
    if (!is_push && cfgrepo_merge_base(r->repo, ev->base_sha, sha, base, NULL) == 0)
        before = base;
    repoconfig rc;
    if (load_repoconfig(r, sha, &rc, &err) != 0) {
        snprintf(summary, len, "%s", err.msg);
        run x = {.env = "config", .repo = (char *)ev->repo, .sha = (char *)sha};
        set_status(r, &x, "failure", err.msg);
        return 0;
    }
    change_set cs;
    changes_layout layout;
    repolayout_from_config(&rc, &layout);
    int diffed = changes_between(r->repo, &layout, before, sha, &cs, &err);
    repolayout_free(&layout);
    if (diffed != 0) {
        snprintf(summary, len, "diff: %s", err.msg);
        repoconfig_free(&rc);
        return -1;
    }
    snprintf(summary, len, "%s %.12s: %zu environment(s) touched (%s)", is_push ? ev->ref : "pull request",
             sha, cs.n_envs, cs.reason);
    fprintf(stderr, "[job %ld] %s\n", j->id, summary);
    fprintf(stderr, "[job %ld] timings: fetch=%.1fms diff=%.1fms\n", j->id, t1 - t0, now_ms() - t1);
    int rcode = 0;
    for (size_t i = 0; i < cs.n_envs && rcode == 0; i++) {
        const repoconfig_env *env = repoconfig_env_find(&rc, cs.envs[i]);
        char ref[300];
        snprintf(ref, sizeof(ref), "refs/heads/%s", env->branch);
        int deleted = 0;
        for (size_t d = 0; d < cs.n_deleted; d++) deleted |= strcmp(cs.deleted[d], env->name) == 0;
        int apply = is_push && strcmp(ev->ref, ref) == 0;
        run_spec spec = {j->id, env->name, ev->repo, sha, before, is_push ? ev->ref : NULL,
                         is_push ? 0 : ev->pr_number, deleted ? "destroy" : apply ? "apply" : "plan",
                         is_push ? "push" : "pull_request"};
        errinfo e;
        if (store_run_add(r->db, &spec, &e) < 0) {
            snprintf(summary, len, "history: %s", e.msg);
            rcode = -1;
        }
    }
    /* The pull request's comment lists these environments as being planned. */
    if (rcode == 0 && !is_push)
        notifier_pr_head(r->nt, ev->repo, ev->pr_number, sha, (const char *const *)cs.envs, cs.n_envs);
    change_set_free(&cs);
    repoconfig_free(&rc);
    return rcode;
}

int job_run(job_runner *r, const store_job *j, char *summary, size_t len) {
    webhook_event ev;
    errinfo err;
    if (webhook_github_parse(j->event, "application/json", j->payload, strlen(j->payload), &ev, &err) != 0) {
        snprintf(summary, len, "unreadable payload: %s", err.msg);
        return 0; /* retrying cannot help */
    }
    if (ev.kind == WEBHOOK_PUSH && !ev.deleted && strcmp(ev.after, ZERO_SHA) != 0)
        return dispatch(r, j, &ev, summary, len);
    if (ev.kind == WEBHOOK_PULL_REQUEST &&
        (!strcmp(ev.pr_action, "opened") || !strcmp(ev.pr_action, "synchronize") || !strcmp(ev.pr_action, "reopened")))
        return dispatch(r, j, &ev, summary, len);
    snprintf(summary, len, "nothing to do for %s%s%s", j->event, ev.pr_action[0] ? " " : "", ev.pr_action);
    return 0;
}
