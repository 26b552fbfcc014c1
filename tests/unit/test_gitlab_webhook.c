/* Unit tests for bot/gitlab_webhook: the secret token, Standard Webhooks
 * signatures (the spec's published test vector), the dedupe key, and the
 * parsing of the real payloads in $DEPLOYBOT_FIXTURES/webhooks/gitlab/. */
#include "host/gitlab_webhook.h"
#include "util/fs.h"

#include <stdlib.h>

#include "check.h"

/* standard-webhooks' own test vector (libraries' shared test suite). */
#define SW_KEY "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS "1614265330"
#define SW_BODY "{\"test\": 2432232314}"
#define SW_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define SW_NOW ((time_t)1614265330)

static char *fixture(const char *name, size_t *len) {
    char path[4096];
    const char *dir = getenv("DEPLOYBOT_FIXTURES");
    errinfo err;
    char *text;

    snprintf(path, sizeof(path), "%s/webhooks/gitlab/%s", dir ? dir : "../shared/fixtures", name);
    text = fs_read_file(path, len, &err);
    if (!text) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    return text;
}

static gitlab_verifier signing(const char *token, int require) {
    gitlab_verifier v = {.secret_token = token, .require_signature = require};
    CHECK(gitlab_verifier_set_key(&v, SW_KEY, NULL) == 0);
    return v;
}

static int verify(const gitlab_verifier *v, gitlab_headers h, const char *body, time_t now) {
    const char *why = NULL;
    int ok = gitlab_verify(v, &h, body, strlen(body), now, &why);
    CHECK(ok || why != NULL);
    return ok;
}

static void test_signature_vector(void) {
    gitlab_verifier v = signing("", 0);
    gitlab_headers h = {.id = SW_ID, .timestamp = SW_TS, .signature = SW_SIG};

    CHECK(v.signing_key_len == 24);
    CHECK(verify(&v, h, SW_BODY, SW_NOW) == 1);
    CHECK(verify(&v, h, "{\"test\": 2432232315}", SW_NOW) == 0);
    h.id = "msg_other";
    CHECK(verify(&v, h, SW_BODY, SW_NOW) == 0);
    /* several entries: one right one among wrong or unknown ones is enough */
    h.id = SW_ID;
    h.signature = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v2,xyz " SW_SIG;
    CHECK(verify(&v, h, SW_BODY, SW_NOW) == 1);
    h.signature = "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    CHECK(verify(&v, h, SW_BODY, SW_NOW) == 0);
    h.signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE";
    CHECK(verify(&v, h, SW_BODY, SW_NOW) == 0);
}

static void test_timestamp(void) {
    gitlab_verifier v = signing("", 0);
    gitlab_headers h = {.id = SW_ID, .timestamp = SW_TS, .signature = SW_SIG};

    CHECK(verify(&v, h, SW_BODY, SW_NOW + 300) == 1);
    CHECK(verify(&v, h, SW_BODY, SW_NOW - 300) == 1);
    CHECK(verify(&v, h, SW_BODY, SW_NOW + 301) == 0);
    CHECK(verify(&v, h, SW_BODY, SW_NOW - 301) == 0);
    h.timestamp = NULL;
    CHECK(verify(&v, h, SW_BODY, SW_NOW) == 0);
    h.timestamp = "1614265330.0";
    CHECK(verify(&v, h, SW_BODY, SW_NOW) == 0);
}

static void test_token(void) {
    gitlab_verifier v = {.secret_token = "s3cret"};
    gitlab_headers h = {.token = "s3cret"};

    CHECK(verify(&v, h, "{}", SW_NOW) == 1);
    h.token = "s3cre";
    CHECK(verify(&v, h, "{}", SW_NOW) == 0);
    h.token = NULL;
    CHECK(verify(&v, h, "{}", SW_NOW) == 0);
    v.secret_token = "";
    CHECK(verify(&v, h, "{}", SW_NOW) == 0); /* nothing configured: nothing passes */
}

