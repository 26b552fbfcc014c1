/* envstate: each state of envstate.h from a history made through the store's
 * own calls (drift runs, which the drift checker records, by SQL), and the
 * precedence between them. */
#include "store/envstate.h"
#include "store/locks.h"
#include "store/runs.h"
#include "tests/unit/check.h"
#include "tests/unit/testdb.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static char path[256];
static long next_job = 1;

static long add(store *s, const char *env, const char *kind, const char *sha) {
    run_spec spec = {next_job++, env, "acme/infra", sha, NULL, "refs/heads/main", 0, kind, "push"};
    return store_run_add(s, &spec, NULL);
}

/* Claims the run just added (the only queued one) and finishes it. */
static long done(store *s, const char *env, const char *kind, const char *sha, const char *state) {
    run r, *sup;
    size_t nsup;
    long id = add(s, env, kind, sha);

    CHECK(store_run_claim(s, NULL, &r, &sup, &nsup, NULL) == 1 && r.id == id);
    run_free(&r);
    run_list_free(sup, nsup);
    CHECK(store_run_finish(s, id, NULL, state, NULL, state, "", NULL) == 0);
    return id;
}

static void sql(const char *text) {
    CHECK(testdb_exec(path, text) == 0);
}

static const char *state_of(store *s, const char *env) {
    env_status x;
    static char name[16];

    CHECK(store_env_state(s, env, &x, NULL) >= 0);
    snprintf(name, sizeof(name), "%s", env_state_name(x.state));
    env_status_free(&x);
    return name;
}

static void test_unknown(store *s) {
    env_status x;
    CHECK(store_env_state(s, "nowhere", &x, NULL) == 0);
    CHECK(x.state == ENV_IN_SYNC && !x.deployed_sha && x.last.id == 0 && !x.locked);
    env_status_free(&x);
}

static void test_deployed_and_failed(store *s) {
    env_status x;
    long good = done(s, "dev", "apply", SHA_A, "succeeded");

    CHECK_STR(state_of(s, "dev"), "in_sync");
    done(s, "dev", "plan", SHA_B, "failed"); /* a plan changes nothing */
    CHECK_STR(state_of(s, "dev"), "in_sync");
    long bad = done(s, "dev", "apply", SHA_B, "failed");
    CHECK(store_env_state(s, "dev", &x, NULL) == 1);
    CHECK(x.state == ENV_FAILED && x.last.id == bad);
    CHECK_STR(x.deployed_sha, SHA_A); /* still what the good apply left */
    CHECK(x.deployed_run == good && x.deployed_ms > 0);
    env_status_free(&x);
    done(s, "dev", "apply", SHA_B, "succeeded");
    CHECK_STR(state_of(s, "dev"), "in_sync");
    done(s, "dev", "destroy", SHA_B, "succeeded");
    CHECK(store_env_state(s, "dev", &x, NULL) == 1 && !x.deployed_sha);
    env_status_free(&x);
}

static void test_drift(store *s) {
    done(s, "stg", "apply", SHA_A, "succeeded");
    sql("INSERT INTO runs(env, repo, sha, kind, trigger, state, result, created_ms, finished_ms)"
        " VALUES('stg', 'acme/infra', '" SHA_A
        "', 'drift', 'schedule', 'drifted',"
        " 'Plan: 0 to add, 1 to change, 0 to destroy.', 1, 9999999999999)");
    CHECK_STR(state_of(s, "stg"), "drifted");
    sql("INSERT INTO runs(env, repo, sha, kind, trigger, state, result, created_ms, finished_ms)"
        " VALUES('stg', 'acme/infra', '" SHA_A
        "', 'drift', 'schedule', 'succeeded',"
        " 'drift resolved', 2, 9999999999999)");
    CHECK_STR(state_of(s, "stg"), "in_sync");
}

/* applying > locked > queued > the last outcome. */
static void test_precedence(store *s) {
    run r, *sup;
    size_t nsup;
    env_status x;

    done(s, "prd", "apply", SHA_A, "failed");
    long queued = add(s, "prd", "apply", SHA_B);
    CHECK_STR(state_of(s, "prd"), "queued");
    CHECK(store_lock_set(s, "prd", "release <freeze>", "alice", NULL) == 0);
    CHECK(store_env_state(s, "prd", &x, NULL) == 1);
    CHECK(x.state == ENV_LOCKED && x.queued == 1 && x.locked && x.last.id == queued);
    CHECK_STR(x.lock_reason, "release <freeze>");
    CHECK_STR(x.locked_by, "alice");
    env_status_free(&x);
    CHECK(store_run_claim(s, NULL, &r, &sup, &nsup, NULL) == 1 && r.id == queued);
    CHECK(store_env_state(s, "prd", &x, NULL) == 1);
    CHECK(x.state == ENV_APPLYING && x.running == queued && x.queued == 0);
    env_status_free(&x);
    run_free(&r);
    run_list_free(sup, nsup);
    json_t *j = NULL;
    CHECK(store_env_state(s, "prd", &x, NULL) == 1 && (j = env_status_json(&x)));
    CHECK_STR(json_string_value(json_object_get(j, "state")), "applying");
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "lock"), "by")), "alice");
    CHECK(json_integer_value(json_object_get(json_object_get(j, "last_run"), "id")) == queued);
    CHECK(json_is_null(json_object_get(j, "deployed")));
    json_decref(j);
    env_status_free(&x);
}

static void test_list(store *s) {
    const char *also[] = {"zeta", "dev"};
    size_t n = 0;
    env_status *list = store_env_states(s, also, 2, &n, NULL);

    CHECK(list && n == 4);
    if (list && n == 4) {
        CHECK_STR(list[0].env, "dev");
        CHECK_STR(list[1].env, "prd");
        CHECK_STR(list[2].env, "stg");
        CHECK_STR(list[3].env, "zeta");
        CHECK(list[3].state == ENV_IN_SYNC && list[3].last.id == 0);
    }
    env_status_list_free(list, n);
}

int main(void) {
    char dir[] = "/tmp/test_envstate.XXXXXX";
    if (!mkdtemp(dir)) return 2;
    testdb_fresh(dir, "db", path, sizeof(path));
    store *s = store_open(path, 0, NULL);
    CHECK(s != NULL);
    if (!s) return CHECK_DONE();
    test_unknown(s);
    test_deployed_and_failed(s);
    test_drift(s);
    test_precedence(s);
    test_list(s);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}
