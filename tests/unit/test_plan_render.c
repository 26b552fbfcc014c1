/* Golden-file tests of the plan's text (deploy/plan_render.h): each case
 * renders a plan and compares it, byte for byte, with
 * tests/golden/plan_render/<case>.txt; every line of every case is also
 * checked to be at most PLAN_RENDER_WIDTH columns wide.
 *
 * After a deliberate change of the format, regenerate the files and review
 * the diff before committing it:
 *
 *     DEPLOYBOT_GOLDEN_UPDATE=1 DEPLOYBOT_SOURCE_DIR=$PWD build/test_plan_render
 *     git diff tests/golden/
 */
#include "deploy/plan_render.h"
#include "deploy/safeguard.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

#define SECRET "s3cr3t-value-from-env"
#define CERT_ARN "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
#define LISTENER_ARN \
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/deploybot-dev-alb/" \
    "50dc6c495c0c9188/0467ef3c8400ae65"

static int has_secret(void *arg, const char *text) {
    (void)arg;
    return strstr(text, SECRET) != NULL;
}

/* Columns of the widest line, colour sequences not counted. */
static size_t widest(const char *text) {
    size_t max = 0, cols = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\033') {
            p += strcspn(p, "m");
            continue;
        }
        if (*p == '\n') cols = 0;
        else cols += ((unsigned char)*p & 0xC0) != 0x80;
        if (cols > max) max = cols;
    }
    return max;
}

static void golden(const char *name, const char *text) {
    char path[1024];
    const char *src = getenv("DEPLOYBOT_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/tests/golden/plan_render/%s.txt", src ? src : ".", name);
    CHECK(widest(text) <= PLAN_RENDER_WIDTH);
    if (getenv("DEPLOYBOT_GOLDEN_UPDATE")) {
        FILE *f = fopen(path, "w");
        CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
        return;
    }
    size_t len;
    errinfo err;
    char *want = fs_read_file(path, &len, &err);
    if (!want) fprintf(stderr, "%s: %s\n", name, err.msg);
    else if (strcmp(want, text) != 0) fprintf(stderr, "%s differs from %s; got:\n%s", name, path, text);
    CHECK(want && strcmp(want, text) == 0);
    free(want);
}

static char *render_items(plan *p, int color, int list_items) {
    plan_render_opts o = {.color = color, .is_secret = has_secret, .list_items = list_items};
    return plan_render_text(p, &o);
}

static char *render(plan *p, int color) { return render_items(p, color, 0); }

static void check_case_items(const char *name, resource_set *d, resource_set *a, int list_items) {
    plan p;
    resource_set_link(a);
    plan_build(d, a, &p);
    char *text = render_items(&p, 0, list_items);
    golden(name, text);
    free(text);
    plan_free(&p);
}

static void check_case(const char *name, resource_set *d, resource_set *a) {
    check_case_items(name, d, a, 0);
}

static json_t *ingress(int port, const char *cidr) {
    return json_pack("{s:s,s:i,s:i,s:[s]}", "protocol", "tcp", "from_port", port, "to_port", port, "cidrs", cidr);
}

static void test_create(void) {
    resource_set d = {0}, a = {0};
    resource_set_add(&d, "vpc", "vpc.main", NULL, json_pack("{s:s}", "cidr_block", "10.0.0.0/16"));
    resource_set_add(&d, "subnet", "subnet.a", NULL,
                     json_pack("{s:o,s:s,s:b}", "vpc", resource_ref("vpc.main"), "cidr_block", "10.0.1.0/24",
                               "map_public_ip", 1));
    json_t *rules = json_array();
    json_array_append_new(rules, ingress(443, "0.0.0.0/0"));
    json_array_append_new(rules, ingress(80, "0.0.0.0/0"));
    resource_set_add(&d, "security_group", "security_group.alb", NULL,
                     json_pack("{s:o,s:s,s:o}", "vpc", resource_ref("vpc.main"), "name", "alb", "ingress", rules));
    check_case("create", &d, &a);
}

static void test_update(void) {
    resource_set d = {0}, a = {0};
    resource_set_add(&d, "subnet", "subnet.a", NULL,
                     json_pack("{s:s,s:b,s:s}", "cidr_block", "10.0.1.0/24", "map_public_ip", 1, "name", "new"));
    resource_set_add(&a, "subnet", "subnet.a", "subnet-1",
                     json_pack("{s:s,s:b,s:s}", "cidr_block", "10.0.1.0/24", "map_public_ip", 0, "name", "old"));
    check_case("update", &d, &a);
}

