/* sigv4: AWS Signature Version 4 (HMAC/SHA-256 from util/digest).
 *
 * Signs one HTTP request. Header names are lower-cased and values trimmed when
 * canonicalised; every header passed in is signed. The caller adds the
 * returned Authorization header (and x-amz-date / x-amz-security-token, which
 * must already be among `headers` when used). */
#ifndef DEPLOYBOT_DEPLOY_AWS_SIGV4_H
#define DEPLOYBOT_DEPLOY_AWS_SIGV4_H

#include <stddef.h>
#include "util/strbuf.h"

typedef struct {
    const char *name;
    const char *value;
} sigv4_header;

typedef struct {
    const char *method; /* "POST" */
    const char *path;   /* "/" (already URI-encoded as sent; encoded once
                                  more when canonicalised, as every service but
                                  S3 expects) */
    const char *query;  /* raw query string without '?', may be "";
                                  %XX decoded then re-encoded, '+' is a plus */
    const sigv4_header *headers;
    size_t n_headers;
    const unsigned char *body;
    size_t body_len;
} sigv4_request;

typedef struct {
    const char *access_key;
    const char *secret_key;
    const char *region;
    const char *service;
    const char *amz_date; /* "20150830T123600Z" */
} sigv4_params;

/* Writes the full Authorization header value into `out`. Returns 0, or -1
 * when `out` is too small. */
int sigv4_authorization(const sigv4_request *req, const sigv4_params *p,
                        char *out, size_t outlen);

/* Intermediate values, exposed for tests and for the fake's error messages. */
int sigv4_canonical_request(const sigv4_request *req, char **out); /* malloc'd */
int sigv4_string_to_sign(const sigv4_request *req, const sigv4_params *p, char **out);

/* AWS URI encoding of n bytes of s onto b: unreserved bytes (A-Z a-z 0-9
 * - _ . ~, ASCII whatever the locale) kept, '/' kept when keep_slash,
 * everything else %XX in upper hex. Also what form bodies use. */
void sigv4_uri_encode(strbuf *b, const char *s, size_t n, int keep_slash);

#endif
