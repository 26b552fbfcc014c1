/* drift: see drift.h. */
#include "store/drift.h"
#include "store/runs.h"
#include "store/sql.h"

#include <stdlib.h>
#include <string.h>

static const char MARK[] =
    "SELECT coalesce(max(id), 0), coalesce(sum(CASE WHEN state IN ('queued', 'running') THEN 1 ELSE 0 END), 0) FROM runs WHERE env = ?1";
static const char NEWEST_FINISHED[] =
    "SELECT CASE WHEN kind = 'drift' AND state = 'drifted' THEN 1 ELSE 0 END, plan_digest FROM runs WHERE env = ?1 "
    "AND kind IN ('apply', 'destroy', 'remediate', 'drift') AND state NOT IN ('queued', 'running') "
    "ORDER BY finished_ms DESC, id DESC LIMIT 1";
static const char LAST_GOOD[] =
    "SELECT sha, repo FROM runs WHERE env = ?1 AND kind = 'apply' AND state = 'succeeded' "
    "ORDER BY finished_ms DESC, id DESC LIMIT 1";
/* The newest successful apply or destroy of each environment, when it is
 * an apply: a destroyed environment has nothing left to drift. */
static const char DEPLOYED[] =
    "SELECT env FROM runs WHERE state = 'succeeded' AND kind IN ('apply', 'destroy') GROUP BY env "
    "HAVING max(CASE WHEN kind = 'apply' THEN id END) = max(id) ORDER BY env";
static const char CHANGED_SINCE[] =
    "SELECT count(*) FROM runs WHERE env = ?1 AND (id > ?2 OR state IN ('queued', 'running'))";
static const char ADD[] =
    "INSERT INTO runs(env, repo, sha, kind, trigger, state, plan_summary, result, log, plan_digest, "
    "created_ms, started_ms, finished_ms) VALUES(?1, ?2, ?3, 'drift', 'schedule', ?4, ?5, ?6, ?7, ?8, now_ms(), now_ms(), now_ms()) RETURNING id";

/* One row of st into the two columns' buffers; rc as sql_step's. */
static int row2(store *s, sql_stmt *st, char *a, size_t na, char *b, size_t nb, errinfo *err) {
    int rc = sql_step(s, st, "reading the history", err);

    if (rc == 1) {
        sql_text_into(st, 0, a, na);
        sql_text_into(st, 1, b, nb);
        sql_done(st);
    }
    return rc;
}

int store_drift_state_get(store *s, const char *env, store_drift_state *out, errinfo *err) {
    char mark[32] = "", busy[32] = "", drifted[8] = ""; /* a query without a row leaves them */

    memset(out, 0, sizeof(*out));
    if (row2(s, sql_query(s, err, MARK, "s", env), mark, sizeof(mark), busy, sizeof(busy), err) < 0 ||
        row2(s, sql_query(s, err, NEWEST_FINISHED, "s", env), drifted, sizeof(drifted), out->digest,
             sizeof(out->digest), err) < 0 ||
        row2(s, sql_query(s, err, LAST_GOOD, "s", env), out->sha, sizeof(out->sha), out->repo,
             sizeof(out->repo), err) < 0)
        return errinfo_prefix(err, "drift state of %s", env);
    out->mark = atol(mark);
    out->busy = atoi(busy) > 0;
    out->drifted = strcmp(drifted, "1") == 0;
    if (!out->drifted) out->digest[0] = '\0';
    return 0;
}

int store_drift_envs(store *s, char ***names, size_t *n, errinfo *err) {
    sql_stmt *st = sql_query(s, err, DEPLOYED, "");
    int rc = st ? 1 : -1;

    *names = NULL;
    *n = 0;
    while (rc == 1 && (rc = sql_step(s, st, "listing deployed environments", err)) == 1) {
        char **grown = realloc(*names, (*n + 1) * sizeof(char *));
        if (!grown) abort();
        *names = grown;
        (*names)[(*n)++] = sql_text(st, 0);
    }
    if (rc < 0) {
        store_drift_envs_free(*names, *n);
        *names = NULL;
        *n = 0;
    }
    return rc;
}

void store_drift_envs_free(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

int store_drift_changed(store *s, const char *env, long mark, errinfo *err) {
    long long n = sql_number(s, sql_query(s, err, CHANGED_SINCE, "sl", env, mark), "reading the history", err);
    return n < 0 ? -1 : n > 0;
}

/* Inside the transaction. */
static long add(store *s, long mark, const store_drift_record *r, long *remediate_id, errinfo *err) {
    int changed = store_drift_changed(s, r->env, mark, err);
    long id = 0;

    if (changed != 0) return changed < 0 ? -1 : 0;
    if (r->state && (id = (long)sql_number(s, sql_query(s, err, ADD, "ssssssss", r->env, r->repo, r->sha, r->state, r->plan_summary, r->result, r->log ? r->log : "", r->digest), "recording a drift check", err)) < 0)
        return -1;
    if (r->remediate) {
        run_spec spec = {.env = r->env, .repo = r->repo, .sha = r->sha, .kind = "remediate", .trigger = "drift"};
        long rid = store_run_add(s, &spec, err);
        if (rid < 0) return -1;
        if (remediate_id) *remediate_id = rid;
        if (!r->state) id = rid;
    }
    return id;
}

long store_drift_add(store *s, long mark, const store_drift_record *rec, long *remediate_id, errinfo *err) {
    long id;

    if (remediate_id) *remediate_id = 0;
    if (sql_begin(s, err) < 0) return errinfo_prefix(err, "drift check of %s", rec->env);
    id = add(s, mark, rec, remediate_id, err);
    if (sql_end(s, id < 0 ? -1 : 0, err) < 0) return errinfo_prefix(err, "drift check of %s", rec->env);
    return id;
}
