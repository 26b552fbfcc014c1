/* runs: deploy runs — the unit of work per environment, and the history.
 *
 * A webhook job becomes one run per touched environment (plan, apply or
 * destroy of one commit). Runs of one environment never overlap; runs of
 * different environments may. When several applies wait for one environment,
 * only the newest is run and the older ones end 'superseded'. A commit that
 * was applied successfully to an environment is never applied again by a
 * webhook (only an explicit redeploy does that). The runs are deploybot's
 * history, kept for retention_days (store/retention.h). The drift checks add theirs (store/drift.h). */
#ifndef DEPLOYBOT_STORE_RUNS_H
#define DEPLOYBOT_STORE_RUNS_H

#include <stddef.h>
#include <jansson.h>
#include "store/lease.h"
#include "store/store.h"

typedef struct {
    long job_id; /* 0 when not from a webhook */
    const char *env;
    const char *repo; /* "owner/name" for statuses and comments */
    const char *sha;
    const char *before;  /* previous commit, for comments; may be NULL */
    const char *ref;     /* "refs/heads/main"; NULL for a pull request */
    int pr_number;       /* 0 unless a pull request */
    const char *kind;    /* "plan" | "apply" | "destroy" | "remediate" (an apply of
                            the last good commit; "drift" runs: store/drift.h) */
    const char *trigger; /* "push" | "pull_request" | "redeploy" | "auto_rollback" | "drift" */
} run_spec;

typedef struct {
    long id, job_id;
    char *env, *repo, *sha, *before, *ref, *kind, *trigger, *state;
    int pr_number, attempts;
    char *plan_summary, *result;
    long long created_ms, started_ms, finished_ms;
    long long fence; /* the fencing token of its environment's lease, once claimed */
} run;

/* Queues a run; a second add for the same (job, env) is ignored, so replaying
 * a job after a crash never duplicates its runs. Returns the id, 0 if it
 * existed, -1 on error. */
long store_run_add(store *s, const run_spec *spec, errinfo *err);

/* Claims the next run for c (NULL: no one's, store/lease.h): the oldest
 * queued run of an environment that has none running and no unexpired
 * lease. The environment's lease is taken for c->lease_ms with the next
 * fencing token, which the run's row and out->fence record. For an apply, the newest queued apply of that environment is taken
 * instead and the older ones are marked superseded; they are returned in
 * *superseded (caller frees with run_list_free) so their statuses can say so.
 * Returns 1 claimed, 0 nothing to do, -1 error. */
int store_run_claim(store *s, const store_claimer *c, run *out, run **superseded, size_t *n_superseded, errinfo *err);

/* A push's run skipped as not its branch's head (sha): the head's apply, if
 * an older commit's run superseded it (run ids follow dispatch, not
 * history), is queued again, so the head is not left unapplied. Nothing when
 * the head is applied, queued or running already. Returns the run id, 0 if
 * none was queued, -1 on error. */
long store_run_requeue_head(store *s, const char *env, const char *sha, errinfo *err);

/* The latest successful apply of sha to env: its id, 0 if none, -1 error. */
long store_run_applied(store *s, const char *env, const char *sha, errinfo *err);
/* The latest apply or destroy run of sha to env, whatever its state (queued,
 * running, failed...): its id, 0 if none, -1 error. */
long store_run_recorded(store *s, const char *env, const char *sha, errinfo *err);
/* The commit of the latest successful apply to env: 1 found, 0 none, -1. */
int store_run_last_good(store *s, const char *env, char sha[41], errinfo *err);

/* The newest run of env, whatever its kind and state, into *out (free with
 * run_free): 1 found, 0 none, -1 error. */
int store_run_latest(store *s, const char *env, run *out, errinfo *err);

/* Records a run's end and gives its environment's lease back. state:
 * succeeded | failed | skipped | blocked. With a fence (the lease the run
 * was claimed under; NULL: unchecked), refused with ERR_CONFLICT "lease of
 * ENV lost to fence N" unless that lease is still the run's and unexpired,
 * checked in the same statement as the write. */
int store_run_finish(store *s, long id, const store_fence *f, const char *state,
                     const char *plan_summary, const char *result, const char *log, errinfo *err);
/* Appends one line to a running run's log, so /runs/ID shows it live;
 * fenced as store_run_finish. */
int store_run_log_append(store *s, long id, const store_fence *f, const char *line, errinfo *err);
/* Cancels run id for `by` ("cli", "api"). A queued run ends at once: state
 * failed, result "canceled by <by>" (returns 1). A running one is asked to
 * stop (returns 2): its thread reads the request between AWS calls
 * (store_run_cancel_requested) and ends it the same way. ERR_NOT_FOUND: no
 * such run; ERR_CONFLICT: it has ended already (err names its state). */
int store_run_cancel(store *s, long id, const char *by, errinfo *err);
/* 1, with who asked in `by`, when run id was asked to stop; 0 when not; -1. */
int store_run_cancel_requested(store *s, long id, char *by, size_t len, errinfo *err);

/* History as JSON: newest first, at most limit; env NULL = all. */
json_t *store_runs_list_json(store *s, const char *env, int limit, errinfo *err);
/* The same, of the runs that match every field of f that is not NULL. */
typedef struct {
    const char *env, *kind, *state;
} run_filter;
json_t *store_runs_find_json(store *s, const run_filter *f, int limit, errinfo *err);
/* One run with its log; NULL with ERR_NOT_FOUND for no such run. */
json_t *store_run_get_json(store *s, long id, errinfo *err);
/* What a live viewer needs: {"log": the log from byte `from` on, "state",
 * "result"}; NULL with ERR_NOT_FOUND for no such run. Reads only the new
 * bytes. */
json_t *store_run_log_since(store *s, long id, size_t from, errinfo *err);

/* One run as the history lists it (no log). */
json_t *run_to_json(const run *x);

void run_free(run *x);
void run_list_free(run *list, size_t n);

#endif
