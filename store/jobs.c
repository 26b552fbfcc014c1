/* queue: the durable job queue (SQLite in WAL mode).
 *
 * Durability: synchronous=FULL makes every COMMIT fsync the WAL, so a job the
 * server acknowledged survives a power cut. Concurrency: each thread has its
 * own connection; writers serialise on SQLite's lock (busy_timeout), and a
 * claim is a single UPDATE ... RETURNING, so two workers never get one job. */
#include "store/jobs.h"
#include "store/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#define SCHEMA_VERSION 2
#define NOW "CAST(strftime('%s','now') AS INTEGER)"

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS deliveries("
    "  id TEXT PRIMARY KEY,"
    "  event TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL);"
    /* AUTOINCREMENT: job ids are quoted in webhook answers and logs, so an id
     * must never be reused after the newest job is deleted. */
    "CREATE TABLE IF NOT EXISTS jobs("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  delivery TEXT NOT NULL REFERENCES deliveries(id),"
    "  event TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'queued'"
    "    CHECK (state IN ('queued','running','done','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  run_after INTEGER NOT NULL DEFAULT 0,"  /* queue_retry's back-off */
    "  created_at INTEGER NOT NULL,"
    "  started_at INTEGER,"
    "  finished_at INTEGER,"
    "  summary TEXT);"
    "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, id);";

/* One prepared statement per operation, compiled once per connection. */
enum {
    S_BEGIN, S_COMMIT, S_ROLLBACK, S_ADD_DELIVERY, S_ADD_JOB, S_CLAIM,
    S_FINISH, S_RETRY, S_RECOVER, S_COUNT_STATE, S_COUNT_ALL, S_COUNT
};

static const char *const SQL[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_ADD_DELIVERY] = "INSERT INTO deliveries(id, event, received_at) "
                       "VALUES(?1, ?2, " NOW ") ON CONFLICT(id) DO NOTHING",
    [S_ADD_JOB] = "INSERT INTO jobs(delivery, event, payload, created_at) "
                  "VALUES(?1, ?2, ?3, " NOW ")",
    /* The inner SELECT and the outer state check run in one statement, i.e.
     * one write transaction: the claim is atomic across connections. */
    [S_CLAIM] = "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
                "started_at = " NOW " "
                "WHERE id = (SELECT id FROM jobs WHERE state = 'queued' "
                "            AND run_after <= " NOW " ORDER BY id LIMIT 1) "
                "AND state = 'queued' "
                "RETURNING id, delivery, event, payload, attempts",
    [S_FINISH] = "UPDATE jobs SET state = ?2, summary = ?3, "
                 "finished_at = " NOW " WHERE id = ?1 AND state = 'running'",
    [S_RETRY] = "UPDATE jobs SET state = 'queued', summary = ?3, "
                "run_after = " NOW " + ?2 WHERE id = ?1 AND state = 'running'",
    [S_RECOVER] = "UPDATE jobs SET state = 'queued' WHERE state = 'running'",
    [S_COUNT_STATE] = "SELECT count(*) FROM jobs WHERE state = ?1",
    [S_COUNT_ALL] = "SELECT count(*) FROM jobs",
};

struct queue {
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    char errmsg[256];
};

static void seterr(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Records the failure on the connection (and in err when given). */
static int dberr(queue *q, const char *what, char *err, size_t errlen) {
    snprintf(q->errmsg, sizeof(q->errmsg), "%s: %s", what,
             sqlite3_errmsg(q->db));
    seterr(err, errlen, "%s", q->errmsg);
    return -1;
}

/* Steps a statement that returns no row, then resets it for the next use. */
static int exec_stmt(queue *q, int which) {
    sqlite3_stmt *s = q->st[which];
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* mkdir -p of the directory part of path. */
static int make_parent_dirs(const char *path, char *err, size_t errlen) {
    char *dir = strdup(path);
    char *slash;
    int rc = 0;

    if (!dir) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        /* Each prefix ending before a '/', then the directory itself. */
        for (char *p = strchr(dir + 1, '/'); rc == 0; p = strchr(p + 1, '/')) {
            if (p)
                *p = '\0';
            if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                seterr(err, errlen, "cannot create directory %s: %s", dir,
                       strerror(errno));
                rc = -1;
            }
            if (!p)
                break;
            *p = '/';
        }
    }
    free(dir);
    return rc;
}

/* journal_mode answers with the mode in force: WAL can be refused (e.g. on a
 * network filesystem) and the queue must not silently run without it. */
