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

#define USER_AGENT "deploybot/0.1"

struct http_client {
    CURL *curl;
    char curl_err[CURL_ERROR_SIZE]; /* libcurl keeps a pointer to it */
};

/* What the callbacks fill while one request runs. */
typedef struct {
    http_response *r;
    size_t max_body;
    int too_big;
} exchange;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode init_rc;
static void init(void) { init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t on_body(char *p, size_t sz, size_t n, void *arg) {
    exchange *x = arg;
    http_response *r = x->r;
    size_t len = sz * n;
    if (x->max_body && r->len + len > x->max_body) {
        x->too_big = 1;
        return 0;
    }
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
    http_response *r = ((exchange *)arg)->r;
    size_t len = sz * n;
    char v[512];
    if (header_value(p, len, "Retry-After", v, sizeof(v))) parse_retry_after(r, v);
    else if (header_value(p, len, "X-RateLimit-Remaining", v, sizeof(v))) r->rate_remaining = strtol(v, NULL, 10);
    else if (header_value(p, len, "X-RateLimit-Reset", v, sizeof(v))) r->rate_reset = strtoll(v, NULL, 10);
    else if (header_value(p, len, "x-amzn-RequestId", v, sizeof(v)) ||
             header_value(p, len, "x-amz-request-id", v, sizeof(v)))
        snprintf(r->request_id, sizeof(r->request_id), "%.127s", v);
    if (header_value(p, len, "X-OAuth-Scopes", v, sizeof(v)))
        r->oauth_scopes_sent = snprintf(r->oauth_scopes, sizeof(r->oauth_scopes), "%s", v) >= 0;
    return len;
}

http_client *http_client_new(errinfo *err) {
    pthread_once(&once, init);
    if (init_rc != CURLE_OK) {
        errinfo_set(err, ERR_INTERNAL, "libcurl initialisation failed: %s", curl_easy_strerror(init_rc));
        return NULL;
    }
    http_client *c = calloc(1, sizeof(*c));
    if (!c) abort();
    if (!(c->curl = curl_easy_init())) {
        free(c);
        errinfo_set(err, ERR_INTERNAL, "libcurl could not create a handle");
        return NULL;
    }
    return c;
}

void http_client_free(http_client *c) {
    if (!c) return;
    curl_easy_cleanup(c->curl);
    free(c);
}

/* GET is a GET; POST and PUT always carry a body (maybe empty); any other
 * method is sent by name, with the body when there is one. */
static void setup_method(CURL *h, const http_request_spec *rq) {
    const char *m = rq->method;
    int post = strcmp(m, "POST") == 0;
    if (rq->body || post || strcmp(m, "PUT") == 0) {
        size_t len = rq->body ? (rq->body_len ? rq->body_len : strlen(rq->body)) : 0;
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (strcmp(m, "GET") == 0) curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else if (!post) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
}

static void setup(http_client *c, const http_request_spec *rq, struct curl_slist *hl, exchange *x) {
    CURL *h = c->curl;
    curl_easy_reset(h); /* keeps live connections */
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms > 0 ? rq->connect_timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms : 30000L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* big answers come compressed */
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (rq->no_proxy) curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    setup_method(h, rq);
}

static int transient(CURLcode rc) {
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static int failed(const http_client *c, CURLcode rc, const exchange *x, errinfo *err) {
    if (x->too_big)
        return errinfo_set(err, ERR_LIMIT, "answer larger than %zu bytes", x->max_body);
    return errinfo_set(err, transient(rc) ? ERR_UNAVAILABLE : ERR_REMOTE, "%s",
                       c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc));
}

int http_client_send(http_client *c, const http_request_spec *rq, http_response *out,
                     errinfo *err) {
    memset(out, 0, sizeof(*out));
    out->retry_after = -1;
    out->retry_after_ms = -1;
    out->rate_remaining = -1;
    exchange x = {out, rq->max_body, 0};
    struct curl_slist *hl = NULL;
    for (size_t i = 0; rq->headers && rq->headers[i]; i++) {
        struct curl_slist *l = curl_slist_append(hl, rq->headers[i]);
        if (!l) abort();
        hl = l;
    }
    c->curl_err[0] = '\0';
    setup(c, rq, hl, &x);
    CURLcode rc = curl_easy_perform(c->curl);
    curl_slist_free_all(hl);
    if (!out->body && !(out->body = strdup(""))) abort();
    if (rc != CURLE_OK) return failed(c, rc, &x, err);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->status);
    return 0;
}

int http_request_timeout(const char *method, const char *url, const char *const *headers,
                         const char *body, long timeout_s, http_response *out, errinfo *err) {
    http_request_spec rq = {.method = method, .url = url, .headers = headers, .body = body, .timeout_ms = timeout_s > 0 ? timeout_s * 1000 : 0};
    http_client *c = http_client_new(err);
    int rc = c ? http_client_send(c, &rq, out, err) : -1;
    http_client_free(c);
    if (!c) {
        memset(out, 0, sizeof(*out));
        if (!(out->body = strdup(""))) abort();
    }
    return rc < 0 ? errinfo_prefix(err, "%s", method) : 0;
}

int http_request(const char *method, const char *url, const char *const *headers,
                 const char *body, http_response *out, errinfo *err) {
    return http_request_timeout(method, url, headers, body, 0, out, err);
}

void http_response_free(http_response *r) {
    free(r->body);
    memset(r, 0, sizeof(*r));
}

int http_url_parse(const char *url, http_url *out, errinfo *err) {
    memset(out, 0, sizeof(*out));
    CURLU *u = curl_url();
    if (!u) abort();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    int ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK;
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* only when explicit */
    curl_url_cleanup(u);
    if (ok) {
        out->scheme = strdup(scheme);
        out->host = strdup(host);
        out->port = port ? strdup(port) : NULL;
        out->path = strdup(path);
        if (!out->scheme || !out->host || (port && !out->port) || !out->path) abort();
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    return ok ? 0 : errinfo_set(err, ERR_INVALID, "not an absolute URL");
}

void http_url_free(http_url *u) {
    free(u->scheme);
    free(u->host);
    free(u->port);
    free(u->path);
    memset(u, 0, sizeof(*u));
}
