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
#include "util/clock.h"
#include "store/jobs.h"
#include "store/runs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ATTEMPTS 5

struct worker {
    const bot_config *cfg;
    char *db_path;
    metrics *metrics;
    pthread_t dispatcher, runners[BOT_MAX_RUNNERS];
    int n_runners;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    unsigned long generation;    /* bumped by every wake-up */
    long long last_reconcile_us; /* the dispatcher's own: 0 before the first */
    drift_scheduler *drift;      /* the drift checks' thread; NULL: none */
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

    if (w->cfg->reconcile_interval_s <= 0 ||
        (w->last_reconcile_us && now - w->last_reconcile_us < w->cfg->reconcile_interval_s * 1000000ll))
        return 0;
    w->last_reconcile_us = now;
    n = reconcile_heads(jr, q, &err);
    if (n < 0) fprintf(stderr, "deploybot: %s\n", err.msg);
    return n > 0;
}

static void *dispatcher_main(void *arg) {
    worker *w = arg;
    errinfo err;
    store *q = store_open(w->db_path, STORE_MKDIR, &err);
    job_runner *jr = q ? job_runner_new(w->cfg, w->db_path, &err) : NULL;
    if (!jr) {
        fprintf(stderr, "deploybot: dispatcher cannot start: %s\n", err.msg);
        store_close(q);
        return NULL;
    }
    for (int stop = 0;;) {
        unsigned long seen = generation(w, &stop);
        if (stop) break;
        store_job j;
        if (store_job_claim(q, &j, NULL) <= 0) {
            if (!reconcile_due(w, jr, q)) wait_for_work(w, seen);
            continue;
        }
        char summary[512] = "";
        int rc = dispatch_job(jr, &j, summary, sizeof(summary));
        if (rc != 0 && j.attempts < MAX_ATTEMPTS) {
            fprintf(stderr, "deploybot: job %ld will be retried: %s\n", j.id, summary);
            store_job_retry(q, j.id, 2 << j.attempts, summary, NULL);
        } else {
            store_job_finish(q, j.id, rc == 0, summary, NULL);
            fprintf(stderr, "deploybot: job %ld %s: %s\n", j.id, rc == 0 ? "dispatched" : "failed", summary);
        }
        store_job_free(&j);
        worker_wake(w); /* runs may be waiting */
    }
    job_runner_free(jr);
    store_close(q);
    return NULL;
}

static void *runner_main(void *arg) {
    worker *w = arg;
    errinfo e;
    job_runner *jr = job_runner_new(w->cfg, w->db_path, &e);
    store *rs = jr ? store_open(w->db_path, 0, &e) : NULL;
    if (!rs) {
        fprintf(stderr, "deploybot: run thread cannot start: %s\n", e.msg);
        job_runner_free(jr);
        return NULL;
    }
    jr->metrics = w->metrics;
    for (int stop = 0;;) {
        unsigned long seen = generation(w, &stop);
        if (stop) break;
        run x, *superseded;
        size_t n_superseded;
        int got = store_run_claim(rs, &x, &superseded, &n_superseded, &e);
        if (got < 0) fprintf(stderr, "deploybot: %s\n", e.msg);
        execute_report_superseded(jr, superseded, n_superseded);
        run_list_free(superseded, n_superseded);
        if (got <= 0) {
            wait_for_work(w, seen);
            continue;
        }
        execute_run(jr, &x);
        run_free(&x);
        worker_wake(w); /* the environment is free again */
    }
    store_close(rs);
    job_runner_free(jr);
    return NULL;
}

static void worker_free(worker *w) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->db_path);
    free(w);
}

static int recover(const char *db_path, errinfo *err) {
    store *db = store_open(db_path, STORE_MKDIR, err);
    if (!db) return -1;
    int jobs = store_jobs_recover(db, NULL), nruns = store_runs_recover(db, NULL);
    if (jobs > 0 || nruns > 0)
        fprintf(stderr, "deploybot: resuming %d interrupted job(s) and %d run(s)\n", jobs, nruns);
    store_close(db);
    return 0;
}

/* The drift checks read the deployed commit from the mirror, which only
 * repo.url names before a webhook came (bot/drift.h). */
static void start_drift(worker *w) {
    errinfo err;
    if (!w->cfg->repo_url)
        fprintf(stderr, "deploybot: drift checks are off: they need repo.url\n");
    else if (!(w->drift = drift_start(w->cfg, w->db_path, w->metrics, worker_wake, w, &err)))
        fprintf(stderr, "deploybot: %s\n", err.msg);
}

worker *worker_start(const bot_config *cfg, const char *db_path, metrics *m, errinfo *err) {
    if (recover(db_path, err) != 0) return NULL;
    worker *w = calloc(1, sizeof(*w));
    if (!w || !(w->db_path = strdup(db_path))) abort();
    w->cfg = cfg;
    w->metrics = m;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->dispatcher, NULL, dispatcher_main, w) != 0) {
        worker_free(w);
        errinfo_set(err, ERR_INTERNAL, "cannot start the dispatcher thread");
        return NULL;
    }
    /* A run thread that cannot start leaves the others to do its work. */
    for (int i = 0; i < cfg->runners && i < BOT_MAX_RUNNERS; i++)
        if (pthread_create(&w->runners[w->n_runners], NULL, runner_main, w) == 0) w->n_runners++;
    start_drift(w);
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
    drift_stop(w->drift); /* first: it may queue runs and wake the others */
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->dispatcher, NULL);
    for (int i = 0; i < w->n_runners; i++) pthread_join(w->runners[i], NULL);
    worker_free(w);
}
