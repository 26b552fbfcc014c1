/* waiter: polls until an AWS resource reaches a state (instance running, NAT
 * gateway available, load balancer active, volume available / in-use ...),
 * like AWS's own waiters (botocore's waiters-2.json gives their delays).
 *
 * Timeout and poll interval come from the caller, scaled by the environment:
 * DEPLOYBOT_WAIT_TIMEOUT_S overrides every timeout and DEPLOYBOT_WAIT_POLL_MS
 * every interval (tests use short ones; production keeps AWS's). */
#ifndef DEPLOYBOT_DEPLOY_AWS_WAITER_H
#define DEPLOYBOT_DEPLOY_AWS_WAITER_H

#include "deploy/aws/aws.h"

typedef enum { WAITER_RETRY = 0, WAITER_DONE = 1, WAITER_FAILED = -1 } waiter_state;

/* Returns WAITER_DONE when the resource is there, WAITER_RETRY to poll again,
 * WAITER_FAILED (err filled) when it can never get there (e.g. "failed" state). */
typedef waiter_state (*waiter_check)(void *arg, aws_error *err);

/* 0 when done; -1 on failure or timeout, with err naming `what`. */
int waiter_wait(const char *what, waiter_check check, void *arg, int timeout_s, int poll_ms,
                aws_error *err);

#endif
