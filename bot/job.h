/* job: turns a queued webhook delivery into runs, and executes runs.
 *
 * job_run (the dispatcher) fetches the commit, works out the touched
 * environments and records one run per environment (plan, apply or
 * destroy). The run threads execute them, one at a time per environment,
 * environments in parallel (store/runs.h).
 *
 * job_execute runs one run end to end: load the environment's stack.json at
 * the run's commit, validate, plan, apply when asked and allowed (not locked,
 * not already applied), roll back when the environment wants it, report
 * through commit statuses, and record the result and log in the history. */
#ifndef DEPLOYBOT_BOT_JOB_H
#define DEPLOYBOT_BOT_JOB_H

#include <stddef.h>
#include "bot/config.h"
#include "store/jobs.h"
#include "store/runs.h"

typedef struct job_runner job_runner;

/* One per thread: it owns a mirror handle, a database connection and clients. */
job_runner *job_runner_new(const bot_config *cfg, const char *db_path, char *err, size_t errlen);
void job_runner_free(job_runner *r);

/* Returns 0 when the job was dispatched (even if a plan failed: that was
 * reported), -1 when it should be retried (e.g. the repository could not be
 * fetched). `summary` gets one line for the job table. */
int job_run(job_runner *r, const store_job *j, char *summary, size_t len);

/* Executes a claimed run and records its outcome. */
void job_execute(job_runner *r, const run *x);

/* Reports runs that were superseded while waiting. */
void job_report_superseded(job_runner *r, const run *list, size_t n);

#endif
