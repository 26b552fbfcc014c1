/* runs: see runs.h. */
#include "store/runs.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

static const char SCHEMA[] =
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
    "CREATE INDEX IF NOT EXISTS runs_by_env ON runs(env, state, id);";

#define RUN_COLS "id, job_id, env, repo, sha, before_sha, ref, kind, trigger, state, pr_number, " \
                 "attempts, plan_summary, result, created_ms, started_ms, finished_ms"

struct runs {
    sqlite3 *db;
    char errmsg[512];
};

static int fail(runs *r, const char *what) {
    /* what may be a whole SQL statement: keep its start and all of SQLite's reason */
    snprintf(r->errmsg, sizeof(r->errmsg), "%.200s: %.300s", what, sqlite3_errmsg(r->db));
    return -1;
}

const char *runs_error(const runs *r) { return r->errmsg; }

runs *runs_open(const char *db_path, char *err, size_t errlen) {
    runs *r = calloc(1, sizeof(*r));
    if (sqlite3_open(db_path, &r->db) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", db_path, sqlite3_errmsg(r->db));
        sqlite3_close(r->db);
        free(r);
        return NULL;
    }
    dbwait_install(r->db, 10000);
    char *msg = NULL;
    if (sqlite3_exec(r->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(r->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot create the runs table: %s", db_path, msg ? msg : "?");
        sqlite3_free(msg);
        runs_close(r);
        return NULL;
    }
    return r;
}

void runs_close(runs *r) {
    if (!r) return;
    sqlite3_close(r->db);
    free(r);
}

static sqlite3_stmt *prep(runs *r, const char *sql) {
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(r->db, sql, -1, &s, NULL) != SQLITE_OK) fail(r, sql);
    return s;
}

static void bind_opt(sqlite3_stmt *s, int i, const char *v) {
    if (v) sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(s, i);
}

long runs_add(runs *r, const run_spec *x) {
    sqlite3_stmt *s = prep(r, "INSERT INTO runs(job_id, env, repo, sha, before_sha, ref, pr_number, kind, "
                              "trigger, created_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9," NOW_MS ") "
                              "ON CONFLICT(job_id, env) DO NOTHING");
    if (!s) return -1;
    if (x->job_id) sqlite3_bind_int64(s, 1, x->job_id);
    else sqlite3_bind_null(s, 1);
    bind_opt(s, 2, x->env);
    bind_opt(s, 3, x->repo);
    bind_opt(s, 4, x->sha);
    bind_opt(s, 5, x->before);
    bind_opt(s, 6, x->ref);
    sqlite3_bind_int(s, 7, x->pr_number);
    bind_opt(s, 8, x->kind);
    bind_opt(s, 9, x->trigger);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return fail(r, "adding a run");
    return sqlite3_changes(r->db) ? (long)sqlite3_last_insert_rowid(r->db) : 0;
}

static char *col(sqlite3_stmt *s, int i) {
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? strdup((const char *)t) : NULL;
}

static void read_run(sqlite3_stmt *s, run *x) {
    memset(x, 0, sizeof(*x));
    x->id = sqlite3_column_int64(s, 0);
    x->job_id = sqlite3_column_int64(s, 1);
    x->env = col(s, 2);
    x->repo = col(s, 3);
    x->sha = col(s, 4);
    x->before = col(s, 5);
    x->ref = col(s, 6);
    x->kind = col(s, 7);
    x->trigger = col(s, 8);
    x->state = col(s, 9);
    x->pr_number = sqlite3_column_int(s, 10);
    x->attempts = sqlite3_column_int(s, 11);
    x->plan_summary = col(s, 12);
    x->result = col(s, 13);
    x->created_ms = sqlite3_column_int64(s, 14);
    x->started_ms = sqlite3_column_int64(s, 15);
    x->finished_ms = sqlite3_column_int64(s, 16);
}

/* The run to start: oldest queued run whose environment is idle. */
static long next_candidate(runs *r, char *kind, char *env) {
    sqlite3_stmt *s = prep(r, "SELECT id, kind, env FROM runs q WHERE state = 'queued' AND NOT EXISTS "
                              "(SELECT 1 FROM runs b WHERE b.env = q.env AND b.state = 'running') "
                              "ORDER BY id LIMIT 1");
    long id = 0;
    if (s && sqlite3_step(s) == SQLITE_ROW) {
        id = sqlite3_column_int64(s, 0);
        snprintf(kind, 16, "%s", (const char *)sqlite3_column_text(s, 1));
        snprintf(env, 128, "%s", (const char *)sqlite3_column_text(s, 2));
    }
    sqlite3_finalize(s);
    return id;
}

static long newest_apply(runs *r, const char *env) {
    sqlite3_stmt *s = prep(r, "SELECT max(id) FROM runs WHERE env = ?1 AND state = 'queued' AND kind = 'apply'");
    long id = 0;
    sqlite3_bind_text(s, 1, env, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW) id = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return id;
}

static int supersede(runs *r, const char *env, long keep, run **list, size_t *n) {
    sqlite3_stmt *s = prep(r, "UPDATE runs SET state = 'superseded', finished_ms = " NOW_MS ", "
                              "result = 'superseded by ' || substr((SELECT sha FROM runs WHERE id = ?2), 1, 12) "
                              "WHERE env = ?1 AND state = 'queued' AND kind = 'apply' AND id < ?2 "
                              "RETURNING " RUN_COLS);
    if (!s) return -1;
    sqlite3_bind_text(s, 1, env, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, keep);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *list = realloc(*list, (*n + 1) * sizeof(run));
        read_run(s, &(*list)[(*n)++]);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : fail(r, "superseding runs");
}

static int start(runs *r, long id, run *out) {
    sqlite3_stmt *s = prep(r, "UPDATE runs SET state = 'running', attempts = attempts + 1, started_ms = " NOW_MS
                              " WHERE id = ?1 RETURNING " RUN_COLS);
    if (!s) return -1;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) read_run(s, out);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 1 : fail(r, "starting a run");
}

