/* ingest: see ingest.h.
 *
 * One mutex guards both lists. The writer never holds it while it talks to
 * SQLite, so the HTTP thread only ever waits for a pointer or two to move.
 *
 * The writer's connection never checkpoints (STORE_NO_CHECKPOINT): the
 * commit that crossed SQLite's threshold would copy megabytes into the
 * database before returning, and every delivery queued meanwhile would
 * wait for it. A second thread, on a connection of its own, checkpoints
 * when the writer's commits left enough log behind; a passive checkpoint
 * never holds the writer back. */
#include "bot/ingest.h"
#include "store/jobs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_BATCH_MAX 64
#define CHECKPOINT_PAGES 1000 /* SQLite's own automatic threshold */

typedef struct {
    ingest_item *head, **tail;
    size_t n;
} item_list;

struct ingest {
    store *db;   /* the writer's own connection */
    store *ckdb; /* the checkpointer's */
    ingest_settings set;
    ingest_done_cb done;
    void *arg;
    pthread_t thread, checkpointer;
    pthread_mutex_t mu;
    pthread_cond_t cv, ck_cv;
    item_list queued, finished;
    int stop;
    int checkpoint_due;
    int started;           /* threads ingest_stop joins: 1 the checkpointer, 2 the writer too */
    int joined;            /* ingest_stop is done (or the thread never started) */
    store_delivery *batch; /* set.batch_max of them, the writer's */
    ingest_item **items;
};

static void list_init(item_list *l) {
    l->head = NULL;
    l->tail = &l->head;
    l->n = 0;
}

static void list_push(item_list *l, ingest_item *it) {
    it->next = NULL;
    *l->tail = it;
    l->tail = &it->next;
    l->n++;
}

static ingest_item *list_pop(item_list *l) {
    ingest_item *it = l->head;

    if (!it)
        return NULL;
    l->head = it->next;
    if (!l->head)
        l->tail = &l->head;
    l->n--;
    it->next = NULL;
    return it;
}

/* Unlinks it when it is in l: 1 found, 0 not. */
static int list_remove(item_list *l, ingest_item *it) {
    ingest_item **at = &l->head;

    while (*at && *at != it)
        at = &(*at)->next;
    if (!*at)
        return 0;
    *at = it->next;
    if (l->tail == &it->next)
        l->tail = at;
    l->n--;
    return 1;
}

ingest_item *ingest_item_new(const char *delivery, const char *event, const char *payload, void *conn) {
    ingest_item *it = calloc(1, sizeof(*it));

    if (!it)
        return NULL;
    it->delivery = strdup(delivery);
    it->event = strdup(event);
    it->payload = strdup(payload);
    it->conn = conn;
    if (!it->delivery || !it->event || !it->payload) {
        ingest_item_free(it);
        return NULL;
    }
    return it;
}

void ingest_item_free(ingest_item *it) {
    if (!it)
        return;
    free(it->delivery);
    free(it->event);
    free(it->payload);
    free(it);
}

/* ---- the writer ---------------------------------------------------------- */

static void deadline_in(struct timespec *ts, long us) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += us * 1000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

/* Under the lock: waits for a first delivery, then up to batch_wait_us for
 * the batch to fill; moves the batch into g->items. How many, 0 to stop. */
static size_t take_batch(ingest *g) {
    struct timespec ts;
    size_t n = 0;

    while (!g->stop && g->queued.n == 0)
        pthread_cond_wait(&g->cv, &g->mu);
    if (g->set.batch_wait_us > 0 && !g->stop && g->queued.n < (size_t)g->set.batch_max) {
        deadline_in(&ts, g->set.batch_wait_us);
        while (!g->stop && g->queued.n < (size_t)g->set.batch_max)
            if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) != 0)
                break;
    }
    while (n < (size_t)g->set.batch_max && g->queued.n > 0)
        g->items[n++] = list_pop(&g->queued);
    return n;
}

static void record(ingest_item *it, const store_delivery *d, int rc, const errinfo *err) {
    it->failed = rc < 0;
    it->job_id = rc < 0 ? 0 : d->job_id;
    it->duplicate = rc == 0 && d->duplicate;
    if (rc < 0)
        it->err = *err;
}

/* One transaction for the batch; when it fails, one per delivery, so a
 * delivery SQLite refuses fails alone. */
static void commit(ingest *g, size_t n) {
    errinfo err;
    int rc;

    for (size_t i = 0; i < n; i++)
        g->batch[i] = (store_delivery){.delivery = g->items[i]->delivery,
                                       .event = g->items[i]->event,
                                       .payload = g->items[i]->payload};
    rc = store_deliveries_add(g->db, g->batch, n, &err);
    for (size_t i = 0; i < n; i++) {
        if (rc < 0 && n > 1)
            record(g->items[i], &g->batch[i], store_deliveries_add(g->db, &g->batch[i], 1, &err), &err);
        else
            record(g->items[i], &g->batch[i], rc, &err);
    }
}

