/* notify: redaction, the "notify" config object and chat routing, the
 * generic webhook's signature, and what the notifier puts in the outbox. */
#include "bot/config.h"
#include "notify/chat.h"
#include "notify/notifier.h"
#include "notify/outbox.h"
#include "notify/prstate.h"
#include "notify/render.h"
#include "notify/redact.h"
#include "notify/settings.h"
#include "tests/unit/check.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHA "0123456789abcdef0123456789abcdef01234567"
#define TOKEN "ghp_plantedtoken1234567890"

static void test_redact(void) {
    redactor *r = redactor_new();
    redactor_add(r, "s3cr3t-value");
    redactor_add(r, "s3cr3t-value-longer"); /* contains the first: masked whole */
    redactor_add(r, "short");               /* < REDACT_MIN_LEN: ignored */
    redactor_add(r, NULL);
    redactor_add(r, "s3cr3t-value"); /* twice: once */
    char *t = redact(r, "a s3cr3t-value-longer b s3cr3t-value c short s3cr3t-valu");
    CHECK_STR(t, "a *** b *** c short s3cr3t-valu");
    free(t);
    CHECK(redact(r, NULL) == NULL);
    CHECK(redact_found(r, "xx s3cr3t-value") == 1 && redact_found(r, "nothing") == 0);
    char buf[16] = "s3cr3t-value!";
    redact_buf(r, buf, sizeof(buf));
    CHECK_STR(buf, "***!");
    setenv("TEST_NOTIFY_SECRET", "from-the-environment", 1);
    redactor_add_env(r, "TEST_NOTIFY_SECRET");
    redactor_add_env(r, "TEST_NOTIFY_UNSET_VARIABLE");
    t = redact(r, "x from-the-environment y");
    CHECK_STR(t, "x *** y");
    free(t);
    redactor_free(r);
    t = redact(NULL, "plain");
    CHECK_STR(t, "plain");
    free(t);
}

static int parse(const char *text, notify_settings *s, errinfo *err) {
    json_t *j = json_loads(text, 0, NULL);
    int rc = notify_settings_parse(j, s, err);
    json_decref(j);
    return rc;
}

