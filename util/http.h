/* http: the one HTTP client of deploybot (libcurl), used by the AWS client,
 * the instance-metadata credentials and the notifiers.
 *
 * An http_client keeps one libcurl handle, so the connections it opened
 * stay alive between requests (the AWS client sends hundreds to the same
 * host); http_request() is the one-shot form. TLS is libcurl's default
 * (certificates verified), only http and https are followed, no signals
 * (threads may each use their own client). Retrying is the caller's: only
 * it knows which answers are worth another try; err's code says which
 * failures were transient (ERR_UNAVAILABLE).
 *
 * Error texts never contain the URL: a chat webhook URL is a secret, so the
 * caller names the destination itself. */
#ifndef DEPLOYBOT_UTIL_HTTP_H
#define DEPLOYBOT_UTIL_HTTP_H

#include <stddef.h>
#include "util/errinfo.h"

typedef struct {
    long status; /* HTTP status, 0 when no answer */
    char *body;  /* malloc'd, NUL-terminated */
    size_t len;
    long retry_after;         /* seconds from Retry-After, -1 if absent */
    long long retry_after_ms; /* Retry-After in ms (seconds may have decimals,
                                 or be an HTTP date), -1 if absent */
    long rate_remaining;      /* X-RateLimit-Remaining, -1 if absent */
    long long rate_reset;     /* X-RateLimit-Reset (Unix seconds), 0 if absent */
    char request_id[128];     /* x-amzn-RequestId / x-amz-request-id, "" if absent */
    char oauth_scopes[512];   /* GitHub's X-OAuth-Scopes: a classic token's scopes,
                                 "repo, workflow"; "" if absent or empty */
    int oauth_scopes_sent;    /* 1 when X-OAuth-Scopes came at all */
} http_response;

typedef struct {
    const char *method;         /* "GET", "POST", "PUT", ... */
    const char *url;            /* sent as given: its path may have been signed */
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL.
                                      "Name:" removes a header libcurl would add */
    const char *body;           /* may be NULL */
    size_t body_len;            /* 0: strlen(body) */
    long connect_timeout_ms;    /* 0: 10 s */
    long timeout_ms;            /* the whole exchange; 0: 30 s */
    size_t max_body;            /* larger answers fail (ERR_LIMIT); 0: no limit */
    int no_proxy;               /* never through a proxy (link-local services) */
} http_request_spec;

typedef struct http_client http_client;

/* NULL (err set) when libcurl cannot be set up. */
http_client *http_client_new(errinfo *err);
void http_client_free(http_client *c);

/* Sends one request on c's connections. Returns 0 when an HTTP answer
 * arrived (any status: the caller judges it), -1 when none did: err says why
 * (ERR_UNAVAILABLE for what may work on another try: no connection, a
 * timeout, a reset; ERR_LIMIT for an answer over max_body). *out is filled
 * either way (body "" when there was none); free it with http_response_free. */
int http_client_send(http_client *c, const http_request_spec *rq, http_response *out,
                     errinfo *err);

/* One request on a connection of its own: `body` (may be NULL) with the
 * given headers; timeout_s 0 means the default (30 s). err's message starts
 * with the method ("POST: ..."). */
int http_request(const char *method, const char *url, const char *const *headers,
                 const char *body, http_response *out, errinfo *err);
int http_request_timeout(const char *method, const char *url, const char *const *headers,
                         const char *body, long timeout_s, http_response *out, errinfo *err);
void http_response_free(http_response *r);

/* The parts of an absolute URL as libcurl reads it; port is NULL unless the
 * URL names one, and host keeps an IPv6 address's brackets. */
typedef struct {
    char *scheme, *host, *port, *path;
} http_url;

int http_url_parse(const char *url, http_url *out, errinfo *err);
void http_url_free(http_url *u);

#endif
