/* replica: see replica.h. */
#include "bot/replica.h"
#include "bot/config.h"
#include "store/outbox.h"
#include "util/clock.h"
#include "util/digest.h"
#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct replica_lease {
    int used;
    char env[128];
    store_fence fence;
    atomic_llong valid_until_ms; /* monotonic */
    atomic_int lost;
};

struct replica {
    char id[160];
    store_claimer claimer;
    store *db; /* the thread's; at start, the caller's */
    int presence_fd;
    void (*wake)(void *);
    void *arg;
    replica_lease slots[BOT_MAX_RUNNERS];
    pthread_mutex_t mu; /* slots' use, stop */
    pthread_cond_t cv;
    int stop;
    pthread_t thread;
};

/* "host:pid:random": unique even when a pid is reused or hosts share names. */
static void make_id(char *out, size_t size) {
    char host[64] = "localhost";
    unsigned char rnd[4] = {0};
    gethostname(host, sizeof(host) - 1);
    host[strcspn(host, "/:")] = '\0'; /* it names a file (store_presence_join) */
    digest_random(rnd, sizeof(rnd), NULL);
    snprintf(out, size, "%s:%ld:%02x%02x%02x%02x", host, (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3]);
}

/* Renews one slot's lease; a slot dropped meanwhile is left alone. */
static void renew_one(replica *r, replica_lease *l, const char *env, long long fence) {
    errinfo err;
    long long t0 = clock_mono_ms();
    int rc = store_lease_renew(r->db, env, &(store_fence){r->id, fence}, r->claimer.lease_ms, &err);
    pthread_mutex_lock(&r->mu);
    if (l->used && l->fence.fence == fence && strcmp(l->env, env) == 0) {
        if (rc == 1) atomic_store(&l->valid_until_ms, t0 + r->claimer.lease_ms);
        if (rc == 0) atomic_store(&l->lost, 1);
    }
    pthread_mutex_unlock(&r->mu);
    if (rc == 0) log_write(LOG_WARN, NULL, "replica %s: the lease of %s (fence %lld) was lost", r->id, env, fence);
    if (rc < 0) log_write(LOG_ERROR, NULL, "replica %s: %s", r->id, err.msg);
}

static void renew(replica *r) {
    errinfo err;
    for (int i = 0; i < BOT_MAX_RUNNERS; i++) {
        char env[128];
        long long fence;
        pthread_mutex_lock(&r->mu);
        int used = r->slots[i].used;
        snprintf(env, sizeof(env), "%s", r->slots[i].env);
        fence = r->slots[i].fence.fence;
        pthread_mutex_unlock(&r->mu);
        if (used) renew_one(r, &r->slots[i], env, fence);
    }
    if (store_claims_renew(r->db, &r->claimer, &err) < 0) log_write(LOG_ERROR, NULL, "replica %s: %s", r->id, err.msg);
}

/* Ends at once the claims of replicas that provably died. */
static void forget_dead(replica *r) {
    errinfo err;
    char **holders;
    int n = store_holders(r->db, r->id, &holders, &err);
    if (n < 0) log_write(LOG_ERROR, NULL, "replica %s: %s", r->id, err.msg);
    for (int i = 0; i < n; i++) {
        if (!store_presence_dead(r->db, holders[i])) continue;
        log_write(LOG_INFO, NULL, "replica %s is gone: taking its work over", holders[i]);
        if (store_holder_forget(r->db, holders[i], &err) < 0) log_write(LOG_ERROR, NULL, "%s", err.msg);
    }
    store_holders_free(holders, n > 0 ? n : 0);
}

static void take_over(replica *r) {
    errinfo err;
    store_taken n;
    forget_dead(r);
    if (store_takeover(r->db, &n, &err) < 0) {
        log_write(LOG_ERROR, NULL, "replica %s: %s", r->id, err.msg);
        return;
    }
    if (n.runs + n.jobs + n.messages == 0) return;
    log_write(LOG_INFO, NULL, "resuming %d interrupted job(s), %d run(s) and %d message(s)", n.jobs, n.runs,
              n.messages);
    if (n.messages > 0) store_outbox_wake(r->db);
    pthread_mutex_lock(&r->mu); /* against replica_quiet */
    if (r->wake) r->wake(r->arg);
    pthread_mutex_unlock(&r->mu);
}

static void *keeper_main(void *arg) {
    replica *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long ns = ts.tv_nsec + r->claimer.lease_ms / 3 * 1000000LL;
        ts.tv_sec += ns / 1000000000LL;
        ts.tv_nsec = ns % 1000000000LL;
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        if (r->stop) break;
        pthread_mutex_unlock(&r->mu);
        renew(r);
        take_over(r);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void replica_free(replica *r) {
    store_presence_leave(r->db, r->id, r->presence_fd);
    store_close(r->db);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

replica *replica_start(const char *db_path, int lease_s, void (*wake)(void *), void *arg, errinfo *err) {
    replica *r = calloc(1, sizeof(*r));
    errinfo perr;
    if (!r) abort();
    make_id(r->id, sizeof(r->id));
    r->claimer = (store_claimer){r->id, lease_s * 1000LL};
    r->wake = wake;
    r->arg = arg;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (!(r->db = store_open(db_path, STORE_MKDIR, err))) {
        r->presence_fd = -1;
        replica_free(r);
        return NULL;
    }
    /* Without it, this replica's work waits for its leases to expire after a crash. */
    if ((r->presence_fd = store_presence_join(r->db, r->id, &perr)) < 0)
        log_write(LOG_WARN, NULL, "replica %s: %s", r->id, perr.msg);
    take_over(r); /* before any thread claims: a crash's work resumes now */
    store_presence_sweep(r->db);
    if (pthread_create(&r->thread, NULL, keeper_main, r) != 0) {
        replica_free(r);
        errinfo_set(err, ERR_INTERNAL, "cannot start the lease thread");
        return NULL;
    }
    log_write(LOG_INFO, NULL, "replica %s: leases of %ds", r->id, lease_s);
    return r;
}

void replica_quiet(replica *r) {
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    r->wake = NULL;
    pthread_mutex_unlock(&r->mu);
}

void replica_stop(replica *r) {
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    replica_free(r);
}

const store_claimer *replica_claimer(const replica *r) {
    return &r->claimer;
}

replica_lease *replica_lease_hold(replica *r, const char *env, long long fence, long long claimed_ms) {
    replica_lease *l = NULL;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < BOT_MAX_RUNNERS && !l; i++)
        if (!r->slots[i].used) l = &r->slots[i];
    if (l) {
        l->used = 1;
        snprintf(l->env, sizeof(l->env), "%s", env);
        l->fence = (store_fence){r->id, fence};
        atomic_store(&l->valid_until_ms, claimed_ms + r->claimer.lease_ms);
        atomic_store(&l->lost, 0);
    }
    pthread_mutex_unlock(&r->mu);
    return l;
}

void replica_lease_drop(replica *r, replica_lease *l) {
    if (!l) return;
    pthread_mutex_lock(&r->mu);
    l->used = 0;
    pthread_mutex_unlock(&r->mu);
}

int replica_lease_lost(replica_lease *l) {
    return atomic_load(&l->lost) || clock_mono_ms() >= atomic_load(&l->valid_until_ms);
}

const store_fence *replica_lease_fence(const replica_lease *l) {
    return &l->fence;
}
