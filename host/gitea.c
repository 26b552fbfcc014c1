/* gitea: see gitea.h. */
#include "host/gitea.h"
#include "host/github_webhook.h"
#include "host/hmacsig.h"
#include "host/rest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GITEA_COMMENT_MAX 65536 /* Gitea sets none; GitHub's keeps comments readable */
#define GITEA_CONTEXT_MAX 255

static const char *const headers[] = {"x-gitea-event:", "x-gitea-delivery:", "x-gitea-signature:",
                                      "x-forgejo-event:", "x-forgejo-delivery:",
                                      "x-forgejo-signature:", NULL};

static const hmacsig_style signature = {"", "missing X-Gitea-Signature header",
                                        "invalid X-Gitea-Signature signature"};

/* Gitea's header, else Forgejo's (which sends both today). */
static const char *either(const host_headers *h, const char *gitea, const char *forgejo,
                          host_header_state *st) {
    const char *v = host_header(h, gitea, st);

    return *st == HOST_HEADER_MISSING ? host_header(h, forgejo, st) : v;
}

static host_verify *verify_begin(const host_config *cfg, const host_headers *h,
                                 const char **refusal) {
    host_header_state st;
    const char *sig = either(h, "x-gitea-signature:", "x-forgejo-signature:", &st);
    /* A form body is signed as its JSON: checked once it is whole. */
    int stream = h->content_type[0] && !webhook_github_is_form(h->content_type);

    return hmacsig_begin(&signature, cfg->webhook_secret, sig, st, stream, refusal);
}

static int verify_end(host_verify *v, const host_headers *h, const char *body, size_t len,
                      const char **refusal) {
    size_t jlen = 0;
    char *json = NULL;
    int ok;

    if (!(h->content_type[0] && !webhook_github_is_form(h->content_type)) &&
        !(json = webhook_github_json(h->content_type, body, len, &jlen, NULL))) {
        hmacsig_abort(v);
        *refusal = signature.invalid;
        return 0;
    }
    ok = hmacsig_end(v, json, jlen, refusal);
    free(json);
    return ok;
}

/* A required header, Gitea's or else Forgejo's: 0, or -1 naming Gitea's
 * (400). */
static int required(const host_headers *h, const char *gitea, const char *forgejo,
                    const char *label, char *out, size_t len, errinfo *err) {
    host_header_state st;

    host_header(h, gitea, &st);
    return host_header_copy(h, st == HOST_HEADER_MISSING ? forgejo : gitea, label, out, len, err);
}

static int delivery_id(const host_headers *h, char *out, size_t len, errinfo *err) {
    return required(h, "x-gitea-delivery:", "x-forgejo-delivery:", "X-Gitea-Delivery", out, len, err);
}

static int event_name(const host_headers *h, char *out, size_t len, errinfo *err) {
    return required(h, "x-gitea-event:", "x-forgejo-event:", "X-Gitea-Event", out, len, err);
}

/* The JSON without a top-level "secret": old Gitea sent the webhook
 * secret in the payload, and the job queue must not keep it. */
static char *json(const host_headers *h, const char *body, size_t len, size_t *outlen,
                  errinfo *err) {
    size_t n = 0;
    char *text = webhook_github_json(h->content_type, body, len, &n, err);
    json_t *root = text ? json_loadb(text, n, 0, NULL) : NULL;

    if (json_is_object(root) && json_object_get(root, "secret")) {
        json_object_del(root, "secret");
        free(text);
        text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        n = text ? strlen(text) : 0;
        if (!text) errinfo_set(err, ERR_INTERNAL, "out of memory");
    }
    json_decref(root);
    if (text && outlen) *outlen = n;
    return text;
}

static int parse(const char *event, const char *text, size_t len, host_event *out, errinfo *err) {
    if (webhook_github_parse(event, "application/json", text, len, out, err) < 0)
        return errinfo_prefix(err, "Gitea");
    if (out->kind == HOST_EVENT_PULL_REQUEST && strcmp(out->pr_action, "synchronized") == 0)
        out->pr_change = HOST_PR_UPDATED;
    /* "synchronize" is GitHub's word: Gitea never sends it. */
    else if (out->kind == HOST_EVENT_PULL_REQUEST && strcmp(out->pr_action, "synchronize") == 0)
        out->pr_change = HOST_PR_OTHER;
    if (out->kind == HOST_EVENT_PING) out->kind = HOST_EVENT_IGNORED; /* Gitea has no ping */
    return 0;
}

static void pr_head_ref(long number, char *out, size_t len) {
    snprintf(out, len, "refs/pull/%ld/head", number);
}

