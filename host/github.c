/* github: GitHub (github.com and GitHub Enterprise) as a host_ops: the
 * webhook side is host/github_webhook.c, the REST side host/github_api.c. */
#include "host/github.h"
#include "host/github_api.h"
#include "host/github_webhook.h"

#include <stdio.h>
#include <string.h>

static const char *const headers[] = {"x-github-event:", "x-github-delivery:",
                                      "x-hub-signature-256:", NULL};

static host_verify *verify_begin(const host_config *cfg, const host_headers *h,
                                 const char **refusal) {
    host_header_state st;
    const char *sig = host_header(h, "x-hub-signature-256:", &st);

    return hmacsig_begin(&webhook_github_signature, cfg->webhook_secret, sig, st, 1, refusal);
}

static int verify_end(host_verify *v, const host_headers *h, const char *body, size_t len,
                      const char **refusal) {
    (void)h;
    return hmacsig_end(v, body, len, refusal);
}

static int delivery_id(const host_headers *h, char *out, size_t len, errinfo *err) {
    return host_header_copy(h, "x-github-delivery:", "X-GitHub-Delivery", out, len, err);
}

static int event_name(const host_headers *h, char *out, size_t len, errinfo *err) {
    return host_header_copy(h, "x-github-event:", "X-GitHub-Event", out, len, err);
}

static char *json(const host_headers *h, const char *body, size_t len, size_t *outlen,
                  errinfo *err) {
    return webhook_github_json(h->content_type, body, len, outlen, err);
}

static int parse(const char *event, const char *text, size_t len, host_event *out, errinfo *err) {
    return webhook_github_parse(event, "application/json", text, len, out, err);
}

/* GitHub keeps every pull request's head at refs/pull/<n>/head, in the
 * base repository, a fork's included. */
static void pr_head_ref(long number, char *out, size_t len) {
    snprintf(out, len, "refs/pull/%ld/head", number);
}

static int fetch_credentials(const host_config *cfg, char *user, size_t ulen, char *pass,
                             size_t plen, errinfo *err) {
    return host_basic_credentials(cfg, "GitHub", "x-access-token", user, ulen, pass, plen, err);
}

const host_ops host_github = {
    .type = "github",
    .display = "GitHub",
    .default_api_url = "https://api.github.com",
    .commit_path = "/commit/",
    .default_token_env = "GITHUB_TOKEN",
    HOST_OPS_OWN_HOOKS,
    .verify_update = hmacsig_update,
    .verify_abort = hmacsig_abort,
    .client_new = github_client_new,
    .status_post = github_status_post,
    .pr_comment_create = github_issue_comment_create,
    .pr_comment_update = github_issue_comment_update,
    .commit_comment_create = github_commit_comment_create,
    .access_check = github_access_check,
    .comment_max = GITHUB_COMMENT_MAX,
};
