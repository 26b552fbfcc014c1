/* store/backlog: what waits (jobs, runs, messages) and for how long the
 * oldest has, as /metrics reads it at a scrape. */
#include "store/backlog.h"
#include "store/jobs.h"
#include "store/outbox.h"
#include "store/runs.h"
#include "tests/unit/check.h"
#include "tests/unit/testdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHA "0123456789abcdef0123456789abcdef01234567"

static long add_run(store *s, long job, const char *env, const char *kind, const char *state) {
    run_spec spec = {.job_id = job, .env = env, .repo = "o/r", .sha = SHA, .kind = kind, .trigger = "push"};
    long id = store_run_add(s, &spec, NULL);
    CHECK(id > 0);
    if (state) CHECK(store_run_finish(s, id, NULL, state, NULL, state, "", NULL) == 0);
    return id;
}

static void test_backlogs(store *s) {
    store_backlogs b;
    CHECK(store_backlogs_get(s, 0, &b, NULL) == 0);
    CHECK(b.jobs.count == 0 && b.jobs.oldest_age_s == 0);
    CHECK(b.runs.count == 0 && b.runs.oldest_age_s == 0);
    add_run(s, 1, "dev", "apply", "succeeded");
    add_run(s, 2, "dev", "apply", NULL); /* queued */
    add_run(s, 3, "prd", "plan", NULL);
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
    CHECK(b.runs.count == 2 && b.runs.oldest_age_s > 3600);
}

int main(void) {
    char dir[] = "/tmp/test_backlog.XXXXXX", path[256];
    if (!mkdtemp(dir)) return 2;
    testdb_fresh(dir, "deploybot.db", path, sizeof(path));
    store *s = store_open(path, 0, NULL);
    CHECK(s != NULL);
    if (s) test_backlogs(s);
    store_close(s);
    unlink(path);
    char wal[300];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", path);
    unlink(wal);
    rmdir(dir);
    return CHECK_DONE();
}
