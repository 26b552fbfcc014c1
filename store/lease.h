/* lease: several deploybot replicas sharing one database.
 *
 * Each replica has an id ("host:pid:random") and claims work under it for
 * lease_ms at a time, renewing while it works:
 *   - a run holds its environment's lease (env_leases): one row per
 *     environment with its holder, an expiry and a fencing token that grows
 *     by one at every claim. Every state write of the run (store/runs.h:
 *     log lines, the finish) carries the holder and token it claimed with
 *     and is refused (ERR_CONFLICT) once another claim took the lease or it
 *     expired; renewing an expired lease fails too, so a replica that was
 *     paused past its lease can never write again for that run;
 *   - a job (store/jobs.h) and a message being sent (store/outbox.h) record
 *     who claimed them and until when. Their effects are idempotent (a job
 *     adds its runs once per environment; a status is set again, a comment
 *     edited by its stored id), so they need no token.
 * Whatever is claimed and no longer renewed goes back to the queue
 * (store_takeover) for any replica to claim.
 *
 * Times are the database's clock (SQL_NOW_MS), so replicas on several hosts
 * compare expiries against one clock. */
#ifndef DEPLOYBOT_STORE_LEASE_H
#define DEPLOYBOT_STORE_LEASE_H

#include <stddef.h>
#include "store/store.h"

/* Who claims, and for how long. A NULL claimer (the CLI, tests) claims for
 * STORE_DEFAULT_LEASE_MS in no one's name. */
typedef struct {
    const char *holder;
    long long lease_ms;
} store_claimer;

#define STORE_DEFAULT_LEASE_MS 30000

/* The lease a run was claimed under. A NULL fence writes unchecked (the
 * CLI, tests). */
typedef struct {
    const char *holder;
    long long fence;
} store_fence;

/* Extends the lease of env held by f for lease_ms: 1 renewed, 0 lost (taken
 * by another claim or expired: the run must stop), -1 error. */
int store_lease_renew(store *s, const char *env, const store_fence *f, long long lease_ms,
                      errinfo *err);

/* Extends every unexpired claim of c's holder on jobs and messages; how
 * many, or -1. */
int store_claims_renew(store *s, const store_claimer *c, errinfo *err);

/* What store_takeover put back in the queue. */
typedef struct {
    int runs, jobs, messages;
} store_taken;

/* Puts back in the queue the runs whose lease expired (their attempts grow
 * at the next claim), and the jobs and messages whose claim expired. */
int store_takeover(store *s, store_taken *n, errinfo *err);

/* The replicas holding an unexpired lease or claim, except `self` (free
 * with store_holders_free): n of them, or -1. */
int store_holders(store *s, const char *self, char ***out, errinfo *err);
void store_holders_free(char **list, int n);

/* Ends every lease and claim of holder at once (a replica known to be dead:
 * store_presence_dead), so store_takeover takes its work now. */
int store_holder_forget(store *s, const char *holder, errinfo *err);

/* Whether a replica is alive, for a database on a local filesystem: each
 * replica holds an exclusive lock (flock) on a file named after its id in
 * "<db>-replicas/" while it runs; the kernel drops it when the process dies,
 * kill -9 included. join returns the descriptor holding it (-1 with err),
 * leave lets it go (the file stays, unlocked: dead to whoever looks). dead:
 * 1 when holder's file is there and its lock free (the file is then
 * removed), 0 when alive or unknown (no file: a replica that could not make
 * one, another host's, a database without a file). sweep removes the files
 * of every dead replica (at start, once their work was taken over). */
int store_presence_join(store *s, const char *holder, errinfo *err);
void store_presence_leave(store *s, const char *holder, int fd);
int store_presence_dead(store *s, const char *holder);
void store_presence_sweep(store *s);

#endif
