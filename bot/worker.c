/* worker: see worker.h.
 *
 * One dispatcher thread turns queued webhook jobs into runs; N run threads
 * execute runs (store_run_claim keeps one run per environment at a time, so
 * environments deploy in parallel and one environment never overlaps). */
#include "bot/worker.h"
#include "bot/dispatch.h"
#include "bot/drift.h"
#include "bot/execute.h"
#include "bot/reconcile.h"
#include "bot/replica.h"
#include "bot/runstop.h"
#include "util/clock.h"
#include "store/jobs.h"
#include "store/retention.h"
#include "store/runs.h"
#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ATTEMPTS 5
#define PRUNE_BATCH 500 /* rows per table and transaction: milliseconds of write lock */

struct worker {
    cfgsnap *snap;
    char *db_path;
    replica *replica; /* whose claims the threads make (borrowed) */
    metrics *metrics;
    pthread_t dispatcher, runners[BOT_MAX_RUNNERS];
    int n_runners;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    atomic_int closing;          /* stop, for the runs' AWS calls (bot/runstop.h) */
    unsigned long generation;    /* bumped by every wake-up */
    long long last_reconcile_us; /* the dispatcher's own: 0 before the first */
    drift_scheduler *drift;      /* the drift checks' thread; NULL: none */
    long long next_prune_ms;     /* the dispatcher's own: when pruning may go on */
    int pruning;                 /* a round has batches left */
    store_pruned pruned;         /* what the round removed so far */
};

/* Sleeps until woken or one second passed: runs may also be added by another
 * process (the CLI's redeploy), so polling is the fallback. */
static void wait_for_work(worker *w, unsigned long seen) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_mutex_lock(&w->mu);
    while (!w->stop && w->generation == seen)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0) break;
    pthread_mutex_unlock(&w->mu);
}

static unsigned long generation(worker *w, int *stop) {
    pthread_mutex_lock(&w->mu);
    unsigned long g = w->generation;
    *stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    return g;
}

/* A reconcile round (bot/reconcile.h) when the interval has passed since
 * the last; 1 when it queued jobs, so they are claimed without waiting. */
static int reconcile_due(worker *w, job_runner *jr, store *q) {
    long long now = clock_mono_us();
    errinfo err;
    int n;

    if (jr->cfg->reconcile_interval_s <= 0 ||
        (w->last_reconcile_us && now - w->last_reconcile_us < jr->cfg->reconcile_interval_s * 1000000ll))
        return 0;
    w->last_reconcile_us = now;
    n = reconcile_heads(jr, q, &err);
    if (n < 0) log_write(LOG_ERROR, NULL, "%s", err.msg);
    return n > 0;
}

/* One batch of pruning when a round is due or under way; 1 when it removed
 * rows (more may be left: the next idle moment goes on, after any job). */
static int prune_due(worker *w, const bot_config *cfg, store *q) {
    long long now = clock_mono_ms();
    errinfo err;

    if (cfg->retention_days <= 0 || (!w->pruning && now < w->next_prune_ms)) return 0;
    if (!w->pruning) w->pruned = (store_pruned){0};
    long long cutoff = clock_wall_ms() - cfg->retention_days * 86400000LL;
    long n = store_prune_batch(q, cutoff, PRUNE_BATCH, &w->pruned, &err);
    if (n < 0) log_write(LOG_ERROR, NULL, "retention: %s", err.msg);
    w->pruning = n > 0;
    if (w->pruning) return 1;
    w->next_prune_ms = now + cfg->retention_interval_s * 1000LL;
    if (w->pruned.runs + w->pruned.jobs + w->pruned.deliveries > 0)
        log_write(LOG_INFO, NULL, "retention: removed %lld run(s), %lld job(s), %lld delivery(ies) older than %d days",
                  w->pruned.runs, w->pruned.jobs, w->pruned.deliveries, cfg->retention_days);
    w->pruned = (store_pruned){0};
    return 0;
}

static void dispatch_one(store *q, job_runner *jr, store_job *j) {
    char summary[512] = "";
    int rc = dispatch_job(jr, j, summary, sizeof(summary));
    log_ctx ctx = {.delivery = j->delivery}; /* the job is in the text: "deploybot: job N ..." */
    if (rc != 0 && j->attempts < MAX_ATTEMPTS) {
        log_write(LOG_WARN, &ctx, "job %ld will be retried: %s", j->id, summary);
        store_job_retry(q, j->id, 2 << j->attempts, summary, NULL);
    } else {
        store_job_finish(q, j->id, rc == 0, summary, NULL);
        log_write(rc == 0 ? LOG_INFO : LOG_ERROR, &ctx, "job %ld %s: %s", j->id, rc == 0 ? "dispatched" : "failed",
                  summary);
    }
}

