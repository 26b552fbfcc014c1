/* runs: see runs.h. */
#include "store/runs.h"
#include "store/sql.h"

#include <stdlib.h>
#include <string.h>

#define RUN_COLS \
    "id, job_id, env, repo, sha, before_sha, ref, kind, trigger, state, pr_number, " \
    "attempts, plan_summary, result, created_ms, started_ms, finished_ms, fence"
#define N_RUN_COLS 18

static const char ADD[] =
    "INSERT INTO runs(job_id, env, repo, sha, before_sha, ref, pr_number, kind, trigger, "
    "created_ms) VALUES(nullif(?1, 0), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, now_ms()) ON CONFLICT(job_id, env) DO NOTHING RETURNING id";
/* A read, so idle run threads never queue for the write lock. */
static const char ANY_QUEUED[] = "SELECT 1 FROM runs WHERE state = 'queued' LIMIT 1";
/* The run to start: the oldest queued run whose environment is idle. A run
 * is queued again only once its lease expired (store_takeover), so an idle
 * environment's lease is free or stale. */
static const char NEXT[] =
    "SELECT id, kind, env FROM runs q WHERE state = 'queued' AND NOT EXISTS "
    "(SELECT 1 FROM runs b WHERE b.env = q.env AND b.state = 'running') ORDER BY id LIMIT 1";
/* The environment's lease, with the next fencing token: whoever held it
 * before can no longer write. */
static const char LEASE[] =
    "INSERT INTO env_leases(env, holder, fence, expires_ms, run_id) VALUES(?1, ?2, 1, " SQL_NOW_MS
    " + ?3, ?4) ON CONFLICT(env) DO UPDATE SET holder = excluded.holder, "
    "fence = env_leases.fence + 1, expires_ms = excluded.expires_ms, run_id = excluded.run_id "
    "RETURNING fence";
static const char NEWEST_APPLY[] =
    "SELECT max(id) FROM runs WHERE env = ?1 AND state = 'queued' AND kind = 'apply'";
static const char SUPERSEDE[] =
    "UPDATE runs SET state = 'superseded', finished_ms = now_ms(), result = 'superseded by ' || substr((SELECT sha FROM runs WHERE id = ?2), 1, 12) "
    "WHERE env = ?1 AND state = 'queued' AND kind = 'apply' AND id < ?2 RETURNING " RUN_COLS;
/* The head's apply superseded by an older commit's run that was then not
 * applied: queued again, unless the head is applied, queued or running. */
static const char REQUEUE[] =
    "UPDATE runs SET state = 'queued', result = NULL, finished_ms = NULL WHERE id = "
    "(SELECT max(id) FROM runs WHERE env = ?1 AND sha = ?2 AND kind = 'apply' AND state = 'superseded') "
    "AND NOT EXISTS (SELECT 1 FROM runs o WHERE o.env = ?1 AND o.sha = ?2 AND o.kind = 'apply' "
    "AND o.state IN ('queued', 'running', 'succeeded')) RETURNING id";
static const char START[] =
    "UPDATE runs SET state = 'running', attempts = attempts + 1, started_ms = " SQL_NOW_MS
    ", holder = ?2, fence = ?3 WHERE id = ?1 RETURNING " RUN_COLS;
static const char APPLIED[] =
    "SELECT max(id) FROM runs WHERE env = ?1 AND sha = ?2 AND kind = 'apply' "
    "AND state = 'succeeded'";
static const char RECORDED[] =
    "SELECT max(id) FROM runs WHERE env = ?1 AND sha = ?2 AND kind IN ('apply', 'destroy')";
static const char LAST_GOOD[] =
    "SELECT sha FROM runs WHERE env = ?1 AND kind = 'apply' AND state = 'succeeded' "
    "ORDER BY finished_ms DESC, id DESC LIMIT 1";
/* A write of a run holding the lease with holder h and token f (parameter
 * numbers): a NULL holder writes unchecked. */
#define FENCED(h, f) \
    " AND (" h \
    " IS NULL OR EXISTS (SELECT 1 FROM env_leases l WHERE l.env = runs.env " \
    "AND l.holder = " h " AND l.fence = " f " AND l.expires_ms > " SQL_NOW_MS "))"
