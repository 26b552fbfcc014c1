/* envlock: see envlock.h. Short-lived connections: locks change rarely. */
#include "store/locks.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static sqlite3 *open_db(const char *path, char *err, size_t errlen) {
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA busy_timeout=10000; PRAGMA journal_mode=WAL;"
                         "CREATE TABLE IF NOT EXISTS locks(env TEXT PRIMARY KEY, reason TEXT NOT NULL,"
                         " locked_by TEXT, locked_ms INTEGER NOT NULL)", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static int run_stmt(sqlite3 *db, const char *sql, const char *a, const char *b, const char *c,
                    char *err, size_t errlen) {
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        if (a) sqlite3_bind_text(s, 1, a, -1, SQLITE_TRANSIENT);
        if (b) sqlite3_bind_text(s, 2, b, -1, SQLITE_TRANSIENT);
        if (c) sqlite3_bind_text(s, 3, c, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "locks: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

int envlock_set(const char *db_path, const char *env, const char *reason, const char *who,
                char *err, size_t errlen) {
    sqlite3 *db = open_db(db_path, err, errlen);
    if (!db) return -1;
    int rc = run_stmt(db, "INSERT INTO locks(env, reason, locked_by, locked_ms) VALUES(?1, ?2, ?3, "
                          "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) "
                          "ON CONFLICT(env) DO UPDATE SET reason = ?2, locked_by = ?3",
                      env, reason, who, err, errlen);
    sqlite3_close(db);
    return rc;
}

int envlock_clear(const char *db_path, const char *env, int *was_locked, char *err, size_t errlen) {
    sqlite3 *db = open_db(db_path, err, errlen);
    if (!db) return -1;
    int rc = run_stmt(db, "DELETE FROM locks WHERE env = ?1", env, NULL, NULL, err, errlen);
    if (was_locked) *was_locked = sqlite3_changes(db) > 0;
    sqlite3_close(db);
    return rc;
}

int envlock_get(const char *db_path, const char *env, char *reason, size_t reasonlen) {
    char err[256];
    sqlite3 *db = open_db(db_path, err, sizeof(err));
    if (!db) return -1;
    sqlite3_stmt *s = NULL;
    int locked = -1;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(locked_by, '?'), reason FROM locks WHERE env = ?1", -1, &s,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, env, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(s);
        locked = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
        if (locked == 1)
            snprintf(reason, reasonlen, "%s: %s", sqlite3_column_text(s, 0), sqlite3_column_text(s, 1));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return locked;
}