static void *dispatcher_main(void *arg) {
    worker *w = arg;
    errinfo err;
    const bot_config *cfg = NULL;
    store *q = store_open(w->db_path, STORE_MKDIR, &err);
    job_runner *jr = NULL;
    if (!q) log_write(LOG_ERROR, NULL, "dispatcher cannot start: %s", err.msg);
    for (int stop = 0; q;) {
        unsigned long seen = generation(w, &stop);
        if (stop || !(jr = job_runner_current(w->snap, w->db_path, jr, &cfg))) break;
        store_job j;
        if (store_job_claim(q, replica_claimer(w->replica), &j, NULL) <= 0) {
            if (!reconcile_due(w, jr, q) && !prune_due(w, cfg, q)) wait_for_work(w, seen);
            continue;
        }
        dispatch_one(q, jr, &j);
        store_job_free(&j);
        worker_wake(w); /* runs may be waiting */
    }
    job_runner_free(jr);
    cfgsnap_put(w->snap, cfg);
    store_close(q);
    return NULL;
}

/* Claims and executes one run; 0 when there was none. */
static int run_one(worker *w, job_runner *jr, store *rs, store *stops) {
    run x, *superseded;
    size_t n_superseded;
    errinfo e;
    long long t0 = clock_mono_ms(); /* the lease runs from before the claim */
    int got = store_run_claim(rs, replica_claimer(w->replica), &x, &superseded, &n_superseded, &e);
    if (got < 0) log_write(LOG_ERROR, NULL, "%s", e.msg);
    execute_report_superseded(jr, superseded, n_superseded);
    run_list_free(superseded, n_superseded);
    if (got <= 0) return 0;
    runstop stop;
    replica_lease *lease = replica_lease_hold(w->replica, x.env, x.fence, t0);
    runstop_init(&stop, x.id, bot_config_run_timeout(jr->cfg, x.env), &w->closing, stops);
    runstop_watch_lease(&stop, lease);
    jr->stop = &stop;
    jr->fence = lease ? replica_lease_fence(lease) : NULL;
    execute_run(jr, &x);
    jr->stop = NULL;
    jr->fence = NULL;
    runstop_destroy(&stop);
    replica_lease_drop(w->replica, lease);
    run_free(&x);
    return 1;
}

static void *runner_main(void *arg) {
    worker *w = arg;
    errinfo e;
    const bot_config *cfg = NULL;
    job_runner *jr = NULL;
    store *rs = store_open(w->db_path, 0, &e);
    store *stops = rs ? store_open(w->db_path, 0, &e) : NULL; /* bot/runstop.h's own */
    if (!stops) log_write(LOG_ERROR, NULL, "run thread cannot start: %s", e.msg);
    for (int stop = 0; stops;) {
        unsigned long seen = generation(w, &stop);
        if (stop || !(jr = job_runner_current(w->snap, w->db_path, jr, &cfg))) break;
        jr->metrics = w->metrics;
        if (run_one(w, jr, rs, stops))
            worker_wake(w); /* the environment is free again */
        else
            wait_for_work(w, seen);
    }
    store_close(stops);
    store_close(rs);
    job_runner_free(jr);
    cfgsnap_put(w->snap, cfg);
    return NULL;
}

static void worker_free(worker *w) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->db_path);
    free(w);
}

/* The drift checks read the deployed commit from the mirror, which only
 * repo.url names before a webhook came (bot/drift.h). */
static void start_drift(worker *w, const bot_config *cfg) {
    errinfo err;
    if (!cfg->repo_url)
        log_write(LOG_INFO, NULL, "drift checks are off: they need repo.url");
    else if (!(w->drift = drift_start(w->snap, w->db_path, w->metrics, worker_wake, w, &err)))
        log_write(LOG_ERROR, NULL, "%s", err.msg);
}

worker *worker_start(cfgsnap *snap, const char *db_path, replica *rep, metrics *m, errinfo *err) {
    worker *w = calloc(1, sizeof(*w));
    if (!w || !(w->db_path = strdup(db_path))) abort();
    w->snap = snap;
    w->replica = rep;
    atomic_init(&w->closing, 0);
    w->metrics = m;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->dispatcher, NULL, dispatcher_main, w) != 0) {
        worker_free(w);
        errinfo_set(err, ERR_INTERNAL, "cannot start the dispatcher thread");
        return NULL;
    }
    /* A run thread that cannot start leaves the others to do its work. The
     * count is the settings' at start: a reload does not change it. */
    const bot_config *cfg = cfgsnap_get(snap);
    for (int i = 0; i < cfg->runners && i < BOT_MAX_RUNNERS; i++)
        if (pthread_create(&w->runners[w->n_runners], NULL, runner_main, w) == 0) w->n_runners++;
    start_drift(w, cfg);
    cfgsnap_put(snap, cfg);
    return w;
}

void worker_wake(void *arg) {
    worker *w = arg;
    pthread_mutex_lock(&w->mu);
    w->generation++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void worker_stop(worker *w) {
    if (!w) return;
    atomic_store(&w->closing, 1);
    drift_stop(w->drift); /* first: it may queue runs and wake the others */
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->dispatcher, NULL);
    for (int i = 0; i < w->n_runners; i++) pthread_join(w->runners[i], NULL);
    worker_free(w);
}