static const char FINISH[] =
    "UPDATE runs SET state = ?2, plan_summary = ?3, result = ?4, log = ?5, "
    "finished_ms = " SQL_NOW_MS " WHERE id = ?1" FENCED("?6", "?7");
/* An unchecked finish (no holder) gives back the lease its run holds. */
static const char RELEASE[] =
    "UPDATE env_leases SET expires_ms = 0 WHERE run_id = ?3 "
    "AND (?1 IS NULL OR (holder = ?1 AND fence = ?2))";
static const char APPEND_LOG[] =
    "UPDATE runs SET log = log || ?2 || ?3 WHERE id = ?1" FENCED("?4", "?5");
static const char LEASE_OF[] =
    "SELECT l.env, l.fence, l.holder, l.expires_ms > " SQL_NOW_MS
    " FROM env_leases l JOIN runs r ON r.env = l.env WHERE r.id = ?1";
static const char STATE[] = "SELECT state FROM runs WHERE id = ?1";
static const char CANCEL_QUEUED[] =
    "UPDATE runs SET state = 'failed', result = 'canceled by ' || ?2, finished_ms = now_ms() WHERE id = ?1 AND state = 'queued'";
static const char CANCEL_RUNNING[] =
    "INSERT INTO run_cancels(run_id, by, requested_ms) VALUES(?1, ?2, now_ms()) ON CONFLICT(run_id) DO NOTHING";
static const char CANCEL_REQUESTED[] = "SELECT by FROM run_cancels WHERE run_id = ?1";
static const char LIST[] =
    "SELECT " RUN_COLS
    " FROM runs WHERE (?1 IS NULL OR env = ?1) AND (?3 IS NULL OR kind = ?3) "
    "AND (?4 IS NULL OR state = ?4) ORDER BY id DESC LIMIT ?2";
static const char LATEST[] =
    "SELECT " RUN_COLS " FROM runs WHERE env = ?1 ORDER BY id DESC LIMIT 1";
static const char GET[] = "SELECT " RUN_COLS ", log FROM runs WHERE id = ?1";
/* As a blob (bytea), substr counts bytes, as the viewer's offset does. */
static const char LOG_SINCE[] =
    "SELECT state, result, substr(CAST(log AS BLOB), ?2) FROM runs WHERE id = ?1";
static const char LOG_SINCE_PG[] =
    "SELECT state, result, substr(convert_to(log, 'UTF8'), CAST(?2 AS integer)) FROM runs WHERE id = ?1";

long store_run_add(store *s, const run_spec *x, errinfo *err) {
    sql_stmt *st = sql_query(s, err, ADD, "lsssssiss", x->job_id, x->env, x->repo, x->sha,
                             x->before, x->ref, x->pr_number, x->kind, x->trigger);
    long long id = sql_number(s, st, "adding a run", err);

    if (id < 0)
        return errinfo_prefix(err, "%s of %.12s in %s", x->kind, x->sha, x->env);
    return (long)id; /* 0: a duplicate */
}

static void read_run(sql_stmt *st, run *x) {
    memset(x, 0, sizeof(*x));
    x->id = (long)sql_col_ll(st, 0);
    x->job_id = (long)sql_col_ll(st, 1);
    x->env = sql_text(st, 2);
    x->repo = sql_text(st, 3);
    x->sha = sql_text(st, 4);
    x->before = sql_text(st, 5);
    x->ref = sql_text(st, 6);
    x->kind = sql_text(st, 7);
    x->trigger = sql_text(st, 8);
    x->state = sql_text(st, 9);
    x->pr_number = sql_col_int(st, 10);
    x->attempts = sql_col_int(st, 11);
    x->plan_summary = sql_text(st, 12);
    x->result = sql_text(st, 13);
    x->created_ms = sql_col_ll(st, 14);
    x->started_ms = sql_col_ll(st, 15);
    x->finished_ms = sql_col_ll(st, 16);
    x->fence = sql_col_ll(st, 17);
}

/* The run to start (0: none) and its kind and environment. */
static long next_candidate(store *s, char kind[16], char env[128], errinfo *err) {
    sql_stmt *st = sql_query(s, err, NEXT, "");
    int rc = sql_step(s, st, "choosing a run", err);
    long id;

    if (rc <= 0)
        return rc;
    id = (long)sql_col_ll(st, 0);
    sql_text_into(st, 1, kind, 16);
    sql_text_into(st, 2, env, 128);
    sql_done(st);
    return id;
}

