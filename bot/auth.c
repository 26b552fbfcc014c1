/* auth: see auth.h. */
#include "bot/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/digest.h"

typedef struct {
    char name[65];
    bot_role role;
    unsigned char digest[DIGEST_SHA256_LEN];
} credential;

struct auth {
    credential *creds; /* only the tokens that are set */
    size_t n_creds;
    unsigned char key[SESSION_KEY_BYTES];
    char origin[256]; /* public_url's scheme://host[:port], default port dropped */
    int ttl_s;
    int secure; /* TLS: the cookie gets Secure */
};

/* scheme://host[:port] of url, lowercase, without a default port; a ":0"
 * port (listen on any) is the one listened on. */
static void origin_of(const char *url, int port, char *out, size_t n) {
    const char *host = strstr(url, "://");
    size_t len = host ? strcspn(host + 3, "/?#") + (size_t)(host + 3 - url) : strlen(url);
    int https = strncasecmp(url, "https:", 6) == 0;

    snprintf(out, n, "%.*s", (int)len, url);
    for (char *p = out; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    len = strlen(out);
    if (len > 2 && strcmp(out + len - 2, ":0") == 0)
        snprintf(out + len - 2, n - (len - 2), ":%d", port);
    len = strlen(out);
    if ((https && len > 4 && strcmp(out + len - 4, ":443") == 0) ||
        (!https && len > 3 && strcmp(out + len - 3, ":80") == 0))
        out[strrchr(out, ':') - out] = '\0';
}

auth *auth_new(const bot_config *cfg, int port, const unsigned char key[SESSION_KEY_BYTES]) {
    auth *a = calloc(1, sizeof(*a));

    if (!a || !(a->creds = calloc(cfg->n_api_tokens + 1, sizeof(*a->creds))))
        abort();
    for (size_t i = 0; i < cfg->n_api_tokens; i++) {
        const bot_api_token *t = &cfg->api_tokens[i];
        credential *c = &a->creds[a->n_creds];

        if (!t->token)
            continue;
        snprintf(c->name, sizeof(c->name), "%s", t->name);
        c->role = t->role;
        digest_sha256(t->token, strlen(t->token), c->digest);
        a->n_creds++;
    }
    memcpy(a->key, key, SESSION_KEY_BYTES);
    origin_of(cfg->public_url, port, a->origin, sizeof(a->origin));
    a->ttl_s = cfg->session_ttl_s;
    a->secure = cfg->tls_cert != NULL;
    return a;
}

void auth_free(auth *a) {
    if (!a)
        return;
    digest_cleanse(a->key, sizeof(a->key));
    free(a->creds);
    free(a);
}

/* The credential whose token is token (len bytes), or NULL. Every one is
 * compared, by digest: neither the time nor the length tells which. */
static const credential *find_token(const auth *a, const char *token, size_t len) {
    unsigned char d[DIGEST_SHA256_LEN];
    const credential *found = NULL;

    digest_sha256(token, len, d);
    for (size_t i = 0; i < a->n_creds; i++)
        if (digest_equal(d, a->creds[i].digest, sizeof(d)))
            found = &a->creds[i];
    digest_cleanse(d, sizeof(d));
    return found;
}

/* A session is valid while its credential still exists with its role. */
static const credential *find_name(const auth *a, const char *name, bot_role role) {
    for (size_t i = 0; i < a->n_creds; i++)
        if (strcmp(a->creds[i].name, name) == 0 && a->creds[i].role == role)
            return &a->creds[i];
    return NULL;
}

/* -1 no Origin, 0 another one, 1 ours. */
static int origin_state(const auth *a, struct lws *wsi) {
    char origin[256];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);

    if (n <= 0)
        return -1;
    if (n >= (int)sizeof(origin) || lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) < 0)
        return 0;
    return strcasecmp(origin, a->origin) == 0;
}

int auth_origin_ok(const auth *a, struct lws *wsi) {
    return origin_state(a, wsi) != 0;
}

static void who_is(auth_who *who, const credential *c, int by_session) {
    snprintf(who->name, sizeof(who->name), "%s", c->name);
    who->role = c->role;
    who->by_session = by_session;
}

/* The session cookie's value among the Cookie header's pairs, or NULL. */
static const char *session_cookie(char *cookies) {
    static const char name[] = SESSION_COOKIE "=";
    char *save = NULL;

    for (char *p = strtok_r(cookies, ";", &save); p; p = strtok_r(NULL, ";", &save)) {
        p += strspn(p, " \t");
        if (strncmp(p, name, sizeof(name) - 1) == 0)
            return p + sizeof(name) - 1;
    }
    return NULL;
}