/* The token alone passes unless the signature is required; a signature, when
 * sent and a key is configured, must be right even with the right token. */
static void test_no_downgrade(void) {
    gitlab_verifier v = signing("s3cret", 1);
    gitlab_headers h = {.token = "s3cret", .id = SW_ID, .timestamp = SW_TS};

    CHECK(verify(&v, h, SW_BODY, SW_NOW) == 0);
    h.signature = SW_SIG;
    CHECK(verify(&v, h, SW_BODY, SW_NOW) == 1);
    h.token = "wrong";
    CHECK(verify(&v, h, SW_BODY, SW_NOW) == 0);
    v.require_signature = 0;
    h.token = "s3cret";
    h.signature = NULL;
    CHECK(verify(&v, h, SW_BODY, SW_NOW) == 1);
    h.signature = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    CHECK(verify(&v, h, SW_BODY, SW_NOW) == 0);
}

/* The streaming form: the prefix is in the HMAC before the body arrives. */
static void test_streaming(void) {
    gitlab_verifier v = signing("", 0);
    gitlab_headers h = {.id = SW_ID, .timestamp = SW_TS, .signature = SW_SIG};
    unsigned char mac[DIGEST_SHA256_LEN];
    digest_hmac *hm = NULL;
    const char *why = NULL;

    CHECK(gitlab_verify_begin(&v, &h, SW_NOW, &hm, &why) == 1 && hm);
    digest_hmac_update(hm, SW_BODY, 5);
    digest_hmac_update(hm, SW_BODY + 5, strlen(SW_BODY) - 5);
    digest_hmac_final(hm, mac);
    CHECK(gitlab_signature_matches(mac, SW_SIG) == 1);
    h.id = "a.b";
    CHECK(gitlab_verify_begin(&v, &h, SW_NOW, &hm, &why) == -1 && !hm);
}

static void test_keys(void) {
    gitlab_verifier v = {0};
    errinfo err;

    CHECK(gitlab_verifier_set_key(&v, "whsec_not base64!", &err) == -1);
    CHECK(strstr(err.msg, "not base64!") == NULL);
    CHECK(gitlab_verifier_set_key(&v, "whsec_", &err) == -1);
    CHECK(gitlab_verifier_set_key(&v, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &err) == 0 && v.signing_key_len == 24);
    CHECK_STR(gitlab_delivery_key("idem-1", "uuid-1"), "idem-1");
    CHECK_STR(gitlab_delivery_key("", "uuid-1"), "uuid-1");
    CHECK_STR(gitlab_delivery_key(NULL, "uuid-1"), "uuid-1");
    CHECK(gitlab_delivery_key(NULL, NULL) == NULL);
}

static int parse(const char *event, const char *name, host_event *ev) {
    size_t len;
    char *body = fixture(name, &len);
    errinfo err;
    int rc = gitlab_webhook_parse(event, body, len, ev, &err);

    if (rc != 0)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    free(body);
    return rc;
}

static void test_push(void) {
    host_event ev;

    CHECK(parse("Push Hook", "go-scm.push.json", &ev) == 0);
    CHECK(ev.kind == HOST_EVENT_PUSH && !ev.deleted);
    CHECK_STR(ev.repo, "gitlab-org/hello-world");
    CHECK_STR(ev.clone_url, "https://gitlab.com/gitlab-org/hello-world.git");
    CHECK_STR(ev.ref, "refs/heads/master");
    CHECK_STR(ev.before, "9217710ce8c7e1eae7a5d1c45f6e43e1c769f866");
    CHECK_STR(ev.after, "2adc9465c4edfc33834e173fe89436a7cb899a1d");
    CHECK(parse("Push Hook", "docs.push.json", &ev) == 0);
    CHECK_STR(ev.repo, "mike/diaspora");
    CHECK(parse("Tag Push Hook", "docs.tag_push.json", &ev) == 0 && ev.kind == HOST_EVENT_IGNORED);
    CHECK(parse("Note Hook", "docs.note.merge_request.json", &ev) == 0 && ev.kind == HOST_EVENT_IGNORED);
}

