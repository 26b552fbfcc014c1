/* render: exact comment bodies, limits and cuts, the revert command, chat
 * bodies within Slack's and Discord's limits. */
#include "host/github_api.h"
#include "notify/render.h"
#include "tests/unit/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA "0123456789abcdef0123456789abcdef01234567"
#define PLAN "  + vpc.main will be created\n      cidr_block = \"10.10.0.0/16\"\n\nPlan: 2 to add, 1 to change, 0 to destroy.\n"

static notify_subject pr_subject(void) {
    return (notify_subject){"acme/infra", SHA, NULL, 7, "http://bot:8080/api/runs/12", 0};
}

static notify_subject push_subject(void) {
    return (notify_subject){"acme/infra", SHA, "refs/heads/main", 0, "http://bot:8080/api/runs/12", 0};
}

static void test_pr_comment_exact(void) {
    notify_subject s = pr_subject();
    notify_env_result r[] = {
        {"dev", 0, 0, 1, "Plan: 2 to add, 1 to change, 0 to destroy.", PLAN, NULL, 0, NULL},
        {"prd", 0, 0, 0, "No changes.", "No changes.\n", NULL, 0, NULL},
        {"stg", 0, 1, 0, "environments/stg/stack.json:vpc_cidr: bad", NULL,
         "environments/stg/stack.json:vpc_cidr: bad\nenvironments/stg/stack.json:x: worse", 0, NULL},
    };
    char *c = render_pr_comment(&s, r, 3, 0);
    CHECK_STR(c,
              "<!-- deploybot:plan -->\n"
              "### deploybot plan for `0123456`\n"
              "\n"
              "- dev: Plan: 2 to add, 1 to change, 0 to destroy.\n"
              "- prd: No changes.\n"
              "- stg: Plan failed (see below)\n"
              "\n"
              "<details><summary>dev: full plan</summary>\n"
              "\n"
              "```\n" PLAN
              "```\n"
              "\n"
              "</details>\n"
              "\n"
              "**stg**: plan failed:\n"
              "\n"
              "```\n"
              "environments/stg/stack.json:vpc_cidr: bad\n"
              "environments/stg/stack.json:x: worse\n"
              "```\n"
              "\n"
              "[Details of this run](http://bot:8080/api/runs/12)\n");
    free(c);
}

static void test_pr_comment_nothing_touched(void) {
    notify_subject s = pr_subject();
    s.run_url = NULL;
    char *c = render_pr_comment(&s, NULL, 0, 0);
    CHECK_STR(c,
              "<!-- deploybot:plan -->\n### deploybot plan for `0123456`\n\n"
              "No environment is touched by this change: there is nothing to plan.\n\n");
    free(c);
}

static void test_commit_comment_failed_apply(void) {
    notify_subject s = push_subject();
    notify_env_result r[] = {
        {"dev", 1, 0, 1, "Apply complete: 2 added, 1 changed, 0 destroyed.", PLAN, NULL, 0, NULL},
        {"stg", 0, 0, 1, "Plan: 1 to add, 0 to change, 0 to destroy.", NULL, NULL, 0, NULL},
        {"prd", 1, 1, 1, "Apply failed after 3 of 10 operations: subnet.a: create failed: X", NULL,
         "Apply failed after 3 of 10 operations: subnet.a: create failed: X", 0, NULL},
    };
    char *c = render_commit_comment(&s, r, 3, 0);
    CHECK_STR(c,
              "<!-- deploybot:apply -->\n"
              "### deploybot apply of `0123456` on `main`\n"
              "\n"
              "- dev: Apply complete: 2 added, 1 changed, 0 destroyed.\n"
              "- stg: Plan: 1 to add, 0 to change, 0 to destroy. (not applied)\n"
              "- prd: Apply failed (see below)\n"
              "\n"
              "<details><summary>dev: the plan applied</summary>\n"
              "\n"
              "```\n" PLAN
              "```\n"
              "\n"
              "</details>\n"
              "\n"
              "**prd**: apply failed:\n"
              "\n"
              "```\n"
              "Apply failed after 3 of 10 operations: subnet.a: create failed: X\n"
              "```\n"
              "\n"
              "To roll back, revert this commit on an up-to-date `main` and push:\n"
              "\n"
              "```sh\n"
              "git revert --no-edit " SHA
              "\n"
              "git push origin main\n"
              "```\n"
              "\n"
              "[Details of this run](http://bot:8080/api/runs/12)\n");
    free(c);

    /* Success: no revert command. */
    r[2].failed = 0;
    r[2].summary = "Apply complete: 1 added, 0 changed, 0 destroyed.";
    c = render_commit_comment(&s, r, 3, 0);
    CHECK(strstr(c, "git revert") == NULL);
    CHECK_CONTAINS(c, "- prd: Apply complete: 1 added, 0 changed, 0 destroyed.\n");
    free(c);
}

