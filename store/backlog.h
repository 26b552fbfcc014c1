/* backlog: what waits, as a scrape of /metrics shows it (bot/metrics.h):
 * queued webhook jobs and runs, and messages not yet sent, each with how
 * long the oldest has waited. Reads only. (Each environment's state is
 * store/envstate.h's.) */
#ifndef DEPLOYBOT_STORE_BACKLOG_H
#define DEPLOYBOT_STORE_BACKLOG_H

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

#endif
