/* hmacsig: the delivery signature GitHub and Gitea send — the hex
 * HMAC-SHA256 of the body keyed with the webhook secret, after a fixed
 * prefix ("sha256=" on GitHub, none on Gitea) — checked as the body
 * arrives, in constant time. A host_verify of this kind is what their
 * host_ops return. */
#ifndef DEPLOYBOT_HOST_HMACSIG_H
#define DEPLOYBOT_HOST_HMACSIG_H

#include <stddef.h>
#include "host/host.h"

typedef struct {
    const char *prefix;  /* before the hex digits, "" for none */
    const char *missing; /* the refusal without a header, e.g. "missing X-Hub-Signature-256 header" */
    const char *invalid; /* the refusal of a wrong one */
} hmacsig_style;

/* Whether `header` can be a signature of this style at all ("sha256=" and
 * 64 hex digits). */
int hmacsig_shaped(const hmacsig_style *st, const char *header);

/* A verification of the body against header (in state hstate), or NULL
 * with the refusal: no secret, no header, a header of the wrong shape.
 * stream: 1 when the signed bytes are the body as it arrives; 0 when
 * hmacsig_end is given them (Gitea signs a form body's JSON). */
host_verify *hmacsig_begin(const hmacsig_style *st, const char *secret, const char *header,
                           host_header_state hstate, int stream, const char **refusal);
void hmacsig_update(host_verify *v, const void *data, size_t len);
/* 1 when the signature matches (over the streamed bytes, or over
 * signed[0..len) for a verification begun with stream 0), 0 otherwise with
 * the refusal. Frees v. */
int hmacsig_end(host_verify *v, const void *signed_bytes, size_t len, const char **refusal);
void hmacsig_abort(host_verify *v);

#endif
