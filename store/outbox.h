/* outbox: every message people will read (statuses, comments, chat) is
 * written here, in the bot's SQLite database, before anything tries to send
 * it. A sender claims due messages, delivers them, and records the outcome:
 * sent, failed for good (kept, with the error), or retried later — with
 * exponential backoff and jitter, or at the time the server asked for
 * (Retry-After), optionally pausing the whole channel (a rate limit).
 * Messages left 'sending' by a crash are resumed by outbox_recover, so
 * delivery is at least once.
 *
 * Messages that share an ordering key are delivered one at a time, oldest
 * first: a later status for a commit and context is never overtaken by an
 * earlier one, even while the earlier one is being retried.
 *
 * One connection per thread (WAL, synchronous=FULL, busy_timeout 5 s).
 * Times are Unix milliseconds, passed in so tests control the clock. */
#ifndef DEPLOYBOT_STORE_OUTBOX_H
#define DEPLOYBOT_STORE_OUTBOX_H

#include <stddef.h>

typedef struct outbox outbox;

typedef struct {
    const char *kind;          /* what the sender does with it, e.g. "github_status" */
    const char *target;        /* e.g. the repository, or the chat route's url_env */
    const char *channel;       /* rate-limit domain: "github", "chat:SLACK_URL" */
    const char *ordering_key;  /* may be NULL: no ordering */
    const char *payload;       /* JSON text, already redacted */
} outbox_new_msg;

typedef struct {
    long long id;
    char *kind, *target, *channel, *ordering_key, *payload;  /* ordering_key may be NULL */
    int attempts;              /* including the one under way */
    long long created_ms;
} outbox_msg;

typedef enum { OUTBOX_SENT, OUTBOX_RETRY, OUTBOX_FAILED } outbox_result;

typedef struct {
    outbox_result result;
    long long retry_at_ms;     /* RETRY: not before this (Retry-After); 0: backoff */
    long long hold_until_ms;   /* pause the message's channel until then; 0: no */
    char error[512];           /* why it was not sent (already redacted) */
} outbox_outcome;

typedef struct {
    long long base_ms;         /* first retry delay; 0: 1 s */
    long long cap_ms;          /* longest backoff; 0: 10 min */
    long long max_age_ms;      /* a message older than this that fails again is
                                  given up ('failed'); 0: 3 days */
} outbox_policy;

/* Delivers one message and says how it went. */
typedef void (*outbox_deliver_fn)(void *arg, outbox *o, const outbox_msg *m, long long now_ms,
                                  outbox_outcome *out);

outbox *outbox_open(const char *db_path, char *err, size_t errlen);
void outbox_close(outbox *o);
const char *outbox_error(const outbox *o);

/* Stores a message, due now. *id (may be NULL) gets its id. 0 or -1. */
int outbox_enqueue(outbox *o, const outbox_new_msg *m, long long now_ms, long long *id,
                   char *err, size_t errlen);

/* Puts messages left 'sending' by a crash back to 'pending'; how many. */
int outbox_recover(outbox *o);

/* Claims the oldest due message whose channel is not paused and that no
 * older unsent message of its ordering key precedes: 1, 0 (none), -1. */
int outbox_claim(outbox *o, long long now_ms, outbox_msg *out);
/* Records the outcome of a claimed message. */
int outbox_finish(outbox *o, const outbox_msg *m, const outbox_outcome *oc, long long now_ms,
                  const outbox_policy *p);
/* Claims, delivers and finishes up to `max` due messages. Returns how many
 * were handled, -1 on a database error. */
int outbox_send_due(outbox *o, long long now_ms, const outbox_policy *p, int max,
                    outbox_deliver_fn fn, void *arg);

/* How many messages with m's ordering key were queued after m and are not
 * sent yet: a message whose content is rendered when it is sent (a pull
 * request comment) need not be sent when a newer one will say the same. */
long outbox_newer(outbox *o, const outbox_msg *m);
/* When the next pending message may be due (ms), or -1 if none is pending. */
long long outbox_next_due(outbox *o);
/* Messages in a state: "pending", "sending", "sent", "failed" (NULL: all). */
long outbox_count(outbox *o, const char *state);
/* A message's state (into state[16]), attempts and next attempt; 1 found, 0, -1. */
int outbox_info(outbox *o, long long id, char state[16], int *attempts, long long *next_ms);
/* Deletes sent messages older than the given time; how many. */
int outbox_prune(outbox *o, long long before_ms);

/* The retry delay after `attempts` failures: base * 2^(attempts-1), capped,
 * then jittered into [d/2, d] so many retries do not arrive together. */
long long outbox_backoff_ms(const outbox_policy *p, int attempts, unsigned *seed);

/* The GitHub comment a message key stands for ("the plan comment of PR 7"),
 * so the next plan edits it instead of adding one. get: 1 found, 0, -1. */
int outbox_comment_get(outbox *o, const char *key, long long *id);
int outbox_comment_put(outbox *o, const char *key, long long id);
int outbox_comment_forget(outbox *o, const char *key);

void outbox_msg_free(outbox_msg *m);

#endif
