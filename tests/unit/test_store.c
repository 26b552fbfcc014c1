/* store: opening a database made by the deploybot before store/ existed
 * (every module created its own tables; the queue counted versions 1-2)
 * upgrades it in place and keeps every row; a database from a newer
 * deploybot is refused; a fresh one gets the latest schema once. */
#include "store/drift.h"
#include "store/jobs.h"
#include "store/keys.h"
#include "store/locks.h"
#include "store/outbox.h"
#include "store/prs.h"
#include "store/retention.h"
#include "store/runs.h"
#include "tests/unit/check.h"
#include "tests/unit/testdb.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCHEMA_LATEST 8
#define SHA "0123456789abcdef0123456789abcdef01234567"

/* The tables as the queue, runs, envlock, outbox and prstate modules of the
 * previous release created them, with one row of each kind. */
static const char OLD_DATABASE[] =
    "CREATE TABLE IF NOT EXISTS deliveries(id TEXT PRIMARY KEY, event TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS jobs(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  delivery TEXT NOT NULL REFERENCES deliveries(id), event TEXT NOT NULL, payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','running','done','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0, run_after INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, summary TEXT);"
    "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, id);"
    "PRAGMA user_version=2;"
    "CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER,"
    "  env TEXT NOT NULL, repo TEXT NOT NULL, sha TEXT NOT NULL, before_sha TEXT, ref TEXT,"
    "  pr_number INTEGER NOT NULL DEFAULT 0,"
    "  kind TEXT NOT NULL CHECK (kind IN ('plan','apply','destroy')), trigger TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN"
    "    ('queued','running','succeeded','failed','superseded','skipped','blocked')),"
    "  attempts INTEGER NOT NULL DEFAULT 0, plan_summary TEXT, result TEXT,"
    "  log TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL, started_ms INTEGER,"
    "  finished_ms INTEGER, UNIQUE (job_id, env));"
    "CREATE INDEX IF NOT EXISTS runs_by_env ON runs(env, state, id);"
    "CREATE TABLE IF NOT EXISTS locks(env TEXT PRIMARY KEY, reason TEXT NOT NULL,"
    "  locked_by TEXT, locked_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
    "  target TEXT NOT NULL, channel TEXT NOT NULL, ordering_key TEXT, payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sending','sent','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
    "  next_attempt_at INTEGER NOT NULL, sent_at INTEGER, last_error TEXT);"
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at);"
    "CREATE INDEX IF NOT EXISTS outbox_order ON outbox(ordering_key, id);"
    "CREATE TABLE IF NOT EXISTS outbox_holds(channel TEXT PRIMARY KEY, until_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox_comments(key TEXT PRIMARY KEY, comment_id INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS notify_pr_heads(repo TEXT NOT NULL, pr INTEGER NOT NULL,"
    "  sha TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (repo, pr));"
    "CREATE TABLE IF NOT EXISTS notify_pr_envs(repo TEXT NOT NULL, pr INTEGER NOT NULL,"
    "  env TEXT NOT NULL, sha TEXT NOT NULL, pos INTEGER NOT NULL DEFAULT 0,"
    "  pending INTEGER NOT NULL DEFAULT 1, applied INTEGER NOT NULL DEFAULT 0,"
    "  failed INTEGER NOT NULL DEFAULT 0, changes INTEGER NOT NULL DEFAULT 0,"
    "  summary TEXT, plan_text TEXT, error TEXT, url TEXT, PRIMARY KEY (repo, pr, env));"
    "INSERT INTO deliveries VALUES('d-old', 'push', 0);"
    "INSERT INTO jobs(delivery, event, payload, state, created_at)"
    "  VALUES('d-old', 'push', '{\"old\":1}', 'running', 0);"
    "INSERT INTO runs(job_id, env, repo, sha, kind, trigger, state, created_ms, finished_ms)"
    "  VALUES(1, 'prd', 'acme/infra', '" SHA
    "', 'apply', 'push', 'succeeded', 1, 2);"
    "INSERT INTO runs(job_id, env, repo, sha, kind, trigger, state, log, created_ms)"
    "  VALUES(1, 'dev', 'acme/infra', '" SHA
    "', 'plan', 'push', 'running', 'line 1\n', 3);"
    "INSERT INTO locks VALUES('prd', 'audit', 'alice', 5);"
    "INSERT INTO outbox(kind, target, channel, ordering_key, payload, state, attempts, created_at,"
    "  next_attempt_at) VALUES('github_status', 'acme/infra', 'github', 'k', '{}', 'sending', 1, 7, 7);"
    "INSERT INTO outbox_comments VALUES('pr-comment:acme/infra#7', 1000001, 8);"
    "INSERT INTO notify_pr_heads VALUES('acme/infra', 7, '" SHA
    "', 9);"
    "INSERT INTO notify_pr_envs(repo, pr, env, sha, pending, changes, summary)"
    "  VALUES('acme/infra', 7, 'dev', '" SHA "', 0, 1, 'Plan: 1 to add');";

