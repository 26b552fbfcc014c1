/* github_api: the GitHub REST calls deploybot makes (libcurl + jansson).
 *
 * api_url is "https://api.github.com" or a GitHub Enterprise / test fake base.
 * The token is sent as "Authorization: Bearer" and never logged.
 *
 * Every call returns 0 on a 2xx answer, -1 otherwise with the reason in err
 * (ERR_UNAVAILABLE for no answer or a 5xx/429, ERR_REMOTE for a refusal;
 * err->status is GitHub's status).
 * When `resp` is not NULL it receives the answer (status, Retry-After,
 * rate-limit headers, body) so the caller can tell a rate limit or an outage
 * from a request GitHub will never accept; free it with http_response_free
 * (also after a failure).
 *
 * The calls are host_ops' own (host/host.h): host/github.c lists them in
 * its table as they are. */
#ifndef DEPLOYBOT_HOST_GITHUB_API_H
#define DEPLOYBOT_HOST_GITHUB_API_H

#include <stddef.h>
#include "host/host.h"
#include "util/errinfo.h"
#include "util/http.h"

#define GITHUB_COMMENT_MAX 65536   /* characters in a comment body (webhooks/NOTES.md §5) */
#define GITHUB_DESCRIPTION_MAX 140 /* characters in a status description */
#define GITHUB_CONTEXT_MAX 255

/* A client of cfg->api_url with cfg->token (may be unset: anonymous);
 * host_client_free frees it. */
host_client *github_client_new(const host_config *cfg);

/* POST /repos/{repo}/statuses/{sha}. state: pending|success|failure|error.
 * The description is cut to GitHub's 140 characters and the context to 255.
 * target_url may be NULL. */
int github_status_post(host_client *c, const char *repo, const char *sha,
                       const char *state, const char *context,
                       const char *description, const char *target_url,
                       http_response *resp, errinfo *err);
/* POST /repos/{repo}/issues/{number}/comments (a pull request's conversation
 * comment). *id gets the new comment's id. */
int github_issue_comment_create(host_client *c, const char *repo, long number,
                                const char *body, long long *id,
                                http_response *resp, errinfo *err);
/* PATCH /repos/{repo}/issues/comments/{id}: replaces the body (GitHub's
 * comment ids are unique in the repository: number is not needed). A
 * comment that was deleted answers 404 (resp->status). */
int github_issue_comment_update(host_client *c, const char *repo, long number, long long id,
                                const char *body, http_response *resp, errinfo *err);
/* POST /repos/{repo}/commits/{sha}/comments. *id may be NULL. */
int github_commit_comment_create(host_client *c, const char *repo, const char *sha,
                                 const char *body, long long *id,
                                 http_response *resp, errinfo *err);

/* GET /repos/{repo}: the token must see it; a classic token's scopes
 * (X-OAuth-Scopes) must hold "repo" or "repo:status" (or "public_repo" for
 * a public repository), and the answer's
 * "permissions" (when given) "push", which statuses need. host_ops.access_check. */
int github_access_check(host_client *c, const char *repo, errinfo *err);

#endif
