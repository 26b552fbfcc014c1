/* admin: the operator's commands, on the daemon's database (the daemon may
 * be running: it sees locks and redeploys within a second). The API's
 * POST /api/environments/ENV/{lock,unlock,redeploy} (bot/api.h) are the
 * same functions on the server's connection.
 *
 *   deploybot history [ENV] [--json] [--limit N]
 *   deploybot lock ENV --reason TEXT
 *   deploybot unlock ENV
 *   deploybot redeploy ENV SHA
 *   deploybot cancel RUN
 * Each prints what happened to out and returns 0, or -1 with err:
 * ERR_INVALID when the arguments are wrong (a lock without a reason, a
 * redeploy of something that is not a full commit sha), ERR_NOT_FOUND when
 * there is no database or nothing to redeploy from, ERR_NOT_FOUND and
 * ERR_CONFLICT for a cancel of no run or of one that has ended, else the
 * store's. */
#ifndef DEPLOYBOT_BOT_ADMIN_H
#define DEPLOYBOT_BOT_ADMIN_H

#include <stdio.h>
#include "store/store.h"
#include "util/errinfo.h"

/* The daemon's database at db_path; must_exist: ERR_NOT_FOUND when there is
 * none yet (history and redeploy have nothing to work from). */
store *admin_open(const char *db_path, int must_exist, errinfo *err);

int admin_history(const char *db_path, const char *env, int as_json, int limit, FILE *out, errinfo *err);
/* who: the operator, shown with the reason in statuses. */
int admin_lock(store *db, const char *env, const char *reason, const char *who, FILE *out, errinfo *err);
int admin_unlock(store *db, const char *env, FILE *out, errinfo *err);
int admin_redeploy(store *db, const char *env, const char *sha, FILE *out, errinfo *err);
/* Stops run `id`, queued or running (store_run_cancel); by: "cli" or "api",
 * in its result "canceled by <by>". */
int admin_cancel(store *db, long id, const char *by, FILE *out, errinfo *err);

#endif