static char dir[64];

static void make(const char *path, const char *sql) {
    sqlite3 *h = NULL;
    CHECK(sqlite3_open(path, &h) == SQLITE_OK && sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
}

static int user_version(const char *path) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_open(path, &h) == SQLITE_OK &&
        sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void check_old_rows(store *s) {
    char sha[41], reason[64], state[16];
    long long comment = 0;
    store_pr_env *envs;
    size_t n;
    store_job j;
    outbox_msg m;
    store_taken taken;

    /* What an older deploybot left running has no lease: taken over. */
    CHECK(store_takeover(s, &taken, NULL) == 0 && taken.jobs == 1 && taken.runs == 1 && taken.messages == 1);
    CHECK(store_job_claim(s, NULL, &j, NULL) == 1);
    CHECK_STR(j.payload, "{\"old\":1}");
    CHECK(j.attempts == 1);
    store_job_free(&j);
    CHECK(store_run_last_good(s, "prd", sha, NULL) == 1);
    CHECK_STR(sha, SHA);
    json_t *log = store_run_log_since(s, 2, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(log, "log")), "line 1\n");
    json_decref(log);
    CHECK(store_lock_get(s, "prd", reason, sizeof(reason), NULL) == 1);
    CHECK_STR(reason, "alice: audit");
    CHECK(store_outbox_claim(s, 7, NULL, &m, NULL) == 1 && m.attempts == 2);
    CHECK(store_outbox_info(s, m.id, state, NULL, NULL, NULL) == 1);
    CHECK_STR(state, "sending");
    outbox_msg_free(&m);
    CHECK(store_outbox_comment_get(s, "pr-comment:acme/infra#7", &comment, NULL) == 1);
    CHECK(comment == 1000001);
    CHECK(store_pr_load(s, "ACME/infra", 7, sha, &envs, &n, NULL) == 1 && n == 1);
    CHECK(n == 1 && !envs[0].pending && envs[0].changes == 1);
    store_pr_envs_free(envs, n);
}

/* Every table written after the upgrade, as the daemon would. */
static void check_writes(store *s) {
    long job = 0;
    int dup = 1;
    run_spec spec = {0, "dev", "acme/infra", SHA, NULL, NULL, 0, "apply", "redeploy"};

    CHECK(store_delivery_add(s, "d-new", "push", "{}", &job, &dup, NULL) == 0 && job > 1 && !dup);
    CHECK(store_run_add(s, &spec, NULL) > 2);
    CHECK(store_lock_clear(s, "prd", &dup, NULL) == 0 && dup == 1);
    outbox_new_msg msg = {"slack", "URL", "chat:slack:URL", NULL, "{}"};
    CHECK(store_outbox_enqueue(s, &msg, 10, NULL, NULL) == 0);
    CHECK(store_pr_head(s, "acme/infra", 7, SHA, NULL, 0, NULL) == 0);
    /* The runs table copied by migration 5 takes the new kinds and state. */
    store_drift_record d = {"prd", "acme/infra", SHA, "drifted", "Plan: 1", "Plan: 1", "d1", "", 1};
    long rem = 0, mark = store_run_add(s, &(run_spec){0, "stg", "acme/infra", SHA, NULL, NULL, 0, "plan", "push"}, NULL);
    CHECK(mark > 3 && store_drift_add(s, mark, &d, &rem, NULL) > mark && rem > mark + 1);
}

