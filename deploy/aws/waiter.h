/* waiter: polls until an AWS resource reaches a state (instance running, NAT
 * gateway available, load balancer active, volume available / in-use ...),
 * like AWS's own waiters (botocore's waiters-2.json gives their timeouts).
 *
 * The first look is at once; the next ones follow a schedule, 100 ms after
 * the first, each pause twice the last, up to 10 s or the caller's poll
 * interval when shorter (aws_options wait_first_poll_ms and
 * wait_max_poll_ms move both ends: tests scale them down with the fake's
 * timing). So a resource ready in 2 s is seen at about 2 s, one ready in
 * 3 minutes less than 10 s late. The pauses are the client's
 * (aws_client_pause): during an apply, other operations run meanwhile.
 * aws_options wait_timeout_s replaces every waiter's timeout, wait_poll_ms
 * the schedule with a fixed interval. */
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
 * and its message naming `what`. poll_ms caps the schedule's pauses. aws may
 * be NULL (no overrides, the thread sleeps). */
int waiter_wait(const aws_client *aws, const char *what, waiter_check check, void *arg,
                int timeout_s, int poll_ms, errinfo *err);

#endif
