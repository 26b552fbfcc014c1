/* github_api: see github_api.h. */
#include "host/github_api.h"
#include "host/rest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

host_client *github_client_new(const host_config *cfg) {
    static const char *const headers[] = {"Accept: application/vnd.github+json",
                                          "Content-Type: application/json",
                                          "X-GitHub-Api-Version: 2022-11-28", NULL};

    return rest_client_new("GitHub", cfg->api_url, headers, "Authorization: Bearer ", cfg->token);
}

int github_status_post(host_client *c, const char *repo, const char *sha,
                       const char *state, const char *context,
                       const char *description, const char *target_url,
                       http_response *resp, errinfo *err) {
    char path[512];
    snprintf(path, sizeof(path), "/repos/%s/statuses/%s", repo, sha);
    json_t *body = json_pack("{s:s,s:o,s:o}", "state", state, "context", rest_clipped(context, GITHUB_CONTEXT_MAX),
                             "description", rest_clipped(description ? description : "", GITHUB_DESCRIPTION_MAX));
    if (target_url) json_object_set_new(body, "target_url", json_string(target_url));
    int rc = rest_call(c, "POST", path, body, resp, err);
    json_decref(body);
    return rc;
}

int github_issue_comment_create(host_client *c, const char *repo, long number,
                                const char *body, long long *id,
                                http_response *resp, errinfo *err) {
    char path[512];
    snprintf(path, sizeof(path), "/repos/%s/issues/%ld/comments", repo, number);
    return rest_comment(c, "POST", path, body, id, resp, err);
}

int github_issue_comment_update(host_client *c, const char *repo, long number, long long id,
                                const char *body, http_response *resp, errinfo *err) {
    char path[512];
    (void)number;
    snprintf(path, sizeof(path), "/repos/%s/issues/comments/%lld", repo, id);
    return rest_comment(c, "PATCH", path, body, NULL, resp, err);
}

int github_access_check(host_client *c, const char *repo, errinfo *err) {
    char path[512];
    http_response r;
    snprintf(path, sizeof(path), "/repos/%s", repo);
    json_t *j = rest_get_object(c, path, &r, err);
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

int github_commit_comment_create(host_client *c, const char *repo, const char *sha,
                                 const char *body, long long *id,
                                 http_response *resp, errinfo *err) {
    char path[512];
    snprintf(path, sizeof(path), "/repos/%s/commits/%s/comments", repo, sha);
    return rest_comment(c, "POST", path, body, id, resp, err);
}
