/* gitea: Gitea and Forgejo as a host (host/host.h).
 *
 * Deliveries: X-Gitea-Signature (Forgejo also sends X-Forgejo-Signature,
 * the same value) is the bare hex HMAC-SHA256 of the JSON, keyed with the
 * webhook secret — of the JSON even when the hook posts a form, so a form
 * body is checked once it is whole; X-Gitea-Delivery is the dedupe key,
 * X-Gitea-Event the event (Forgejo's X-Forgejo-* when those are absent).
 * The payloads have GitHub's shape (host/github_webhook.h parses them);
 * a pull request's new commits are "synchronized". A payload's
 * top-level "secret" (old Gitea put the webhook secret there) is dropped
 * before the JSON is kept.
 *
 * API (v1, api_url ends in /api/v1, "Authorization: token T"): statuses
 * POST /repos/{owner}/{repo}/statuses/{sha} (pending, success, error,
 * failure, warning: deploybot's states are Gitea's); a pull request's
 * comment POST /repos/{owner}/{repo}/issues/{n}/comments, edited with
 * PATCH /repos/{owner}/{repo}/issues/comments/{id}. Gitea has no commit
 * comments: the comment goes to the pull request that merged the commit
 * (GET /repos/{owner}/{repo}/commits/{sha}/pull), and nowhere when there
 * is none (the status and chat still say it). Fetching over HTTPS is basic
 * auth with the user and the token. */
#ifndef DEPLOYBOT_HOST_GITEA_H
#define DEPLOYBOT_HOST_GITEA_H

#include "host/host.h"

extern const host_ops host_gitea;

#endif
