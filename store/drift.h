/* drift: what the drift checks (bot/drift.h) read from and write to the
 * history of runs (store/runs.h).
 *
 * A check records a run of kind "drift" only when something changed: state
 * "drifted" (with the digest of the plan it found) when drift appears or
 * differs from the last one, state "succeeded" with result "drift resolved"
 * when it clears. An environment is drifted when its newest finished run of
 * kind apply, destroy, remediate or drift is a drift run in state
 * "drifted". */
#ifndef DEPLOYBOT_STORE_DRIFT_H
#define DEPLOYBOT_STORE_DRIFT_H

#include <stddef.h>
#include "store/store.h"

#define STORE_DRIFT_DIGEST 65 /* the plan's SHA-256 in hex, and the NUL */

typedef struct {
    long mark;                       /* the environment's newest run id when read (0: none) */
    int busy;                        /* it has a queued or running run */
    int drifted;                     /* its newest finished deploy or drift run found drift */
    char digest[STORE_DRIFT_DIGEST]; /* that drift's plan digest; "" when not drifted */
    char sha[41];                    /* its last successfully applied commit; "" when none */
    char repo[256];                  /* that run's repository ("owner/name") */
} store_drift_state;

/* Reads env's state. 0, or -1 with err. */
int store_drift_state_get(store *s, const char *env, store_drift_state *out, errinfo *err);

/* The environments that have something deployed: a successful apply newer
 * than any successful destroy. *names (n entries) is freed by the caller,
 * with store_drift_envs_free. 0 or -1. */
int store_drift_envs(store *s, char ***names, size_t *n, errinfo *err);
void store_drift_envs_free(char **names, size_t n);

/* 1 when env got a run after `mark` or has one queued or running, 0 when
 * not, -1 with err. */
int store_drift_changed(store *s, const char *env, long mark, errinfo *err);

typedef struct {
    const char *env, *repo, *sha; /* sha: the deployed commit that was planned */
    const char *state;            /* "drifted" or "succeeded" (drift resolved); NULL: no drift
                                     run, only the remediation (of a drift recorded before) */
    const char *plan_summary;
    const char *result;
    const char *digest; /* the plan's; NULL when resolved */
    const char *log;
    int remediate; /* also queue a run of kind "remediate" (trigger "drift") of sha */
} store_drift_record;

/* Records a finished drift run, and its remediate run when asked, in one
 * transaction, unless env got a run after `mark` or has one queued or
 * running: the check then saw AWS while something else changed it, and is
 * abandoned. Returns the drift run's id (rec->state NULL: the remediate
 * run's), 0 when abandoned, -1 with err.
 * *remediate_id gets the remediate run's id (0: none); may be NULL. */
long store_drift_add(store *s, long mark, const store_drift_record *rec, long *remediate_id, errinfo *err);

#endif
