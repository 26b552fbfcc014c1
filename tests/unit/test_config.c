/* Unit tests for bot/config: defaults, overrides, secrets from the
 * environment, unknown keys and type errors named precisely. */
#include "bot/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
static int load(const char *text, bot_config *c, errinfo *err) {
    write_config(text);
    errinfo_clear(err);
    return bot_config_load(path, c, err);
}

static void test_defaults(void) {
    errinfo err;
    char cwd[4096], want[4200];
    bot_config c;

    unsetenv("DEPLOYBOT_WEBHOOK_SECRET");
    unsetenv("GITHUB_TOKEN");
    CHECK(bot_config_load(NULL, &c, &err) == 0, "defaults: %s", err.msg);
    CHECK(!strcmp(c.listen, "127.0.0.1") && c.port == 8080, "listen/port");
    CHECK(c.max_body == 26214400, "max_body %zu", c.max_body);
    CHECK(!strcmp(c.public_url, "http://127.0.0.1:8080"), "public_url %s",
          c.public_url);
    CHECK(!strcmp(c.host_api_url, "https://api.github.com"), "github api");
    CHECK(!strcmp(c.repo_token_env, "DEPLOYBOT_REPO_TOKEN") && !c.repo_url,
          "repo defaults");
    CHECK(!strcmp(c.default_branch, "main"), "default branch %s", c.default_branch);
    CHECK(!c.aws_region, "no built-in region");
    CHECK(!c.webhook_secret && !c.host_token, "no secrets without env");
    CHECK(!c.allow_fork_prs, "pull requests from forks are not planned by default");
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd");
    snprintf(want, sizeof(want), "%s/deploybot-data", cwd);
    CHECK(!strcmp(c.data_dir, want), "relative data_dir resolved: %s",
          c.data_dir);
    bot_config_free(&c);
    bot_config_free(&c); /* idempotent */
}

static void test_overrides_and_secrets(void) {
    errinfo err;
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
               &c, &err) == 0,
          "full config: %s", err.msg);
    CHECK(!strcmp(c.listen, "0.0.0.0") && c.port == 9000 &&
              c.max_body == 1024 && !strcmp(c.data_dir, "/var/x"),
          "scalars");
    CHECK(!strcmp(c.repo_url, "/srv/cfg.git") && !strcmp(c.repo_token_env, "T"),
          "repo");
    CHECK(c.webhook_secret && !strcmp(c.webhook_secret, "s3cret"),
          "secret read from the named variable");
    CHECK(c.host_token && !strcmp(c.host_token, "ghp_x"), "token");
    CHECK(!strcmp(c.public_url, "https://bot.example"), "public_url");
    CHECK(!strcmp(c.aws_region, "us-east-1"), "region");
    bot_config_free(&c);

    setenv("DEPLOYBOT_WEBHOOK_SECRET", "", 1);
    CHECK(load("{\"port\":0}", &c, &err) == 0 &&
              !c.webhook_secret && c.port == 0 &&
              !strcmp(c.public_url, "http://127.0.0.1:0"),
          "empty secret variable is no secret; port 0 allowed: %s", err.msg);
    bot_config_free(&c);
    unsetenv("DEPLOYBOT_WEBHOOK_SECRET");
}

