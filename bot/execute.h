/* execute: one run, end to end. Read the environment's stack.json (and the
 * user-data template) at the run's commit, validate, plan, and apply or
 * destroy when the run asks for it and it is allowed: by the trust rules at
 * the run's start (bot/trust.h: the deploy branch, a destroy only with
 * allow_destroy; a push's commit only while it is its branch's head), not
 * locked (then it is only planned), not already applied. A failed apply of
 * an environment with auto_rollback re-applies the last commit that
 * deployed successfully. A run of kind remediate (bot/drift.h) applies the
 * deployed commit again, as a redeploy does.
 * The commit status goes pending, then success or failure; chat and the
 * pull request or commit comment get the result; the history gets the
 * outcome and the log (bot/runlog.h).
 *
 * The run threads call it, one run at a time per environment and
 * environments in parallel (store_run_claim decides). */
#ifndef DEPLOYBOT_BOT_EXECUTE_H
#define DEPLOYBOT_BOT_EXECUTE_H

#include <stddef.h>
#include "bot/job.h"
#include "bot/runlog.h"
#include "deploy/envrun.h"

/* Plans and, when mode says so, applies env's stack.json at sha, with the
 * user-data template of the same commit (absent: a minimal script); a
 * destroy: the environment's resources, in the region of its stack.json at
 * `before` (NULL: none). The environment's AWS role and prevent_destroy are
 * the operator's (bot/config.h). Every line goes to `log`; res is filled
 * either way (envrun_result_free). 0, or -1 when it failed (res says why). */
int execute_deploy_at(job_runner *r, const repoconfig_env *env, const char *sha, const char *before,
                      envrun_mode mode, run_log *log, envrun_result *res);

/* Executes a claimed run and records its outcome. With r->stop it stops
 * between AWS calls when told to (bot/runstop.h): timed out or canceled, it
 * ends failed and says why, in the history, the status and chat; stopped by
 * a shutdown, it is left 'running', to resume at the next start. */
void execute_run(job_runner *r, const run *x);

/* Gives the runs that were superseded while they waited their final status
 * (success: a newer commit, which contains theirs, is applied instead). */
void execute_report_superseded(job_runner *r, const run *list, size_t n);

#endif
