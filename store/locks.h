/* envlock: operator locks on environments (`deploybot lock ENV --reason ...`).
 * A locked environment is still planned, but never applied, and every report
 * says who locked it and why. Stored in the bot's SQLite file, so the command
 * line and a running daemon see the same locks. */
#ifndef DEPLOYBOT_STORE_LOCKS_H
#define DEPLOYBOT_STORE_LOCKS_H

#include <stddef.h>

/* 0 on success; err names the problem otherwise. */
int envlock_set(const char *db_path, const char *env, const char *reason, const char *who,
                char *err, size_t errlen);
int envlock_clear(const char *db_path, const char *env, int *was_locked, char *err, size_t errlen);
/* 1 locked (reason gets "who: reason"), 0 not locked, -1 error. */
int envlock_get(const char *db_path, const char *env, char *reason, size_t reasonlen);

#endif