static void test_replace(void) {
    resource_set d = {0}, a = {0};
    resource_set_add(&d, "vpc", "vpc.main", NULL, json_pack("{s:s}", "cidr_block", "10.1.0.0/16"));
    resource_set_add(&d, "subnet", "subnet.a", NULL,
                     json_pack("{s:o,s:s}", "vpc", resource_ref("vpc.main"), "cidr_block", "10.1.1.0/24"));
    resource_set_add(&a, "vpc", "vpc.main", "vpc-1", json_pack("{s:s}", "cidr_block", "10.0.0.0/16"));
    resource_set_add(&a, "subnet", "subnet.a", "subnet-1",
                     json_pack("{s:s,s:s}", "vpc", "vpc-1", "cidr_block", "10.0.1.0/24"));
    check_case("replace", &d, &a);
}

static void test_destroy(void) {
    resource_set d = {0}, a = {0};
    resource_set_add(&a, "volume", "volume.data_1", "vol-0123456789abcdef0",
                     json_pack("{s:s,s:i}", "availability_zone", "eu-west-1a", "size", 20));
    resource_set_add(&a, "subnet", "subnet.a", "subnet-1", json_pack("{s:s}", "cidr_block", "10.0.1.0/24"));
    plan p;
    plan_build(&d, &a, &p);
    safeguard_policy pol = {0};
    safeguard_mark(&p, &pol);
    char *text = render(&p, 0);
    golden("destroy", text);
    free(text);
    plan_free(&p);
}

static void test_nested(void) {
    resource_set d = {0}, a = {0};
    resource_set_add(&d, "target_group", "target_group.app", NULL,
                     json_pack("{s:{s:s,s:i,s:{s:s}},s:{s:s,s:s}}", "health_check", "path", "/apps", "interval", 30,
                               "matcher", "http_code", "200", "tags", "Team", "web", "Owner", "ops"));
    resource_set_add(&a, "target_group", "target_group.app", "tg-1",
                     json_pack("{s:{s:s,s:i,s:{s:s}},s:{s:s,s:s}}", "health_check", "path", "/", "interval", 30,
                               "matcher", "http_code", "200-399", "tags", "Team", "web", "Cost", "x"));
    check_case("nested", &d, &a);
}

static json_t *cidrs(int from, int n) {
    json_t *l = json_array();
    for (int i = from; i < from + n; i++) json_array_append_new(l, json_sprintf("10.0.%d.0/24", i));
    return l;
}

/* list_items: how many items of a list show (the "list" case twice). */
static void test_list(int list_items) {
    resource_set d = {0}, a = {0};
    json_t *want = json_array(), *have = json_array();
    json_array_append_new(want, ingress(8443, "203.0.113.0/24"));
    json_array_append_new(want, ingress(443, "0.0.0.0/0"));
    json_array_append_new(have, ingress(443, "0.0.0.0/0"));
    json_array_append_new(have, ingress(80, "0.0.0.0/0"));
    resource_set_add(&d, "security_group", "security_group.alb", NULL,
                     json_pack("{s:o,s:o}", "ingress", want, "allowed", cidrs(0, 14)));
    resource_set_add(&a, "security_group", "security_group.alb", "sg-1",
                     json_pack("{s:o,s:o}", "ingress", have, "allowed", cidrs(12, 3)));
    resource_set_add(&d, "route_table", "route_table.p", NULL, json_pack("{s:o}", "subnets", cidrs(0, 25)));
    check_case_items(list_items ? "list_short" : "list", &d, &a, list_items);
}

static void test_sensitive(void) {
    resource_set d = {0}, a = {0};
    resource_set_add(&d, "target_group", "thing.db", NULL,
                     json_pack("{s:s,s:s,s:{s:s,s:s}}", "db_password", "hunter2", "note", "uses " SECRET " here",
                               "tags", "ApiToken", "abc123", "Name", "db"));
    resource_set_add(&a, "target_group", "thing.db", "db-1",
                     json_pack("{s:s,s:s,s:{s:s,s:s}}", "db_password", "hunter1", "note", "old note",
                               "tags", "ApiToken", "abc122", "Name", "db"));
    resource_set_add(&d, "target_group", "thing.new", NULL,
                     json_pack("{s:s,s:s}", "github_token", "ghp_x", "metadata_http_tokens", "required"));
    check_case("sensitive", &d, &a);
}

