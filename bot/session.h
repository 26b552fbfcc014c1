/* session: the browser's signed session cookie.
 *
 * After POST /login with a token, the browser holds
 *   deploybot_session=<name>:<r|o>:<expires>:<hmac>
 * where hmac is HMAC-SHA256 (hex) under the bot's session key (kept in the
 * database, store/keys.h) over the name of the credential, its role and the
 * Unix time the session ends. Nothing else is kept on the server: a session
 * ends when it expires, when the key changes, or when its credential is
 * removed from the config (bot/auth.h checks the name and role against
 * "api_tokens" at every request). */
#ifndef DEPLOYBOT_BOT_SESSION_H
#define DEPLOYBOT_BOT_SESSION_H

#include <stddef.h>
#include "bot/config.h"

#define SESSION_COOKIE "deploybot_session"
#define SESSION_KEY_BYTES 32
#define SESSION_VALUE_MAX 160 /* a name of 64, the role, the time and the MAC */

typedef struct {
    char name[65];
    bot_role role;
    long long expires; /* Unix seconds */
} session_claims;

/* The cookie value for c, signed with key, into out (SESSION_VALUE_MAX
 * bytes). */
void session_sign(const unsigned char key[SESSION_KEY_BYTES], const session_claims *c,
                  char out[SESSION_VALUE_MAX]);

/* 1 when value was signed with key and has not expired at `now` (Unix
 * seconds), with its claims in *c; 0 for anything else (forged, malformed,
 * expired). The MAC is compared in constant time. */
int session_verify(const unsigned char key[SESSION_KEY_BYTES], const char *value, long long now,
                   session_claims *c);

#endif
