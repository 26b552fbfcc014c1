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
    int added, changed, destroyed; /* completed */
    int ops_done, ops_total;
} apply_result;

/* Runs up to `parallelism` operations at once (0: 4, at most 16), logging
 * every step. Returns 0 when every operation succeeded; otherwise -1 with
 * err the first failure, "subnet.public_a: create failed: Code: message"
 * (the provider's code, status and AWS code kept). */
int apply_plan(const provider_ctx *c, plan *p, int parallelism, apply_log_fn log, void *arg,
               apply_result *res, errinfo *err);

/* "Apply complete: 2 added, 1 changed, 0 destroyed.", or with a failure
 * (not NULL, filled) "Apply failed after 3 of 9 operations: <failure>". */
void apply_summary(const apply_result *r, const errinfo *failure, char *out, size_t outlen);

#endif
