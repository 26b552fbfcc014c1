/* drift: see drift.h. The check; the schedule is bot/driftsched.c. */
#include "bot/drift.h"
#include "util/log.h"
#include "bot/execute.h"
#include "store/drift.h"
#include "store/locks.h"
#include "util/digest.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Whether the check was told to stop (r->stop), and why. */
static int stopped(job_runner *r, char *why, size_t len) {
    if (!r->stop || runstop_reason(r->stop) == RUNSTOP_NONE) return 0;
    runstop_describe(r->stop, why, len);
    return 1;
}

int drift_plan(job_runner *r, const char *env, const char *sha, run_log *log, envrun_result *res, errinfo *err) {
    char why[128];
    repoconfig rc;
    const repoconfig_env *e;
    int ok = -1;

    memset(res, 0, sizeof(*res));
    if (job_fetch(r, NULL, sha, err) != 0 || job_repoconfig(r, sha, &rc, err) != 0)
        return errinfo_prefix(err, "drift check of %s at %.12s", env, sha);
    if (!(e = repoconfig_env_find(&rc, env)))
        errinfo_set(err, ERR_NOT_FOUND, "drift check: %s is not in deploybot.json at %.12s", env, sha);
    else if ((ok = execute_deploy_at(r, e, sha, NULL, ENVRUN_PLAN, log, res)) != 0 && stopped(r, why, sizeof(why)))
        errinfo_set(err, ERR_CANCELED, "drift: check of %s abandoned: %s", env, why);
    else if (ok != 0)
        errinfo_set(err, ERR_UNAVAILABLE, "drift check of %s: %s", env, res->summary);
    repoconfig_free(&rc);
    return ok;
}

/* Whether a drift found is applied back; when not for a lock, `note` says
 * so (it goes with the chat message). */
static int remediates(job_runner *r, const char *env, run_log *log, char *note, size_t len) {
    char reason[400];

    if (!bot_config_drift(r->cfg, env).remediate) return 0;
    if (store_lock_get(r->db, env, reason, sizeof(reason), NULL) == 1) {
        snprintf(note, len, "Not remediated: %s is locked (%.300s).", env, reason);
        run_log_line(log, note);
        return 0;
    }
    run_log_line(log, "drift_remediate: the deployed commit is applied again (a remediate run)");
    return 1;
}

/* The chat message of drift run `id`. */
static void tell(job_runner *r, const char *env, const store_drift_state *st, long id, const envrun_result *res,
                 int found, const char *note) {
    char url[600], summary[800];
    notify_subject s = {st->repo, st->sha, NULL, 0, url, 0};

    snprintf(url, sizeof(url), "%s/runs/%ld", r->cfg->public_url, id);
    snprintf(summary, sizeof(summary), "%s%s%s", found ? res->plan_summary : "drift resolved", note[0] ? " " : "",
             note);
    notify_env_result e = {.env = env, .changes = found, .summary = summary, .plan_text = found ? res->plan_text : NULL};
    notifier_drift(r->nt, &s, &e);
    log_write(LOG_INFO, NULL, "drift: %s %s at %.12s (run #%ld): %s", env, found ? "drifted" : "back in sync",
              st->sha, id, summary);
}

/* Records (and tells) a drift found (digest set) or resolved (NULL). */
static int record(job_runner *r, const char *env, const store_drift_state *st, const envrun_result *res,
                  const char *digest, run_log *log, drift_outcome *out, errinfo *err) {
    char note[600] = "";
    long remediation;
    int remediate = digest && remediates(r, env, log, note, sizeof(note));
    store_drift_record rec = {env, st->repo, st->sha, digest ? "drifted" : "succeeded", res->plan_summary,
                              digest ? res->plan_summary : "drift resolved", digest, log->buf, remediate};
    long id = store_drift_add(r->db, st->mark, &rec, &remediation, err);

    if (id <= 0) {
        if (id == 0) *out = DRIFT_ABANDONED;
        return id < 0 ? -1 : 0;
    }
    if (remediation) snprintf(note, sizeof(note), "Remediating: run #%ld applies %.12s again.", remediation, st->sha);
    tell(r, env, st, id, res, digest != NULL, note);
    return 0;
}

/* The drift reported before, found again, where remediation could not run
 * then (a lock) but can now: it is queued, without a new message. */
