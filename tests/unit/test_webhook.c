/* Unit tests for bot/webhook: GitHub signatures and payload parsing, over
 * GitHub's published test vector and the real payloads in
 * $DEPLOYBOT_FIXTURES/webhooks/github/. */
#include "host/github_webhook.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond, ...) \
    do { \
        if (cond) { \
            passed++; \
        } else { \
            failed++; \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__); \
            fputc('\n', stderr); \
        } \
    } while (0)

#define SECRET "It's a Secret to Everybody"
#define ZERO40 "0000000000000000000000000000000000000000"

static char fixtures[4096];

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static char *fixture(const char *name, size_t *len) {
    char path[8192];
    char *buf;

    snprintf(path, sizeof(path), "%s/webhooks/github/%s", fixtures, name);
    buf = read_file(path, len);
    if (!buf) {
        fprintf(stderr, "cannot read fixture %s\n", path);
        exit(2);
    }
    return buf;
}

/* ---- signatures --------------------------------------------------------- */

static void test_published_vector(void) {
    const char *body = "Hello, World!";
    const char *sig =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22"
        "c46f4379c8b043e17";

    CHECK(webhook_github_verify(SECRET, body, strlen(body), sig) == 1,
          "GitHub's published vector must verify");
    CHECK(webhook_github_verify("It's a secret to everybody", body,
                                strlen(body), sig) == 0,
          "a different secret must not verify");
    CHECK(webhook_github_verify(SECRET, "Hello, World?", 13, sig) == 0,
          "a tampered body must not verify");
    CHECK(webhook_github_verify(SECRET, body, strlen(body), NULL) == 0,
          "a missing header must not verify");
    CHECK(webhook_github_verify(NULL, body, strlen(body), sig) == 0,
          "no secret must never verify");
    CHECK(webhook_github_verify("", body, strlen(body), sig) == 0,
          "an empty secret must never verify");
}

/* The body fed in pieces (as the server reads it) gives the same HMAC. */
static void test_incremental(void) {
    const char *body = "Hello, World!";
    const char *sig =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22"
        "c46f4379c8b043e17";
    const char *why = NULL;
    host_verify *v = hmacsig_begin(&webhook_github_signature, SECRET, sig, HOST_HEADER_OK, 1, &why);

    CHECK(v != NULL, "the vector is shaped");
    hmacsig_update(v, body, 5);
    hmacsig_update(v, body + 5, 0);
    hmacsig_update(v, body + 5, strlen(body) - 5);
    CHECK(hmacsig_end(v, NULL, 0, &why) == 1, "pieces give GitHub's vector");
    CHECK(!hmacsig_shaped(&webhook_github_signature, "sha256=abc"), "too short");
    CHECK(!hmacsig_shaped(&webhook_github_signature, NULL), "missing");
    CHECK(!hmacsig_begin(&webhook_github_signature, SECRET, NULL, HOST_HEADER_MISSING, 1, &why),
          "no header, no verification");
    CHECK(strstr(why, "missing X-Hub-Signature-256") != NULL, "and the refusal says so: %s", why);
    v = hmacsig_begin(&webhook_github_signature, SECRET, sig, HOST_HEADER_OK, 1, &why);
    hmacsig_update(v, "Hello, World?", 13);
    CHECK(hmacsig_end(v, NULL, 0, &why) == 0, "another body does not match");
    hmacsig_abort(hmacsig_begin(&webhook_github_signature, "k", sig, HOST_HEADER_OK, 1, &why));
    hmacsig_abort(NULL);
}

