/* sql_sqlite: the SQLite backend of store/sql_backend.h, the embedded
 * default. Every connection is set up the same way, whoever opens it: WAL
 * (readers never wait for the writer), synchronous=FULL (a commit fsyncs the
 * WAL), foreign keys checked, the busy handler below, and the functions
 * now_s(), now_ms() and greatest() the shared SQL text uses. */
#include "store/sql_backend.h"

#include <sqlite3.h>
#include <time.h>

#define WAIT_STEP_US 250
#define WAIT_MS 10000
#define SHORT_WAIT_MS 5000

#define DB(s) ((sqlite3 *)(s)->conn)
#define ST(st) ((sqlite3_stmt *)(st)->impl)

/* Sets err from the connection's last error: "<what>: <SQLite's reason>".
 * A lock held too long is ERR_UNAVAILABLE (worth retrying), the rest ERR_IO. */
static int fail(store *s, const char *what, errinfo *err) {
    int rc = sqlite3_errcode(DB(s));
    err_code code = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? ERR_UNAVAILABLE
                    : rc == SQLITE_NOMEM                     ? ERR_INTERNAL
                                                             : ERR_IO;

    return errinfo_set(err, code, "%s: %s", what, sqlite3_errmsg(DB(s)));
}

static int prepare(sql_stmt *st, errinfo *err) {
    sqlite3_stmt *p = NULL;

    if (sqlite3_prepare_v3(DB(st->s), st->sql, -1, SQLITE_PREPARE_PERSISTENT, &p, NULL) != SQLITE_OK)
        return fail(st->s, "SQLite", err);
    st->impl = p;
    return 0;
}

static int bind(sql_stmt *st, const sql_arg *a, int n, errinfo *err) {
    int rc = SQLITE_OK;

    for (int i = 0; rc == SQLITE_OK && i < n; i++)
        if (a[i].type == 's')
            rc = a[i].s ? sqlite3_bind_text(ST(st), i + 1, a[i].s, -1, SQLITE_TRANSIENT)
                        : sqlite3_bind_null(ST(st), i + 1);
        else
            rc = sqlite3_bind_int64(ST(st), i + 1, a[i].n);
    return rc == SQLITE_OK ? 0 : fail(st->s, "SQLite", err);
}

static int step(sql_stmt *st, const char *what, errinfo *err) {
    int rc = sqlite3_step(ST(st));

    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        return fail(st->s, what, err);
    return 0;
}

static void reset(sql_stmt *st) {
    sqlite3_reset(ST(st));
    sqlite3_clear_bindings(ST(st));
}

static void finalize(sql_stmt *st) {
    sqlite3_finalize(ST(st));
}

static int changes(store *s) {
    return sqlite3_changes(DB(s));
}

static long long col_ll(sql_stmt *st, int i) {
    return sqlite3_column_int64(ST(st), i);
}

static const char *col_str(sql_stmt *st, int i) {
    return (const char *)sqlite3_column_text(ST(st), i);
}

static int col_len(sql_stmt *st, int i) {
    return sqlite3_column_bytes(ST(st), i);
}

static int col_null(sql_stmt *st, int i) {
    return sqlite3_column_type(ST(st), i) == SQLITE_NULL;
}

static int in_txn(store *s) {
    return !sqlite3_get_autocommit(DB(s));
}

static void close_db(store *s) {
    sql_fifo_close(s);
    sqlite3_close(DB(s));
}

const sql_backend sql_sqlite_backend = {
    SQL_BACKEND_OWN_HOOKS,
    .begin = "BEGIN IMMEDIATE",
    .migrate = schema_sqlite_migrate,
    .script = sql_sqlite_script,
    .wake = sql_fifo_wake,
    .wait = sql_fifo_wait,
    .close = close_db,
};

/* sqlite3_busy_timeout sleeps in growing steps of up to 100 ms; on the HTTP
 * thread that stalls every connection in flight behind one busy worker. This
 * handler polls every 250 microseconds instead, up to the timeout. */
