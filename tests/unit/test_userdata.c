/* test_userdata: rendering the user-data template — the real one from
 * deploy-configs (and bash -n on the result), missing variables reported
 * with file and line, shell syntax left alone, unsafe values refused, the
 * EC2 size limit, and a hash that depends on the text only. */
#include "deploy/userdata.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const userdata_var DEV[] = {
    {"env", "dev"},
    {"data_volume_id", "vol-0123456789abcdef0"},
    {"data_mount", "/data"},
};
#define N_DEV (sizeof DEV / sizeof DEV[0])

static char *read_template(size_t *len) {
    const char *src = getenv("DEPLOYBOT_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/deploy-configs/%s", src ? src : ".", USERDATA_TEMPLATE);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    char *buf = malloc(1 << 16);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Line (1-based) of the first occurrence of `needle` in `text`. */
static int line_of(const char *text, const char *needle) {
    const char *p = strstr(text, needle);
    int line = 1;
    for (const char *q = text; p && q < p; q++) line += *q == '\n';
    return p ? line : -1;
}

static int shell_ok(const char *text, size_t len, const char *tool) {
    char path[] = "/tmp/deploybot-userdata-XXXXXX", cmd[256];
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) return 0;
    close(fd);
    snprintf(cmd, sizeof cmd, "%s %s", tool, path);
    int rc = system(cmd);
    unlink(path);
    return rc == 0;
}

static void test_real_template(void) {
    size_t len;
    char *tmpl = read_template(&len);
    userdata u;
    char *errors = NULL;
    CHECK(userdata_render(tmpl, len, USERDATA_TEMPLATE, DEV, N_DEV, &u, &errors, NULL) == 0);
    CHECK(errors == NULL);
    if (errors) fprintf(stderr, "%s", errors);
    CHECK_CONTAINS(u.text, "for deploybot environment dev.\n");
    CHECK_CONTAINS(u.text, "ENVIRONMENT=\"dev\"\n");
    CHECK_CONTAINS(u.text, "DATA_VOLUME_ID=\"vol-0123456789abcdef0\"\n");
    CHECK_CONTAINS(u.text, "DATA_MOUNT=\"/data\"\n");
    CHECK_CONTAINS(u.text, "local serial=\"${DATA_VOLUME_ID/-/}\" dev"); /* bash's, kept */
    CHECK(strstr(u.text, "${env}") == NULL && strstr(u.text, "${data_mount}") == NULL);
    CHECK(u.len == strlen(u.text) && u.len <= USERDATA_MAX_BYTES);
    CHECK(strncmp(u.text, "#!/bin/bash\n", 12) == 0);

    /* It is a valid script (and shellcheck-clean where shellcheck exists). */
    CHECK(shell_ok(u.text, u.len, "bash -n"));
    if (system("command -v shellcheck >/dev/null 2>&1") == 0)
        CHECK(shell_ok(u.text, u.len, "shellcheck -S warning"));

    /* Without data_mount: an error with file and line. */
    char want[200];
    snprintf(want, sizeof want, "%s:%d: template variable ${data_mount} has no value\n",
             USERDATA_TEMPLATE, line_of(tmpl, "${data_mount}"));
    userdata_free(&u);
    CHECK(userdata_render(tmpl, len, USERDATA_TEMPLATE, DEV, N_DEV - 1, &u, &errors, NULL) == -1);
    CHECK_STR(errors, want);
    CHECK(u.text == NULL);
    free(errors);
    free(tmpl);
}

static void test_missing_each_once(void) {
    const char *t = "#!/bin/sh\necho ${foo}\necho ${foo} ${bar} ${env}\n";
    userdata u;
    char *errors;
    CHECK(userdata_render(t, strlen(t), "t.sh", DEV, N_DEV, &u, &errors, NULL) == -1);
    CHECK_STR(errors,
              "t.sh:2: template variable ${foo} has no value\n"
              "t.sh:3: template variable ${bar} has no value\n");
    free(errors);
    const userdata_var empty[] = {{"foo", ""}, {"bar", NULL}, {"env", "dev"}};
    CHECK(userdata_render(t, strlen(t), "t.sh", empty, 3, &u, &errors, NULL) == -1);
    CHECK_CONTAINS(errors, "t.sh:2: template variable ${foo} has no value");
    CHECK_CONTAINS(errors, "t.sh:3: template variable ${bar} has no value");
    free(errors);
}

