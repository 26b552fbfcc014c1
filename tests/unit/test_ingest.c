/* Unit tests for the group commit of webhook deliveries: store_deliveries_add
 * (one transaction for many, duplicates, all or nothing) and bot/ingest.c,
 * the writer thread (a batch is committed whole and reported once, a
 * failing batch is retried one delivery at a time, an abandoned item is
 * still committed, stop commits what is queued, the writer's commits never
 * checkpoint and its checkpointer does). */
#include "bot/ingest.h"
#include "store/jobs.h"
#include "tests/unit/check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/deploybot-test-ingest-XXXXXX";
static char db[256];

static void test_store_batch(store *s) {
    errinfo err;
    store_delivery d[4] = {{"b-1", "push", "{}", 0, 0},
                           {"b-2", "pull_request", "{\"a\":1}", 0, 0},
                           {"b-1", "push", "{}", 0, 0},
                           {"b-3", "push", "{}", 0, 0}};
    long before = store_jobs_count(s, NULL, &err);

    CHECK(store_deliveries_add(s, d, 4, &err) == 0);
    CHECK(d[0].job_id > 0 && !d[0].duplicate);
    CHECK(d[1].job_id == d[0].job_id + 1 && !d[1].duplicate);
    CHECK(d[2].job_id == 0 && d[2].duplicate); /* repeated within the batch */
    CHECK(d[3].job_id == d[1].job_id + 1);
    CHECK(store_jobs_count(s, NULL, &err) == before + 3);

    /* All or nothing: an invalid delivery fails the batch, and names itself. */
    store_delivery bad[2] = {{"b-4", "push", "{}", 0, 0}, {"", "push", "{}", 0, 0}};
    CHECK(store_deliveries_add(s, bad, 2, &err) == -1);
    CHECK(err.code == ERR_INVALID);
    CHECK(store_jobs_count(s, NULL, &err) == before + 3);

    /* A delivery seen in an earlier batch is a duplicate. */
    store_delivery again = {"b-3", "push", "{}", 0, 0};
    CHECK(store_deliveries_add(s, &again, 1, &err) == 0 && again.duplicate && again.job_id == 0);
}

/* The done callback: counts batches, wakes the test. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int batches;
} waiter;

static void on_done(void *arg) {
    waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->batches++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int wait_batches(waiter *w, int n) {
    pthread_mutex_lock(&w->mu);
    while (w->batches < n)
        pthread_cond_wait(&w->cv, &w->mu);
    int got = w->batches;
    pthread_mutex_unlock(&w->mu);
    return got;
}

static size_t count(ingest_item *l) {
    size_t n = 0;
    for (; l; l = l->next)
        n++;
    return n;
}

static void free_all(ingest_item *l) {
    while (l) {
        ingest_item *next = l->next;
        ingest_item_free(l);
        l = next;
    }
}

static void submit(ingest *g, const char *id, const char *event, void *conn) {
    ingest_item *it = ingest_item_new(id, event, "{}", conn);
    CHECK(it != NULL);
    if (it)
        ingest_submit(g, it);
}

/* batch_max 4 with a wait far longer than the test: the writer commits only
 * once four are queued, in one batch reported once. */
static void test_writer_batches(void) {
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    ingest_settings set = {.batch_max = 4, .batch_wait_us = 100000000};
    errinfo err;
    ingest *g = ingest_start(db, &set, on_done, &w, &err);
    int conns[4];

    CHECK(g != NULL);
    if (!g)
        return;
    for (int i = 0; i < 4; i++) {
        char id[32];
        snprintf(id, sizeof(id), "w-%d", i);
        submit(g, id, "push", &conns[i]);
    }
    CHECK(wait_batches(&w, 1) == 1);
    ingest_item *done = ingest_take_done(g);
    CHECK(count(done) == 4);
    CHECK(done && done->conn == &conns[0] && done->job_id > 0 && !done->failed);
    CHECK(done && done->next && done->next->job_id == done->job_id + 1);
    free_all(done);
    CHECK(ingest_take_done(g) == NULL);

    /* One bad delivery in a batch fails alone. */
    submit(g, "w-4", "push", NULL);
    submit(g, "w-5", "", NULL);
    submit(g, "w-6", "push", NULL);
    submit(g, "w-1", "push", NULL);
    wait_batches(&w, 2);
    done = ingest_take_done(g);
    CHECK(count(done) == 4);
    if (count(done) == 4) {
        CHECK(done->job_id > 0 && !done->failed);
        CHECK(done->next->failed && done->next->job_id == 0 && done->next->err.code == ERR_INVALID);
        CHECK(done->next->next->job_id > 0);
        CHECK(done->next->next->next->duplicate && !done->next->next->next->failed);
    }
    free_all(done);

    /* Abandoned, then stopped before the batch filled: committed anyway. */
    submit(g, "w-7", "push", NULL);
    ingest_item *left = ingest_item_new("w-8", "push", "{}", NULL);
    ingest_submit(g, left);
    ingest_abandon(g, left);
    ingest_stop(g);
    done = ingest_take_done(g);
    CHECK(count(done) == 1 && done && strcmp(done->delivery, "w-7") == 0 && done->job_id > 0);
    free_all(done);
    ingest_free(g);

    store *s = store_open(db, 0, &err);
    store_delivery d = {"w-8", "push", "{}", 0, 0};
    CHECK(s && store_deliveries_add(s, &d, 1, &err) == 0 && d.duplicate);
    store_close(s);
}

