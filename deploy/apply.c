/* apply: ordered execution of a plan. */
#include "deploy/apply.h"

#include "util/clock.h"
#include "util/timerheap.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum { OP_CREATE,
               OP_UPDATE,
               OP_DESTROY } op_kind;

typedef struct {
    op_kind kind;
    plan_change *change;
    int done;
    int running; /* started: on a thread, or waiting for AWS */
    /* Kept from its start to its end, for its waits' polls: */
    provider_ctx ctx;
    resource created; /* a create's resource, whose physical id the provider sets */
    waiter *wait;     /* the wait its provider left (PROVIDER_WAITING), if any */
    waiter *handed;   /* where the provider leaves it (ctx.wait) */
} op;

typedef struct {
    op *ops;
    size_t n;
} op_list;

static void logf_(apply_log_fn log, void *arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(apply_log_fn log, void *arg, const char *fmt, ...) {
    if (!log) return;
    char line[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log(arg, line);
}

static void build_ops(plan *p, op_list *l) {
    l->ops = calloc(p->n * 2 + 1, sizeof(op));
    for (size_t i = 0; i < p->n; i++) {
        plan_change *c = &p->changes[i];
        switch (c->action) {
        case PLAN_NOOP: break;
        case PLAN_CREATE: l->ops[l->n++] = (op){.kind = OP_CREATE, .change = c}; break;
        case PLAN_UPDATE: l->ops[l->n++] = (op){.kind = OP_UPDATE, .change = c}; break;
        case PLAN_DELETE: l->ops[l->n++] = (op){.kind = OP_DESTROY, .change = c}; break;
        case PLAN_REPLACE:
            l->ops[l->n++] = (op){.kind = OP_DESTROY, .change = c};
            l->ops[l->n++] = (op){.kind = OP_CREATE, .change = c};
            break;
        }
    }
}

typedef struct {
    const char *id;
    int found;
} ref_find;

static void find_ref(const char *id, void *arg) {
    ref_find *f = arg;
    if (strcmp(f->id, id) == 0) f->found = 1;
}

static int refers_to(const json_t *attrs, const char *id) {
    ref_find f = {id, 0};
    resource_refs_each(attrs, find_ref, &f);
    return f.found;
}

static const char *op_id(const op *o) {
    return o->change->desired ? o->change->desired->id : o->change->actual->id;
}

/* 1 when `a` must wait for `b`. */
static int waits_for(const op *a, const op *b) {
    if (a == b || b->done) return 0;
    const char *aid = op_id(a), *bid = op_id(b);
    if (a->kind != OP_DESTROY) {
        if (b->kind == OP_CREATE && refers_to(a->change->desired->attrs, bid)) return 1;
        /* A new resource is made from what it refers to as the plan wants it
         * (an instance from the launch template's new version), unless that
         * update is itself waiting for this create. */
        if (a->kind == OP_CREATE && b->kind == OP_UPDATE && refers_to(a->change->desired->attrs, bid) &&
            !refers_to(b->change->desired->attrs, aid))
            return 1;
        if (b->kind == OP_DESTROY && strcmp(aid, bid) == 0) return 1; /* replace: old goes first */
        return 0;
    }
    /* Destroying `a` waits until nothing that is changing still refers to it. */
    return b->kind != OP_CREATE && b->change->actual && refers_to(b->change->actual->attrs, aid);
}

static op *next_ready(op_list *l, int running) {
    for (size_t i = 0; i < l->n; i++) {
        if (l->ops[i].done || l->ops[i].running) continue;
        int ready = 1;
        for (size_t j = 0; j < l->n && ready; j++) ready = !waits_for(&l->ops[i], &l->ops[j]);
        if (ready) return &l->ops[i];
    }
    if (running) return NULL; /* what is running may unblock the rest */
    /* A cycle: a replaced resource still referred to by something that is
     * only updated (a route table's association with a subnet being replaced:
     * the update needs the new subnet, the old one waits for the update).
     * Deleting first is what AWS allows there: deleting a subnet drops its
     * associations. So let a destroy go ahead of updates, never of destroys. */
    for (size_t i = 0; i < l->n; i++) {
        op *o = &l->ops[i];
        if (o->done || o->kind != OP_DESTROY) continue;
        int ready = 1;
        for (size_t j = 0; j < l->n && ready; j++)
            ready = l->ops[j].kind == OP_UPDATE || !waits_for(o, &l->ops[j]);
        if (ready) return o;
    }
    for (size_t i = 0; i < l->n; i++) /* last resort: plan order */
        if (!l->ops[i].done) return &l->ops[i];
    return NULL;
}

/* Starts one operation: its provider's call, which ends it or leaves a wait
 * in o->handed (PROVIDER_WAITING). Reading the plan (references) happens
 * under the scheduler's lock; the AWS calls do not. */
static int run_op(plan *p, op *o, pthread_mutex_t *mu, errinfo *err) {
    plan_change *ch = o->change;
    const resource *r = ch->desired ? ch->desired : ch->actual;
    const provider *pv = provider_find(r->type);
    json_t *want = NULL, *have = NULL;
    int rc = -1;
    pthread_mutex_lock(mu);
    if (ch->actual) have = resource_attrs_resolve(ch->actual->attrs, &p->actual, err);
    if (o->kind != OP_DESTROY) want = resource_attrs_resolve(ch->desired->attrs, &p->desired, err);
    if (o->kind == OP_CREATE) o->created = *ch->desired;
    o->created.physical = NULL;
    pthread_mutex_unlock(mu);
    if ((ch->actual && !have) || (o->kind != OP_DESTROY && !want)) goto out;
    switch (o->kind) {
    case OP_CREATE: rc = pv->create(&o->ctx, &o->created, want, err); break;
    case OP_UPDATE: rc = pv->update(&o->ctx, ch->actual, have, want, err); break;
    case OP_DESTROY: rc = pv->destroy(&o->ctx, ch->actual, have, err); break;
    }
out:
    json_decref(want);
    json_decref(have);
    return rc;
}

/* What a look at a pending wait returns when the resource is not there yet. */
#define OP_AGAIN 2

/* One look at o's wait: OP_AGAIN (look again after *pause_ms), or what the
 * operation returns (0, -1, PROVIDER_WAITING with its next wait). */
static int look(op *o, long *pause_ms, errinfo *err) {
    waiter_state st = waiter_poll(o->wait, o->ctx.aws, pause_ms, err);
    if (st == WAITER_RETRY) return OP_AGAIN;
    int rc = st == WAITER_DONE ? waiter_then_run(o->wait, err) : -1;
    waiter_free(o->wait);
    o->wait = NULL;
    return rc;
}

/* Independent operations run in parallel, `slots` at a time, on as many
 * workers, each with its own AWS client; the first failure stops new
 * operations from starting.
 *
 * An operation that must wait for AWS (a NAT gateway's two minutes) hands
 * its wait back (provider_wait) and holds no thread meanwhile: the wait goes
 * into a timer heap, and a worker with nothing else to do looks again when
 * its pause is over (the waiter's schedule). So a slow resource never holds
 * back an independent branch, and workers block only when nothing is ready
 * and no look is due: until the next one is, or CANCEL_CHECK_MS, when they
 * ask the client's cancel hook, so a run whose operations all wait still
 * stops promptly.
 *
 * A retry's backoff inside a call (a throttled request: short, bounded,
 * jittered) gives the slot back too (sched_pause): the slot goes to the next
 * ready operation, on an idle worker or a new one. */
#define CANCEL_CHECK_MS 1000

typedef struct {
    const provider_ctx *base;
    plan *p;
    op_list *l;
    apply_log_fn log;
    void *arg;
    apply_result *res;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running;  /* operations started and not finished (waiting ones too) */
    int active;   /* of them, those on a thread and holding a slot */
    int resuming; /* backoffs over: first in line for a slot */
    int slots;
    int idle;         /* workers waiting for work */
    timerheap timers; /* operations waiting for AWS, by the time of their next look */
    int canceled;     /* the cancel hook said stop: every wait is looked at now (and fails) */
    pthread_t *threads;
    size_t nthreads, max_threads;
    int failed;
    errinfo first; /* the first failure */
} sched;

static const char *const VERB[] = {"create", "update", "destroy"};
static const char *const PAST[] = {"created", "updated", "destroyed"};

/* Under the lock: a ready operation, or NULL. */
static op *take(sched *s) {
    return s->failed ? NULL : next_ready(s->l, s->running);
}

/* Under the lock: an operation whose next look is due, or NULL. */
static op *due(sched *s) {
    long long next = timerheap_next(&s->timers);
    if (next < 0 || (!s->canceled && next > clock_mono_ms())) return NULL;
    return timerheap_pop(&s->timers);
}

/* A failure reads "subnet.public_a: create failed: Code: message". */
static void record_failure(sched *s, op *o, errinfo *err) {
    if (err->remote[0]) errinfo_prefix(err, "%s", err->remote);
    errinfo_prefix(err, "%s: %s failed", op_id(o), VERB[o->kind]);
    if (!s->failed) s->first = *err;
    s->failed = 1;
    logf_(s->log, s->arg, "%s", err->msg);
}

static void record(sched *s, op *o, int rc, errinfo *err) {
    plan_change *ch = o->change;
    if (rc != 0) {
        record_failure(s, o, err);
        return;
    }
    o->done = 1;
    s->res->ops_done++;
    if (o->kind == OP_CREATE) s->res->added++;
    else if (o->kind == OP_UPDATE) s->res->changed++;
    else s->res->destroyed++;
    const resource *r = o->kind == OP_DESTROY ? ch->actual : ch->desired;
    int kept = o->kind == OP_DESTROY && ch->final_snapshot == PLAN_SNAPSHOT_TAKE;
    logf_(s->log, s->arg, "%s: %s (%s)%s", op_id(o), PAST[o->kind], r->physical ? r->physical : "-",
          kept ? " after its final snapshot completed" : "");
}

/* Under the lock, after a step of o: its next look scheduled, or its end
 * recorded (a create's physical id into the plan, for what refers to it). */
static void settle(sched *s, op *o, int rc, long pause_ms, errinfo *err) {
    if (rc == OP_AGAIN || rc == PROVIDER_WAITING) {
        if (rc == PROVIDER_WAITING) {
            o->wait = o->handed;
            o->handed = NULL;
            pause_ms = 0; /* the first look is at once */
        }
        timerheap_push(&s->timers, clock_mono_ms() + pause_ms, o);
        return;
    }
    if (o->kind == OP_CREATE) {
        free(o->change->desired->physical);
        o->change->desired->physical = o->created.physical;
    }
    o->running = 0;
    s->running--;
    record(s, o, rc, err);
}

static void sched_pause(void *arg, long ms);

/* Outside the lock: o's context with this worker's own AWS client, made on
 * its first operation. */
static int bind(sched *s, op *o, aws_client **own, errinfo *err) {
    if (!*own && s->base->aws) {
        if (!(*own = aws_client_clone(s->base->aws, err))) return errinfo_prefix(err, "AWS client");
        aws_client_set_pause(*own, sched_pause, s);
    }
    o->ctx.aws = *own ? *own : s->base->aws;
    return 0;
}

/* Outside the lock: the operation's start (fresh) or its next look. */
static int step(sched *s, op *o, int fresh, aws_client **own, long *pause_ms, errinfo *err) {
    if (fresh) {
        o->ctx = *s->base;
        o->ctx.wait = &o->handed;
        o->ctx.final_snapshot = o->kind == OP_DESTROY && o->change->final_snapshot == PLAN_SNAPSHOT_TAKE;
    }
    if (bind(s, o, own, err) < 0) {
        waiter_free(o->wait);
        o->wait = NULL;
        return -1;
    }
    return fresh ? run_op(s->p, o, &s->mu, err) : look(o, pause_ms, err);
}

/* Under the lock: until woken, or ms later at most. */
static void sched_wait_ms(sched *s, long long ms) {
    struct timespec at;
    clock_gettime(CLOCK_REALTIME, &at);
    long long ns = at.tv_nsec + ms * 1000000LL;
    at.tv_sec += (time_t)(ns / 1000000000LL);
    at.tv_nsec = (long)(ns % 1000000000LL);
    pthread_cond_timedwait(&s->cv, &s->mu, &at);
}

/* Under the lock, with nothing to do: until woken, or until the next look
 * is due (or CANCEL_CHECK_MS, when some are pending: then the cancel hook
 * is asked). With every slot taken, a slot's release wakes it. */
static void idle_wait(sched *s) {
    long long next = timerheap_next(&s->timers), now = clock_mono_ms();
    s->idle++;
    if (next < 0 || s->active + s->resuming >= s->slots) {
        pthread_cond_wait(&s->cv, &s->mu);
    } else {
        sched_wait_ms(s, next - now < CANCEL_CHECK_MS ? next - now : CANCEL_CHECK_MS);
    }
    s->idle--;
    errinfo ignored;
    if (!s->canceled && s->timers.n && aws_client_canceled(s->base->aws, &ignored)) {
        s->canceled = 1;
        pthread_cond_broadcast(&s->cv);
    }
}

static void *apply_worker(void *arg) {
    sched *s = arg;
    aws_client *own = NULL;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        op *o = NULL;
        int fresh = 0;
        if (s->active + s->resuming < s->slots && !(o = due(s)) && (o = take(s))) fresh = 1;
        if (!o) {
            if (!s->running) break;
            idle_wait(s);
            continue;
        }
        if (fresh) {
            o->running = 1;
            s->running++;
            logf_(s->log, s->arg, "%s: %s...", op_id(o), VERB[o->kind]);
        }
        s->active++;
        pthread_mutex_unlock(&s->mu);
        errinfo err = {0};
        long pause = 0;
        int rc = step(s, o, fresh, &own, &pause, &err);
        pthread_mutex_lock(&s->mu);
        s->active--;
        settle(s, o, rc, pause, &err);
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    aws_client_free(own);
    return NULL;
}

/* Under the lock: one more worker, when an operation may be waiting for a
 * free slot and no worker is idle to take it. */
static void spawn_if_needed(sched *s) {
    if (s->idle > 0 || s->failed || s->nthreads >= s->max_threads || s->running >= (int)s->l->n) return;
    if (pthread_create(&s->threads[s->nthreads], NULL, apply_worker, s) == 0) s->nthreads++;
}

/* A backoff inside a call: the slot is given back meanwhile. */
static void sched_pause(void *arg, long ms) {
    sched *s = arg;
    long long due = clock_mono_ms() + ms;
    pthread_mutex_lock(&s->mu);
    s->active--;
    spawn_if_needed(s);
    pthread_cond_broadcast(&s->cv);
    for (long long now; (now = clock_mono_ms()) < due;) sched_wait_ms(s, due - now);
    s->resuming++;
    while (s->active >= s->slots) pthread_cond_wait(&s->cv, &s->mu);
    s->resuming--;
    s->active++;
    pthread_mutex_unlock(&s->mu);
}

/* Every worker, those started meanwhile included: a worker starts others
 * only while it is alive, so once all are joined none is left. */
static void join_all(sched *s) {
    for (size_t i = 0;; i++) {
        pthread_mutex_lock(&s->mu);
        size_t n = s->nthreads;
        pthread_mutex_unlock(&s->mu);
        if (i >= n) break;
        pthread_join(s->threads[i], NULL);
    }
}

#define MAX_PARALLELISM 16

int apply_plan(const provider_ctx *c, plan *p, int parallelism, apply_log_fn log, void *arg,
               apply_result *res, errinfo *err) {
    memset(res, 0, sizeof(*res));
    op_list l = {0};
    build_ops(p, &l);
    res->ops_total = (int)l.n;
    int n = parallelism > 0 ? parallelism : 4;
    if (n > MAX_PARALLELISM) n = MAX_PARALLELISM;
    sched s = {.base = c, .p = p, .l = &l, .log = log, .arg = arg, .res = res, .slots = n, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .max_threads = l.n + (size_t)n};
    s.threads = calloc(s.max_threads, sizeof(*s.threads));
    if (!s.threads) abort();
    pthread_mutex_lock(&s.mu);
    for (int i = 0; i < n && (size_t)i < l.n; i++)
        if (pthread_create(&s.threads[s.nthreads], NULL, apply_worker, &s) == 0) s.nthreads++;
    pthread_mutex_unlock(&s.mu);
    join_all(&s);
    free(s.threads);
    timerheap_free(&s.timers);
    if (s.failed)
        for (size_t i = 0; i < l.n; i++)
            if (!l.ops[i].done) logf_(log, arg, "not done: %s %s", VERB[l.ops[i].kind], op_id(&l.ops[i]));
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    free(l.ops);
    if (!s.failed) return 0;
    if (err) *err = s.first;
    return -1;
}

void apply_summary(const apply_result *r, const errinfo *failure, char *out, size_t outlen) {
    if (failure && failure->code != ERR_NONE)
        snprintf(out, outlen, "Apply failed after %d of %d operations: %s", r->ops_done, r->ops_total,
                 failure->msg);
    else
        snprintf(out, outlen, "Apply complete: %d added, %d changed, %d destroyed.", r->added, r->changed,
                 r->destroyed);
}