/* The tuning knobs: file keys, the variables that override them, ranges. */
static void test_knobs(void) {
    static const char *const vars[] = {
        "DEPLOYBOT_RUNNERS", "DEPLOYBOT_APPLY_PARALLELISM", "DEPLOYBOT_AWS_PAGE_SIZE",
        "DEPLOYBOT_AWS_RETRY_BASE_MS", "DEPLOYBOT_AWS_MAX_ATTEMPTS", "DEPLOYBOT_AWS_DEBUG",
        "DEPLOYBOT_WAIT_TIMEOUT_S", "DEPLOYBOT_WAIT_POLL_MS", "DEPLOYBOT_NOTIFY_RETRY_BASE_MS"};
    errinfo err;
    bot_config c;

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    CHECK(bot_config_load(NULL, &c, &err) == 0, "defaults: %s", err.msg);
    CHECK(c.runners == 4 && c.deploy.apply_parallelism == 0 && c.deploy.aws.page_size == 0 &&
              c.deploy.aws.retry_base_ms == 0 && c.deploy.aws.max_attempts == 0 &&
              !c.deploy.aws.debug && c.deploy.aws.wait_timeout_s == 0 &&
              c.deploy.aws.wait_poll_ms == 0 && c.notify.retry_base_ms == 0,
          "knob defaults");
    CHECK(c.max_inflight_body == 64u * 1024 * 1024 && c.max_connections == 0 &&
              c.header_timeout_s == 10 && c.body_min_rate == 1024 && c.ws_ping_interval_s == 30,
          "connection limit defaults");
    bot_config_free(&c);

    CHECK(load("{\"max_body_bytes\":100,\"limits\":{\"max_inflight_body_bytes\":100,"
               "\"max_connections\":7,\"header_timeout_s\":3,\"body_min_rate_bytes_s\":9,"
               "\"ws_ping_interval_s\":4}}",
               &c, &err) == 0,
          "connection limits in the file: %s", err.msg);
    CHECK(c.max_inflight_body == 100 && c.max_connections == 7 && c.header_timeout_s == 3 &&
              c.body_min_rate == 9 && c.ws_ping_interval_s == 4,
          "connection limits read");
    bot_config_free(&c);

    CHECK(load("{\"runners\":2,\"apply_parallelism\":8,\"aws\":{\"page_size\":5,"
               "\"retry_base_ms\":0,\"max_attempts\":3,\"debug\":true},"
               "\"wait\":{\"timeout_s\":0,\"poll_ms\":20},\"notify\":{\"retry_base_ms\":250}}",
               &c, &err) == 0,
          "knobs in the file: %s", err.msg);
    CHECK(c.runners == 2 && c.deploy.apply_parallelism == 8 && c.deploy.aws.page_size == 5 &&
              c.deploy.aws.retry_base_ms == -1 && c.deploy.aws.max_attempts == 3 &&
              c.deploy.aws.debug && c.deploy.aws.wait_timeout_s == -1 &&
              c.deploy.aws.wait_poll_ms == 20 && c.notify.retry_base_ms == 250,
          "knobs from the file (0 is \"none\": -1)");
    bot_config_free(&c);

    setenv("DEPLOYBOT_RUNNERS", "3", 1);
    setenv("DEPLOYBOT_AWS_DEBUG", "off", 1);
    setenv("DEPLOYBOT_WAIT_POLL_MS", "0", 1);
    setenv("DEPLOYBOT_NOTIFY_RETRY_BASE_MS", "100", 1);
    setenv("DEPLOYBOT_APPLY_PARALLELISM", "", 1); /* empty: unset */
    CHECK(load("{\"runners\":2,\"apply_parallelism\":8,\"aws\":{\"debug\":true},"
               "\"wait\":{\"poll_ms\":20},\"notify\":{\"retry_base_ms\":250}}",
               &c, &err) == 0,
          "knobs overridden: %s", err.msg);
    CHECK(c.runners == 3 && c.deploy.apply_parallelism == 8 && !c.deploy.aws.debug &&
              c.deploy.aws.wait_poll_ms == -1 && c.notify.retry_base_ms == 100,
          "the environment overrides the file");
    bot_config_free(&c);

    /* The webhook writer's group commit. */
    CHECK(load("{}", &c, &err) == 0 && c.ingest.batch_max == 64 && c.ingest.batch_wait_us == 0,
          "ingest defaults: %s", err.msg);
    bot_config_free(&c);
    setenv("DEPLOYBOT_INGEST_BATCH_WAIT_US", "250", 1);
    CHECK(load("{\"ingest\":{\"batch_max\":8,\"batch_wait_us\":2000}}", &c, &err) == 0 &&
              c.ingest.batch_max == 8 && c.ingest.batch_wait_us == 250,
          "ingest from the file, the environment over it: %s", err.msg);
    bot_config_free(&c);
    unsetenv("DEPLOYBOT_INGEST_BATCH_WAIT_US");
    CHECK(load("{\"ingest\":{\"batch_max\":0}}", &c, &err) == -1 &&
              strstr(err.msg, "\"ingest.batch_max\" must be an integer in 1..1000"),
          "ingest.batch_max out of range: %s", err.msg);
    CHECK(load("{\"ingest\":{\"batch_wait_ms\":1}}", &c, &err) == -1 && strstr(err.msg, "batch_wait_ms"),
          "an unknown ingest key: %s", err.msg);

    setenv("DEPLOYBOT_PLAN_LIST_ITEMS", "3", 1);
    CHECK(load("{\"limits\":{\"plan_list_items\":50}}", &c, &err) == 0 && c.deploy.plan_list_items == 3,
          "plan_list_items from the environment over the file: %s", err.msg);
    bot_config_free(&c);
    unsetenv("DEPLOYBOT_PLAN_LIST_ITEMS");
    CHECK(load("{\"limits\":{\"plan_list_items\":0}}", &c, &err) == -1 &&
              strstr(err.msg, "\"limits.plan_list_items\" must be an integer in 1..10000"),
          "plan_list_items out of range: %s", err.msg);

    setenv("DEPLOYBOT_AWS_CONSISTENCY_TIMEOUT_S", "0", 1);
    CHECK(load("{\"aws\":{\"throttle_attempts\":20,\"consistency_timeout_s\":90}}", &c, &err) == 0 &&
              c.deploy.aws.throttle_attempts == 20 && c.deploy.aws.consistency_timeout_s == -1,
          "throttle_attempts from the file, consistency_timeout_s 0 from the environment: %s", err.msg);
    bot_config_free(&c);
    unsetenv("DEPLOYBOT_AWS_CONSISTENCY_TIMEOUT_S");

    setenv("DEPLOYBOT_RUNNERS", "17", 1);
    CHECK(load("{}", &c, &err) == -1 &&
              strstr(err.msg, "DEPLOYBOT_RUNNERS=\"17\": must be an integer in 1..16"),
          "variable out of range: %s", err.msg);
    setenv("DEPLOYBOT_RUNNERS", "4x", 1);
    CHECK(load("{}", &c, &err) == -1 && strstr(err.msg, "DEPLOYBOT_RUNNERS"),
          "variable not a number: %s", err.msg);
    unsetenv("DEPLOYBOT_RUNNERS");
    setenv("DEPLOYBOT_AWS_DEBUG", "maybe", 1);
    CHECK(bot_config_load(NULL, &c, &err) == -1 && strstr(err.msg, "DEPLOYBOT_AWS_DEBUG"),
          "debug must be a boolean: %s", err.msg);
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
}

