/* Unit tests for store/jobs: push/dedupe, claim order, finish, crash
 * recovery (close without finishing, reopen), counts, and concurrent claims
 * from two connections. Each run uses a fresh temporary directory. */
#include "store/jobs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

static int passed, failed;

#define CHECK(cond, ...) \
    do { \
        if (cond) { \
            passed++; \
        } else { \
            failed++; \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__); \
            fputc('\n', stderr); \
        } \
    } while (0)

static char tmpdir[] = "/tmp/deploybot-test-queue-XXXXXX";
static char db[256];

/* Reads one text/integer cell with a separate raw connection: what another
 * process (or the next start) would see on disk. */
static char *peek(const char *sql) {
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    char *out = NULL;

    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        out = strdup(sqlite3_column_text(s, 0)
                         ? (const char *)sqlite3_column_text(s, 0)
                         : "(null)");
    sqlite3_finalize(s);
    sqlite3_close(h);
    return out;
}

static int peek_is(const char *sql, const char *want) {
    char *got = peek(sql);
    int ok = got && strcmp(got, want) == 0;

    if (!ok)
        fprintf(stderr, "  %s -> %s (want %s)\n", sql, got ? got : "no row",
                want);
    free(got);
    return ok;
}

static void test_open_errors(void) {
    errinfo err = {0};

    CHECK(store_open("/proc/deploybot-no/such/x.db", STORE_MKDIR, &err) == NULL &&
              err.msg[0],
          "unwritable path must fail with a message: %s", err.msg);
    CHECK(store_open("", STORE_MKDIR, &err) == NULL, "empty path");
}

static void test_push_and_dedupe(store *q) {
    errinfo err = {0};
    long id1 = 0, id2 = 0, id3 = 0, idd = -1;
    int dup = -1;

    CHECK(store_delivery_add(q, "d-1", "push", "{\"n\":1}", &id1, &dup, &err) == 0 && dup == 0 && id1 > 0,
          "first push: %s", err.msg);
    CHECK(peek_is("SELECT count(*) FROM jobs WHERE delivery='d-1'", "1"),
          "a pushed job is committed when store_delivery_add returns");
    CHECK(store_delivery_add(q, "d-2", "pull_request", "{\"n\":2}", &id2, &dup,
                             &err) == 0 &&
              dup == 0 && id2 > id1,
          "second push: %s", err.msg);
    CHECK(store_delivery_add(q, "d-3", "push", "{\"n\":3}", NULL, &dup, &err) == 0 &&
              dup == 0,
          "store_delivery_add: %s", err.msg);
    id3 = id2 + 1;
    CHECK(store_delivery_add(q, "d-1", "push", "{\"n\":99}", &idd, &dup, &err) == 0 && dup == 1 && idd == 0,
          "a repeated delivery is a duplicate: dup=%d id=%ld", dup, idd);
    CHECK(store_jobs_count(q, NULL, NULL) == 3 && store_jobs_count(q, "queued", NULL) == 3,
          "three jobs queued, got %ld", store_jobs_count(q, NULL, NULL));
    CHECK(peek_is("SELECT count(*) FROM deliveries", "3"), "three deliveries");
    CHECK(store_delivery_add(q, NULL, "push", "{}", NULL, &dup, &err) == -1 &&
              err.msg[0],
          "push without delivery id fails: %s", err.msg);
    CHECK(store_delivery_add(q, "d-x", "push", NULL, NULL, &dup, &err) == -1,
          "push without payload fails");
    CHECK(store_jobs_count(q, NULL, NULL) == 3, "failed pushes insert nothing");
    CHECK(peek_is("PRAGMA journal_mode", "wal"), "database is in WAL mode");
    (void)id3;
}

