/* digest: SHA-256, HMAC-SHA256 and lowercase hex, the way webhook
 * signatures, chat signatures and SigV4 all need them (OpenSSL). */
#ifndef DEPLOYBOT_UTIL_DIGEST_H
#define DEPLOYBOT_UTIL_DIGEST_H

#include <stddef.h>
#include "util/errinfo.h"

#define DIGEST_SHA256_LEN 32
#define DIGEST_SHA256_HEX 65 /* 64 hex digits and the NUL */

/* Lowercase hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void digest_hex(const unsigned char *in, size_t n, char *out);

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]);
void digest_sha256_hex(const void *data, size_t len, char out[DIGEST_SHA256_HEX]);

/* HMAC-SHA256 of data (may be NULL when len is 0) keyed with key. */
void digest_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                        unsigned char out[DIGEST_SHA256_LEN]);
void digest_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                            char out[DIGEST_SHA256_HEX]);

/* HMAC-SHA256 over data that arrives in pieces (a request body as it is
 * read), so nothing has to be kept to compute it. begin copies the key;
 * final frees the state, so every begun HMAC ends with final (or
 * digest_hmac_abort when its result is no longer wanted). */
typedef struct digest_hmac digest_hmac;

digest_hmac *digest_hmac_begin(const void *key, size_t keylen);
void digest_hmac_update(digest_hmac *h, const void *data, size_t len);
void digest_hmac_final(digest_hmac *h, unsigned char out[DIGEST_SHA256_LEN]);
void digest_hmac_abort(digest_hmac *h); /* NULL is fine */

/* 1 when the n bytes at a and b are equal, in time that does not depend on
 * where they differ (for comparing signatures and tokens). */
int digest_equal(const void *a, const void *b, size_t n);

/* Standard base64 (RFC 4648 section 4, padded), as Standard Webhooks
 * signatures and keys use it. _encode writes DIGEST_BASE64_LEN(n) bytes
 * including the NUL. _decode reads the whole of text (no whitespace) into
 * out (room for 3 * strlen(text) / 4 bytes) and returns the byte count, or
 * -1 when text is not base64. */
#define DIGEST_BASE64_LEN(n) (4 * (((n) + 2) / 3) + 1)
void digest_base64_encode(const unsigned char *in, size_t n, char *out);
long digest_base64_decode(const char *text, unsigned char *out);

/* n bytes from the operating system's CSPRNG (keys, session secrets).
 * -1 with ERR_INTERNAL when it has no entropy to give. */
int digest_random(void *out, size_t n, errinfo *err);

/* Zeroes n bytes that held a secret (a key, a password) in a way the
 * compiler cannot drop as a dead store. */
void digest_cleanse(void *p, size_t n);

#endif