/* Every malformed header variant of a valid signature is refused. */
static void test_signature_forms(const char *body, size_t len,
                                 const char *sig) {
    char buf[128];

    CHECK(webhook_github_verify(SECRET, body, len, sig) == 1,
          "valid signature %s", sig);
    snprintf(buf, sizeof(buf), "sha1=%s", sig + 7);
    CHECK(webhook_github_verify(SECRET, body, len, buf) == 0, "sha1= prefix");
    snprintf(buf, sizeof(buf), "SHA256=%s", sig + 7);
    CHECK(webhook_github_verify(SECRET, body, len, buf) == 0, "SHA256= prefix");
    CHECK(webhook_github_verify(SECRET, body, len, sig + 7) == 0,
          "bare hex without prefix");
    snprintf(buf, sizeof(buf), "%.*s", (int)strlen(sig) - 1, sig);
    CHECK(webhook_github_verify(SECRET, body, len, buf) == 0, "truncated");
    snprintf(buf, sizeof(buf), "%s0", sig);
    CHECK(webhook_github_verify(SECRET, body, len, buf) == 0, "one char extra");
    snprintf(buf, sizeof(buf), "%s", sig);
    for (char *c = buf + 7; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    CHECK(webhook_github_verify(SECRET, body, len, buf) == 0,
          "uppercase hex is not what GitHub sends");
    CHECK(webhook_github_verify(SECRET, body, len, "") == 0, "empty header");
    CHECK(webhook_github_verify(SECRET, body, len - 1, sig) == 0,
          "body missing its last byte");
}

static void test_fixture_signatures(void) {
    static const struct {
        const char *file, *sig;
    } cases[] = {
        {"go-scm.push.branch-update.json",
         "sha256=f34850706d3e5e5a04a0ce1fc8cdec591b62e15f33636253edad1b9d3eb"
         "78385"},
        {"reallyfastci.pull_request.closed.merged.json",
         "sha256=d88233adcec35122a5ef43629b4f337764b5342256acb6321d025538765"
         "dfc1b"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        char *body = fixture(cases[i].file, &len);

        test_signature_forms(body, len, cases[i].sig);
        body[len / 2] ^= 1;
        CHECK(webhook_github_verify(SECRET, body, len, cases[i].sig) == 0,
              "%s with one flipped bit must not verify", cases[i].file);
        free(body);
    }
}

/* ---- parsing every fixture ---------------------------------------------- */

/* "octokit.pull_request.opened.json" -> "pull_request" */
static void event_of(const char *file, char *ev, size_t evlen) {
    const char *a = strchr(file, '.');
    const char *b = a ? strchr(a + 1, '.') : NULL;

    snprintf(ev, evlen, "%.*s", b ? (int)(b - a - 1) : 0, a ? a + 1 : "");
}

static void parse_all_fixtures(void) {
    char dir[8192], ev[64];
    errinfo err = {0};
    struct dirent *de;
    int n = 0;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/webhooks/github", fixtures);
    d = opendir(dir);
    CHECK(d != NULL, "cannot open %s", dir);
    if (!d)
        return;
    while ((de = readdir(d))) {
        size_t len, nl = strlen(de->d_name);
        host_event e;
        char *body;

        if (nl < 6 || strcmp(de->d_name + nl - 5, ".json") != 0)
            continue;
        body = fixture(de->d_name, &len);
        event_of(de->d_name, ev, sizeof(ev));
        CHECK(webhook_github_parse(ev, "application/json", body, len, &e,
                                   &err) == 0,
              "%s (%s): %s", de->d_name, ev, err.msg);
        CHECK(e.repo[0] != '\0', "%s: repository.full_name", de->d_name);
        CHECK(strcmp(ev, "push") ? 1 : e.kind == HOST_EVENT_PUSH, "%s kind",
              de->d_name);
        CHECK(strcmp(ev, "pull_request") ? 1 : e.kind == HOST_EVENT_PULL_REQUEST,
              "%s kind", de->d_name);
        CHECK(strcmp(ev, "ping") ? 1 : e.kind == HOST_EVENT_PING && e.zen[0],
              "%s kind/zen", de->d_name);
        CHECK(strcmp(ev, "issue_comment") ? 1 : e.kind == HOST_EVENT_IGNORED,
              "%s kind", de->d_name);
        free(body);
        n++;
    }
    closedir(d);
    CHECK(n >= 14, "expected the 14 GitHub fixtures, parsed %d", n);
}

static int parse_fixture(const char *file, const char *ev, host_event *e) {
    errinfo err = {0};
    size_t len;
    char *body = fixture(file, &len);
    int rc = webhook_github_parse(ev, "application/json", body, len, e, &err);

    CHECK(rc == 0, "%s: %s", file, err.msg);
    free(body);
    return rc;
}

static void test_push_fields(void) {
    host_event e;

    if (parse_fixture("reallyfastci.push.merge-to-master.json", "push", &e) == 0) {
        CHECK(e.kind == HOST_EVENT_PUSH, "kind");
        CHECK(!strcmp(e.ref, "refs/heads/master"), "ref %s", e.ref);
        CHECK(!strcmp(e.before, "8357af6fef17bd180014e419f049944cb491238f"),
              "before %s", e.before);
        CHECK(!strcmp(e.after, "a21683865c088b5fe1906cf6552d15a285a4986d"),
              "after %s", e.after);
        CHECK(!e.deleted, "not deleted");
        CHECK(!strcmp(e.repo, "ailisp/gcbapp-buildconfig-example"), "repo %s",
              e.repo);
        CHECK(!strcmp(e.clone_url,
                      "https://github.com/ailisp/gcbapp-buildconfig-example.git"),
              "clone_url %s", e.clone_url);
    }
    if (parse_fixture("go-scm.push.branch-update.json", "push", &e) == 0) {
        CHECK(!strcmp(e.before, "a10867b14bb761a232cd80139fbd4c0d33264240") &&
                  !strcmp(e.after, "199eddf46df50de8d02e99bf1c5fdb4101338224"),
              "go-scm before/after");
        CHECK(!strcmp(e.repo, "Codertocat/Hello-World") && !e.deleted,
              "go-scm repo");
    }
    if (parse_fixture("go-scm.push.branch-delete.json", "push", &e) == 0)
        CHECK(e.deleted && !strcmp(e.ref, "refs/heads/feature-branch") &&
                  !strcmp(e.after, ZERO40),
              "branch delete: deleted=%d ref=%s", e.deleted, e.ref);
    if (parse_fixture("octokit.push.tag-deleted.json", "push", &e) == 0)
        CHECK(e.deleted && !strcmp(e.ref, "refs/tags/simple-tag"),
              "tag delete");
    if (parse_fixture("octokit.push.new-branch.json", "push", &e) == 0)
        CHECK(!e.deleted && !strcmp(e.before, ZERO40) &&
                  !strcmp(e.after, "6113728f27ae82c7b1a177c8d03f9e96e0adf246"),
              "new branch");
}

static void test_pull_request_fields(void) {
    host_event e;

    if (parse_fixture("reallyfastci.pull_request.closed.merged.json",
                      "pull_request", &e) == 0) {
        CHECK(e.kind == HOST_EVENT_PULL_REQUEST, "kind");
        CHECK(!strcmp(e.pr_action, "closed") && e.pr_number == 3 &&
                  e.pr_merged == 1,
              "action=%s number=%d merged=%d", e.pr_action, e.pr_number,
              e.pr_merged);
        CHECK(!strcmp(e.head_sha, "7b5a809ab03679215c55926f7d111156ec98b865"),
              "head %s", e.head_sha);
        CHECK(!strcmp(e.base_sha, "8357af6fef17bd180014e419f049944cb491238f"),
              "base %s", e.base_sha);
        CHECK(!strcmp(e.base_ref, "master"), "base_ref %s", e.base_ref);
        CHECK(!strcmp(e.repo, "ailisp/gcbapp-buildconfig-example"), "repo");
        CHECK(e.pr_fork && !strcmp(e.head_repo, "byao1276/gcbapp-buildconfig-example"),
              "a fork's pull request: fork=%d head_repo=%s", e.pr_fork, e.head_repo);
    }
    if (parse_fixture("octokit.pull_request.opened.json", "pull_request",
                      &e) == 0) {
        CHECK(!strcmp(e.pr_action, "opened") && e.pr_number == 2 &&
                  !e.pr_merged,
              "opened");
        CHECK(!strcmp(e.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821") &&
                  !strcmp(e.base_sha,
                          "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"),
              "opened shas");
        CHECK(!e.pr_fork && !strcmp(e.head_repo, "Codertocat/Hello-World"),
              "a branch of the repository itself: fork=%d", e.pr_fork);
    }
    if (parse_fixture("octokit.pull_request.synchronize.json", "pull_request",
                      &e) == 0)
        CHECK(!strcmp(e.pr_action, "synchronize"), "synchronize");
    if (parse_fixture("octokit.pull_request.closed.unmerged.json",
                      "pull_request", &e) == 0)
        CHECK(!strcmp(e.pr_action, "closed") && !e.pr_merged, "unmerged");
}

static void test_ping_and_ignored(void) {
    host_event e;

    if (parse_fixture("octokit.ping.json", "ping", &e) == 0)
        CHECK(e.kind == HOST_EVENT_PING &&
                  !strcmp(e.zen, "Anything added dilutes everything else."),
              "zen %s", e.zen);
    if (parse_fixture("octokit.issue_comment.created.json", "issue_comment",
                      &e) == 0)
        CHECK(e.kind == HOST_EVENT_IGNORED &&
                  !strcmp(e.repo, "Codertocat/Hello-World"),
              "issue_comment ignored");
    /* A push body under another event name is just ignored. */
    if (parse_fixture("go-scm.push.branch-update.json", "create", &e) == 0)
        CHECK(e.kind == HOST_EVENT_IGNORED, "create ignored");
}

/* ---- form encoding ------------------------------------------------------ */

static char *form_encode(const char *prefix, const char *s, size_t len) {
    static const char hexd[] = "0123456789ABCDEF";
    size_t pl = strlen(prefix);
    char *out = malloc(pl + len * 3 + 1), *o = out + pl;

    memcpy(out, prefix, pl);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == ' ') {
            *o++ = '+';
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || strchr("-_.*", c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hexd[c >> 4];
            *o++ = hexd[c & 15];
        }
    }
    *o = '\0';
    return out;
}

static void test_form_encoded(void) {
    const char *ct = "application/x-www-form-urlencoded";
    char *json, *form;
    errinfo err = {0};
    size_t len, jlen = 0;
    char *body = fixture("reallyfastci.push.merge-to-master.json", &len);
    host_event e;

    form = form_encode("payload=", body, len);
    json = webhook_github_json(ct, form, strlen(form), &jlen, &err);
    CHECK(json && jlen == len && !memcmp(json, body, len),
          "form payload decodes to the exact JSON bytes (%s)",
          json ? "" : err.msg);
    free(json);
    CHECK(webhook_github_parse("push", ct, form, strlen(form), &e, &err) == 0 &&
              !strcmp(e.after, "a21683865c088b5fe1906cf6552d15a285a4986d"),
          "form-encoded push parses: %s", err.msg);
    CHECK(webhook_github_parse("push",
                               "Application/X-WWW-Form-Urlencoded; charset=utf-8",
                               form, strlen(form), &e, &err) == 0,
          "content type with parameters and odd case: %s", err.msg);
    CHECK(webhook_github_parse("push", NULL, form, strlen(form), &e, &err) == 0,
          "no content type, body starts with payload=: %s", err.msg);
    free(form);

    form = form_encode("a=1&b=%20&payload=", body, len);
    CHECK(webhook_github_parse("push", ct, form, strlen(form), &e, &err) == 0 &&
              !strcmp(e.before, "8357af6fef17bd180014e419f049944cb491238f"),
          "payload after other fields: %s", err.msg);
    free(form);

    CHECK(webhook_github_parse("push", ct, "a=1&b=2", 7, &e, &err) == -1 &&
              strstr(err.msg, "payload"),
          "form without payload: %s", err.msg);
    CHECK(webhook_github_parse("push", ct, "payload=%7B%G1", 14, &e,
                               &err) == -1 &&
              strstr(err.msg, "percent"),
          "bad escape: %s", err.msg);
    CHECK(webhook_github_parse("push", ct, "payload=%7", 10, &e, &err) == -1,
          "truncated escape");
    CHECK(webhook_github_parse("push", ct, "payload=%00", 11, &e, &err) == -1 &&
              strstr(err.msg, "NUL"),
          "NUL byte: %s", err.msg);
    CHECK(webhook_github_parse("push", ct, "payload=%7B", 11, &e, &err) == -1 &&
              strstr(err.msg, "malformed JSON"),
          "form with broken JSON: %s", err.msg);
    free(body);
}

/* ---- malformed input ---------------------------------------------------- */

static int parse_str(const char *ev, const char *json, host_event *e,
                     errinfo *err) {
    return webhook_github_parse(ev, "application/json", json, strlen(json), e,
                                err);
}

#define PUSH_OK \
    "\"ref\":\"refs/heads/main\",\"before\":\"" ZERO40 \
    "\"," \
    "\"repository\":{\"full_name\":\"o/r\"}"

static void test_malformed(void) {
    char big[600];
    errinfo err = {0};
    host_event e;

    CHECK(parse_str("push", "{\"ref\":", &e, &err) == -1 &&
              strstr(err.msg, "malformed JSON") && strstr(err.msg, "line 1"),
          "truncated JSON: %s", err.msg);
    CHECK(parse_str("push", "", &e, &err) == -1, "empty body");
    CHECK(webhook_github_parse("push", "application/json", NULL, 0, &e,
                               &err) == -1,
          "NULL body");
    CHECK(parse_str("push", "[1,2]", &e, &err) == -1 &&
              strstr(err.msg, "object"),
          "array: %s", err.msg);
    CHECK(webhook_github_parse("push", "application/json", "{}\0{}", 5, &e,
                               &err) == -1,
          "NUL inside the body");
    CHECK(parse_str(NULL, "{}", &e, &err) == -1 &&
              strstr(err.msg, "X-GitHub-Event"),
          "missing event: %s", err.msg);
    CHECK(parse_str("", "{}", &e, &err) == -1, "empty event");
    CHECK(parse_str("push", "{" PUSH_OK "}", &e, &err) == -1 &&
              strstr(err.msg, "\"after\""),
          "push without after: %s", err.msg);
    CHECK(parse_str("push", "{" PUSH_OK ",\"after\":\"xyz\"}", &e,
                    &err) == -1 &&
              strstr(err.msg, "40-hex"),
          "short sha: %s", err.msg);
    CHECK(parse_str("push", "{" PUSH_OK ",\"after\":42}", &e, &err) == -1 &&
              strstr(err.msg, "not a string"),
          "numeric sha: %s", err.msg);
    CHECK(parse_str("push",
                    "{" PUSH_OK ",\"after\":\"" ZERO40 "\",\"deleted\":\"yes\"}",
                    &e, &err) == -1 &&
              strstr(err.msg, "boolean"),
          "deleted as string: %s", err.msg);
    CHECK(parse_str("push",
                    "{\"ref\":\"r\",\"before\":\"" ZERO40 "\",\"after\":\"" ZERO40
                    "\"}",
                    &e, &err) == -1 &&
              strstr(err.msg, "repository.full_name"),
          "push without repository: %s", err.msg);
    CHECK(parse_str("push",
                    "{" PUSH_OK ",\"after\":\"ABCDEF0123456789abcdef0123456789"
                    "ABCDEF01\"}",
                    &e, &err) == 0 &&
              !strcmp(e.after, "abcdef0123456789abcdef0123456789abcdef01"),
          "uppercase sha accepted and lowered: %s", err.msg);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    {
        char json[1024];

        snprintf(json, sizeof(json),
                 "{\"ref\":\"%s\",\"before\":\"" ZERO40 "\",\"after\":\"" ZERO40
                 "\",\"repository\":{\"full_name\":\"o/r\"}}",
                 big);
        CHECK(parse_str("push", json, &e, &err) == -1 &&
                  strstr(err.msg, "too long"),
              "over-long ref: %s", err.msg);
    }
    CHECK(parse_str("pull_request", "{\"action\":\"opened\"}", &e,
                    &err) == -1 &&
              strstr(err.msg, "number"),
          "PR without number: %s", err.msg);
    CHECK(parse_str("pull_request",
                    "{\"action\":\"opened\",\"number\":1,\"pull_request\":{}}",
                    &e, &err) == -1 &&
              strstr(err.msg, "pull_request.head.sha"),
          "PR without head: %s", err.msg);
    CHECK(parse_str("ping", "{\"zen\":\"z\"}", &e, &err) == 0 &&
              e.kind == HOST_EVENT_PING && !strcmp(e.zen, "z") && !e.repo[0],
          "org ping without repository: %s", err.msg);
    CHECK(parse_str("issues", "{\"repository\":7}", &e, &err) == 0 &&
              e.kind == HOST_EVENT_IGNORED,
          "ignored events need only an object: %s", err.msg);
}

/* The head repository against the base's (pull_request.base.repo, else
 * the delivery's repository): ids when both have one, else names; none (a
 * deleted fork) is a fork. */
static void test_pull_request_fork(void) {
    static const struct {
        const char *base, *head;
        int fork;
    } cases[] = {
        {"", ",\"repo\":null", 1},
        {"", "", 1},
        {"", ",\"repo\":{\"full_name\":\"o/r\",\"id\":5}", 0},
        {"", ",\"repo\":{\"full_name\":\"O/R\"}", 0},
        {"", ",\"repo\":{\"full_name\":\"o/r\",\"id\":6}", 1},
        {"", ",\"repo\":{\"full_name\":\"x/r\"}", 1},
        {",\"repo\":{\"full_name\":\"o/r\",\"id\":7}", ",\"repo\":{\"full_name\":\"x/r\",\"id\":7}", 0},
        {",\"repo\":{\"full_name\":\"o/r\"}", ",\"repo\":{\"id\":5}", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char json[1024];
        errinfo err = {0};
        host_event e;
        snprintf(json, sizeof(json),
                 "{\"action\":\"opened\",\"number\":1,\"repository\":{\"full_name\":\"o/r\",\"id\":5},"
                 "\"pull_request\":{\"base\":{\"sha\":\"" ZERO40
                 "\",\"ref\":\"main\"%s},"
                 "\"head\":{\"sha\":\"" ZERO40 "\"%s}}}",
                 cases[i].base, cases[i].head);
        CHECK(parse_str("pull_request", json, &e, &err) == 0 && e.pr_fork == cases[i].fork,
              "case %zu: fork=%d (%s)", i, e.pr_fork, err.msg);
    }
}

int main(void) {
    const char *env = getenv("DEPLOYBOT_FIXTURES");
    const char *src = getenv("DEPLOYBOT_SOURCE_DIR");

    if (env && *env)
        snprintf(fixtures, sizeof(fixtures), "%s", env);
    else if (src && *src)
        snprintf(fixtures, sizeof(fixtures), "%s/../shared/fixtures", src);
    else {
        fprintf(stderr, "set DEPLOYBOT_FIXTURES to the fixtures directory\n");
        return 2;
    }
    test_published_vector();
    test_incremental();
    test_fixture_signatures();
    parse_all_fixtures();
    test_push_fields();
    test_pull_request_fields();
    test_pull_request_fork();
    test_ping_and_ignored();
    test_form_encoded();
    test_malformed();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
