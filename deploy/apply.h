/* apply: carries out a plan against AWS in dependency order.
 *
 * Every change becomes one or two operations (a replace is a destroy, then a
 * create). An operation runs after those it depends on: creates and updates
 * after the creation of what they reference; destroys after whatever stops
 * referencing the destroyed resource. On the first failure the apply stops;
 * the result says what was done and what was not. Because discovery is by
 * tags, the next plan starts from what really exists, so re-applying converges. */
#ifndef DEPLOYBOT_DEPLOY_APPLY_H
#define DEPLOYBOT_DEPLOY_APPLY_H

#include "deploy/plan.h"

typedef void (*apply_log_fn)(void *arg, const char *line);

typedef struct {
    int added, changed, destroyed;  /* completed */
    int ops_done, ops_total;
    int failed;
    char error[1024];                /* "subnet.public_a: create: Code: message" */
} apply_result;

/* Returns 0 when every operation succeeded. */
int apply_plan(const provider_ctx *c, plan *p, apply_log_fn log, void *arg, apply_result *res);

/* "Apply complete: 2 added, 1 changed, 0 destroyed." or the failure line. */
void apply_summary(const apply_result *r, char *out, size_t outlen);

#endif