static void test_claim_finish(store *q) {
    errinfo err;
    store_job j;
    long first;

    CHECK(store_job_claim(q, NULL, &j, NULL) == 1 && !strcmp(j.delivery, "d-1") &&
              !strcmp(j.event, "push") && !strcmp(j.payload, "{\"n\":1}") &&
              j.attempts == 1,
          "oldest job first");
    first = j.id;
    store_job_free(&j);
    CHECK(store_jobs_count(q, "running", NULL) == 1 && store_jobs_count(q, "queued", NULL) == 2,
          "one running, two queued");
    CHECK(store_job_finish(q, first, 1, "applied", &err) == 0, "finish ok: %s",
          err.msg);
    CHECK(store_job_finish(q, first, 1, "again", &err) == -1 &&
              strstr(err.msg, "not running"),
          "finishing twice fails: %s", err.msg);
    CHECK(store_job_finish(q, 999999, 0, NULL, &err) == -1, "finishing a missing job");
    CHECK(peek_is("SELECT state || ':' || summary || ':' || "
                  "(finished_at IS NOT NULL) FROM jobs WHERE delivery='d-1'",
                  "done:applied:1"),
          "done row has summary and finished_at");

    CHECK(store_job_claim(q, NULL, &j, NULL) == 1 && !strcmp(j.delivery, "d-2") &&
              !strcmp(j.event, "pull_request"),
          "then the second");
    CHECK(store_job_finish(q, j.id, 0, "plan failed: boom", &err) == 0, "finish failed");
    store_job_free(&j);
    CHECK(store_jobs_count(q, "failed", NULL) == 1 && store_jobs_count(q, "done", NULL) == 1,
          "counts by state");
    CHECK(store_jobs_count(q, "bogus", NULL) == -1, "unknown state is an error");
}

/* A crash: the job is claimed, the process dies (connection closed without
 * finishing), its claim expires and the next start takes it over. */
static store *test_crash_recovery(store *q) {
    errinfo err;
    store_job j;
    store_claimer dead = {"dead:1:0", 0}; /* a claim that expires at once */
    store_taken n;
    long id;

    CHECK(store_job_claim(q, &dead, &j, NULL) == 1 && !strcmp(j.delivery, "d-3"), "claim d-3");
    id = j.id;
    store_job_free(&j);
    store_close(q);

    q = store_open(db, STORE_MKDIR, &err);
    CHECK(q != NULL, "reopen: %s", err.msg);
    if (!q)
        return NULL;
    CHECK(store_jobs_count(q, "running", NULL) == 1, "still running after the crash");
    CHECK(store_takeover(q, &n, NULL) == 0 && n.jobs == 1, "one job taken over");
    CHECK(store_takeover(q, &n, NULL) == 0 && n.jobs == 0, "takeover is idempotent");
    CHECK(store_jobs_count(q, "queued", NULL) == 1 && store_jobs_count(q, "running", NULL) == 0,
          "back to queued");
    CHECK(store_job_claim(q, NULL, &j, NULL) == 1 && j.id == id && j.attempts == 2,
          "the same job again, second attempt (attempts=%d)", j.attempts);
    CHECK(store_job_finish(q, j.id, 1, NULL, &err) == 0, "finish recovered job");
    store_job_free(&j);
    CHECK(store_job_claim(q, NULL, &j, NULL) == 0 && j.id == 0 && !j.payload,
          "empty queue claims nothing");
    CHECK(store_jobs_count(q, NULL, NULL) == 3, "total unchanged");
    return q;
}

/* ---- two workers, two connections: every job claimed exactly once ----- */

#define N_JOBS 60

typedef struct {
    int claimed[N_JOBS + 1];
    long base;
    int errors;
} claim_log;

static void *claimer(void *arg) {
    claim_log *log = arg;
    errinfo err;
    store *q = store_open(db, STORE_MKDIR, &err);
    store_job j;
    int rc;

    if (!q) {
        log->errors++;
        return NULL;
    }
    while ((rc = store_job_claim(q, NULL, &j, NULL)) == 1) {
        long k = j.id - log->base;

        if (k >= 1 && k <= N_JOBS)
            __atomic_add_fetch(&log->claimed[k], 1, __ATOMIC_SEQ_CST);
        if (store_job_finish(q, j.id, 1, NULL, &err) < 0)
            __atomic_add_fetch(&log->errors, 1, __ATOMIC_SEQ_CST);
        store_job_free(&j);
    }
    if (rc < 0)
        __atomic_add_fetch(&log->errors, 1, __ATOMIC_SEQ_CST);
    store_close(q);
    return NULL;
}

static void test_concurrent_claims(store *q) {
    static claim_log log;
    pthread_t t1, t2;
    errinfo err;
    char dl[32];
    int once = 1;
    long id;
    int dup;

    memset(&log, 0, sizeof(log));
    for (int i = 1; i <= N_JOBS; i++) {
        snprintf(dl, sizeof(dl), "c-%d", i);
        if (store_delivery_add(q, dl, "push", "{}", &id, &dup, &err) < 0)
            log.errors++;
        if (i == 1)
            log.base = id - 1;
    }
    pthread_create(&t1, NULL, claimer, &log);
    pthread_create(&t2, NULL, claimer, &log);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    for (int i = 1; i <= N_JOBS; i++)
        once &= log.claimed[i] == 1;
    CHECK(log.errors == 0, "no errors in concurrent claims (%d)", log.errors);
    CHECK(once, "every job claimed exactly once by two connections");
    CHECK(store_jobs_count(q, "queued", NULL) == 0 && store_jobs_count(q, "running", NULL) == 0,
          "all finished");
}

