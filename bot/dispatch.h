/* dispatch: a queued webhook job becomes runs.
 *
 * For a push, or a pull request opened, synchronized or reopened: fetch the
 * commit into the mirror, read deploybot.json there, diff the commits the
 * job compares (a push's before..after, a pull request's merge-base..head)
 * into the environments they touch, and record one run per environment:
 * apply for a push to its deploy branch, destroy when its folder was
 * deleted, plan otherwise. The run threads execute them (bot/execute.h).
 * A deploybot.json that is missing or invalid is reported as the failed
 * status "deploybot/config" of the commit. */
#ifndef DEPLOYBOT_BOT_DISPATCH_H
#define DEPLOYBOT_BOT_DISPATCH_H

#include <stddef.h>
#include "bot/job.h"
#include "store/jobs.h"

/* Returns 0 when the job is done with (runs recorded, or nothing to do, or
 * a problem retrying cannot fix, which was reported), -1 when it should be
 * retried (e.g. the repository could not be fetched). `summary` gets one
 * line for the job table either way. */
int dispatch_job(job_runner *r, const store_job *j, char *summary, size_t len);

#endif
