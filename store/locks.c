/* locks: see locks.h. */
#include "store/locks.h"
#include "store/sql.h"

#include <stdio.h>

static const char SET[] =
    "INSERT INTO locks(env, reason, locked_by, locked_ms) VALUES(?1, ?2, ?3, now_ms()) ON CONFLICT(env) DO UPDATE SET reason = ?2, locked_by = ?3";
static const char CLEAR[] = "DELETE FROM locks WHERE env = ?1";
static const char GET[] = "SELECT coalesce(locked_by, '?'), reason FROM locks WHERE env = ?1";

int store_lock_set(store *s, const char *env, const char *reason, const char *who, errinfo *err) {
    if (sql_exec(s, err, "locking", SET, "sss", env, reason, who) < 0)
        return errinfo_prefix(err, "%s", env);
    return 0;
}

int store_lock_clear(store *s, const char *env, int *was_locked, errinfo *err) {
    int n = sql_exec(s, err, "unlocking", CLEAR, "s", env);

    if (n < 0)
        return errinfo_prefix(err, "%s", env);
    if (was_locked)
        *was_locked = n > 0;
    return 0;
}

int store_lock_get(store *s, const char *env, char *reason, size_t reasonlen, errinfo *err) {
    sql_stmt *st = sql_query(s, err, GET, "s", env);
    int rc = sql_step(s, st, "reading its lock", err);

    if (rc < 0)
        return errinfo_prefix(err, "%s", env);
    if (rc == 1) {
        snprintf(reason, reasonlen, "%s: %s", sql_col_str(st, 0),
                 sql_col_str(st, 1));
        sql_done(st);
    }
    return rc;
}