/* A run claimed and finished, as a run thread would. */
static long run_done(store *s, const char *kind, const char *state) {
    run_spec spec = {0, "dev", "acme/infra", SHA, NULL, NULL, 0, kind, "redeploy"};
    run x, *sup;
    size_t n;
    long id = store_run_add(s, &spec, NULL);

    CHECK(id > 0 && store_run_claim(s, NULL, &x, &sup, &n, NULL) == 1 && x.id == id);
    run_free(&x);
    run_list_free(sup, n);
    CHECK(store_run_finish(s, id, NULL, state, NULL, NULL, "", NULL) == 0);
    return id;
}

static store_drift_state drift_state(store *s) {
    store_drift_state st;
    errinfo err = {0};
    CHECK(store_drift_state_get(s, "dev", &st, &err) == 0);
    if (err.code) fprintf(stderr, "%s\n", err.msg);
    return st;
}

static size_t deployed(store *s) {
    char **envs;
    size_t n;
    CHECK(store_drift_envs(s, &envs, &n, NULL) == 0);
    size_t dev = n == 1 && strcmp(envs[0], "dev") == 0;
    store_drift_envs_free(envs, n);
    return n == 0 ? 0 : dev ? 1
                            : 99;
}

/* What the drift checks read and write (store/drift.h). */
static void test_drift_history(void) {
    char path[256];
    testdb_fresh(dir, "drift.db", path, sizeof(path));
    store *s = store_open(path, 0, NULL);
    CHECK(s != NULL && deployed(s) == 0 && drift_state(s).sha[0] == '\0');
    long applied = run_done(s, "apply", "succeeded");
    store_drift_state st = drift_state(s);
    CHECK(deployed(s) == 1 && st.mark == applied && !st.busy && !st.drifted);
    CHECK_STR(st.sha, SHA);
    CHECK_STR(st.repo, "acme/infra");

    store_drift_record found = {"dev", "acme/infra", SHA, "drifted", "Plan: 0 to add, 1 to change, 0 to destroy.",
                                "Plan: 0 to add, 1 to change, 0 to destroy.", "d1", "the plan\n", 1};
    long rem = 0, id = store_drift_add(s, st.mark, &found, &rem, NULL);
    CHECK(id > applied && rem == id + 1);
    st = drift_state(s);
    CHECK(st.drifted && st.busy && st.mark == rem); /* its remediation waits */
    CHECK_STR(st.digest, "d1");
    CHECK(store_drift_add(s, applied, &found, NULL, NULL) == 0); /* a run came: abandoned */

    run x, *sup;
    size_t n;
    CHECK(store_run_claim(s, NULL, &x, &sup, &n, NULL) == 1 && x.id == rem);
    CHECK_STR(x.kind, "remediate");
    CHECK_STR(x.trigger, "drift");
    run_free(&x);
    run_list_free(sup, n);
    CHECK(store_run_finish(s, rem, NULL, "succeeded", NULL, NULL, "", NULL) == 0);
    st = drift_state(s);
    CHECK(!st.drifted && !st.busy && st.digest[0] == '\0'); /* put back: no longer drifted */

    store_drift_record resolved = {"dev", "acme/infra", SHA, "succeeded", "No changes.", "drift resolved", NULL, "", 0};
    CHECK(store_drift_add(s, st.mark, &resolved, &rem, NULL) > st.mark && rem == 0);
    run_done(s, "plan", "succeeded"); /* a plan is no deploy */
    CHECK(deployed(s) == 1);
    run_done(s, "destroy", "succeeded");
    CHECK(deployed(s) == 0); /* destroyed: nothing to drift */
    store_close(s);
}

