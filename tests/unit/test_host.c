/* host/: the registry, a delivery's headers, GitHub's refs and fetch
 * credentials. */
#include "check.h"
#include "host/host.h"

#include <string.h>

static void test_registry(void) {
    const host_ops *gh = host_find("github");

    CHECK(gh && !strcmp(gh->type, "github"));
    CHECK(host_find_path("/webhooks/github") == gh);
    CHECK(!host_find("bitbucket") && !host_find(NULL));
    CHECK(!host_find_path("/webhooks/") && !host_find_path("/webhooks/github/"));
    for (size_t i = 0; host_at(i); i++) {
        const host_ops *h = host_at(i);

        CHECK(host_find(h->type) == h && host_find_path(h->webhook_path) == h);
        CHECK(h->verify_begin && h->verify_update && h->verify_end && h->verify_abort &&
              h->delivery_id && h->event_name && h->json && h->parse && h->pr_head_ref &&
              h->fetch_credentials && h->client_new && h->client_free && h->status_post &&
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
}

int main(void) {
    test_registry();
    test_headers();
    test_github_fetch();
    return CHECK_DONE();
}
