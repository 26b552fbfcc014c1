/* http: see http.h. */
#include "util/http.h"

#include <curl/curl.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t on_body(char *p, size_t sz, size_t n, void *arg) {
    http_response *r = arg;
    size_t len = sz * n;
    char *b = realloc(r->body, r->len + len + 1);
    if (!b) return 0;
    memcpy(b + r->len, p, len);
    r->body = b;
    r->len += len;
    r->body[r->len] = '\0';
    return len;
}

/* The value of header line p (length len) if it is `name`, trimmed into buf. */
static const char *header_value(const char *p, size_t len, const char *name, char *buf, size_t buflen) {
    size_t n = strlen(name);
    if (len <= n || strncasecmp(p, name, n) != 0 || p[n] != ':') return NULL;
    p += n + 1;
    len -= n + 1;
    while (len && isspace((unsigned char)*p)) p++, len--;
    while (len && isspace((unsigned char)p[len - 1])) len--;
    if (len >= buflen) len = buflen - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

/* Retry-After is delay-seconds (Discord sends decimals) or an HTTP date. */
static void parse_retry_after(http_response *r, const char *v) {
    char *end;
    double s = strtod(v, &end);
    if (end != v && *end == '\0' && s >= 0) {
        r->retry_after_ms = (long long)(s * 1000.0 + 0.5);
    } else {
        time_t at = curl_getdate(v, NULL);
        if (at < 0) return;
        long long d = ((long long)at - (long long)time(NULL)) * 1000;
        r->retry_after_ms = d > 0 ? d : 0;
    }
    r->retry_after = (long)((r->retry_after_ms + 999) / 1000);
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg) {
    http_response *r = arg;
    size_t len = sz * n;
    char v[128];
    if (header_value(p, len, "Retry-After", v, sizeof(v))) parse_retry_after(r, v);
    else if (header_value(p, len, "X-RateLimit-Remaining", v, sizeof(v))) r->rate_remaining = strtol(v, NULL, 10);
    else if (header_value(p, len, "X-RateLimit-Reset", v, sizeof(v))) r->rate_reset = strtoll(v, NULL, 10);
    return len;
}

int http_request_timeout(const char *method, const char *url, const char *const *headers,
                         const char *body, long timeout_s, http_response *out,
                         char *err, size_t errlen) {
    pthread_once(&once, init);
    memset(out, 0, sizeof(*out));
    out->retry_after = -1;
    out->retry_after_ms = -1;
    out->rate_remaining = -1;
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, errlen, "%s: cannot create a curl handle", method);
        out->body = strdup("");
        return -1;
    }
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++) hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "deploybot/0.1");
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 30L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    else snprintf(err, errlen, "%s: %s", method, curl_easy_strerror(rc));
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    if (!out->body) out->body = strdup("");
    return rc == CURLE_OK ? 0 : -1;
}

int http_request(const char *method, const char *url, const char *const *headers,
                 const char *body, http_response *out, char *err, size_t errlen) {
    return http_request_timeout(method, url, headers, body, 0, out, err, errlen);
}

void http_response_free(http_response *r) {
    free(r->body);
    memset(r, 0, sizeof(*r));
}
