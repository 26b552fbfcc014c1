/* host/: the registry, a delivery's headers, GitHub's refs and fetch
 * credentials, and Gitea's deliveries (the fixtures under
 * $DEPLOYBOT_FIXTURES/webhooks/gitea/). */
#include "check.h"
#include "host/host.h"
#include "util/digest.h"
#include "util/fs.h"

#include <stdlib.h>
#include <string.h>

#define SECRET "It's a Secret to Everybody"
/* NOTES.md §2: over the staged bytes of gitea/docs.push.json with SECRET. */
#define DOCS_PUSH_SIG "597183de06d034700a15e376b097dea828d62b8256a1ed23a76196d9770675be"

static char *gitea_fixture(const char *name, size_t *len) {
    char path[4096];
    const char *dir = getenv("DEPLOYBOT_FIXTURES");
    char *text;

    snprintf(path, sizeof(path), "%s/webhooks/gitea/%s", dir ? dir : "../shared/fixtures", name);
    if (!(text = fs_read_file(path, len, NULL))) {
        fprintf(stderr, "cannot read fixture %s (set DEPLOYBOT_FIXTURES)\n", path);
        exit(2);
    }
    return text;
}

/* Headers as the server copies them: name/value pairs of the host's own. */
static void set_header(host_headers *h, const char *name, const char *value) {
    for (size_t i = 0; h->host->headers[i]; i++)
        if (strcmp(h->host->headers[i], name) == 0) {
            h->state[i] = HOST_HEADER_OK;
            snprintf(h->value[i], HOST_HEADER_LEN, "%s", value);
        }
}

/* The body fed in two pieces, as the server reads it: 1 authentic, 0 not. */
static int gitea_verify(const host_headers *h, const char *secret, const char *body, size_t len,
                        const char **why) {
    const host_ops *g = h->host;
    host_config cfg = {.type = "gitea", .webhook_secret = secret};
    host_verify *v = g->verify_begin(&cfg, h, why);

    if (!v) return 0;
    g->verify_update(v, body, len / 2);
    g->verify_update(v, body + len / 2, len - len / 2);
    return g->verify_end(v, h, body, len, why);
}

static void test_gitea_signature(void) {
    const host_ops *g = host_find("gitea");
    host_headers h = {.host = g};
    const char *why = NULL;
    size_t len;
    char *body = gitea_fixture("docs.push.json", &len);

    strcpy(h.content_type, "application/json");
    CHECK(!gitea_verify(&h, SECRET, body, len, &why) && !strcmp(why, "missing X-Gitea-Signature header"));
    set_header(&h, "x-forgejo-signature:", DOCS_PUSH_SIG);
    CHECK(gitea_verify(&h, SECRET, body, len, &why) == 1); /* Forgejo's header alone */
    set_header(&h, "x-gitea-signature:", DOCS_PUSH_SIG);
    CHECK(gitea_verify(&h, SECRET, body, len, &why) == 1);
    CHECK(!gitea_verify(&h, "another secret", body, len, &why) && !strcmp(why, "invalid X-Gitea-Signature signature"));
    CHECK(!gitea_verify(&h, "", body, len, &why) && strstr(why, "no webhook secret"));
    set_header(&h, "x-gitea-signature:", "sha256=" DOCS_PUSH_SIG); /* GitHub's shape is not Gitea's */
    CHECK(!gitea_verify(&h, SECRET, body, len, &why));
    body[len / 3] ^= 1;
    set_header(&h, "x-gitea-signature:", DOCS_PUSH_SIG);
    CHECK(!gitea_verify(&h, SECRET, body, len, &why));
    free(body);
}

/* A form body is signed as its JSON (NOTES.md §4), and what is kept is the
 * JSON without the payload's "secret". */
