/* http: see http.h. */
#include "notify/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static size_t on_header(char *p, size_t sz, size_t n, void *arg) {
    http_response *r = arg;
    size_t len = sz * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) r->retry_after = strtol(p + 12, NULL, 10);
    return len;
}

int http_request(const char *method, const char *url, const char *const *headers,
                 const char *body, http_response *out, char *err, size_t errlen) {
    pthread_once(&once, init);
    memset(out, 0, sizeof(*out));
    out->retry_after = -1;
    CURL *h = curl_easy_init();
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++) hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "deploybot/0.1");
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    else snprintf(err, errlen, "%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    if (!out->body) out->body = strdup("");
    return rc == CURLE_OK ? 0 : -1;
}

void http_response_free(http_response *r) {
    free(r->body);
    memset(r, 0, sizeof(*r));
}