static int on_busy(void *arg, int tries) {
    long timeout_ms = (long)(size_t)arg;
    struct timespec ts = {0, WAIT_STEP_US * 1000L};

    if ((long)tries * WAIT_STEP_US / 1000 >= timeout_ms)
        return 0;
    nanosleep(&ts, NULL);
    return 1;
}

/* now_s() and now_ms(): the wall clock, as PostgreSQL's functions of the
 * same names (store/schema_pg.c) give it. */
static void now_fn(sqlite3_context *c, int argc, sqlite3_value **argv) {
    struct timespec ts;
    long long ms;

    (void)argc;
    (void)argv;
    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    sqlite3_result_int64(c, sqlite3_user_data(c) ? ms : ms / 1000);
}

/* greatest(a, b): PostgreSQL's name for SQLite's two-argument max. */
static void greatest_fn(sqlite3_context *c, int argc, sqlite3_value **argv) {
    (void)argc;
    sqlite3_result_value(c, sqlite3_value_int64(argv[0]) >= sqlite3_value_int64(argv[1]) ? argv[0] : argv[1]);
}

static int add_functions(store *s, errinfo *err) {
    static int ms = 1;

    if (sqlite3_create_function(DB(s), "now_s", 0, SQLITE_UTF8, NULL, now_fn, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(DB(s), "now_ms", 0, SQLITE_UTF8, &ms, now_fn, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(DB(s), "greatest", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, greatest_fn, NULL,
                                NULL) != SQLITE_OK)
        return fail(s, "SQLite", err);
    return 0;
}

/* journal_mode answers with the mode in force: WAL can be refused (e.g. on a
 * network filesystem), and without it the threads would block each other. */
static int enable_wal(store *s, errinfo *err) {
    sqlite3_stmt *st = NULL;
    int ok;

    if (sqlite3_prepare_v2(DB(s), "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
        return fail(s, "SQLite", err);
    ok = sqlite3_step(st) == SQLITE_ROW &&
         sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (!ok)
        return errinfo_set(err, ERR_IO,
                           "cannot switch to WAL journal mode "
                           "(is data_dir on a local filesystem?)");
    return 0;
}

/* Replaces SQLite's automatic checkpoint (itself a WAL hook): only notes the
 * log's size, for whoever checkpoints in its place. */
static int note_log_pages(void *arg, sqlite3 *db, const char *name, int pages) {
    store *s = arg;

    (void)db;
    (void)name;
    s->log_pages = pages;
    return SQLITE_OK;
}

int sql_sqlite_checkpoint(store *s, errinfo *err) {
    if (sqlite3_wal_checkpoint_v2(DB(s), NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) != SQLITE_OK)
        return fail(s, "checkpoint", err);
    return 0;
}

int sql_sqlite_open(store *s, const char *path, unsigned flags, errinfo *err) {
    long wait_ms = flags & STORE_SHORT_WAIT ? SHORT_WAIT_MS : WAIT_MS;
    sqlite3 *db = NULL;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        if (!db)
            return errinfo_set(err, ERR_INTERNAL, "out of memory");
        errinfo_set(err, ERR_IO, "%s", sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    s->conn = db;
    s->be = &sql_sqlite_backend;
    sqlite3_busy_handler(db, on_busy, (void *)(size_t)wait_ms);
    if (flags & STORE_NO_CHECKPOINT)
        sqlite3_wal_hook(db, note_log_pages, s);
    if (enable_wal(s, err) < 0 || add_functions(s, err) < 0)
        return -1;
    if (sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK)
        return fail(s, "SQLite", err);
    return 0;
}

/* For store/schema.c: runs a script of statements. */
int sql_sqlite_script(store *s, const char *sql, errinfo *err) {
    char *msg = NULL;

    if (sqlite3_exec(DB(s), sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    errinfo_set(err, ERR_IO, "%s", msg ? msg : sqlite3_errmsg(DB(s)));
    sqlite3_free(msg);
    return -1;
}
