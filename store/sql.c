/* sql: see sql.h. */
#include "store/sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sql_fail(store *s, const char *what, errinfo *err) {
    int rc = sqlite3_errcode(s->db);
    err_code code = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? ERR_UNAVAILABLE
                    : rc == SQLITE_NOMEM                     ? ERR_INTERNAL
                                                             : ERR_IO;

    return errinfo_set(err, code, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* The cached statement for sql; prepared on first use. */
static sql_stmt *cached(store *s, const char *sql, errinfo *err) {
    sql_stmt *st = NULL;

    for (size_t i = 0; i < s->n_cache; i++)
        if (s->cache[i].sql == sql)
            return s->cache[i].st;
    if (s->n_cache == s->cap_cache) {
        size_t cap = s->cap_cache ? 2 * s->cap_cache : 32;
        sql_cached *c = realloc(s->cache, cap * sizeof(*c));
        if (!c) {
            errinfo_set(err, ERR_INTERNAL, "out of memory");
            return NULL;
        }
        s->cache = c;
        s->cap_cache = cap;
    }
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        /* The statement's start says which one it was. */
        char what[80];
        snprintf(what, sizeof(what), "preparing \"%.60s\"", sql);
        sql_fail(s, what, err);
        return NULL;
    }
    s->cache[s->n_cache++] = (sql_cached){sql, st};
    return st;
}

static int bind(sql_stmt *st, const char *types, va_list ap) {
    int rc = SQLITE_OK;

    for (int i = 1; rc == SQLITE_OK && types[i - 1]; i++) {
        const char *text;
        switch (types[i - 1]) {
        case 's':
            text = va_arg(ap, const char *);
            rc = text ? sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT)
                      : sqlite3_bind_null(st, i);
            break;
        case 'i':
            rc = sqlite3_bind_int(st, i, va_arg(ap, int));
            break;
        case 'l':
            rc = sqlite3_bind_int64(st, i, va_arg(ap, long));
            break;
        case 'L':
            rc = sqlite3_bind_int64(st, i, va_arg(ap, long long));
            break;
        default:
            rc = SQLITE_MISUSE;
        }
    }
    return rc;
}

static sql_stmt *vquery(store *s, errinfo *err, const char *sql, const char *types,
                        va_list ap) {
    sql_stmt *st = cached(s, sql, err);

    if (!st)
        return NULL;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (bind(st, types, ap) != SQLITE_OK) {
        sql_fail(s, "binding arguments", err);
        sqlite3_clear_bindings(st);
        return NULL;
    }
    return st;
}

sql_stmt *sql_query(store *s, errinfo *err, const char *sql, const char *types, ...) {
    va_list ap;
    sql_stmt *st;

    va_start(ap, types);
    st = vquery(s, err, sql, types, ap);
    va_end(ap);
    return st;
}

int sql_step(store *s, sql_stmt *st, const char *what, errinfo *err) {
    int rc;

    if (!st)
        return -1;
    rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        sql_fail(s, what, err);
    sql_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

void sql_done(sql_stmt *st) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

long long sql_number(store *s, sql_stmt *st, const char *what, errinfo *err) {
    int rc = sql_step(s, st, what, err);
    long long v;

    if (rc <= 0)
        return rc;
    v = sqlite3_column_int64(st, 0);
    sql_done(st);
    return v;
}

int sql_exec(store *s, errinfo *err, const char *what, const char *sql, const char *types, ...) {
    va_list ap;
    sql_stmt *st;
    int rc;

    va_start(ap, types);
    st = vquery(s, err, sql, types, ap);
    va_end(ap);
    if (!st)
        return errinfo_prefix(err, "%s", what);
    rc = sql_step(s, st, what, err);
    if (rc == 1) {
        sql_done(st);
        return errinfo_set(err, ERR_INTERNAL, "%s: the statement returned rows", what);
    }
    return rc < 0 ? -1 : sqlite3_changes(s->db);
}

long long sql_last_id(store *s) {
    return (long long)sqlite3_last_insert_rowid(s->db);
}

static const char BEGIN[] = "BEGIN IMMEDIATE";
static const char COMMIT[] = "COMMIT";
static const char ROLLBACK[] = "ROLLBACK";

int sql_begin(store *s, errinfo *err) {
    return sql_exec(s, err, "beginning a transaction", BEGIN, "") < 0 ? -1 : 0;
}

int sql_end(store *s, int rc, errinfo *err) {
    if (rc >= 0 && sql_exec(s, err, "committing", COMMIT, "") >= 0)
        return rc;
    /* A failed COMMIT may leave the transaction open: end it either way. */
    if (!sqlite3_get_autocommit(s->db))
        sql_exec(s, NULL, "rolling back", ROLLBACK, "");
    return -1;
}

long long sql_col_ll(sql_stmt *st, int i) {
    return sqlite3_column_int64(st, i);
}

int sql_col_int(sql_stmt *st, int i) {
    return sqlite3_column_int(st, i);
}

const char *sql_col_str(sql_stmt *st, int i) {
    return (const char *)sqlite3_column_text(st, i);
}

int sql_col_len(sql_stmt *st, int i) {
    return sqlite3_column_bytes(st, i);
}

int sql_col_null(sql_stmt *st, int i) {
    return sqlite3_column_type(st, i) == SQLITE_NULL;
}

int sql_in_txn(store *s) {
    return !sqlite3_get_autocommit(s->db);
}

const char *sql_path(store *s) {
    const char *p = sqlite3_db_filename(s->db, "main");
    return p ? p : "";
}

char *sql_text(sql_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    char *d;

    if (!t)
        return NULL;
    if (!(d = strdup((const char *)t)))
        abort();
    return d;
}

void sql_text_into(sql_stmt *st, int i, char *buf, size_t size) {
    const unsigned char *t = sqlite3_column_text(st, i);

    snprintf(buf, size, "%s", t ? (const char *)t : "");
}
