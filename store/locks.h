/* locks: operator locks on environments (`deploybot lock ENV --reason ...`).
 * A locked environment is still planned, but never applied, and every report
 * says who locked it and why. Kept in the store, so the command line and a
 * running daemon see the same locks. */
#ifndef DEPLOYBOT_STORE_LOCKS_H
#define DEPLOYBOT_STORE_LOCKS_H

#include <stddef.h>
#include "store/store.h"

/* Locks env (again: the new reason replaces the old). */
int store_lock_set(store *s, const char *env, const char *reason, const char *who, errinfo *err);
/* Unlocks env; *was_locked (may be NULL) says whether it was. */
int store_lock_clear(store *s, const char *env, int *was_locked, errinfo *err);
/* 1 locked (reason gets "who: reason"), 0 not locked, -1 error. */
int store_lock_get(store *s, const char *env, char *reason, size_t reasonlen, errinfo *err);

#endif