/* A transient failure: back to the queue, not claimable before the delay. */
static void test_retry(store *q) {
    errinfo err;
    store_job j;
    int dup;

    CHECK(store_delivery_add(q, "r-1", "push", "{}", NULL, &dup, &err) == 0,
          "push r-1: %s", err.msg);
    CHECK(store_job_claim(q, NULL, &j, NULL) == 1 && !strcmp(j.delivery, "r-1"), "claim r-1");
    CHECK(store_job_retry(q, j.id, 0, "git fetch failed", &err) == 0, "retry now: %s",
          err.msg);
    store_job_free(&j);
    CHECK(store_job_claim(q, NULL, &j, NULL) == 1 && !strcmp(j.delivery, "r-1") &&
              j.attempts == 2,
          "retried job claimable at once, attempts=%d", j.attempts);
    CHECK(store_job_retry(q, j.id, 3600, "later", &err) == 0, "retry in an hour");
    CHECK(store_job_retry(q, j.id, 1, NULL, &err) == -1, "retrying a queued job fails");
    store_job_free(&j);
    CHECK(store_jobs_count(q, "queued", NULL) == 1 && store_job_claim(q, NULL, &j, NULL) == 0,
          "a delayed job is queued but not claimable yet");
    CHECK(peek_is("SELECT summary FROM jobs WHERE delivery='r-1'", "later"),
          "retry keeps the reason");
}

/* A database made by the first schema (no jobs.run_after) is upgraded in
 * place, its jobs kept. */
static void test_upgrade_v1(void) {
    static const char *const v1 =
        "CREATE TABLE deliveries(id TEXT PRIMARY KEY, event TEXT NOT NULL,"
        " received_at INTEGER NOT NULL);"
        "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, delivery TEXT"
        " NOT NULL, event TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT"
        " NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,"
        " created_at INTEGER NOT NULL, started_at INTEGER, finished_at"
        " INTEGER, summary TEXT);"
        "INSERT INTO deliveries VALUES('old-1', 'push', 0);"
        "INSERT INTO jobs(delivery, event, payload, created_at)"
        " VALUES('old-1', 'push', '{}', 0);"
        "PRAGMA user_version=1;";
    char path[300];
    errinfo err;
    sqlite3 *h = NULL;
    store_job j;
    store *q;

    snprintf(path, sizeof(path), "%s/v1.db", tmpdir);
    CHECK(sqlite3_open(path, &h) == SQLITE_OK &&
              sqlite3_exec(h, v1, NULL, NULL, NULL) == SQLITE_OK,
          "make a v1 database");
    sqlite3_close(h);
    q = store_open(path, STORE_MKDIR, &err);
    CHECK(q != NULL, "open a v1 database: %s", err.msg);
    if (q) {
        CHECK(store_job_claim(q, NULL, &j, NULL) == 1 && !strcmp(j.delivery, "old-1"),
              "its queued job survives the upgrade");
        CHECK(store_job_retry(q, j.id, 0, "again", &err) == 0, "retry works after upgrade");
        store_job_free(&j);
        store_close(q);
    }
    for (int i = 0; i < 3; i++) {
        static const char *const sfx[] = {"", "-wal", "-shm"};
        char f[320];

        snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
        unlink(f);
    }
}

static void cleanup(void) {
    static const char *const files[] = {"/data/deploybot.db",
                                        "/data/deploybot.db-wal",
                                        "/data/deploybot.db-shm", NULL};
    char path[512];

    for (int i = 0; files[i]; i++) {
        snprintf(path, sizeof(path), "%s%s", tmpdir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/data", tmpdir);
    rmdir(path);
    rmdir(tmpdir);
}

int main(void) {
    errinfo err;
    store *q;

    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    /* A subdirectory that does not exist yet: store_open (STORE_MKDIR) creates it. */
    snprintf(db, sizeof(db), "%s/data/deploybot.db", tmpdir);
    test_open_errors();
    q = store_open(db, STORE_MKDIR, &err);
    CHECK(q != NULL, "open %s: %s", db, err.msg);
    if (q) {
        test_push_and_dedupe(q);
        test_claim_finish(q);
        q = test_crash_recovery(q);
    }
    if (q) {
        test_concurrent_claims(q);
        test_retry(q);
    }
    test_upgrade_v1();
    store_close(q);
    cleanup();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