static void test_revert_command(void) {
    notify_subject s = push_subject();
    char *c = render_revert_command(&s);
    CHECK_STR(c, "git revert --no-edit " SHA);
    free(c);
    s.revert_mainline = 1;
    c = render_revert_command(&s);
    CHECK_STR(c, "git revert --no-edit -m 1 " SHA);
    free(c);
}

/* n lines of `width` bytes each ("line 000001 xxxx...\n"). */
static char *lines(size_t n, size_t width, char fill) {
    char *t = malloc(n * width + 1);
    for (size_t i = 0; i < n; i++) {
        char *l = t + i * width;
        memset(l, fill, width - 1);
        char num[16];
        int k = snprintf(num, sizeof(num), "line %06zu ", i + 1);
        memcpy(l, num, (size_t)k);
        l[width - 1] = '\n';
    }
    t[n * width] = '\0';
    return t;
}

static void test_long_plan_is_cut_to_github_limit(void) {
    notify_subject s = pr_subject();
    char *big = lines(5000, 80, '~'); /* 400 kB */
    char *err = lines(3000, 60, 'e'); /* 180 kB */
    notify_env_result r[] = {
        {"dev", 0, 0, 1, "Plan: 5000 to add, 0 to change, 0 to destroy.", big, NULL, 0, NULL},
        {"prd", 0, 0, 1, "Plan: 1 to add, 0 to change, 0 to destroy.", PLAN, NULL, 0, NULL},
        {"stg", 0, 1, 0, "bad", NULL, err, 0, NULL},
    };
    char *c = render_pr_comment(&s, r, 3, 0);
    CHECK(strlen(c) <= GITHUB_COMMENT_MAX);
    CHECK(strlen(c) > GITHUB_COMMENT_MAX - 2000); /* the room is used, not wasted */
    CHECK_CONTAINS(c, "```\n" PLAN "```\n");      /* the small plan is whole */
    CHECK_CONTAINS(c, "of 5000 lines to fit GitHub's 65536-character limit; the whole output is in the bot's log._\n");
    CHECK_CONTAINS(c, "of 3000 lines to fit GitHub's 65536-character limit");
    CHECK_CONTAINS(c, "line 000001 ~~~");
    CHECK(strstr(c, "line 005000") == NULL);
    CHECK_CONTAINS(c, "[Details of this run](http://bot:8080/api/runs/12)\n"); /* the end survives */
    /* Cuts fall on line ends: every shown plan line is whole. */
    const char *p = strstr(c, "line 000001 ~~~");
    const char *end = strstr(p, "\n```\n");
    for (const char *l = p; l && l < end; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, "line ", 5) == 0) CHECK(strchr(l, '\n') - l == 79);
    /* Both long texts get about the same room. */
    size_t dev_lines = 0, stg_lines = 0;
    sscanf(strstr(c, "_Output cut to ") + 15, "%zu", &dev_lines);
    sscanf(strstr(strstr(c, "_Output cut to ") + 1, "_Output cut to ") + 15, "%zu", &stg_lines);
    CHECK(dev_lines > 300 && stg_lines > 400);
    CHECK(dev_lines * 80 < 36000 && stg_lines * 60 < 36000);
    free(c);

    /* A smaller limit works the same way. */
    c = render_pr_comment(&s, r, 3, 4000);
    CHECK(strlen(c) <= 4000);
    CHECK_CONTAINS(c, "- dev: Plan: 5000 to add, 0 to change, 0 to destroy.\n");
    free(c);
    free(big);
    free(err);
}

