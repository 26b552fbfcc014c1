/* jobs: webhook deliveries and the durable queue of jobs they make.
 *
 * A delivery is recorded and its job queued in one transaction, before the
 * webhook is acknowledged. A job is claimed by one worker (state 'running')
 * and finished ('done' / 'failed'), or put back to run again later. A
 * claim that is not renewed expires and the job is queued again
 * (store/lease.h: store_takeover). */
#ifndef DEPLOYBOT_STORE_JOBS_H
#define DEPLOYBOT_STORE_JOBS_H

#include "store/lease.h"
#include "store/store.h"

typedef struct {
    long id;
    char *delivery; /* X-GitHub-Delivery */
    char *event;    /* X-GitHub-Event */
    char *payload;  /* raw JSON body (decoded from form encoding if needed) */
    int attempts;   /* including the one under way */
} store_job;

/* Records the delivery and queues its job, durably. *job_id (may be NULL)
 * gets the new job's id, which the webhook answer carries so a delivery can
 * be traced to its job. When the delivery id was seen before nothing is
 * added: *duplicate = 1 and *job_id = 0. */
int store_delivery_add(store *s, const char *delivery, const char *event, const char *payload,
                       long *job_id, int *duplicate, errinfo *err);

/* One delivery of a group commit: what is recorded, and what came of it. */
typedef struct {
    const char *delivery, *event, *payload; /* as store_delivery_add takes them */
    long job_id;                            /* out: the new job, 0 for a duplicate */
    int duplicate;                          /* out: the delivery id was seen before */
} store_delivery;

/* Records n deliveries in one transaction, one fsync for all (a group
 * commit): 0 when every one is durable, -1 when none is (err names the
 * delivery that failed). A delivery id repeated within d is a duplicate
 * from its second occurrence on. */
int store_deliveries_add(store *s, store_delivery *d, size_t n, errinfo *err);

/* Claims the oldest queued job that is due for c (NULL: no one's, for
 * STORE_DEFAULT_LEASE_MS), atomically across connections: 1 claimed (free
 * it with store_job_free), 0 none, -1 error. */
int store_job_claim(store *s, const store_claimer *c, store_job *out, errinfo *err);
/* Marks a running job 'done' (ok) or 'failed'. ERR_CONFLICT if it is not
 * running. */
int store_job_finish(store *s, long id, int ok, const char *summary, errinfo *err);
/* Puts a running job back in the queue, to run again after delay_s seconds
 * (a transient failure such as an unreachable git remote). */
int store_job_retry(store *s, long id, int delay_s, const char *summary, errinfo *err);
/* Jobs in a state ("queued", "running", "done", "failed"; NULL: all). */
long store_jobs_count(store *s, const char *state, errinfo *err);
void store_job_free(store_job *j);

#endif
