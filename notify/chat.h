/* chat: delivers a rendered message to a Slack incoming webhook, a Discord
 * webhook or the generic JSON webhook (README "What people read"; the wire
 * facts are in the fixtures' webhooks/NOTES.md §6, §7).
 *
 * The URL is read from the environment variable the route names, at each
 * send, and never appears in an error text (it is a secret). */
#ifndef DEPLOYBOT_NOTIFY_CHAT_H
#define DEPLOYBOT_NOTIFY_CHAT_H

#include <stddef.h>
#include <jansson.h>
#include "util/http.h"
#include "notify/settings.h"
#include "util/errinfo.h"

#define CHAT_SIGNATURE_HEADER "X-Deploybot-Signature-256"

/* "sha256=" + lowercase hex HMAC-SHA256(key = secret, msg = body): the
 * value of X-Deploybot-Signature-256 (72 bytes with the NUL). */
void chat_sign(const char *secret, const char *body, size_t len, char out[72]);

/* Posts `body` to the URL in $url_env. For CHAT_WEBHOOK, body is the event
 * (render_webhook): "timestamp" (now, Unix seconds) is added, and the exact
 * bytes sent are signed with $secret_env; `delivery` (the outbox id, the same
 * on every retry) goes in X-Deploybot-Delivery. Returns 0 when the service
 * accepted the message (Slack 200, Discord 200/204, webhook 2xx); `resp`
 * (may be NULL) gets the answer, to be freed with http_response_free. A
 * refusal sets err->status; no answer is ERR_UNAVAILABLE. */
int chat_post(chat_kind kind, const char *url_env, const char *secret_env, const json_t *body,
              long long delivery, http_response *resp, errinfo *err);

#endif
