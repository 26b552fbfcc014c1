/* api: the environments' endpoints of the API.
 *
 * Role read (bot/auth.h):
 *   GET /api/environments          every environment's card (bot/envview.h)
 *   GET /api/environments/ENV      one card; 404 for an environment neither
 *                                  the history, the locks nor the config know
 *
 * Role operate, the state-changing ones:
 *   POST /api/environments/ENV/lock      {"reason": "text"}
 *   POST /api/environments/ENV/unlock    no body, or {}
 *   POST /api/environments/ENV/redeploy  {"commit": "<40-hex sha>"}
 *   POST /api/runs/ID/cancel             no body, or {}
 *
 * They are `deploybot lock`, `unlock`, `redeploy` and `cancel`
 * (bot/admin.h) with the credential's name as the operator (a cancel says
 * "canceled by api"): the same checks, the same effects in the history, the
 * same messages. The answer is {"ok": true, "message": "..."}, or {"error":
 * "..."} with 400 (bad arguments), 404 (unknown path, nothing to redeploy
 * from, no such run), 409 (the run has ended already) or 503 (the database
 * is busy). */
#ifndef DEPLOYBOT_BOT_API_H
#define DEPLOYBOT_BOT_API_H

#include <stddef.h>
#include <jansson.h>

#include "bot/envview.h"
#include "store/store.h"

#define API_ENVIRONMENTS "/api/environments/"
#define API_ENVIRONMENTS_LIST "/api/environments"
#define API_RUNS "/api/runs/"
#define API_BODY_MAX 4096 /* a reason and a sha fit many times */

/* path is what follows API_ENVIRONMENTS ("dev/lock"); body (len bytes, may
 * be empty) is the request's JSON. Returns the HTTP status; *answer is the
 * JSON document to send (owned by the caller). */
/* path is what follows API_ENVIRONMENTS_LIST ("" or "/dev"). Returns the
 * HTTP status; *answer is the JSON to send (owned by the caller). */
unsigned api_environment_get(envview *v, store *db, const char *path, json_t **answer);

unsigned api_environment_post(store *db, const char *path, const char *who, const char *body, size_t len,
                              json_t **answer);

/* path is what follows API_RUNS ("12/cancel"). As above. */
unsigned api_run_post(store *db, const char *path, json_t **answer);

#endif