/* The lines both scripts share, after the volume's. */
#define SCRIPT_BODY \
    "blkid /dev/xvdf || mkfs -t ext4 /dev/xvdf\n" \
    "mount /dev/xvdf /data\n" \
    "echo one\n" \
    "echo two\n" \
    "echo three\n" \
    "echo four\n"

static const char *const OLD_SCRIPT =
    "#!/bin/bash\n"
    "set -euo pipefail\n"
    "export DB_PASSWORD=hunter1\n"
    "VOLUME=vol-0aaaabbbbccccdddd\n" SCRIPT_BODY "systemctl start dify\n";

static const char *const NEW_SCRIPT =
    "#!/bin/bash\n"
    "set -euo pipefail\n"
    "export DB_PASSWORD=hunter2\n"
    "VOLUME=vol-00000000000000000\n" SCRIPT_BODY
    "curl -H 'Authorization: " SECRET
    "' https://example.com/hook\n"
    "\n"
    "\tsystemctl start dify-api\n";

static void test_user_data(void) {
    resource_set d = {0}, a = {0};
    resource_set_add(&d, "volume", "volume.data_1", NULL, json_pack("{s:i}", "size", 20));
    resource *i = resource_set_add(&d, "instance", "instance.app_1", NULL,
                                   json_pack("{s:s,s:o}", "user_data_sha256", "new-hash", "data_volume",
                                             resource_ref("volume.data_1")));
    i->extra = json_pack("{s:s,s:s}", "user_data", NEW_SCRIPT, "volume_placeholder", "vol-00000000000000000");
    resource_set_add(&a, "volume", "volume.data_1", "vol-0aaaabbbbccccdddd", json_pack("{s:i}", "size", 20));
    i = resource_set_add(&a, "instance", "instance.app_1", "i-0123456789abcdef0",
                         json_pack("{s:s,s:s}", "user_data_sha256", "old-hash", "data_volume",
                                   "vol-0aaaabbbbccccdddd"));
    i->extra = json_pack("{s:s}", "user_data", OLD_SCRIPT); /* as the provider's detail reads it */
    check_case("user_data", &d, &a);
}

static void test_width(void) {
    resource_set d = {0}, a = {0};
    resource_set_add(&d, "listener", "listener.https", NULL,
                     json_pack("{s:i,s:s,s:[s,s]}", "port", 443, "certificate_arn", CERT_ARN "-renewed",
                               "certificates", CERT_ARN, CERT_ARN "-2"));
    resource_set_add(&a, "listener", "listener.https", LISTENER_ARN,
                     json_pack("{s:i,s:s,s:[s]}", "port", 443, "certificate_arn", CERT_ARN, "certificates", CERT_ARN));
    plan p;
    resource_set_link(&a);
    plan_build(&d, &a, &p);
    char *text = render(&p, 0);
    golden("width", text);
    /* Wrapped, never cut: without the breaks and the indentation after
     * them, the lines are whole again. */
    strbuf joined = {0};
    for (const char *s = text; *s; s++)
        if (*s == '\n') s += strspn(s + 1, " ");
        else strbuf_putc(&joined, *s);
    CHECK_CONTAINS(joined.s, "  ~ listener.https (" LISTENER_ARN ") will be updated in place");
    CHECK_CONTAINS(joined.s, "\"" CERT_ARN "-renewed\"");
    strbuf_free(&joined);
    free(text);
    plan_free(&p);
}

static void test_color(void) {
    for (int color = 0; color <= 1; color++) {
        resource_set d = {0}, a = {0};
        resource_set_add(&d, "vpc", "vpc.new", NULL, json_pack("{s:s}", "cidr_block", "10.2.0.0/16"));
        resource_set_add(&d, "subnet", "subnet.a", NULL, json_pack("{s:[s]}", "groups", "b"));
        resource_set_add(&a, "subnet", "subnet.a", "subnet-1", json_pack("{s:[s]}", "groups", "a"));
        resource_set_add(&a, "subnet", "subnet.gone", "subnet-2", json_pack("{s:[s]}", "groups", "a"));
        plan p;
        plan_build(&d, &a, &p);
        char *text = render(&p, color);
        golden(color ? "color_on" : "color_off", text);
        CHECK((strchr(text, '\033') != NULL) == color);
        free(text);
        plan_free(&p);
    }
}

int main(void) {
    test_create();
    test_update();
    test_replace();
    test_destroy();
    test_nested();
    test_list(0);
    test_list(2);
    test_sensitive();
    test_user_data();
    test_width();
    test_color();
    return CHECK_DONE();
}