static void test_gitea_form_and_secret(void) {
    const host_ops *g = host_find("gitea");
    host_headers h = {.host = g};
    const char *json = "{\"secret\":\"hunter2\",\"ref\":\"refs/heads/main\"}";
    const char *form = "payload=%7B%22secret%22%3A%22hunter2%22%2C%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D";
    char sig[65], *kept;
    const char *why = NULL;
    size_t n = 0;
    errinfo err;

    digest_hmac_sha256_hex(SECRET, strlen(SECRET), json, strlen(json), sig);
    strcpy(h.content_type, "application/x-www-form-urlencoded");
    set_header(&h, "x-gitea-signature:", sig);
    CHECK(gitea_verify(&h, SECRET, form, strlen(form), &why) == 1);
    strcpy(h.content_type, "application/json");
    CHECK(!gitea_verify(&h, SECRET, form, strlen(form), &why)); /* the bytes as JSON are not signed */
    strcpy(h.content_type, "application/x-www-form-urlencoded");
    kept = g->json(&h, form, strlen(form), &n, &err);
    CHECK(kept && !strstr(kept, "hunter2") && strstr(kept, "refs/heads/main") && n == strlen(kept));
    free(kept);
}

static void test_gitea_events(void) {
    const host_ops *g = host_find("gitea");
    host_headers h = {.host = g};
    host_event ev;
    char out[128];
    size_t len;
    errinfo err;
    char *body = gitea_fixture("go-scm.pull_request.synchronized.json", &len);

    CHECK(g->delivery_id(&h, out, sizeof(out), &err) < 0 && strstr(err.msg, "missing X-Gitea-Delivery"));
    set_header(&h, "x-forgejo-delivery:", "f6266f16-1bf3-46a5-9ea4-602e06ead473");
    set_header(&h, "x-gitea-event:", "pull_request");
    CHECK(g->delivery_id(&h, out, sizeof(out), &err) == 0 && !strcmp(out, "f6266f16-1bf3-46a5-9ea4-602e06ead473"));
    CHECK(g->event_name(&h, out, sizeof(out), &err) == 0 && !strcmp(out, "pull_request"));
    CHECK(g->parse("pull_request", body, len, &ev, &err) == 0);
    CHECK(ev.kind == HOST_EVENT_PULL_REQUEST && ev.pr_change == HOST_PR_UPDATED && !ev.pr_fork);
    CHECK(!strcmp(ev.pr_action, "synchronized") && ev.pr_number > 0 && ev.head_sha[0] && ev.repo[0]);
    free(body);
    body = gitea_fixture("go-scm.pull_request.merged.json", &len);
    CHECK(g->parse("pull_request", body, len, &ev, &err) == 0);
    CHECK(ev.pr_change == HOST_PR_CLOSED && ev.pr_merged);
    free(body);
    body = gitea_fixture("go-scm.push.json", &len);
    CHECK(g->parse("push", body, len, &ev, &err) == 0);
    CHECK(ev.kind == HOST_EVENT_PUSH && !strcmp(ev.repo, "gogits/hello-world") && !strcmp(ev.ref, "refs/heads/master"));
    free(body);
    CHECK(g->parse("push", "{\"ref\":1}", 9, &ev, &err) < 0 && strstr(err.msg, "Gitea"));
}

static void test_registry(void) {
    const host_ops *gh = host_find("github");

    CHECK(gh && !strcmp(gh->type, "github"));
    CHECK(host_find_path("/webhooks/github") == gh);
    CHECK(!host_find("bitbucket") && !host_find(NULL));
    CHECK(!host_find_path("/webhooks/") && !host_find_path("/webhooks/github/"));
    for (size_t i = 0; host_at(i); i++) {
        const host_ops *h = host_at(i);
        char path[64];

        snprintf(path, sizeof(path), "/webhooks/%s", h->type);

        CHECK(host_find(h->type) == h && host_find_path(path) == h);
        CHECK(h->verify_begin && h->verify_update && h->verify_end && h->verify_abort &&
              h->delivery_id && h->event_name && h->json && h->parse && h->pr_head_ref &&
              h->fetch_credentials && h->client_new && h->status_post &&
              h->pr_comment_create && h->pr_comment_update && h->commit_comment_create &&
              h->comment_max > 0 && h->default_token_env);
    }
}

