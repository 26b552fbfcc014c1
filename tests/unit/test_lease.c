/* Unit tests for several replicas on one database (store/lease.h): a run's
 * claim takes its environment's lease with a growing fencing token; renewal
 * keeps it; an expired lease cannot be renewed and its run is taken over;
 * the old holder's log lines and finish are refused (ERR_CONFLICT naming the
 * new token) while the new holder's go through; job and message claims
 * expire and are taken over, renewed ones stay; a dead replica's presence
 * is seen at once, a live one's not. Two connections stand for two
 * replicas. */
#include "store/jobs.h"
#include "store/lease.h"
#include "store/outbox.h"
#include "store/runs.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/deploybot-test-lease-XXXXXX";
static char db_path[256];

static long add(store *s, long job, const char *env) {
    run_spec spec = {job, env, "o/r", "0123456789abcdef0123456789abcdef01234567", NULL, "refs/heads/main", 0, "apply", "push"};
    return store_run_add(s, &spec, NULL);
}

static int claim(store *s, const store_claimer *c, run *x) {
    run *sup;
    size_t n;
    int got = store_run_claim(s, c, x, &sup, &n, NULL);
    run_list_free(sup, n);
    return got;
}

static char *log_of(store *s, long id) {
    json_t *o = store_run_get_json(s, id, NULL);
    char *log = strdup(json_string_value(json_object_get(o, "log")));
    json_decref(o);
    return log;
}

/* A paused replica (a's lease runs out) and the one that takes over (b). */
static void test_fencing(store *a, store *b) {
    store_claimer ca = {"a:1:0", 0}, cb = {"b:2:0", 60000}; /* a's lease is over at once */
    run x, y;
    store_taken n;
    errinfo err;
    long id = add(a, 1, "prd");

    CHECK(claim(a, &ca, &x) == 1 && x.id == id && x.fence == 1);
    store_fence fa = {ca.holder, x.fence};
    CHECK(store_lease_renew(a, "prd", &fa, 60000, NULL) == 0); /* expired: lost for good */
    CHECK(claim(b, &cb, &y) == 0);                             /* still 'running' until taken over */
    CHECK(store_takeover(b, &n, NULL) == 0 && n.runs == 1);
    CHECK(claim(b, &cb, &y) == 1 && y.id == id && y.fence == 2 && y.attempts == 2);
    store_fence fb = {cb.holder, y.fence};
    CHECK(store_takeover(b, &n, NULL) == 0 && n.runs == 0); /* b's lease is live */
    CHECK(store_lease_renew(b, "prd", &fb, 60000, NULL) == 1);
    CHECK(store_run_log_append(b, id, &fb, "b applies", NULL) == 0);
    CHECK(store_run_log_append(a, id, &fa, "a late", &err) == -1 && err.code == ERR_CONFLICT);
    CHECK(strstr(err.msg, "lease of prd lost to fence 2") != NULL);
    CHECK(store_run_finish(a, id, &fa, "failed", NULL, "a's outcome", "a", &err) == -1 && err.code == ERR_CONFLICT);
    CHECK(store_run_finish(b, id, &fb, "succeeded", NULL, "b's outcome", "b applies\n", NULL) == 0);
    char *log = log_of(a, id);
    CHECK(log && strstr(log, "a late") == NULL && strstr(log, "b applies") != NULL);
    free(log);
    CHECK(store_lease_renew(b, "prd", &fb, 60000, NULL) == 0); /* given back at the finish */
    CHECK(store_run_finish(b, id, &fb, "failed", NULL, "again", "", &err) == -1 && err.code == ERR_CONFLICT);
    run_free(&x);
    run_free(&y);
}

/* Job and message claims: expired ones go back, renewed ones stay. */
static void test_claims(store *a, store *b) {
    store_claimer ca = {"a:1:0", 0}, cb = {"b:2:0", 60000};
    store_job j;
    outbox_msg m;
    store_taken n;
    outbox_new_msg msg = {"github_status", "o/r", "github", NULL, "{}"};
    long job;

    CHECK(store_delivery_add(a, "d-1", "push", "{}", &job, NULL, NULL) == 0);
    CHECK(store_outbox_enqueue(a, &msg, 0, NULL, NULL) == 0);
    CHECK(store_job_claim(a, &ca, &j, NULL) == 1 && j.id == job);
    store_job_free(&j);
    CHECK(store_outbox_claim(a, 0, &ca, &m, NULL) == 1);
    outbox_msg_free(&m);
    CHECK(store_claims_renew(a, &(store_claimer){ca.holder, 60000}, NULL) == 0); /* expired already */
    CHECK(store_takeover(b, &n, NULL) == 0 && n.jobs == 1 && n.messages == 1);
    CHECK(store_job_claim(b, &cb, &j, NULL) == 1 && j.id == job && j.attempts == 2);
    store_job_free(&j);
    CHECK(store_outbox_claim(b, 0, &cb, &m, NULL) == 1 && m.attempts == 2);
    outbox_msg_free(&m);
    CHECK(store_claims_renew(b, &cb, NULL) == 2);
    CHECK(store_takeover(a, &n, NULL) == 0 && n.jobs == 0 && n.messages == 0);
    char **holders;
    int nh = store_holders(a, "a:1:0", &holders, NULL);
    CHECK(nh == 1 && strcmp(holders[0], "b:2:0") == 0);
    store_holders_free(holders, nh);
    CHECK(store_holder_forget(a, "b:2:0", NULL) == 0);
    CHECK(store_takeover(a, &n, NULL) == 0 && n.jobs == 1 && n.messages == 1);
}

/* A child process joins and dies (as kill -9 would: no leave): dead. */
static void test_presence(store *s) {
    int fd = store_presence_join(s, "me:1:0", NULL);
    CHECK(fd >= 0 && store_presence_dead(s, "me:1:0") == 0);
    pid_t pid = fork();
    if (pid == 0) {
        store_presence_join(s, "child:2:0", NULL);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(store_presence_dead(s, "child:2:0") == 1);
    CHECK(store_presence_dead(s, "child:2:0") == 0); /* its file went with the first look */
    CHECK(store_presence_dead(s, "never:3:0") == 0); /* no file: unknown */
    CHECK(store_presence_dead(s, "../x") == 0);      /* no file name: unknown */
    store_presence_leave(s, "me:1:0", fd);
    int other = store_presence_join(s, "other:4:0", NULL);
    store_presence_sweep(s); /* removes me's file, not other's (locked) */
    CHECK(store_presence_dead(s, "me:1:0") == 0 && store_presence_dead(s, "other:4:0") == 0);
    store_presence_leave(s, "other:4:0", other);
    CHECK(store_presence_dead(s, "other:4:0") == 1);
}

int main(void) {
    errinfo err;
    if (!mkdtemp(tmpdir)) return 2;
    snprintf(db_path, sizeof(db_path), "%s/deploybot.db", tmpdir);
    store *a = store_open(db_path, STORE_MKDIR, &err), *b = store_open(db_path, 0, &err);
    CHECK(a && b);
    if (a && b) {
        test_fencing(a, b);
        test_claims(a, b);
        test_presence(a);
    }
    store_close(a);
    store_close(b);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 2;
    return CHECK_DONE();
}
