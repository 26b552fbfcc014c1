/* digest: SHA-256, HMAC-SHA256 and lowercase hex, the way webhook
 * signatures, chat signatures and SigV4 all need them (OpenSSL). */
#ifndef DEPLOYBOT_UTIL_DIGEST_H
#define DEPLOYBOT_UTIL_DIGEST_H

#include <stddef.h>

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

/* 1 when the n bytes at a and b are equal, in time that does not depend on
 * where they differ (for comparing signatures and tokens). */
int digest_equal(const void *a, const void *b, size_t n);

/* Zeroes n bytes that held a secret (a key, a password) in a way the
 * compiler cannot drop as a dead store. */
void digest_cleanse(void *p, size_t n);

#endif
