/* store/gauges: the backlogs with their oldest ages, and each environment's
 * state by the rule of the run history (the newest finished apply, destroy,
 * remediate or drift run), as /metrics reads them at a scrape. */
#include "store/gauges.h"
#include "store/jobs.h"
#include "store/locks.h"
#include "store/outbox.h"
#include "store/runs.h"
#include "tests/unit/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHA "0123456789abcdef0123456789abcdef01234567"

static long add_run(store *s, long job, const char *env, const char *kind, const char *state) {
    run_spec spec = {.job_id = job, .env = env, .repo = "o/r", .sha = SHA, .kind = kind, .trigger = "push"};
    long id = store_run_add(s, &spec, NULL);
    CHECK(id > 0);
    if (state) CHECK(store_run_finish(s, id, state, NULL, state, "", NULL) == 0);
    return id;
}

typedef struct {
    char names[8][16];
    store_env_gauge g[8];
    int n;
} seen;

static void collect(void *arg, const store_env_gauge *g) {
    seen *x = arg;
    if (x->n == 8) return;
    snprintf(x->names[x->n], sizeof(x->names[0]), "%s", g->env);
    x->g[x->n] = *g;
    x->g[x->n].env = x->names[x->n];
    x->n++;
}

static const store_env_gauge *find(const seen *x, const char *env) {
    for (int i = 0; i < x->n; i++)
        if (strcmp(x->g[i].env, env) == 0) return &x->g[i];
    return NULL;
}

static void test_env_states(store *s) {
    add_run(s, 1, "applied", "apply", "succeeded");
    add_run(s, 2, "broken", "apply", "succeeded");
    add_run(s, 3, "broken", "apply", "failed"); /* newest: neither in sync nor drifted */
    add_run(s, 4, "planned", "plan", "succeeded");
    add_run(s, 5, "skipped", "apply", "skipped");
    add_run(s, 6, "blocked", "apply", "succeeded");
    add_run(s, 7, "blocked", "apply", "blocked");
    add_run(s, 8, "blocked", "plan", "failed"); /* a plan does not count */
    add_run(s, 9, "applied", "apply", NULL);    /* queued: not finished, does not count */
    CHECK(store_lock_set(s, "lockedonly", "freeze", "ops", NULL) == 0);
    CHECK(store_lock_set(s, "applied", "freeze", "ops", NULL) == 0);

    seen x = {0};
    CHECK(store_env_gauges(s, collect, &x, NULL) == 0);
    CHECK(x.n == 6);
    CHECK_STR(x.g[0].env, "applied"); /* by name */
    const store_env_gauge *g = find(&x, "applied");
    CHECK(g && g->in_sync && !g->drifted && g->locked && g->last_apply_ms > 1700000000000LL);
    g = find(&x, "broken");
    CHECK(g && !g->in_sync && !g->drifted && !g->locked && g->last_apply_ms > 0);
    g = find(&x, "planned");
    CHECK(g && !g->in_sync && !g->drifted && g->last_apply_ms == 0);
    g = find(&x, "skipped");
    CHECK(g && g->in_sync && g->last_apply_ms == 0);
    g = find(&x, "blocked");
    CHECK(g && !g->in_sync && g->last_apply_ms > 0);
    g = find(&x, "lockedonly");
    CHECK(g && g->locked && !g->in_sync && g->last_apply_ms == 0);
}

static void test_backlogs(store *s) {
    store_backlogs b;
    CHECK(store_backlogs_get(s, 0, &b, NULL) == 0);
    CHECK(b.jobs.count == 0 && b.jobs.oldest_age_s == 0);
    CHECK(b.runs.count == 1); /* test_env_states' queued apply */
    CHECK(b.outbox.count == 0 && b.outbox.oldest_age_s == 0);

    long id = 0;
    int dup = 0;
    CHECK(store_delivery_add(s, "d1", "push", "{}", &id, &dup, NULL) == 0 && !dup);
    outbox_new_msg m = {.kind = "github_status", .target = "o/r", .channel = "github", .payload = "{}"};
    CHECK(store_outbox_enqueue(s, &m, 1000000, NULL, NULL) == 0);
    CHECK(store_outbox_enqueue(s, &m, 1002000, NULL, NULL) == 0);
    CHECK(store_backlogs_get(s, 1003500, &b, NULL) == 0);
    CHECK(b.outbox.count == 2 && b.outbox.oldest_age_s == 3.5);
    /* Jobs and runs are stamped by the database's clock: seen from 2100-01-01. */
    CHECK(store_backlogs_get(s, 4102444800000LL, &b, NULL) == 0);
    CHECK(b.jobs.count == 1 && b.jobs.oldest_age_s > 3600);
    CHECK(b.runs.count == 1 && b.runs.oldest_age_s > 3600);
}

int main(void) {
    char dir[] = "/tmp/test_gauges.XXXXXX", path[128];
    if (!mkdtemp(dir)) return 2;
    snprintf(path, sizeof(path), "%s/deploybot.db", dir);
    store *s = store_open(path, 0, NULL);
    CHECK(s != NULL);
    if (s) {
        test_env_states(s);
        test_backlogs(s);
    }
    store_close(s);
    unlink(path);
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", path);
    unlink(wal);
    rmdir(dir);
    return CHECK_DONE();
}