static int enable_wal(queue *q, const char *path, char *err, size_t errlen) {
    sqlite3_stmt *s = NULL;
    int ok;

    if (sqlite3_prepare_v2(q->db, "PRAGMA journal_mode=WAL", -1, &s, NULL))
        return dberr(q, path, err, errlen);
    ok = sqlite3_step(s) == SQLITE_ROW &&
         sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (!ok) {
        seterr(err, errlen, "%s: cannot switch to WAL journal mode "
               "(is data_dir on a local filesystem?)", path);
        return -1;
    }
    return 0;
}

static int user_version(queue *q) {
    sqlite3_stmt *s = NULL;
    int v = -1;

    if (sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &s, NULL) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Creates or upgrades the schema in one transaction. Version 1 lacked
 * jobs.run_after (queue_retry's back-off). */
static int create_schema(queue *q, const char *path, char *err,
                         size_t errlen) {
    char *msg = NULL;
    char version[64];
    int v;

    if (sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, &msg))
        goto fail;
    v = user_version(q);
    if (v > SCHEMA_VERSION) {
        seterr(err, errlen, "%s: schema version %d is newer than this "
               "deploybot understands (%d)", path, v, SCHEMA_VERSION);
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    snprintf(version, sizeof(version), "PRAGMA user_version=%d",
             SCHEMA_VERSION);
    if (sqlite3_exec(q->db, SCHEMA, NULL, NULL, &msg) ||
        (v == 1 && sqlite3_exec(q->db, "ALTER TABLE jobs ADD COLUMN "
                                "run_after INTEGER NOT NULL DEFAULT 0",
                                NULL, NULL, &msg)) ||
        sqlite3_exec(q->db, version, NULL, NULL, &msg) ||
        sqlite3_exec(q->db, "COMMIT", NULL, NULL, &msg))
        goto fail;
    return 0;
fail:
    seterr(err, errlen, "%s: creating schema: %s", path,
           msg ? msg : sqlite3_errmsg(q->db));
    sqlite3_free(msg);
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static int setup(queue *q, const char *path, char *err, size_t errlen) {
    dbwait_install(q->db, 5000);
    if (enable_wal(q, path, err, errlen) < 0)
        return -1;
    if (sqlite3_exec(q->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON",
                     NULL, NULL, NULL))
        return dberr(q, path, err, errlen);
    if (create_schema(q, path, err, errlen) < 0)
        return -1;
    for (int i = 0; i < S_COUNT; i++)
        if (sqlite3_prepare_v3(q->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &q->st[i], NULL) != SQLITE_OK)
            return dberr(q, "preparing statements", err, errlen);
    return 0;
}

queue *queue_open(const char *db_path, char *err, size_t errlen) {
    queue *q;

    if (!db_path || !*db_path) {
        seterr(err, errlen, "queue: no database path");
        return NULL;
    }
    if (make_parent_dirs(db_path, err, errlen) < 0)
        return NULL;
    if (!(q = calloc(1, sizeof(*q)))) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2(db_path, &q->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)) {
        if (q->db)
            dberr(q, db_path, err, errlen);
        else
            seterr(err, errlen, "%s: out of memory", db_path);
        queue_close(q);
        return NULL;
    }
    if (setup(q, db_path, err, errlen) < 0) {
        queue_close(q);
        return NULL;
    }
    return q;
}

void queue_close(queue *q) {
    if (!q)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(q->st[i]);
    sqlite3_close(q->db);
    free(q);
}

const char *queue_error(const queue *q) {
    return q ? q->errmsg : "no queue";
}

/* ---- jobs --------------------------------------------------------------- */

static int bind_text(sqlite3_stmt *s, int i, const char *v) {
    return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Inside the open transaction: the delivery row, then its job. */
static int insert_delivery_job(queue *q, const char *delivery,
                               const char *event, const char *payload,
                               long *job_id, int *duplicate) {
    sqlite3_stmt *d = q->st[S_ADD_DELIVERY], *j = q->st[S_ADD_JOB];

    if (bind_text(d, 1, delivery) || bind_text(d, 2, event) ||
        exec_stmt(q, S_ADD_DELIVERY) < 0)
        return -1;
    if (sqlite3_changes(q->db) == 0) {
        *duplicate = 1;
        return 0;
    }
    if (bind_text(j, 1, delivery) || bind_text(j, 2, event) ||
        bind_text(j, 3, payload) || exec_stmt(q, S_ADD_JOB) < 0)
        return -1;
    *job_id = (long)sqlite3_last_insert_rowid(q->db);
    return 0;
}

int queue_push_id(queue *q, const char *delivery, const char *event,
                  const char *payload, long *job_id, int *duplicate,
                  char *err, size_t errlen) {
    long id = 0;
    int dup = 0;

    if (job_id)
        *job_id = 0;
    if (duplicate)
        *duplicate = 0;
    if (!delivery || !*delivery || !event || !*event || !payload) {
        snprintf(q->errmsg, sizeof(q->errmsg),
                 "queue_push: delivery, event and payload are required");
        seterr(err, errlen, "%s", q->errmsg);
        return -1;
    }
    if (exec_stmt(q, S_BEGIN) < 0)
        return dberr(q, "queue_push: begin", err, errlen);
    if (insert_delivery_job(q, delivery, event, payload, &id, &dup) < 0) {
        dberr(q, "queue_push", err, errlen);
        exec_stmt(q, S_ROLLBACK);
        return -1;
    }
    if (exec_stmt(q, S_COMMIT) < 0) {
        dberr(q, "queue_push: commit", err, errlen);
        exec_stmt(q, S_ROLLBACK);
        return -1;
    }
    if (job_id)
        *job_id = id;
    if (duplicate)
        *duplicate = dup;
    return 0;
}

int queue_push(queue *q, const char *delivery, const char *event,
               const char *payload, int *duplicate, char *err, size_t errlen) {
    return queue_push_id(q, delivery, event, payload, NULL, duplicate, err,
                         errlen);
}

static char *col_dup(sqlite3_stmt *s, int i) {
    const unsigned char *t = sqlite3_column_text(s, i);

    return strdup(t ? (const char *)t : "");
}

int queue_claim(queue *q, queue_job *out) {
    sqlite3_stmt *s = q->st[S_CLAIM];
    int rc;

    memset(out, 0, sizeof(*out));
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->id = (long)sqlite3_column_int64(s, 0);
        out->delivery = col_dup(s, 1);
        out->event = col_dup(s, 2);
        out->payload = col_dup(s, 3);
        out->attempts = sqlite3_column_int(s, 4);
        rc = sqlite3_step(s);  /* runs the statement to completion */
    }
    if (rc != SQLITE_DONE) {
        dberr(q, "queue_claim", NULL, 0);
        sqlite3_reset(s);
        queue_job_free(out);
        return -1;
    }
    sqlite3_reset(s);
    if (out->id && (!out->delivery || !out->event || !out->payload)) {
        snprintf(q->errmsg, sizeof(q->errmsg), "queue_claim: out of memory");
        queue_job_free(out);
        return -1;
    }
    return out->id ? 1 : 0;
}

int queue_finish(queue *q, long id, int ok, const char *summary) {
    sqlite3_stmt *s = q->st[S_FINISH];

    sqlite3_bind_int64(s, 1, id);
    bind_text(s, 2, ok ? "done" : "failed");
    if (summary)
        bind_text(s, 3, summary);
    if (exec_stmt(q, S_FINISH) < 0)
        return dberr(q, "queue_finish", NULL, 0);
    if (sqlite3_changes(q->db) != 1) {
        snprintf(q->errmsg, sizeof(q->errmsg),
                 "queue_finish: job %ld is not running", id);
        return -1;
    }
    return 0;
}

int queue_retry(queue *q, long id, int delay_s, const char *summary) {
    sqlite3_stmt *s = q->st[S_RETRY];

    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, delay_s > 0 ? delay_s : 0);
    if (summary)
        bind_text(s, 3, summary);
    if (exec_stmt(q, S_RETRY) < 0)
        return dberr(q, "queue_retry", NULL, 0);
    if (sqlite3_changes(q->db) != 1) {
        snprintf(q->errmsg, sizeof(q->errmsg),
                 "queue_retry: job %ld is not running", id);
        return -1;
    }
    return 0;
}

int queue_recover(queue *q) {
    if (exec_stmt(q, S_RECOVER) < 0)
        return dberr(q, "queue_recover", NULL, 0);
    return sqlite3_changes(q->db);
}

long queue_count(queue *q, const char *state) {
    int which = state ? S_COUNT_STATE : S_COUNT_ALL;
    sqlite3_stmt *s = q->st[which];
    long n = -1;

    if (state && strcmp(state, "queued") && strcmp(state, "running") &&
        strcmp(state, "done") && strcmp(state, "failed")) {
        snprintf(q->errmsg, sizeof(q->errmsg),
                 "queue_count: unknown state \"%.32s\"", state);
        return -1;
    }
    if (state)
        bind_text(s, 1, state);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(s, 0);
    else
        dberr(q, "queue_count", NULL, 0);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return n;
}

void queue_job_free(queue_job *j) {
    if (!j)
        return;
    free(j->delivery);
    free(j->event);
    free(j->payload);
    memset(j, 0, sizeof(*j));
}
