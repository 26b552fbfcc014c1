/* github: see github.h. */
#include "notify/github.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct github_client {
    char *api_url;
    char *auth; /* "Authorization: Bearer <token>" */
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
    if (g->auth) explicit_bzero(g->auth, strlen(g->auth));
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

/* Sends one call; the answer goes to `resp` or is dropped. */
static int github_call(github_client *g, const char *method, const char *path, json_t *body,
                       http_response *resp, errinfo *err) {
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", g->api_url, path);
    const char *headers[] = {"Accept: application/vnd.github+json", "Content-Type: application/json",
                             "X-GitHub-Api-Version: 2022-11-28", g->auth, NULL};
    char *text = json_dumps(body, JSON_COMPACT);
    http_response r;
    errinfo why;
    int rc = http_request(method, url, headers, text, &r, &why);
    free(text);
    if (rc != 0) {
        rc = errinfo_set(err, ERR_UNAVAILABLE, "GitHub %s %s: %.700s", method, path, why.msg);
    } else if (r.status < 200 || r.status >= 300) {
        rc = errinfo_set(err, r.status >= 500 || r.status == 429 ? ERR_UNAVAILABLE : ERR_REMOTE,
                         "GitHub answered %ld to %s %s: %.300s", r.status, method, path, r.body);
        if (err) err->status = (int)r.status;
    }
    if (resp) *resp = r;
    else http_response_free(&r);
    return rc;
}

/* The "id" of the object GitHub answered with. */
static long long answer_id(const http_response *r) {
    json_t *j = json_loads(r->body, 0, NULL);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

int github_status_post(github_client *g, const char *repo, const char *sha,
                       const char *state, const char *context,
                       const char *description, const char *target_url,
                       http_response *resp, errinfo *err) {
    char path[512];
    snprintf(path, sizeof(path), "/repos/%s/statuses/%s", repo, sha);
    json_t *body = json_pack("{s:s,s:o,s:o}", "state", state, "context", clipped(context, GITHUB_CONTEXT_MAX),
                             "description", clipped(description ? description : "", GITHUB_DESCRIPTION_MAX));
    if (target_url) json_object_set_new(body, "target_url", json_string(target_url));
    int rc = github_call(g, "POST", path, body, resp, err);
    json_decref(body);
    return rc;
}

int github_status_set(github_client *g, const char *repo, const char *sha,
                      const char *state, const char *context,
                      const char *description, const char *target_url,
                      errinfo *err) {
    return github_status_post(g, repo, sha, state, context, description, target_url, NULL, err);
}

/* POST or PATCH of a comment body; *id (if given) gets the answer's id. */
static int comment_call(github_client *g, const char *method, const char *path, const char *text,
                        long long *id, http_response *resp, errinfo *err) {
    http_response r;
    json_t *body = json_pack("{s:s}", "body", text);
    if (!body) return errinfo_set(err, ERR_INVALID, "comment body is not valid UTF-8");
    int rc = github_call(g, method, path, body, &r, err);
    json_decref(body);
    if (id) *id = rc == 0 ? answer_id(&r) : 0;
    if (rc == 0 && id && *id <= 0)
        rc = errinfo_set(err, ERR_REMOTE, "GitHub answered %s %s without a comment id", method, path);
    if (resp) *resp = r;
    else http_response_free(&r);
    return rc;
}

int github_issue_comment_create(github_client *g, const char *repo, long number,
                                const char *body, long long *id,
                                http_response *resp, errinfo *err) {
    char path[512];
    snprintf(path, sizeof(path), "/repos/%s/issues/%ld/comments", repo, number);
    return comment_call(g, "POST", path, body, id, resp, err);
}

int github_issue_comment_update(github_client *g, const char *repo, long long id,
                                const char *body, http_response *resp,
                                errinfo *err) {
    char path[512];
    snprintf(path, sizeof(path), "/repos/%s/issues/comments/%lld", repo, id);
    return comment_call(g, "PATCH", path, body, NULL, resp, err);
}

int github_commit_comment_create(github_client *g, const char *repo, const char *sha,
                                 const char *body, long long *id,
                                 http_response *resp, errinfo *err) {
    char path[512];
    snprintf(path, sizeof(path), "/repos/%s/commits/%s/comments", repo, sha);
    return comment_call(g, "POST", path, body, id, resp, err);
}
