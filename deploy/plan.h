/* plan: the difference between what a stack wants and what exists: create,
 * update in place, replace, destroy (deploy/plan_render.h shows it). */
#ifndef DEPLOYBOT_DEPLOY_PLAN_H
#define DEPLOYBOT_DEPLOY_PLAN_H

#include <stddef.h>
#include "deploy/providers/provider.h"
#include "deploy/providers/resource.h"

typedef enum { PLAN_NOOP,
               PLAN_CREATE,
               PLAN_UPDATE,
               PLAN_REPLACE,
               PLAN_DELETE } plan_action;

/* What happens to the data of a resource the change deletes (safeguard.h
 * decides): nothing to keep, a final snapshot first, or none by request. */
typedef enum { PLAN_SNAPSHOT_NONE,
               PLAN_SNAPSHOT_TAKE,
               PLAN_SNAPSHOT_SKIPPED } plan_snapshot;

typedef struct {
    plan_action action;
    resource *desired;     /* NULL for PLAN_DELETE; its physical id is filled when known */
    resource *actual;      /* NULL for PLAN_CREATE */
    const char *forced_by; /* attribute that forces a replacement */
    json_t *changed;       /* names of attributes that differ */
    plan_snapshot final_snapshot;
} plan_change;

typedef struct {
    resource_set desired;
    resource_set actual;
    plan_change *changes; /* desired order, then deletions */
    size_t n;
    int add, change, destroy;
    int snapshots; /* changes with PLAN_SNAPSHOT_TAKE */
} plan;

/* Discovers every resource of every provider tagged with the stack, the
 * providers side by side (deploy/providers/discover.h, at most
 * c->discovery_parallelism calls per service), and links references
 * between them. */
int plan_discover(const provider_ctx *c, resource_set *actual, errinfo *err);

/* Builds the plan; takes ownership of both sets. */
void plan_build(resource_set *desired, resource_set *actual, plan *out);

/* For the resources the plan updates or replaces, reads what shows their
 * change to a person and discovery does not (provider.detail: the running
 * instance's user-data, of which only the hash is compared). */
int plan_read_details(const provider_ctx *c, plan *p, errinfo *err);

/* "Plan: 2 to add, 1 to change, 0 to destroy." or "No changes.", followed
 * by " 1 final snapshot to take." when the plan takes snapshots. */
void plan_summary(const plan *p, char *out, size_t outlen);
int plan_has_changes(const plan *p);
void plan_free(plan *p);

#endif
