/* api: the state-changing endpoints of the API (role operate, bot/auth.h).
 *
 *   POST /api/environments/ENV/lock      {"reason": "text"}
 *   POST /api/environments/ENV/unlock    no body, or {}
 *   POST /api/environments/ENV/redeploy  {"commit": "<40-hex sha>"}
 *
 * They are `deploybot lock`, `unlock` and `redeploy` (bot/admin.h) with the
 * credential's name as the operator: the same checks, the same effects in
 * the history, the same messages. The answer is {"ok": true, "message":
 * "..."}, or {"error": "..."} with 400 (bad arguments), 404 (unknown path,
 * nothing to redeploy from) or 503 (the database is busy). */
#ifndef DEPLOYBOT_BOT_API_H
#define DEPLOYBOT_BOT_API_H

#include <stddef.h>
#include <jansson.h>

#include "store/store.h"

#define API_ENVIRONMENTS "/api/environments/"
#define API_BODY_MAX 4096 /* a reason and a sha fit many times */

/* path is what follows API_ENVIRONMENTS ("dev/lock"); body (len bytes, may
 * be empty) is the request's JSON. Returns the HTTP status; *answer is the
 * JSON document to send (owned by the caller). */
unsigned api_environment_post(store *db, const char *path, const char *who, const char *body, size_t len,
                              json_t **answer);

#endif