static void test_merge_request(void) {
    host_event ev;
    char ref[64];

    CHECK(parse("Merge Request Hook", "go-scm.merge_request.open.json", &ev) == 0);
    CHECK(ev.kind == HOST_EVENT_PULL_REQUEST && ev.pr_number == 1 && !ev.pr_fork && !ev.pr_merged);
    CHECK_STR(ev.pr_action, "open");
    CHECK(ev.pr_change == HOST_PR_OPENED);
    CHECK_STR(ev.head_sha, "c4c79227ed610f1151f05bbc5be33b4f340d39c8");
    CHECK_STR(ev.base_ref, "master");
    CHECK_STR(ev.base_sha, "");
    CHECK_STR(ev.repo, "gitlab-org/hello-world");
    CHECK(parse("Merge Request Hook", "go-scm.merge_request.merge.json", &ev) == 0);
    CHECK_STR(ev.pr_action, "merge");
    CHECK(ev.pr_change == HOST_PR_CLOSED && ev.pr_merged == 1);
    CHECK(parse("Merge Request Hook", "docs.merge_request.json", &ev) == 0);
    CHECK_STR(ev.repo, "gitlabhq/gitlab-test");
    CHECK_STR(ev.head_sha, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
    gitlab_mr_head_ref(ev.pr_number, ref, sizeof(ref));
    CHECK_STR(ref, "refs/merge-requests/1/head");
}

/* The fixtures' variations that matter: a fork, an update with and without
 * new commits, a malformed id. */
static void test_mr_variants(void) {
    const char *fmt =
        "{\"object_kind\":\"merge_request\",\"project\":{\"path_with_namespace\":\"g/p\"},"
        "\"object_attributes\":{\"iid\":%s,\"action\":\"update\",%s\"source_project_id\":%s,"
        "\"target_project_id\":1,\"target_branch\":\"main\",\"last_commit\":{\"id\":"
        "\"C4C79227ED610F1151F05BBC5BE33B4F340D39C8\"}}}";
    char body[1024];
    host_event ev;
    errinfo err;

    snprintf(body, sizeof(body), fmt, "7", "\"oldrev\":\"aaaa\",", "2");
    CHECK(gitlab_webhook_parse("Merge Request Hook", body, strlen(body), &ev, &err) == 0);
    CHECK(ev.pr_fork == 1 && ev.pr_number == 7);
    CHECK(ev.pr_change == HOST_PR_UPDATED);
    CHECK_STR(ev.head_sha, "c4c79227ed610f1151f05bbc5be33b4f340d39c8");
    snprintf(body, sizeof(body), fmt, "7", "", "1");
    CHECK(gitlab_webhook_parse("Merge Request Hook", body, strlen(body), &ev, &err) == 0);
    CHECK(ev.pr_fork == 0);
    CHECK(ev.pr_change == HOST_PR_OTHER);
    snprintf(body, sizeof(body), fmt, "\"7\"", "", "1");
    CHECK(gitlab_webhook_parse("Merge Request Hook", body, strlen(body), &ev, &err) == -1);
    CHECK_CONTAINS(err.msg, "iid");
    CHECK(gitlab_webhook_parse("Push Hook", "{\"ref\":1}", 9, &ev, &err) == -1);
    CHECK(gitlab_webhook_parse("Push Hook", "[]", 2, &ev, &err) == -1);
}

int main(void) {
    test_signature_vector();
    test_timestamp();
    test_token();
    test_no_downgrade();
    test_streaming();
    test_keys();
    test_push();
    test_merge_request();
    test_mr_variants();
    return CHECK_DONE();
}
