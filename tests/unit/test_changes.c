/* Tests for git/: repoconfig parsing, the environment rules, and the mirror
 * against real repositories built with the git CLI in a temp dir. */
#include "git/cfgrepo.h"
#include "git/changes.h"
#include "deploy/repoconfig.h"
#include "bot/repolayout.h"

#include <arpa/inet.h>
#include <git2.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int n_pass, n_fail;

#define CHECK(c) \
    do { \
        if (c) \
            n_pass++; \
        else { \
            n_fail++; \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #c); \
        } \
    } while (0)

#define CHECK_STR(a, b) \
    do { \
        const char *a_ = (a), *b_ = (b); \
        if (a_ && b_ && !strcmp(a_, b_)) \
            n_pass++; \
        else { \
            n_fail++; \
            fprintf(stderr, "%s:%d: FAILED: %s == %s\n  got:  %s\n  want: %s\n", \
                    __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)", \
                    b_ ? b_ : "(null)"); \
        } \
    } while (0)

#define CHECK_HAS(hay, needle) \
    do { \
        const char *h_ = (hay); \
        if (h_ && strstr(h_, needle)) \
            n_pass++; \
        else { \
            n_fail++; \
            fprintf(stderr, "%s:%d: FAILED: \"%s\" contains \"%s\"\n", \
                    __FILE__, __LINE__, h_ ? h_ : "(null)", needle); \
        } \
    } while (0)

/* "dev,stg" for a string vector, to compare sets in their order at once. */
static const char *joined(char **v, size_t n) {
    static char buf[4096];
    size_t i;
    buf[0] = '\0';
    for (i = 0; i < n; i++) {
        if (i)
            strcat(buf, ",");
        strncat(buf, v[i], sizeof buf - strlen(buf) - 2);
    }
    return buf;
}

static const char CONFIG[] =
    "{\n"
    "  \"environments\": {\n"
    "    \"dev\": { \"folder\": \"environments/dev\", \"branch\": \"main\" },\n"
    "    \"stg\": { \"folder\": \"environments/stg/\", \"branch\": \"main\" },\n"
    "    \"prd\": { \"folder\": \"environments/prd\", \"branch\": \"production\",\n"
    "             \"allow_destroy\": true }\n"
    "  },\n"
    "  \"shared_paths\": [\"modules/\"]\n"
    "}\n";

/* ---- repoconfig -------------------------------------------------------- */

static void test_parse_ok(void) {
    repoconfig c;
    errinfo err;
    const repoconfig_env *e;

    CHECK(repoconfig_parse(CONFIG, strlen(CONFIG), &c, &err) == 0);
    CHECK(c.n_envs == 3);
    if (c.n_envs == 3) {
        CHECK_STR(c.envs[0].name, "dev"); /* the file's order, not sorted */
        CHECK_STR(c.envs[1].name, "stg");
        CHECK_STR(c.envs[2].name, "prd");
        CHECK_STR(c.envs[1].folder, "environments/stg"); /* slash dropped */
        CHECK_STR(c.envs[2].branch, "production");
        CHECK(c.envs[0].allow_destroy == 0);
        CHECK(c.envs[2].allow_destroy == 1);
    }
    CHECK(c.n_shared == 1 && !strcmp(c.shared_paths[0], "modules/"));
    e = repoconfig_env_find(&c, "prd");
    CHECK(e && !strcmp(e->folder, "environments/prd"));
    CHECK(repoconfig_env_find(&c, "qa") == NULL);
    repoconfig_free(&c);

    /* shared_paths is optional */
    {
        static const char j[] =
            "{\"environments\":{\"x\":{\"folder\":\"x\",\"branch\":\"b/c\"}}}";
        CHECK(repoconfig_parse(j, strlen(j), &c, &err) == 0);
        CHECK(c.n_envs == 1 && c.n_shared == 0 && c.shared_paths == NULL);
        repoconfig_free(&c);
    }
}

static void test_parse_errors(void) {
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"environments\":{\"prd\":{\"folder\":\"p\",\"branch\":1}}}",
         "deploybot.json: environments.prd.branch: expected a string"},
        {"{\"environments\":{\"prd\":{\"folder\":\"p\"}}}",
         "deploybot.json: environments.prd.branch: missing"},
        {"{\"environments\":{\"prd\":{\"branch\":\"main\"}}}",
         "deploybot.json: environments.prd.folder: missing"},
        {"{\"environments\":{\"prd\":{\"folder\":\"p\",\"branch\":\"m\","
         "\"brnach\":\"x\"}}}",
         "deploybot.json: environments.prd: unknown key \"brnach\""},
        {"{\"environments\":{\"d\":{\"folder\":\"p\",\"branch\":\"m\"}},"
         "\"shared\":[]}",
         "deploybot.json: unknown key \"shared\""},
        {"{\"environments\":{\"d\":{\"folder\":\"p\",\"branch\":\"m\","
         "\"allow_destroy\":\"yes\"}}}",
         "deploybot.json: environments.d.allow_destroy: expected true or false"},
        {"{\"environments\":{\"d\":{\"folder\":\"/abs\",\"branch\":\"m\"}}}",
         "deploybot.json: environments.d.folder: \"/abs\" is not a relative"},
        {"{\"environments\":{\"d\":{\"folder\":\"a/../b\",\"branch\":\"m\"}}}",
         "deploybot.json: environments.d.folder:"},
        {"{\"environments\":{\"d\":{\"folder\":\"\",\"branch\":\"m\"}}}",
         "deploybot.json: environments.d.folder:"},
        {"{\"environments\":{\"d\":{\"folder\":\"d\",\"branch\":\"a b\"}}}",
         "deploybot.json: environments.d.branch: \"a b\" is not a valid"},
        {"{\"environments\":{\"d\":\"environments/d\"}}",
         "deploybot.json: environments.d: expected an object"},
        {"{\"environments\":{\"a b\":{\"folder\":\"d\",\"branch\":\"m\"}}}",
         "deploybot.json: environments: \"a b\": an environment name"},
        {"{\"environments\":{}}",
         "deploybot.json: environments: expected at least one"},
        {"{\"environments\":[]}",
         "deploybot.json: environments: expected an object"},
        {"{}", "deploybot.json: environments: missing"},
        {"[]", "deploybot.json: expected an object"},
        {"{\"environments\":{\"d\":{\"folder\":\"d\",\"branch\":\"m\"}},"
         "\"shared_paths\":\"modules/\"}",
         "deploybot.json: shared_paths: expected an array of strings"},
        {"{\"environments\":{\"d\":{\"folder\":\"d\",\"branch\":\"m\"}},"
         "\"shared_paths\":[\"modules/\",3]}",
         "deploybot.json: shared_paths[1]: expected a string"},
        {"{\"environments\":{\"d\":{\"folder\":\"d\",\"branch\":\"m\"}},"
         "\"shared_paths\":[\"/etc\"]}",
         "deploybot.json: shared_paths[0]: \"/etc\" is not a relative path"},
        {"{\"environments\":{\"d\":{\"folder\":\"d\",\"branch\":\"m\"},"
         "\"d\":{\"folder\":\"e\",\"branch\":\"m\"}}}",
         "deploybot.json: line 1"}, /* duplicate key */
        {"{\"environments\": {", "deploybot.json: line 1, column"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        repoconfig c;
        errinfo err;
        int rc = repoconfig_parse(cases[i].json, strlen(cases[i].json), &c, &err);
        CHECK(rc == -1);
        CHECK(c.envs == NULL && c.n_envs == 0 && c.shared_paths == NULL);
        if (strncmp(err.msg, cases[i].want, strlen(cases[i].want))) {
            n_fail++;
            fprintf(stderr, "parse error case %zu:\n  got:  %s\n  want: %s...\n",
                    i, err.msg, cases[i].want);
        } else {
            n_pass++;
        }
    }
}

/* ---- the pure rule ----------------------------------------------------- */

static const char *envs_for(const repoconfig *c, const char *const *paths,
                            size_t n) {
    static char buf[256];
    change_set cs;
    changes_layout l;
    repolayout_from_config(c, &l);
    changes_envs_for_paths(&l, paths, n, &cs);
    repolayout_free(&l);
    snprintf(buf, sizeof buf, "%s", joined(cs.envs, cs.n_envs));
    CHECK_STR(cs.reason, "diff");
    CHECK(cs.n_deleted == 0);
    change_set_free(&cs);
    return buf;
}

static void test_rules(void) {
    repoconfig c;
    errinfo err;
    static const char no_slash[] =
        "{\"environments\":{\"a\":{\"folder\":\"envs/a\",\"branch\":\"m\"},"
        "\"b\":{\"folder\":\"envs/b\",\"branch\":\"m\"}},"
        "\"shared_paths\":[\"modules\"]}";

    if (repoconfig_parse(CONFIG, strlen(CONFIG), &c, &err)) {
        CHECK(!"config parses");
        return;
    }
    {
        const char *p[] = {"environments/dev/stack.json"};
        CHECK_STR(envs_for(&c, p, 1), "dev");
    }
    {
        const char *p[] = {"environments/dev2/stack.json", "environments/de"};
        CHECK_STR(envs_for(&c, p, 2), "");
    }
    {
        const char *p[] = {"environments/dev"}; /* the folder itself */
        CHECK_STR(envs_for(&c, p, 1), "dev");
    }
    {
        const char *p[] = {"modules/dify/user_data.sh"};
        CHECK_STR(envs_for(&c, p, 1), "dev,stg,prd");
    }
    {
        const char *p[] = {"modules2/x", "README.md", "deploybot.json"};
        CHECK_STR(envs_for(&c, p, 3), "");
    }
    { /* both sides of a rename, given in reverse: repoconfig order wins */
        const char *p[] = {"environments/prd/a", "environments/dev/a"};
        CHECK_STR(envs_for(&c, p, 2), "dev,prd");
    }
    CHECK_STR(envs_for(&c, NULL, 0), "");
    {
        const char *p[] = {"README.md", "environments/stg/x", "README.md"};
        change_set cs;
        changes_layout l;
        repolayout_from_config(&c, &l);
        changes_envs_for_paths(&l, p, 3, &cs);
        repolayout_free(&l);
        CHECK_STR(joined(cs.paths, cs.n_paths), "README.md,environments/stg/x");
        CHECK_STR(joined(cs.envs, cs.n_envs), "stg");
        change_set_free(&cs);
    }
    repoconfig_free(&c);

    /* shared path without trailing slash: component boundary still holds */
    if (repoconfig_parse(no_slash, strlen(no_slash), &c, &err)) {
        CHECK(!"no_slash parses");
        return;
    }
    {
        const char *p[] = {"modules/dify/x"};
        CHECK_STR(envs_for(&c, p, 1), "a,b");
    }
    {
        const char *p[] = {"modules2/x", "modules.txt", "envs/ab/x"};
        CHECK_STR(envs_for(&c, p, 3), "");
    }
    {
        const char *p[] = {"modules"}; /* a file named like the prefix */
        CHECK_STR(envs_for(&c, p, 1), "a,b");
    }
    repoconfig_free(&c);
}

/* ---- real repositories ------------------------------------------------- */

static char tmp[256], origin[300], mirror[300];

static int sh(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...) {
    char cmd[2048];
    va_list ap;
    int st;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    st = system(cmd);
    if (st != 0)
        fprintf(stderr, "command failed (%d): %s\n", st, cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* First line of a command's output. */
static int sh_out(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int sh_out(char *out, size_t n, const char *fmt, ...) {
    char cmd[2048];
    va_list ap;
    FILE *p;
    int ok;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    out[0] = '\0';
    if (!(p = popen(cmd, "r")))
        return -1;
    ok = fgets(out, (int)n, p) != NULL;
    out[strcspn(out, "\n")] = '\0';
    return pclose(p) == 0 && ok ? 0 : -1;
}

static void write_file(const char *rel, const char *content) {
    char path[600];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", origin, rel);
    sh("mkdir -p \"$(dirname '%s')\"", path);
    f = fopen(path, "w");
    if (!f) {
        perror(path);
        return;
    }
    fputs(content, f);
    fclose(f);
}

static void commit(const char *msg, char sha[41]) {
    sh("git -C '%s' add -A && git -C '%s' commit -q -m '%s'", origin, origin,
       msg);
    if (sh_out(sha, 41, "git -C '%s' rev-parse HEAD", origin) < 0 ||
        strlen(sha) != 40)
        fprintf(stderr, "rev-parse failed after commit %s\n", msg);
}

static int make_origin(char c0[41]) {
    /* Only the repo's own config: the developer's must not change results. */
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
    if (sh("git init -q -b main '%s' && git -C '%s' config user.name Test && "
           "git -C '%s' config user.email test@example.com && "
           "git -C '%s' config commit.gpgsign false",
           origin, origin, origin,
           origin))
        return -1;
    write_file("deploybot.json", CONFIG);
    write_file("README.md", "config repo\n");
    write_file("environments/dev/stack.json", "{\"instance_count\": 1}\n");
    write_file("environments/dev/a", "a file that moves to stg\n");
    write_file("environments/stg/stack.json", "{\"instance_count\": 2}\n");
    write_file("environments/prd/stack.json", "{\"instance_count\": 3}\n");
    write_file("modules/dify/user_data.sh", "#!/bin/sh\necho v1\n");
    commit("initial", c0);
    return sh("git -C '%s' branch production", origin);
}

/* changes_between with the repoconfig read from the mirror at `after`, as
 * the bot does it. */
static int diff(cfgrepo *r, const char *before, const char *after,
                change_set *cs, errinfo *err) {
    repoconfig cfg;
    size_t len;
    int rc;
    char *json = cfgrepo_read_file(r, after, "deploybot.json", SIZE_MAX, &len, NULL,
                                   err);
    if (!json)
        return -1;
    rc = repoconfig_parse(json, len, &cfg, err);
    free(json);
    if (rc == 0) {
        changes_layout l;
        repolayout_from_config(&cfg, &l);
        rc = changes_between(r, &l, before, after, cs, err);
        repolayout_free(&l);
        repoconfig_free(&cfg);
    }
    return rc;
}

/* Expects a successful diff with `envs`, `deleted` and `reason`. */
static void expect(cfgrepo *r, const char *before, const char *after,
                   const char *envs, const char *deleted, const char *reason,
                   int line) {
    change_set cs;
    errinfo err = {0};
    if (diff(r, before, after, &cs, &err) < 0) {
        n_fail++;
        fprintf(stderr, "%s:%d: diff failed: %s\n", __FILE__, line, err.msg);
        return;
    }
    if (strcmp(joined(cs.envs, cs.n_envs), envs) ||
        strcmp(joined(cs.deleted, cs.n_deleted), deleted) ||
        strcmp(cs.reason, reason)) {
        n_fail++;
        fprintf(stderr, "%s:%d: FAILED: got envs {%s}", __FILE__, line,
                joined(cs.envs, cs.n_envs));
        fprintf(stderr, " deleted {%s} reason %s; want {%s} {%s} %s\n",
                joined(cs.deleted, cs.n_deleted), cs.reason, envs, deleted,
                reason);
    } else {
        n_pass++;
    }
    change_set_free(&cs);
}

#define EXPECT(r, b, a, envs, del, reason) expect(r, b, a, envs, del, reason, __LINE__)

static const char *paths_of(cfgrepo *r, const char *before, const char *after) {
    static char buf[4096];
    change_set cs;
    errinfo err = {0};
    if (diff(r, before, after, &cs, &err) < 0) {
        fprintf(stderr, "diff %.12s..%.12s: %s\n", before ? before : "-",
                after, err.msg);
        return "(error)";
    }
    snprintf(buf, sizeof buf, "%s", joined(cs.paths, cs.n_paths));
    change_set_free(&cs);
    return buf;
}

static int fetch(cfgrepo *r, const char *sha) {
    errinfo err = {0};
    int rc = cfgrepo_fetch(r, sha, &err);
    if (rc)
        fprintf(stderr, "fetch %s: %s\n", sha ? sha : "", err.msg);
    return rc;
}

static void test_read_file(cfgrepo *r, const char *c0, const char *c1) {
    errinfo err = {0};
    size_t len = 0;
    int missing = -1;
    char *a = cfgrepo_read_file(r, c0, "environments/dev/stack.json", SIZE_MAX, &len,
                                &missing, &err);
    char *b = cfgrepo_read_file(r, c1, "environments/dev/stack.json", SIZE_MAX, NULL,
                                NULL, &err);
    CHECK_STR(a, "{\"instance_count\": 1}\n");
    CHECK(len == strlen("{\"instance_count\": 1}\n") && missing == 0);
    CHECK_STR(b, "{\"instance_count\": 5}\n");
    free(a);
    free(b);

    a = cfgrepo_read_file(r, c0, "environments/qa/stack.json", SIZE_MAX, &len, &missing,
                          &err);
    CHECK(a == NULL && missing == 1);
    CHECK_HAS(err.msg, "environments/qa/stack.json does not exist");
    a = cfgrepo_read_file(r, c0, "environments/dev", SIZE_MAX, &len, &missing, &err);
    CHECK(a == NULL && missing == 0);
    CHECK_HAS(err.msg, "is a directory");
    a = cfgrepo_read_file(r, "0123456789abcdef0123456789abcdef01234567",
                          "README.md", SIZE_MAX, &len, &missing, &err);
    CHECK(a == NULL && missing == 0);
    CHECK_HAS(err.msg, "not in the mirror");
    a = cfgrepo_read_file(r, "HEAD", "README.md", SIZE_MAX, &len, &missing, &err);
    CHECK(a == NULL);
    CHECK_HAS(err.msg, "not a commit sha");
}

static void test_branch_head(cfgrepo *r, const char *want_main,
                             const char *want_prod) {
    char out[41];
    errinfo err = {0};
    CHECK(cfgrepo_branch_head(r, "main", out, &err) == 0);
    CHECK_STR(out, want_main);
    CHECK(cfgrepo_branch_head(r, "refs/heads/production", out, &err) == 0);
    CHECK_STR(out, want_prod);
    CHECK(cfgrepo_branch_head(r, "nope", out, &err) == -1);
    CHECK_HAS(err.msg, "branch \"nope\" does not exist on the remote");
}

/* Pushes that move main forward: dev only, modules, README, rename. */
static void test_linear(cfgrepo *r, const char *c0, char c4[41]) {
    char c1[41], c2[41], c3[41];
    errinfo err = {0};
    change_set cs;

    write_file("environments/dev/stack.json", "{\"instance_count\": 5}\n");
    commit("dev: 5 instances", c1);
    /* not fetched yet: the mirror does not have it, fetching brings it */
    CHECK(cfgrepo_has_commit(r, c1) == 0);
    CHECK(diff(r, c0, c1, &cs, &err) == -1);
    CHECK_HAS(err.msg, "not in the mirror");
    CHECK(fetch(r, c1) == 0);
    CHECK(cfgrepo_has_commit(r, c1) == 1);
    EXPECT(r, c0, c1, "dev", "", "diff");
    CHECK_STR(paths_of(r, c0, c1), "environments/dev/stack.json");
    test_read_file(r, c0, c1);

    write_file("modules/dify/user_data.sh", "#!/bin/sh\necho v2\n");
    commit("modules: v2", c2);
    write_file("README.md", "config repo, documented\n");
    commit("readme", c3);
    sh("git -C '%s' mv environments/dev/a environments/stg/a", origin);
    commit("move a to stg", c4);
    CHECK(fetch(r, c4) == 0);
    EXPECT(r, c1, c2, "dev,stg,prd", "", "diff");
    EXPECT(r, c2, c3, "", "", "diff");
    CHECK_STR(paths_of(r, c2, c3), "README.md");
    EXPECT(r, c3, c4, "dev,stg", "", "diff");
    CHECK_STR(paths_of(r, c3, c4), "environments/dev/a,environments/stg/a");
    EXPECT(r, c4, c4, "", "", "diff");
    EXPECT(r, c0, c4, "dev,stg,prd", "", "diff"); /* several commits at once */
}

static void test_new_branch(cfgrepo *r, const char *c0) {
    const char *zeros = "0000000000000000000000000000000000000000";
    EXPECT(r, NULL, c0, "dev,stg,prd", "", "new branch");
    EXPECT(r, zeros, c0, "dev,stg,prd", "", "new branch");
    CHECK_STR(paths_of(r, zeros, c0),
              "README.md,deploybot.json,environments/dev/a,"
              "environments/dev/stack.json,environments/prd/stack.json,"
              "environments/stg/stack.json,modules/dify/user_data.sh");
}

/* main moves to c5a (prd change), then is reset to c4 and gets c5b (dev
 * change) instead: c5a..c5b must show prd (its change goes away) and dev. */
static void test_force_push(cfgrepo *r, const char *c4, char c5b[41]) {
    char c5a[41], head[41];
    errinfo err = {0};
    write_file("environments/prd/stack.json", "{\"instance_count\": 9}\n");
    commit("prd: 9", c5a);
    CHECK(fetch(r, c5a) == 0);
    sh("git -C '%s' reset -q --hard %s", origin, c4);
    write_file("environments/dev/stack.json", "{\"instance_count\": 6}\n");
    commit("dev: 6", c5b);
    CHECK(fetch(r, c5b) == 0);
    CHECK(cfgrepo_branch_head(r, "main", head, &err) == 0);
    CHECK_STR(head, c5b);
    CHECK(cfgrepo_has_commit(r, c5a) == 1); /* still in the mirror */
    EXPECT(r, c5a, c5b, "dev,prd", "", "force push");
    CHECK_STR(paths_of(r, c5a, c5b),
              "environments/dev/stack.json,environments/prd/stack.json");
    EXPECT(r, c4, c5b, "dev", "", "diff");
}

static void test_unknown_and_deleted(cfgrepo *r, const char *c5b, char c7[41]) {
    const char *ghost = "0123456789abcdef0123456789abcdef01234567";
    char c6[41];
    errinfo err = {0};
    change_set cs;

    EXPECT(r, ghost, c5b, "dev,stg,prd", "", "before unknown");
    CHECK(diff(r, "not-a-sha", c5b, &cs, &err) == -1);
    CHECK_HAS(err.msg, "not a commit sha");

    sh("git -C '%s' rm -q -r environments/prd", origin);
    commit("remove prd", c6);
    CHECK(fetch(r, c6) == 0);
    EXPECT(r, c5b, c6, "prd", "prd", "diff");
    EXPECT(r, NULL, c6, "dev,stg", "", "new branch");
    EXPECT(r, ghost, c6, "dev,stg,prd", "prd", "before unknown");
    /* prd had no folder before either: touched by modules/, not deleted */
    write_file("modules/dify/user_data.sh", "#!/bin/sh\necho v3\n");
    commit("modules: v3", c7);
    CHECK(fetch(r, c7) == 0);
    EXPECT(r, c6, c7, "dev,stg,prd", "", "diff");
}

/* A PR branched at `fork`; main then moved on (dev). Diffing from main's
 * tip would count dev too; from the merge base, only the PR's own stg. */
static void test_pull_request(cfgrepo *r, const char *fork) {
    char head[41], tip[41], base[41] = "";
    errinfo err = {0};
    sh("git -C '%s' checkout -q -b feature", origin);
    write_file("environments/stg/stack.json", "{\"instance_count\": 7}\n");
    commit("stg: 7", head);
    sh("git -C '%s' checkout -q main", origin);
    write_file("environments/dev/stack.json", "{\"instance_count\": 8}\n");
    commit("dev: 8", tip);
    CHECK(fetch(r, head) == 0 && cfgrepo_has_commit(r, tip));
    EXPECT(r, tip, head, "dev,stg", "", "force push");
    CHECK(cfgrepo_merge_base(r, tip, head, base, &err) == 0);
    CHECK_STR(base, fork);
    EXPECT(r, base, head, "stg", "", "diff");
    CHECK(cfgrepo_merge_base(r, tip, "0123456789abcdef0123456789abcdef01234567",
                             base, &err) == -1);
    CHECK_HAS(err.msg, "not in the mirror");
}

static void test_missing_commit(cfgrepo *r) {
    char dangling[41];
    errinfo err = {0};
    /* a real commit in origin that no branch reaches */
    sh_out(dangling, sizeof dangling,
           "git -C '%s' commit-tree 'HEAD^{tree}' -p HEAD -m dangling", origin);
    CHECK(strlen(dangling) == 40);
    CHECK(cfgrepo_fetch(r, dangling, &err) == -1);
    CHECK_HAS(err.msg, "is not on the remote (yet)");
    CHECK_HAS(err.msg, dangling);
    CHECK(cfgrepo_has_commit(r, dangling) == 0);
    CHECK(cfgrepo_fetch(r, "abc", &err) == -1);
    CHECK_HAS(err.msg, "not a commit sha");
}

/* A commit only a pull request's ref reaches (a fork's, on GitHub): the
 * branches do not bring it, its ref does, and the next branch fetch, which
 * prunes, keeps that ref. */
static void test_pull_ref(cfgrepo *r) {
    char head[41], out[41];
    errinfo err = {0};
    sh_out(head, sizeof head, "git -C '%s' commit-tree 'HEAD^{tree}' -p HEAD -m from-a-fork", origin);
    CHECK(strlen(head) == 40);
    sh("git -C '%s' update-ref refs/pull/7/head %s", origin, head);
    CHECK(cfgrepo_fetch(r, head, &err) == -1);
    CHECK(cfgrepo_fetch_ref(r, "refs/pull/7/head", head, &err) == 0);
    CHECK(cfgrepo_has_commit(r, head));
    CHECK(fetch(r, NULL) == 0);
    CHECK(sh_out(out, sizeof out, "git -C '%s' rev-parse refs/pull/7/head", mirror) == 0);
    CHECK_STR(out, head);
    /* A remote without the ref (no such pull request, or another host): the
     * sha decides. */
    CHECK(cfgrepo_fetch_ref(r, "refs/pull/8/head", NULL, &err) == 0);
    CHECK(cfgrepo_fetch_ref(r, "refs/pull/8/head", "0123456789abcdef0123456789abcdef01234567", &err) == -1);
    CHECK(err.code == ERR_UNAVAILABLE);
    CHECK_HAS(err.msg, "nor its ref refs/pull/8/head");
    /* Only a ref of its own: never a branch's place, a pattern or a refspec. */
    const char *bad[] = {"refs/heads/main", "refs/remotes/origin/main", "refs/pull/*/head",
                         "+refs/pull/7/head:refs/heads/main", "pull/7/head", "refs/pull/7/../head", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(cfgrepo_fetch_ref(r, bad[i], NULL, &err) == -1);
        CHECK(err.code == ERR_INVALID);
    }
    CHECK_HAS(err.msg, "refs/pull/7/head");
    CHECK(cfgrepo_fetch_ref(r, NULL, NULL, &err) == -1);
}

static void test_prune_and_reopen(cfgrepo **rp, const char *head) {
    char out[41], dir2[400], url[400];
    errinfo err = {0};
    cfgrepo *r2;

    sh("git -C '%s' branch -q -D production", origin);
    CHECK(fetch(*rp, NULL) == 0);
    CHECK(cfgrepo_branch_head(*rp, "production", out, &err) == -1);

    /* reopening an existing mirror does not clone again */
    cfgrepo_close(*rp);
    *rp = cfgrepo_open(origin, mirror, NULL, &err);
    CHECK(*rp != NULL);
    if (!*rp)
        return;
    CHECK(cfgrepo_branch_head(*rp, "main", out, &err) == 0);
    CHECK_STR(out, head);

    /* file:// URL, into a directory that does not exist yet */
    snprintf(dir2, sizeof dir2, "%s/data/mirror2.git", tmp);
    snprintf(url, sizeof url, "file://%s", origin);
    r2 = cfgrepo_open(url, dir2, NULL, &err);
    CHECK(r2 != NULL);
    if (r2) {
        CHECK(cfgrepo_branch_head(r2, "main", out, &err) == 0);
        CHECK_STR(out, head);
        cfgrepo_close(r2);
    }
}

static void test_open_errors(void) {
    char dir[400], url[400];
    errinfo err = {0};
    cfgrepo *r;

    snprintf(dir, sizeof dir, "%s/m-missing", tmp);
    snprintf(url, sizeof url, "%s/no-such-repo", tmp);
    r = cfgrepo_open(url, dir, NULL, &err);
    CHECK(r == NULL);
    CHECK_HAS(err.msg, "cloning");
    /* a directory with other content is never taken over */
    snprintf(dir, sizeof dir, "%s/notrepo", tmp);
    sh("mkdir -p '%s' && echo x > '%s/file'", dir, dir);
    r = cfgrepo_open(origin, dir, NULL, &err);
    CHECK(r == NULL);
    CHECK_HAS(err.msg, "is not a git repository");
    r = cfgrepo_open("", dir, NULL, &err);
    CHECK(r == NULL);
}

/* Two threads, each with its own cfgrepo on the same mirror, fetching. */
static void *fetch_loop(void *arg) {
    errinfo err = {0};
    int i, fails = 0;
    cfgrepo *r = cfgrepo_open(origin, mirror, NULL, &err);
    (void)arg;
    if (!r)
        return (void *)1;
    for (i = 0; i < 10; i++)
        if (cfgrepo_fetch(r, NULL, &err)) {
            fprintf(stderr, "concurrent fetch: %s\n", err.msg);
            fails++;
        }
    cfgrepo_close(r);
    return (void *)(long)fails;
}

static void test_concurrent(void) {
    pthread_t t[3];
    void *rc[3];
    char c[41];
    errinfo err = {0};
    int i;
    cfgrepo *r;
    write_file("environments/stg/stack.json", "{\"instance_count\": 4}\n");
    commit("stg: 4", c);
    for (i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, fetch_loop, NULL);
    for (i = 0; i < 3; i++)
        pthread_join(t[i], &rc[i]);
    CHECK(rc[0] == NULL && rc[1] == NULL && rc[2] == NULL);
    r = cfgrepo_open(origin, mirror, NULL, &err);
    CHECK(r && cfgrepo_has_commit(r, c));
    CHECK(r && cfgrepo_fetch(r, c, &err) == 0);
    cfgrepo_close(r);
}

/* ---- https token: a fake smart-HTTP server on loopback ----------------- */

/* Answers 401 + Basic challenge unless the request carries `want_auth`,
 * then 404 (enough to prove the header; no git protocol needed). */
typedef struct {
    int fd;
    const char *want_auth;
    int n_requests, n_authorized;
    char last_request[2048];
} fake_http;

static void *serve(void *arg) {
    fake_http *h = arg;
    struct pollfd p = {.fd = h->fd, .events = POLLIN};
    while (poll(&p, 1, 3000) == 1) {
        char req[2048];
        size_t n = 0;
        ssize_t k;
        int c = accept(h->fd, NULL, NULL), ok;
        const char *resp;
        if (c < 0)
            break;
        while (n < sizeof req - 1 &&
               (k = recv(c, req + n, sizeof req - 1 - n, 0)) > 0) {
            n += (size_t)k;
            req[n] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        req[n] = '\0';
        snprintf(h->last_request, sizeof h->last_request, "%s", req);
        h->n_requests++;
        ok = strcasestr(req, h->want_auth) != NULL;
        h->n_authorized += ok;
        resp = ok ? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n"
                  : "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic "
                    "realm=\"git\"\r\nContent-Length: 0\r\nConnection: close"
                    "\r\n\r\n";
        if (send(c, resp, strlen(resp), MSG_NOSIGNAL) < 0)
            perror("send");
        close(c);
    }
    return NULL;
}

static int fake_http_start(fake_http *h, pthread_t *t, int *port) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof a;
    h->fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&a, sizeof a) ||
        listen(h->fd, 8) || getsockname(h->fd, (struct sockaddr *)&a, &al))
        return -1;
    *port = ntohs(a.sin_port);
    return pthread_create(t, NULL, serve, h);
}

static void file_lacks(const char *path, const char *s) {
    char buf[8192];
    size_t n;
    FILE *f = fopen(path, "r");
    if (!f) {
        CHECK(!"mirror config readable");
        return;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    CHECK(strstr(buf, s) == NULL);
}

/* The bot's callback in miniature: the token from the environment. */
static int test_cred(void *arg, const char *url, cfgrepo_cred *out, errinfo *err) {
    const char *tok = getenv("DEPLOYBOT_TEST_TOKEN");
    (void)arg;
    (void)url;
    snprintf(out->source, sizeof out->source, "$DEPLOYBOT_TEST_TOKEN");
    if (!tok)
        return errinfo_set(err, ERR_INVALID, "set $DEPLOYBOT_TEST_TOKEN");
    snprintf(out->user, sizeof out->user, "x-access-token");
    snprintf(out->password, sizeof out->password, "%s", tok);
    return 0;
}

static void token_case(const char *token, const char *dirname,
                       const char *want_err, int want_authorized) {
    fake_http h = {.want_auth =
                       "Authorization: Basic "
                       "eC1hY2Nlc3MtdG9rZW46czNjcjN0"};
    pthread_t t;
    int port;
    char url[128], dir[400], cfg[450];
    errinfo err = {0};
    cfgrepo *r;

    if (token)
        setenv("DEPLOYBOT_TEST_TOKEN", token, 1);
    else
        unsetenv("DEPLOYBOT_TEST_TOKEN");
    if (fake_http_start(&h, &t, &port)) {
        CHECK(!"fake http server starts");
        return;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/org/config.git", port);
    snprintf(dir, sizeof dir, "%s/%s", tmp, dirname);
    cfgrepo_options opts = {test_cred, NULL, NULL};
    r = cfgrepo_open(url, dir, &opts, &err);
    shutdown(h.fd, SHUT_RDWR);
    pthread_join(t, NULL);
    close(h.fd);
    if (getenv("VERBOSE"))
        fprintf(stderr, "token case %s: %s\n", dirname, err.msg);
    CHECK(r == NULL); /* the fake never serves a repository */
    cfgrepo_close(r);
    CHECK_HAS(err.msg, want_err);
    CHECK(strstr(err.msg, "s3cr3t") == NULL &&
          strstr(err.msg, "wrongtoken") == NULL);
    CHECK(h.n_requests >= 1);
    CHECK(h.n_authorized == want_authorized);
    CHECK(strstr(h.last_request, "/org/config.git/info/refs") != NULL);
    snprintf(cfg, sizeof cfg, "%s/config", dir);
    file_lacks(cfg, "s3cr3t");
}

static void test_token(void) {
    unsetenv("http_proxy");
    unsetenv("https_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("HTTPS_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    /* right token: sent as x-access-token, once; the 404 is the fake's */
    token_case("s3cr3t", "m-token-ok", "404", 1);
    token_case("wrongtoken", "m-token-bad",
               "rejected the token in "
               "$DEPLOYBOT_TEST_TOKEN",
               0);
    token_case(NULL, "m-token-unset", "set $DEPLOYBOT_TEST_TOKEN", 0);
    unsetenv("DEPLOYBOT_TEST_TOKEN");
}

static void test_real_repo(void) {
    char c0[41], c4[41], c5b[41], c7[41], head[41];
    errinfo err = {0};
    cfgrepo *r;

    snprintf(origin, sizeof origin, "%s/origin", tmp);
    snprintf(mirror, sizeof mirror, "%s/data/mirror.git", tmp);
    if (make_origin(c0) < 0) {
        CHECK(!"origin repository created");
        return;
    }
    r = cfgrepo_open(origin, mirror, NULL, &err);
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "cfgrepo_open: %s\n", err.msg);
        return;
    }
    test_branch_head(r, c0, c0);
    test_new_branch(r, c0);
    test_linear(r, c0, c4);
    test_force_push(r, c4, c5b);
    test_unknown_and_deleted(r, c5b, c7);
    test_pull_request(r, c7);
    test_missing_commit(r);
    test_pull_ref(r);
    sh_out(head, sizeof head, "git -C '%s' rev-parse main", origin);
    test_prune_and_reopen(&r, head);
    cfgrepo_close(r);
    test_open_errors();
    test_concurrent();
    test_token();
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/test_changes.XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_parse_ok();
    test_parse_errors();
    test_rules();
    test_real_repo();
    git_libgit2_shutdown();
    if (getenv("KEEP_TMP"))
        fprintf(stderr, "kept %s\n", tmp);
    else
        sh("rm -rf '%s'", tmp);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