static int remediate_again(job_runner *r, const char *env, const store_drift_state *st, run_log *log,
                           drift_outcome *out, errinfo *err) {
    char note[600] = "";
    store_drift_record rec = {.env = env, .repo = st->repo, .sha = st->sha, .remediate = 1};
    long id;

    if (!remediates(r, env, log, note, sizeof(note))) return 0;
    if ((id = store_drift_add(r->db, st->mark, &rec, NULL, err)) < 0) return -1;
    if (id == 0) *out = DRIFT_ABANDONED;
    else log_write(LOG_INFO, NULL, "drift: %s still drifted: run #%ld applies %.12s again", env, id, st->sha);
    return 0;
}

/* What the plan means against what was reported last. */
static int settle(job_runner *r, const char *env, const store_drift_state *st, const envrun_result *res,
                  run_log *log, drift_outcome *out, errinfo *err) {
    char digest[DIGEST_SHA256_HEX];
    const char *plan = res->plan_text ? res->plan_text : "";

    digest_sha256_hex(plan, strlen(plan), digest);
    if (!res->changes)
        *out = st->drifted ? DRIFT_RESOLVED : DRIFT_IN_SYNC;
    else
        *out = st->drifted && strcmp(st->digest, digest) == 0 ? DRIFT_SAME : DRIFT_FOUND;
    if (*out == DRIFT_FOUND || *out == DRIFT_RESOLVED)
        return record(r, env, st, res, *out == DRIFT_FOUND ? digest : NULL, log, out, err);
    /* Nothing new: what it saw counts only if no run came meanwhile. */
    int changed = store_drift_changed(r->db, env, st->mark, err);
    if (changed != 0) {
        *out = DRIFT_ABANDONED;
        return changed < 0 ? -1 : 0;
    }
    log_write(LOG_INFO, NULL, "drift: %s checked at %.12s: %s", env, st->sha,
              *out == DRIFT_SAME ? "the drift reported, unchanged" : "in sync");
    return *out == DRIFT_SAME ? remediate_again(r, env, st, log, out, err) : 0;
}

int drift_check(job_runner *r, const char *env, drift_outcome *out, errinfo *err) {
    store_drift_state st;
    run_log log;
    envrun_result res;
    int rc;

    if (store_drift_state_get(r->db, env, &st, err) != 0) return -1;
    *out = st.busy ? DRIFT_BUSY : DRIFT_IDLE;
    if (st.busy || !st.sha[0]) return 0;
    run_log_init(&log, 0, env, r->rd, NULL);
    log.quiet = 1; /* the history gets the log of a check that found something */
    run_log_printf(&log, "drift check: %.12s, the commit deployed, planned against AWS", st.sha);
    rc = drift_plan(r, env, st.sha, &log, &res, err);
    if (rc == 0) rc = settle(r, env, &st, &res, &log, out, err);
    envrun_result_free(&res);
    run_log_free(&log);
    return rc;
}

/* The deployed commit's plan, for drift_show. */
static int show(job_runner *r, const char *env, FILE *out, errinfo *err) {
    store_drift_state st;
    run_log log;
    envrun_result res;
    int rc;

    if (store_drift_state_get(r->db, env, &st, err) != 0) return -1;
    if (!st.sha[0]) return errinfo_set(err, ERR_NOT_FOUND, "%s has nothing deployed by this bot", env);
    run_log_init(&log, 0, env, r->rd, NULL);
    log.quiet = 1;
    rc = drift_plan(r, env, st.sha, &log, &res, err);
    if (rc == 0) {
        fprintf(out, "%s: the deployed commit %.12s against AWS\n", env, st.sha);
        fputs(res.changes && res.plan_text ? res.plan_text : res.plan_summary, out);
        fputc('\n', out);
        rc = res.changes ? 1 : 0;
    }
    envrun_result_free(&res);
    run_log_free(&log);
    return rc;
}

int drift_show(const bot_config *cfg, const char *env, FILE *out, errinfo *err) {
    char db[1200];
    job_runner *r;
    int rc;

    bot_config_database(cfg, db, sizeof(db));
    if (!store_is_url(db) && access(db, F_OK) != 0)
        return errinfo_set(err, ERR_NOT_FOUND, "no database at %s (has the bot run with this config?)", db);
    if (!cfg->repo_url)
        return errinfo_set(err, ERR_INVALID, "the deployed commit is read from the bot's mirror: the config needs repo.url");
    if (!(r = job_runner_new(cfg, db, err))) return -1;
    rc = show(r, env, out, err);
    job_runner_free(r);
    return rc;
}
