/* drift: is what runs in AWS still what the bot deployed?
 *
 * A drift check plans an environment's last successfully applied commit
 * (store_run_last_good) against AWS, as a run of that commit would. A plan
 * with changes is drift: someone changed or deleted, out of band, what the
 * bot made. The check records a run of kind "drift" only when something
 * changed (store/drift.h): state "drifted" when drift appears, or differs
 * from the drift last reported (the digest of the rendered plan tells), and
 * state "succeeded", result "drift resolved", when it is gone. Each such run
 * is one chat message (event "drift"); the same drift found again is
 * neither recorded nor told again. With environments.<env>.drift_remediate
 * a drift found also queues a run of kind "remediate" (trigger "drift"):
 * the deployed commit applied again through the run threads, as a redeploy
 * would, unless the environment is locked (the drift then stays reported).
 *
 * A check never runs while its environment has a queued or running run; it
 * waits until the environment is idle. A run queued while a check is
 * planning is never held up: the check is abandoned (nothing recorded, no
 * message), since what it saw may be half of that run's changes. A check
 * stops between two AWS calls as a run does (bot/runstop.h): abandoned on
 * a shutdown, failed after the environment's run_timeout.
 *
 * The schedule (drift_start): one thread with its own job_runner checks
 * every environment that has something deployed, every
 * environments.<env>.drift_interval (bot_config_drift: 1 h by default, 0
 * off), the first time at a random moment in the second half of an
 * interval after the start and then 0.9 to 1.1 intervals apart, so
 * environments do not fire together. */
#ifndef DEPLOYBOT_BOT_DRIFT_H
#define DEPLOYBOT_BOT_DRIFT_H

#include "bot/job.h"
#include "bot/runlog.h"
#include "deploy/envrun.h"

#include <stdio.h>

typedef enum {
    DRIFT_IDLE,      /* nothing deployed (or destroyed): nothing to compare */
    DRIFT_BUSY,      /* a run is queued or running: not checked */
    DRIFT_IN_SYNC,   /* no drift, and none was reported */
    DRIFT_SAME,      /* the drift last reported, again: nothing new */
    DRIFT_FOUND,     /* new drift: recorded and told (and remediation queued) */
    DRIFT_RESOLVED,  /* the drift reported is gone: recorded and told */
    DRIFT_ABANDONED, /* a run came while it planned: nothing recorded */
} drift_outcome;

/* Plans environment `env` as deploybot.json and its stack.json are at
 * commit `sha` of the mirror (fetched when missing), every line to `log`.
 * res as execute_deploy_at fills it. 0, or -1 with err (the commit has no
 * such environment, or the plan failed: res->summary says why; ERR_CANCELED
 * when r->stop stopped it). */
int drift_plan(job_runner *r, const char *env, const char *sha, run_log *log, envrun_result *res, errinfo *err);

/* One check of env, recorded and told as the header says. 0 with *out, or
 * -1 with err (the plan or the store failed: nothing recorded). */
int drift_check(job_runner *r, const char *env, drift_outcome *out, errinfo *err);

/* `deploybot drift ENV --config FILE`: plans env's deployed commit, as the
 * bot's database and mirror have it, and writes the plan to `out`; nothing
 * is recorded or told. 1 drift, 0 none, -1 with err (no database, nothing
 * deployed, no repo.url, the plan failed). */
int drift_show(const bot_config *cfg, const char *env, FILE *out, errinfo *err);

typedef struct drift_scheduler drift_scheduler;

/* Starts the thread. cfg must outlive it, and m (where the checks' AWS
 * calls are counted; may be NULL); wake(wake_arg) is called when a
 * remediate run was queued (the worker's worker_wake). */
drift_scheduler *drift_start(cfgsnap *snap, const char *db_path, metrics *m, void (*wake)(void *),
                             void *wake_arg, errinfo *err);
/* Stops it; a check in progress is abandoned at its next AWS call, as a
 * run is on a shutdown (nothing recorded). NULL is fine. */
void drift_stop(drift_scheduler *d);

#endif