static void *checkpointer_main(void *arg) {
    ingest *g = arg;

    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->stop && !g->checkpoint_due)
            pthread_cond_wait(&g->ck_cv, &g->mu);
        if (g->stop)
            break;
        g->checkpoint_due = 0;
        pthread_mutex_unlock(&g->mu);
        /* A checkpoint refused (another one under way) is taken up by the
         * next commit's request: nothing to report. */
        store_checkpoint(g->ckdb, NULL);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static void *writer_main(void *arg) {
    ingest *g = arg;
    size_t n;

    pthread_mutex_lock(&g->mu);
    while ((n = take_batch(g)) > 0) {
        pthread_mutex_unlock(&g->mu);
        commit(g, n);
        pthread_mutex_lock(&g->mu);
        if (store_log_pages(g->db) >= CHECKPOINT_PAGES) {
            g->checkpoint_due = 1;
            pthread_cond_signal(&g->ck_cv);
        }
        for (size_t i = 0; i < n; i++) {
            if (g->items[i]->abandoned)
                ingest_item_free(g->items[i]);
            else
                list_push(&g->finished, g->items[i]);
        }
        pthread_mutex_unlock(&g->mu);
        if (g->done)
            g->done(g->arg);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* ---- the submitter's side -------------------------------------------------- */

void ingest_free(ingest *g) {
    ingest_item *it;

    if (!g)
        return;
    ingest_stop(g);
    while ((it = list_pop(&g->finished)))
        ingest_item_free(it);
    store_close(g->db);
    store_close(g->ckdb);
    free(g->batch);
    free(g->items);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    pthread_cond_destroy(&g->ck_cv);
    free(g);
}

ingest *ingest_start(const char *db_path, const ingest_settings *set, ingest_done_cb done, void *arg,
                     errinfo *err) {
    ingest *g = calloc(1, sizeof(*g));

    if (!g)
        abort();
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    pthread_cond_init(&g->ck_cv, NULL);
    list_init(&g->queued);
    list_init(&g->finished);
    g->set = set ? *set : (ingest_settings){0};
    if (g->set.batch_max <= 0)
        g->set.batch_max = DEFAULT_BATCH_MAX;
    g->done = done;
    g->arg = arg;
    g->batch = calloc((size_t)g->set.batch_max, sizeof(*g->batch));
    g->items = calloc((size_t)g->set.batch_max, sizeof(*g->items));
    if (!g->batch || !g->items)
        abort();
    /* A short wait for the lock: the host gives up on an answer after 10 s. */
    g->joined = 1;
    if (!(g->db = store_open(db_path, STORE_MKDIR | STORE_SHORT_WAIT | STORE_NO_CHECKPOINT, err)) ||
        !(g->ckdb = store_open(db_path, 0, err))) {
        ingest_free(g);
        return NULL;
    }
    if (pthread_create(&g->checkpointer, NULL, checkpointer_main, g) != 0) {
        errinfo_set(err, ERR_INTERNAL, "cannot start the webhook writer's checkpoint thread");
        ingest_free(g);
        return NULL;
    }
    g->started = 1;
    g->joined = 0;
    if (pthread_create(&g->thread, NULL, writer_main, g) != 0) {
        errinfo_set(err, ERR_INTERNAL, "cannot start the webhook writer thread");
        ingest_free(g);
        return NULL;
    }
    g->started = 2;
    return g;
}

void ingest_submit(ingest *g, ingest_item *it) {
    pthread_mutex_lock(&g->mu);
    list_push(&g->queued, it);
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

ingest_item *ingest_take_done(ingest *g) {
    ingest_item *head;

    pthread_mutex_lock(&g->mu);
    head = g->finished.head;
    list_init(&g->finished);
    pthread_mutex_unlock(&g->mu);
    return head;
}

void ingest_abandon(ingest *g, ingest_item *it) {
    int done;

    pthread_mutex_lock(&g->mu);
    done = list_remove(&g->finished, it);
    it->abandoned = !done;
    pthread_mutex_unlock(&g->mu);
    if (done)
        ingest_item_free(it);
}

void ingest_stop(ingest *g) {
    if (!g || g->joined)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->cv);
    pthread_cond_signal(&g->ck_cv);
    pthread_mutex_unlock(&g->mu);
    if (g->started == 2)
        pthread_join(g->thread, NULL);
    pthread_join(g->checkpointer, NULL);
    g->joined = 1;
}
