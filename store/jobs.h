/* queue: the durable job queue and delivery log (SQLite, WAL).
 *
 * A delivery is recorded and its job inserted in one transaction, before the
 * webhook is acknowledged. A job is claimed by a worker (state 'running'),
 * and finished ('done' / 'failed'). On start, jobs left 'running' by a crash
 * go back to 'queued'. Each connection is for one thread. */
#ifndef DEPLOYBOT_STORE_JOBS_H
#define DEPLOYBOT_STORE_JOBS_H

#include <stddef.h>

typedef struct queue queue;

typedef struct {
    long id;
    char *delivery;   /* X-GitHub-Delivery */
    char *event;      /* X-GitHub-Event */
    char *payload;    /* raw JSON body (decoded from form encoding if needed) */
    int attempts;
} queue_job;

/* Opens (creating the file, its directory and the schema if needed) the
 * database; WAL, synchronous=FULL, busy_timeout 5 s. NULL with err on failure. */
queue *queue_open(const char *db_path, char *err, size_t errlen);
void queue_close(queue *q);

/* Records the delivery and enqueues a job. *duplicate = 1 (and nothing is
 * inserted) when the delivery id was seen before. Returns 0 or -1. */
int queue_push(queue *q, const char *delivery, const char *event,
               const char *payload, int *duplicate, char *err, size_t errlen);

/* queue_push that also gives the new job's id (0 for a duplicate), which the
 * webhook answer carries so a delivery can be traced to its job. */
int queue_push_id(queue *q, const char *delivery, const char *event,
                  const char *payload, long *job_id, int *duplicate,
                  char *err, size_t errlen);

/* Claims the oldest queued job: 1 claimed, 0 queue empty, -1 error. */
int queue_claim(queue *q, queue_job *out);
/* Marks a running job 'done' (ok) or 'failed'. -1 if it is not running. */
int queue_finish(queue *q, long id, int ok, const char *summary);
/* Puts a job back in the queue to run again after `delay_s` seconds
 * (a transient failure such as an unreachable git remote). */
int queue_retry(queue *q, long id, int delay_s, const char *summary);
/* Moves jobs left running by a crash back to queued; returns how many. */
int queue_recover(queue *q);
/* Counts jobs in a state ("queued", "running", "done", "failed"; NULL = all). */
long queue_count(queue *q, const char *state);
void queue_job_free(queue_job *j);
/* Why the last call on this connection failed (for claim/finish/recover/count,
 * which return -1 without an err buffer). */
const char *queue_error(const queue *q);

#endif
