/* reconcile: deploy branch heads checked on a timer, so a push no webhook
 * told of is still deployed.
 *
 * GitLab sends no push hook at all for a push that updates more than
 * push_event_hooks_limit (default 3) branches and tags together; any host
 * may lose a delivery for good. Every repo.reconcile_interval_s the
 * dispatcher, when it has no job, fetches the mirror and reads the rules at
 * the default branch's head (bot/trust.h); for each environment whose
 * deploy branch head has no apply run and changed it since its last good
 * commit, it queues a job as a push of that branch would, from that commit
 * to the head. An environment the bot never applied is left alone (its
 * first push brings it up), and so is a head whose apply failed or was
 * rolled back (no retry loop, no fight with a redeploy). That job goes the
 * path of a push (trust rules, only the head applied, one run per touched
 * environment); its delivery id "reconcile:<env>:<sha>" queues it once, and
 * a run the webhook's job made first finds the commit already applied. */
#ifndef DEPLOYBOT_BOT_RECONCILE_H
#define DEPLOYBOT_BOT_RECONCILE_H

#include "bot/job.h"
#include "host/host.h"
#include "store/store.h"

#define RECONCILE_EVENT "deploybot.reconcile" /* the event of the jobs it queues */

/* One round. Returns how many jobs it queued, or -1 (err) when the mirror
 * could not be fetched or the store failed. */
int reconcile_heads(job_runner *r, store *q, errinfo *err);

/* The push event of a job it queued (payload {"ref", "before", "after"};
 * the repository is the config's repo.name and repo.url). */
int reconcile_event_parse(const bot_config *cfg, const char *payload, host_event *out, errinfo *err);

#endif
