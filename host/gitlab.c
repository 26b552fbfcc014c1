/* gitlab: GitLab as a host_ops: the webhook side is host/gitlab_webhook.c,
 * the REST side host/gitlab_api.c. */
#include "host/gitlab.h"
#include "host/github_webhook.h"
#include "host/gitlab_api.h"
#include "host/gitlab_webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const headers[] = {"x-gitlab-token:", "x-gitlab-event:", "x-gitlab-event-uuid:",
                                      "idempotency-key:", "webhook-id:", "webhook-timestamp:",
                                      "webhook-signature:", NULL};

/* A verification under way: the HMAC of a signed delivery, or none when the
 * secret token alone decided. */
typedef struct {
    digest_hmac *mac;
} gitlab_verification;

/* The headers as gitlab_webhook.h reads them: an over-long one counts as
 * a wrong one, never as a missing one (that could select the token alone). */
static void read_headers(const host_headers *h, gitlab_headers *out) {
    static const char too_long[] = "\x01";
    host_header_state st;
    const char *v;
    const char **dst[] = {&out->token, &out->id, &out->timestamp, &out->signature};
    const char *names[] = {"x-gitlab-token:", "webhook-id:", "webhook-timestamp:", "webhook-signature:"};

    for (size_t i = 0; i < 4; i++) {
        v = host_header(h, names[i], &st);
        *dst[i] = st == HOST_HEADER_TOO_LONG ? too_long : v;
    }
}

static host_verify *verify_begin(const host_config *cfg, const host_headers *h, const char **refusal) {
    gitlab_verifier v = {.secret_token = cfg->webhook_secret, .require_signature = cfg->require_signature};
    gitlab_headers gh;
    gitlab_verification *gv;
    digest_hmac *mac = NULL;

    if (cfg->signing_key && *cfg->signing_key && gitlab_verifier_set_key(&v, cfg->signing_key, NULL) < 0) {
        *refusal = "the configured GitLab signing token is malformed";
        return NULL;
    }
    read_headers(h, &gh);
    int rc = gitlab_verify_begin(&v, &gh, time(NULL), &mac, refusal);
    digest_cleanse(v.signing_key, sizeof(v.signing_key));
    if (rc < 0) return NULL;
    if (!(gv = calloc(1, sizeof(*gv)))) abort();
    gv->mac = mac;
    return (host_verify *)gv;
}

static void verify_update(host_verify *v, const void *data, size_t len) {
    gitlab_verification *gv = (gitlab_verification *)v;
    if (gv->mac && len) digest_hmac_update(gv->mac, data, len);
}

static int verify_end(host_verify *v, const host_headers *h, const char *body, size_t len, const char **refusal) {
    gitlab_verification *gv = (gitlab_verification *)v;
    unsigned char out[DIGEST_SHA256_LEN];
    gitlab_headers gh;
    int ok = 1;

    (void)body, (void)len;
    if (gv->mac) {
        read_headers(h, &gh);
        digest_hmac_final(gv->mac, out);
        ok = gitlab_signature_matches(out, gh.signature);
        digest_cleanse(out, sizeof(out));
        if (!ok) *refusal = "webhook-signature does not match";
    }
    free(gv);
    return ok;
}

static void verify_abort(host_verify *v) {
    gitlab_verification *gv = (gitlab_verification *)v;
    if (!gv) return;
    digest_hmac_abort(gv->mac);
    free(gv);
}

static int delivery_id(const host_headers *h, char *out, size_t len, errinfo *err) {
    const char *k = gitlab_delivery_key(host_header(h, "idempotency-key:", NULL),
                                        host_header(h, "x-gitlab-event-uuid:", NULL));
    if (!k || strlen(k) >= len)
        return errinfo_set(err, ERR_INVALID, "missing Idempotency-Key and X-Gitlab-Event-UUID headers");
    memcpy(out, k, strlen(k) + 1);
    return 0;
}

static int event_name(const host_headers *h, char *out, size_t len, errinfo *err) {
    return host_header_copy(h, "x-gitlab-event:", "X-Gitlab-Event", out, len, err);
}

/* GitLab sends JSON only, whatever the content type says. */
static char *json(const host_headers *h, const char *body, size_t len, size_t *outlen, errinfo *err) {
    (void)h;
    return webhook_github_json("application/json", body, len, outlen, err);
}

static int parse(const char *event, const char *text, size_t len, host_event *out, errinfo *err) {
    return gitlab_webhook_parse(event, text, len, out, err);
}

static void pr_head_ref(long number, char *out, size_t len) {
    gitlab_mr_head_ref((int)number, out, len);
}

/* A project/group access token or a PAT fetches as "oauth2:<token>". */
static int fetch_credentials(const host_config *cfg, char *user, size_t ulen, char *pass, size_t plen,
                             errinfo *err) {
    const char *u = cfg->user && *cfg->user ? cfg->user : "oauth2";
    return host_basic_credentials(cfg, "GitLab", u, user, ulen, pass, plen, err);
}

/* deploybot posts "pending" when a run starts: GitLab calls that running
 * (a second "pending" of the same name would be refused by its state
 * machine); "failure" and "error" are both GitLab's "failed". */
static int status_post(host_client *c, const char *repo, const char *sha, const char *state,
                       const char *context, const char *description, const char *target_url,
                       http_response *resp, errinfo *err) {
    const char *gl = !strcmp(state, "pending") ? "running" : !strcmp(state, "success") ? "success"
                                                                                       : "failed";
    return gitlab_status_post(c, repo, sha, gl, context, description, target_url, resp, err);
}

const host_ops host_gitlab = {
    .type = "gitlab",
    .display = "GitLab",
    .default_api_url = "https://gitlab.com/api/v4",
    .commit_path = "/-/commit/",
    .default_token_env = "GITLAB_TOKEN",
    HOST_OPS_OWN_HOOKS,
    .verify_update = verify_update,
    .verify_abort = verify_abort,
    .client_new = gitlab_client_new,
    .status_post = status_post,
    .pr_comment_create = gitlab_mr_note_create,
    .pr_comment_update = gitlab_mr_note_update,
    .commit_comment_create = gitlab_commit_comment_create,
    .access_check = gitlab_access_check,
    .comment_max = GITLAB_NOTE_MAX,
};
