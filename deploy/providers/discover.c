/* discover: see discover.h. */
#include "deploy/providers/discover.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One provider's discovery: what it found, and whether it is over. */
struct discover_task {
    struct discovery *d;
    size_t index; /* in provider_all() */
    const provider *p;
    resource_set found;
    int started, done, rc;
    errinfo err;
};

typedef struct discovery {
    const provider_ctx *base;
    discover_task *tasks;
    size_t n;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a task is done */
} discovery;

/* A worker of one service: takes that service's tasks in order. */
typedef struct {
    discovery *d;
    const char *service;
    pthread_t th;
    unsigned long requests; /* its client's, once it is done */
} worker;

static const resource_set EMPTY;

const resource_set *provider_discovered(const provider_ctx *c, const char *type) {
    const discover_task *self = c->discovering;
    if (!self) return &EMPTY;
    discovery *d = self->d;
    discover_task *t = NULL;
    for (size_t i = 0; i < self->index && !t; i++)
        if (strcmp(d->tasks[i].p->type, type) == 0) t = &d->tasks[i];
    if (!t) return &EMPTY;
    pthread_mutex_lock(&d->mu);
    while (!t->done) pthread_cond_wait(&d->cv, &d->mu);
    pthread_mutex_unlock(&d->mu);
    return &t->found;
}

static discover_task *next_task(discovery *d, const char *service) {
    discover_task *t = NULL;
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->n && !t; i++)
        if (!d->tasks[i].started && strcmp(d->tasks[i].p->service, service) == 0) t = &d->tasks[i];
    if (t) t->started = 1;
    pthread_mutex_unlock(&d->mu);
    return t;
}

static void task_run(discover_task *t, aws_client *aws) {
    provider_ctx ctx = *t->d->base;
    ctx.aws = aws;
    ctx.discovering = t;
    if (!aws) t->rc = -1;
    else t->rc = t->p->discover(&ctx, &t->found, &t->err);
    pthread_mutex_lock(&t->d->mu);
    t->done = 1;
    pthread_cond_broadcast(&t->d->cv);
    pthread_mutex_unlock(&t->d->mu);
}

/* A task that cannot get a client still ends (failed), so that no provider
 * waits for it forever. */
static void *worker_main(void *arg) {
    worker *w = arg;
    errinfo err = {0};
    aws_client *aws = w->d->base->aws ? aws_client_clone(w->d->base->aws, &err) : NULL;
    if (!aws && !w->d->base->aws) errinfo_set(&err, ERR_INVALID, "discovery without an AWS client");
    for (discover_task *t; (t = next_task(w->d, w->service));) {
        if (!aws) t->err = err;
        task_run(t, aws);
    }
    w->requests = aws ? aws_client_request_count(aws) : 0;
    aws_client_free(aws);
    return NULL;
}

/* Starts up to per_service workers for each service (no more than it has
 * providers); returns how many started. The tasks of a service that got no
 * thread are run by the caller (run_orphans). */
static size_t workers_start(discovery *d, int per_service, worker *ws) {
    size_t nw = 0;
    for (size_t i = 0; i < d->n; i++) {
        const char *svc = d->tasks[i].p->service;
        int have = 0;
        for (size_t j = 0; j < nw; j++) have += strcmp(ws[j].service, svc) == 0;
        if (have >= per_service) continue;
        ws[nw] = (worker){d, svc, 0, 0};
        if (pthread_create(&ws[nw].th, NULL, worker_main, &ws[nw]) == 0) nw++;
    }
    return nw;
}

static void run_orphans(discovery *d, const worker *ws, size_t nw) {
    for (size_t i = 0; i < d->n; i++) {
        discover_task *t = &d->tasks[i];
        int served = 0;
        for (size_t j = 0; j < nw && !served; j++) served = strcmp(ws[j].service, t->p->service) == 0;
        if (served) continue;
        pthread_mutex_lock(&d->mu);
        t->started = 1;
        pthread_mutex_unlock(&d->mu);
        if (!d->base->aws) errinfo_set(&t->err, ERR_INVALID, "discovery without an AWS client");
        task_run(t, d->base->aws);
    }
}

/* Every task's set into out, in provider order; the first failure. */
static int collect(discovery *d, resource_set *out, errinfo *err) {
    for (size_t i = 0; i < d->n; i++) {
        if (d->tasks[i].rc == 0) continue;
        if (err) *err = d->tasks[i].err;
        return -1;
    }
    for (size_t i = 0; i < d->n; i++) resource_set_move(out, &d->tasks[i].found);
    return 0;
}

int discover_all(const provider_ctx *c, int per_service, resource_set *out, errinfo *err) {
    if (per_service <= 0) per_service = DISCOVER_PER_SERVICE;
    if (per_service > DISCOVER_PER_SERVICE_MAX) per_service = DISCOVER_PER_SERVICE_MAX;
    discovery d = {.base = c, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    const provider *const *all = provider_all();
    while (all[d.n]) d.n++;
    d.tasks = calloc(d.n, sizeof(*d.tasks));
    worker *ws = calloc(d.n, sizeof(*ws));
    if (!d.tasks || !ws) abort();
    for (size_t i = 0; i < d.n; i++) d.tasks[i] = (discover_task){.d = &d, .index = i, .p = all[i]};
    size_t nw = workers_start(&d, per_service, ws);
    run_orphans(&d, ws, nw);
    for (size_t i = 0; i < nw; i++) {
        pthread_join(ws[i].th, NULL);
        aws_client_request_count_add(c->aws, ws[i].requests);
    }
    int rc = collect(&d, out, err);
    for (size_t i = 0; i < d.n; i++) resource_set_free(&d.tasks[i].found);
    free(d.tasks);
    free(ws);
    pthread_mutex_destroy(&d.mu);
    pthread_cond_destroy(&d.cv);
    return rc;
}
