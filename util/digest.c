#include "util/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

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

/* EVP_MAC is OpenSSL 3's interface (HMAC_CTX is deprecated there). */
struct digest_hmac {
    EVP_MAC_CTX *ctx;
};

digest_hmac *digest_hmac_begin(const void *key, size_t keylen) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    digest_hmac *h = calloc(1, sizeof(*h));

    if (!mac || !h || !(h->ctx = EVP_MAC_CTX_new(mac)) ||
        !EVP_MAC_init(h->ctx, key && keylen ? key : (const void *)"", keylen, params))
        abort();
    EVP_MAC_free(mac); /* the context holds its own reference */
    return h;
}

void digest_hmac_update(digest_hmac *h, const void *data, size_t len) {
    if (len && !EVP_MAC_update(h->ctx, data, len))
        abort();
}

void digest_hmac_final(digest_hmac *h, unsigned char out[DIGEST_SHA256_LEN]) {
    size_t n = 0;

    if (!EVP_MAC_final(h->ctx, out, &n, DIGEST_SHA256_LEN) || n != DIGEST_SHA256_LEN)
        abort();
    digest_hmac_abort(h);
}

void digest_hmac_abort(digest_hmac *h) {
    if (!h)
        return;
    EVP_MAC_CTX_free(h->ctx); /* OpenSSL cleanses the key it copied */
    free(h);
}

int digest_equal(const void *a, const void *b, size_t n) {
    return CRYPTO_memcmp(a, b, n) == 0;
}

void digest_cleanse(void *p, size_t n) {
    OPENSSL_cleanse(p, n);
}

void digest_base64_encode(const unsigned char *in, size_t n, char *out) {
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* EVP_DecodeBlock counts the padding as zero bytes and skips leading and
 * trailing whitespace: both are checked here so only canonical text passes. */
long digest_base64_decode(const char *text, unsigned char *out) {
    size_t len = strlen(text), pad = 0;
    if (len == 0 || len % 4 != 0 || len > 0x3fffffff) return len == 0 ? 0 : -1;
    if (strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") < len - 2) return -1;
    for (size_t i = len - 2; i < len; i++)
        if (text[i] == '=') pad++;
        else if (pad) return -1;
    int n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
    return n < 0 ? -1 : (long)n - (long)pad;
}

int digest_random(void *out, size_t n, errinfo *err) {
    if (n > 0x7fffffff || RAND_bytes(out, (int)n) != 1)
        return errinfo_set(err, ERR_INTERNAL, "cannot draw %zu random bytes from OpenSSL", n);
    return 0;
}
