/* gitlab_api: see gitlab_api.h. */
#include "host/gitlab_api.h"
#include "host/rest.h"
#include "util/strbuf.h"
#include "util/textwrap.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

host_client *gitlab_client_new(const host_config *cfg) {
    static const char *const headers[] = {"Content-Type: application/json", "Accept: application/json", NULL};

    return rest_client_new("GitLab", cfg->api_url, headers, "PRIVATE-TOKEN: ", cfg->token);
}

/* The project's path as one URL path segment ("group%2Fname"). */
static void put_project(strbuf *b, const char *project) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)project; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p)) {
            strbuf_putc(b, (char)*p);
        } else {
            strbuf_putc(b, '%');
            strbuf_putc(b, hex[*p >> 4]);
            strbuf_putc(b, hex[*p & 15]);
        }
    }
}

/* One call to /projects/<project><rest>. */
static int gitlab_call(host_client *c, const char *method, const char *project, const char *rest,
                       json_t *body, http_response *resp, errinfo *err) {
    strbuf path = {0};
    strbuf_puts(&path, "/projects/");
    put_project(&path, project);
    strbuf_puts(&path, rest);
    int rc = rest_call(c, method, path.s, body, resp, err);
    strbuf_free(&path);
    return rc;
}

/* The token's scopes hold "api" (a 404: a GitLab before 16.0, which does
 * not say; the project's read decides then). */
static int token_scopes_check(host_client *c, errinfo *err) {
    http_response r;
    json_t *j = rest_get_object(c, "/personal_access_tokens/self", &r, err), *s;
    int rc = j ? 0 : r.status == 404 ? 0 : -1;
    size_t i;
    strbuf have = {0};

    json_array_foreach(json_object_get(j, "scopes"), i, s) strbuf_printf(&have, "%s%s", i ? ", " : "", json_string_value(s));
    if (j && !rest_scope_listed(have.s, "api"))
        rc = errinfo_set(err, ERR_REMOTE, "the token's scopes (%s) lack \"api\", which statuses need", have.s ? have.s : "none");
    strbuf_free(&have);
    json_decref(j);
    http_response_free(&r);
    return rc;
}

/* The larger of the project's and its group's access level. */
static long long access_level(json_t *project) {
    json_t *perms = json_object_get(project, "permissions");
    long long p = json_integer_value(json_object_get(json_object_get(perms, "project_access"), "access_level"));
    long long g = json_integer_value(json_object_get(json_object_get(perms, "group_access"), "access_level"));
    return p > g ? p : g;
}

int gitlab_access_check(host_client *c, const char *project, errinfo *err) {
    strbuf path = {0};
    if (token_scopes_check(c, err) < 0) return -1;
    strbuf_puts(&path, "/projects/");
    put_project(&path, project);
    json_t *j = rest_get_object(c, path.s, NULL, err);
    strbuf_free(&path);
    int rc = j ? 0 : -1;
    /* Without "permissions" (an admin's token) the read is all there is to go on. */
    if (j && json_object_get(j, "permissions") && access_level(j) < 30)
        rc = errinfo_set(err, ERR_REMOTE, "the token's access level on %s is %lld: statuses need developer (30) or more",
                         project, access_level(j));
    json_decref(j);
    return rc;
}

int gitlab_status_post(host_client *c, const char *project, const char *sha, const char *state,
                       const char *name, const char *description, const char *target_url,
                       http_response *resp, errinfo *err) {
    static const char *const states[] = {"pending", "running", "success", "failed", "canceled", "skipped"};
    int known = 0;
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) known |= strcmp(state, states[i]) == 0;
    if (resp) memset(resp, 0, sizeof(*resp));
    if (!known) return errinfo_set(err, ERR_INVALID, "GitLab status state \"%s\" is not one of GitLab's", state);
    char rest[128];
    snprintf(rest, sizeof(rest), "/statuses/%.64s", sha);
    json_t *body = json_pack("{s:s,s:o,s:o}", "state", state, "name", rest_clipped(name, GITLAB_STATUS_FIELD_MAX),
                             "description", rest_clipped(description ? description : "", GITLAB_STATUS_FIELD_MAX));
    if (target_url && textwrap_cols(target_url, strlen(target_url)) <= GITLAB_STATUS_FIELD_MAX)
        json_object_set_new(body, "target_url", json_string(target_url));
    int rc = gitlab_call(c, "POST", project, rest, body, resp, err);
    json_decref(body);
    return rc;
}

/* POST or PUT of a note; *id (if given) gets the answer's id. */
static int note_call(host_client *c, const char *method, const char *project, const char *rest,
                     const char *key, const char *text, long long *id, http_response *resp, errinfo *err) {
    http_response r;
    if (resp) memset(resp, 0, sizeof(*resp));
    if (textwrap_cols(text, strlen(text)) > GITLAB_NOTE_MAX)
        return errinfo_set(err, ERR_LIMIT, "GitLab note of more than %d characters", GITLAB_NOTE_MAX);
    json_t *body = json_pack("{s:s}", key, text);
    if (!body) return errinfo_set(err, ERR_INVALID, "note body is not valid UTF-8");
    int rc = gitlab_call(c, method, project, rest, body, &r, err);
    json_decref(body);
    if (id) {
        json_t *j = rc == 0 ? json_loads(r.body, 0, NULL) : NULL;
        *id = json_integer_value(json_object_get(j, "id"));
        json_decref(j);
        if (rc == 0 && *id <= 0)
            rc = errinfo_set(err, ERR_REMOTE, "GitLab answered %s /projects/%s%s without a note id", method, project, rest);
    }
    if (resp) *resp = r;
    else http_response_free(&r);
    return rc;
}

int gitlab_mr_note_create(host_client *c, const char *project, long iid, const char *body,
                          long long *id, http_response *resp, errinfo *err) {
    char rest[128];
    snprintf(rest, sizeof(rest), "/merge_requests/%ld/notes", iid);
    return note_call(c, "POST", project, rest, "body", body, id, resp, err);
}

int gitlab_mr_note_update(host_client *c, const char *project, long iid, long long note_id,
                          const char *body, http_response *resp, errinfo *err) {
    char rest[128];
    snprintf(rest, sizeof(rest), "/merge_requests/%ld/notes/%lld", iid, note_id);
    return note_call(c, "PUT", project, rest, "body", body, NULL, resp, err);
}

/* The commit comments API calls its text "note", not "body". */
int gitlab_commit_comment_create(host_client *c, const char *project, const char *sha,
                                 const char *body, long long *id, http_response *resp, errinfo *err) {
    char rest[128];
    if (id) *id = 0;
    snprintf(rest, sizeof(rest), "/repository/commits/%.64s/comments", sha);
    return note_call(c, "POST", project, rest, "note", body, NULL, resp, err);
}
