/* options: how the AWS layer behaves, decided once at start by the caller
 * (the bot's config, or the command line) and passed down; nothing below
 * reads the environment for these. Zero fields take the defaults. */
#ifndef DEPLOYBOT_DEPLOY_AWS_OPTIONS_H
#define DEPLOYBOT_DEPLOY_AWS_OPTIONS_H

#include "util/metrics.h"

typedef struct {
    int retry_base_ms;         /* first retry delay, doubled per attempt (at most 5 s);
                            0: 100 ms, negative: retry at once */
    int max_attempts;          /* tries per request, the first included, when AWS answers 5xx
                            or not at all; 0: 6, at most 100 */
    int throttle_attempts;     /* tries per request that AWS throttles; 0: 12, at most 100 */
    int debug;                 /* one line per request on stderr (never a secret) */
    int page_size;             /* MaxResults / MaxItems / PageSize of Describe and List
                            calls, at most each call's own limit; 0: that limit */
    int wait_timeout_s;        /* every waiter's timeout; 0: each waiter's own,
                            negative: give up after the first look */
    int wait_poll_ms;          /* every waiter's poll interval, fixed; 0: the schedule
                            below, negative: poll without pausing */
    int wait_first_poll_ms;    /* a waiter's first look is this long after the call, each
                            next one twice as long after the last; 0: 100 ms */
    int wait_max_poll_ms;      /* up to this, or the waiter's own interval when shorter;
                            0: 10 s */
    int consistency_timeout_s; /* how long a NotFound naming what this client created
                            (aws_client_created) is retried; 0: 30 s, negative: never */
    metrics *metrics;          /* not a setting: where calls, throttles and retries are
                            counted (deploy/aws/aws.h); NULL: nowhere. envrun sets it
                            from envrun_request.metrics */
} aws_options;

#endif
