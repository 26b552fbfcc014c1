/* retention: see retention.h. */
#include "store/retention.h"
#include "store/sql.h"

#define FINISHED "state NOT IN ('queued', 'running')"

static const char PRUNE_RUNS[] =
    "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE created_ms < ?1 AND " FINISHED
    " AND id NOT IN (SELECT max(id) FROM runs WHERE state = 'succeeded' GROUP BY env)"
    " AND id NOT IN (SELECT max(id) FROM runs WHERE state = 'succeeded' AND kind = 'apply' GROUP BY env)"
    " AND id NOT IN (SELECT max(id) FROM runs WHERE " FINISHED
    " GROUP BY env)"
    " AND id NOT IN (SELECT max(id) FROM runs WHERE " FINISHED
    " AND kind IN ('apply', 'destroy', 'remediate', 'drift') GROUP BY env)"
    " ORDER BY id LIMIT ?2)";
/* A request to stop a run that has ended is of no use any more. */
static const char PRUNE_CANCELS[] =
    "DELETE FROM run_cancels WHERE run_id NOT IN (SELECT id FROM runs WHERE state IN ('queued', 'running'))";
static const char PRUNE_JOBS[] =
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE created_at < ?1 / 1000"
    " AND state IN ('done', 'failed') ORDER BY id LIMIT ?2)";
static const char PRUNE_DELIVERIES[] =
    "DELETE FROM deliveries WHERE id IN (SELECT d.id FROM deliveries d WHERE received_at < ?1 / 1000"
    " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.delivery = d.id) LIMIT ?2)";

/* One statement in its own transaction: the lock is let go in between. */
static int prune(store *s, const char *sql, const char *what, long long cutoff_ms, int batch, errinfo *err) {
    if (sql_begin(s, err) < 0)
        return errinfo_prefix(err, "%s", what);
    return sql_end(s, sql_exec(s, err, what, sql, "Li", cutoff_ms, batch), err);
}

long store_prune_batch(store *s, long long cutoff_ms, int batch, store_pruned *out, errinfo *err) {
    int runs = prune(s, PRUNE_RUNS, "pruning runs", cutoff_ms, batch, err);
    int jobs = runs < 0 ? -1 : prune(s, PRUNE_JOBS, "pruning jobs", cutoff_ms, batch, err);
    int deliveries = jobs < 0 ? -1 : prune(s, PRUNE_DELIVERIES, "pruning deliveries", cutoff_ms, batch, err);

    if (deliveries < 0 || sql_exec(s, err, "pruning cancel requests", PRUNE_CANCELS, "") < 0)
        return -1;
    out->runs += runs;
    out->jobs += jobs;
    out->deliveries += deliveries;
    return (long)runs + jobs + deliveries;
}
