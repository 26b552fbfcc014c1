/* jwt: see jwt.h. */
#include "util/jwt.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Base64url of n bytes, no padding, appended at out (room: 4n/3 + 4). */
static size_t b64url(const unsigned char *in, size_t n, char *out) {
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_'
                                                     : out[i];
    out[len] = '\0';
    return (size_t)len;
}

static EVP_PKEY *read_key(const char *key_file, errinfo *err) {
    FILE *f = fopen(key_file, "r");
    EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        errinfo_set(err, ERR_INVALID, "%s: %s", key_file,
                    !f ? "cannot be read" : "is not a PEM RSA private key");
        EVP_PKEY_free(key);
        ERR_clear_error();
        return NULL;
    }
    return key;
}

/* The signature of `input` appended as base64url at out. */
static int sign(EVP_PKEY *key, const char *input, char *out, size_t room) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) == 1 &&
             siglen * 4 / 3 + 4 < room;
    if (ok)
        b64url(sig, siglen, out);
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

char *jwt_rs256(const char *key_file, const char *claims, errinfo *err) {
    static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    EVP_PKEY *key = read_key(key_file, err);
    size_t n = strlen(claims), room = (sizeof(header) + n) * 4 / 3 + 1500, at;
    char *out = key ? malloc(room) : NULL;

    if (!key)
        return NULL;
    if (!out)
        abort();
    at = b64url((const unsigned char *)header, sizeof(header) - 1, out);
    out[at++] = '.';
    at += b64url((const unsigned char *)claims, n, out + at);
    /* The signing input is "header.claims"; the signature goes after it. */
    if (sign(key, out, out + at + 1, room - at - 1) < 0) {
        errinfo_set(err, ERR_INVALID, "%s: signing with the key failed", key_file);
        free(out);
        out = NULL;
        ERR_clear_error();
    } else {
        out[at] = '.';
    }
    EVP_PKEY_free(key);
    return out;
}
