/* stack_edge: the desired graph of the stack's edge — the instances' IAM role
 * and instance profile, the application load balancer with its target group,
 * listeners and target registrations, and the Route53 alias record. */
#include "deploy/stack_layers.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define SSM_POLICY "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
#define SSL_POLICY "ELBSecurityPolicy-TLS13-1-2-2021-06" /* TLS 1.2+, AWS's recommended policy */
#define ELB_NAME_MAX 32                                  /* load balancer and target group names */

/* The health check of the seed (DESIGN.md): Dify's /apps answers 200 once it
 * is up; a slow first start is given 5 x 30 s before the target is marked
 * unhealthy, and 2 good answers bring it back. AWS wants timeout < interval. */
#define HEALTH_HEALTHY 2
#define HEALTH_UNHEALTHY 5
#define HEALTH_TIMEOUT_S 20
#define HEALTH_INTERVAL_S 30

static const char *opt(const stack *s, const char *key) {
    return json_string_value(json_object_get(s->root, key));
}

/* "deploybot-<env><suffix>", at most 32 characters: a long environment name
 * is cut and ends in a hash of itself, so names stay unique and stable. */
static void elb_name(const stack *s, const char *suffix, char *out, size_t n) {
    snprintf(out, n, "deploybot-%s%s", s->env, suffix);
    if (strlen(out) <= ELB_NAME_MAX) return;
    unsigned h = 2166136261u; /* FNV-1a */
    for (const char *p = s->env; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    int keep = ELB_NAME_MAX - (int)strlen("deploybot-") - (int)strlen(suffix) - 5;
    snprintf(out, n, "deploybot-%.*s-%04x%s", keep, s->env, h & 0xffff, suffix);
}

static void add_iam(resource_set *out) {
    json_t *trust = json_pack("{s:s,s:[{s:s,s:{s:s},s:s}]}", "Version", "2012-10-17", "Statement",
                              "Effect", "Allow", "Principal", "Service", "ec2.amazonaws.com",
                              "Action", "sts:AssumeRole");
    resource_set_add(out, "iam_role", "iam_role.app", NULL,
                     json_pack("{s:o,s:[s]}", "assume_role_policy", trust, "managed_policies", SSM_POLICY));
    resource_set_add(out, "instance_profile", "instance_profile.main", NULL,
                     json_pack("{s:o}", "role", resource_ref("iam_role.app")));
}

static void add_load_balancer(const stack *s, resource_set *out) {
    char name[64];
    json_t *subnets = json_array();
    for (size_t i = 0; i < json_array_size(json_object_get(s->root, "public_subnet_cidrs")); i++) {
        char id[32];
        snprintf(id, sizeof(id), "subnet.public_%c", (char)('a' + i));
        json_array_append_new(subnets, resource_ref(id));
    }
    elb_name(s, "", name, sizeof(name));
    resource_set_add(out, "load_balancer", "load_balancer.main", NULL,
                     json_pack("{s:s,s:s,s:s,s:o,s:o,s:[o],s:o}", "name", name, "scheme", "internet-facing",
                               "type", "application", "vpc", resource_ref("vpc.main"), "subnets", subnets,
                               "security_groups", resource_ref("security_group.alb"),
                               "internet_gateway", resource_ref("internet_gateway.main")));
    elb_name(s, "-app", name, sizeof(name));
    resource_set_add(out, "target_group", "target_group.app", NULL,
                     json_pack("{s:s,s:s,s:i,s:o,s:s,s:s,s:s,s:i,s:i,s:i,s:i}", "name", name, "protocol", "HTTP",
                               "port", 80, "vpc", resource_ref("vpc.main"), "target_type", "instance",
                               "health_check_path", "/apps", "health_check_matcher", "200",
                               "health_check_healthy_threshold", HEALTH_HEALTHY, "health_check_unhealthy_threshold",
                               HEALTH_UNHEALTHY, "health_check_timeout", HEALTH_TIMEOUT_S,
                               "health_check_interval", HEALTH_INTERVAL_S));
}

/* With a certificate: HTTPS on 443 forwarding, HTTP on 80 redirecting to it
 * (a redirect has no target group: adding the certificate changes
 * listener.http in place). Without: HTTP on 80 forwarding. */
static void add_listeners(const stack *s, resource_set *out) {
    const char *cert = opt(s, "certificate_arn");
    json_t *http = json_pack("{s:o,s:i,s:s}", "load_balancer", resource_ref("load_balancer.main"),
                             "port", 80, "protocol", "HTTP");
    if (cert) {
        json_object_set_new(http, "default_action",
                            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "type", "redirect", "protocol", "HTTPS",
                                      "port", "443", "host", "#{host}", "path", "/#{path}", "query", "#{query}",
                                      "status_code", "HTTP_301"));
        resource_set_add(out, "listener", "listener.https", NULL,
                         json_pack("{s:o,s:i,s:s,s:[s],s:s,s:{s:s},s:o}", "load_balancer",
                                   resource_ref("load_balancer.main"), "port", 443, "protocol", "HTTPS",
                                   "certificates", cert, "ssl_policy", SSL_POLICY,
                                   "default_action", "type", "forward",
                                   "target_group", resource_ref("target_group.app")));
    } else {
        json_object_set_new(http, "default_action", json_pack("{s:s}", "type", "forward"));
        json_object_set_new(http, "target_group", resource_ref("target_group.app"));
    }
    resource_set_add(out, "listener", "listener.http", NULL, http);
}

/* One registration per instance.app_<i>, i = 1..instance_count (built by
 * stack_compute.c, which comes later in stack_resources: references are by
 * name, so order does not matter). */
static void add_registrations(const stack *s, resource_set *out) {
    json_int_t count = json_integer_value(json_object_get(s->root, "instance_count"));
    for (json_int_t i = 1; i <= count; i++) {
        char id[64], inst[64];
        snprintf(id, sizeof(id), "target_registration.app_%lld", (long long)i);
        snprintf(inst, sizeof(inst), "instance.app_%lld", (long long)i);
        resource_set_add(out, "target_registration", id, NULL,
                         json_pack("{s:o,s:o,s:i}", "target_group", resource_ref("target_group.app"),
                                   "instance", resource_ref(inst), "port", 80));
    }
}

/* Route53 answers names in lower case with a trailing dot: so are they here. */
static void add_dns(const stack *s, resource_set *out) {
    const char *zone = opt(s, "zone_id"), *record = opt(s, "record_name");
    if (!zone || !record) return;
    char name[300];
    size_t n = 0;
    for (const char *p = record; *p && n + 2 < sizeof(name); p++) name[n++] = (char)tolower((unsigned char)*p);
    if (n == 0 || name[n - 1] != '.') name[n++] = '.';
    name[n] = '\0';
    resource *r = resource_set_add(out, "dns_record", "dns_record.main", NULL,
                                   json_pack("{s:s,s:s,s:s,s:o,s:b}", "zone", zone, "name", name, "type", "A",
                                             "load_balancer", resource_ref("load_balancer.main"),
                                             "evaluate_target_health", 0));
    /* For the plan's check that the name is free or already deploybot's. */
    char lb[64];
    elb_name(s, "", lb, sizeof(lb));
    r->extra = json_pack("{s:s}", "load_balancer_name", lb);
}

void stack_edge_resources(const stack *s, resource_set *out) {
    add_iam(out);
    add_load_balancer(s, out);
    add_listeners(s, out);
    add_registrations(s, out);
    add_dns(s, out);
}
