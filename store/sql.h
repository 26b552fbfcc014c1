/* sql: what the files of store/ share to talk to the database, whichever
 * backend it is (SQLite or PostgreSQL: store/sql_backend.h). Private to
 * store/: nothing outside it includes this header.
 *
 * One SQL text serves both backends: parameters are ?1, ?2, ... (rewritten
 * to $1, $2, ... for PostgreSQL), the time is now_s() / now_ms() (Unix
 * seconds / milliseconds, SQL functions both backends define), greatest(a, b)
 * is the larger of two numbers, a new row's id comes back with RETURNING id,
 * and "INSERT ... ON CONFLICT ... DO NOTHING" skips a duplicate. The few
 * statements that must differ are chosen with sql_pick.
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

#include <stddef.h>

/* The same as now_s() and now_ms(), for statements that splice the time in
 * as a constant. */
#define SQL_NOW "now_s()"
#define SQL_NOW_MS "now_ms()"

/* A prepared statement with its current row. Callers read columns only
 * through the sql_col_* functions below, never through the backend's API. */
typedef struct sql_stmt sql_stmt;

/* Whichever of the two texts is this store's backend's: for the few
 * statements that must differ (both string constants: the one returned is
 * the statement cache's key). */
const char *sql_pick(store *s, const char *sqlite_text, const char *pg_text);

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

/* Runs a statement that returns no row: how many rows it changed, or -1.
 * A failure that is worth retrying (a lock held too long, a lost
 * connection) is ERR_UNAVAILABLE; the next call reconnects. */
int sql_exec(store *s, errinfo *err, const char *what, const char *sql, const char *types, ...);

/* A write transaction: it takes the write lock at once (SQLite: BEGIN
 * IMMEDIATE; PostgreSQL: a transaction-wide advisory lock every writing
 * transaction takes), so what is read inside cannot change before the
 * commit. sql_end commits when rc >= 0 and rolls back otherwise; it returns
 * rc, or -1 if the commit failed. */
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
/* The database file's path ("" for a database with no file, e.g. PostgreSQL). */
const char *sql_path(store *s);

/* Column i as a new string, NULL for SQL NULL. */
char *sql_text(sql_stmt *st, int i);
/* Column i into buf (cut to fit; "" for NULL). */
void sql_text_into(sql_stmt *st, int i, char *buf, size_t size);

#endif
