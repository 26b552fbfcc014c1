/* worker: see worker.h. */
#include "bot/worker.h"
#include "bot/job.h"
#include "bot/queue.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ATTEMPTS 5

struct worker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, kicked;
    queue *q;
    job_runner *runner;
};

static void wait_for_work(worker *w) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1; /* poll too: jobs may come from another process (CLI) */
    pthread_mutex_lock(&w->mu);
    while (!w->stop && !w->kicked)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0) break;
    w->kicked = 0;
    pthread_mutex_unlock(&w->mu);
}

static int stopping(worker *w) {
    pthread_mutex_lock(&w->mu);
    int s = w->stop;
    pthread_mutex_unlock(&w->mu);
    return s;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    while (!stopping(w)) {
        queue_job j;
        int got = queue_claim(w->q, &j);
        if (got <= 0) { wait_for_work(w); continue; }
        char summary[512] = "";
        int rc = job_run(w->runner, &j, summary, sizeof(summary));
        if (rc != 0 && j.attempts < MAX_ATTEMPTS) {
            fprintf(stderr, "deploybot: job %ld will be retried: %s\n", j.id, summary);
            queue_retry(w->q, j.id, 2 << j.attempts, summary);
        } else {
            queue_finish(w->q, j.id, rc == 0, summary);
        }
        fprintf(stderr, "deploybot: job %ld %s: %s\n", j.id, rc == 0 ? "done" : "failed", summary);
        queue_job_free(&j);
    }
    return NULL;
}

worker *worker_start(const bot_config *cfg, const char *db_path, char *err, size_t errlen) {
    worker *w = calloc(1, sizeof(*w));
    w->q = queue_open(db_path, err, errlen);
    if (!w->q) { free(w); return NULL; }
    int n = queue_recover(w->q);
    if (n > 0) fprintf(stderr, "deploybot: resuming %d interrupted job(s)\n", n);
    w->runner = job_runner_new(cfg);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        snprintf(err, errlen, "cannot start the worker thread");
        job_runner_free(w->runner);
        queue_close(w->q);
        free(w);
        return NULL;
    }
    return w;
}

void worker_wake(void *arg) {
    worker *w = arg;
    pthread_mutex_lock(&w->mu);
    w->kicked = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void worker_stop(worker *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    job_runner_free(w->runner);
    queue_close(w->q);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
