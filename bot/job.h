/* job: what one worker thread works with. A job_runner holds the config it
 * was started with, the thread's own mirror of the config repository, store
 * connection and notifier, and the redactor that masks secrets in what
 * leaves the bot. The dispatcher thread uses it to turn webhook jobs into
 * runs (bot/dispatch.h), each run thread to execute runs (bot/execute.h).
 *
 * The fields are shared by those two modules; nothing else reaches in. */
#ifndef DEPLOYBOT_BOT_JOB_H
#define DEPLOYBOT_BOT_JOB_H

#include "bot/cfgsnap.h"
#include "bot/config.h"
#include "bot/fetchauth.h"
#include "bot/runstop.h"
#include "deploy/aws/sts.h"
#include "deploy/repoconfig.h"
#include "git/cfgrepo.h"
#include "host/host.h"
#include "notify/notifier.h"
#include "store/runs.h"
#include "util/log.h"
#include "util/metrics.h"

typedef struct {
    const bot_config *cfg;    /* read-only, outlives the runner (bot/config.h) */
    const host_ops *host;     /* cfg's host: its payloads and refs */
    cfgrepo *repo;            /* opened by the first job_fetch */
    notifier *nt;             /* statuses, comments, chat: queued in the outbox */
    redactor *rd;             /* secrets masked in logs, history and messages */
    store *db;                /* the history and the locks */
    aws_sessions *sessions;   /* the environments' assumed roles, kept between runs */
    fetchauth auth;           /* the mirror's credentials (a GitHub App's token, this thread's) */
    metrics *metrics;         /* where runs are counted (bot/metrics.h); NULL: nowhere */
    runstop *stop;            /* the run under way's reasons to stop (a run thread's, set
                               for each run); NULL: never stopped */
    const store_fence *fence; /* the lease the run under way holds (store/lease.h), which
                                 its writes carry; NULL: unchecked */
} job_runner;

job_runner *job_runner_new(const bot_config *cfg, const char *db_path, errinfo *err);
void job_runner_free(job_runner *r);
/* A thread's job_runner, made again when a reload changed the settings:
 * jr was made with the reference *cfg, which is given back when the
 * settings in snap are newer (bot/cfgsnap.h). NULL, said on stderr, when
 * the new one cannot be made (the thread then stops). */
job_runner *job_runner_current(cfgsnap *snap, const char *db_path, job_runner *jr, const bot_config **cfg);

/* Opens the mirror (once: the config's repo.url, else clone_url) and
 * fetches until commit `sha` is in it. */
int job_fetch(job_runner *r, const char *clone_url, const char *sha, errinfo *err);

/* The same, but fetches even when `sha` is there already: what decides
 * whether a push applies (the default branch's rules, the deploy branch's
 * head) must be as the remote has it now (bot/trust.h). */
int job_refresh(job_runner *r, const char *clone_url, const char *sha, errinfo *err);

/* job_fetch, fetching pull request `pr`'s head ref with the branches: its
 * head may be on no branch (a fork's, or a branch deleted since). */
int job_fetch_pr(job_runner *r, const char *clone_url, int pr, const char *sha, errinfo *err);

/* deploybot.json at commit `sha` (ERR_NOT_FOUND when it is not there). */
int job_repoconfig(job_runner *r, const char *sha, repoconfig *rc, errinfo *err);

/* Queues the commit status "deploybot/<x->env>" of x's commit, linking to
 * the run's page. A GitHub outage never holds up a deploy: it is sent later. */
void job_status(job_runner *r, const run *x, const char *state, const char *desc);

/* The context of a line about run x in the daemon's log (util/log.h). */
log_ctx job_run_ctx(const run *x);

#endif
