/* notifier: what a job tells people — commit statuses, the pull request's
 * plan comment (one per PR, edited in place by later plans), the commit
 * comment after an apply, and chat events routed by environment and event.
 *
 * Everything is redacted, rendered and written to the outbox; nothing here
 * waits on the network, so an outage of GitHub or a chat never slows or
 * fails a deploy (notify/sender.h delivers). Enqueue failures are logged and
 * returned, never fatal. One notifier per thread (it owns a connection). */
#ifndef DEPLOYBOT_NOTIFY_NOTIFIER_H
#define DEPLOYBOT_NOTIFY_NOTIFIER_H

#include <stddef.h>
#include "notify/event.h"
#include "notify/redact.h"
#include "notify/settings.h"

typedef struct notifier notifier;

/* settings and rd must outlive the notifier; rd may be NULL. */
notifier *notifier_open(const char *db_path, const notify_settings *settings, const redactor *rd,
                        char *err, size_t errlen);
void notifier_close(notifier *n);

/* Queues a commit status (statuses of one sha and context are delivered in
 * the order they were queued). target_url may be NULL. 0 or -1. */
int notifier_status(notifier *n, const char *repo, const char *sha, const char *context,
                    const char *state, const char *description, const char *target_url);

/* One job: begin, then per environment started (deploy branch only) and
 * result, then end. Strings are copied. */
void notifier_begin(notifier *n, const notify_subject *s);
/* Chat: apply_started. */
void notifier_started(notifier *n, const char *env);
/* Chat: plan, apply_succeeded or apply_failed (by r->applied, r->failed);
 * kept for the job's comment. */
void notifier_result(notifier *n, const notify_env_result *r);
/* A pull request: its plan comment (created, or updated in place). A push
 * where something was applied: a comment on the commit. */
void notifier_end(notifier *n);

#endif
