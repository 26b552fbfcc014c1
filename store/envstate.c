/* envstate: see envstate.h. A handful of indexed reads per environment: the
 * dashboard asks about a few environments, never thousands. */
#include "store/envstate.h"
#include "store/sql.h"

#include <stdlib.h>
#include <string.h>

static const char *const NAMES[ENV_STATE_COUNT] = {
    "in_sync",
    "drifted",
    "failed",
    "queued",
    "locked",
    "applying",
};

static const char ENVS[] = "SELECT env FROM runs UNION SELECT env FROM locks ORDER BY 1";
static const char RUNNING[] =
    "SELECT id, CASE WHEN kind IN ('apply','destroy','remediate') THEN 1 ELSE 0 END FROM runs "
    "WHERE env = ?1 AND state = 'running' ORDER BY id LIMIT 1";
static const char QUEUED[] = "SELECT count(*) FROM runs WHERE env = ?1 AND state = 'queued'";
/* The outcome that says whether AWS matches the deployed commit. */
static const char VERDICT[] =
    "SELECT kind, state FROM runs WHERE env = ?1 "
    "AND kind IN ('apply','destroy','remediate','drift') AND state NOT IN ('queued','running') "
    "ORDER BY finished_ms DESC, id DESC LIMIT 1";
static const char DEPLOYED[] =
    "SELECT id, kind, sha, finished_ms FROM runs WHERE env = ?1 "
    "AND kind IN ('apply','destroy','remediate') AND state = 'succeeded' "
    "ORDER BY finished_ms DESC, id DESC LIMIT 1";
static const char LOCK[] =
    "SELECT reason, coalesce(locked_by, '?'), locked_ms FROM locks WHERE env = ?1";

const char *env_state_name(env_state st) {
    return (unsigned)st < ENV_STATE_COUNT ? NAMES[st] : "unknown";
}

/* The running run: 1 and *changes_aws set, 0 none, -1 error. */
static int read_running(store *s, env_status *x, int *changes_aws, errinfo *err) {
    sql_stmt *st = sql_query(s, err, RUNNING, "s", x->env);
    int rc = sql_step(s, st, "reading the running run", err);

    if (rc == 1) {
        x->running = (long)sql_col_ll(st, 0);
        *changes_aws = sql_col_int(st, 1);
        sql_done(st);
    }
    return rc;
}

/* The state the newest finished AWS-changing or drift run leaves. */
static int read_verdict(store *s, const char *env, env_state *out, errinfo *err) {
    sql_stmt *st = sql_query(s, err, VERDICT, "s", env);
    int rc = sql_step(s, st, "reading the last outcome", err);

    *out = ENV_IN_SYNC;
    if (rc == 1) {
        const char *state = sql_col_str(st, 1);
        if (strcmp(state, "failed") == 0)
            *out = ENV_FAILED;
        else if (strcmp(state, "drifted") == 0)
            *out = ENV_DRIFTED;
        sql_done(st);
    }
    return rc;
}

static int read_deployed(store *s, env_status *x, errinfo *err) {
    sql_stmt *st = sql_query(s, err, DEPLOYED, "s", x->env);
    int rc = sql_step(s, st, "reading the deployed commit", err);

    if (rc == 1) {
        if (strcmp(sql_col_str(st, 1), "destroy") != 0) {
            x->deployed_run = (long)sql_col_ll(st, 0);
            x->deployed_sha = sql_text(st, 2);
            x->deployed_ms = sql_col_ll(st, 3);
        }
        sql_done(st);
    }
    return rc;
}

static int read_lock(store *s, env_status *x, errinfo *err) {
    sql_stmt *st = sql_query(s, err, LOCK, "s", x->env);
    int rc = sql_step(s, st, "reading its lock", err);

    if (rc == 1) {
        x->locked = 1;
        x->lock_reason = sql_text(st, 0);
        x->locked_by = sql_text(st, 1);
        x->locked_ms = sql_col_ll(st, 2);
        sql_done(st);
    }
    return rc;
}