static void test_upgrade_previous_release(void) {
    unsigned char key[32], again[32];
    char path[128];
    errinfo err;
    snprintf(path, sizeof(path), "%s/old.db", dir);
    make(path, OLD_DATABASE);
    store *s = store_open(path, 0, &err);
    CHECK(s != NULL);
    if (!s) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        return;
    }
    CHECK(user_version(path) == SCHEMA_LATEST);
    check_old_rows(s);
    check_writes(s);
    CHECK(store_key_get(s, "session", key, sizeof(key), NULL) == 0);
    store_close(s);
    s = store_open(path, 0, &err); /* upgraded once: opens as it is */
    CHECK(s != NULL && user_version(path) == SCHEMA_LATEST);
    CHECK(s && store_key_get(s, "session", again, sizeof(again), NULL) == 0);
    CHECK(memcmp(key, again, sizeof(key)) == 0); /* kept, not made anew */
    store_close(s);
}

/* `deploybot lock` run before the daemon ever started made only the locks. */
static void test_upgrade_locks_only(void) {
    char path[128], reason[64];
    snprintf(path, sizeof(path), "%s/locks.db", dir);
    make(path,
         "CREATE TABLE locks(env TEXT PRIMARY KEY, reason TEXT NOT NULL, locked_by TEXT,"
         " locked_ms INTEGER NOT NULL); INSERT INTO locks VALUES('dev', 'freeze', NULL, 1);");
    store *s = store_open(path, 0, NULL);
    CHECK(s != NULL && user_version(path) == SCHEMA_LATEST);
    CHECK(s && store_lock_get(s, "dev", reason, sizeof(reason), NULL) == 1);
    CHECK_STR(reason, "?: freeze");
    CHECK(s && store_delivery_add(s, "d-1", "push", "{}", NULL, NULL, NULL) == 0);
    store_close(s);
}

static void test_newer_refused(void) {
    char path[128];
    errinfo err;
    snprintf(path, sizeof(path), "%s/newer.db", dir);
    make(path, "PRAGMA user_version=99;");
    CHECK(store_open(path, 0, &err) == NULL);
    CHECK_CONTAINS(err.msg, "newer.db: schema version 99 is newer than this deploybot understands");
    CHECK(user_version(path) == 99); /* left alone */
}

static void test_fresh(void) {
    char path[128];
    snprintf(path, sizeof(path), "%s/a/b/fresh.db", dir);
    CHECK(store_open(path, 0, NULL) == NULL); /* no directory, and not asked to make it */
    store *s = store_open(path, STORE_MKDIR, NULL);
    CHECK(s != NULL && user_version(path) == SCHEMA_LATEST);
    CHECK(s && store_jobs_count(s, NULL, NULL) == 0 && store_outbox_count(s, NULL, NULL) == 0);
    unsigned char a[32], b[32];
    CHECK(s && store_key_get(s, "a", a, sizeof(a), NULL) == 0 && store_key_get(s, "b", b, sizeof(b), NULL) == 0);
    CHECK(memcmp(a, b, sizeof(a)) != 0);
    store_close(s);
}

/* The statements no other test here reaches, on either backend: the log
 * read from a byte offset (UTF-8 too), superseding, cancels, the run
 * list's filters, locks, pull request plans and pruning. */
