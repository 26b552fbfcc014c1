/* github: see github.h. */
#include "notify/github.h"
#include "notify/http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct github_client {
    char *api_url;
    char *auth;  /* "Authorization: Bearer <token>" */
};

github_client *github_client_new(const char *api_url, const char *token) {
    github_client *g = calloc(1, sizeof(*g));
    g->api_url = strdup(api_url);
    size_t n = strlen(g->api_url);
    if (n && g->api_url[n - 1] == '/') g->api_url[n - 1] = '\0';
    if (token && *token && asprintf(&g->auth, "Authorization: Bearer %s", token) < 0) abort();
    return g;
}

void github_client_free(github_client *g) {
    if (!g) return;
    free(g->api_url);
    free(g->auth);
    free(g);
}

/* Cuts s to at most max characters (UTF-8 aware), ending with "..." when cut. */
static json_t *clipped(const char *s, size_t max) {
    size_t chars = 0, i = 0, cut = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80) continue;
        if (chars == max - 3) cut = i;
        chars++;
    }
    if (chars <= max) return json_string(s);
    char *t = malloc(cut + 4);
    memcpy(t, s, cut);
    memcpy(t + cut, "...", 4);
    json_t *j = json_string(t);
    free(t);
    return j;
}

static int github_call(github_client *g, const char *method, const char *path, json_t *body,
                       char *err, size_t errlen) {
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", g->api_url, path);
    const char *headers[] = {"Accept: application/vnd.github+json", "Content-Type: application/json",
                             "X-GitHub-Api-Version: 2022-11-28", g->auth, NULL};
    char *text = json_dumps(body, JSON_COMPACT);
    http_response r;
    int rc = http_request(method, url, headers, text, &r, err, errlen);
    free(text);
    if (rc == 0 && (r.status < 200 || r.status >= 300)) {
        snprintf(err, errlen, "GitHub answered %ld to %s %s: %.300s", r.status, method, path, r.body);
        rc = -1;
    }
    http_response_free(&r);
    return rc;
}

int github_status_set(github_client *g, const char *repo, const char *sha,
                      const char *state, const char *context,
                      const char *description, const char *target_url,
                      char *err, size_t errlen) {
    char path[512];
    snprintf(path, sizeof(path), "/repos/%s/statuses/%s", repo, sha);
    json_t *body = json_pack("{s:s,s:o,s:o}", "state", state, "context", clipped(context, 255),
                             "description", clipped(description ? description : "", 140));
    if (target_url) json_object_set_new(body, "target_url", json_string(target_url));
    int rc = github_call(g, "POST", path, body, err, errlen);
    json_decref(body);
    return rc;
}
