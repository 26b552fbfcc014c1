/* backlog: see backlog.h. */
#include "store/backlog.h"
#include "store/sql.h"

/* Jobs count seconds, runs and the outbox milliseconds: every age in ms. */
static const char JOBS[] =
    "SELECT count(*), coalesce(?1 - min(created_at) * 1000, 0) FROM jobs WHERE state = 'queued'";
static const char RUNS[] =
    "SELECT count(*), coalesce(?1 - min(created_ms), 0) FROM runs WHERE state = 'queued'";
static const char OUTBOX[] =
    "SELECT count(*), coalesce(?1 - min(created_at), 0) FROM outbox WHERE state IN ('pending', 'sending')";

static int backlog(store *s, const char *sql, long long now_ms, store_backlog *out, errinfo *err) {
    sql_stmt *st = sql_query(s, err, sql, "L", now_ms);
    int rc = sql_step(s, st, "reading a backlog", err);
    if (rc < 0) return -1;
    out->count = rc ? (long)sql_col_ll(st, 0) : 0;
    long long age = rc ? sql_col_ll(st, 1) : 0;
    out->oldest_age_s = age > 0 ? age / 1000.0 : 0; /* a clock set back: not negative */
    if (rc) sql_done(st);
    return 0;
}

int store_backlogs_get(store *s, long long now_ms, store_backlogs *out, errinfo *err) {
    if (backlog(s, JOBS, now_ms, &out->jobs, err) < 0 || backlog(s, RUNS, now_ms, &out->runs, err) < 0 ||
        backlog(s, OUTBOX, now_ms, &out->outbox, err) < 0)
        return errinfo_prefix(err, "the backlogs");
    return 0;
}
