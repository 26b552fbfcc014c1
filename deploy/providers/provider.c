/* provider: the registry of resource types, and EC2 helpers they share. */
#include "deploy/providers/provider.h"
#include "deploy/providers/ec2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const provider provider_vpc, provider_subnet, provider_internet_gateway,
    provider_route_table, provider_security_group;
extern const provider provider_eip, provider_nat_gateway, provider_network_acl; /* ec2_nat.c, ec2_nacl.c */
extern const provider provider_launch_template, provider_instance, provider_volume,
    provider_volume_attachment; /* ec2_compute.c */
extern const provider provider_iam_role, provider_instance_profile, /* iam.c */
    provider_load_balancer, provider_target_group, provider_listener,
    provider_target_registration, /* elbv2.c */
    provider_dns_record; /* route53.c */

static const provider *const ALL[] = {
    &provider_vpc, &provider_internet_gateway, &provider_subnet,
    &provider_route_table, &provider_security_group,
    &provider_eip, &provider_nat_gateway, /* after internet gateways: NAT discovery looks them up */
    &provider_network_acl,
    &provider_launch_template, &provider_instance, &provider_volume,
    &provider_volume_attachment, /* reported by volume discovery */
    &provider_iam_role, &provider_instance_profile,
    /* Discovery looks up what came before: the load balancer its internet
     * gateway; listeners and the DNS record their load balancer;
     * registrations their target group and instances. */
    &provider_load_balancer, &provider_target_group, &provider_listener,
    &provider_target_registration, &provider_dns_record,
    NULL,
};

const provider *const *provider_all(void) { return ALL; }

const provider *provider_find(const char *type) {
    for (size_t i = 0; ALL[i]; i++)
        if (strcmp(ALL[i]->type, type) == 0) return ALL[i];
    return NULL;
}

void provider_tag_spec(aws_params *p, const char *prefix, const char *resource_type,
                       const provider_ctx *c, const char *logical_id) {
    char name[256];
    snprintf(name, sizeof(name), "%s-%s", c->stack, strchr(logical_id, '.') ? strchr(logical_id, '.') + 1 : logical_id);
    char k[128];
    snprintf(k, sizeof(k), "%s.ResourceType", prefix);
    aws_params_add(p, k, resource_type);
    const char *keys[] = {"deploybot:stack", "deploybot:id", "Name"};
    const char *vals[] = {c->stack, logical_id, name};
    for (int i = 0; i < 3; i++) {
        snprintf(k, sizeof(k), "%s.Tag.%d.Key", prefix, i + 1);
        aws_params_add(p, k, keys[i]);
        snprintf(k, sizeof(k), "%s.Tag.%d.Value", prefix, i + 1);
        aws_params_add(p, k, vals[i]);
    }
}

void provider_filter_stack(aws_params *p, int index, const provider_ctx *c) {
    char k[64];
    snprintf(k, sizeof(k), "Filter.%d.Name", index);
    aws_params_add(p, k, "tag:deploybot:stack");
    snprintf(k, sizeof(k), "Filter.%d.Value.1", index);
    aws_params_add(p, k, c->stack);
}

const char *provider_tag(const xml_node *item, const char *key) {
    for (xml_node *t = xml_path(item, "tagSet/item"); t; t = xml_next_same(t)) {
        const char *k = xml_path_text(t, "key");
        if (k && strcmp(k, key) == 0) return xml_path_text(t, "value");
    }
    return NULL;
}

int ec2_call(const provider_ctx *c, const char *action, const aws_params *p,
             xml_node **out, aws_error *err) {
    xml_node *doc = NULL;
    aws_params empty = {0};
    int rc = aws_query(c->aws, "ec2", "2016-11-15", action, p ? p : &empty, &doc, err);
    if (rc == 0 && out) *out = doc;
    else xml_free(doc);
    return rc;
}

int ec2_call1(const provider_ctx *c, const char *action, const char *key,
              const char *value, aws_error *err) {
    aws_params p = {0};
    aws_params_add(&p, key, value);
    int rc = ec2_call(c, action, &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

static const char *page_size(void) {
    const char *s = getenv("DEPLOYBOT_AWS_PAGE_SIZE");
    return s && *s ? s : "100"; /* the smallest maximum of the Describe calls used (DescribeRouteTables) */
}

int ec2_describe_tagged(const provider_ctx *c, const char *action, const char *set,
                        ec2_item_fn fn, resource_set *out, aws_error *err) {
    char *token = NULL;
    do {
        aws_params p = {0};
        provider_filter_stack(&p, 1, c);
        aws_params_add(&p, "MaxResults", page_size());
        if (token) aws_params_add(&p, "NextToken", token);
        xml_node *doc = NULL;
        int rc = ec2_call(c, action, &p, &doc, err);
        aws_params_free(&p);
        free(token);
        token = NULL;
        if (rc != 0) return -1;
        xml_node *s = xml_child(doc, set);
        for (xml_node *it = s ? xml_child(s, "item") : NULL; it; it = xml_next_same(it))
            fn(c, it, out);
        const char *next = xml_path_text(doc, "nextToken");
        if (next && *next) token = strdup(next);
        xml_free(doc);
    } while (token);
    return 0;
}

resource *ec2_add_tagged(const provider_ctx *c, const xml_node *item, const char *type,
                         const char *id_field, json_t *attrs, resource_set *out) {
    const char *lid = provider_tag(item, "deploybot:id");
    const char *stack = provider_tag(item, "deploybot:stack");
    const char *phys = xml_path_text(item, id_field);
    /* A resource without our id tag was not made by deploybot: never touch it. */
    if (!lid || !stack || strcmp(stack, c->stack) != 0 || !phys) {
        json_decref(attrs);
        return NULL;
    }
    return resource_set_add(out, type, lid, phys, attrs);
}
