/* http: one JSON request with libcurl, shared by the notifiers. */
#ifndef DEPLOYBOT_NOTIFY_HTTP_H
#define DEPLOYBOT_NOTIFY_HTTP_H

#include <stddef.h>

typedef struct {
    long status;          /* HTTP status, 0 when no answer */
    char *body;           /* malloc'd, NUL-terminated */
    size_t len;
    long retry_after;     /* seconds from Retry-After, -1 if absent */
} http_response;

/* Sends `body` (may be NULL) with the given extra headers (NULL-terminated
 * "Name: value" list). Returns 0 when an HTTP answer arrived (any status). */
int http_request(const char *method, const char *url, const char *const *headers,
                 const char *body, http_response *out, char *err, size_t errlen);
void http_response_free(http_response *r);

#endif
