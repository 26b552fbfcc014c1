/* Unit tests for bot/config: defaults, overrides, secrets from the
 * environment, unknown keys and type errors named precisely. */
#include "bot/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond, ...)                                                 \
    do {                                                                 \
        if (cond) {                                                      \
            passed++;                                                    \
        } else {                                                         \
            failed++;                                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);         \
            fprintf(stderr, __VA_ARGS__);                                \
            fputc('\n', stderr);                                         \
        }                                                                \
    } while (0)

static char tmpdir[] = "/tmp/deploybot-test-config-XXXXXX";
static char path[300];

static void write_config(const char *text) {
    FILE *f = fopen(path, "w");

    if (!f || fputs(text, f) < 0) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

/* Loads `text`; returns the rc, leaves the message in err. */
static int load(const char *text, bot_config *c, char *err, size_t errlen) {
    write_config(text);
    err[0] = '\0';
    return bot_config_load(path, c, err, errlen);
}

static void test_defaults(void) {
    char err[512], cwd[4096], want[4200];
    bot_config c;

    unsetenv("DEPLOYBOT_WEBHOOK_SECRET");
    unsetenv("GITHUB_TOKEN");
    CHECK(bot_config_load(NULL, &c, err, sizeof(err)) == 0, "defaults: %s", err);
    CHECK(!strcmp(c.listen, "127.0.0.1") && c.port == 8080, "listen/port");
    CHECK(c.max_body == 26214400, "max_body %zu", c.max_body);
    CHECK(!strcmp(c.public_url, "http://127.0.0.1:8080"), "public_url %s",
          c.public_url);
    CHECK(!strcmp(c.github_api_url, "https://api.github.com"), "github api");
    CHECK(!strcmp(c.repo_token_env, "DEPLOYBOT_REPO_TOKEN") && !c.repo_url,
          "repo defaults");
    CHECK(!strcmp(c.aws_region, "eu-west-1"), "region");
    CHECK(!c.webhook_secret && !c.github_token, "no secrets without env");
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd");
    snprintf(want, sizeof(want), "%s/deploybot-data", cwd);
    CHECK(!strcmp(c.data_dir, want), "relative data_dir resolved: %s",
          c.data_dir);
    bot_config_free(&c);
    bot_config_free(&c);  /* idempotent */
}

static void test_overrides_and_secrets(void) {
    char err[512];
    bot_config c;

    setenv("MY_HOOK_SECRET", "s3cret", 1);
    setenv("MY_GH_TOKEN", "ghp_x", 1);
    setenv("DEPLOYBOT_WEBHOOK_SECRET", "not-this-one", 1);
    CHECK(load("{\"listen\":\"0.0.0.0\",\"port\":9000,\"data_dir\":\"/var/x\","
               "\"max_body_bytes\":1024,\"repo\":{\"url\":\"/srv/cfg.git\","
               "\"token_env\":\"T\"},\"webhook_secret_env\":\"MY_HOOK_SECRET\","
               "\"github\":{\"api_url\":\"http://127.0.0.1:1\",\"token_env\":"
               "\"MY_GH_TOKEN\"},\"aws\":{\"region\":\"us-east-1\"},"
               "\"public_url\":\"https://bot.example\"}",
               &c, err, sizeof(err)) == 0,
          "full config: %s", err);
    CHECK(!strcmp(c.listen, "0.0.0.0") && c.port == 9000 &&
              c.max_body == 1024 && !strcmp(c.data_dir, "/var/x"),
          "scalars");
    CHECK(!strcmp(c.repo_url, "/srv/cfg.git") && !strcmp(c.repo_token_env, "T"),
          "repo");
    CHECK(c.webhook_secret && !strcmp(c.webhook_secret, "s3cret"),
          "secret read from the named variable");
    CHECK(c.github_token && !strcmp(c.github_token, "ghp_x"), "token");
    CHECK(!strcmp(c.public_url, "https://bot.example"), "public_url");
    CHECK(!strcmp(c.aws_region, "us-east-1"), "region");
    bot_config_free(&c);

    setenv("DEPLOYBOT_WEBHOOK_SECRET", "", 1);
    CHECK(load("{\"port\":0}", &c, err, sizeof(err)) == 0 &&
              !c.webhook_secret && c.port == 0 &&
              !strcmp(c.public_url, "http://127.0.0.1:0"),
          "empty secret variable is no secret; port 0 allowed: %s", err);
    bot_config_free(&c);
    unsetenv("DEPLOYBOT_WEBHOOK_SECRET");
}

static void test_errors(void) {
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"prot\":1}", "unknown key \"prot\""},
        {"{\"repo\":{\"urll\":\"x\"}}", "unknown key \"repo.urll\""},
        {"{\"github\":{\"token\":\"x\"}}", "unknown key \"github.token\""},
        {"{\"aws\":{\"regoin\":\"x\"}}", "unknown key \"aws.regoin\""},
        {"{\"port\":\"8080\"}", "\"port\" must be an integer"},
        {"{\"port\":70000}", "\"port\" must be an integer"},
        {"{\"max_body_bytes\":0}", "\"max_body_bytes\""},
        {"{\"listen\":\"\"}", "\"listen\" must be a non-empty string"},
        {"{\"repo\":\"x\"}", "\"repo\" must be an object"},
        {"{\"repo\":{\"url\":5}}", "\"repo.url\" must be a non-empty string"},
        {"[1]", "top level must be a JSON object"},
        {"{\"port\":", "line 1"},
        {"{\"port\":1,\"port\":2}", "duplicate"},
    };
    char err[512];
    bot_config c;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = load(cases[i].text, &c, err, sizeof(err));

        CHECK(rc == -1 && strstr(err, cases[i].want) && strstr(err, path),
              "%s -> \"%s\" (got rc=%d \"%s\")", cases[i].text, cases[i].want,
              rc, err);
        CHECK(c.listen == NULL && c.data_dir == NULL, "failed load is empty");
    }
    CHECK(bot_config_load("/nonexistent/deploybot.json", &c, err,
                          sizeof(err)) == -1 &&
              strstr(err, "/nonexistent/deploybot.json"),
          "missing file: %s", err);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/deploybot.json", tmpdir);
    test_defaults();
    test_overrides_and_secrets();
    test_errors();
    unlink(path);
    rmdir(tmpdir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
