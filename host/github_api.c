/* github_api: see github_api.h. */
#include "host/github_api.h"
#include "host/rest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct github_client {
    char *api_url;
    char *auth; /* "Authorization: Bearer <token>" */
    const char *headers[5];
    rest_api api;
};

github_client *github_client_new(const char *api_url, const char *token) {
    github_client *g = calloc(1, sizeof(*g));
    if (!g) abort();
    g->api_url = rest_base(api_url);
    if (token && *token && asprintf(&g->auth, "Authorization: Bearer %s", token) < 0) abort();
    g->headers[0] = "Accept: application/vnd.github+json";
    g->headers[1] = "Content-Type: application/json";
    g->headers[2] = "X-GitHub-Api-Version: 2022-11-28";
    g->headers[3] = g->auth;
    g->api = (rest_api){"GitHub", g->api_url, g->headers};
    return g;
}

void github_client_free(github_client *g) {
    if (!g) return;
    free(g->api_url);
    if (g->auth) explicit_bzero(g->auth, strlen(g->auth));
    free(g->auth);
    free(g);
}

int github_status_post(github_client *g, const char *repo, const char *sha,
                       const char *state, const char *context,
                       const char *description, const char *target_url,
                       http_response *resp, errinfo *err) {
    char path[512];
    snprintf(path, sizeof(path), "/repos/%s/statuses/%s", repo, sha);
    json_t *body = json_pack("{s:s,s:o,s:o}", "state", state, "context", rest_clipped(context, GITHUB_CONTEXT_MAX),
                             "description", rest_clipped(description ? description : "", GITHUB_DESCRIPTION_MAX));
    if (target_url) json_object_set_new(body, "target_url", json_string(target_url));
    int rc = rest_call(&g->api, "POST", path, body, resp, err);
    json_decref(body);
    return rc;
}

int github_status_set(github_client *g, const char *repo, const char *sha,
                      const char *state, const char *context,
                      const char *description, const char *target_url,
                      errinfo *err) {
    return github_status_post(g, repo, sha, state, context, description, target_url, NULL, err);
}

int github_issue_comment_create(github_client *g, const char *repo, long number,
                                const char *body, long long *id,
                                http_response *resp, errinfo *err) {
    char path[512];
    snprintf(path, sizeof(path), "/repos/%s/issues/%ld/comments", repo, number);
    return rest_comment(&g->api, "POST", path, body, id, resp, err);
}

int github_issue_comment_update(github_client *g, const char *repo, long long id,
                                const char *body, http_response *resp,
                                errinfo *err) {
    char path[512];
    snprintf(path, sizeof(path), "/repos/%s/issues/comments/%lld", repo, id);
    return rest_comment(&g->api, "PATCH", path, body, NULL, resp, err);
}

int github_access_check(github_client *g, const char *repo, errinfo *err) {
    char path[512];
    http_response r;
    snprintf(path, sizeof(path), "/repos/%s", repo);
    json_t *j = rest_get_object(&g->api, path, &r, err);
    json_t *perms = json_object_get(j, "permissions");
    int rc = j ? 0 : -1;
    /* Only a classic token has scopes; an app's or a fine-grained token's
     * rights show in "permissions" alone. */
    int public_ok = json_is_false(json_object_get(j, "private")) && rest_scope_listed(r.oauth_scopes, "public_repo");
    if (j && r.oauth_scopes_sent && !rest_scope_listed(r.oauth_scopes, "repo") &&
        !rest_scope_listed(r.oauth_scopes, "repo:status") && !public_ok)
        rc = errinfo_set(err, ERR_REMOTE, "the token's scopes (%s) lack \"repo\" (or \"repo:status\"), which statuses need",
                         r.oauth_scopes[0] ? r.oauth_scopes : "none");
    else if (perms && !json_is_true(json_object_get(perms, "push")))
        rc = errinfo_set(err, ERR_REMOTE, "the token may read %s but not push to it, and statuses need write access", repo);
    json_decref(j);
    http_response_free(&r);
    return rc;
}

int github_commit_comment_create(github_client *g, const char *repo, const char *sha,
                                 const char *body, long long *id,
                                 http_response *resp, errinfo *err) {
    char path[512];
    snprintf(path, sizeof(path), "/repos/%s/commits/%s/comments", repo, sha);
    return rest_comment(&g->api, "POST", path, body, id, resp, err);
}
