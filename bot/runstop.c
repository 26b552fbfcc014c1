/* runstop: see runstop.h. */
#include "bot/runstop.h"
#include "util/log.h"
#include "store/runs.h"
#include "util/clock.h"

#include <stdio.h>

void runstop_init(runstop *r, long run, int timeout_s, const atomic_int *closing, store *db) {
    r->run = run;
    r->timeout_s = timeout_s;
    r->deadline_ms = clock_mono_ms() + timeout_s * 1000LL;
    r->closing = closing;
    r->db = db;
    r->next_poll_ms = 0;
    r->by[0] = '\0';
    r->lease = NULL;
    atomic_init(&r->why, RUNSTOP_NONE);
    pthread_mutex_init(&r->mu, NULL);
}

void runstop_watch_lease(runstop *r, replica_lease *lease) {
    r->lease = lease;
}

void runstop_destroy(runstop *r) {
    pthread_mutex_destroy(&r->mu);
}

/* The database at most every RUNSTOP_POLL_MS, by one thread at a time. */
static int poll_request(runstop *r, long long now) {
    errinfo err;
    char by[sizeof(r->by)];
    int got = 0;

    pthread_mutex_lock(&r->mu);
    if (r->db && now >= r->next_poll_ms) {
        r->next_poll_ms = now + RUNSTOP_POLL_MS;
        got = store_run_cancel_requested(r->db, r->run, by, sizeof(by), &err);
        if (got < 0) log_write(LOG_ERROR, &(log_ctx){.run = r->run}, "cannot read cancel requests: %s", err.msg);
        if (got == 1 && atomic_load(&r->why) == RUNSTOP_NONE) snprintf(r->by, sizeof(r->by), "%s", by);
    }
    pthread_mutex_unlock(&r->mu);
    return got == 1;
}

static void decide(runstop *r, runstop_why why) {
    int none = RUNSTOP_NONE;
    atomic_compare_exchange_strong(&r->why, &none, (int)why);
}

int runstop_check(void *arg) {
    runstop *r = arg;
    long long now = clock_mono_ms();

    if (atomic_load(&r->why) != RUNSTOP_NONE) return 1;
    if (r->closing && atomic_load(r->closing)) decide(r, RUNSTOP_SHUTDOWN);
    else if (r->lease && replica_lease_lost(r->lease)) decide(r, RUNSTOP_LEASE_LOST);
    else if (now >= r->deadline_ms) decide(r, RUNSTOP_TIMEOUT);
    else if (poll_request(r, now)) decide(r, RUNSTOP_CANCELED);
    return atomic_load(&r->why) != RUNSTOP_NONE;
}

runstop_why runstop_reason(runstop *r) {
    return (runstop_why)atomic_load(&r->why);
}

void runstop_describe(runstop *r, char *out, size_t len) {
    switch (runstop_reason(r)) {
    case RUNSTOP_TIMEOUT: snprintf(out, len, "timed out after %ds", r->timeout_s); break;
    case RUNSTOP_CANCELED: snprintf(out, len, "canceled by %s", r->by); break;
    case RUNSTOP_SHUTDOWN: snprintf(out, len, "stopped: deploybot is shutting down"); break;
    case RUNSTOP_LEASE_LOST: snprintf(out, len, "stopped: this replica lost the lease of the environment"); break;
    case RUNSTOP_NONE: snprintf(out, len, "not stopped"); break;
    }
}
