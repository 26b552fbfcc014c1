/* runs: deploy runs — the unit of work per environment, and the history.
 *
 * A webhook job becomes one run per touched environment (plan, apply or
 * destroy of one commit). Runs of one environment never overlap; runs of
 * different environments may. When several applies wait for one environment,
 * only the newest is run and the older ones end 'superseded'. A commit that
 * was applied successfully to an environment is never applied again by a
 * webhook (only an explicit redeploy does that). Everything is kept: the runs
 * table is deploybot's history. Same SQLite file as the queue; one connection
 * per thread. */
#ifndef DEPLOYBOT_STORE_RUNS_H
#define DEPLOYBOT_STORE_RUNS_H

#include <stddef.h>
#include <jansson.h>

typedef struct runs runs;

typedef struct {
    long job_id;          /* 0 when not from a webhook */
    const char *env;
    const char *repo;     /* "owner/name" for statuses and comments */
    const char *sha;
    const char *before;   /* previous commit, for comments; may be NULL */
    const char *ref;      /* "refs/heads/main"; NULL for a pull request */
    int pr_number;        /* 0 unless a pull request */
    const char *kind;     /* "plan" | "apply" | "destroy" */
    const char *trigger;  /* "push" | "pull_request" | "redeploy" | "auto_rollback" */
} run_spec;

typedef struct {
    long id, job_id;
    char *env, *repo, *sha, *before, *ref, *kind, *trigger, *state;
    int pr_number, attempts;
    char *plan_summary, *result;
    long long created_ms, started_ms, finished_ms;
} run;

runs *runs_open(const char *db_path, char *err, size_t errlen);
void runs_close(runs *r);
const char *runs_error(const runs *r);

/* Adds a run; a second add for the same (job, env) is ignored, so replaying a
 * job after a crash never duplicates its runs. Returns the id, 0 if it
 * existed, -1 on error. */
long runs_add(runs *r, const run_spec *s);

/* Claims the next run: the oldest queued run of an environment that has none
 * running. For an apply, the newest queued apply of that environment is taken
 * instead and the older ones are marked superseded; they are returned in
 * *superseded (caller frees with run_list_free) so their statuses can say so.
 * Returns 1 claimed, 0 nothing to do, -1 error. */
int runs_claim(runs *r, run *out, run **superseded, size_t *n_superseded);

/* The latest successful apply of `sha` to `env`, or 0. */
long runs_applied(runs *r, const char *env, const char *sha);
/* The commit of the latest successful apply to env; 0 found, -1 none. */
int runs_last_good(runs *r, const char *env, char sha[41]);

/* state: succeeded | failed | skipped | blocked. */
int runs_finish(runs *r, long id, const char *state, const char *plan_summary,
                const char *result, const char *log);
/* Appends one line to a running run's log, so /runs/ID shows it live. */
int runs_append_log(runs *r, long id, const char *line);
/* Runs left 'running' by a crash go back to 'queued'; returns how many. */
int runs_recover(runs *r);
long runs_count(runs *r, const char *state);

/* History as JSON: newest first, at most `limit`; env NULL = all. */
json_t *runs_list_json(runs *r, const char *env, int limit);
/* One run with its log, or NULL. */
json_t *runs_get_json(runs *r, long id);
/* What a live viewer needs: {"log": the log from byte `from` on, "state",
 * "result"}, or NULL for no such run. Reads only the new bytes. */
json_t *runs_log_since(runs *r, long id, size_t from);

void run_free(run *x);
void run_list_free(run *list, size_t n);

#endif
