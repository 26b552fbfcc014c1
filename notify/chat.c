/* chat: see chat.h. */
#include "notify/chat.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void chat_sign(const char *secret, const char *body, size_t len, char out[72]) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac, &n);
    memcpy(out, "sha256=", 7);
    for (unsigned i = 0; i < n && i < 32; i++) snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    out[7 + 64] = '\0';
}

/* Slack answers 200 "ok"; Discord 204 (or 200 with ?wait=true). */
static int accepted(chat_kind kind, const http_response *r) {
    if (kind == CHAT_SLACK) return r->status == 200;
    return r->status >= 200 && r->status < 300;
}

int chat_post(chat_kind kind, const char *url_env, const char *secret_env, const json_t *body,
              long long delivery, http_response *resp, char *err, size_t errlen) {
    const char *name = chat_kind_name(kind);
    const char *url = url_env ? getenv(url_env) : NULL;
    http_response r;
    memset(&r, 0, sizeof(r));
    r.retry_after = r.retry_after_ms = r.rate_remaining = -1;
    if (!body) {
        snprintf(err, errlen, "%s: the message has no body", name);
        r.status = 400; /* nothing to retry */
        if (resp) *resp = r;
        return -1;
    }
    if (!url || !*url) {
        snprintf(err, errlen, "%s: environment variable %s is not set", name, url_env ? url_env : "(none)");
        if (resp) *resp = r;
        return -1;
    }
    json_t *msg = json_deep_copy(body);
    long long now = (long long)time(NULL);
    if (kind == CHAT_WEBHOOK) json_object_set_new(msg, "timestamp", json_integer(now));
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    char sig[80] = "", h_sig[120] = "", h_ts[64] = "", h_event[96] = "", h_id[64] = "";
    const char *headers[8] = {"Content-Type: application/json", NULL};
    if (kind == CHAT_WEBHOOK) {
        const char *secret = secret_env ? getenv(secret_env) : NULL;
        if (!secret || !*secret) {
            snprintf(err, errlen, "webhook: environment variable %s is not set", secret_env ? secret_env : "(none)");
            free(text);
            if (resp) *resp = r;
            return -1;
        }
        chat_sign(secret, text, strlen(text), sig);
        snprintf(h_sig, sizeof(h_sig), CHAT_SIGNATURE_HEADER ": %s", sig);
        snprintf(h_ts, sizeof(h_ts), "X-Deploybot-Timestamp: %lld", now);
        snprintf(h_event, sizeof(h_event), "X-Deploybot-Event: %.60s",
                 json_string_value(json_object_get(body, "event")) ? json_string_value(json_object_get(body, "event")) : "");
        snprintf(h_id, sizeof(h_id), "X-Deploybot-Delivery: %lld", delivery);
        headers[1] = h_sig, headers[2] = h_ts, headers[3] = h_event, headers[4] = h_id;
    }
    char why[256] = "";
    int rc = http_request_timeout("POST", url, headers, text, 15, &r, why, sizeof(why));
    free(text);
    if (rc != 0) snprintf(err, errlen, "%s (%s): %s", name, url_env, why);
    else if (!accepted(kind, &r)) {
        snprintf(err, errlen, "%s (%s) answered %ld: %.200s", name, url_env, r.status, r.body);
        rc = -1;
    }
    if (resp) *resp = r;
    else http_response_free(&r);
    return rc;
}
