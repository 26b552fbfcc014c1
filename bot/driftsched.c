/* driftsched: the drift checks' thread and timing (bot/drift.h). */
#include "bot/drift.h"
#include "bot/runstop.h"
#include "util/log.h"
#include "store/drift.h"
#include "util/clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char *env;
    long long due_ms; /* monotonic */
} due_entry;

struct drift_scheduler {
    cfgsnap *snap;
    const bot_config *cfg; /* the drift thread's reference, for this round */
    char *db_path;
    metrics *metrics;
    void (*wake)(void *);
    void *wake_arg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    atomic_int closing; /* stop, for the check's AWS calls (bot/runstop.h) */
    unsigned seed;      /* the jitter's, this thread's own */
    due_entry *due;
    size_t n_due;
};

/* interval_s scaled by a random factor in [lo, hi]. */
static long long jittered_ms(drift_scheduler *d, int interval_s, double lo, double hi) {
    double f = lo + (hi - lo) * ((double)rand_r(&d->seed) / RAND_MAX);
    return (long long)(interval_s * 1000.0 * f);
}

/* env's entry; a new one is first due in the second half of an interval. */
static due_entry *entry(drift_scheduler *d, const char *env, int interval_s) {
    for (size_t i = 0; i < d->n_due; i++)
        if (strcmp(d->due[i].env, env) == 0) return &d->due[i];
    due_entry *grown = realloc(d->due, (d->n_due + 1) * sizeof(*grown));
    if (!grown || !(grown[d->n_due].env = strdup(env))) abort();
    d->due = grown;
    grown[d->n_due].due_ms = clock_mono_ms() + jittered_ms(d, interval_s, 0.5, 1.0);
    return &d->due[d->n_due++];
}

/* One check, stopped between two AWS calls as a run is (the same hook): a
 * shutdown abandons it, and it takes no longer than a run of env may. */
static int check(drift_scheduler *d, job_runner *jr, const char *env, drift_outcome *out, errinfo *err) {
    runstop stop;

    runstop_init(&stop, 0, bot_config_run_timeout(d->cfg, env), &d->closing, NULL);
    jr->stop = &stop;
    int rc = drift_check(jr, env, out, err);
    jr->stop = NULL;
    runstop_destroy(&stop);
    return rc;
}

/* Checks env when it is due. A busy environment stays due: it is checked
 * as soon as it is idle. */
static void check_if_due(drift_scheduler *d, job_runner *jr, const char *env) {
    int interval = bot_config_drift(d->cfg, env).interval_s;
    drift_outcome out;
    errinfo err;

    if (interval <= 0) return;
    due_entry *e = entry(d, env, interval);
    if (clock_mono_ms() < e->due_ms) return;
    if (check(d, jr, env, &out, &err) != 0)
        log_write(err.code == ERR_CANCELED ? LOG_INFO : LOG_ERROR, NULL, "%s", err.msg);
    else if (out == DRIFT_BUSY) return;
    else if (out == DRIFT_ABANDONED) log_write(LOG_INFO, NULL, "drift: check of %s abandoned: a run came", env);
    else if (out == DRIFT_FOUND && d->wake) d->wake(d->wake_arg); /* a remediate run may wait */
    else if (out == DRIFT_SAME && d->wake) d->wake(d->wake_arg);
    e->due_ms = clock_mono_ms() + jittered_ms(d, interval, 0.9, 1.1);
}

static void round_of_checks(drift_scheduler *d, job_runner *jr) {
    char **envs;
    size_t n;
    errinfo err;

    if (store_drift_envs(jr->db, &envs, &n, &err) != 0) {
        log_write(LOG_ERROR, NULL, "drift: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) check_if_due(d, jr, envs[i]);
    store_drift_envs_free(envs, n);
}

/* Sleeps a second, or until stopped; 1 when stopped. */
static int pause_or_stop(drift_scheduler *d) {
    struct timespec ts;
    int stop;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_mutex_lock(&d->mu);
    while (!d->stop && pthread_cond_timedwait(&d->cv, &d->mu, &ts) == 0) {}
    stop = d->stop;
    pthread_mutex_unlock(&d->mu);
    return stop;
}

static void *drift_main(void *arg) {
    drift_scheduler *d = arg;
    job_runner *jr = NULL;

    /* Each round reads the settings in use, so a reload's drift_interval
     * applies from the next round on. */
    while (!pause_or_stop(d)) {
        if (!(jr = job_runner_current(d->snap, d->db_path, jr, &d->cfg))) break;
        jr->metrics = d->metrics;
        round_of_checks(d, jr);
    }
    job_runner_free(jr);
    if (d->cfg) cfgsnap_put(d->snap, d->cfg);
    return NULL;
}

static void scheduler_free(drift_scheduler *d) {
    for (size_t i = 0; i < d->n_due; i++) free(d->due[i].env);
    free(d->due);
    free(d->db_path);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
}

drift_scheduler *drift_start(cfgsnap *snap, const char *db_path, metrics *m, void (*wake)(void *),
                             void *wake_arg, errinfo *err) {
    drift_scheduler *d = calloc(1, sizeof(*d));

    if (!d || !(d->db_path = strdup(db_path))) abort();
    d->snap = snap;
    d->metrics = m;
    d->wake = wake;
    d->wake_arg = wake_arg;
    d->seed = (unsigned)clock_mono_us();
    atomic_init(&d->closing, 0);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    if (pthread_create(&d->thread, NULL, drift_main, d) != 0) {
        scheduler_free(d);
        errinfo_set(err, ERR_INTERNAL, "cannot start the drift check thread");
        return NULL;
    }
    return d;
}

void drift_stop(drift_scheduler *d) {
    if (!d) return;
    atomic_store(&d->closing, 1);
    pthread_mutex_lock(&d->mu);
    d->stop = 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    scheduler_free(d);
}
