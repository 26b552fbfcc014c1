/* ghapp: see ghapp.h. */
#include "notify/ghapp.h"
#include "util/http.h"
#include "util/jwt.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JWT_BACKDATE_S 60  /* GitHub's advice against clock drift */
#define JWT_LIFETIME_S 540 /* exp - now; GitHub refuses more than 600 */
#define GHAPP_TOKEN_MAX 512

struct ghapp {
    ghapp_settings s;
    char *api_url, *key_file, *repo;
    char token[GHAPP_TOKEN_MAX]; /* "" when none */
    time_t expires;
};

ghapp *ghapp_new(const ghapp_settings *s) {
    ghapp *a;
    if (!s || !s->app_id) return NULL;
    if (!(a = calloc(1, sizeof(*a)))) abort();
    a->s = *s;
    a->api_url = strdup(s->api_url);
    a->key_file = strdup(s->private_key_file);
    a->repo = s->repo ? strdup(s->repo) : NULL;
    if (!a->api_url || !a->key_file || (s->repo && !a->repo)) abort();
    size_t n = strlen(a->api_url);
    if (n && a->api_url[n - 1] == '/') a->api_url[n - 1] = '\0';
    return a;
}

void ghapp_free(ghapp *a) {
    if (!a) return;
    explicit_bzero(a->token, sizeof(a->token));
    free(a->api_url);
    free(a->key_file);
    free(a->repo);
    free(a);
}

void ghapp_invalidate(ghapp *a) {
    if (a) explicit_bzero(a->token, sizeof(a->token));
}

/* "2026-12-07T17:00:00Z" as a time, 0 when it is not one. */
static time_t parse_iso(const char *s) {
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    return end && !*end ? timegm(&tm) : 0;
}

/* One call authenticated as the app itself; the answer's JSON, or NULL. */
static json_t *app_call(ghapp *a, const char *method, const char *path, errinfo *err) {
    char claims[128], url[1024], *jwt, *auth;
    long long now = (long long)time(NULL);
    http_response r;
    json_t *j = NULL;

    snprintf(claims, sizeof(claims), "{\"iat\":%lld,\"exp\":%lld,\"iss\":\"%lld\"}", now - JWT_BACKDATE_S,
             now + JWT_LIFETIME_S, a->s.app_id);
    if (!(jwt = jwt_rs256(a->key_file, claims, err))) return NULL;
    if (asprintf(&auth, "Authorization: Bearer %s", jwt) < 0) abort();
    free(jwt);
    snprintf(url, sizeof(url), "%s%s", a->api_url, path);
    const char *headers[] = {"Accept: application/vnd.github+json", "X-GitHub-Api-Version: 2022-11-28", auth,
                             NULL};
    if (http_request(method, url, headers, NULL, &r, err) != 0) {
        errinfo_prefix(err, "GitHub App %lld: %s %s", a->s.app_id, method, path);
        err->code = ERR_UNAVAILABLE;
    } else if (r.status < 200 || r.status >= 300) {
        errinfo_set(err, r.status >= 500 || r.status == 429 ? ERR_UNAVAILABLE : ERR_REMOTE,
                    "GitHub App %lld: GitHub answered %ld to %s %s: %.300s", a->s.app_id, r.status, method,
                    path, r.body);
    } else if (!(j = json_loads(r.body, 0, NULL))) {
        errinfo_set(err, ERR_REMOTE, "GitHub App %lld: %s %s: the answer is not JSON", a->s.app_id, method, path);
    }
    explicit_bzero(auth, strlen(auth));
    free(auth);
    http_response_free(&r);
    return j;
}

static int find_installation(ghapp *a, errinfo *err) {
    char path[400];
    json_t *j;

    if (a->s.installation_id) return 0;
    if (!a->repo)
        return errinfo_set(err, ERR_INVALID, "GitHub App %lld: set github.installation_id, or repo.name to look it up",
                           a->s.app_id);
    snprintf(path, sizeof(path), "/repos/%s/installation", a->repo);
    if (!(j = app_call(a, "GET", path, err))) return -1;
    a->s.installation_id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    if (a->s.installation_id <= 0)
        return errinfo_set(err, ERR_REMOTE, "GitHub App %lld: GET %s answered without an installation id",
                           a->s.app_id, path);
    return 0;
}

static int fetch_token(ghapp *a, errinfo *err) {
    char path[128];
    json_t *j;
    const char *tok;

    if (find_installation(a, err) < 0) return -1;
    snprintf(path, sizeof(path), "/app/installations/%lld/access_tokens", a->s.installation_id);
    if (!(j = app_call(a, "POST", path, err))) return -1;
    tok = json_string_value(json_object_get(j, "token"));
    a->expires = parse_iso(json_string_value(json_object_get(j, "expires_at")));
    if (!tok || !*tok || strlen(tok) >= sizeof(a->token) || !a->expires) {
        json_decref(j);
        return errinfo_set(err, ERR_REMOTE, "GitHub App %lld: POST %s answered without a token and its expiry",
                           a->s.app_id, path);
    }
    strcpy(a->token, tok);
    json_decref(j);
    return 0;
}

int ghapp_token(ghapp *a, char *out, size_t len, errinfo *err) {
    if (!a->token[0] || time(NULL) + a->s.refresh_s >= a->expires) {
        ghapp_invalidate(a);
        if (fetch_token(a, err) < 0) return -1;
    }
    if (strlen(a->token) >= len) return errinfo_set(err, ERR_LIMIT, "GitHub App %lld: the token is too long", a->s.app_id);
    strcpy(out, a->token);
    return 0;
}
