/* auth: who may read and operate the UI and the API.
 *
 * Credentials are the config's "api_tokens" (bot/config.h), presented as
 * `Authorization: Bearer <token>`, or a browser session (bot/session.h)
 * obtained once with POST /login. `read` allows every GET of the pages, the
 * API and the live log; `operate` also the state-changing endpoints
 * (bot/api.h). Tokens are compared by their SHA-256 in constant time, and
 * only the digests are kept.
 *
 * Origin: a request whose Origin header is not the origin of public_url
 * (scheme, host and port) is refused with 403, and so is a state-changing
 * request of a browser session without Origin (browsers always send it on
 * POST): another site cannot act, or read the live log, with the user's
 * cookie. API clients with a bearer token may omit Origin.
 *
 * Without any token configured the UI and the API are closed (401).
 * /healthz, /login and the webhooks (authenticated by their signatures) are
 * open; the server decides which paths need what. */
#ifndef DEPLOYBOT_BOT_AUTH_H
#define DEPLOYBOT_BOT_AUTH_H

#include <stddef.h>
#include <libwebsockets.h>

#include "bot/config.h"
#include "bot/session.h"

typedef struct auth auth;

typedef struct {
    char name[65]; /* the credential's name (the token's, or the session's) */
    bot_role role;
    int by_session; /* authenticated by the session cookie, not a bearer token */
} auth_who;

#define AUTH_WHY_MAX 256

/* Keeps the digests of cfg's tokens, the session key, and public_url's
 * origin (a ":0" port in it stands for `port`, the one listened on). */
auth *auth_new(const bot_config *cfg, int port, const unsigned char key[SESSION_KEY_BYTES]);
void auth_free(auth *a);

/* The decision on a request that needs `need` (state_changing: a POST and
 * the like, for the Origin rule). 0 with *who filled, or the HTTP status to
 * answer (401, 403) with the reason in why (AUTH_WHY_MAX bytes; it never
 * holds a credential). A 401 is answered with `WWW-Authenticate: Bearer`. */
unsigned auth_check(const auth *a, struct lws *wsi, bot_role need, int state_changing, auth_who *who,
                    char *why);

/* 1 when the request carries no Origin, or public_url's. */
int auth_origin_ok(const auth *a, struct lws *wsi);

/* POST /login: body is the form "token=<token>". 1 with the Set-Cookie
 * value (a new session for the token's credential, AUTH_COOKIE_MAX bytes)
 * in cookie and the credential in *who, 0 when the token is not one of the
 * config's. */
#define AUTH_COOKIE_MAX (SESSION_VALUE_MAX + 128)
int auth_login(const auth *a, const char *body, size_t len, long long now, char *cookie, auth_who *who);

#endif
