/* sql: what the files of store/ share to talk to SQLite. Private to store/:
 * nothing outside it includes this header (or sqlite3.h).
 *
 * Every statement text is a string constant of its file; the constant's
 * address is the key of the connection's statement cache, so each statement
 * is compiled once per connection. Arguments are bound from a type string,
 * one letter per parameter ?1, ?2, ...:
 *   's' const char * (NULL binds NULL)   'i' int
 *   'l' long                             'L' long long
 * The functions that take variable arguments take err before them. */
#ifndef DEPLOYBOT_STORE_SQL_H
#define DEPLOYBOT_STORE_SQL_H

#include "store/store.h"

#include <sqlite3.h>
#include <stddef.h>

/* Unix time in seconds and in milliseconds, as SQL expressions. */
#define SQL_NOW "CAST(strftime('%s','now') AS INTEGER)"
#define SQL_NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

/* A prepared statement with its current row. Callers read columns only
 * through the sql_col_* functions below, never through the backend's API. */
typedef struct sqlite3_stmt sql_stmt;

typedef struct {
    const char *sql;
    sql_stmt *st;
} sql_cached;

struct store {
    sqlite3 *db;
    sql_cached *cache;
    size_t n_cache, cap_cache;
    int wake_fd; /* the outbox's wake-up FIFO, once waited on (store/outbox_wake.c); else -1 */
};

/* Closes the connection's wake-up FIFO, if it has one (store_close). */
void sql_wake_close(store *s);

/* Sets err from the connection's last error: "<what>: <SQLite's reason>".
 * A lock held too long is ERR_UNAVAILABLE (worth retrying), the rest ERR_IO.
 * Returns -1. */
int sql_fail(store *s, const char *what, errinfo *err);

/* The statement for sql, reset and bound: ready to step. NULL with err. */
sql_stmt *sql_query(store *s, errinfo *err, const char *sql, const char *types, ...);
/* Steps a statement from sql_query: 1 a row is there, 0 no more rows, -1
 * error (err says `what`; st NULL: sql_query failed and said why). At 0 and
 * -1 the statement is reset; a caller that stops at a row calls sql_done. */
int sql_step(store *s, sql_stmt *st, const char *what, errinfo *err);
void sql_done(sql_stmt *st);
/* The first column of st's first row as a number: 0 for NULL or no row, -1
 * on error. */
long long sql_number(store *s, sql_stmt *st, const char *what, errinfo *err);

/* Runs a statement that returns no row: how many rows it changed, or -1. */
int sql_exec(store *s, errinfo *err, const char *what, const char *sql, const char *types, ...);
/* The id of the row the last INSERT of this connection added. */
long long sql_last_id(store *s);

/* A write transaction: BEGIN IMMEDIATE takes the write lock at once, so
 * what is read inside cannot change before the commit. sql_end commits when
 * rc >= 0 and rolls back otherwise; it returns rc, or -1 if the commit
 * failed. */
int sql_begin(store *s, errinfo *err);
int sql_end(store *s, int rc, errinfo *err);

/* Column i of the current row: as a number (0 for NULL), as text owned by
 * the statement until its next step (NULL for NULL), its length in bytes,
 * and whether it is NULL. */
long long sql_col_ll(sql_stmt *st, int i);
int sql_col_int(sql_stmt *st, int i);
const char *sql_col_str(sql_stmt *st, int i);
int sql_col_len(sql_stmt *st, int i);
int sql_col_null(sql_stmt *st, int i);

/* Whether the connection is inside a transaction (sql_begin not yet ended). */
int sql_in_txn(store *s);
/* The database file's path ("" for a database with no file). */
const char *sql_path(store *s);

/* Column i as a new string, NULL for SQL NULL. */
char *sql_text(sql_stmt *st, int i);
/* Column i into buf (cut to fit; "" for NULL). */
void sql_text_into(sql_stmt *st, int i, char *buf, size_t size);

/* Creates or upgrades the schema (store/schema.c). */
int sql_migrate(store *s, errinfo *err);

#endif
