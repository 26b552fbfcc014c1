/* envstate: where each environment stands, read from the history and the
 * locks: the dashboard's cards, GET /api/environments, the metrics' gauges.
 *
 * An environment's state is the first of these that holds, in this order:
 *   applying  a run that changes AWS (apply, destroy, remediate) is running
 *   locked    an operator lock is set: queued applies will be blocked, so
 *             the lock says more than the queue does (the count is kept)
 *   queued    a run waits
 *   failed    the newest finished run of kind apply, destroy, remediate or
 *             drift failed
 *   drifted   that run is a drift run in state "drifted"
 *   in_sync   otherwise (also: never deployed)
 * What happens now comes first, then what decides the next run, then the
 * outcome of the last one. "Finished" is any state but queued and running,
 * so a later successful apply or a "drift resolved" run clears a drift.
 *
 * The deployed commit is the one of the newest successful apply or
 * remediate, unless a successful destroy came after it (then none). */
#ifndef DEPLOYBOT_STORE_ENVSTATE_H
#define DEPLOYBOT_STORE_ENVSTATE_H

#include <stddef.h>
#include <jansson.h>
#include "store/runs.h"

typedef enum {
    ENV_IN_SYNC,
    ENV_DRIFTED,
    ENV_FAILED,
    ENV_QUEUED,
    ENV_LOCKED,
    ENV_APPLYING,
    ENV_STATE_COUNT
} env_state;

typedef struct {
    char *env;
    env_state state;
    char *deployed_sha;    /* NULL: nothing deployed (never, or destroyed) */
    long deployed_run;     /* the run that deployed it; 0 with deployed_sha NULL */
    long long deployed_ms; /* when that run finished */
    run last;              /* the newest run of any kind; last.id 0: no run yet */
    long running;          /* the running run's id, 0: none */
    int queued;            /* runs waiting */
    int locked;
    char *lock_reason, *locked_by; /* NULL unless locked */
    long long locked_ms;
} env_status;

/* "in_sync", "drifted", "failed", "queued", "locked", "applying". */
const char *env_state_name(env_state st);

/* The status of env: 1, or 0 when the store knows nothing of it (no run, no
 * lock; *out is then the status of a fresh environment: in_sync, nothing
 * deployed). -1 on error. Free with env_status_free. */
int store_env_state(store *s, const char *env, env_status *out, errinfo *err);

/* Every environment with a run or a lock, and the n_also names given (the
 * configured ones, which may have neither yet), once each, sorted by name.
 * *n is set to the count. NULL on error; an empty list is not NULL. */
env_status *store_env_states(store *s, const char *const *also, size_t n_also, size_t *n,
                             errinfo *err);

/* {"env", "state", "deployed": {"sha", "run", "finished_ms"} or null,
 *  "last_run": (a run as in store_runs_list_json) or null, "running": id or
 *  null, "queued": N, "lock": {"reason", "by", "since_ms"} or null}. */
json_t *env_status_json(const env_status *x);

void env_status_free(env_status *x);
void env_status_list_free(env_status *list, size_t n);

#endif
