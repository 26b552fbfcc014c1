/* http: one JSON request with libcurl, shared by the notifiers.
 *
 * Error texts never contain the URL: a chat webhook URL is a secret, so the
 * caller names the destination itself. */
#ifndef DEPLOYBOT_UTIL_HTTP_H
#define DEPLOYBOT_UTIL_HTTP_H

#include <stddef.h>

typedef struct {
    long status;          /* HTTP status, 0 when no answer */
    char *body;           /* malloc'd, NUL-terminated */
    size_t len;
    long retry_after;     /* seconds from Retry-After, -1 if absent */
    long long retry_after_ms; /* Retry-After in ms (seconds may have decimals,
                                 or be an HTTP date), -1 if absent */
    long rate_remaining;  /* X-RateLimit-Remaining, -1 if absent */
    long long rate_reset; /* X-RateLimit-Reset (Unix seconds), 0 if absent */
} http_response;

/* Sends `body` (may be NULL) with the given extra headers (NULL-terminated
 * "Name: value" list). Returns 0 when an HTTP answer arrived (any status).
 * timeout_s 0 means the default (30 s). */
int http_request(const char *method, const char *url, const char *const *headers,
                 const char *body, http_response *out, char *err, size_t errlen);
int http_request_timeout(const char *method, const char *url, const char *const *headers,
                         const char *body, long timeout_s, http_response *out,
                         char *err, size_t errlen);
void http_response_free(http_response *r);

#endif
