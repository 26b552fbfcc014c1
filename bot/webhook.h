/* webhook: verification and parsing of GitHub deliveries. */
#ifndef DEPLOYBOT_BOT_WEBHOOK_H
#define DEPLOYBOT_BOT_WEBHOOK_H

#include <stddef.h>
#include "util/digest.h"
#include "util/errinfo.h"

typedef enum {
    WEBHOOK_IGNORED = 0, /* a valid delivery deploybot does not act on */
    WEBHOOK_PING,
    WEBHOOK_PUSH,
    WEBHOOK_PULL_REQUEST,
} webhook_kind;

typedef struct {
    webhook_kind kind;
    char repo[256]; /* "owner/name" (repository.full_name) */
    char clone_url[512];
    /* push */
    char ref[256]; /* "refs/heads/main" */
    char before[41];
    char after[41];
    int deleted; /* branch/tag deletion: nothing to deploy */
    /* pull_request */
    int pr_number;
    char pr_action[32]; /* opened, synchronize, reopened, closed ... */
    int pr_merged;
    char head_sha[41];
    char base_sha[41];
    char base_ref[256];  /* branch name the PR targets */
    int pr_fork;         /* the head is another repository's (a fork's), or
                           its repository is gone: see webhook_github_parse */
    char head_repo[256]; /* the head's "owner/name"; empty when gone */
    /* ping */
    char zen[256]; /* GitHub's zen line, echoed back to show the hook works */
} webhook_event;

/* X-Hub-Signature-256 check ("sha256=" + hex HMAC-SHA256 of the raw body),
 * constant time. Returns 1 when valid, 0 otherwise (also for a missing header
 * or an empty secret). */
int webhook_github_verify(const char *secret, const void *body, size_t len,
                          const char *signature_header);

/* The same check in two steps, for a body verified as it arrives (the
 * server feeds a digest_hmac, util/digest.h, keyed with the secret):
 * _shaped says whether the header can be a signature at all ("sha256=" and
 * 64 hex digits), so a request without one is refused before its body is
 * read; _matches compares the computed HMAC with it, in constant time. */
int webhook_github_signature_shaped(const char *signature_header);
int webhook_github_signature_matches(const unsigned char mac[DIGEST_SHA256_LEN],
                                     const char *signature_header);

/* Parses a GitHub delivery (`event` is the X-GitHub-Event header). JSON bodies
 * and application/x-www-form-urlencoded `payload=` bodies are accepted.
 * Required: push: ref, before, after, repository.full_name; pull_request:
 * action, number, pull_request.{head.sha,base.sha,base.ref},
 * repository.full_name. A pull request is from a fork unless its head
 * repository is the base's: the same `id` when both have one, else the same
 * full_name (case aside, as GitHub compares them); a head repository that
 * is null (a deleted fork) or absent counts as a fork. Other events only
 * need to be a JSON object.
 * Returns 0, or -1 for malformed input (ERR_INVALID) with the reason in
 * err. */
int webhook_github_parse(const char *event, const char *content_type,
                         const char *body, size_t len, webhook_event *out,
                         errinfo *err);

/* The JSON text of a delivery: the body itself, or the url-decoded `payload`
 * field of a form-encoded body (GitHub's "application/x-www-form-urlencoded"
 * content type; a body starting with "payload=" and no content type counts
 * too). Returns a malloc'd NUL-terminated string (*outlen = its length, may be
 * NULL), or NULL with the reason in err. This is what the job queue stores:
 * the signature covers the raw body, the worker needs the JSON. */
char *webhook_github_json(const char *content_type, const char *body,
                          size_t len, size_t *outlen, errinfo *err);

#endif
