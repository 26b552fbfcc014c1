/* check: `deploybot check --config FILE`, whether a setup can work, asked
 * before the first push rather than learnt from it.
 *
 * First the config, with every problem it has (bot_config_check); only a
 * config without any is taken further, to the world outside:
 *   - the secrets it names are set: the webhook secret, the host's token
 *     (or a GitHub App's key), the repository's token for an https URL,
 *     the signing key, the API tokens, the chat URLs and their secrets,
 *     notify.secrets_env;
 *   - each chat URL is well-formed (https; plain http to loopback only);
 *   - "database": a database_url's server accepts the connection
 *     (store_probe; SQLite's file is made by serve);
 *   - "repository": repo.url answers a listing of its branches with the
 *     fetch's credentials (git/cfgrepo.h cfgrepo_probe);
 *   - "host access": the host's token may read repo.name and post statuses
 *     there (host_ops.access_check);
 *   - "aws ENV": sts:GetCallerIdentity in aws.region with the base
 *     credentials, as the environment's role when it has one (one "aws"
 *     line when the config names no environment).
 * A check that does not apply (no repo.url, no repo.name) prints nothing.
 *
 * One line per check on `out`: "OK name" or "FAIL name: reason". No secret
 * is printed: the reasons name variables, never their values, and every
 * line goes through the redactor of the config's secrets. */
#ifndef DEPLOYBOT_BOT_CHECK_H
#define DEPLOYBOT_BOT_CHECK_H

#include <stdio.h>

/* The number of checks that failed (0: all passed). */
int check_run(const char *config_path, FILE *out);

#endif
