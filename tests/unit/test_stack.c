/* stack.json validation and the desired network graph. */
#include "deploy/stack.h"
#include "deploy/stack_layers.h"
#include "check.h"

#include <stdlib.h>

static const char *GOOD =
    "{\"region\":\"eu-west-1\",\"vpc_cidr\":\"10.10.0.0/16\","
    "\"availability_zones\":[\"eu-west-1a\",\"eu-west-1b\"],"
    "\"public_subnet_cidrs\":[\"10.10.0.0/24\",\"10.10.1.0/24\"],"
    "\"private_subnet_cidrs\":[\"10.10.10.0/24\",\"10.10.11.0/24\"],"
    "\"office_cidrs\":[\"203.0.113.0/24\"]}";

static void test_valid(void) {
    stack s;
    char *errors = NULL;
    CHECK(stack_load(GOOD, strlen(GOOD), "environments/dev/stack.json", "dev", &s, &errors, NULL) == 0);
    CHECK(errors == NULL);
    CHECK_STR(stack_region(&s), "eu-west-1");
    CHECK(json_integer_value(json_object_get(s.root, "instance_count")) == 1); /* default */
    resource_set rs = {0};
    stack_resources(&s, &rs);
    CHECK(rs.n == 11 + 4 + 6); /* vpc, igw, 4 subnets, public + 2 private route tables, 2 groups;
                              compute (1 instance): launch template, instance, volume, attachment;
                              edge: role, profile, load balancer, target group, listener, registration */
    CHECK(resource_set_find(&rs, "route_table.private_b") != NULL);
    CHECK(resource_set_find(&rs, "nat_gateway.a") == NULL); /* enable_nat_gateway defaults to false */
    resource *sub = resource_set_find(&rs, "subnet.private_b");
    CHECK(sub != NULL);
    if (sub) {
        CHECK_STR(json_string_value(json_object_get(sub->attrs, "availability_zone")), "eu-west-1b");
        CHECK_STR(resource_ref_id(json_object_get(sub->attrs, "vpc")), "vpc.main");
    }
    resource *app = resource_set_find(&rs, "security_group.app");
    CHECK(app != NULL);
    if (app) {
        json_t *rule = json_array_get(json_object_get(app->attrs, "ingress"), 0);
        CHECK_STR(resource_ref_id(json_array_get(json_object_get(rule, "source_groups"), 0)),
                  "security_group.alb");
        CHECK(json_array_size(json_object_get(rule, "cidrs")) == 0);
    }
    resource_set_free(&rs);
    stack_free(&s);
}

static void expect_errors(const char *json, const char *const *want, size_t n) {
    stack s;
    char *errors = NULL;
    CHECK(stack_load(json, strlen(json), "environments/dev/stack.json", "dev", &s, &errors, NULL) != 0);
    for (size_t i = 0; i < n; i++) CHECK_CONTAINS(errors, want[i]);
    free(errors);
}

static void test_errors_all_at_once(void) {
    const char *bad =
        "{\"vpc_cidr\":\"10.10.0.0/33\",\"availability_zones\":[\"eu-west-1a\"],"
        "\"public_subnet_cidrs\":[\"10.10.0.0/24\",\"nope\"],\"private_subnet_cidrs\":[],"
        "\"instance_count\":\"2\",\"data_volume_size\":0,\"colour\":\"blue\"}";
    const char *want[] = {
        "environments/dev/stack.json:vpc_cidr: expected an IPv4 CIDR",
        "environments/dev/stack.json:availability_zones: expected 2 to 6 entries, got 1",
        "environments/dev/stack.json:public_subnet_cidrs[1]: \"nope\" is not a valid IPv4 CIDR",
        "environments/dev/stack.json:office_cidrs: required key is missing",
        "environments/dev/stack.json:instance_count: expected an integer",
        "environments/dev/stack.json:data_volume_size: 0 is out of range 1..16384",
        "environments/dev/stack.json:colour: unknown key",
    };
    expect_errors(bad, want, sizeof(want) / sizeof(want[0]));
}

static void test_cross_checks(void) {
    const char *bad =
        "{\"vpc_cidr\":\"10.10.0.0/16\",\"availability_zones\":[\"a\",\"b\"],"
        "\"public_subnet_cidrs\":[\"10.10.0.0/24\",\"10.99.1.0/24\"],"
        "\"private_subnet_cidrs\":[\"10.10.10.0/24\",\"10.10.11.0/24\",\"10.10.12.0/24\"],"
        "\"office_cidrs\":[\"203.0.113.5/24\"]}";
    const char *want[] = {
        /* the network checks run whatever else is wrong */
        "office_cidrs[0]: \"203.0.113.5/24\" is not a valid IPv4 CIDR",
        "public_subnet_cidrs[1]: 10.99.1.0/24 is not inside vpc_cidr 10.10.0.0/16",
    };
    expect_errors(bad, want, 2);
    const char *bad2 =
        "{\"vpc_cidr\":\"10.10.0.0/16\",\"availability_zones\":[\"a\",\"b\"],"
        "\"public_subnet_cidrs\":[\"10.10.0.0/24\",\"10.99.1.0/24\"],"
        "\"private_subnet_cidrs\":[\"10.10.10.0/24\",\"10.10.11.0/24\",\"10.10.12.0/24\"],"
        "\"office_cidrs\":[\"203.0.113.0/24\"]}";
    const char *want2[] = {
        "public_subnet_cidrs[1]: 10.99.1.0/24 is not inside vpc_cidr 10.10.0.0/16",
        "private_subnet_cidrs: has 3 entries but availability_zones has 2",
    };
    expect_errors(bad2, want2, 2);
    /* What AWS refuses of a network: sizes, overlaps, a rule twice. */
    const char *bad3 =
        "{\"vpc_cidr\":\"10.0.0.0/8\",\"availability_zones\":[\"a\",\"b\"],"
        "\"public_subnet_cidrs\":[\"10.10.0.0/24\",\"10.10.0.0/29\"],"
        "\"private_subnet_cidrs\":[\"10.10.10.0/24\",\"10.10.0.0/16\"],"
        "\"office_cidrs\":[\"203.0.113.0/24\",\"203.0.113.0/24\"]}";
    const char *want_aws[] = {
        "vpc_cidr: 10.0.0.0/8: AWS takes VPCs from /16 to /28",
        "public_subnet_cidrs[1]: 10.10.0.0/29: AWS takes subnets from /16 to /28",
        "public_subnet_cidrs[1]: 10.10.0.0/29 overlaps public_subnet_cidrs[0] 10.10.0.0/24",
        "private_subnet_cidrs[1]: 10.10.0.0/16 overlaps public_subnet_cidrs[0] 10.10.0.0/24",
        "private_subnet_cidrs[1]: 10.10.0.0/16 overlaps public_subnet_cidrs[1] 10.10.0.0/29",
        "private_subnet_cidrs[1]: 10.10.0.0/16 overlaps private_subnet_cidrs[0] 10.10.10.0/24",
        "office_cidrs[1]: \"203.0.113.0/24\" is listed twice",
    };
    expect_errors(bad3, want_aws, sizeof(want_aws) / sizeof(want_aws[0]));
    const char *want3[] = {"environments/dev/stack.json:1:"};
    expect_errors("{\"vpc_cidr\": ", want3, 1);
}

