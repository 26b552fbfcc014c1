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
 * a run) and never see SQL, so a second backend (PostgreSQL) would change
 * nothing outside store/.
 *
 * Today it is one SQLite file in WAL mode with synchronous=FULL: what a call
 * committed is on disk when it returns, so a webhook acknowledged after
 * store_delivery_add survives a power cut. The schema is versioned and
 * upgraded in place when a store is opened.
 *
 * A store is one connection, for one thread at a time; connections (threads,
 * processes) see each other's commits. */
#ifndef DEPLOYBOT_STORE_STORE_H
#define DEPLOYBOT_STORE_STORE_H

#include "util/errinfo.h"

typedef struct store store;

enum {
    /* Create the file's missing directories too (the daemon's data_dir). */
    STORE_MKDIR = 1,
    /* Give up waiting for another connection's write after 5 s instead of
     * 10 s: the HTTP thread must answer a webhook within GitHub's 10 s. */
    STORE_SHORT_WAIT = 2,
};

/* Opens the database at path (creating the file and the schema, upgrading an
 * older schema). NULL with err on failure, e.g. a schema newer than this
 * deploybot understands or a filesystem without WAL support. */
store *store_open(const char *path, unsigned flags, errinfo *err);
void store_close(store *s);

#endif
