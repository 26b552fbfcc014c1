/* session: see session.h. */
#include "bot/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/digest.h"

/* What the MAC covers: a version, so a future format cannot be confused
 * with this one, then the claims as they appear in the cookie. */
static void mac_of(const unsigned char key[SESSION_KEY_BYTES], const char *claims,
                   char out[DIGEST_SHA256_HEX]) {
    char msg[SESSION_VALUE_MAX + 8]; /* "v1:" and the longest claims verify reads */

    snprintf(msg, sizeof(msg), "v1:%s", claims);
    digest_hmac_sha256_hex(key, SESSION_KEY_BYTES, msg, strlen(msg), out);
}

static int claims_text(const session_claims *c, char *out, size_t n) {
    return snprintf(out, n, "%s:%c:%lld", c->name, c->role == BOT_ROLE_OPERATE ? 'o' : 'r',
                    c->expires);
}

void session_sign(const unsigned char key[SESSION_KEY_BYTES], const session_claims *c,
                  char out[SESSION_VALUE_MAX]) {
    char claims[SESSION_VALUE_MAX - DIGEST_SHA256_HEX], mac[DIGEST_SHA256_HEX];

    claims_text(c, claims, sizeof(claims));
    mac_of(key, claims, mac);
    snprintf(out, SESSION_VALUE_MAX, "%s:%s", claims, mac);
}

/* Splits "name:r:expires" into c; 0 when it is not of that form. */
static int parse_claims(const char *claims, size_t len, session_claims *c) {
    const char *role = memchr(claims, ':', len);
    char *end;

    if (!role || role == claims || (size_t)(role - claims) >= sizeof(c->name) ||
        claims + len - role < 4 || role[2] != ':')
        return 0;
    memcpy(c->name, claims, (size_t)(role - claims));
    c->name[role - claims] = '\0';
    c->role = role[1] == 'o' ? BOT_ROLE_OPERATE : role[1] == 'r' ? BOT_ROLE_READ
                                                                 : BOT_ROLE_NONE;
    c->expires = strtoll(role + 3, &end, 10);
    return c->role != BOT_ROLE_NONE && end == claims + len && end > role + 3;
}

int session_verify(const unsigned char key[SESSION_KEY_BYTES], const char *value, long long now,
                   session_claims *c) {
    const char *colon = strrchr(value, ':');
    char claims[SESSION_VALUE_MAX], mac[DIGEST_SHA256_HEX];
    size_t len;

    if (!colon || strlen(colon + 1) != DIGEST_SHA256_HEX - 1 ||
        (len = (size_t)(colon - value)) >= sizeof(claims))
        return 0;
    memcpy(claims, value, len);
    claims[len] = '\0';
    mac_of(key, claims, mac);
    if (!digest_equal(mac, colon + 1, DIGEST_SHA256_HEX - 1))
        return 0;
    return parse_claims(claims, len, c) && c->expires > now;
}
