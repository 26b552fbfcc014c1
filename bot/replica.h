/* replica: this deploybot process as one of several sharing a database
 * (store/lease.h). It has an id, "host:pid:random", under which it claims
 * runs, jobs and messages for replica.lease_s at a time, and one thread
 * that every third of that
 *   - renews the leases of the runs under way, and the claims of its jobs
 *     and messages;
 *   - finds work whose lease expired, or whose replica is known to be dead
 *     (store_presence_dead: on one host, at once; elsewhere, when its lease
 *     expires), and queues it again for any replica (store_takeover), waking
 *     this one's worker.
 * At start it does the same once before any thread claims anything, so a
 * restart after a crash resumes its own runs at once.
 *
 * A run checks its lease before every AWS call (bot/runstop.h) against the
 * expiry as of its last successful renewal, on the monotonic clock: a
 * replica paused past its lease stops at its next step even before it can
 * reach the database. */
#ifndef DEPLOYBOT_BOT_REPLICA_H
#define DEPLOYBOT_BOT_REPLICA_H

#include "store/lease.h"
#include "util/errinfo.h"

typedef struct replica replica;
/* One run's lease as this replica holds it. */
typedef struct replica_lease replica_lease;

/* wake(arg) is called when the thread put work back in the queue. */
replica *replica_start(const char *db_path, int lease_s, void (*wake)(void *), void *arg,
                       errinfo *err);
/* No more calls of wake, from now on (before what it wakes goes away). */
void replica_quiet(replica *r);
/* Stops the thread; the leases of runs still under way are left to expire
 * (or to the next start's check of this replica's presence). */
void replica_stop(replica *r);

/* This replica's claimer: its id and lease; valid until replica_stop. */
const store_claimer *replica_claimer(const replica *r);

/* Keeps renewing the lease of env under fence, claimed at claimed_ms
 * (monotonic, taken before the claim). NULL when every slot is in use
 * (more run threads than BOT_MAX_RUNNERS). */
replica_lease *replica_lease_hold(replica *r, const char *env, long long fence,
                                  long long claimed_ms);
void replica_lease_drop(replica *r, replica_lease *l);
/* 1 once the lease was lost (a renewal found it taken) or has run out by
 * this process's clock since its last renewal. Thread-safe. */
int replica_lease_lost(replica_lease *l);
/* The store_fence of l, for the run's writes. */
const store_fence *replica_lease_fence(const replica_lease *l);

#endif
