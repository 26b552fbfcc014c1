/* safeguard: what a plan may lose, decided before anything changes.
 *
 * Dify's data lives only on the instances' EBS data volumes (resources of
 * type "volume"; root volumes are not resources). A plan that deletes one —
 * a destroy, a lower instance_count, a volume taken out of the stack, a
 * replacement — takes a final snapshot of it first (tagged with the stack
 * and the volume's logical id, waited for until completed; the volume
 * provider does it), unless the environment sets skip_final_snapshot.
 * Snapshots are not resources of the stack: discovery never sees them, so
 * they outlive a destroy.
 *
 * With prevent_destroy, a plan that deletes a data volume or the load
 * balancer (whose DNS name is what users and DNS records point at) is
 * refused whole, before anything is changed (envrun reports it with the
 * plan's other refusals, deploy/plan_check.h). */
#ifndef DEPLOYBOT_DEPLOY_SAFEGUARD_H
#define DEPLOYBOT_DEPLOY_SAFEGUARD_H

#include "deploy/plan.h"

typedef struct {
    int skip_final_snapshot;
    int prevent_destroy;
    /* Where prevent_destroy was set, for the refusal ("environments/prd/
     * stack.json", "the operator's config"). */
    const char *prevent_destroy_by;
} safeguard_policy;

/* Sets final_snapshot on every change that deletes a data volume (TAKE, or
 * SKIPPED under skip_final_snapshot) and counts p->snapshots. */
void safeguard_mark(plan *p, const safeguard_policy *pol);

/* 0 when the plan may go ahead. Under prevent_destroy, a plan deleting or
 * replacing a data volume or the load balancer fails (ERR_CONFLICT) with a
 * message naming each of them and where prevent_destroy was set. */
int safeguard_check(const plan *p, const safeguard_policy *pol, errinfo *err);

#endif
