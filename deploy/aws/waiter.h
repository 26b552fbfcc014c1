/* waiter: polls until an AWS resource reaches a state (instance running, NAT
 * gateway available, load balancer active, volume available / in-use ...),
 * like AWS's own waiters (botocore's waiters-2.json gives their delays).
 *
 * Timeout and poll interval come from the caller; the client's aws_options
 * (wait_timeout_s, wait_poll_ms) override every waiter's when set: tests use
 * short ones, production keeps AWS's. */
#ifndef DEPLOYBOT_DEPLOY_AWS_WAITER_H
#define DEPLOYBOT_DEPLOY_AWS_WAITER_H

#include "deploy/aws/aws.h"

typedef enum { WAITER_RETRY = 0,
               WAITER_DONE = 1,
               WAITER_FAILED = -1 } waiter_state;

/* Returns WAITER_DONE when the resource is there, WAITER_RETRY to poll again,
 * WAITER_FAILED (err filled) when it can never get there (e.g. "failed" state). */
typedef waiter_state (*waiter_check)(void *arg, errinfo *err);

/* 0 when done; -1 on failure, or on timeout with err's remote "WaiterTimeout"
 * and its message naming `what`. aws may be NULL (no overrides). */
int waiter_wait(const aws_client *aws, const char *what, waiter_check check, void *arg,
                int timeout_s, int poll_ms, errinfo *err);

#endif
