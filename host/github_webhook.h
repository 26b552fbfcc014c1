/* github_webhook: verification and parsing of GitHub deliveries (the
 * inbound half of host/github.c's host_ops). */
#ifndef DEPLOYBOT_HOST_GITHUB_WEBHOOK_H
#define DEPLOYBOT_HOST_GITHUB_WEBHOOK_H

#include <stddef.h>
#include "host/hmacsig.h"
#include "host/host.h"
#include "util/errinfo.h"


/* X-Hub-Signature-256 check ("sha256=" + hex HMAC-SHA256 of the raw body),
 * constant time. Returns 1 when valid, 0 otherwise (also for a missing header
 * or an empty secret). */
int webhook_github_verify(const char *secret, const void *body, size_t len,
                          const char *signature_header);

/* The style of that signature (host/hmacsig.h), for a body verified as it
 * arrives. */
extern const hmacsig_style webhook_github_signature;

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
                         const char *body, size_t len, host_event *out,
                         errinfo *err);

/* The JSON text of a delivery: the body itself, or the url-decoded `payload`
 * field of a form-encoded body (GitHub's "application/x-www-form-urlencoded"
 * content type; a body starting with "payload=" and no content type counts
 * too). Returns a malloc'd NUL-terminated string (*outlen = its length, may be
 * NULL), or NULL with the reason in err. This is what the job queue stores:
 * the signature covers the raw body, the worker needs the JSON. */
char *webhook_github_json(const char *content_type, const char *body,
                          size_t len, size_t *outlen, errinfo *err);

/* Whether a content type is the form one (its payload= field holds the
 * JSON). */
int webhook_github_is_form(const char *content_type);

#endif
