/* runstop: whether the run under way must stop before it is done, asked
 * between AWS calls (deploy/aws/aws.h aws_cancel_fn) by each of the run's
 * threads. Three reasons, the first seen is kept:
 *   - its environment's run_timeout has passed since it started;
 *   - an operator canceled it (`deploybot cancel`, POST /api/runs/ID/cancel:
 *     store_run_cancel's request, read from the database at most every
 *     RUNSTOP_POLL_MS, so that it works from another process);
 *   - the daemon is shutting down (SIGTERM): the run is then left to
 *     resume at the next start, as after a crash;
 *   - this replica lost its environment's lease (bot/replica.h): another
 *     replica takes the run over, so it must make no further AWS call.
 * The store connection is the run thread's second one, used only here. */
#ifndef DEPLOYBOT_BOT_RUNSTOP_H
#define DEPLOYBOT_BOT_RUNSTOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include "bot/replica.h"
#include "store/store.h"

#define RUNSTOP_POLL_MS 250

typedef enum {
    RUNSTOP_NONE = 0,
    RUNSTOP_TIMEOUT,
    RUNSTOP_CANCELED,
    RUNSTOP_SHUTDOWN,
    RUNSTOP_LEASE_LOST,
} runstop_why;

typedef struct {
    long run;
    int timeout_s;
    long long deadline_ms;     /* monotonic (util/clock.h) */
    const atomic_int *closing; /* nonzero: the daemon is shutting down */
    store *db;
    pthread_mutex_t mu; /* db and next_poll_ms */
    long long next_poll_ms;
    atomic_int why;
    char by[64];          /* who canceled; written once, before why is set */
    replica_lease *lease; /* NULL: none to watch */
} runstop;

/* For run `run` starting now. db and closing are borrowed (either may be NULL). */
void runstop_init(runstop *r, long run, int timeout_s, const atomic_int *closing, store *db);
void runstop_destroy(runstop *r);
/* Stops the run too when lease is lost (borrowed; NULL: none). */
void runstop_watch_lease(runstop *r, replica_lease *lease);

/* 1 when the run must stop (its reason is then runstop_reason): an
 * aws_cancel_fn, arg is the runstop. Thread-safe. */
int runstop_check(void *arg);
runstop_why runstop_reason(runstop *r);

/* The run's result: "timed out after 3600s", "canceled by cli", "stopped:
 * deploybot is shutting down", "stopped: this replica lost the lease". */
void runstop_describe(runstop *r, char *out, size_t len);

#endif
