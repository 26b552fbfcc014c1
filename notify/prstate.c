/* prstate: see prstate.h. */
#include "notify/prstate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

static const char SCHEMA[] =
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
    "  PRIMARY KEY (repo, pr, env));";

enum { S_BEGIN, S_COMMIT, S_ROLLBACK, S_HEAD_GET, S_HEAD_SET, S_DROP_OLD, S_ADD_ENV, S_RESULT, S_LOAD, S_N };

static const char *const SQL[S_N] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_HEAD_GET] = "SELECT sha FROM notify_pr_heads WHERE repo = ?1 AND pr = ?2",
    [S_HEAD_SET] = "INSERT INTO notify_pr_heads(repo, pr, sha, updated_at) VALUES(?1, ?2, ?3, ?4) "
                   "ON CONFLICT(repo, pr) DO UPDATE SET sha = excluded.sha, updated_at = excluded.updated_at",
    [S_DROP_OLD] = "DELETE FROM notify_pr_envs WHERE repo = ?1 AND pr = ?2 AND sha <> ?3",
    [S_ADD_ENV] = "INSERT INTO notify_pr_envs(repo, pr, env, sha, pos) VALUES(?1, ?2, ?3, ?4, ?5) "
                  "ON CONFLICT(repo, pr, env) DO NOTHING",
    [S_RESULT] = "INSERT INTO notify_pr_envs(repo, pr, env, sha, pos, pending, applied, failed, changes, summary,"
                 "  plan_text, error, url) "
                 "VALUES(?1, ?2, ?3, ?4, (SELECT coalesce(max(pos), -1) + 1 FROM notify_pr_envs"
                 "  WHERE repo = ?1 AND pr = ?2), 0, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                 "ON CONFLICT(repo, pr, env) DO UPDATE SET sha = excluded.sha, pending = 0,"
                 "  applied = excluded.applied, failed = excluded.failed, changes = excluded.changes,"
                 "  summary = excluded.summary, plan_text = excluded.plan_text, error = excluded.error,"
                 "  url = excluded.url",
    [S_LOAD] = "SELECT env, pending, applied, failed, changes, summary, plan_text, error, url "
               "FROM notify_pr_envs WHERE repo = ?1 AND pr = ?2 AND sha = ?3 ORDER BY pos, env",
};

struct prstate {
    sqlite3 *db;
    sqlite3_stmt *st[S_N];
    char errmsg[256];
};

static int dberr(prstate *p, const char *what, char *err, size_t errlen) {
    snprintf(p->errmsg, sizeof(p->errmsg), "prstate: %s: %s", what, sqlite3_errmsg(p->db));
    if (err && errlen) snprintf(err, errlen, "%s", p->errmsg);
    return -1;
}

static int step_done(prstate *p, int which, const char *what) {
    int rc = sqlite3_step(p->st[which]);
    sqlite3_reset(p->st[which]);
    sqlite3_clear_bindings(p->st[which]);
    return rc == SQLITE_DONE ? 0 : dberr(p, what, NULL, 0);
}