static void test_fence_outlasts_backticks(void) {
    notify_subject s = pr_subject();
    notify_env_result r = {"dev", 0, 1, 0, "bad", NULL, "value ```` breaks out?\n", 0, NULL};
    char *c = render_pr_comment(&s, &r, 1, 0);
    CHECK_CONTAINS(c, "\n`````\nvalue ```` breaks out?\n`````\n");
    free(c);
}

static void test_names_cannot_inject_markup(void) {
    notify_subject s = push_subject();
    s.ref = "refs/heads/x`<b>";
    notify_env_result r = {"d<e>v", 1, 0, 1, "Apply complete: 1 added, 0 changed, 0 destroyed.", PLAN, NULL, 0, NULL};
    char *c = render_commit_comment(&s, &r, 1, 0);
    CHECK_CONTAINS(c, "on `x__b_`");
    CHECK_CONTAINS(c, "<summary>d_e_v: the plan applied</summary>");
    free(c);
}

static void test_clip(void) {
    size_t n;
    CHECK(render_clip("ab\ncd\nef\n", 100, &n) == 9 && n == 3);
    CHECK(render_clip("ab\ncd\nef\n", 7, &n) == 6 && n == 2);
    CHECK(render_clip("abcdef", 3, &n) == 3 && n == 1);
    /* "é" is two bytes: never cut between them. */
    CHECK(render_clip("\xC3\xA9\xC3\xA9", 3, &n) == 2);
    CHECK(render_count_lines("a\nb") == 2 && render_count_lines("a\nb\n") == 2 && render_count_lines("") == 0);
    char bad[] = "ok \xFF\xC3 \xE2\x82\xAC \xC0\xAF end";
    render_valid_utf8(bad);
    CHECK_STR(bad, "ok ?? \xE2\x82\xAC ?? end");
}

static const char *section_text(json_t *msg, size_t i) {
    return json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(msg, "blocks"), i), "text"), "text"));
}

