/* job: runs one queued webhook delivery end to end — fetch, diff, and for
 * every touched environment: validate, plan, apply when the push is to that
 * environment's deploy branch, and report through commit statuses. */
#ifndef DEPLOYBOT_BOT_JOB_H
#define DEPLOYBOT_BOT_JOB_H

#include <stddef.h>
#include "bot/config.h"
#include "bot/queue.h"

typedef struct job_runner job_runner;

job_runner *job_runner_new(const bot_config *cfg);
void job_runner_free(job_runner *r);

/* Returns 0 when the job ran to completion (even if a deploy failed: that was
 * reported), -1 when it should be retried (e.g. the repository could not be
 * fetched). `summary` gets one line for the job table. */
int job_run(job_runner *r, const queue_job *j, char *summary, size_t len);

#endif