static void test_headers(void) {
    const host_ops *gh = host_find("github");
    host_headers h = {.host = gh};
    host_header_state st;
    char out[64];
    errinfo err;

    h.state[0] = HOST_HEADER_OK;
    strcpy(h.value[0], "push");
    h.state[1] = HOST_HEADER_TOO_LONG;
    CHECK(!strcmp(host_header(&h, "X-GitHub-Event:", &st), "push") && st == HOST_HEADER_OK);
    CHECK(!host_header(&h, "x-github-delivery:", &st) && st == HOST_HEADER_TOO_LONG);
    CHECK(!host_header(&h, "x-gitea-event:", &st) && st == HOST_HEADER_MISSING);
    CHECK(gh->event_name(&h, out, sizeof(out), &err) == 0 && !strcmp(out, "push"));
    CHECK(gh->delivery_id(&h, out, sizeof(out), &err) < 0 && strstr(err.msg, "over-long X-GitHub-Delivery"));
    h.state[1] = HOST_HEADER_MISSING;
    CHECK(gh->delivery_id(&h, out, sizeof(out), &err) < 0 && strstr(err.msg, "missing X-GitHub-Delivery"));
}

static void test_github_fetch(void) {
    const host_ops *gh = host_find("github");
    host_config cfg = {.type = "github", .token = "ghs_abc"};
    char user[64], pass[64], ref[64];
    errinfo err;

    gh->pr_head_ref(7, ref, sizeof(ref));
    CHECK(!strcmp(ref, "refs/pull/7/head"));
    CHECK(gh->fetch_credentials(&cfg, user, sizeof(user), pass, sizeof(pass), &err) == 0);
    CHECK(!strcmp(user, "x-access-token") && !strcmp(pass, "ghs_abc"));
    cfg.token = NULL;
    CHECK(gh->fetch_credentials(&cfg, user, sizeof(user), pass, sizeof(pass), &err) < 0);
    /* Gitea: the token's own user, and refs/pull/<n>/head as GitHub. */
    const host_ops *g = host_find("gitea");
    host_config gc = {.type = "gitea", .token = "gtok"};
    CHECK(g->fetch_credentials(&gc, user, sizeof(user), pass, sizeof(pass), &err) < 0 && strstr(err.msg, "host.user"));
    gc.user = "deploybot";
    CHECK(g->fetch_credentials(&gc, user, sizeof(user), pass, sizeof(pass), &err) == 0);
    CHECK(!strcmp(user, "deploybot") && !strcmp(pass, "gtok"));
    g->pr_head_ref(12, ref, sizeof(ref));
    CHECK(!strcmp(ref, "refs/pull/12/head"));
}

/* The commit links of the dashboard, for each host's usual API address. */
static void test_commit_url(void) {
    const char *sha = "0123456789abcdef0123456789abcdef01234567";
    char url[256];

    host_commit_url(host_find("github"), "https://api.github.com", "o/r", sha, url, sizeof(url));
    CHECK_STR(url, "https://github.com/o/r/commit/0123456789abcdef0123456789abcdef01234567");
    host_commit_url(host_find("github"), "https://ghe.example/api/v3/", "o/r", sha, url, sizeof(url));
    CHECK_STR(url, "https://ghe.example/o/r/commit/0123456789abcdef0123456789abcdef01234567");
    host_commit_url(host_find("gitlab"), "https://gitlab.com/api/v4", "g/p", sha, url, sizeof(url));
    CHECK_STR(url, "https://gitlab.com/g/p/-/commit/0123456789abcdef0123456789abcdef01234567");
    host_commit_url(host_find("gitea"), "http://127.0.0.1:3000/api/v1", "o/r", sha, url, sizeof(url));
    CHECK_STR(url, "http://127.0.0.1:3000/o/r/commit/0123456789abcdef0123456789abcdef01234567");
    host_commit_url(host_find("github"), "http://127.0.0.1:9000/", "o/r", sha, url, sizeof(url));
    CHECK_STR(url, "http://127.0.0.1:9000/o/r/commit/0123456789abcdef0123456789abcdef01234567");
}

int main(void) {
    test_registry();
    test_commit_url();
    test_headers();
    test_github_fetch();
    test_gitea_signature();
    test_gitea_form_and_secret();
    test_gitea_events();
    return CHECK_DONE();
}