/* An item abandoned after its commit, before it was taken, is freed at once. */
static void test_abandon_done(void) {
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    errinfo err;
    ingest *g = ingest_start(db, NULL, on_done, &w, &err);

    CHECK(g != NULL);
    if (!g)
        return;
    ingest_item *it = ingest_item_new("a-1", "push", "{}", NULL);
    ingest_submit(g, it);
    wait_batches(&w, 1);
    ingest_abandon(g, it);
    CHECK(ingest_take_done(g) == NULL);
    ingest_stop(g);
    ingest_free(g);
}

#define BIG_PAYLOAD (256 * 1024)
#define BIG_DELIVERIES 24 /* 6 MiB: past SQLite's 1000-page threshold */

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A payload of n bytes of JSON. */
static char *big_payload(size_t n) {
    char *p = malloc(n + 1);
    if (!p)
        abort();
    memset(p, ' ', n);
    p[0] = '{';
    p[n - 1] = '}';
    p[n] = '\0';
    return p;
}

/* Commits that leave the log far past the threshold copy nothing into the
 * database on a STORE_NO_CHECKPOINT connection; another connection's
 * checkpoint does, and the next commit starts the log over. */
static void test_store_no_checkpoint(void) {
    char path[300], id[32];
    errinfo err;
    char *payload = big_payload(BIG_PAYLOAD);
    store *w, *ck;

    snprintf(path, sizeof(path), "%s/nock.db", tmpdir);
    w = store_open(path, STORE_NO_CHECKPOINT, &err);
    ck = store_open(path, 0, &err);
    CHECK(w != NULL && ck != NULL);
    if (!w || !ck)
        goto out;
    long before = file_size(path);
    for (int i = 0; i < BIG_DELIVERIES; i++) {
        snprintf(id, sizeof(id), "big-%d", i);
        store_delivery d = {id, "push", payload, 0, 0};
        CHECK(store_deliveries_add(w, &d, 1, &err) == 0);
    }
    CHECK(store_log_pages(w) >= 1000);
    CHECK(file_size(path) == before);
    CHECK(store_log_pages(ck) == 0); /* it checkpoints itself: nothing noted */
    CHECK(store_checkpoint(ck, &err) == 0);
    CHECK(file_size(path) > (long)BIG_DELIVERIES * BIG_PAYLOAD);
    store_delivery d = {"big-after", "push", "{}", 0, 0};
    CHECK(store_deliveries_add(w, &d, 1, &err) == 0);
    CHECK(store_log_pages(w) < 1000);
out:
    store_close(w);
    store_close(ck);
    free(payload);
}

/* The writer's checkpointer: deliveries past the threshold end up in the
 * database file while the writer goes on, without anyone else checkpointing. */
static void test_writer_checkpoints(void) {
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    char path[300], id[32];
    errinfo err;
    char *payload = big_payload(BIG_PAYLOAD);
    ingest *g;

    snprintf(path, sizeof(path), "%s/writer-ck.db", tmpdir);
    g = ingest_start(path, NULL, on_done, &w, &err);
    CHECK(g != NULL);
    if (!g) {
        free(payload);
        return;
    }
    for (int i = 0; i < BIG_DELIVERIES; i++) {
        snprintf(id, sizeof(id), "ck-%d", i);
        ingest_item *it = ingest_item_new(id, "push", payload, NULL);
        ingest_submit(g, it);
        wait_batches(&w, i + 1);
        free_all(ingest_take_done(g));
    }
    /* The checkpoint runs beside the writer: wait for it (bounded). */
    for (int i = 0; i < 1000 && file_size(path) < (long)BIG_DELIVERIES * BIG_PAYLOAD / 2; i++)
        usleep(10000);
    CHECK(file_size(path) >= (long)BIG_DELIVERIES * BIG_PAYLOAD / 2);
    ingest_stop(g);
    ingest_free(g);
    free(payload);
}

int main(void) {
    errinfo err;

    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(db, sizeof(db), "%s/deploybot.db", tmpdir);
    store *s = store_open(db, STORE_MKDIR, &err);
    CHECK(s != NULL);
    if (s)
        test_store_batch(s);
    store_close(s);
    test_writer_batches();
    test_abandon_done();
    test_store_no_checkpoint();
    test_writer_checkpoints();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return CHECK_DONE();
}