static void test_slack(void) {
    notify_subject s = push_subject();
    notify_env_result r = {"prd", 1, 0, 1, "Apply complete: 2 added, 0 changed, 0 destroyed.", PLAN, NULL, 0, NULL};
    json_t *m = render_slack(&s, NOTIFY_APPLY_SUCCEEDED, &r);
    CHECK_STR(json_string_value(json_object_get(m, "text")),
              "deploybot: prd apply succeeded: Apply complete: 2 added, 0 changed, 0 destroyed.");
    CHECK_STR(section_text(m, 0),
              "*prd* · apply succeeded · `0123456` on `main`\n"
              "Apply complete: 2 added, 0 changed, 0 destroyed.");
    json_t *ctx = json_array_get(json_object_get(m, "blocks"), 1);
    CHECK_STR(json_string_value(json_object_get(ctx, "type")), "context");
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(ctx, "elements"), 0), "text")),
              "<http://bot:8080/api/runs/12|Details of this run> · acme/infra");
    json_decref(m);

    /* A long failure with markup: escaped, cut to the section limit, fenced. */
    char *err = lines(400, 50, '<');
    notify_env_result f = {"prd", 1, 1, 1, "Apply failed after 1 of 2 operations: <!channel> & co", NULL, err, 0, NULL};
    m = render_slack(&s, NOTIFY_APPLY_FAILED, &f);
    CHECK_CONTAINS(section_text(m, 0), "&lt;!channel&gt; &amp; co");
    const char *blk = section_text(m, 1);
    CHECK(strlen(blk) <= RENDER_SLACK_SECTION_MAX);
    CHECK(strncmp(blk, "```\nline 000001 &lt;&lt;", 24) == 0);
    CHECK_CONTAINS(blk, "\n```\n_Cut to ");
    CHECK_CONTAINS(blk, " of 400 lines; the whole output is in the bot's log._");
    CHECK_CONTAINS(section_text(m, 2), "git revert --no-edit " SHA "\ngit push origin main\n```");
    for (size_t i = 0; i < json_array_size(json_object_get(m, "blocks")); i++)
        if (section_text(m, i)) CHECK(strlen(section_text(m, i)) <= RENDER_SLACK_SECTION_MAX);
    json_decref(m);
    free(err);

    /* Backticks in the text cannot close the block. */
    notify_env_result b = {"dev", 0, 1, 0, "bad", NULL, "a ``` b", 0, NULL};
    m = render_slack(&s, NOTIFY_PLAN, &b);
    CHECK_STR(section_text(m, 1), "```\na `\xE2\x80\x8B`\xE2\x80\x8B` b\n```");
    json_decref(m);
}

static void test_discord(void) {
    notify_subject s = pr_subject();
    char *big = lines(2000, 40, 'x');
    notify_env_result r = {"dev", 0, 0, 1, "Plan: 2000 to add, 0 to change, 0 to destroy.", big, NULL, 0, NULL};
    json_t *m = render_discord(&s, NOTIFY_PLAN, &r);
    json_t *e = json_array_get(json_object_get(m, "embeds"), 0);
    const char *d = json_string_value(json_object_get(e, "description"));
    CHECK_STR(json_string_value(json_object_get(e, "title")), "dev · plan");
    CHECK(strlen(d) <= RENDER_DISCORD_DESCRIPTION_MAX);
    CHECK(strncmp(d, "Plan: 2000 to add, 0 to change, 0 to destroy.\n```\nline 000001 xx", 64) == 0);
    CHECK_CONTAINS(d, " of 2000 lines; the whole output is in the bot's log._");
    CHECK(json_integer_value(json_object_get(e, "color")) == 0x36C5F0);
    CHECK_STR(json_string_value(json_object_get(e, "url")), "http://bot:8080/api/runs/12");
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(e, "fields"), 0), "value")),
              "`0123456` in PR #7");
    CHECK(json_array_size(json_object_get(json_object_get(m, "allowed_mentions"), "parse")) == 0);
    size_t total = strlen(json_string_value(json_object_get(e, "title"))) + strlen(d) +
                   strlen(json_string_value(json_object_get(json_object_get(e, "footer"), "text")));
    json_t *fl;
    size_t i;
    json_array_foreach(json_object_get(e, "fields"), i, fl)
        total += strlen(json_string_value(json_object_get(fl, "name"))) + strlen(json_string_value(json_object_get(fl, "value")));
    CHECK(total <= RENDER_DISCORD_TOTAL_MAX);
    json_decref(m);
    free(big);

    notify_env_result st = {"dev", 1, 0, 0, NULL, NULL, NULL, 0, NULL};
    notify_subject p = push_subject();
    m = render_discord(&p, NOTIFY_APPLY_STARTED, &st);
    e = json_array_get(json_object_get(m, "embeds"), 0);
    CHECK_STR(json_string_value(json_object_get(e, "title")), "dev · apply started");
    CHECK_STR(json_string_value(json_object_get(e, "description")), "Planning, then applying.");
    CHECK(json_integer_value(json_object_get(e, "color")) == 0xECB22E);
    json_decref(m);
}

