/* waiter: polls until an AWS resource reaches a state (instance running, NAT
 * gateway available, load balancer active, volume available / in-use ...),
 * like AWS's own waiters (botocore's waiters-2.json gives their timeouts).
 *
 * The first look is at once; the next ones follow a schedule, 100 ms after
 * the first, each pause twice the last, up to 10 s or the caller's poll
 * interval when shorter (aws_options wait_first_poll_ms and
 * wait_max_poll_ms move both ends: tests scale them down with the fake's
 * timing). So a resource ready in 2 s is seen at about 2 s, one ready in
 * 3 minutes less than 10 s late. aws_options wait_timeout_s replaces every
 * waiter's timeout, wait_poll_ms the schedule with a fixed interval.
 *
 * A wait is a value (waiter_new): whoever runs it either looks, pauses and
 * looks again in one call (waiter_run, the client's pauses), or keeps it and
 * calls waiter_poll when its pause is over, so that no thread is held while
 * it waits (the applier, deploy/apply.c). */
#ifndef DEPLOYBOT_DEPLOY_AWS_WAITER_H
#define DEPLOYBOT_DEPLOY_AWS_WAITER_H

#include "deploy/aws/aws.h"

typedef enum { WAITER_RETRY = 0,
               WAITER_DONE = 1,
               WAITER_FAILED = -1 } waiter_state;

/* Returns WAITER_DONE when the resource is there, WAITER_RETRY to poll again,
 * WAITER_FAILED (err filled) when it can never get there (e.g. "failed" state). */
typedef waiter_state (*waiter_check)(void *arg, errinfo *err);

/* What follows the wait, once the resource is there (with the check's arg):
 * returns 0, -1 with err, or another value its caller knows (a provider's
 * next wait, provider.h), which waiter_run passes on. */
typedef int (*waiter_then)(void *arg, errinfo *err);

typedef struct waiter waiter;

/* A wait for `what` (named by a timeout's message), not started. arg is the
 * check's (and then's) state: arg_free (NULL: none) frees it with the
 * waiter. then may be NULL. poll_ms caps the schedule's pauses. */
waiter *waiter_new(const char *what, waiter_check check, waiter_then then, void *arg,
                   void (*arg_free)(void *), int timeout_s, int poll_ms);
void waiter_free(waiter *w);

/* One look, after the client's cancel check (aws_client_canceled: then
 * WAITER_FAILED with ERR_CANCELED). WAITER_RETRY: look again after *pause_ms
 * (the schedule's next pause). WAITER_FAILED: err filled; a timeout (the
 * timeout counts from the first look) has err's remote "WaiterTimeout" and
 * its message names `what`. aws may be NULL (no overrides, no cancel). */
waiter_state waiter_poll(waiter *w, const aws_client *aws, long *pause_ms, errinfo *err);

/* After WAITER_DONE: the waiter's then (none: 0). */
int waiter_then_run(waiter *w, errinfo *err);

/* Looks until done, pausing between looks with aws_client_pause, then runs
 * then; frees w. Returns 0, -1 (err filled) or what then returned. */
int waiter_run(waiter *w, const aws_client *aws, errinfo *err);

/* waiter_run of a waiter with neither then nor arg_free. */
int waiter_wait(const aws_client *aws, const char *what, waiter_check check, void *arg,
                int timeout_s, int poll_ms, errinfo *err);

#endif
