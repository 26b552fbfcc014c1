/* gitlab_api: the GitLab REST v4 calls deploybot makes (libcurl + jansson).
 *
 * api_url is "https://gitlab.com/api/v4", a self-managed instance's
 * ".../api/v4" or a test fake's. The token (a project or group access token,
 * or a personal access token, with the api scope) is sent as PRIVATE-TOKEN
 * and never logged. A project is named by its path_with_namespace
 * ("group/sub/name"), sent URL-encoded as GitLab's :id accepts it.
 *
 * Every call returns 0 on a 2xx answer, -1 otherwise with the reason in err
 * (ERR_UNAVAILABLE for no answer or a 5xx/429, ERR_REMOTE for a refusal;
 * err->status is GitLab's status). When `resp` is not NULL it receives the
 * answer; free it with http_response_free (also after a failure).
 *
 * The clients are host_ops' (host/host.h): host/gitlab.c lists the calls
 * that take its arguments as they are. */
#ifndef DEPLOYBOT_HOST_GITLAB_API_H
#define DEPLOYBOT_HOST_GITLAB_API_H

#include <stddef.h>
#include "host/host.h"
#include "util/errinfo.h"
#include "util/http.h"

#define GITLAB_STATUS_FIELD_MAX 255 /* characters of a status description, target_url, name */
#define GITLAB_NOTE_MAX 1000000     /* characters of a note (MAX_TEXT_SIZE_LIMIT) */

/* A client of cfg->api_url with cfg->token (may be unset: anonymous);
 * host_client_free frees it. */
host_client *gitlab_client_new(const host_config *cfg);

/* POST /projects/:id/statuses/:sha. state: pending, running, success,
 * failed, canceled or skipped (anything else is ERR_INVALID, not sent).
 * name is "deploybot/<env>". The description is cut to 255 characters,
 * its start (the summary) kept and "..." at the end; a target_url over 255
 * characters is left out (a cut link would lead elsewhere); it may be NULL.
 * GitLab's state machine refuses some moves (pending -> pending, say: a
 * finished status is replaced by a new one instead): a refusal answers 400
 * (resp->status). */
int gitlab_status_post(host_client *c, const char *project, const char *sha, const char *state,
                       const char *name, const char *description, const char *target_url,
                       http_response *resp, errinfo *err);

/* POST /projects/:id/merge_requests/:iid/notes; *id gets the note's id.
 * A body over GITLAB_NOTE_MAX characters is ERR_LIMIT, not sent. */
int gitlab_mr_note_create(host_client *c, const char *project, long iid, const char *body,
                          long long *id, http_response *resp, errinfo *err);
/* PUT /projects/:id/merge_requests/:iid/notes/:note_id: replaces the body.
 * A deleted note answers 404 (resp->status). */
int gitlab_mr_note_update(host_client *c, const char *project, long iid, long long note_id,
                          const char *body, http_response *resp, errinfo *err);
/* The token may post statuses on `project`: its scopes
 * (GET /personal_access_tokens/self, where GitLab has it) hold "api", and
 * its user's access level there (GET /projects/:id "permissions") is
 * developer (30) or more. host_ops.access_check. */
int gitlab_access_check(host_client *c, const char *project, errinfo *err);

/* POST /projects/:id/repository/commits/:sha/comments. GitLab's answer
 * names no id: *id (may be NULL) gets 0. */
int gitlab_commit_comment_create(host_client *c, const char *project, const char *sha,
                                 const char *body, long long *id, http_response *resp, errinfo *err);

#endif
