/* options: how the AWS layer behaves, decided once at start by the caller
 * (the bot's config, or the command line) and passed down; nothing below
 * reads the environment for these. Zero fields take the defaults. */
#ifndef DEPLOYBOT_DEPLOY_AWS_OPTIONS_H
#define DEPLOYBOT_DEPLOY_AWS_OPTIONS_H

typedef struct {
    int retry_base_ms;   /* first retry delay, doubled per attempt; 0: 100 ms */
    int max_attempts;    /* tries per request, the first included; 0: 6 */
    int debug;           /* one line per request on stderr (never a secret) */
    int page_size;       /* MaxResults / PageSize of Describe and List calls; 0: AWS's default */
    int wait_timeout_s;  /* every waiter's timeout; 0: each waiter's own */
    int wait_poll_ms;    /* every waiter's poll interval; 0: each waiter's own */
} aws_options;

#endif
