/* fetchauth: the credentials the bot fetches the config repository with
 * over HTTPS, handed to git/ as its credentials callback (git/cfgrepo.h), so
 * git/ knows no host and no config.
 *
 * The password is the token in the variable repo.token_env names, read at
 * each fetch (a rotated token needs no restart), the user name the host's
 * style (host_ops.fetch_credentials: GitHub "x-access-token", Gitea
 * host.user), or repo.user when set (a GitLab deploy token's own user
 * name, "oauth2" for GitLab's other tokens). A GitHub App's installation
 * token (notify/ghapp.h) replaces the variable when one is configured. */
#ifndef DEPLOYBOT_BOT_FETCHAUTH_H
#define DEPLOYBOT_BOT_FETCHAUTH_H

#include "bot/config.h"
#include "git/cfgrepo.h"
#include "notify/ghapp.h"

/* What the callback reads: with a GitHub App (`app` not NULL: its
 * installation token, user x-access-token) the token variable is unused. */
typedef struct {
    const bot_config *cfg;
    ghapp *app; /* NULL: the token in repo.token_env */
} fetchauth;

/* A cfgrepo_cred_fn; `arg` is a fetchauth *. */
int fetchauth_cred(void *arg, const char *url, cfgrepo_cred *out, errinfo *err);

#endif
