/* jwt: JSON Web Tokens signed with RS256 (RSA PKCS#1 v1.5 over SHA-256),
 * the way a GitHub App proves who it is (OpenSSL). */
#ifndef DEPLOYBOT_UTIL_JWT_H
#define DEPLOYBOT_UTIL_JWT_H

#include "util/errinfo.h"

/* The token header.claims.signature, base64url without padding, for the
 * JSON object `claims`, signed with the RSA private key in the PEM file
 * `key_file` (PKCS#1 "RSA PRIVATE KEY" or PKCS#8, as GitHub hands them
 * out). malloc'd, or NULL with ERR_INVALID naming the file. */
char *jwt_rs256(const char *key_file, const char *claims, errinfo *err);

#endif
