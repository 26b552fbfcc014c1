/* Unit tests for bot/queue: push/dedupe, claim order, finish, crash
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

#define CHECK(cond, ...)                                                 \
    do {                                                                 \
        if (cond) {                                                      \
            passed++;                                                    \
        } else {                                                         \
            failed++;                                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);         \
            fprintf(stderr, __VA_ARGS__);                                \
            fputc('\n', stderr);                                         \
        }                                                                \
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
    char err[256] = "";

    CHECK(queue_open("/proc/deploybot-no/such/x.db", err, sizeof(err)) == NULL &&
              err[0],
          "unwritable path must fail with a message: %s", err);
    CHECK(queue_open("", err, sizeof(err)) == NULL, "empty path");
}

static void test_push_and_dedupe(queue *q) {
    char err[256] = "";
    long id1 = 0, id2 = 0, id3 = 0, idd = -1;
    int dup = -1;

    CHECK(queue_push_id(q, "d-1", "push", "{\"n\":1}", &id1, &dup, err,
                        sizeof(err)) == 0 && dup == 0 && id1 > 0,
          "first push: %s", err);
    CHECK(peek_is("SELECT count(*) FROM jobs WHERE delivery='d-1'", "1"),
          "a pushed job is committed when queue_push returns");
    CHECK(queue_push_id(q, "d-2", "pull_request", "{\"n\":2}", &id2, &dup,
                        err, sizeof(err)) == 0 && dup == 0 && id2 > id1,
          "second push: %s", err);
    CHECK(queue_push(q, "d-3", "push", "{\"n\":3}", &dup, err, sizeof(err)) == 0 &&
              dup == 0,
          "queue_push: %s", err);
    id3 = id2 + 1;
    CHECK(queue_push_id(q, "d-1", "push", "{\"n\":99}", &idd, &dup, err,
                        sizeof(err)) == 0 && dup == 1 && idd == 0,
          "a repeated delivery is a duplicate: dup=%d id=%ld", dup, idd);
    CHECK(queue_count(q, NULL) == 3 && queue_count(q, "queued") == 3,
          "three jobs queued, got %ld", queue_count(q, NULL));
    CHECK(peek_is("SELECT count(*) FROM deliveries", "3"), "three deliveries");
    CHECK(queue_push(q, NULL, "push", "{}", &dup, err, sizeof(err)) == -1 &&
              err[0],
          "push without delivery id fails: %s", err);
    CHECK(queue_push(q, "d-x", "push", NULL, &dup, err, sizeof(err)) == -1,
          "push without payload fails");
    CHECK(queue_count(q, NULL) == 3, "failed pushes insert nothing");
    CHECK(peek_is("PRAGMA journal_mode", "wal"), "database is in WAL mode");
    (void)id3;
}

static void test_claim_finish(queue *q) {
    queue_job j;
    long first;

    CHECK(queue_claim(q, &j) == 1 && !strcmp(j.delivery, "d-1") &&
              !strcmp(j.event, "push") && !strcmp(j.payload, "{\"n\":1}") &&
              j.attempts == 1,
          "oldest job first");
    first = j.id;
    queue_job_free(&j);
    CHECK(queue_count(q, "running") == 1 && queue_count(q, "queued") == 2,
          "one running, two queued");
    CHECK(queue_finish(q, first, 1, "applied") == 0, "finish ok: %s",
          queue_error(q));
    CHECK(queue_finish(q, first, 1, "again") == -1 &&
              strstr(queue_error(q), "not running"),
          "finishing twice fails: %s", queue_error(q));
    CHECK(queue_finish(q, 999999, 0, NULL) == -1, "finishing a missing job");
    CHECK(peek_is("SELECT state || ':' || summary || ':' || "
                  "(finished_at IS NOT NULL) FROM jobs WHERE delivery='d-1'",
                  "done:applied:1"),
          "done row has summary and finished_at");

    CHECK(queue_claim(q, &j) == 1 && !strcmp(j.delivery, "d-2") &&
              !strcmp(j.event, "pull_request"),
          "then the second");
    CHECK(queue_finish(q, j.id, 0, "plan failed: boom") == 0, "finish failed");
    queue_job_free(&j);
    CHECK(queue_count(q, "failed") == 1 && queue_count(q, "done") == 1,
          "counts by state");
    CHECK(queue_count(q, "bogus") == -1, "unknown state is an error");
}

/* A crash: the job is claimed, the process dies (connection closed without
 * finishing), the next start recovers it. */
