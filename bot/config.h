/* config: the daemon's own settings (`deploybot serve --config FILE`).
 *
 * A JSON file; every key is optional and has an embedded default:
 *   {
 *     "listen": "127.0.0.1", "port": 8080,
 *     "data_dir": "./deploybot-data",
 *     "max_body_bytes": 26214400,
 *     "public_url": "http://127.0.0.1:8080",
 *     "repo": { "url": "/path/or/https/url", "token_env": "DEPLOYBOT_REPO_TOKEN" },
 *     "webhook_secret_env": "DEPLOYBOT_WEBHOOK_SECRET",
 *     "github": { "api_url": "https://api.github.com", "token_env": "GITHUB_TOKEN" },
 *     "aws": { "region": "eu-west-1" },
 *     "notify": { "chat": [...], "secrets_env": [...] }   (notify/settings.h)
 *   }
 * Secrets are never in the file: it names the environment variables that hold
 * them. Unknown keys are an error (a typo must not silently use a default).
 * "port": 0 asks for any free port (server_port() tells which). A relative
 * "data_dir" is relative to the current directory and is made absolute at
 * load time. Without "public_url" it is http://<listen>:<port>. */
#ifndef DEPLOYBOT_BOT_CONFIG_H
#define DEPLOYBOT_BOT_CONFIG_H

#include <stddef.h>
#include "deploy/options.h"
#include "notify/redact.h"
#include "notify/settings.h"

typedef struct {
    char *listen;
    int port;
    char *data_dir;
    size_t max_body;
    char *public_url;
    char *repo_url;
    char *repo_token_env;    /* name of the variable, read by git/ when it fetches */
    char *webhook_secret;    /* value read from the environment; may be NULL */
    char *github_api_url;
    char *github_token;      /* value read from the environment; may be NULL */
    char *aws_region;
    notify_settings notify;  /* chat routes, more secret variables */
} bot_config;

/* path NULL: embedded defaults only. Returns 0, or -1 with "config FILE: ..."
 * in err (out is then left empty). */
int bot_config_load(const char *path, bot_config *out, char *err, size_t errlen);
void bot_config_free(bot_config *c);

/* Adds every secret the config knows of to r (webhook secret, GitHub and
 * repository tokens, chat URLs and secrets, notify.secrets_env, AWS keys),
 * so they can be masked wherever text leaves the bot. */
void bot_config_secrets(const bot_config *c, redactor *r);

/* The engine's options, read once at start from the environment:
 * DEPLOYBOT_AWS_RETRY_BASE_MS (100), DEPLOYBOT_AWS_MAX_ATTEMPTS (6),
 * DEPLOYBOT_AWS_DEBUG (off), DEPLOYBOT_AWS_PAGE_SIZE (each API's largest),
 * DEPLOYBOT_WAIT_TIMEOUT_S and DEPLOYBOT_WAIT_POLL_MS (each waiter's own),
 * DEPLOYBOT_APPLY_PARALLELISM (4). Unset or invalid: the default. */
void bot_config_deploy_options(deploy_options *out);

#endif