static int fetch_credentials(const host_config *cfg, char *user, size_t ulen, char *pass,
                             size_t plen, errinfo *err) {
    if (cfg->token && *cfg->token && (!cfg->user || !*cfg->user))
        return errinfo_set(err, ERR_INVALID, "\"host.user\" names the Gitea user the token is of");
    return host_basic_credentials(cfg, "Gitea", cfg->user ? cfg->user : "", user, ulen, pass, plen, err);
}

/* ---- the API ------------------------------------------------------------- */

static host_client *client_new(const host_config *cfg) {
    static const char *const headers[] = {"Accept: application/json", "Content-Type: application/json", NULL};

    return rest_client_new("Gitea", cfg->api_url, headers, "Authorization: token ", cfg->token);
}

static int status_post(host_client *c, const char *repo, const char *sha, const char *state,
                       const char *context, const char *description, const char *target_url,
                       http_response *resp, errinfo *err) {
    char path[512];

    snprintf(path, sizeof(path), "/repos/%s/statuses/%s", repo, sha);
    json_t *body = json_pack("{s:s,s:o,s:s}", "state", state, "context",
                             rest_clipped(context, GITEA_CONTEXT_MAX), "description",
                             description ? description : "");
    if (target_url) json_object_set_new(body, "target_url", json_string(target_url));
    int rc = rest_call(c, "POST", path, body, resp, err);
    json_decref(body);
    return rc;
}

static int pr_comment_create(host_client *c, const char *repo, long number, const char *body,
                             long long *id, http_response *resp, errinfo *err) {
    char path[512];

    snprintf(path, sizeof(path), "/repos/%s/issues/%ld/comments", repo, number);
    return rest_comment(c, "POST", path, body, id, resp, err);
}

static int pr_comment_update(host_client *c, const char *repo, long number, long long id,
                             const char *body, http_response *resp, errinfo *err) {
    char path[512];

    (void)number;
    snprintf(path, sizeof(path), "/repos/%s/issues/comments/%lld", repo, id);
    return rest_comment(c, "PATCH", path, body, NULL, resp, err);
}

/* The pull request that merged sha: 1 (*number), 0 none (404), -1 error. */
static int merged_pr(host_client *c, const char *repo, const char *sha, long *number,
                     http_response *resp, errinfo *err) {
    char path[512];
    http_response r;

    snprintf(path, sizeof(path), "/repos/%s/commits/%s/pull", repo, sha);
    int rc = rest_call(c, "GET", path, NULL, &r, err);
    if (rc == 0) {
        json_t *pr = json_loads(r.body, 0, NULL);
        *number = (long)json_integer_value(json_object_get(pr, "number"));
        json_decref(pr);
        rc = *number > 0 ? 1 : errinfo_set(err, ERR_REMOTE, "Gitea answered GET %s without a number", path);
    } else if (r.status == 404) {
        rc = 0;
    }
    if (rc != -1) http_response_free(&r);
    else if (resp) *resp = r;
    else http_response_free(&r);
    return rc;
}

static int commit_comment_create(host_client *c, const char *repo, const char *sha,
                                 const char *body, long long *id, http_response *resp,
                                 errinfo *err) {
    long number = 0;
    int found = merged_pr(c, repo, sha, &number, resp, err);

    if (id) *id = 0;
    if (found <= 0) return found; /* none: the status and chat say it */
    return pr_comment_create(c, repo, number, body, id, resp, err);
}

/* Gitea tells no token's scopes: the repository's "permissions" are what
 * there is (a token without the write:repository scope shows only when a
 * status is refused). */
static int access_check(host_client *c, const char *repo, errinfo *err) {
    char path[512];

    snprintf(path, sizeof(path), "/repos/%s", repo);
    json_t *j = rest_get_object(c, path, NULL, err);
    int rc = j ? 0 : -1;
    if (j && !json_is_true(json_object_get(json_object_get(j, "permissions"), "push")))
        rc = errinfo_set(err, ERR_REMOTE, "the token may read %s but not push to it, and statuses need write access", repo);
    json_decref(j);
    return rc;
}

/* No default_api_url: every Gitea is someone's own server. */
const host_ops host_gitea = {
    .type = "gitea",
    .display = "Gitea",
    .commit_path = "/commit/",
    .default_token_env = "GITEA_TOKEN",
    HOST_OPS_OWN_HOOKS,
    .verify_update = hmacsig_update,
    .verify_abort = hmacsig_abort,
    .client_new = client_new,
    .status_post = status_post,
    .pr_comment_create = pr_comment_create,
    .pr_comment_update = pr_comment_update,
    .commit_comment_create = commit_comment_create,
    .access_check = access_check,
    .comment_max = GITEA_COMMENT_MAX,
};
