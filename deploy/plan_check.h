/* plan_check: what AWS would refuse in a plan, found before anything
 * changes: each provider's check (provider.h) on every resource the plan
 * creates, replaces or updates in place. A refused plan is not applied at
 * all, so an apply never stops half-way on something that was known before
 * it started (a shrinking data volume, a hosted zone that does not exist). */
#ifndef DEPLOYBOT_DEPLOY_PLAN_CHECK_H
#define DEPLOYBOT_DEPLOY_PLAN_CHECK_H

#include "deploy/plan.h"

/* Returns 0 when nothing is refused. Otherwise -1 and either err is
 * ERR_INVALID, the first refusal ("volume.data_1: refusing to shrink ..."),
 * and *refusals (malloc'd) holds every one, a line each; or err has another
 * code: a check could not be made ("dns_record.main: <why>"), *refusals is
 * NULL. */
int plan_check(const provider_ctx *c, const plan *p, char **refusals, errinfo *err);

#endif
