/* store: the one module that owns deploybot's database.
 *
 * Everything that must survive a restart lives here: webhook deliveries and
 * their jobs (store/jobs.h), deploy runs with their logs (store/runs.h),
 * messages waiting to be sent (store/outbox.h), operator locks
 * (store/locks.h) what pull request comments show (store/prs.h), what
 * the drift checks record (store/drift.h)
 * and the keys the bot generates for itself (store/keys.h); where each
 * environment stands is read from those (store/envstate.h).
 * Callers say what they mean (record a delivery, claim the next job, finish
 * a run) and never see SQL or which backend it is.
 *
 * By default it is one SQLite file in WAL mode with synchronous=FULL: what a
 * call committed is on disk when it returns, so a webhook acknowledged after
 * store_delivery_add survives a power cut. Given a "postgres://" or
 * "postgresql://" URL instead of a path it is a PostgreSQL database
 * (store/sql_pg.c), which several deploybots can share. The schema is
 * versioned and upgraded in place when a store is opened.
 *
 * A PostgreSQL connection that is lost (a restart of the server) fails the
 * calls of the moment with ERR_UNAVAILABLE, and the next call reconnects.
 *
 * A store is one connection, for one thread at a time; connections (threads,
 * processes) see each other's commits. */
#ifndef DEPLOYBOT_STORE_STORE_H
#define DEPLOYBOT_STORE_STORE_H

#include "util/errinfo.h"

#include <stddef.h>

typedef struct store store;

enum {
    /* Create the file's missing directories too (the daemon's data_dir). */
    STORE_MKDIR = 1,
    /* Give up waiting for another connection's write after 5 s instead of
     * 10 s: the HTTP thread must answer a webhook within GitHub's 10 s. */
    STORE_SHORT_WAIT = 2,
    /* Never checkpoint on this connection (copy the log into the database,
     * tens of milliseconds on a busy disk, inside whichever commit crosses
     * the threshold): the webhook writer's commits answer deliveries, so it
     * leaves that to store_checkpoint on a connection of its own. SQLite
     * only: PostgreSQL has no such step. */
    STORE_NO_CHECKPOINT = 4,
};

/* Opens the database at where, a file path or a PostgreSQL URL (creating
 * the file and the schema, upgrading an older schema). NULL with err on
 * failure, e.g. a schema newer than this deploybot understands, a
 * filesystem without WAL support, a server that cannot be reached. Messages
 * never show the URL's password. */
store *store_open(const char *where, unsigned flags, errinfo *err);
void store_close(store *s);

/* Pages of log the last commit on a STORE_NO_CHECKPOINT connection left
 * behind, i.e. how much a checkpoint has to copy; 0 on other connections. */
long store_log_pages(const store *s);
/* Copies what the log holds into the database, as far as readers allow,
 * without making writers wait (SQLite's passive checkpoint; nothing to do
 * on PostgreSQL). */
int store_checkpoint(store *s, errinfo *err);

/* Connects to the PostgreSQL database at url and disconnects, changing
 * nothing (`deploybot check`): 0, or -1 with err as store_open's. */
int store_probe(const char *url, errinfo *err);
/* Whether where is a PostgreSQL URL rather than a file path. */
int store_is_url(const char *where);
/* The password in a PostgreSQL URL (after "user:" or in "password="), into
 * out, cut to size; its length, 0 when the URL has none. For the redactor. */
size_t store_url_password(const char *url, char *out, size_t size);
/* The file, or the URL without its password: fit for a log. */
const char *store_where(const store *s);

/* Wake-ups across connections and processes (store/outbox_wake.c): a
 * channel is a short name, e.g. "outbox", "work". store_wake wakes the
 * connections waiting on channel and never blocks; store_wake_wait waits up
 * to timeout_ms for one: 1 woken (also by a wake since the last wait), 0
 * timed out, -1 with err. A connection waits on one channel only. */
void store_wake(store *s, const char *channel);
int store_wake_wait(store *s, const char *channel, long long timeout_ms, errinfo *err);

#endif