static int supersede(store *s, const char *env, long keep, run **list, size_t *n, errinfo *err) {
    sql_stmt *st = sql_query(s, err, SUPERSEDE, "sl", env, keep);
    int rc = st ? 1 : -1;

    while (rc == 1 && (rc = sql_step(s, st, "superseding runs", err)) == 1) {
        run *grown = realloc(*list, (*n + 1) * sizeof(run));
        if (!grown)
            abort();
        *list = grown;
        read_run(st, &(*list)[(*n)++]);
    }
    return rc;
}

/* The lease of env for run id: its new fencing token, or -1. */
static long long lease(store *s, const char *env, long id, const store_claimer *c,
                       errinfo *err) {
    long long ms = c ? c->lease_ms : STORE_DEFAULT_LEASE_MS;
    sql_stmt *st = sql_query(s, err, LEASE, "ssLl", env, c ? c->holder : NULL, ms, id);
    int rc = sql_step(s, st, "taking the environment's lease", err);
    long long fence;

    if (rc == 0)
        errinfo_set(err, ERR_INTERNAL, "taking the lease of %s: no token", env);
    if (rc != 1)
        return -1;
    fence = sql_col_ll(st, 0);
    /* Run to completion: the INSERT is done only then. */
    return sql_step(s, st, "taking the environment's lease", err) < 0 ? -1 : fence;
}

static int start(store *s, long id, const char *env, const store_claimer *c, run *out,
                 errinfo *err) {
    long long fence = lease(s, env, id, c, err);
    sql_stmt *st = fence < 0 ? NULL : sql_query(s, err, START, "lsL", id, c ? c->holder : NULL, fence);
    int rc = sql_step(s, st, "starting a run", err);

    if (rc != 1)
        return -1;
    read_run(st, out);
    /* Run to completion: the UPDATE is done only then. */
    if (sql_step(s, st, "starting a run", err) < 0) {
        run_free(out);
        return -1;
    }
    return 1;
}

/* Inside the transaction: picks, supersedes and starts. */
static int claim(store *s, const store_claimer *c, run *out, run **superseded, size_t *n,
                 errinfo *err) {
    char kind[16], env[128];
    long id = next_candidate(s, kind, env, err);

    if (id > 0 && strcmp(kind, "apply") == 0) {
        id = (long)sql_number(s, sql_query(s, err, NEWEST_APPLY, "s", env), "choosing a run", err);
        if (id > 0 && supersede(s, env, id, superseded, n, err) < 0)
            return -1;
    }
    return id > 0 ? start(s, id, env, c, out, err) : (int)id;
}

int store_run_claim(store *s, const store_claimer *c, run *out, run **superseded,
                    size_t *n_superseded, errinfo *err) {
    long long any = sql_number(s, sql_query(s, err, ANY_QUEUED, ""), "looking for runs", err);
    int got;

    *superseded = NULL;
    *n_superseded = 0;
    if (any <= 0)
        return (int)any;
    if (sql_begin(s, err) < 0)
        return errinfo_prefix(err, "claiming a run");
    got = claim(s, c, out, superseded, n_superseded, err);
    if (sql_end(s, got, err) < 0) {
        if (got == 1)
            run_free(out);
        run_list_free(*superseded, *n_superseded);
        *superseded = NULL;
        *n_superseded = 0;
        return errinfo_prefix(err, "claiming a run");
    }
    return got;
}

long store_run_requeue_head(store *s, const char *env, const char *sha, errinfo *err) {
    long long id = sql_number(s, sql_query(s, err, REQUEUE, "ss", env, sha), "queuing the head again", err);

    return id < 0 ? errinfo_prefix(err, "apply of %.12s in %s", sha, env) : (long)id;
}

long store_run_applied(store *s, const char *env, const char *sha, errinfo *err) {
    return (long)sql_number(s, sql_query(s, err, APPLIED, "ss", env, sha), "reading the history",
                            err);
}

long store_run_recorded(store *s, const char *env, const char *sha, errinfo *err) {
    return (long)sql_number(s, sql_query(s, err, RECORDED, "ss", env, sha), "reading the history",
                            err);
}

