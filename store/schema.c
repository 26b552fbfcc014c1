/* schema: the SQLite tables, and how a database of an older deploybot is
 * upgraded (PostgreSQL's: store/schema_pg.c, with the same version numbers).
 *
 * PRAGMA user_version is the number of migrations applied. Opening a store
 * applies the missing ones in order, in one transaction, so a database is
 * upgraded in place by the first connection of a new deploybot and never
 * seen half-upgraded. A migration is never edited once released: a change is
 * a new migration at the end.
 *
 * Before store/ existed the job queue counted versions 1 and 2, and the
 * other tables were created by whichever module opened the file first
 * ("IF NOT EXISTS"); migration 3 creates them the same way, so a database in
 * any of those states upgrades cleanly. */
#include "store/sql_backend.h"

static const char *const MIGRATIONS[] = {
    /* 1: webhook deliveries and their jobs. */
    "CREATE TABLE IF NOT EXISTS deliveries("
    "  id TEXT PRIMARY KEY,"
    "  event TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL);"
    /* AUTOINCREMENT: job ids are quoted in webhook answers and logs, so an id
     * must never be reused after the newest job is deleted. */
    "CREATE TABLE IF NOT EXISTS jobs("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  delivery TEXT NOT NULL REFERENCES deliveries(id),"
    "  event TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'queued'"
    "    CHECK (state IN ('queued','running','done','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  started_at INTEGER,"
    "  finished_at INTEGER,"
    "  summary TEXT);"
    "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, id);",

    /* 2: a job retried after a transient failure waits (store_job_retry). */
    "ALTER TABLE jobs ADD COLUMN run_after INTEGER NOT NULL DEFAULT 0;",

    /* 3: the history of runs, operator locks, the outbox, and pull request
     * plans, until then created by their own modules. */
    "CREATE TABLE IF NOT EXISTS runs("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job_id INTEGER,"
    "  env TEXT NOT NULL, repo TEXT NOT NULL, sha TEXT NOT NULL, before_sha TEXT, ref TEXT,"
    "  pr_number INTEGER NOT NULL DEFAULT 0,"
    "  kind TEXT NOT NULL CHECK (kind IN ('plan','apply','destroy')),"
    "  trigger TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN"
    "    ('queued','running','succeeded','failed','superseded','skipped','blocked')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  plan_summary TEXT, result TEXT, log TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL, started_ms INTEGER, finished_ms INTEGER,"
    "  UNIQUE (job_id, env));"
    "CREATE INDEX IF NOT EXISTS runs_by_env ON runs(env, state, id);"
    "CREATE TABLE IF NOT EXISTS locks(env TEXT PRIMARY KEY, reason TEXT NOT NULL,"
    "  locked_by TEXT, locked_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  kind TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  ordering_key TEXT,"
    "  payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending'"
    "    CHECK (state IN ('pending','sending','sent','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL," /* Unix ms */
    "  next_attempt_at INTEGER NOT NULL,"
    "  sent_at INTEGER,"
    "  last_error TEXT);"
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at);"
    "CREATE INDEX IF NOT EXISTS outbox_order ON outbox(ordering_key, id);"
    /* A channel paused by a rate limit (all GitHub calls share one token). */
    "CREATE TABLE IF NOT EXISTS outbox_holds("
    "  channel TEXT PRIMARY KEY,"
    "  until_ms INTEGER NOT NULL);"
    /* The comment a key stands for, e.g. the plan comment of a pull request. */
    "CREATE TABLE IF NOT EXISTS outbox_comments("
    "  key TEXT PRIMARY KEY,"
    "  comment_id INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS notify_pr_heads("
    "  repo TEXT NOT NULL, pr INTEGER NOT NULL, sha TEXT NOT NULL, updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (repo, pr));"
    "CREATE TABLE IF NOT EXISTS notify_pr_envs("
    "  repo TEXT NOT NULL, pr INTEGER NOT NULL, env TEXT NOT NULL, sha TEXT NOT NULL,"
    "  pos INTEGER NOT NULL DEFAULT 0,"
    "  pending INTEGER NOT NULL DEFAULT 1,"
    "  applied INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,"
    "  changes INTEGER NOT NULL DEFAULT 0,"
    "  summary TEXT, plan_text TEXT, error TEXT, url TEXT,"
    "  PRIMARY KEY (repo, pr, env));",

    /* 4: keys the bot generates for itself (store/keys.h), e.g. the one that
     * signs browser sessions. */
    "CREATE TABLE keys("
    "  name TEXT PRIMARY KEY,"
    "  hex TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);",

    /* 5: drift checks and their remediation are runs too (kinds "drift" and
     * "remediate", state "drifted": a drift run that found drift). SQLite
     * cannot change a CHECK, so the table is rebuilt, keeping its ids and
     * its AUTOINCREMENT counter. */
    "CREATE TABLE runs_new("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job_id INTEGER,"
    "  env TEXT NOT NULL, repo TEXT NOT NULL, sha TEXT NOT NULL, before_sha TEXT, ref TEXT,"
    "  pr_number INTEGER NOT NULL DEFAULT 0,"
    "  kind TEXT NOT NULL CHECK (kind IN ('plan','apply','destroy','drift','remediate')),"
    "  trigger TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN"
    "    ('queued','running','succeeded','failed','superseded','skipped','blocked','drifted')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  plan_summary TEXT, result TEXT, log TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL, started_ms INTEGER, finished_ms INTEGER,"
    "  UNIQUE (job_id, env));"
    "INSERT INTO runs_new SELECT * FROM runs;"
    "INSERT INTO sqlite_sequence(name, seq) SELECT 'runs_new', 0"
    "  WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'runs_new');"
    "UPDATE sqlite_sequence SET seq = (SELECT max(seq) FROM sqlite_sequence"
    "  WHERE name IN ('runs', 'runs_new')) WHERE name = 'runs_new';"
    "DROP TABLE runs;"
    "ALTER TABLE runs_new RENAME TO runs;"
    "CREATE INDEX runs_by_env ON runs(env, state, id);",

    /* 6: a drift run that found drift keeps the SHA-256 of its rendered plan,
     * so the same drift found again is told once (store/drift.h). */
    "ALTER TABLE runs ADD COLUMN plan_digest TEXT;",
    /* 7: a request to stop a running run (store_run_cancel), which the run's
     * own thread reads between AWS calls; and the index retention needs to
     * find a delivery's jobs (store/retention.h). */
    "CREATE TABLE run_cancels("
    "  run_id INTEGER PRIMARY KEY,"
    "  by TEXT NOT NULL,"
    "  requested_ms INTEGER NOT NULL);"
    "CREATE INDEX jobs_by_delivery ON jobs(delivery);",
    /* 8: several replicas on one database (store/lease.h). An environment's
     * lease says which replica runs it, until when, under which fencing
     * token (fence: only ever grows); a run records the token it holds;
     * jobs and messages say who claimed them, until when. */
    SCHEMA_8_LEASES,
};

#define LATEST ((int)(sizeof(MIGRATIONS) / sizeof(MIGRATIONS[0])))
_Static_assert(LATEST == SCHEMA_LATEST, "a migration is added to both backends' lists");

static const char USER_VERSION[] = "PRAGMA user_version";

static int user_version(store *s, errinfo *err) {
    return (int)sql_number(s, sql_query(s, err, USER_VERSION, ""), "reading the schema version",
                           err);
}

int schema_sqlite_migrate(store *s, errinfo *err) {
    int v = user_version(s, err);

    /* Only a database to upgrade takes the write lock. */
    if (v == LATEST || v < 0)
        return v < 0 ? -1 : 0;
    if (sql_begin(s, err) < 0)
        return -1;
    /* Read again: another connection may have upgraded it meanwhile. */
    v = user_version(s, err);
    return sql_end(s, v < 0 ? -1 : sql_schema_upgrade(s, MIGRATIONS, v, "PRAGMA user_version=", "", err), err);
}
