/* outbox: every message people will read (statuses, comments, chat) is kept
 * here before anything tries to send it, so an outage of GitHub or a chat
 * never loses one. A message is 'pending' until a sender claims it
 * ('sending'), then 'sent', or back to 'pending' for a later attempt, or
 * 'failed' for good (kept, with the error). notify/outbox.h decides which;
 * this is what is kept and how it is claimed.
 *
 * Messages that share an ordering key are claimed one at a time, oldest
 * first: a later status for a commit and context never overtakes an earlier
 * one, even while the earlier one is being retried. A channel (all of
 * GitHub, one chat) can be paused by a rate limit.
 *
 * Times are Unix milliseconds, passed in so tests control the clock. */
#ifndef DEPLOYBOT_STORE_OUTBOX_H
#define DEPLOYBOT_STORE_OUTBOX_H

#include "store/lease.h"
#include "store/store.h"

typedef struct {
    const char *kind;         /* what the sender does with it, e.g. "github_status" */
    const char *target;       /* e.g. the repository, or the chat route's url_env */
    const char *channel;      /* rate-limit domain: "github", "chat:SLACK_URL" */
    const char *ordering_key; /* may be NULL: no ordering */
    const char *payload;      /* JSON text, already redacted */
} outbox_new_msg;

typedef struct {
    long long id;
    char *kind, *target, *channel, *ordering_key, *payload; /* ordering_key may be NULL */
    int attempts;                                           /* including the one under way */
    long long created_ms;
} outbox_msg;

/* Stores a message, due now. *id (may be NULL) gets its id. */
int store_outbox_enqueue(store *s, const outbox_new_msg *m, long long now_ms, long long *id,
                         errinfo *err);

/* Claims for c (NULL: no one's, store/lease.h) the oldest due message whose
 * channel is not paused and that no older unsent message of its ordering
 * key precedes, atomically across connections: 1 (free it with
 * outbox_msg_free), 0 none, -1 error. A claim that is not renewed expires
 * and the message is pending again (store_takeover): sent at least once. */
int store_outbox_claim(store *s, long long now_ms, const store_claimer *c, outbox_msg *out,
                       errinfo *err);
/* The outcomes of a claimed message: sent; pending again, due at at_ms;
 * failed for good. error is kept for whoever looks. */
int store_outbox_sent(store *s, long long id, long long now_ms, errinfo *err);
int store_outbox_retry(store *s, long long id, long long at_ms, const char *error, errinfo *err);
int store_outbox_fail(store *s, long long id, const char *error, errinfo *err);
/* Pauses a channel until until_ms (a later pause already there stays). */
int store_outbox_hold(store *s, const char *channel, long long until_ms, errinfo *err);

/* How many messages with m's ordering key were queued after m and are not
 * sent yet: a message whose content is rendered when it is sent (a pull
 * request comment) need not be sent when a newer one will say the same. */
long store_outbox_newer(store *s, const outbox_msg *m, errinfo *err);
/* When the next pending message may be due: 1 (*at_ms), 0 none pending
 * (*at_ms = -1), -1 error (*at_ms = -1). */
int store_outbox_next_due(store *s, long long *at_ms, errinfo *err);
/* Messages in a state: "pending", "sending", "sent", "failed" (NULL: all). */
long store_outbox_count(store *s, const char *state, errinfo *err);
/* A message's state (into state[16]), attempts and next attempt (either may
 * be NULL): 1 found, 0 no such message, -1 error. */
int store_outbox_info(store *s, long long id, char state[16], int *attempts, long long *next_ms,
                      errinfo *err);
/* Deletes sent messages sent before before_ms; how many. */
int store_outbox_prune(store *s, long long before_ms, errinfo *err);

/* The GitHub comment a key stands for ("the plan comment of PR 7"), so the
 * next plan edits it instead of adding one. get: 1 found, 0 none, -1. */
int store_outbox_comment_get(store *s, const char *key, long long *id, errinfo *err);
int store_outbox_comment_put(store *s, const char *key, long long id, errinfo *err);
int store_outbox_comment_forget(store *s, const char *key, errinfo *err);

/* Waiting for new messages instead of polling (store/outbox_wake.c): an
 * enqueue wakes whoever waits on the same database, in this process or
 * another. store_outbox_wait returns 1 when woken (by an enqueue or a
 * store_outbox_wake since the last wait), 0 after timeout_ms, -1 when the
 * database cannot be waited on (no file; a filesystem without FIFOs). The
 * first call, even with timeout_ms 0, starts listening: call it before the
 * first look at the outbox, so no enqueue falls between the two. */
int store_outbox_wait(store *s, long long timeout_ms, errinfo *err);
/* Wakes the waiters of s's database; never blocks (it opens the FIFO,
 * writes a byte, closes). The one call that may come from another thread
 * than the connection's: it only reads the database's file name. */
void store_outbox_wake(store *s);

void outbox_msg_free(outbox_msg *m);

#endif
