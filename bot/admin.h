/* admin: the operator's commands, on the daemon's database (the daemon may
 * be running: it sees locks and redeploys within a second).
 *
 *   deploybot history [ENV] [--json] [--limit N]
 *   deploybot lock ENV --reason TEXT
 *   deploybot unlock ENV
 *   deploybot redeploy ENV SHA
 * Each prints what happened and returns the process exit status. */
#ifndef DEPLOYBOT_BOT_ADMIN_H
#define DEPLOYBOT_BOT_ADMIN_H

#include <stdio.h>

int admin_history(const char *db_path, const char *env, int as_json, int limit, FILE *out);
int admin_lock(const char *db_path, const char *env, const char *reason, FILE *out);
int admin_unlock(const char *db_path, const char *env, FILE *out);
int admin_redeploy(const char *db_path, const char *env, const char *sha, FILE *out);

#endif
