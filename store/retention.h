/* retention: the history older than retention_days, removed in small
 * batches so that no transaction holds the write lock for long (a webhook's
 * delivery waits for it).
 *
 * What goes: finished runs (with their logs), finished jobs, and the
 * deliveries no job refers to any more, created before the cutoff. What
 * stays whatever its age: a queued or running run; the newest successful
 * run, the newest successful apply (what auto-rollback re-applies), the
 * newest finished run and the newest finished apply, destroy, remediate or
 * drift run (what the environment's state is read from: in sync, drifted)
 * of each environment. */
#ifndef DEPLOYBOT_STORE_RETENTION_H
#define DEPLOYBOT_STORE_RETENTION_H

#include "store/store.h"

/* Rows removed, by table. */
typedef struct {
    long long runs, jobs, deliveries;
} store_pruned;

/* One batch: at most `batch` rows of each table created before cutoff_ms
 * (Unix milliseconds), each table in its own short transaction; adds what it
 * removed to *out. Returns how many rows it removed (0: nothing is left to
 * remove), or -1. */
long store_prune_batch(store *s, long long cutoff_ms, int batch, store_pruned *out, errinfo *err);

#endif