static void test_webhook_body(void) {
    notify_subject s = push_subject();
    s.revert_mainline = 1;
    notify_env_result r = {"prd", 1, 1, 1, "Apply failed after 1 of 2 operations: boom", PLAN, "boom", 0, NULL};
    json_t *m = render_webhook(&s, NOTIFY_APPLY_FAILED, &r, 1700000000);
    char *t = json_dumps(m, JSON_COMPACT);
    CHECK_STR(t,
              "{\"version\":1,\"event\":\"apply_failed\",\"environment\":\"prd\",\"repository\":\"acme/infra\","
              "\"sha\":\"" SHA
              "\",\"ref\":\"refs/heads/main\",\"pull_request\":null,\"failed\":true,"
              "\"changes\":true,\"summary\":\"Apply failed after 1 of 2 operations: boom\",\"plan\":"
              "\"  + vpc.main will be created\\n      cidr_block = \\\"10.10.0.0/16\\\"\\n\\nPlan: 2 to add, 1 to "
              "change, 0 to destroy.\\n\",\"error\":\"boom\",\"revert_command\":\"git revert --no-edit -m 1 " SHA
              "\",\"run_url\":\"http://bot:8080/api/runs/12\",\"created_at\":1700000000}");
    free(t);
    json_decref(m);
}

/* A drift check's news: found (with its plan) and resolved, on the
 * deployed commit (no branch: the bot ran it itself). */
static void test_drift(void) {
    notify_subject s = {"acme/infra", SHA, NULL, 0, "http://bot:8080/runs/9", 0};
    notify_env_result found = {"prd", 0, 0, 1, "Plan: 2 to add, 1 to change, 0 to destroy.", PLAN, NULL, 0, NULL};
    notify_env_result resolved = {"prd", 0, 0, 0, "drift resolved", NULL, NULL, 0, NULL};
    json_t *m = render_slack(&s, NOTIFY_DRIFT, &found);
    CHECK_STR(section_text(m, 0),
              "*prd* · drift detected · `0123456` (deployed)\n"
              "Plan: 2 to add, 1 to change, 0 to destroy.");
    CHECK_STR(section_text(m, 1), "```\n" PLAN "```");
    json_decref(m);
    m = render_discord(&s, NOTIFY_DRIFT, &resolved);
    json_t *e = json_array_get(json_object_get(m, "embeds"), 0);
    CHECK_STR(json_string_value(json_object_get(e, "title")), "prd · drift resolved");
    CHECK_STR(json_string_value(json_object_get(e, "description")), "drift resolved");
    CHECK(json_integer_value(json_object_get(e, "color")) == 0x2EB67D);
    json_decref(m);
    m = render_discord(&s, NOTIFY_DRIFT, &found);
    e = json_array_get(json_object_get(m, "embeds"), 0);
    CHECK(json_integer_value(json_object_get(e, "color")) == 0xE8912D);
    json_decref(m);
    m = render_webhook(&s, NOTIFY_DRIFT, &found, 1700000000);
    CHECK_STR(json_string_value(json_object_get(m, "event")), "drift");
    CHECK(json_is_true(json_object_get(m, "changes")) && json_is_false(json_object_get(m, "failed")));
    CHECK_STR(json_string_value(json_object_get(m, "plan")), PLAN);
    CHECK(json_is_null(json_object_get(m, "ref")) && json_is_null(json_object_get(m, "revert_command")));
    json_decref(m);
    CHECK(notify_event_parse("drift") == NOTIFY_DRIFT);
}

int main(void) {
    test_pr_comment_exact();
    test_pr_comment_nothing_touched();
    test_commit_comment_failed_apply();
    test_revert_command();
    test_long_plan_is_cut_to_github_limit();
    test_fence_outlasts_backticks();
    test_names_cannot_inject_markup();
    test_clip();
    test_slack();
    test_discord();
    test_webhook_body();
    test_drift();
    return CHECK_DONE();
}
