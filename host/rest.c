/* rest: see rest.h. */
#include "host/rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *rest_base(const char *api_url) {
    char *b = strdup(api_url ? api_url : "");
    size_t n;

    if (!b) abort();
    n = strlen(b);
    if (n && b[n - 1] == '/') b[n - 1] = '\0';
    return b;
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

int rest_call(const rest_api *a, const char *method, const char *path, json_t *body,
              http_response *resp, errinfo *err) {
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", a->api_url, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    http_response r;
    errinfo why;
    int rc = http_request(method, url, a->headers, text, &r, &why);
    free(text);
    if (rc != 0) {
        rc = errinfo_set(err, ERR_UNAVAILABLE, "%s %s %s: %.700s", a->name, method, path, why.msg);
    } else if (r.status < 200 || r.status >= 300) {
        rc = errinfo_set(err, r.status >= 500 || r.status == 429 ? ERR_UNAVAILABLE : ERR_REMOTE,
                         "%s answered %ld to %s %s: %.300s", a->name, r.status, method, path, r.body);
        if (err) err->status = (int)r.status;
    }
    if (resp) *resp = r;
    else http_response_free(&r);
    return rc;
}

json_t *rest_get_object(const rest_api *a, const char *path, http_response *resp, errinfo *err) {
    http_response r;
    json_t *j = NULL;

    int ok = rest_call(a, "GET", path, NULL, &r, err) == 0;

    if (ok) j = json_loads(r.body, 0, NULL);
    if (ok && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
        errinfo_set(err, ERR_REMOTE, "%s answered GET %s with no JSON object", a->name, path);
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

int rest_comment(const rest_api *a, const char *method, const char *path, const char *text,
                 long long *id, http_response *resp, errinfo *err) {
    http_response r;
    json_t *body = json_pack("{s:s}", "body", text);
    if (!body) return errinfo_set(err, ERR_INVALID, "comment body is not valid UTF-8");
    int rc = rest_call(a, method, path, body, &r, err);
    json_decref(body);
    if (id) *id = rc == 0 ? answer_id(&r) : 0;
    if (rc == 0 && id && *id <= 0)
        rc = errinfo_set(err, ERR_REMOTE, "%s answered %s %s without a comment id", a->name, method, path);
    if (resp) *resp = r;
    else http_response_free(&r);
    return rc;
}
