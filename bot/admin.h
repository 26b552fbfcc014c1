/* admin: the operator's commands, on the daemon's database (the daemon may
 * be running: it sees locks and redeploys within a second).
 *
 *   deploybot history [ENV] [--json] [--limit N]
 *   deploybot lock ENV --reason TEXT
 *   deploybot unlock ENV
 *   deploybot redeploy ENV SHA
 * Each prints what happened to out and returns 0, or -1 with err:
 * ERR_INVALID when the arguments are wrong (a lock without a reason, a
 * redeploy of something that is not a full commit sha), ERR_NOT_FOUND when
 * there is no database or nothing to redeploy from, else the store's. */
#ifndef DEPLOYBOT_BOT_ADMIN_H
#define DEPLOYBOT_BOT_ADMIN_H

#include <stdio.h>
#include "util/errinfo.h"

int admin_history(const char *db_path, const char *env, int as_json, int limit, FILE *out, errinfo *err);
/* who: the operator, shown with the reason in statuses. */
int admin_lock(const char *db_path, const char *env, const char *reason, const char *who, FILE *out,
               errinfo *err);
int admin_unlock(const char *db_path, const char *env, FILE *out, errinfo *err);
int admin_redeploy(const char *db_path, const char *env, const char *sha, FILE *out, errinfo *err);

#endif
