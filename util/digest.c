#include "util/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>

void digest_hex(const unsigned char *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* SHA-256 and HMAC over in-memory buffers cannot fail short of running out
 * of memory, which no caller could handle better than by stopping. */
void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]) {
    unsigned int n = 0;
    if (!EVP_Digest(data ? data : "", len, out, &n, EVP_sha256(), NULL))
        abort();
}

void digest_sha256_hex(const void *data, size_t len, char out[DIGEST_SHA256_HEX]) {
    unsigned char md[DIGEST_SHA256_LEN];
    digest_sha256(data, len, md);
    digest_hex(md, sizeof md, out);
}

void digest_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                        unsigned char out[DIGEST_SHA256_LEN]) {
    unsigned int n = DIGEST_SHA256_LEN;
    if (!HMAC(EVP_sha256(), key ? key : "", (int)keylen, data ? data : (const void *)"", len,
              out, &n))
        abort();
}

void digest_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                            char out[DIGEST_SHA256_HEX]) {
    unsigned char md[DIGEST_SHA256_LEN];
    digest_hmac_sha256(key, keylen, data, len, md);
    digest_hex(md, sizeof md, out);
}

int digest_equal(const void *a, const void *b, size_t n) {
    return CRYPTO_memcmp(a, b, n) == 0;
}

void digest_cleanse(void *p, size_t n) {
    OPENSSL_cleanse(p, n);
}