static queue *test_crash_recovery(queue *q) {
    char err[256];
    queue_job j;
    long id;

    CHECK(queue_claim(q, &j) == 1 && !strcmp(j.delivery, "d-3"), "claim d-3");
    id = j.id;
    queue_job_free(&j);
    queue_close(q);

    q = queue_open(db, err, sizeof(err));
    CHECK(q != NULL, "reopen: %s", err);
    if (!q)
        return NULL;
    CHECK(queue_count(q, "running") == 1, "still running after the crash");
    CHECK(queue_recover(q) == 1, "one job recovered");
    CHECK(queue_recover(q) == 0, "recover is idempotent");
    CHECK(queue_count(q, "queued") == 1 && queue_count(q, "running") == 0,
          "back to queued");
    CHECK(queue_claim(q, &j) == 1 && j.id == id && j.attempts == 2,
          "the same job again, second attempt (attempts=%d)", j.attempts);
    CHECK(queue_finish(q, j.id, 1, NULL) == 0, "finish recovered job");
    queue_job_free(&j);
    CHECK(queue_claim(q, &j) == 0 && j.id == 0 && !j.payload,
          "empty queue claims nothing");
    CHECK(queue_count(q, NULL) == 3, "total unchanged");
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
    char err[256];
    queue *q = queue_open(db, err, sizeof(err));
    queue_job j;
    int rc;

    if (!q) {
        log->errors++;
        return NULL;
    }
    while ((rc = queue_claim(q, &j)) == 1) {
        long k = j.id - log->base;

        if (k >= 1 && k <= N_JOBS)
            __atomic_add_fetch(&log->claimed[k], 1, __ATOMIC_SEQ_CST);
        if (queue_finish(q, j.id, 1, NULL) < 0)
            __atomic_add_fetch(&log->errors, 1, __ATOMIC_SEQ_CST);
        queue_job_free(&j);
    }
    if (rc < 0)
        __atomic_add_fetch(&log->errors, 1, __ATOMIC_SEQ_CST);
    queue_close(q);
    return NULL;
}

static void test_concurrent_claims(queue *q) {
    static claim_log log;
    pthread_t t1, t2;
    char err[256], dl[32];
    int once = 1;
    long id;
    int dup;

    memset(&log, 0, sizeof(log));
    for (int i = 1; i <= N_JOBS; i++) {
        snprintf(dl, sizeof(dl), "c-%d", i);
        if (queue_push_id(q, dl, "push", "{}", &id, &dup, err, sizeof(err)) < 0)
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
    CHECK(queue_count(q, "queued") == 0 && queue_count(q, "running") == 0,
          "all finished");
}

/* A transient failure: back to the queue, not claimable before the delay. */
static void test_retry(queue *q) {
    char err[256];
    queue_job j;
    int dup;

    CHECK(queue_push(q, "r-1", "push", "{}", &dup, err, sizeof(err)) == 0,
          "push r-1: %s", err);
    CHECK(queue_claim(q, &j) == 1 && !strcmp(j.delivery, "r-1"), "claim r-1");
    CHECK(queue_retry(q, j.id, 0, "git fetch failed") == 0, "retry now: %s",
          queue_error(q));
    queue_job_free(&j);
    CHECK(queue_claim(q, &j) == 1 && !strcmp(j.delivery, "r-1") &&
              j.attempts == 2,
          "retried job claimable at once, attempts=%d", j.attempts);
    CHECK(queue_retry(q, j.id, 3600, "later") == 0, "retry in an hour");
    CHECK(queue_retry(q, j.id, 1, NULL) == -1, "retrying a queued job fails");
    queue_job_free(&j);
    CHECK(queue_count(q, "queued") == 1 && queue_claim(q, &j) == 0,
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
    char path[300], err[256];
    sqlite3 *h = NULL;
    queue_job j;
    queue *q;

    snprintf(path, sizeof(path), "%s/v1.db", tmpdir);
    CHECK(sqlite3_open(path, &h) == SQLITE_OK &&
              sqlite3_exec(h, v1, NULL, NULL, NULL) == SQLITE_OK,
          "make a v1 database");
    sqlite3_close(h);
    q = queue_open(path, err, sizeof(err));
    CHECK(q != NULL, "open a v1 database: %s", err);
    if (q) {
        CHECK(queue_claim(q, &j) == 1 && !strcmp(j.delivery, "old-1"),
              "its queued job survives the upgrade");
        CHECK(queue_retry(q, j.id, 0, "again") == 0, "retry works after upgrade");
        queue_job_free(&j);
        queue_close(q);
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
    char err[256];
    queue *q;

    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    /* A subdirectory that does not exist yet: queue_open creates it. */
    snprintf(db, sizeof(db), "%s/data/deploybot.db", tmpdir);
    test_open_errors();
    q = queue_open(db, err, sizeof(err));
    CHECK(q != NULL, "open %s: %s", db, err);
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
    queue_close(q);
    cleanup();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
