/* hmacsig: see hmacsig.h. */
#include "host/hmacsig.h"
#include "util/digest.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define HEX_LEN (DIGEST_SHA256_HEX - 1)

typedef struct {
    const hmacsig_style *st;
    digest_hmac *mac;
    char *secret; /* kept only until the body when not streamed */
    char want[DIGEST_SHA256_HEX];
} hmacsig;

int hmacsig_shaped(const hmacsig_style *st, const char *header) {
    size_t n = strlen(st->prefix);

    /* The length and prefix are public knowledge: no need to hide them. */
    if (!header || strlen(header) != n + HEX_LEN || strncmp(header, st->prefix, n) != 0)
        return 0;
    for (size_t i = n; header[i]; i++)
        if (!isxdigit((unsigned char)header[i])) return 0;
    return 1;
}

host_verify *hmacsig_begin(const hmacsig_style *st, const char *secret, const char *header,
                           host_header_state hstate, int stream, const char **refusal) {
    if (!secret || !*secret) {
        *refusal = "no webhook secret is configured on the server";
        return NULL;
    }
    if (hstate == HOST_HEADER_MISSING) {
        *refusal = st->missing;
        return NULL;
    }
    if (hstate != HOST_HEADER_OK || !hmacsig_shaped(st, header)) {
        *refusal = st->invalid;
        return NULL;
    }
    hmacsig *v = calloc(1, sizeof(*v));
    if (!v) abort();
    v->st = st;
    /* Exactly as sent: digest_hex is lowercase, as both hosts send it. */
    memcpy(v->want, header + strlen(st->prefix), HEX_LEN);
    if (stream)
        v->mac = digest_hmac_begin(secret, strlen(secret));
    else if (!(v->secret = strdup(secret)))
        abort();
    return (host_verify *)v;
}

void hmacsig_update(host_verify *hv, const void *data, size_t len) {
    hmacsig *v = (hmacsig *)hv;

    if (v->mac) digest_hmac_update(v->mac, data, len);
}

void hmacsig_abort(host_verify *hv) {
    hmacsig *v = (hmacsig *)hv;

    if (!v) return;
    digest_hmac_abort(v->mac);
    if (v->secret) digest_cleanse(v->secret, strlen(v->secret));
    free(v->secret);
    digest_cleanse(v->want, sizeof(v->want));
    free(v);
}

int hmacsig_end(host_verify *hv, const void *signed_bytes, size_t len, const char **refusal) {
    hmacsig *v = (hmacsig *)hv;
    unsigned char mac[DIGEST_SHA256_LEN];
    char hex[DIGEST_SHA256_HEX];
    int ok;

    if (v->mac) {
        digest_hmac_final(v->mac, mac);
        v->mac = NULL;
    } else {
        digest_hmac_sha256(v->secret, strlen(v->secret), signed_bytes, len, mac);
    }
    digest_hex(mac, DIGEST_SHA256_LEN, hex);
    /* Constant time: a byte-by-byte early exit would leak the prefix length
     * an attacker got right. */
    ok = digest_equal(hex, v->want, HEX_LEN);
    digest_cleanse(mac, sizeof(mac));
    digest_cleanse(hex, sizeof(hex));
    if (!ok) *refusal = v->st->invalid;
    hmacsig_abort(hv);
    return ok;
}