int store_run_last_good(store *s, const char *env, char sha[41], errinfo *err) {
    sql_stmt *st = sql_query(s, err, LAST_GOOD, "s", env);
    int rc = sql_step(s, st, "reading the history", err);

    if (rc == 1) {
        sql_text_into(st, 0, sha, 41);
        sql_done(st);
    }
    return rc;
}

int store_run_latest(store *s, const char *env, run *out, errinfo *err) {
    sql_stmt *st = sql_query(s, err, LATEST, "s", env);
    int rc = sql_step(s, st, "reading the history", err);

    if (rc == 1) {
        read_run(st, out);
        sql_done(st);
    }
    return rc;
}

/* Why a fenced write of run id changed nothing: ERR_CONFLICT naming who
 * holds its environment's lease now. */
static int lost(store *s, long id, const store_fence *f, errinfo *err) {
    sql_stmt *st = sql_query(s, err, LEASE_OF, "l", id);
    int rc = sql_step(s, st, "reading a lease", err);
    char env[128];
    long long fence;
    int live;

    if (rc == 0)
        return errinfo_set(err, ERR_NOT_FOUND, "run %ld: no such run or no lease", id);
    if (rc < 0)
        return -1;
    sql_text_into(st, 0, env, sizeof(env));
    fence = sql_col_ll(st, 1);
    live = sql_col_int(st, 3);
    sql_done(st);
    if (fence == f->fence)
        return errinfo_set(err, ERR_CONFLICT, "run %ld: lease of %s (fence %lld) %s", id, env,
                           fence, live ? "is no longer this replica's" : "expired");
    return errinfo_set(err, ERR_CONFLICT, "run %ld: lease of %s lost to fence %lld", id, env, fence);
}

/* Inside the transaction: the write, then the lease given back. */
static int finish(store *s, long id, const store_fence *f, const char *state, const char *plan_summary,
                  const char *result, const char *log, errinfo *err) {
    const char *holder = f ? f->holder : NULL;
    long long fence = f ? f->fence : 0;
    int n = sql_exec(s, err, "finishing", FINISH, "lsssssL", id, state, plan_summary, result,
                     log ? log : "", holder, fence);

    if (n == 0 && holder)
        return lost(s, id, f, err);
    if (n < 0)
        return -1;
    return sql_exec(s, err, "giving the lease back", RELEASE, "sLl", holder, fence, id) < 0 ? -1 : 0;
}

int store_run_finish(store *s, long id, const store_fence *f, const char *state,
                     const char *plan_summary, const char *result, const char *log, errinfo *err) {
    if (sql_begin(s, err) < 0 ||
        sql_end(s, finish(s, id, f, state, plan_summary, result, log, err), err) < 0)
        return errinfo_prefix(err, "recording the end of run %ld", id);
    return 0;
}

int store_run_log_append(store *s, long id, const store_fence *f, const char *line, errinfo *err) {
    const char *holder = f ? f->holder : NULL;
    int n = sql_exec(s, err, "appending to the log", APPEND_LOG, "lsssL", id, line, "\n", holder,
                     f ? f->fence : 0);

    if (n < 0)
        return errinfo_prefix(err, "run %ld", id);
    return n == 0 && holder ? lost(s, id, f, err) : 0;
}

/* Inside the transaction: the state decides (it cannot change meanwhile). */
static int cancel(store *s, long id, const char *by, errinfo *err) {
    char state[32];
    sql_stmt *st = sql_query(s, err, STATE, "l", id);
    int rc = sql_step(s, st, "reading a run", err);

    if (rc == 0)
        return errinfo_set(err, ERR_NOT_FOUND, "no run %ld", id);
    if (rc < 0)
        return -1;
    sql_text_into(st, 0, state, sizeof(state));
    sql_done(st);
    if (strcmp(state, "queued") == 0)
        return sql_exec(s, err, "canceling", CANCEL_QUEUED, "ls", id, by) < 0 ? -1 : 1;
    if (strcmp(state, "running") == 0)
        return sql_exec(s, err, "canceling", CANCEL_RUNNING, "ls", id, by) < 0 ? -1 : 2;
    return errinfo_set(err, ERR_CONFLICT, "run %ld has ended already (%s)", id, state);
}

int store_run_cancel(store *s, long id, const char *by, errinfo *err) {
    if (sql_begin(s, err) < 0)
        return errinfo_prefix(err, "canceling run %ld", id);
    return sql_end(s, cancel(s, id, by, err), err);
}