static void test_environments(void) {
    errinfo err;
    bot_config c;

    CHECK(load("{\"repo\":{\"default_branch\":\"trunk\"},"
               "\"environments\":{\"dev\":{},\"prd\":{\"role_arn\":"
               "\"arn:aws:iam::123456789012:role/ci/deploybot\",\"external_id\":\"acme-prd\","
               "\"prevent_destroy\":true,\"deploy_branch\":\"release/prd\",\"allow_destroy\":false}}}",
               &c, &err) == 0,
          "environments: %s", err.msg);
    const bot_env_config *prd = bot_config_env(&c, "prd"), *dev = bot_config_env(&c, "dev");
    CHECK(c.n_envs == 2 && prd && dev && !bot_config_env(&c, "stg"), "lookup");
    CHECK(prd && !strcmp(prd->role_arn, "arn:aws:iam::123456789012:role/ci/deploybot") &&
              !strcmp(prd->external_id, "acme-prd") && prd->prevent_destroy &&
              !strcmp(prd->deploy_branch, "release/prd") && !prd->allow_destroy,
          "prd settings");
    CHECK(dev && !dev->role_arn && !dev->external_id && !dev->prevent_destroy && !dev->deploy_branch &&
              dev->allow_destroy,
          "dev: none (deploybot.json decides)");
    CHECK(!strcmp(c.default_branch, "trunk"), "repo.default_branch %s", c.default_branch);
    bot_config_free(&c);
}

/* environments.<env>.drift_interval: seconds or "90s" / "30m" / "1h", 0
 * off; unlisted environments get the defaults (1 h, no remediation). */
