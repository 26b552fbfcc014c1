/* rest: see rest.h. */
#include "host/rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct host_client {
    const char *name;
    char *api_url;
    char *auth;
    const char *headers[REST_HEADERS_MAX + 2]; /* the host's, auth, NULL */
};

host_client *rest_client_new(const char *name, const char *api_url, const char *const *headers,
                             const char *auth_prefix, const char *token) {
    host_client *c = calloc(1, sizeof(*c));
    size_t n = 0, len;

    if (!c || !(c->api_url = strdup(api_url ? api_url : ""))) abort();
    c->name = name;
    len = strlen(c->api_url);
    if (len && c->api_url[len - 1] == '/') c->api_url[len - 1] = '\0';
    for (; headers[n]; n++) {
        if (n == REST_HEADERS_MAX) abort(); /* a host's table, not input */
        c->headers[n] = headers[n];
    }
    if (token && *token && asprintf(&c->auth, "%s%s", auth_prefix, token) < 0) abort();
    c->headers[n] = c->auth;
    return c;
}

void host_client_free(host_client *c) {
    if (!c) return;
    free(c->api_url);
    if (c->auth) explicit_bzero(c->auth, strlen(c->auth));
    free(c->auth);
    free(c);
}

json_t *rest_clipped(const char *s, size_t max) {
    size_t chars = 0, i = 0, cut = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80) continue;
        if (chars == max - 3) cut = i;
        chars++;
    }
    if (chars <= max) return json_string(s);
    char *t = malloc(cut + 4);
    if (!t) abort();
    memcpy(t, s, cut);
    memcpy(t + cut, "...", 4);
    json_t *j = json_string(t);
    free(t);
    return j;
}

int rest_call(host_client *c, const char *method, const char *path, json_t *body,
              http_response *resp, errinfo *err) {
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", c->api_url, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    http_response r;
    errinfo why;
    int rc = http_request(method, url, c->headers, text, &r, &why);
    free(text);
    if (rc != 0) {
        rc = errinfo_set(err, ERR_UNAVAILABLE, "%s %s %s: %.700s", c->name, method, path, why.msg);
    } else if (r.status < 200 || r.status >= 300) {
        rc = errinfo_set(err, r.status >= 500 || r.status == 429 ? ERR_UNAVAILABLE : ERR_REMOTE,
                         "%s answered %ld to %s %s: %.300s", c->name, r.status, method, path, r.body);
        if (err) err->status = (int)r.status;
    }
    if (resp) *resp = r;
    else http_response_free(&r);
    return rc;
}

json_t *rest_get_object(host_client *c, const char *path, http_response *resp, errinfo *err) {
    http_response r;
    json_t *j = NULL;

    int ok = rest_call(c, "GET", path, NULL, &r, err) == 0;

    if (ok) j = json_loads(r.body, 0, NULL);
    if (ok && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
        errinfo_set(err, ERR_REMOTE, "%s answered GET %s with no JSON object", c->name, path);
    }
    if (resp) *resp = r;
    else http_response_free(&r);
    return j;
}

int rest_scope_listed(const char *list, const char *scope) {
    size_t n = strlen(scope);

    for (const char *p = list; p && *p; p += strcspn(p, ", ")) {
        p += strspn(p, ", ");
        if (strncmp(p, scope, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' ')) return 1;
    }
    return 0;
}

/* The "id" of the object the host answered with. */
static long long answer_id(const http_response *r) {
    json_t *j = json_loads(r->body, 0, NULL);
    long long id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

int rest_comment(host_client *c, const char *method, const char *path, const char *text,
                 long long *id, http_response *resp, errinfo *err) {
    http_response r;
    json_t *body = json_pack("{s:s}", "body", text);
    if (!body) return errinfo_set(err, ERR_INVALID, "comment body is not valid UTF-8");
    int rc = rest_call(c, method, path, body, &r, err);
    json_decref(body);
    if (id) *id = rc == 0 ? answer_id(&r) : 0;
    if (rc == 0 && id && *id <= 0)
        rc = errinfo_set(err, ERR_REMOTE, "%s answered %s %s without a comment id", c->name, method, path);
    if (resp) *resp = r;
    else http_response_free(&r);
    return rc;
}
