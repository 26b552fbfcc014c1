/* settings: the "notify" object of the daemon config — which chat gets
 * which events, which other environment variables hold secrets, and how
 * soon a failed message is first retried.
 *
 *   "notify": {
 *     "chat": [
 *       { "type": "slack",   "url_env": "SLACK_PRD_URL",
 *         "environments": ["prd"], "events": ["apply_succeeded", "apply_failed"] },
 *       { "type": "discord", "url_env": "DISCORD_URL", "environments": ["dev", "stg"] },
 *       { "type": "webhook", "url_env": "DEPLOYS_HOOK_URL", "secret_env": "DEPLOYS_HOOK_SECRET" }
 *     ],
 *     "secrets_env": ["DATADOG_API_KEY"],
 *     "retry_base_ms": 1000
 *   }
 *
 * "environments" and "events" are optional (absent: all). Events: plan,
 * apply_started, apply_succeeded, apply_failed, drift (bot/drift.h: found,
 * and resolved). A webhook URL is a secret
 * (Slack's and Discord's carry their token), so the file only names the
 * variable, read when a message is sent (while it is unset, messages wait).
 * "webhook" (the generic JSON webhook) needs "secret_env": its bodies are
 * signed. */
#ifndef DEPLOYBOT_NOTIFY_SETTINGS_H
#define DEPLOYBOT_NOTIFY_SETTINGS_H

#include <stddef.h>
#include <jansson.h>
#include "notify/event.h"
#include "notify/redact.h"
#include "util/errinfo.h"

typedef enum { CHAT_SLACK,
               CHAT_DISCORD,
               CHAT_WEBHOOK } chat_kind;

typedef struct {
    chat_kind kind;
    char *url_env;       /* variable holding the webhook URL */
    char *secret_env;    /* CHAT_WEBHOOK: variable holding the HMAC key */
    char **environments; /* NULL / 0: every environment */
    size_t n_environments;
    unsigned events; /* bit (1u << notify_event) per wanted event */
} chat_route;

/* "retry_base_ms": the first retry delay (doubled per attempt, at most
 * 10 min), in this range; absent: 0, the outbox's default of 1 s. */
#define NOTIFY_RETRY_BASE_MS_MIN 1
#define NOTIFY_RETRY_BASE_MS_MAX 600000

typedef struct {
    chat_route *routes;
    size_t n_routes;
    char **secrets_env; /* more variables whose values are masked */
    size_t n_secrets_env;
    long long retry_base_ms; /* 0: the default */
} notify_settings;

/* obj may be NULL (no chat, no extra secrets). Unknown keys are errors.
 * Returns 0, or -1 with ERR_INVALID and "notify.chat[0].url_env: ..." in
 * err; `out` is then empty. */
int notify_settings_parse(const json_t *obj, notify_settings *out, errinfo *err);
void notify_settings_free(notify_settings *s);

/* "slack", "discord", "webhook". */
const char *chat_kind_name(chat_kind k);
/* 1 if the route wants this event for this environment. */
int chat_route_wants(const chat_route *r, const char *env, notify_event ev);

/* How many of the routes' variables are unset; their names, comma
 * separated, into out (for a warning at start). */
int notify_settings_unset(const notify_settings *s, char *out, size_t len);

/* Adds every secret the settings know of to r: chat URLs, webhook secrets,
 * the secrets_env values, and redactor_add_defaults. */
void notify_settings_secrets(const notify_settings *s, redactor *r);

#endif
