/* registry: the known hosts; a new host is one line here. */
#include "host/gitea.h"
#include "host/github.h"
#include "host/gitlab.h"
#include "host/host.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const host_ops *const hosts[] = {&host_github, &host_gitlab, &host_gitea, NULL};

const host_ops *host_find(const char *type) {
    for (size_t i = 0; type && hosts[i]; i++)
        if (strcmp(hosts[i]->type, type) == 0) return hosts[i];
    return NULL;
}

const host_ops *host_find_path(const char *path) {
    static const char prefix[] = "/webhooks/";

    return path && strncmp(path, prefix, sizeof(prefix) - 1) == 0 ? host_find(path + sizeof(prefix) - 1) : NULL;
}

const host_ops *host_at(size_t i) {
    return i < sizeof(hosts) / sizeof(hosts[0]) ? hosts[i] : NULL;
}

const char *host_header(const host_headers *h, const char *name, host_header_state *state) {
    host_header_state st = HOST_HEADER_MISSING;
    const char *value = NULL;

    for (size_t i = 0; h && h->host && h->host->headers[i] && i < HOST_HEADERS_MAX; i++) {
        if (strcasecmp(h->host->headers[i], name) != 0) continue;
        st = h->state[i];
        value = st == HOST_HEADER_OK ? h->value[i] : NULL;
        break;
    }
    if (state) *state = st;
    return value;
}

int host_header_copy(const host_headers *h, const char *name, const char *label, char *out,
                     size_t len, errinfo *err) {
    host_header_state st;
    const char *v = host_header(h, name, &st);

    if (!v || strlen(v) >= len)
        return errinfo_set(err, ERR_INVALID, "%s %s header",
                           st == HOST_HEADER_MISSING ? "missing" : "over-long", label);
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

int host_basic_credentials(const host_config *cfg, const char *display, const char *user, char *u,
                           size_t ulen, char *pass, size_t plen, errinfo *err) {
    if (!cfg->token || !*cfg->token) return errinfo_set(err, ERR_INVALID, "no %s token to fetch with", display);
    if ((size_t)snprintf(u, ulen, "%s", user) >= ulen || (size_t)snprintf(pass, plen, "%s", cfg->token) >= plen)
        return errinfo_set(err, ERR_INVALID, "the %s user or token is too long to fetch with", display);
    return 0;
}