int store_run_cancel_requested(store *s, long id, char *by, size_t len, errinfo *err) {
    sql_stmt *st = sql_query(s, err, CANCEL_REQUESTED, "l", id);
    int rc = sql_step(s, st, "reading a run's cancel request", err);

    if (rc == 1) {
        sql_text_into(st, 0, by, len);
        sql_done(st);
    }
    return rc;
}

static json_t *opt_str(const char *v) {
    return v ? json_string(v) : json_null();
}

static json_t *opt_int(long long v) {
    return v ? json_integer(v) : json_null();
}

json_t *run_to_json(const run *x) {
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "id", (json_int_t)x->id, "env",
                          x->env, "repo", x->repo, "sha", x->sha, "kind", x->kind, "trigger",
                          x->trigger, "state", x->state, "attempts", x->attempts);

    json_object_set_new(o, "job_id", opt_int(x->job_id));
    json_object_set_new(o, "before", opt_str(x->before));
    json_object_set_new(o, "ref", opt_str(x->ref));
    json_object_set_new(o, "pr_number", opt_int(x->pr_number));
    json_object_set_new(o, "plan_summary", opt_str(x->plan_summary));
    json_object_set_new(o, "result", opt_str(x->result));
    json_object_set_new(o, "created_ms", json_integer(x->created_ms));
    json_object_set_new(o, "started_ms", opt_int(x->started_ms));
    json_object_set_new(o, "finished_ms", opt_int(x->finished_ms));
    json_object_set_new(o, "duration_ms", x->started_ms && x->finished_ms ? json_integer(x->finished_ms - x->started_ms) : json_null());
    return o;
}

/* The row under st as JSON. */
static json_t *row_json(sql_stmt *st) {
    run x;
    json_t *o;

    read_run(st, &x);
    o = run_to_json(&x);
    run_free(&x);
    return o;
}

json_t *store_runs_list_json(store *s, const char *env, int limit, errinfo *err) {
    run_filter f = {env, NULL, NULL};

    return store_runs_find_json(s, &f, limit, err);
}

json_t *store_runs_find_json(store *s, const run_filter *f, int limit, errinfo *err) {
    sql_stmt *st = sql_query(s, err, LIST, "siss", f->env, limit, f->kind, f->state);
    json_t *arr = st ? json_array() : NULL;
    int rc = st ? 1 : -1;

    while (rc == 1 && (rc = sql_step(s, st, "listing runs", err)) == 1)
        json_array_append_new(arr, row_json(st));
    if (rc < 0) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

json_t *store_run_get_json(store *s, long id, errinfo *err) {
    sql_stmt *st = sql_query(s, err, GET, "l", id);
    int rc = sql_step(s, st, "reading a run", err);
    json_t *o;

    if (rc == 0)
        errinfo_set(err, ERR_NOT_FOUND, "no run %ld", id);
    if (rc != 1)
        return NULL;
    o = row_json(st);
    json_object_set_new(o, "log", json_string(sql_col_str(st, N_RUN_COLS)));
    sql_done(st);
    return o;
}

json_t *store_run_log_since(store *s, long id, size_t from, errinfo *err) {
    sql_stmt *st = sql_query(s, err, sql_pick(s, LOG_SINCE, LOG_SINCE_PG), "lL", id, (long long)from + 1);
    int rc = sql_step(s, st, "reading a run's log", err);
    const char *tail;
    json_t *o;

    if (rc == 0)
        errinfo_set(err, ERR_NOT_FOUND, "no run %ld", id);
    if (rc != 1)
        return NULL;
    tail = sql_col_str(st, 2);
    o = json_pack("{s:s,s:s?,s:s#}", "state", sql_col_str(st, 0), "result",
                  sql_col_str(st, 1), "log", tail ? tail : "",
                  (int)sql_col_len(st, 2));
    sql_done(st);
    return o;
}

void run_free(run *x) {
    if (!x)
        return;
    free(x->env);
    free(x->repo);
    free(x->sha);
    free(x->before);
    free(x->ref);
    free(x->kind);
    free(x->trigger);
    free(x->state);
    free(x->plan_summary);
    free(x->result);
    memset(x, 0, sizeof(*x));
}

void run_list_free(run *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        run_free(&list[i]);
    free(list);
}