static void test_statements(void) {
    char path[256], by[32], sha[41];
    testdb_fresh(dir, "statements.db", path, sizeof(path));
    store *s = store_open(path, 0, NULL);
    CHECK(s != NULL);
    if (!s) return;
    run_spec a = {1, "dev", "acme/infra", SHA, NULL, NULL, 0, "apply", "push"};
    run_spec b = {2, "dev", "acme/infra", "fedcba9876543210fedcba9876543210fedcba98", NULL, NULL, 0, "apply", "push"};
    long ra = store_run_add(s, &a, NULL), rb = store_run_add(s, &b, NULL);
    CHECK(ra > 0 && rb > ra && store_run_add(s, &a, NULL) == 0); /* one run per job and env */
    run x, *sup;
    size_t n;
    CHECK(store_run_claim(s, NULL, &x, &sup, &n, NULL) == 1 && x.id == rb && n == 1 && sup[0].id == ra);
    CHECK(n == 1 && strcmp(sup[0].result, "superseded by fedcba987654") == 0);
    run_free(&x);
    run_list_free(sup, n);
    CHECK(store_run_log_append(s, rb, NULL, "héllo", NULL) == 0 && store_run_log_append(s, rb, NULL, "two", NULL) == 0);
    json_t *tail = store_run_log_since(s, rb, strlen("héllo\n"), NULL);
    CHECK_STR(json_string_value(json_object_get(tail, "log")), "two\n");
    json_decref(tail);
    tail = store_run_log_since(s, rb, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(tail, "log")), "héllo\ntwo\n");
    json_decref(tail);
    CHECK(store_run_cancel(s, rb, "alice", NULL) == 2);
    CHECK(store_run_cancel_requested(s, rb, by, sizeof(by), NULL) == 1);
    CHECK_STR(by, "alice");
    CHECK(store_run_finish(s, rb, NULL, "succeeded", "Plan: 1", "ok", NULL, NULL) == 0);
    CHECK(store_run_applied(s, "dev", b.sha, NULL) == rb && store_run_last_good(s, "dev", sha, NULL) == 1);
    run_filter f = {"dev", "apply", "superseded"};
    json_t *list = store_runs_find_json(s, &f, 10, NULL);
    CHECK(json_array_size(list) == 1);
    json_decref(list);
    /* The head superseded by an older commit: queued again, once. */
    CHECK(store_run_requeue_head(s, "dev", SHA, NULL) == ra && store_run_requeue_head(s, "dev", SHA, NULL) == 0);
    CHECK(store_run_requeue_head(s, "dev", b.sha, NULL) == 0); /* applied */
    CHECK(store_run_finish(s, ra, NULL, "skipped", NULL, "not the head", NULL, NULL) == 0);
    char reason[64];
    CHECK(store_lock_set(s, "dev", "freeze", "bob", NULL) == 0 && store_lock_set(s, "dev", "audit", "bob", NULL) == 0);
    CHECK(store_lock_get(s, "dev", reason, sizeof(reason), NULL) == 1);
    CHECK_STR(reason, "bob: audit");
    const char *envs[] = {"dev", "prd"};
    store_pr_env r = {.env = "prd", .changes = 2, .summary = "Plan: 2"};
    store_pr_env *got;
    CHECK(store_pr_head(s, "acme/infra", 7, SHA, envs, 2, NULL) == 0 && store_pr_result(s, "acme/infra", 7, SHA, &r, NULL) == 1);
    CHECK(store_pr_load(s, "acme/infra", 7, sha, &got, &n, NULL) == 1 && n == 2);
    CHECK(n == 2 && got[0].pending && !got[1].pending && got[1].changes == 2);
    store_pr_envs_free(got, n);
    store_pruned pruned = {0};
    CHECK(store_delivery_add(s, "d-old", "push", "{}", NULL, NULL, NULL) == 0);
    store_job j;
    CHECK(store_job_claim(s, NULL, &j, NULL) == 1 && store_job_finish(s, j.id, 1, "done", NULL) == 0);
    store_job_free(&j);
    /* Seen from 2100: the superseded run (the other is the last apply), the job and its delivery. */
    CHECK(store_prune_batch(s, 4102444800000LL, 100, &pruned, NULL) == 3);
    CHECK(pruned.runs == 1 && pruned.jobs == 1 && pruned.deliveries == 1);
    store_close(s);
}

/* ---- PostgreSQL (tests/unit/testdb.h) ---------------------------------- */

static long long pg_number(const char *url, const char *sql) {
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQexec(c, sql);
    long long v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    PQfinish(c);
    return v;
}

/* A new database gets the latest schema once; two connections opening it
 * together migrate it once (the write lock), and opening again changes nothing. */
