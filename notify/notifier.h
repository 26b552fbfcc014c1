/* notifier: what the bot tells people — commit statuses, each pull
 * request's plan comment (one per PR, edited in place as its environments
 * are planned and as new commits arrive), a comment on the commit after an
 * apply, and chat events routed by environment and event.
 *
 * Everything is redacted and written to the outbox; nothing here waits on
 * the network, so an outage of GitHub or a chat never slows or fails a
 * deploy (notify/sender.h delivers). Failures to queue are logged and
 * returned, never fatal. One notifier per thread (it owns connections). */
#ifndef DEPLOYBOT_NOTIFY_NOTIFIER_H
#define DEPLOYBOT_NOTIFY_NOTIFIER_H

#include <stddef.h>
#include "notify/event.h"
#include "notify/redact.h"
#include "notify/settings.h"
#include "util/errinfo.h"

typedef struct notifier notifier;

/* host_type names the git host statuses and comments go to (host/host.h;
 * NULL: "github"); settings and rd must outlive the notifier; either may be
 * NULL. */
notifier *notifier_open(const char *db_path, const char *host_type, const notify_settings *settings,
                        const redactor *rd, errinfo *err);
void notifier_close(notifier *n);

/* Queues a commit status (statuses of one sha and context are delivered in
 * the order they were queued). target_url may be NULL. 0 or -1. */
int notifier_status(notifier *n, const char *repo, const char *sha, const char *context,
                    const char *state, const char *description, const char *target_url);

/* A pull request's head commit and the environments it touches (in order):
 * its comment lists them as being planned (or says none is touched). */
int notifier_pr_head(notifier *n, const char *repo, long pr, const char *sha,
                     const char *const *envs, size_t n_envs);

/* A run starts to plan and apply env (chat: apply_started). */
void notifier_started(notifier *n, const notify_subject *s, const char *env);

/* A run's outcome. Chat: plan, apply_succeeded or apply_failed (by
 * r->applied and r->failed). A pull request (s->pr_number): its comment
 * shows it, linked to s->run_url. A push that applied: a commit comment
 * (on a host without them, host/host.h says where it goes). */
void notifier_result(notifier *n, const notify_subject *s, const notify_env_result *r);

/* A drift check's news of env (bot/drift.h), to chat only (event "drift"):
 * r->changes set, drift found (its plan in r->plan_text); clear, resolved.
 * s->sha is the deployed commit that was planned. */
void notifier_drift(notifier *n, const notify_subject *s, const notify_env_result *r);

#endif