/* A read, so idle run threads never queue for the write lock. */
static int any_queued(runs *r) {
    sqlite3_stmt *s = prep(r, "SELECT 1 FROM runs WHERE state = 'queued' LIMIT 1");
    int yes = s && sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return yes;
}

int runs_claim(runs *r, run *out, run **superseded, size_t *n_superseded) {
    *superseded = NULL;
    *n_superseded = 0;
    if (!any_queued(r)) return 0;
    if (sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) return fail(r, "claim");
    char kind[16], env[128];
    long id = next_candidate(r, kind, env);
    int rc = 0;
    if (id && strcmp(kind, "apply") == 0) {
        id = newest_apply(r, env);
        rc = supersede(r, env, id, superseded, n_superseded);
    }
    if (id && rc == 0) rc = start(r, id, out);
    if (sqlite3_exec(r->db, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK) rc = fail(r, "claim");
    if (rc < 0) {
        run_list_free(*superseded, *n_superseded);
        *superseded = NULL;
        *n_superseded = 0;
    }
    return rc;
}

long runs_applied(runs *r, const char *env, const char *sha) {
    sqlite3_stmt *s = prep(r, "SELECT max(id) FROM runs WHERE env = ?1 AND sha = ?2 AND kind = 'apply' "
                              "AND state = 'succeeded'");
    long id = 0;
    sqlite3_bind_text(s, 1, env, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, sha, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW) id = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return id;
}

int runs_last_good(runs *r, const char *env, char sha[41]) {
    sqlite3_stmt *s = prep(r, "SELECT sha FROM runs WHERE env = ?1 AND kind = 'apply' AND state = 'succeeded' "
                              "ORDER BY finished_ms DESC, id DESC LIMIT 1");
    int rc = -1;
    sqlite3_bind_text(s, 1, env, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(sha, 41, "%s", (const char *)sqlite3_column_text(s, 0));
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

int runs_finish(runs *r, long id, const char *state, const char *plan_summary,
                const char *result, const char *log) {
    sqlite3_stmt *s = prep(r, "UPDATE runs SET state = ?2, plan_summary = ?3, result = ?4, log = ?5, "
                              "finished_ms = " NOW_MS " WHERE id = ?1");
    if (!s) return -1;
    sqlite3_bind_int64(s, 1, id);
    bind_opt(s, 2, state);
    bind_opt(s, 3, plan_summary);
    bind_opt(s, 4, result);
    bind_opt(s, 5, log ? log : "");
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : fail(r, "finishing a run");
}

int runs_append_log(runs *r, long id, const char *line) {
    sqlite3_stmt *s = prep(r, "UPDATE runs SET log = log || ?2 || char(10) WHERE id = ?1");
    if (!s) return -1;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, line, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : fail(r, "appending to a run's log");
}

int runs_recover(runs *r) {
    if (sqlite3_exec(r->db, "UPDATE runs SET state = 'queued' WHERE state = 'running'", NULL, NULL, NULL) != SQLITE_OK)
        return fail(r, "recovering runs");
    return sqlite3_changes(r->db);
}

long runs_count(runs *r, const char *state) {
    sqlite3_stmt *s = prep(r, state ? "SELECT count(*) FROM runs WHERE state = ?1" : "SELECT count(*) FROM runs");
    long n = -1;
    if (state) sqlite3_bind_text(s, 1, state, -1, SQLITE_TRANSIENT);
    if (s && sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static json_t *opt_str(const char *v) { return v ? json_string(v) : json_null(); }

static json_t *run_json(const run *x) {
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "id", (json_int_t)x->id, "env", x->env,
                          "repo", x->repo, "sha", x->sha, "kind", x->kind, "trigger", x->trigger,
                          "state", x->state, "attempts", x->attempts);
    json_object_set_new(o, "job_id", x->job_id ? json_integer(x->job_id) : json_null());
    json_object_set_new(o, "before", opt_str(x->before));
    json_object_set_new(o, "ref", opt_str(x->ref));
    json_object_set_new(o, "pr_number", x->pr_number ? json_integer(x->pr_number) : json_null());
    json_object_set_new(o, "plan_summary", opt_str(x->plan_summary));
    json_object_set_new(o, "result", opt_str(x->result));
    json_object_set_new(o, "created_ms", json_integer(x->created_ms));
    json_object_set_new(o, "started_ms", x->started_ms ? json_integer(x->started_ms) : json_null());
    json_object_set_new(o, "finished_ms", x->finished_ms ? json_integer(x->finished_ms) : json_null());
    json_object_set_new(o, "duration_ms", x->started_ms && x->finished_ms
                                              ? json_integer(x->finished_ms - x->started_ms) : json_null());
    return o;
}

json_t *runs_list_json(runs *r, const char *env, int limit) {
    sqlite3_stmt *s = prep(r, "SELECT " RUN_COLS " FROM runs WHERE ?1 IS NULL OR env = ?1 ORDER BY id DESC LIMIT ?2");
    json_t *arr = json_array();
    if (!s) return arr;
    bind_opt(s, 1, env);
    sqlite3_bind_int(s, 2, limit);
    while (sqlite3_step(s) == SQLITE_ROW) {
        run x;
        read_run(s, &x);
        json_array_append_new(arr, run_json(&x));
        run_free(&x);
    }
    sqlite3_finalize(s);
    return arr;
}

json_t *runs_get_json(runs *r, long id) {
    sqlite3_stmt *s = prep(r, "SELECT " RUN_COLS ", log FROM runs WHERE id = ?1");
    json_t *o = NULL;
    if (!s) return NULL;
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        run x;
        read_run(s, &x);
        o = run_json(&x);
        json_object_set_new(o, "log", json_string((const char *)sqlite3_column_text(s, 17)));
        run_free(&x);
    }
    sqlite3_finalize(s);
    return o;
}

json_t *runs_log_since(runs *r, long id, size_t from) {
    /* As a blob, substr counts bytes, as the viewer's offset does. */
    sqlite3_stmt *s = prep(r, "SELECT state, result, substr(CAST(log AS BLOB), ?2) FROM runs WHERE id = ?1");
    json_t *o = NULL;
    if (!s) return NULL;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)from + 1);
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *result = (const char *)sqlite3_column_text(s, 1);
        const char *tail = (const char *)sqlite3_column_blob(s, 2);
        o = json_pack("{s:s,s:s?,s:s#}", "state", (const char *)sqlite3_column_text(s, 0), "result", result,
                      "log", tail ? tail : "", (int)sqlite3_column_bytes(s, 2));
    }
    sqlite3_finalize(s);
    return o;
}

void run_free(run *x) {
    if (!x) return;
    free(x->env); free(x->repo); free(x->sha); free(x->before); free(x->ref);
    free(x->kind); free(x->trigger); free(x->state); free(x->plan_summary); free(x->result);
    memset(x, 0, sizeof(*x));
}

void run_list_free(run *list, size_t n) {
    for (size_t i = 0; i < n; i++) run_free(&list[i]);
    free(list);
}