static void test_drift_settings(void) {
    static const struct {
        const char *value;
        int seconds;
    } ok[] = {{"0", 0}, {"2", 2}, {"\"90s\"", 90}, {"\"30m\"", 1800}, {"\"1h\"", 3600}, {"\"720h\"", 2592000}, {"2592000", 2592000}};
    errinfo err;
    bot_config c;
    char text[200];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(text, sizeof(text), "{\"environments\":{\"dev\":{\"drift_interval\":%s}}}", ok[i].value);
        CHECK(load(text, &c, &err) == 0, "%s: %s", text, err.msg);
        CHECK(bot_config_drift(&c, "dev").interval_s == ok[i].seconds, "%s", text);
        bot_config_free(&c);
    }
    CHECK(load("{\"environments\":{\"dev\":{\"drift_remediate\":true},\"prd\":{}}}", &c, &err) == 0, "%s",
          err.msg);
    bot_drift_config dev = bot_config_drift(&c, "dev"), prd = bot_config_drift(&c, "prd"),
                     stg = bot_config_drift(&c, "stg");
    CHECK(dev.interval_s == 3600 && dev.remediate, "dev: default interval, remediates");
    CHECK(prd.interval_s == 3600 && !prd.remediate, "prd: listed, defaults");
    CHECK(stg.interval_s == 3600 && !stg.remediate, "stg: not listed, defaults");
    bot_config_free(&c);
}

/* run_timeout: seconds or a number with s/m/h; retention; and what changed. */
static void test_run_control(void) {
    static const char *const bad[] = {"0", "\"0s\"", "\"30x\"", "\"m\"", "\"-5m\"", "\"8d\"", "604801",
                                      "true", "\"1h30m\""};
    errinfo err;
    bot_config c, d;
    strbuf changed = {0};

    CHECK(load("{\"retention_days\":7,\"retention_interval_s\":60,\"environments\":{\"a\":{\"run_timeout\":90},"
               "\"b\":{\"run_timeout\":\"30m\"},\"c\":{\"run_timeout\":\"2h\"},\"d\":{\"run_timeout\":\"45s\"},"
               "\"e\":{}}}",
               &c, &err) == 0,
          "run_timeout: %s", err.msg);
    CHECK(bot_config_run_timeout(&c, "a") == 90 && bot_config_run_timeout(&c, "b") == 1800 &&
              bot_config_run_timeout(&c, "c") == 7200 && bot_config_run_timeout(&c, "d") == 45,
          "run_timeout values");
    CHECK(bot_config_run_timeout(&c, "e") == 3600 && bot_config_run_timeout(&c, "nowhere") == 3600,
          "run_timeout default 1 h");
    CHECK(c.retention_days == 7 && c.retention_interval_s == 60, "retention %d %d", c.retention_days,
          c.retention_interval_s);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[200];
        snprintf(text, sizeof(text), "{\"environments\":{\"dev\":{\"run_timeout\":%s}}}", bad[i]);
        CHECK(load(text, &d, &err) < 0 && strstr(err.msg, "\"environments.dev.run_timeout\" must be a duration"),
              "run_timeout %s: %s", bad[i], err.msg);
    }
    CHECK(load("{\"retention_days\":0}", &d, &err) == 0 && d.retention_days == 0, "0 keeps forever");
    CHECK(d.retention_interval_s == 86400, "daily by default");
    bot_config_changes(&c, &d, &changed);
    CHECK(changed.s && !strcmp(changed.s, "retention_days, retention_interval_s, environments"),
          "changed keys: %s", changed.s ? changed.s : "");
    strbuf_free(&changed);
    bot_config_changes(&c, &c, &changed);
    CHECK(!changed.s, "nothing changed");
    bot_config_free(&d);
    CHECK(load("{\"retention_days\":36501}", &d, &err) < 0 && strstr(err.msg, "retention_days"), "%s", err.msg);
    bot_config_free(&c);
}

static void test_allow_fork_prs(void) {
    errinfo err;
    bot_config c;

    CHECK(load("{\"allow_fork_prs\":true}", &c, &err) == 0 && c.allow_fork_prs, "on: %s", err.msg);
    bot_config_free(&c);
    CHECK(load("{\"allow_fork_prs\":false}", &c, &err) == 0 && !c.allow_fork_prs, "off: %s", err.msg);
    bot_config_free(&c);
}