static void test_pg_fresh(void) {
    char url[256];
    testdb_fresh(dir, "", url, sizeof(url));
    store *a = store_open(url, 0, NULL), *b = store_open(url, 0, NULL);
    CHECK(a != NULL && b != NULL);
    CHECK(pg_number(url, "SELECT version FROM schema_version") == SCHEMA_LATEST);
    CHECK(pg_number(url, "SELECT count(*) FROM schema_version") == 1);
    long job = 0;
    int dup = 1;
    CHECK(a && store_delivery_add(a, "d-1", "push", "{}", &job, &dup, NULL) == 0 && job == 1 && !dup);
    CHECK(b && store_delivery_add(b, "d-1", "push", "{}", &job, &dup, NULL) == 0 && dup); /* one per delivery */
    store_job j;
    CHECK(b && store_job_claim(b, NULL, &j, NULL) == 1 && j.id == 1);
    store_job_free(&j);
    CHECK(a && store_job_claim(a, NULL, &j, NULL) == 0); /* claimed once */
    unsigned char k1[32], k2[32];
    CHECK(a && store_key_get(a, "session", k1, sizeof(k1), NULL) == 0);
    CHECK(b && store_key_get(b, "session", k2, sizeof(k2), NULL) == 0 && memcmp(k1, k2, sizeof(k1)) == 0);
    store_close(a);
    store_close(b);
}

static void test_pg_newer_refused(void) {
    char url[256];
    errinfo err;
    testdb_fresh(dir, "", url, sizeof(url));
    CHECK(testdb_exec(url, "CREATE TABLE schema_version(version INTEGER NOT NULL); INSERT INTO schema_version VALUES(99)") == 0);
    CHECK(store_open(url, 0, &err) == NULL);
    CHECK_CONTAINS(err.msg, "schema version 99 is newer than this deploybot understands");
    CHECK(pg_number(url, "SELECT version FROM schema_version") == 99); /* left alone */
}

/* A connection the server ended between calls (a restart, an
 * administrator) is found lost before the next call, which reconnects
 * instead of failing. (A call the loss interrupts fails as unavailable:
 * test_postgres.py.) */
static void test_pg_reconnect(void) {
    char url[256];
    errinfo err;
    long job = 0;
    testdb_fresh(dir, "", url, sizeof(url));
    store *s = store_open(url, 0, NULL);
    CHECK(s && store_delivery_add(s, "d-1", "push", "{}", &job, NULL, NULL) == 0);
    CHECK(pg_number(url,
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND datname = current_database()") == 1);
    while (pg_number(url,
                     "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                     "AND datname = current_database()") > 0)
        usleep(10000); /* until the killed backend is gone */
    CHECK(s && store_delivery_add(s, "d-2", "push", "{}", &job, NULL, &err) == 0 && job == 2);
    CHECK(s && store_jobs_count(s, NULL, NULL) == 2);
    store_close(s);
}

/* Messages name the server without the URL's password. */
static void test_pg_password_hidden(void) {
    errinfo err;
    char pw[32];
    const char *url = "postgresql://bot:hunter2-secret@127.0.0.1:1/deploybot?connect_timeout=2";
    CHECK(store_open(url, 0, &err) == NULL && err.code == ERR_UNAVAILABLE);
    CHECK_CONTAINS(err.msg, "postgresql://bot@127.0.0.1:1/deploybot");
    CHECK(strstr(err.msg, "hunter2") == NULL);
    CHECK(store_url_password(url, pw, sizeof(pw)) == 14);
    CHECK_STR(pw, "hunter2-secret");
    CHECK(store_url_password("postgres:///d?host=/s&password=pq&user=u", pw, sizeof(pw)) == 2);
    CHECK_STR(pw, "pq");
    CHECK(store_url_password("postgres:///d?host=/s", pw, sizeof(pw)) == 0);
}

int main(void) {
    snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
    if (!mkdtemp(dir)) return 2;
    test_pg_password_hidden();
    if (testdb_url()) {
        test_pg_fresh();
        test_pg_newer_refused();
        test_pg_reconnect();
    } else {
        test_upgrade_previous_release();
        test_upgrade_locks_only();
        test_newer_refused();
        test_fresh();
    }
    test_drift_history();
    test_statements();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}