/* Only ${lower_snake} is ours; everything else is the shell's. */
static void test_other_syntax_kept(void) {
    const char *t =
        "${HOME} ${X:-y} ${VAR/-/} $env ${ env} ${Env} ${env-x} ${env:-x} "
        "${2} $(date) $${lower} $$ ${ ${env";
    const char *want =
        "${HOME} ${X:-y} ${VAR/-/} $env ${ env} ${Env} ${env-x} ${env:-x} "
        "${2} $(date) ${lower} $$ ${ ${env";
    userdata u;
    char *errors;
    CHECK(userdata_render(t, strlen(t), "t.sh", DEV, N_DEV, &u, &errors, NULL) == 0);
    CHECK_STR(u.text, want);
    userdata_free(&u);
    CHECK(userdata_render("${env}${env}", 12, "t.sh", DEV, N_DEV, &u, &errors, NULL) == 0);
    CHECK_STR(u.text, "devdev");
    userdata_free(&u);
    CHECK(userdata_render("", 0, "t.sh", NULL, 0, &u, &errors, NULL) == 0);
    CHECK_STR(u.text, "");
    CHECK_STR(u.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    userdata_free(&u);
    userdata_free(NULL);
}

static void test_unsafe_values(void) {
    const char *t = "A=\"${env}\"\nB=${env}\n";
    const char *bad[] = {"dev\"; rm -rf /; \"", "$(id)", "a b", "x`y`", "a\nb", "a\\b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        userdata_var v = {"env", bad[i]};
        userdata u;
        char *errors;
        CHECK(userdata_render(t, strlen(t), "t.sh", &v, 1, &u, &errors, NULL) == -1);
        CHECK_CONTAINS(errors, "t.sh:1: template variable ${env} is \"");
        CHECK_CONTAINS(errors, "values may only contain letters, digits and");
        CHECK(strstr(errors, "t.sh:2:") == NULL); /* once */
        free(errors);
    }
}

static void test_size_limit(void) {
    size_t n = USERDATA_MAX_BYTES + 1;
    char *t = malloc(n + 1);
    memset(t, '#', n);
    t[n] = '\0';
    userdata u;
    char *errors;
    CHECK(userdata_render(t, n, "big.sh", NULL, 0, &u, &errors, NULL) == -1);
    CHECK_CONTAINS(errors, "big.sh: the rendered script is 16385 bytes, but EC2 accepts at most 16384");
    free(errors);
    CHECK(userdata_render(t, n - 1, "big.sh", NULL, 0, &u, &errors, NULL) == 0);
    userdata_free(&u);
    free(t);
}

static void test_hash(void) {
    const char *t = "echo ${env}\n";
    userdata a, b, c;
    char *errors;
    userdata_var prd = {"env", "prd"};
    CHECK(userdata_render(t, strlen(t), "t.sh", DEV, N_DEV, &a, &errors, NULL) == 0);
    CHECK(userdata_render(t, strlen(t), "other.sh", DEV, N_DEV, &b, &errors, NULL) == 0);
    CHECK(userdata_render(t, strlen(t), "t.sh", &prd, 1, &c, &errors, NULL) == 0);
    /* sha256("echo dev\n"): the hash is of the rendered text, nothing else */
    CHECK_STR(a.sha256, "811d9ed6af2e719ce6e5d76dcfca6b69a257505338863b8df732d796290ed915");
    CHECK_STR(a.sha256, b.sha256);
    CHECK(strcmp(a.sha256, c.sha256) != 0);
    userdata_free(&a);
    userdata_free(&b);
    userdata_free(&c);
}

static void test_stack_vars(void) {
    const char *json =
        "{\"region\":\"eu-west-1\",\"vpc_cidr\":\"10.10.0.0/16\","
        "\"availability_zones\":[\"eu-west-1a\",\"eu-west-1b\"],"
        "\"public_subnet_cidrs\":[\"10.10.0.0/24\",\"10.10.1.0/24\"],"
        "\"private_subnet_cidrs\":[\"10.10.10.0/24\",\"10.10.11.0/24\"],"
        "\"office_cidrs\":[\"203.0.113.0/24\"]}";
    stack s;
    char *errors = NULL;
    CHECK(stack_load(json, strlen(json), "stack.json", "stg", &s, &errors, NULL) == 0);
    userdata_var vars[USERDATA_MAX_VARS];
    size_t n = userdata_stack_vars(&s, "vol-0abc", vars);
    const char *t = "${env} ${data_volume_id} ${data_mount}";
    userdata u;
    CHECK(userdata_render(t, strlen(t), "t.sh", vars, n, &u, &errors, NULL) == 0);
    CHECK_STR(u.text, "stg vol-0abc " USERDATA_DATA_MOUNT);
    userdata_free(&u);
    stack_free(&s);
}

int main(void) {
    test_real_template();
    test_missing_each_once();
    test_other_syntax_kept();
    test_unsafe_values();
    test_size_limit();
    test_hash();
    test_stack_vars();
    return CHECK_DONE();
}