/* "host" names the host; "github" is the same as a host of type github. */
static void test_host_section(void) {
    errinfo err;
    bot_config c;
    host_config hc;

    setenv("MY_GH_TOKEN", "ghp_y", 1);
    CHECK(load("{\"host\":{\"type\":\"github\",\"api_url\":\"http://127.0.0.1:2\","
               "\"token_env\":\"MY_GH_TOKEN\",\"user\":\"bot\"}}",
               &c, &err) == 0,
          "host: %s", err.msg);
    bot_config_host(&c, &hc);
    CHECK(!strcmp(hc.type, "github") && !strcmp(hc.api_url, "http://127.0.0.1:2"), "host type and api");
    CHECK(hc.token && !strcmp(hc.token, "ghp_y") && !strcmp(hc.user, "bot"), "token and user");
    bot_config_free(&c);
    CHECK(load("{\"host\":{\"type\":\"github\"}}", &c, &err) == 0, "host: %s", err.msg);
    CHECK(!strcmp(c.host_api_url, "https://api.github.com") && !strcmp(c.host_token_env, "GITHUB_TOKEN"),
          "the host's defaults: %s %s", c.host_api_url, c.host_token_env);
    bot_config_free(&c);
    CHECK(load("{\"github\":{\"api_url\":\"http://127.0.0.1:3\"}}", &c, &err) == 0, "github: %s", err.msg);
    CHECK(!strcmp(c.host_type, "github") && !strcmp(c.host_api_url, "http://127.0.0.1:3"), "github is a host");
    bot_config_free(&c);
    setenv("MY_GL_SIGNING", "whsec_c2VjcmV0", 1);
    CHECK(load("{\"host\":{\"type\":\"gitlab\",\"signing_key_env\":\"MY_GL_SIGNING\",\"require_signature\":true},"
               "\"repo\":{\"url\":\"/r\",\"name\":\"g/p\",\"reconcile_interval_s\":120}}",
               &c, &err) == 0,
          "gitlab: %s", err.msg);
    bot_config_host(&c, &hc);
    CHECK(!strcmp(hc.api_url, "https://gitlab.com/api/v4") && !strcmp(c.host_token_env, "GITLAB_TOKEN"), "GitLab's defaults");
    CHECK(hc.signing_key && !strcmp(hc.signing_key, "whsec_c2VjcmV0") && hc.require_signature == 1, "the signing token");
    CHECK(c.reconcile_interval_s == 120, "reconcile_interval_s");
    bot_config_free(&c);
}

/* The fetch's user and CA, and a GitHub App's settings. */
static void test_fetch_and_app(void) {
    errinfo err;
    bot_config c;

    CHECK(load("{\"repo\":{\"user\":\"oauth2\",\"ca_file\":\"/etc/hostname\"},"
               "\"github\":{\"app_id\":12,\"private_key_file\":\"/etc/hostname\",\"installation_id\":34}}",
               &c, &err) == 0,
          "loads: %s", err.msg);
    CHECK(c.repo_user && !strcmp(c.repo_user, "oauth2") && !strcmp(c.repo_ca_file, "/etc/hostname"), "repo");
    ghapp_settings app = bot_config_ghapp(&c);
    CHECK(app.app_id == 12 && app.installation_id == 34 && app.refresh_s == 300 &&
              !strcmp(app.private_key_file, "/etc/hostname"),
          "app settings");
    bot_config_free(&c);
    CHECK(load("{}", &c, &err) == 0 && bot_config_ghapp(&c).app_id == 0 && !c.repo_user && !c.repo_ca_file,
          "no app by default");
    bot_config_free(&c);
}

