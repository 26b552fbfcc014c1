/* Unit tests for the control of runs: store_run_cancel on a queued, a
 * running, an ended and a missing run; bot/runstop's three reasons (the
 * timeout, a cancel request read from the database, the shutdown flag);
 * store_prune_batch's batches and what it always keeps; bot/cfgsnap's
 * references across a swap. Each run uses a fresh temporary directory. */
#include "bot/cfgsnap.h"
#include "bot/runstop.h"
#include "store/retention.h"
#include "store/runs.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/deploybot-test-runstop-XXXXXX";
static char db_path[256];

static long add(store *s, long job, const char *env, const char *kind) {
    run_spec spec = {job, env, "o/r", "0123456789abcdef0123456789abcdef01234567", NULL, NULL, 0, kind, "push"};
    return store_run_add(s, &spec, NULL);
}

/* Claims the next run, so that it is running; returns its id. */
static long claim(store *s) {
    run x, *sup;
    size_t n;
    long id = store_run_claim(s, NULL, &x, &sup, &n, NULL) == 1 ? x.id : 0;
    run_list_free(sup, n);
    if (id) run_free(&x);
    return id;
}

static const char *state_of(store *s, long id, char *buf, size_t len) {
    json_t *o = store_run_get_json(s, id, NULL);
    snprintf(buf, len, "%s:%s", json_string_value(json_object_get(o, "state")),
             json_string_value(json_object_get(o, "result")) ? json_string_value(json_object_get(o, "result")) : "");
    json_decref(o);
    return buf;
}

static void test_cancel(store *s) {
    errinfo err;
    char by[64], buf[128];
    long running = add(s, 1, "dev", "apply"), queued = add(s, 2, "dev", "plan");

    CHECK(claim(s) == running);
    CHECK(store_run_cancel_requested(s, running, by, sizeof(by), NULL) == 0);
    CHECK(store_run_cancel(s, queued, "cli", &err) == 1);
    CHECK_STR(state_of(s, queued, buf, sizeof(buf)), "failed:canceled by cli");
    CHECK(store_run_cancel(s, running, "api", &err) == 2);
    CHECK_STR(state_of(s, running, buf, sizeof(buf)), "running:"); /* its thread ends it */
    CHECK(store_run_cancel_requested(s, running, by, sizeof(by), NULL) == 1);
    CHECK_STR(by, "api");
    CHECK(store_run_cancel(s, running, "cli", &err) == 2); /* asked twice: the first stays */
    CHECK(store_run_cancel_requested(s, running, by, sizeof(by), NULL) == 1);
    CHECK_STR(by, "api");
    CHECK(store_run_cancel(s, queued, "cli", &err) == -1 && err.code == ERR_CONFLICT);
    CHECK(strstr(err.msg, "has ended already (failed)") != NULL);
    CHECK(store_run_cancel(s, 9999, "cli", &err) == -1 && err.code == ERR_NOT_FOUND);
    CHECK(store_run_finish(s, running, NULL, "failed", NULL, "canceled by api", "", NULL) == 0);
}

static void test_runstop(store *s) {
    runstop r;
    atomic_int closing;
    char desc[128];
    long id = add(s, 3, "stg", "apply");

    atomic_init(&closing, 0);
    CHECK(claim(s) == id);
    runstop_init(&r, id, 3600, &closing, s);
    CHECK(runstop_check(&r) == 0 && runstop_reason(&r) == RUNSTOP_NONE);
    CHECK(store_run_cancel(s, id, "cli", NULL) == 2);
    usleep((RUNSTOP_POLL_MS + 50) * 1000); /* the database is read at most this often */
    CHECK(runstop_check(&r) == 1 && runstop_reason(&r) == RUNSTOP_CANCELED);
    atomic_store(&closing, 1);
    CHECK(runstop_check(&r) == 1 && runstop_reason(&r) == RUNSTOP_CANCELED); /* the first reason stays */
    runstop_describe(&r, desc, sizeof(desc));
    CHECK_STR(desc, "canceled by cli");
    runstop_destroy(&r);

    runstop_init(&r, id, 0, &closing, NULL); /* shutting down wins over a timeout */
    CHECK(runstop_check(&r) == 1 && runstop_reason(&r) == RUNSTOP_SHUTDOWN);
    runstop_destroy(&r);
    atomic_store(&closing, 0);
    runstop_init(&r, id, 0, &closing, NULL);
    CHECK(runstop_check(&r) == 1 && runstop_reason(&r) == RUNSTOP_TIMEOUT);
    runstop_describe(&r, desc, sizeof(desc));
    CHECK_STR(desc, "timed out after 0s");
    runstop_destroy(&r);
    store_run_finish(s, id, NULL, "failed", NULL, "canceled by cli", "", NULL);
}

