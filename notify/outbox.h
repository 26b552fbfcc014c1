/* outbox: what becomes of a message the sender tried to deliver. The
 * messages themselves are kept in the store (store/outbox.h); here is the
 * policy: sent, failed for good (kept, with the error), or retried later —
 * with exponential backoff and jitter, or at the time the server asked for
 * (Retry-After), optionally pausing the whole channel (a rate limit).
 * A message whose sender died or stalled while sending is pending again
 * once its claim expired (store/lease.h: store_takeover), so delivery is
 * at least once.
 *
 * Times are Unix milliseconds, passed in so tests control the clock. */
#ifndef DEPLOYBOT_NOTIFY_OUTBOX_H
#define DEPLOYBOT_NOTIFY_OUTBOX_H

#include "store/outbox.h"

typedef enum { OUTBOX_SENT,
               OUTBOX_RETRY,
               OUTBOX_FAILED } outbox_result;

typedef struct {
    outbox_result result;
    long long retry_at_ms;   /* RETRY: not before this (Retry-After); 0: backoff */
    long long hold_until_ms; /* pause the message's channel until then; 0: no */
    char error[512];         /* why it was not sent (already redacted) */
} outbox_outcome;

typedef struct {
    long long base_ms;            /* first retry delay; 0: 1 s */
    long long cap_ms;             /* longest backoff; 0: 10 min */
    long long max_age_ms;         /* a message older than this that fails again is
                                  given up ('failed'); 0: 3 days */
    const store_claimer *claimer; /* who claims the messages (store/lease.h); NULL: no one */
} outbox_policy;

/* Delivers one message and says how it went. */
typedef void (*outbox_deliver_fn)(void *arg, store *db, const outbox_msg *m, long long now_ms,
                                  outbox_outcome *out);

/* The store connection of the notifier or of the sender (one per thread):
 * the daemon has created the database's directory, and errors say "outbox". */
store *outbox_open(const char *db_path, errinfo *err);

/* Records the outcome of a claimed message. */
int outbox_finish(store *db, const outbox_msg *m, const outbox_outcome *oc, long long now_ms,
                  const outbox_policy *p, errinfo *err);
/* Claims, delivers and finishes up to `max` due messages. Returns how many
 * were handled, -1 on a database error. */
int outbox_send_due(store *db, long long now_ms, const outbox_policy *p, int max,
                    outbox_deliver_fn fn, void *arg, errinfo *err);

/* The retry delay after `attempts` failures: base * 2^(attempts-1), capped,
 * then jittered into [d/2, d] so many retries do not arrive together. */
long long outbox_backoff_ms(const outbox_policy *p, int attempts, unsigned *seed);

#endif