static void test_errors(void) {
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"prot\":1}", "unknown key \"prot\""},
        {"{\"repo\":{\"urll\":\"x\"}}", "unknown key \"repo.urll\""},
        {"{\"github\":{\"token\":\"x\"}}", "unknown key \"github.token\""},
        {"{\"github\":{\"type\":\"github\"}}", "unknown key \"github.type\""},
        {"{\"host\":{\"type\":\"bitbucket\"}}", "\"host.type\" \"bitbucket\" is not one of \"github\""},
        {"{\"host\":{\"type\":\"github\"},\"github\":{}}", "\"host\" and \"github\" are the same section"},
        {"{\"host\":{\"tpye\":\"github\"}}", "unknown key \"host.tpye\""},
        {"{\"host\":{\"type\":\"gitlab\",\"require_signature\":true}}", "\"host.require_signature\" needs a signing token"},
        {"{\"host\":{\"type\":\"gitlab\",\"require_signature\":true,\"signing_key_env\":\"UNSET_SIGNING_KEY\"}}",
         "(UNSET_SIGNING_KEY is unset)"},
        {"{\"host\":{\"type\":\"gitlab\",\"require_signature\":\"yes\"}}", "\"host.require_signature\" must be true or false"},
        {"{\"repo\":{\"reconcile_interval_s\":60}}", "\"repo.reconcile_interval_s\" needs \"repo.url\" and \"repo.name\""},
        {"{\"repo\":{\"reconcile_interval_s\":-1}}", "\"repo.reconcile_interval_s\" must be an integer in 0..86400"},
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
        {"{\"runners\":0}", "\"runners\" must be an integer in 1..16"},
        {"{\"apply_parallelism\":17}", "\"apply_parallelism\" must be an integer in 1..16"},
        {"{\"aws\":{\"page_size\":0}}", "\"aws.page_size\" must be an integer in 1..1000"},
        {"{\"aws\":{\"max_attempts\":\"6\"}}", "\"aws.max_attempts\" must be an integer"},
        {"{\"aws\":{\"debug\":1}}", "\"aws.debug\" must be true or false"},
        {"{\"allow_fork_prs\":\"yes\"}", "\"allow_fork_prs\" must be true or false"},
        {"{\"wait\":{\"timeout\":1}}", "unknown key \"wait.timeout\""},
        {"{\"wait\":{\"poll_ms\":-1}}", "\"wait.poll_ms\" must be an integer in 0..60000"},
        {"{\"notify\":{\"retry_base_ms\":0}}", "\"notify.retry_base_ms\" must be an integer"},
        {"{\"environments\":[]}", "\"environments\" must be an object"},
        {"{\"limits\":{\"max_inflight_body_bytes\":1000}}",
         "\"limits.max_inflight_body_bytes\" (1000) must be at least \"max_body_bytes\""},
        {"{\"limits\":{\"header_timeout_s\":0}}", "\"limits.header_timeout_s\" must be an integer in 1..3600"},
        {"{\"limits\":{\"max_connections\":0}}", "\"limits.max_connections\" must be an integer"},
        {"{\"limits\":{\"body_min_rate_bytes_s\":-1}}", "\"limits.body_min_rate_bytes_s\""},
        {"{\"limits\":{\"ws_ping\":1}}", "unknown key \"limits.ws_ping\""},
        {"{\"repo\":{\"ca_file\":\"/nonexistent/ca.pem\"}}", "\"repo.ca_file\": cannot read /nonexistent/ca.pem"},
        {"{\"github\":{\"app_id\":12}}", "\"github.app_id\" and \"github.private_key_file\" go together"},
        {"{\"github\":{\"app_id\":0,\"private_key_file\":\"/etc/hostname\"}}", "\"github.app_id\" must be an integer"},
        {"{\"github\":{\"private_key_file\":\"/etc/hostname\"}}", "go together"},
        {"{\"host\":{\"type\":\"gitea\",\"api_url\":\"http://x/api/v1\",\"app_id\":1,"
         "\"private_key_file\":\"/etc/hostname\"}}",
         "a GitHub App (\"app_id\") needs a host of type \"github\""},
        {"{\"github\":{\"installation_id\":5}}", "\"github.installation_id\" needs \"github.app_id\""},
        {"{\"github\":{\"app_token_refresh_s\":3001}}", "\"github.app_token_refresh_s\" must be an integer in 0..3000"},
        {"{\"environments\":{\"-x\":{}}}", "\"-x\" is not an environment name"},
        {"{\"environments\":{\"prd\":{\"role\":\"x\"}}}", "unknown key \"environments.prd.role\""},
        {"{\"environments\":{\"prd\":{\"role_arn\":\"arn:aws:iam::12345:role/x\"}}}",
         "\"environments.prd.role_arn\" must look like arn:aws:iam::"},
        {"{\"environments\":{\"prd\":{\"role_arn\":\"arn:aws:iam::123456789012:user/x\"}}}",
         "\"environments.prd.role_arn\" must look like"},
        {"{\"environments\":{\"prd\":{\"external_id\":\"abc\"}}}",
         "\"environments.prd.external_id\" needs \"role_arn\""},
        {"{\"environments\":{\"prd\":{\"prevent_destroy\":\"yes\"}}}",
         "\"environments.prd.prevent_destroy\" must be true or false"},
        {"{\"environments\":{\"prd\":{\"allow_destroy\":1}}}",
         "\"environments.prd.allow_destroy\" must be true or false"},
        {"{\"environments\":{\"prd\":{\"deploy_branch\":\"a..b\"}}}",
         "\"environments.prd.deploy_branch\" is not a valid branch name: \"a..b\""},
        {"{\"environments\":{\"dev\":{\"drift_interval\":\"1.5h\"}}}",
         "\"environments.dev.drift_interval\" must be a duration of 0 to 2592000 seconds: an integer of seconds, "
         "or \"90s\", \"30m\", \"1h\"; not \"1.5h\""},
        {"{\"environments\":{\"dev\":{\"drift_interval\":\"2d\"}}}", "drift_interval\" must be a duration"},
        {"{\"environments\":{\"dev\":{\"drift_interval\":\"\"}}}", "drift_interval\" must be a duration"},
        {"{\"environments\":{\"dev\":{\"drift_interval\":\"h\"}}}", "drift_interval\" must be a duration"},
        {"{\"environments\":{\"dev\":{\"drift_interval\":\"721h\"}}}", "not \"721h\""},
        {"{\"environments\":{\"dev\":{\"drift_interval\":-1}}}", "not a JSON integer out of range"},
        {"{\"environments\":{\"dev\":{\"drift_interval\":\"99999999999999999999s\"}}}", "must be a duration"},
        {"{\"environments\":{\"dev\":{\"drift_interval\":1.5}}}", "not a JSON value of another type"},
        {"{\"environments\":{\"dev\":{\"drift_remediate\":\"yes\"}}}",
         "\"environments.dev.drift_remediate\" must be true or false"},
        {"{\"repo\":{\"default_branch\":\"\"}}", "\"repo.default_branch\" must be a non-empty string"},
        {"{\"repo\":{\"default_branch\":\"refs/heads/main:x\"}}", "\"repo.default_branch\" is not a valid branch"},
    };
    errinfo err;
    bot_config c;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = load(cases[i].text, &c, &err);

        CHECK(rc == -1 && strstr(err.msg, cases[i].want) && strstr(err.msg, path),
              "%s -> \"%s\" (got rc=%d \"%s\")", cases[i].text, cases[i].want,
              rc, err.msg);
        CHECK(c.listen == NULL && c.data_dir == NULL, "failed load is empty");
    }
    CHECK(bot_config_load("/nonexistent/deploybot.json", &c, &err) == -1 &&
              strstr(err.msg, "/nonexistent/deploybot.json"),
          "missing file: %s", err.msg);
}

