/* ghapp: a GitHub App's installation access token, the alternative to a
 * fixed token for the API calls (notify/sender.c) and for fetching over
 * HTTPS (bot/fetchauth.c).
 *
 * The app proves who it is with a JWT signed by its private key (RS256:
 * "iat" 60 s in the past against clock drift, "exp" 9 minutes later, under
 * GitHub's 10), exchanged at POST /app/installations/{id}/access_tokens for
 * an installation token that lives an hour. The token is cached and asked
 * for again `refresh_s` before its "expires_at"; one the API refused (401)
 * is dropped with ghapp_invalidate. Without an installation id, it is
 * looked up once with GET /repos/{owner}/{repo}/installation.
 *
 * Each user (the sender thread, each worker thread) owns its own ghapp:
 * nothing is shared between threads. The token is never logged. */
#ifndef DEPLOYBOT_NOTIFY_GHAPP_H
#define DEPLOYBOT_NOTIFY_GHAPP_H

#include <stddef.h>
#include "util/errinfo.h"

typedef struct {
    const char *api_url;          /* https://api.github.com */
    long long app_id;             /* 0: no app (a fixed token is used) */
    const char *private_key_file; /* the app's PEM private key */
    long long installation_id;    /* 0: looked up for `repo` */
    const char *repo;             /* "owner/name", for the look-up; may be NULL */
    int refresh_s;                /* ask again this long before expiry */
} ghapp_settings;

typedef struct ghapp ghapp;

/* NULL when s->app_id is 0. The settings' strings are copied. */
ghapp *ghapp_new(const ghapp_settings *s);
void ghapp_free(ghapp *a);

/* The current installation token into out (NUL-terminated), asking GitHub
 * for one when there is none or it is due: 0, or -1 (ERR_UNAVAILABLE when
 * GitHub did not answer or answered 5xx, ERR_REMOTE when it refused,
 * ERR_INVALID for the key file) with a message naming the app. */
int ghapp_token(ghapp *a, char *out, size_t len, errinfo *err);

/* Forgets the cached token (the API answered 401 with it). */
void ghapp_invalidate(ghapp *a);

#endif