/* 1,200 old runs of "old": 3 batches of 500 leave its newest successful
 * apply, newest successful run and newest finished run; "live" keeps its
 * running run; the runs made before the cutoff only go. */
static void test_prune(store *s) {
    store_pruned p = {0};
    long ids[1200], live = add(s, 5000, "live", "apply");
    CHECK(claim(s) == live);
    for (int i = 0; i < 1200; i++) {
        ids[i] = add(s, 10000 + i, "old", i == 10 ? "apply" : "plan");
        const char *state = i == 10 || i == 500 ? "succeeded" : "failed";
        CHECK(store_run_finish(s, ids[i], NULL, state, NULL, NULL, "", NULL) == 0);
    }
    long long future = 32503680000000LL; /* every row is older than this */
    long n1 = store_prune_batch(s, future, 500, &p, NULL);
    CHECK(n1 >= 500);
    CHECK(store_prune_batch(s, future, 500, &p, NULL) > 0);
    CHECK(store_prune_batch(s, future, 500, &p, NULL) > 0);
    CHECK(store_prune_batch(s, future, 500, &p, NULL) == 0);
    json_t *old = store_runs_list_json(s, "old", 100, NULL), *alive = store_runs_list_json(s, "live", 100, NULL);
    CHECK(json_array_size(old) == 3);
    CHECK(json_integer_value(json_object_get(json_array_get(old, 0), "id")) == ids[1199]);
    CHECK(json_integer_value(json_object_get(json_array_get(old, 1), "id")) == ids[500]);
    CHECK(json_integer_value(json_object_get(json_array_get(old, 2), "id")) == ids[10]);
    CHECK(json_array_size(alive) == 1);
    json_decref(old);
    json_decref(alive);
    CHECK(p.runs >= 1197 && p.jobs == 0 && p.deliveries == 0);
    store_pruned none = {0};
    CHECK(store_prune_batch(s, 1, 500, &none, NULL) == 0 && none.runs == 0); /* nothing that old */
}

static void test_cfgsnap(void) {
    bot_config a, b;
    errinfo err;
    CHECK(bot_config_load(NULL, &a, &err) == 0 && bot_config_load(NULL, &b, &err) == 0);
    a.runners = 3;
    b.runners = 5;
    cfgsnap *snap = cfgsnap_new(&a);
    const bot_config *held = cfgsnap_get(snap);
    cfgsnap_swap(snap, &b);
    const bot_config *now = cfgsnap_get(snap);
    CHECK(held->runners == 3 && now->runners == 5); /* the run in flight keeps its settings */
    CHECK(held->listen && !strcmp(held->listen, "127.0.0.1"));
    cfgsnap_put(snap, held);
    cfgsnap_put(snap, now);
    cfgsnap_free(snap);
}

int main(void) {
    errinfo err;
    if (!mkdtemp(tmpdir)) return 2;
    snprintf(db_path, sizeof(db_path), "%s/deploybot.db", tmpdir);
    store *s = store_open(db_path, STORE_MKDIR, &err);
    CHECK(s != NULL);
    if (s) {
        test_cancel(s);
        test_runstop(s);
        test_prune(s);
        store_close(s);
    }
    test_cfgsnap();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 2;
    return CHECK_DONE();
}
