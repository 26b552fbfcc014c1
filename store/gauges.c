/* gauges: see gauges.h. */
#include "store/gauges.h"
#include "store/sql.h"

#include <string.h>

/* Jobs count seconds, runs and the outbox milliseconds: every age in ms. */
static const char JOBS[] =
    "SELECT count(*), coalesce(?1 - min(created_at) * 1000, 0) FROM jobs WHERE state = 'queued'";
static const char RUNS[] =
    "SELECT count(*), coalesce(?1 - min(created_ms), 0) FROM runs WHERE state = 'queued'";
static const char OUTBOX[] =
    "SELECT count(*), coalesce(?1 - min(created_at), 0) FROM outbox WHERE state IN ('pending', 'sending')";
/* The rule of gauges.h; runs_by_env finds each environment's newest. */
static const char ENVS[] =
    "SELECT e.env, r.kind, r.state, EXISTS (SELECT 1 FROM locks l WHERE l.env = e.env), "
    "  (SELECT max(finished_ms) FROM runs a WHERE a.env = e.env AND a.kind IN ('apply', 'remediate') "
    "   AND a.state = 'succeeded') "
    "FROM (SELECT env FROM runs UNION SELECT env FROM locks) e "
    "LEFT JOIN runs r ON r.id = (SELECT max(id) FROM runs x WHERE x.env = e.env "
    "  AND x.kind IN ('apply', 'destroy', 'remediate', 'drift') AND x.state NOT IN ('queued', 'running')) "
    "ORDER BY e.env";

static int backlog(store *s, const char *sql, long long now_ms, store_backlog *out, errinfo *err) {
    sqlite3_stmt *st = sql_query(s, err, sql, "L", now_ms);
    int rc = sql_step(s, st, "reading a backlog", err);
    if (rc < 0) return -1;
    out->count = rc ? (long)sqlite3_column_int64(st, 0) : 0;
    long long age = rc ? sqlite3_column_int64(st, 1) : 0;
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

static int is(sqlite3_stmt *st, int col, const char *want) {
    const unsigned char *v = sqlite3_column_text(st, col);
    return v && strcmp((const char *)v, want) == 0;
}

int store_env_gauges(store *s, void (*fn)(void *arg, const store_env_gauge *g), void *arg, errinfo *err) {
    sqlite3_stmt *st = sql_query(s, err, ENVS, "");
    int rc;
    while ((rc = sql_step(s, st, "reading the environments' states", err)) == 1) {
        store_env_gauge g = {.env = (const char *)sqlite3_column_text(st, 0)};
        g.drifted = is(st, 1, "drift") && is(st, 2, "drifted");
        g.in_sync = is(st, 2, "succeeded") || is(st, 2, "skipped");
        g.locked = sqlite3_column_int(st, 3) != 0;
        g.last_apply_ms = sqlite3_column_int64(st, 4);
        fn(arg, &g);
    }
    return rc;
}
