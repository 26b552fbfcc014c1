/* store: opening a connection. See store.h.
 *
 * Every connection is set up the same way, whoever opens it: WAL (readers
 * never wait for the writer), synchronous=FULL (a commit fsyncs the WAL),
 * foreign keys checked, and the busy handler below. */
#include "store/sql.h"
#include "util/fs.h"

#include <stdlib.h>
#include <time.h>

#define WAIT_STEP_US 250
#define WAIT_MS 10000
#define SHORT_WAIT_MS 5000

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

/* journal_mode answers with the mode in force: WAL can be refused (e.g. on a
 * network filesystem), and without it the threads would block each other. */
static int enable_wal(store *s, const char *path, errinfo *err) {
    sql_stmt *st = NULL;
    int ok;

    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(s, path, err);
    ok = sqlite3_step(st) == SQLITE_ROW &&
         sqlite3_stricmp(sql_col_str(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (!ok)
        return errinfo_set(err, ERR_IO,
                           "%s: cannot switch to WAL journal mode "
                           "(is data_dir on a local filesystem?)",
                           path);
    return 0;
}

static int setup(store *s, const char *path, unsigned flags, errinfo *err) {
    long wait_ms = flags & STORE_SHORT_WAIT ? SHORT_WAIT_MS : WAIT_MS;

    sqlite3_busy_handler(s->db, on_busy, (void *)(size_t)wait_ms);
    if (enable_wal(s, path, err) < 0)
        return -1;
    if (sqlite3_exec(s->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL, NULL,
                     NULL) != SQLITE_OK)
        return sql_fail(s, path, err);
    if (sql_migrate(s, err) < 0)
        return errinfo_prefix(err, "%s", path);
    return 0;
}

store *store_open(const char *path, unsigned flags, errinfo *err) {
    store *s;

    if (!path || !*path) {
        errinfo_set(err, ERR_INVALID, "no database path");
        return NULL;
    }
    if ((flags & STORE_MKDIR) && fs_mkdir_parent(path, 0700, err) < 0)
        return NULL;
    if (!(s = calloc(1, sizeof(*s)))) {
        errinfo_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    s->wake_fd = -1;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        if (s->db)
            sql_fail(s, path, err);
        else
            errinfo_set(err, ERR_INTERNAL, "%s: out of memory", path);
        store_close(s);
        return NULL;
    }
    if (setup(s, path, flags, err) < 0) {
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(store *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->n_cache; i++)
        sqlite3_finalize(s->cache[i].st);
    free(s->cache);
    sql_wake_close(s);
    sqlite3_close(s->db);
    free(s);
}
