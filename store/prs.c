/* prs: see prs.h. */
#include "store/prs.h"
#include "store/sql.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char HEAD_GET[] = "SELECT sha FROM notify_pr_heads WHERE repo = ?1 AND pr = ?2";
static const char HEAD_SET[] =
    "INSERT INTO notify_pr_heads(repo, pr, sha, updated_at) VALUES(?1, ?2, ?3, now_s()) ON CONFLICT(repo, pr) DO UPDATE SET sha = excluded.sha, updated_at = excluded.updated_at";
/* The results of an older head are of no use to its comment any more. */
static const char DROP_OLD[] =
    "DELETE FROM notify_pr_envs WHERE repo = ?1 AND pr = ?2 AND sha <> ?3";
/* DO NOTHING: a head recorded again (a replayed job) keeps its results. */
static const char ADD_ENV[] =
    "INSERT INTO notify_pr_envs(repo, pr, env, sha, pos) VALUES(?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT(repo, pr, env) DO NOTHING";
/* A new environment goes after those already listed. */
static const char RESULT[] =
    "INSERT INTO notify_pr_envs(repo, pr, env, sha, pos, pending, applied, failed, changes, summary,"
    "  plan_text, error, url) "
    "VALUES(?1, ?2, ?3, ?4, (SELECT coalesce(max(pos), -1) + 1 FROM notify_pr_envs"
    "  WHERE repo = ?1 AND pr = ?2), 0, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
    "ON CONFLICT(repo, pr, env) DO UPDATE SET sha = excluded.sha, pending = 0,"
    "  applied = excluded.applied, failed = excluded.failed, changes = excluded.changes,"
    "  summary = excluded.summary, plan_text = excluded.plan_text, error = excluded.error,"
    "  url = excluded.url";
static const char LOAD[] =
    "SELECT env, pending, applied, failed, changes, summary, plan_text, error, url "
    "FROM notify_pr_envs WHERE repo = ?1 AND pr = ?2 AND sha = ?3 ORDER BY pos, env";

/* Repositories are case-insensitive on GitHub. */
static char *repo_key(const char *repo) {
    char *k = strdup(repo ? repo : "");

    if (!k)
        abort();
    for (char *c = k; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return k;
}

/* The recorded head into sha[41]: 1, 0 none, -1. */
static int head_get(store *s, const char *key, long pr, char sha[41], errinfo *err) {
    sql_stmt *st = sql_query(s, err, HEAD_GET, "sl", key, pr);
    int rc = sql_step(s, st, "reading the head", err);

    if (rc == 1) {
        sql_text_into(st, 0, sha, 41);
        sql_done(st);
    }
    return rc;
}

static int head_set(store *s, const char *key, long pr, const char *sha, errinfo *err) {
    if (sql_exec(s, err, "recording the head", HEAD_SET, "sls", key, pr, sha) < 0 ||
        sql_exec(s, err, "dropping old results", DROP_OLD, "sls", key, pr, sha) < 0)
        return -1;
    return 0;
}

static int add_head(store *s, const char *key, long pr, const char *sha,
                    const char *const *envs, size_t n, errinfo *err) {
    if (head_set(s, key, pr, sha, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (sql_exec(s, err, "adding an environment", ADD_ENV, "slssL", key, pr, envs[i], sha,
                     (long long)i) < 0)
            return -1;
    return 0;
}

int store_pr_head(store *s, const char *repo, long pr, const char *sha,
                  const char *const *envs, size_t n, errinfo *err) {
    char *key = repo_key(repo);
    int rc = sql_begin(s, err);

    if (rc == 0)
        rc = sql_end(s, add_head(s, key, pr, sha, envs, n, err), err);
    free(key);
    return rc < 0 ? errinfo_prefix(err, "pull request %s#%ld", repo, pr) : 0;
}

/* Inside the transaction: 1 stored, 0 dropped, -1. */
static int add_result(store *s, const char *key, long pr, const char *sha, const store_pr_env *r,
                      errinfo *err) {
    char head[41];
    int have = head_get(s, key, pr, head, err);

    if (have < 0)
        return -1;
    if (have && strcmp(head, sha) != 0)
        return 0; /* a newer head is being planned */
    if (!have && head_set(s, key, pr, sha, err) < 0)
        return -1;
    if (sql_exec(s, err, "storing a result", RESULT, "slssiiissss", key, pr, r->env, sha,
                 r->applied, r->failed, r->changes, r->summary, r->plan_text, r->error,
                 r->url) < 0)
        return -1;
    return 1;
}

int store_pr_result(store *s, const char *repo, long pr, const char *sha, const store_pr_env *r,
                    errinfo *err) {
    char *key = repo_key(repo);
    int rc = sql_begin(s, err);

    if (rc == 0)
        rc = sql_end(s, add_result(s, key, pr, sha, r, err), err);
    free(key);
    return rc < 0 ? errinfo_prefix(err, "pull request %s#%ld", repo, pr) : rc;
}

static int load_envs(store *s, const char *key, long pr, const char *sha, store_pr_env **envs,
                     size_t *n, errinfo *err) {
    sql_stmt *st = sql_query(s, err, LOAD, "sls", key, pr, sha);
    int rc = st ? 1 : -1;

    while (rc == 1 && (rc = sql_step(s, st, "loading results", err)) == 1) {
        store_pr_env *e = realloc(*envs, (*n + 1) * sizeof(*e));
        if (!e)
            abort();
        *envs = e;
        e[(*n)++] = (store_pr_env){sql_text(st, 0), sql_col_int(st, 1),
                                   sql_col_int(st, 2), sql_col_int(st, 3),
                                   sql_col_int(st, 4), sql_text(st, 5), sql_text(st, 6),
                                   sql_text(st, 7), sql_text(st, 8)};
    }
    return rc;
}

int store_pr_load(store *s, const char *repo, long pr, char sha[41], store_pr_env **envs,
                  size_t *n, errinfo *err) {
    char *key = repo_key(repo);
    int have = head_get(s, key, pr, sha, err);

    *envs = NULL;
    *n = 0;
    if (have == 1 && load_envs(s, key, pr, sha, envs, n, err) < 0) {
        store_pr_envs_free(*envs, *n);
        *envs = NULL;
        *n = 0;
        have = -1;
    }
    free(key);
    return have < 0 ? errinfo_prefix(err, "pull request %s#%ld", repo, pr) : have;
}

void store_pr_envs_free(store_pr_env *envs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free((char *)envs[i].env);
        free((char *)envs[i].summary);
        free((char *)envs[i].plan_text);
        free((char *)envs[i].error);
        free((char *)envs[i].url);
    }
    free(envs);
}
