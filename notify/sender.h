/* sender: the thread that delivers the outbox — the git host's statuses
 * and comments (host/host.h; a message's kind is "<host type>_status",
 * "_pr_comment" or "_commit_comment", its channel the host type), Slack, Discord and generic webhooks — so that no deploy ever
 * waits on, or fails because of, a git host or chat outage.
 *
 * It has its own database connection and HTTP client. On start it resumes
 * messages a crash left half-sent. It sleeps until the next retry is due
 * or a message is enqueued, by any connection of any process
 * (store_outbox_wait: no polling). Outcomes: 2xx is sent; no answer, 5xx, 408, 401 and 403 are
 * retried with backoff; 429 (and 403 with Retry-After or
 * X-RateLimit-Remaining: 0) pauses the channel until Retry-After or
 * X-RateLimit-Reset (GitHub without either: a minute, as its docs ask);
 * other 4xx are failed for good (kept, with the error).
 * A successful host answer with X-RateLimit-Remaining: 0 pauses the host
 * until the reset, before a request is refused. A message for another
 * host than the configured one fails for good. */
#ifndef DEPLOYBOT_NOTIFY_SENDER_H
#define DEPLOYBOT_NOTIFY_SENDER_H

#include <stddef.h>
#include "host/host.h"
#include "notify/ghapp.h"
#include "notify/redact.h"
#include "notify/settings.h"
#include "store/lease.h"
#include "util/errinfo.h"

typedef struct {
    const char *db_path;
    const host_ops *host;            /* the git host statuses and comments go to */
    host_config host_cfg;            /* its settings (a NULL token: its calls fail and are retried) */
    ghapp_settings app;              /* a GitHub App's tokens instead (app.app_id 0: none) */
    const redactor *redactor;        /* masks secrets in errors it logs and stores; may be NULL */
    const notify_settings *settings; /* only to warn at start about unset variables; may be NULL */
    long long retry_base_ms;         /* first retry delay; 0: 1 s (outbox_policy.base_ms) */
    const store_claimer *claimer;    /* this replica's claims (store/lease.h); outlives the
                                        sender; NULL: no one's */
} sender_options;

typedef struct sender sender;

sender *sender_start(const sender_options *o, errinfo *err);
/* Looks at the outbox now. */
void sender_wake(void *s);
/* Finishes the message under way, stops and joins the thread. Unsent
 * messages stay in the outbox for the next start. */
void sender_stop(sender *s);

#endif