/* skip_final_snapshot and prevent_destroy: optional booleans, false by default. */
static void test_data_flags(void) {
    stack s;
    char *errors = NULL;
    CHECK(stack_load(GOOD, strlen(GOOD), "environments/dev/stack.json", "dev", &s, &errors, NULL) == 0);
    CHECK(!stack_flag(&s, "skip_final_snapshot") && !stack_flag(&s, "prevent_destroy"));
    stack_free(&s);
    char on[1024];
    snprintf(on, sizeof(on), "%.*s,\"skip_final_snapshot\":true,\"prevent_destroy\":true}",
             (int)strlen(GOOD) - 1, GOOD);
    CHECK(stack_load(on, strlen(on), "environments/dev/stack.json", "dev", &s, &errors, NULL) == 0);
    CHECK(stack_flag(&s, "skip_final_snapshot") && stack_flag(&s, "prevent_destroy"));
    stack_free(&s);
    snprintf(on, sizeof(on), "%.*s,\"skip_final_snapshot\":\"yes\",\"prevent_destroy\":1}",
             (int)strlen(GOOD) - 1, GOOD);
    const char *want[] = {"environments/dev/stack.json:skip_final_snapshot: expected true or false",
                          "environments/dev/stack.json:prevent_destroy: expected true or false"};
    expect_errors(on, want, 2);
}

/* A stack without "region" gets the one envrun resolved, and its zones, AMI
 * and certificate are checked against it; one with its own keeps it. */
static void test_set_region(void) {
    static const char *NO_REGION =
        "{\"vpc_cidr\":\"10.10.0.0/16\",\"availability_zones\":[\"eu-west-1a\",\"eu-west-1b\"],"
        "\"public_subnet_cidrs\":[\"10.10.0.0/24\",\"10.10.1.0/24\"],"
        "\"private_subnet_cidrs\":[\"10.10.10.0/24\",\"10.10.11.0/24\"],"
        "\"office_cidrs\":[\"203.0.113.0/24\"]}";
    stack s;
    char *errors = NULL;
    errinfo err;
    CHECK(stack_load(NO_REGION, strlen(NO_REGION), "environments/dev/stack.json", "dev", &s, &errors, NULL) == 0);
    CHECK(stack_region(&s) == NULL);
    CHECK(stack_set_region(&s, "us-east-1", "environments/dev/stack.json", &errors, &err) == -1);
    CHECK(errors && strstr(errors,
                           "environments/dev/stack.json:availability_zones[0]: \"eu-west-1a\" is not a "
                           "zone of region us-east-1"));
    CHECK(errors && strstr(errors, "environments/dev/stack.json:ami_id: required in region us-east-1"));
    CHECK(err.code == ERR_INVALID && stack_region(&s) == NULL);
    free(errors);
    CHECK(stack_set_region(&s, "eu-west-1", "environments/dev/stack.json", &errors, &err) == 0);
    CHECK(errors == NULL);
    CHECK_STR(stack_region(&s), "eu-west-1");
    CHECK(stack_set_region(&s, "us-east-1", "environments/dev/stack.json", &errors, &err) == 0);
    CHECK_STR(stack_region(&s), "eu-west-1");
    stack_free(&s);
}

static void test_cidr(void) {
    unsigned base;
    int prefix;
    CHECK(stack_cidr_parse("10.0.0.0/8", &base, &prefix) && base == 0x0a000000u && prefix == 8);
    CHECK(stack_cidr_parse("0.0.0.0/0", &base, &prefix) && prefix == 0);
    CHECK(!stack_cidr_parse("10.0.0.1/8", NULL, NULL));
    CHECK(!stack_cidr_parse("256.0.0.0/8", NULL, NULL));
    CHECK(!stack_cidr_parse("10.0.0.0", NULL, NULL));
    CHECK(!stack_cidr_parse("10.0.0.0/16x", NULL, NULL));
}

int main(void) {
    test_valid();
    test_errors_all_at_once();
    test_cross_checks();
    test_data_flags();
    test_set_region();
    test_cidr();
    return CHECK_DONE();
}