/* "api_tokens", "session_ttl_s", "tls_cert"/"tls_key": tokens come from
 * the environment and are masked; bad entries are named. */
static void test_api_tokens(void) {
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"api_tokens\":{}}", "\"api_tokens\" must be an array"},
        {"{\"api_tokens\":[{\"name\":\"a\",\"token_env\":\"T_A\"}]}", "needs \"name\", \"token_env\" and \"role\""},
        {"{\"api_tokens\":[{\"name\":\"a\",\"token_env\":\"T_A\",\"role\":\"admin\"}]}",
         "\"api_tokens[0].role\" must be \"read\" or \"operate\""},
        {"{\"api_tokens\":[{\"name\":\"a b\",\"token_env\":\"T_A\",\"role\":\"read\"}]}", "\"api_tokens[0].name\""},
        {"{\"api_tokens\":[{\"name\":\"a\",\"token_env\":\"T_A\",\"role\":\"read\",\"token\":\"x\"}]}",
         "unknown key \"api_tokens[0].token\""},
        {"{\"api_tokens\":[{\"name\":\"a\",\"token_env\":\"T_A\",\"role\":\"read\"},"
         "{\"name\":\"a\",\"token_env\":\"T_B\",\"role\":\"operate\"}]}",
         "the name \"a\" is used twice"},
        {"{\"session_ttl_s\":10}", "\"session_ttl_s\" must be an integer in 60..2592000"},
        {"{\"tls_cert\":\"/c.pem\"}", "\"tls_cert\" and \"tls_key\" go together"},
    };
    static const char ok[] =
        "{\"api_tokens\":[{\"name\":\"ci\",\"token_env\":\"T_A\",\"role\":\"read\"},"
        "{\"name\":\"ops\",\"token_env\":\"T_B\",\"role\":\"operate\"}],"
        "\"session_ttl_s\":600,\"tls_cert\":\"/c.pem\",\"tls_key\":\"/k.pem\"}";
    errinfo err;
    bot_config c;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = load(cases[i].text, &c, &err);

        CHECK(rc == -1 && strstr(err.msg, cases[i].want), "%s -> \"%s\" (got rc=%d \"%s\")", cases[i].text,
              cases[i].want, rc, err.msg);
    }
    setenv("T_A", "read-token-0123456789", 1);
    unsetenv("T_B");
    CHECK(load(ok, &c, &err) == 0, "api_tokens: %s", err.msg);
    CHECK(c.n_api_tokens == 2 && c.api_tokens[0].role == BOT_ROLE_READ && c.api_tokens[1].role == BOT_ROLE_OPERATE,
          "two tokens, their roles");
    CHECK(c.n_api_tokens == 2 && !strcmp(c.api_tokens[0].token, "read-token-0123456789") && !c.api_tokens[1].token,
          "values from the environment; unset: disabled");
    CHECK(c.session_ttl_s == 600 && !strcmp(c.tls_key, "/k.pem"), "session_ttl_s, tls_key");
    CHECK(!strncmp(c.public_url, "https://", 8), "TLS: public_url is https: %s", c.public_url);
    redactor *r = redactor_new();
    bot_config_secrets(&c, r);
    char *masked = redact(r, "token read-token-0123456789 in a log");
    CHECK(masked && !strstr(masked, "read-token-0123456789"), "the token is masked: %s", masked);
    free(masked);
    redactor_free(r);
    bot_config_free(&c);
    setenv("T_B", "short", 1);
    CHECK(load(ok, &c, &err) == -1 && strstr(err.msg, "T_B (api token \"ops\"): a token must be at least 16"),
          "short token: %s", err.msg);
    CHECK(!strstr(err.msg, "short"), "the message holds no token: %s", err.msg);
    CHECK(load("{}", &c, &err) == 0 && c.session_ttl_s == 43200 && c.n_api_tokens == 0, "defaults");
    bot_config_free(&c);
    unsetenv("T_A");
    unsetenv("T_B");
}

