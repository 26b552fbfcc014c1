/* gitlab_webhook: verification, dedupe key and parsing of GitLab deliveries.
 *
 * GitLab authenticates a delivery two ways (webhooks/NOTES.md section 3):
 * the secret token, sent as plain text in X-Gitlab-Token, and (GitLab 19+)
 * a signing token following Standard Webhooks: webhook-signature holds
 * space-separated "v1,<base64>" entries, each an HMAC-SHA256 of
 * "{webhook-id}.{webhook-timestamp}.{body}" keyed with the base64-decoded
 * part of the "whsec_..." key. webhook-id and webhook-timestamp come on
 * every delivery, so it is the presence of webhook-signature (and a
 * configured key) that selects the signature check. */
#ifndef DEPLOYBOT_HOST_GITLAB_WEBHOOK_H
#define DEPLOYBOT_HOST_GITLAB_WEBHOOK_H

#include <stddef.h>
#include <time.h>
#include "host/host.h"
#include "util/digest.h"
#include "util/errinfo.h"

#define GITLAB_SIGNING_KEY_MAX 64   /* bytes of a decoded signing key */
#define GITLAB_TIMESTAMP_SKEW 300   /* seconds a webhook-timestamp may be off */
#define GITLAB_DELIVERY_KEY_MAX 128 /* characters of a dedupe key */

/* What the operator configured. An empty secret_token means GitLab sends
 * none; signing_key_len 0 means no signing token. require_signature: a
 * delivery without a valid webhook-signature is refused even when the
 * secret token is right (no downgrade to the token alone). */
typedef struct {
    const char *secret_token;
    unsigned char signing_key[GITLAB_SIGNING_KEY_MAX];
    size_t signing_key_len;
    int require_signature;
} gitlab_verifier;

/* The delivery's headers (NULL when absent). */
typedef struct {
    const char *token;     /* X-Gitlab-Token */
    const char *id;        /* webhook-id */
    const char *timestamp; /* webhook-timestamp, Unix seconds */
    const char *signature; /* webhook-signature */
} gitlab_headers;

/* Decodes a "whsec_<base64>" signing token (the prefix is optional) into
 * v->signing_key. Returns 0, or -1 (ERR_INVALID) when it is not base64 or
 * decodes to nothing or more than GITLAB_SIGNING_KEY_MAX bytes. The message
 * never holds the key. */
int gitlab_verifier_set_key(gitlab_verifier *v, const char *whsec, errinfo *err);

/* Everything that can be decided before the body: the secret token (when
 * one is configured it must match, in constant time), and whether the
 * signature is to be checked. Returns -1 when the delivery is refused (a
 * short reason for the log in *why, never a secret); 0 when only the token
 * counts; 1 when the signature is to be checked: then *mac is an HMAC
 * already fed "{id}.{timestamp}." (the id and timestamp were checked: the
 * timestamp within GITLAB_TIMESTAMP_SKEW of now), so the body can be fed
 * as it arrives and gitlab_signature_matches decides. */
int gitlab_verify_begin(const gitlab_verifier *v, const gitlab_headers *h, time_t now,
                        digest_hmac **mac, const char **why);

/* 1 when one of the "v1,<base64>" entries of the header is the mac (each
 * compared in constant time), 0 otherwise. */
int gitlab_signature_matches(const unsigned char mac[DIGEST_SHA256_LEN], const char *signature_header);

/* Both steps over a whole body: 1 when the delivery is authentic, 0 (with
 * *why) otherwise. */
int gitlab_verify(const gitlab_verifier *v, const gitlab_headers *h, const void *body, size_t len,
                  time_t now, const char **why);

/* The key that makes a retried delivery the same delivery: Idempotency-Key
 * (stable across GitLab's retries), else X-Gitlab-Event-UUID. NULL when
 * neither is there or the chosen one is empty or longer than
 * GITLAB_DELIVERY_KEY_MAX. */
const char *gitlab_delivery_key(const char *idempotency_key, const char *event_uuid);

/* Parses a delivery (`event` is the X-Gitlab-Event header) into the common
 * event:
 * - "Push Hook": ref, before, after, project.path_with_namespace (the repo
 *   name), project.git_http_url (clone_url); an all-zero after is a
 *   deletion.
 * - "Merge Request Hook": object_attributes.{iid, action, last_commit.id,
 *   target_branch, source_project_id, target_project_id}. pr_action keeps
 *   GitLab's word; pr_change: open -> OPENED, reopen -> REOPENED, update
 *   with "oldrev" (new commits) -> UPDATED, update without (a title, a
 *   label) -> OTHER, close and merge -> CLOSED (merge sets pr_merged). A
 *   fork is a source project that
 *   is not the target project. GitLab sends no target branch commit:
 *   base_sha stays empty and base_ref names the branch to resolve.
 * - anything else ("Tag Push Hook", "Note Hook", ...): HOST_EVENT_IGNORED.
 * Returns 0, or -1 (ERR_INVALID) for a malformed delivery. */
int gitlab_webhook_parse(const char *event, const char *body, size_t len, host_event *out,
                         errinfo *err);

/* The ref a merge request's head is fetched from: refs/merge-requests/<iid>/head. */
void gitlab_mr_head_ref(int iid, char *out, size_t outlen);

#endif
