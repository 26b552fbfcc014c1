/* sql_backend: what a database backend gives store/sql.c. Private to the
 * files that are a backend (store/sql_sqlite.c, store/sql_pg.c), their
 * schemas (store/schema*.c), store/sql.c and store/store.c; the rest of
 * store/ talks through store/sql.h only.
 *
 * sql.c owns the statement cache and turns the variable arguments into an
 * array; a backend prepares, binds, steps and reads. */
#ifndef DEPLOYBOT_STORE_SQL_BACKEND_H
#define DEPLOYBOT_STORE_SQL_BACKEND_H

#include "store/sql.h"

/* The schema version both backends reach: a migration is added to both
 * lists (store/schema.c, store/schema_pg.c), which assert their length. */
#define SCHEMA_LATEST 8

/* Migration 8, the same text for both backends (BIGINT and TEXT only). */
#define SCHEMA_8_LEASES \
    "CREATE TABLE env_leases(env TEXT PRIMARY KEY, holder TEXT, fence BIGINT NOT NULL," \
    "  expires_ms BIGINT NOT NULL, run_id BIGINT);" \
    "ALTER TABLE runs ADD COLUMN holder TEXT;" \
    "ALTER TABLE runs ADD COLUMN fence BIGINT;" \
    "ALTER TABLE jobs ADD COLUMN claimed_by TEXT;" \
    "ALTER TABLE jobs ADD COLUMN claim_expires_ms BIGINT;" \
    "ALTER TABLE outbox ADD COLUMN claimed_by TEXT;" \
    "ALTER TABLE outbox ADD COLUMN claim_expires_ms BIGINT;"

#define SQL_MAX_ARGS 16

typedef struct {
    char type; /* 's' text (s may be NULL), 'n' a number */
    const char *s;
    long long n;
} sql_arg;

struct sql_stmt {
    store *s;
    const char *sql; /* the cache key: the statement text's address */
    void *impl;      /* the backend's */
};

typedef struct {
    /* The connection is usable, reconnecting a lost one; ERR_UNAVAILABLE when not. */
    int (*ready)(store *s, errinfo *err);
    int (*prepare)(sql_stmt *st, errinfo *err);
    int (*bind)(sql_stmt *st, const sql_arg *args, int n, errinfo *err);
    /* 1 row, 0 done, -1 with err (`what` first). */
    int (*step)(sql_stmt *st, const char *what, errinfo *err);
    void (*reset)(sql_stmt *st);
    void (*finalize)(sql_stmt *st);
    /* Rows the last statement run to its end changed. */
    int (*changes)(store *s);
    long long (*col_ll)(sql_stmt *st, int i);
    const char *(*col_str)(sql_stmt *st, int i);
    int (*col_len)(sql_stmt *st, int i);
    int (*col_null)(sql_stmt *st, int i);
    int (*in_txn)(store *s);
    const char *begin; /* the statement that starts a write transaction */
    int (*migrate)(store *s, errinfo *err);
    /* Runs statements without arguments, several at once (the schemas). */
    int (*script)(store *s, const char *sql, errinfo *err);
    /* Wakes the connections waiting on channel; waits up to timeout_ms for
     * a wake-up (1), or none (0), -1 with err (store/outbox_wake.c). */
    void (*wake)(store *s, const char *channel);
    int (*wait)(store *s, const char *channel, long long timeout_ms, errinfo *err);
    void (*close)(store *s);
} sql_backend;

struct store {
    const sql_backend *be;
    void *conn;  /* the backend's connection */
    char *where; /* the file, or the URL without its password: for messages */
    int is_file; /* where names a file (SQLite) */
    sql_stmt **cache;
    size_t n_cache, cap_cache;
    int wake_fd;    /* the SQLite wake-up FIFO, once waited on; else -1 */
    long log_pages; /* STORE_NO_CHECKPOINT: the log's size after the last commit */
};

extern const sql_backend sql_sqlite_backend, sql_pg_backend;

/* The hooks each backend's file names after the field: a backend's table
 * says SQL_BACKEND_OWN_HOOKS, then the rest by name. */
#define SQL_BACKEND_OWN_HOOKS \
    .prepare = prepare, .bind = bind, .step = step, .reset = reset, .finalize = finalize, \
    .changes = changes, .col_ll = col_ll, .col_str = col_str, .col_len = col_len, \
    .col_null = col_null, .in_txn = in_txn

/* Finalizes and frees the statement cache (store_close). */
void sql_cache_free(store *s);

/* Opens the backend's connection into s->conn (store.c). */
int sql_sqlite_open(store *s, const char *path, unsigned flags, errinfo *err);
int sql_pg_open(store *s, const char *url, errinfo *err);

/* SQLite's passive checkpoint (store_checkpoint). */
int sql_sqlite_checkpoint(store *s, errinfo *err);

/* Runs a script of statements, without arguments (the schemas). */
int sql_sqlite_script(store *s, const char *sql, errinfo *err);
int sql_pg_script(store *s, const char *sql, errinfo *err);

/* Inside the migration's transaction: applies migrations[v..] (NULL:
 * none on this backend) and records SCHEMA_LATEST with the statement
 * `record_prefix` N `record_suffix`. A version newer than SCHEMA_LATEST is
 * refused. */
int sql_schema_upgrade(store *s, const char *const *migrations, int v, const char *record_prefix,
                       const char *record_suffix, errinfo *err);

/* The migrations of each backend (store/schema.c, store/schema_pg.c). */
int schema_sqlite_migrate(store *s, errinfo *err);
int schema_pg_migrate(store *s, errinfo *err);

/* The FIFO wake-ups next to a SQLite file (store/outbox_wake.c). */
void sql_fifo_wake(store *s, const char *channel);
int sql_fifo_wait(store *s, const char *channel, long long timeout_ms, errinfo *err);
void sql_fifo_close(store *s);

#endif
