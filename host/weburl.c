/* weburl: a host's web pages from its API's address (host.h). */
#include "host/host.h"

#include <stdio.h>
#include <string.h>

/* How long the web base of api_url is; *skip_api is set when the host name
 * starts with an "api." that the web site does not have. */
static size_t web_base(const char *api_url, int *skip_api) {
    const char *host = strstr(api_url, "://");
    size_t n = strlen(api_url), digits = 0;

    host = host ? host + 3 : api_url;
    while (n > 0 && api_url[n - 1] == '/')
        n--;
    while (digits < n && api_url[n - 1 - digits] >= '0' && api_url[n - 1 - digits] <= '9')
        digits++;
    *skip_api = 0;
    if (digits && n - digits >= 6 && strncmp(api_url + n - digits - 6, "/api/v", 6) == 0)
        return n - digits - 6;
    *skip_api = strncmp(host, "api.", 4) == 0 && !memchr(host, '/', n - (size_t)(host - api_url));
    return n;
}

void host_commit_url(const host_ops *h, const char *api_url, const char *repo, const char *sha,
                     char *out, size_t len) {
    int skip_api;
    size_t n = web_base(api_url, &skip_api);
    const char *host = strstr(api_url, "://");
    size_t scheme = host ? (size_t)(host + 3 - api_url) : 0;

    if (skip_api)
        snprintf(out, len, "%.*s%.*s/%s%s%s", (int)scheme, api_url, (int)(n - scheme - 4),
                 api_url + scheme + 4, repo, h->commit_path, sha);
    else
        snprintf(out, len, "%.*s/%s%s%s", (int)n, api_url, repo, h->commit_path, sha);
}