/* bot_config_check: every problem a line, in the order bot_config_load
 * meets them (its err is the first), the file's prefixed with its name. */
static void test_every_problem(void) {
    bot_config c;
    errinfo err;
    strbuf report = {0};
    char want[400];

    write_config(
        "{\"colour\": 1, \"port\": -1, \"host\": {\"type\": \"svn\"},"
        " \"environments\": {\"dev\": {\"external_id\": \"x1\", \"typo\": 1}, \"ok\": {}},"
        " \"api_tokens\": [{\"name\": \"a\"}], \"log_format\": \"xml\"}");
    setenv("DEPLOYBOT_RUNNERS", "0", 1);
    CHECK(bot_config_check(path, &c, &report, &err) == -1, "problems");
    unsetenv("DEPLOYBOT_RUNNERS");
    snprintf(want, sizeof(want), "config %s: unknown key \"colour\"", path);
    CHECK(strcmp(err.msg, want) == 0, "err is the first: %s", err.msg);
    CHECK(report.s && strncmp(report.s, want, strlen(want)) == 0 && report.s[strlen(want)] == '\n', "first line: %s",
          report.s);
    static const char *const each[] = {"\"port\" must be an integer", "\"host.type\" \"svn\" is not one of",
                                       "unknown key \"environments.dev.typo\"", "\"environments.dev.external_id\" needs \"role_arn\"",
                                       "\"api_tokens[0]\" needs \"name\", \"token_env\" and \"role\"",
                                       "\"log_format\" must be \"text\" or \"json\", not \"xml\"",
                                       "environment variable DEPLOYBOT_RUNNERS=\"0\": must be an integer in 1..16", NULL};
    int lines = 0;
    for (const char *p = report.s; p && *p; p = strchr(p, '\n') + 1) lines++;
    for (int i = 0; each[i]; i++) CHECK(strstr(report.s, each[i]), "missing: %s\n%s", each[i], report.s);
    CHECK(lines == 8, "8 problems, not %d:\n%s", lines, report.s);
    CHECK(c.n_envs == 0 && c.listen == NULL, "out is left empty");
    strbuf_free(&report);
    write_config("{\"port\": 1}");
    CHECK(bot_config_check(path, &c, &report, &err) == 0 && report.s == NULL, "no problem, no report");
    bot_config_free(&c);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/deploybot.json", tmpdir);
    test_defaults();
    test_overrides_and_secrets();
    test_knobs();
    test_environments();
    test_drift_settings();
    test_run_control();
    test_allow_fork_prs();
    test_host_section();
    test_fetch_and_app();
    test_errors();
    test_api_tokens();
    test_every_problem();
    unlink(path);
    rmdir(tmpdir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