/* Everything but the name, into x; 1 when the store knew the environment. */
static int read_status(store *s, env_status *x, errinfo *err) {
    int changes_aws = 0, has_run, running, locked;
    long long queued;
    env_state verdict;

    if ((has_run = store_run_latest(s, x->env, &x->last, err)) < 0 ||
        (running = read_running(s, x, &changes_aws, err)) < 0 ||
        (queued = sql_number(s, sql_query(s, err, QUEUED, "s", x->env), "counting queued runs", err)) < 0 ||
        read_verdict(s, x->env, &verdict, err) < 0 || read_deployed(s, x, err) < 0 ||
        (locked = read_lock(s, x, err)) < 0)
        return -1;
    x->queued = (int)queued;
    x->state = running && changes_aws ? ENV_APPLYING : locked ? ENV_LOCKED
                                                   : queued   ? ENV_QUEUED
                                                              : verdict;
    return has_run || locked;
}

int store_env_state(store *s, const char *env, env_status *out, errinfo *err) {
    int rc;

    memset(out, 0, sizeof(*out));
    if (!(out->env = strdup(env)))
        abort();
    if ((rc = read_status(s, out, err)) < 0) {
        env_status_free(out);
        return errinfo_prefix(err, "environment %s", env);
    }
    return rc;
}

/* The names of ENVS plus also, sorted and unique, into *names. */
static int env_names(store *s, const char *const *also, size_t n_also, char ***names, size_t *n,
                     errinfo *err) {
    sql_stmt *st = sql_query(s, err, ENVS, "");
    int rc = st ? 1 : -1;
    char **v = calloc(n_also + 1, sizeof(char *));
    size_t cap = n_also + 1;

    if (!v)
        abort();
    *n = 0;
    while (rc == 1 && (rc = sql_step(s, st, "listing environments", err)) == 1) {
        if (*n == cap && !(v = realloc(v, (cap *= 2) * sizeof(char *))))
            abort();
        v[(*n)++] = sql_text(st, 0);
    }
    for (size_t i = 0; rc == 0 && i < n_also; i++) {
        int seen = 0;
        for (size_t j = 0; j < *n && !seen; j++)
            seen = strcmp(v[j], also[i]) == 0;
        if (!seen && *n == cap && !(v = realloc(v, (cap *= 2) * sizeof(char *))))
            abort();
        if (!seen && !(v[(*n)++] = strdup(also[i])))
            abort();
    }
    *names = v;
    return rc;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

env_status *store_env_states(store *s, const char *const *also, size_t n_also, size_t *n,
                             errinfo *err) {
    char **names;
    size_t count, i;
    env_status *list;
    int rc = env_names(s, also, n_also, &names, &count, err);

    qsort(names, count, sizeof(char *), by_name);
    list = calloc(count + 1, sizeof(env_status));
    if (!list)
        abort();
    for (i = 0; rc >= 0 && i < count; i++)
        rc = store_env_state(s, names[i], &list[i], err);
    for (size_t j = 0; j < count; j++)
        free(names[j]);
    free(names);
    if (rc < 0) {
        env_status_list_free(list, count); /* the failed one is already cleared */
        return NULL;
    }
    *n = count;
    return list;
}

static json_t *deployed_json(const env_status *x) {
    if (!x->deployed_sha)
        return json_null();
    return json_pack("{s:s,s:I,s:I}", "sha", x->deployed_sha, "run", (json_int_t)x->deployed_run,
                     "finished_ms", (json_int_t)x->deployed_ms);
}

static json_t *lock_json(const env_status *x) {
    if (!x->locked)
        return json_null();
    return json_pack("{s:s,s:s,s:I}", "reason", x->lock_reason, "by", x->locked_by, "since_ms",
                     (json_int_t)x->locked_ms);
}

json_t *env_status_json(const env_status *x) {
    return json_pack("{s:s,s:s,s:o,s:o,s:o,s:i,s:o}", "env", x->env, "state",
                     env_state_name(x->state), "deployed", deployed_json(x), "last_run",
                     x->last.id ? run_to_json(&x->last) : json_null(), "running",
                     x->running ? json_integer(x->running) : json_null(), "queued", x->queued,
                     "lock", lock_json(x));
}

void env_status_free(env_status *x) {
    if (!x)
        return;
    free(x->env);
    free(x->deployed_sha);
    run_free(&x->last);
    free(x->lock_reason);
    free(x->locked_by);
    memset(x, 0, sizeof(*x));
}

void env_status_list_free(env_status *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        env_status_free(&list[i]);
    free(list);
}