prstate *prstate_open(const char *db_path, char *err, size_t errlen) {
    prstate *p = calloc(1, sizeof(*p));
    char *msg = NULL;
    if (!p) abort();
    if (sqlite3_open_v2(db_path, &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        dberr(p, db_path, err, errlen);
        prstate_close(p);
        return NULL;
    }
    sqlite3_busy_timeout(p->db, 5000);
    /* The outbox (same file) has switched it to WAL already, or will. */
    if (sqlite3_exec(p->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", NULL, NULL, NULL) ||
        sqlite3_exec(p->db, SCHEMA, NULL, NULL, &msg)) {
        snprintf(err, errlen, "prstate: %s: %s", db_path, msg ? msg : sqlite3_errmsg(p->db));
        sqlite3_free(msg);
        prstate_close(p);
        return NULL;
    }
    for (int i = 0; i < S_N; i++)
        if (sqlite3_prepare_v3(p->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &p->st[i], NULL) != SQLITE_OK) {
            dberr(p, "preparing statements", err, errlen);
            prstate_close(p);
            return NULL;
        }
    return p;
}

void prstate_close(prstate *p) {
    if (!p) return;
    for (int i = 0; i < S_N; i++) sqlite3_finalize(p->st[i]);
    sqlite3_close(p->db);
    free(p);
}

const char *prstate_error(const prstate *p) {
    return p ? p->errmsg : "no prstate";
}

/* Repositories are case-insensitive on GitHub. */
static char *repo_key(const char *repo) {
    char *k = strdup(repo ? repo : "");
    if (!k) abort();
    for (char *c = k; *c; c++) *c = (char)tolower((unsigned char)*c);
    return k;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v) {
    if (v) sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(s, i);
}

/* The recorded head into sha[41]: 1, 0 none, -1. */
static int head_get(prstate *p, const char *key, long pr, char sha[41]) {
    sqlite3_stmt *s = p->st[S_HEAD_GET];
    bind_text(s, 1, key);
    sqlite3_bind_int64(s, 2, pr);
    int rc = sqlite3_step(s), found = 0;
    if (rc == SQLITE_ROW) {
        snprintf(sha, 41, "%s", (const char *)sqlite3_column_text(s, 0));
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = dberr(p, "reading the head", NULL, 0);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return found;
}

static int head_set(prstate *p, const char *key, long pr, const char *sha) {
    sqlite3_stmt *s = p->st[S_HEAD_SET];
    bind_text(s, 1, key);
    sqlite3_bind_int64(s, 2, pr);
    bind_text(s, 3, sha);
    sqlite3_bind_int64(s, 4, (long long)time(NULL));
    if (step_done(p, S_HEAD_SET, "recording the head") < 0) return -1;
    s = p->st[S_DROP_OLD];
    bind_text(s, 1, key);
    sqlite3_bind_int64(s, 2, pr);
    bind_text(s, 3, sha);
    return step_done(p, S_DROP_OLD, "dropping old results");
}

static int finish_tx(prstate *p, int rc) {
    if (rc < 0) {
        step_done(p, S_ROLLBACK, "rollback");
        return -1;
    }
    return step_done(p, S_COMMIT, "commit") < 0 ? -1 : rc;
}

int prstate_head(prstate *p, const char *repo, long pr, const char *sha, const char *const *envs, size_t n) {
    char *key = repo_key(repo);
    int rc = step_done(p, S_BEGIN, "begin");
    if (rc == 0) rc = head_set(p, key, pr, sha);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_stmt *s = p->st[S_ADD_ENV];
        bind_text(s, 1, key);
        sqlite3_bind_int64(s, 2, pr);
        bind_text(s, 3, envs[i]);
        bind_text(s, 4, sha);
        sqlite3_bind_int64(s, 5, (sqlite3_int64)i);
        rc = step_done(p, S_ADD_ENV, "adding an environment");
    }
    free(key);
    return rc == -1 && sqlite3_get_autocommit(p->db) ? -1 : finish_tx(p, rc);
}

int prstate_result(prstate *p, const char *repo, long pr, const char *sha, const notify_env_result *r) {
    char *key = repo_key(repo), head[41];
    int rc = step_done(p, S_BEGIN, "begin");
    int have = rc == 0 ? head_get(p, key, pr, head) : -1;
    if (have < 0) rc = -1;
    else if (have && strcmp(head, sha) != 0) rc = 0; /* a newer head is being planned: drop it */
    else {
        rc = have ? 0 : head_set(p, key, pr, sha);
        sqlite3_stmt *s = p->st[S_RESULT];
        bind_text(s, 1, key);
        sqlite3_bind_int64(s, 2, pr);
        bind_text(s, 3, r->env);
        bind_text(s, 4, sha);
        sqlite3_bind_int(s, 5, r->applied);
        sqlite3_bind_int(s, 6, r->failed);
        sqlite3_bind_int(s, 7, r->changes);
        bind_text(s, 8, r->summary);
        bind_text(s, 9, r->plan_text);
        bind_text(s, 10, r->error);
        bind_text(s, 11, r->url);
        if (rc == 0) rc = step_done(p, S_RESULT, "storing a result") < 0 ? -1 : 1;
        else {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
        }
    }
    free(key);
    return rc == -1 && sqlite3_get_autocommit(p->db) ? -1 : finish_tx(p, rc);
}

static char *col(sqlite3_stmt *s, int i) {
    const unsigned char *t = sqlite3_column_text(s, i);
    char *d = t ? strdup((const char *)t) : NULL;
    if (t && !d) abort();
    return d;
}

int prstate_load(prstate *p, const char *repo, long pr, prstate_view *out) {
    char *key = repo_key(repo);
    memset(out, 0, sizeof(*out));
    int have = head_get(p, key, pr, out->sha);
    if (have <= 0) {
        free(key);
        return have;
    }
    sqlite3_stmt *s = p->st[S_LOAD];
    bind_text(s, 1, key);
    sqlite3_bind_int64(s, 2, pr);
    bind_text(s, 3, out->sha);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        notify_env_result *e = realloc(out->envs, (out->n + 1) * sizeof(*e));
        if (!e) abort();
        out->envs = e;
        e[out->n++] = (notify_env_result){col(s, 0), sqlite3_column_int(s, 2), sqlite3_column_int(s, 3),
                                          sqlite3_column_int(s, 4), col(s, 5), col(s, 6), col(s, 7),
                                          sqlite3_column_int(s, 1), col(s, 8)};
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    free(key);
    if (rc != SQLITE_DONE) {
        prstate_view_free(out);
        return dberr(p, "loading results", NULL, 0);
    }
    return 1;
}

void prstate_view_free(prstate_view *v) {
    for (size_t i = 0; v && i < v->n; i++) {
        notify_env_result *e = &v->envs[i];
        free((char *)e->env), free((char *)e->summary), free((char *)e->plan_text), free((char *)e->error),
            free((char *)e->url);
    }
    if (v) {
        free(v->envs);
        memset(v, 0, sizeof(*v));
    }
}