/* 0 with *who, or a 401 and why. */
static unsigned identify(const auth *a, struct lws *wsi, auth_who *who, char *why) {
    char buf[1024];
    int n = lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_AUTHORIZATION);
    const credential *c;
    session_claims claims;
    const char *cookie;

    if (n > 0) {
        if (strncasecmp(buf, "Bearer ", 7) == 0 && (c = find_token(a, buf + 7, strlen(buf + 7)))) {
            who_is(who, c, 0);
            n = 0;
        }
        digest_cleanse(buf, sizeof(buf));
        if (n == 0)
            return 0;
        snprintf(why, AUTH_WHY_MAX, "the Authorization header holds no valid bearer token");
        return HTTP_STATUS_UNAUTHORIZED;
    }
    n = lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_COOKIE);
    if (n > 0 && (cookie = session_cookie(buf))) {
        if (session_verify(a->key, cookie, (long long)time(NULL), &claims) &&
            (c = find_name(a, claims.name, claims.role))) {
            who_is(who, c, 1);
            return 0;
        }
        snprintf(why, AUTH_WHY_MAX, "the session has expired or is not valid: log in again at /login");
        return HTTP_STATUS_UNAUTHORIZED;
    }
    snprintf(why, AUTH_WHY_MAX, "a credential is needed: Authorization: Bearer <token>, or log in at /login");
    return HTTP_STATUS_UNAUTHORIZED;
}

unsigned auth_check(const auth *a, struct lws *wsi, bot_role need, int state_changing, auth_who *who,
                    char *why) {
    int origin = origin_state(a, wsi);
    unsigned status;

    memset(who, 0, sizeof(*who));
    if (origin == 0) {
        snprintf(why, AUTH_WHY_MAX, "Origin is not this bot's (%.200s, from public_url)", a->origin);
        return HTTP_STATUS_FORBIDDEN;
    }
    if (a->n_creds == 0) {
        snprintf(why, AUTH_WHY_MAX,
                 "the UI and API are closed: no token of \"api_tokens\" is configured (and set)");
        return HTTP_STATUS_UNAUTHORIZED;
    }
    if ((status = identify(a, wsi, who, why)) != 0)
        return status;
    if (who->role < need) {
        snprintf(why, AUTH_WHY_MAX, "credential \"%s\" has the role read; this needs operate", who->name);
        return HTTP_STATUS_FORBIDDEN;
    }
    if (state_changing && who->by_session && origin < 0) {
        snprintf(why, AUTH_WHY_MAX, "a browser session's request that changes state must carry Origin");
        return HTTP_STATUS_FORBIDDEN;
    }
    return 0;
}

static int unhex(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F'   ? c - 'A' + 10
                                                                 : -1;
}

/* The form field "token" of an application/x-www-form-urlencoded body,
 * decoded into out (n bytes); 0 when absent or too long. */
static int form_token(const char *body, size_t len, char *out, size_t n) {
    const char *p = body, *end = body + len;
    size_t o = 0;

    while (p < end && !(end - p >= 6 && strncmp(p, "token=", 6) == 0 && (p == body || p[-1] == '&')))
        p++;
    if (p >= end)
        return 0;
    for (p += 6; p < end && *p != '&' && o + 1 < n; p++) {
        if (*p == '%' && end - p >= 3 && unhex(p[1]) >= 0 && unhex(p[2]) >= 0) {
            out[o++] = (char)(unhex(p[1]) * 16 + unhex(p[2]));
            p += 2;
        } else {
            out[o++] = *p == '+' ? ' ' : *p;
        }
    }
    out[o] = '\0';
    return o > 0 && (p >= end || *p == '&');
}

int auth_login(const auth *a, const char *body, size_t len, long long now, char *cookie, auth_who *who) {
    char token[512], value[SESSION_VALUE_MAX];
    const credential *c = NULL;
    session_claims claims;

    if (form_token(body, len, token, sizeof(token)))
        c = find_token(a, token, strlen(token));
    digest_cleanse(token, sizeof(token));
    memset(who, 0, sizeof(*who));
    if (!c)
        return 0;
    who_is(who, c, 1);
    snprintf(claims.name, sizeof(claims.name), "%s", c->name);
    claims.role = c->role;
    claims.expires = now + a->ttl_s;
    session_sign(a->key, &claims, value);
    snprintf(cookie, AUTH_COOKIE_MAX, SESSION_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s",
             value, a->ttl_s, a->secure ? "; Secure" : "");
    return 1;
}
