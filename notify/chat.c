/* chat: see chat.h. */
#include "notify/chat.h"
#include "util/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void chat_sign(const char *secret, const char *body, size_t len, char out[72]) {
    char hex[DIGEST_SHA256_HEX];
    digest_hmac_sha256_hex(secret, strlen(secret), body, len, hex);
    memcpy(out, "sha256=", 7);
    memcpy(out + 7, hex, sizeof(hex));
}

/* Slack answers 200 "ok"; Discord 204 (or 200 with ?wait=true). */
static int accepted(chat_kind kind, const http_response *r) {
    if (kind == CHAT_SLACK) return r->status == 200;
    return r->status >= 200 && r->status < 300;
}

/* The generic webhook's headers besides Content-Type, kept in `h`. */
typedef struct {
    char sig[120], ts[64], event[96], id[64];
} webhook_headers;

/* Signs the exact bytes sent with $secret_env and fills headers[1..4]. */
static int sign_webhook(const char *secret_env, const json_t *body, const char *text, long long now,
                        long long delivery, webhook_headers *h, const char **headers, errinfo *err) {
    const char *secret = secret_env ? getenv(secret_env) : NULL;
    const char *event = json_string_value(json_object_get(body, "event"));
    char sig[72];
    if (!secret || !*secret)
        return errinfo_set(err, ERR_INVALID, "webhook: environment variable %s is not set",
                           secret_env ? secret_env : "(none)");
    chat_sign(secret, text, strlen(text), sig);
    snprintf(h->sig, sizeof(h->sig), CHAT_SIGNATURE_HEADER ": %s", sig);
    snprintf(h->ts, sizeof(h->ts), "X-Deploybot-Timestamp: %lld", now);
    snprintf(h->event, sizeof(h->event), "X-Deploybot-Event: %.60s", event ? event : "");
    snprintf(h->id, sizeof(h->id), "X-Deploybot-Delivery: %lld", delivery);
    headers[1] = h->sig, headers[2] = h->ts, headers[3] = h->event, headers[4] = h->id;
    return 0;
}

/* Posts the message to url; `r` gets the answer. The URL is a secret: the
 * error names the variable instead. */
static int post(chat_kind kind, const char *url, const char *url_env, const char *secret_env,
                const json_t *body, long long delivery, http_response *r, errinfo *err) {
    const char *name = chat_kind_name(kind);
    const char *headers[8] = {"Content-Type: application/json", NULL};
    webhook_headers h;
    errinfo why;
    long long now = (long long)time(NULL);
    json_t *msg = json_deep_copy(body);
    if (kind == CHAT_WEBHOOK) json_object_set_new(msg, "timestamp", json_integer(now));
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    int rc = kind == CHAT_WEBHOOK ? sign_webhook(secret_env, body, text, now, delivery, &h, headers, err) : 0;
    if (rc == 0 && http_request_timeout("POST", url, headers, text, 15, r, &why) != 0) {
        rc = errinfo_set(err, ERR_UNAVAILABLE, "%s (%s): %.700s", name, url_env, why.msg);
    } else if (rc == 0 && !accepted(kind, r)) {
        rc = errinfo_set(err, r->status >= 500 || r->status == 429 ? ERR_UNAVAILABLE : ERR_REMOTE,
                         "%s (%s) answered %ld: %.200s", name, url_env, r->status, r->body);
        if (err) err->status = (int)r->status;
    }
    free(text);
    return rc;
}

int chat_post(chat_kind kind, const char *url_env, const char *secret_env, const json_t *body,
              long long delivery, http_response *resp, errinfo *err) {
    const char *name = chat_kind_name(kind);
    const char *url = url_env ? getenv(url_env) : NULL;
    http_response r;
    int rc = -1;
    memset(&r, 0, sizeof(r));
    r.retry_after = r.retry_after_ms = r.rate_remaining = -1;
    if (!body) {
        errinfo_set(err, ERR_INVALID, "%s: the message has no body", name);
        r.status = 400; /* nothing to retry */
    } else if (!url || !*url) {
        errinfo_set(err, ERR_INVALID, "%s: environment variable %s is not set", name,
                    url_env ? url_env : "(none)");
    } else {
        rc = post(kind, url, url_env, secret_env, body, delivery, &r, err);
    }
    if (resp) *resp = r;
    else http_response_free(&r);
    return rc;
}
