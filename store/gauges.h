/* gauges: what the store knows that a scrape of /metrics shows as it is at
 * that moment (bot/metrics.h): the backlogs (queued jobs and runs, unsent
 * messages) and each environment's state. Reads only.
 *
 * An environment's state follows the one rule of the run history: take its
 * newest finished run (not queued or running) of kind apply, destroy,
 * remediate or drift. It is DRIFTED when that is a drift run in state
 * "drifted", IN SYNC when that run succeeded or was skipped (its commit was
 * applied already), neither when it failed or was blocked, or when there is
 * none. LOCKED is an operator lock (store/locks.h), whatever the runs. */
#ifndef DEPLOYBOT_STORE_GAUGES_H
#define DEPLOYBOT_STORE_GAUGES_H

#include "store/store.h"

typedef struct {
    long count;          /* how many wait */
    double oldest_age_s; /* how long the oldest has waited; 0 when none */
} store_backlog;

typedef struct {
    store_backlog jobs;   /* webhook jobs not yet turned into runs (retries included) */
    store_backlog runs;   /* runs not yet started */
    store_backlog outbox; /* statuses, comments, chat messages not yet sent */
} store_backlogs;

/* The backlogs as of now_ms (Unix milliseconds). */
int store_backlogs_get(store *s, long long now_ms, store_backlogs *out, errinfo *err);

typedef struct {
    const char *env; /* valid during the callback only */
    int in_sync, drifted, locked;
    long long last_apply_ms; /* the newest successful apply's end (Unix ms); 0: none */
} store_env_gauge;

/* Calls fn for every environment with a run or a lock, by name. */
int store_env_gauges(store *s, void (*fn)(void *arg, const store_env_gauge *g), void *arg, errinfo *err);

#endif
