/* test_validate: validate_dir on the shipped config repository and on a
 * temp copy with a broken template, and the stack rules it relies on
 * (zones, load balancer certificate, DNS, instance type). */
#include "deploy/stack.h"
#include "deploy/validate.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE \
    "{\"region\":\"eu-west-1\",\"vpc_cidr\":\"10.10.0.0/16\"," \
    "\"public_subnet_cidrs\":[\"10.10.0.0/24\",\"10.10.1.0/24\"]," \
    "\"private_subnet_cidrs\":[\"10.10.10.0/24\",\"10.10.11.0/24\"]," \
    "\"office_cidrs\":[\"203.0.113.0/24\"],"

static char *load_errors(const char *json) {
    stack s;
    char *errors = NULL;
    if (stack_load(json, strlen(json), "s.json", "dev", &s, &errors, NULL) == 0) {
        stack_free(&s);
        return NULL;
    }
    return errors;
}

static void expect_ok(const char *json) {
    char *errors = load_errors(json);
    CHECK(errors == NULL);
    if (errors) fprintf(stderr, "unexpected: %s", errors);
    free(errors);
}

static void expect(const char *json, const char *want) {
    char *errors = load_errors(json);
    CHECK_CONTAINS(errors, want);
    free(errors);
}

#define AZS "\"availability_zones\":[\"eu-west-1a\",\"eu-west-1b\"]"

static void test_stack_rules(void) {
    expect_ok(BASE AZS "}");
    expect_ok(BASE AZS
              ",\"instance_type\":\"m7g.2xlarge\",\"zone_id\":\"Z0123ABC\","
              "\"record_name\":\"dify.example.com\",\"certificate_arn\":"
              "\"arn:aws:acm:eu-west-1:123456789012:certificate/abc\"}");
    expect_ok(BASE AZS ",\"instance_type\":\"c7i.metal-48xl\",\"zone_id\":null,\"record_name\":null}");

    expect(BASE "\"availability_zones\":[\"eu-west-1a\"],\"instance_count\":0}",
           "s.json:availability_zones: expected 2 to 6 entries, got 1");
    expect(BASE "\"availability_zones\":[\"eu-west-1a\",\"eu-west-1a\"]}",
           "s.json:availability_zones[1]: \"eu-west-1a\" is listed twice");
    expect(BASE "\"availability_zones\":[\"eu-west-1a\",\"us-east-1b\"]}",
           "s.json:availability_zones[1]: \"us-east-1b\" is not a zone of region eu-west-1");
    expect(BASE AZS ",\"instance_type\":\"t3medium\"}",
           "s.json:instance_type: \"t3medium\" is not an EC2 instance type");
    expect(BASE AZS ",\"instance_type\":\"T3.Medium\"}", "s.json:instance_type:");
    expect(BASE AZS ",\"instance_type\":\"t3.medium.x\"}", "s.json:instance_type:");
    expect(BASE AZS ",\"record_name\":\"dify.example.com\"}", "s.json:record_name: requires zone_id");
    expect(BASE AZS ",\"zone_id\":\"Z0123\",\"record_name\":null}", "s.json:zone_id: requires record_name");
    expect(BASE AZS ",\"zone_id\":\"/hostedzone/Z0123\",\"record_name\":\"a.example.com\"}",
           "s.json:zone_id: \"/hostedzone/Z0123\" is not a Route53 hosted zone id");
    expect(BASE AZS ",\"zone_id\":\"Z0123\",\"record_name\":\"a b\"}",
           "s.json:record_name: \"a b\" is not a DNS name");
    expect(BASE AZS ",\"certificate_arn\":\"arn:aws:iam::1:server-certificate/x\"}",
           "s.json:certificate_arn: \"arn:aws:iam::1:server-certificate/x\" is not an ACM certificate ARN");
    expect(BASE AZS ",\"certificate_arn\":\"arn:aws:acm:eu-west-10:1:certificate/x\"}",
           "s.json:certificate_arn: the certificate is not in region eu-west-1");
    /* the rules run even when other keys are wrong: all problems at once */
    char *errors = load_errors(BASE AZS ",\"instance_count\":\"2\",\"instance_type\":\"big\"}");
    CHECK_CONTAINS(errors, "s.json:instance_count: expected an integer");
    CHECK_CONTAINS(errors, "s.json:instance_type: \"big\" is not an EC2 instance type");
    free(errors);
}

static void test_shipped(void) {
    const char *src = getenv("DEPLOYBOT_SOURCE_DIR");
    char dir[1024], *report;
    snprintf(dir, sizeof dir, "%s/deploy-configs", src ? src : ".");
    CHECK(validate_dir(dir, &report) == 0);
    CHECK_STR(report, "ok: 3 environments valid\n");
    free(report);
}

/* A template problem is the same for every environment: reported once. */
static void test_template_problem_once(void) {
    const char *src = getenv("DEPLOYBOT_SOURCE_DIR");
    char tmp[] = "/tmp/deploybot-validate-XXXXXX", cmd[2400], *report;
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return;
    }
    snprintf(cmd, sizeof cmd,
             "cp -r '%s/deploy-configs/.' '%s' && "
             "printf 'echo ${nope}\\n' >> '%s/modules/dify/user_data.sh'",
             src ? src : ".", tmp, tmp);
    CHECK(system(cmd) == 0);
    CHECK(validate_dir(tmp, &report) == 1);
    CHECK_CONTAINS(report, "modules/dify/user_data.sh:");
    CHECK_CONTAINS(report, ": template variable ${nope} has no value\n");
    CHECK(strchr(report, '\n') == report + strlen(report) - 1); /* one line */
    free(report);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
}

int main(void) {
    test_stack_rules();
    test_shipped();
    test_template_problem_once();
    return CHECK_DONE();
}