static void test_settings(void) {
    notify_settings s;
    errinfo err;
    setenv("T_SLACK_URL", "http://127.0.0.1:1/slack/prd", 1);
    setenv("T_HOOK_URL", "http://127.0.0.1:1/hook", 1);
    setenv("T_HOOK_SECRET", "hook-secret-value", 1);
    setenv("T_EXTRA", "extra-secret-value", 1);
    CHECK(notify_settings_parse(NULL, &s, &err) == 0 && s.n_routes == 0);
    /* Variables are read when sending: an unset one is only reported. */
    CHECK(parse("{\"chat\":[{\"type\":\"webhook\",\"url_env\":\"T_UNSET_URL\",\"secret_env\":\"T_UNSET_KEY\"},"
                "{\"type\":\"slack\",\"url_env\":\"T_SLACK_URL\"}]}",
                &s, &err) == 0);
    char unset[64];
    CHECK(notify_settings_unset(&s, unset, sizeof(unset)) == 2);
    CHECK_STR(unset, "T_UNSET_URL, T_UNSET_KEY");
    notify_settings_free(&s);
    CHECK(parse("{\"chat\":[{\"type\":\"slack\",\"url_env\":\"T_SLACK_URL\",\"environments\":[\"prd\"],"
                "\"events\":[\"apply_succeeded\",\"apply_failed\"]},"
                "{\"type\":\"webhook\",\"url_env\":\"T_HOOK_URL\",\"secret_env\":\"T_HOOK_SECRET\"}],"
                "\"secrets_env\":[\"T_EXTRA\"]}",
                &s, &err) == 0);
    CHECK(s.n_routes == 2 && s.n_secrets_env == 1);
    CHECK(s.routes[0].kind == CHAT_SLACK && s.routes[1].kind == CHAT_WEBHOOK);
    CHECK(chat_route_wants(&s.routes[0], "prd", NOTIFY_APPLY_FAILED));
    CHECK(!chat_route_wants(&s.routes[0], "prd", NOTIFY_PLAN));
    CHECK(!chat_route_wants(&s.routes[0], "dev", NOTIFY_APPLY_FAILED));
    for (int e = 0; e < NOTIFY_EVENT_COUNT; e++) CHECK(chat_route_wants(&s.routes[1], "any", (notify_event)e));
    redactor *r = redactor_new();
    notify_settings_secrets(&s, r);
    char *t = redact(r, "http://127.0.0.1:1/slack/prd hook-secret-value extra-secret-value");
    CHECK_STR(t, "*** *** ***");
    free(t);
    redactor_free(r);
    notify_settings_free(&s);

    static const struct { const char *json, *err; } bad[] = {
        {"[]", "\"notify\" must be an object"},
        {"{\"chats\":[]}", "unknown key \"notify.chats\""},
        {"{\"chat\":{}}", "\"notify.chat\" must be a list"},
        {"{\"chat\":[{\"type\":\"irc\",\"url_env\":\"T_SLACK_URL\"}]}", "\"notify.chat[0].type\" must be"},
        {"{\"chat\":[{\"type\":\"slack\"}]}", "\"notify.chat[0].url_env\" is required"},
        {"{\"chat\":[{\"type\":\"webhook\",\"url_env\":\"T_HOOK_URL\"}]}", "\"notify.chat[0].secret_env\" is required"},
        {"{\"chat\":[{\"type\":\"slack\",\"url_env\":\"T_SLACK_URL\",\"events\":[\"deploy\"]}]}",
         "unknown event \"deploy\""},
        {"{\"chat\":[{\"type\":\"slack\",\"url_env\":\"T_SLACK_URL\",\"environments\":\"prd\"}]}",
         "\"notify.chat[0].environments\" must be a list of non-empty strings"},
        {"{\"chat\":[{\"type\":\"slack\",\"url_env\":\"T_SLACK_URL\",\"colour\":1}]}",
         "unknown key \"notify.chat[0].colour\""},
        {"{\"secrets_env\":[1]}", "\"notify.secrets_env\" must be a list"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errinfo_clear(&err);
        CHECK(parse(bad[i].json, &s, &err) == -1);
        CHECK_CONTAINS(err.msg, bad[i].err);
        CHECK(s.n_routes == 0 && s.routes == NULL);
    }
}

static void test_sign(void) {
    char sig[72];
    /* GitHub's published vector (NOTES.md §2): the same construction. */
    chat_sign("It's a Secret to Everybody", "Hello, World!", 13, sig);
    CHECK_STR(sig, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

/* Claims every message, oldest first, as [{kind, target, order, payload}]. */
static json_t *drain(const char *db) {
    store *o = outbox_open(db, NULL);
    json_t *all = json_array();
    outbox_msg m;
    while (o && store_outbox_claim(o, 1LL << 60, NULL, &m, NULL) == 1) {
        json_array_append_new(all, json_pack("{s:s,s:s,s:s?,s:o}", "kind", m.kind, "target", m.target, "order",
                                             m.ordering_key, "payload", json_loads(m.payload, 0, NULL)));
        outbox_outcome oc = {OUTBOX_SENT, 0, 0, ""};
        outbox_finish(o, &m, &oc, 0, NULL, NULL);
        outbox_msg_free(&m);
    }
    store_close(o);
    return all;
}

static const char *path_str(json_t *msgs, size_t i, const char *a, const char *b) {
    json_t *v = json_object_get(json_array_get(msgs, i), a);
    if (b) v = json_object_get(v, b);
    return json_string_value(v);
}

static void test_notifier(const char *dir) {
    char db[128];
    errinfo e;
    snprintf(db, sizeof(db), "%s/n.db", dir);
    notify_settings s;
    CHECK(parse("{\"chat\":[{\"type\":\"slack\",\"url_env\":\"T_SLACK_URL\",\"environments\":[\"prd\"]},"
                "{\"type\":\"webhook\",\"url_env\":\"T_HOOK_URL\",\"secret_env\":\"T_HOOK_SECRET\","
                "\"events\":[\"apply_failed\"]}]}",
                &s, &e) == 0);
    redactor *rd = redactor_new();
    redactor_add(rd, TOKEN);
    notifier *n = notifier_open(db, NULL, &s, rd, &e);
    CHECK(n != NULL);

    CHECK(notifier_status(n, "acme/infra", SHA, "deploybot/prd", "pending", "Planning", "http://bot/api/runs/3") == 0);
    notify_subject push = {"acme/infra", SHA, "refs/heads/main", 0, "http://bot/api/runs/3", 0};
    notifier_started(n, &push, "prd");
    notify_env_result ok = {"dev", 1, 0, 1, "Apply complete: 1 added, 0 changed, 0 destroyed.", "+ x\n", NULL, 0, NULL};
    notify_env_result bad = {"prd", 1, 1, 1, "stack.json:key: " TOKEN " is not valid", NULL,
                             "stack.json:key: " TOKEN " is not valid\n\xFF", 0, NULL};
    notifier_result(n, &push, &ok);  /* dev: a commit comment, no chat route */
    notifier_result(n, &push, &bad); /* prd: Slack, webhook, commit comment */
    CHECK(notifier_status(n, "Acme/Infra", SHA, "deploybot/PRD", "failure", "stack.json:key: " TOKEN, NULL) == 0);
    const char *envs[] = {"prd", "dev"};
    CHECK(notifier_pr_head(n, "Acme/Infra", 7, SHA, envs, 2) == 0);
    notify_subject pr = {"acme/infra", SHA, NULL, 7, "http://bot/api/runs/4", 0};
    notifier_result(n, &pr, &(notify_env_result){"prd", 0, 0, 1, "Plan: 1 to add, 0 to change, 0 to destroy.", "+ y " TOKEN "\n", NULL, 0, NULL});
    notify_subject old = {"acme/infra", "1111111111111111111111111111111111111111", NULL, 7, NULL, 0};
    notifier_result(n, &old, &ok); /* an older head: chat only, the comment ignores it */
    notifier_close(n);

    json_t *m = drain(db);
    char *text = json_dumps(m, 0);
    CHECK(strstr(text, TOKEN) == NULL); /* never stored */
    CHECK(json_array_size(m) == 10);
    CHECK_STR(path_str(m, 0, "kind", NULL), "github_status");
    CHECK_STR(path_str(m, 0, "order", NULL), "status:acme/infra@" SHA "/deploybot/prd");
    CHECK_STR(path_str(m, 0, "payload", "target_url"), "http://bot/api/runs/3");
    CHECK_STR(path_str(m, 1, "kind", NULL), "slack"); /* prd apply_started to the prd Slack */
    CHECK_STR(path_str(m, 1, "target", NULL), "T_SLACK_URL");
    CHECK_CONTAINS(text, "apply started");
    CHECK_STR(path_str(m, 2, "kind", NULL), "github_commit_comment");
    CHECK_CONTAINS(path_str(m, 2, "payload", "body"), "- dev: Apply complete: 1 added, 0 changed, 0 destroyed.\n");
    CHECK_STR(path_str(m, 3, "kind", NULL), "slack"); /* prd apply_failed */
    CHECK_STR(path_str(m, 4, "kind", NULL), "webhook");
    CHECK_STR(path_str(m, 4, "payload", "secret_env"), "T_HOOK_SECRET");
    json_t *ev = json_object_get(json_object_get(json_array_get(m, 4), "payload"), "body");
    CHECK_STR(json_string_value(json_object_get(ev, "event")), "apply_failed");
    CHECK_STR(json_string_value(json_object_get(ev, "error")), "stack.json:key: *** is not valid\n?");
    CHECK_STR(path_str(m, 5, "kind", NULL), "github_commit_comment");
    CHECK_CONTAINS(path_str(m, 5, "payload", "body"), "- prd: Apply failed (see below)\n");
    CHECK_CONTAINS(path_str(m, 5, "payload", "body"), "git revert --no-edit " SHA "\n");
    CHECK_STR(path_str(m, 6, "order", NULL), "status:acme/infra@" SHA "/deploybot/prd");
    CHECK_STR(path_str(m, 6, "payload", "description"), "stack.json:key: ***");
    CHECK_STR(path_str(m, 7, "kind", NULL), "github_pr_comment"); /* the head: being planned */
    CHECK_STR(path_str(m, 7, "order", NULL), "pr-comment:acme/infra#7");
    CHECK(json_integer_value(json_object_get(json_object_get(json_array_get(m, 7), "payload"), "number")) == 7);
    CHECK_STR(path_str(m, 8, "kind", NULL), "slack"); /* the PR's prd plan; then its comment edit */
    CHECK_STR(path_str(m, 9, "kind", NULL), "github_pr_comment");
    free(text);
    json_decref(m);

    /* What the comment will show when it is sent. */
    store *p = store_open(db, 0, NULL);
    prstate_view v;
    CHECK(prstate_load(p, "acme/INFRA", 7, &v, NULL) == 1);
    CHECK_STR(v.sha, SHA);
    CHECK(v.n == 2);
    if (v.n == 2) {
        CHECK_STR(v.envs[0].env, "prd");
        CHECK(!v.envs[0].pending && v.envs[0].changes && !v.envs[0].applied);
        CHECK_STR(v.envs[0].plan_text, "+ y ***\n");
        CHECK_STR(v.envs[0].url, "http://bot/api/runs/4");
        CHECK_STR(v.envs[1].env, "dev");
        CHECK(v.envs[1].pending && v.envs[1].summary == NULL);
        notify_subject subj = {"acme/infra", v.sha, NULL, 7, NULL, 0};
        char *body = render_pr_comment(&subj, v.envs, v.n, 0);
        CHECK_STR(body,
                  "<!-- deploybot:plan -->\n### deploybot plan for `0123456`\n\n"
                  "- prd: Plan: 1 to add, 0 to change, 0 to destroy. ([details](http://bot/api/runs/4))\n"
                  "- dev: being planned\xE2\x80\xA6\n\n"
                  "<details><summary>prd: full plan</summary>\n\n```\n+ y ***\n```\n\n</details>\n\n");
        free(body);
    }
    prstate_view_free(&v);
    store_close(p);
    redactor_free(rd);
    notify_settings_free(&s);
}

/* Heads replace each other; results for another head are dropped; a
 * replayed head keeps what was planned. */
static void test_prstate(const char *dir) {
    char db[128];
    snprintf(db, sizeof(db), "%s/p.db", dir);
    store *p = store_open(db, 0, NULL);
    prstate_view v;
    CHECK(prstate_load(p, "a/b", 1, &v, NULL) == 0);
    notify_env_result r = {"dev", 0, 0, 1, "Plan: 1 to add, 0 to change, 0 to destroy.", "+ x\n", NULL, 0, NULL};
    CHECK(prstate_result(p, "a/b", 1, "head1", &r, NULL) == 1); /* no head yet: this one is */
    CHECK(prstate_load(p, "a/b", 1, &v, NULL) == 1 && v.n == 1 && !strcmp(v.sha, "head1"));
    prstate_view_free(&v);
    const char *envs[] = {"dev", "prd"};
    CHECK(store_pr_head(p, "a/b", 1, "head1", envs, 2, NULL) == 0); /* same head again: dev keeps its plan */
    CHECK(prstate_load(p, "a/b", 1, &v, NULL) == 1 && v.n == 2);
    CHECK(v.n == 2 && !v.envs[0].pending && v.envs[1].pending);
    prstate_view_free(&v);
    CHECK(store_pr_head(p, "a/b", 1, "head2", envs + 1, 1, NULL) == 0);
    CHECK(prstate_result(p, "a/b", 1, "head1", &r, NULL) == 0); /* late result of the old head */
    CHECK(prstate_load(p, "a/b", 1, &v, NULL) == 1 && v.n == 1);
    CHECK(v.n == 1 && !strcmp(v.envs[0].env, "prd") && v.envs[0].pending && !strcmp(v.sha, "head2"));
    prstate_view_free(&v);
    CHECK(store_pr_head(p, "a/b", 1, "head3", NULL, 0, NULL) == 0); /* touches nothing now */
    CHECK(prstate_load(p, "a/b", 1, &v, NULL) == 1 && v.n == 0);
    prstate_view_free(&v);
    CHECK(prstate_load(p, "a/b", 2, &v, NULL) == 0); /* another PR */
    store_close(p);
}

/* The daemon config takes "notify", and knows every secret to mask. */
static void test_bot_config(const char *dir) {
    char path[128];
    errinfo err;
    snprintf(path, sizeof(path), "%s/conf.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "{\"github\": {\"token_env\": \"T_GH\"}, \"notify\": {\"chat\": [{\"type\": \"discord\", "
            "\"url_env\": \"T_SLACK_URL\", \"events\": [\"plan\"]}], \"secrets_env\": [\"T_EXTRA\"]}}");
    fclose(f);
    setenv("T_GH", TOKEN, 1);
    bot_config c;
    CHECK(bot_config_load(path, &c, &err) == 0);
    CHECK(c.notify.n_routes == 1 && c.notify.routes[0].kind == CHAT_DISCORD);
    redactor *r = redactor_new();
    bot_config_secrets(&c, r);
    char *t = redact(r, TOKEN " http://127.0.0.1:1/slack/prd extra-secret-value");
    CHECK_STR(t, "*** *** ***");
    free(t);
    redactor_free(r);
    bot_config_free(&c);
    f = fopen(path, "w");
    fprintf(f, "{\"notify\": {\"chat\": [{\"type\": \"email\"}]}}");
    fclose(f);
    CHECK(bot_config_load(path, &c, &err) == -1);
    CHECK_CONTAINS(err.msg, "conf.json: \"notify.chat[0].type\" must be \"slack\", \"discord\" or \"webhook\"");
}

int main(void) {
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/test_notifier.XXXXXX");
    if (!mkdtemp(dir)) return 2;
    test_redact();
    test_settings();
    test_sign();
    test_notifier(dir);
    test_prstate(dir);
    test_bot_config(dir);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}
