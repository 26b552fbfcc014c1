/* provider: the registry of resource types, creating with tags, and the
 * EC2 helpers of ec2.h. */
#include "deploy/providers/provider.h"
#include "deploy/providers/ec2.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

extern const provider provider_vpc, provider_subnet, provider_internet_gateway,
    provider_route_table, provider_security_group;
extern const provider provider_eip, provider_nat_gateway, provider_network_acl; /* ec2_nat.c, ec2_nacl.c */
extern const provider provider_launch_template, provider_instance, provider_volume,
    provider_volume_attachment;                                     /* ec2_compute.c */
extern const provider provider_iam_role, provider_instance_profile, /* iam.c */
    provider_load_balancer, provider_target_group, provider_listener,
    provider_target_registration, /* elbv2.c */
    provider_dns_record;          /* route53.c */

static const provider *const ALL[] = {
    &provider_vpc,
    &provider_internet_gateway,
    &provider_subnet,
    &provider_route_table,
    &provider_security_group,
    &provider_eip,
    &provider_nat_gateway, /* after internet gateways: NAT discovery looks them up */
    &provider_network_acl,
    &provider_launch_template,
    &provider_instance,
    &provider_volume,
    &provider_volume_attachment, /* reported by volume discovery */
    &provider_iam_role,
    &provider_instance_profile,
    /* Discovery looks up what came before: the load balancer its internet
     * gateway; listeners and the DNS record their load balancer;
     * registrations their target group and instances. */
    &provider_load_balancer,
    &provider_target_group,
    &provider_listener,
    &provider_target_registration,
    &provider_dns_record,
    NULL,
};

const provider *const *provider_all(void) { return ALL; }

const provider *provider_find(const char *type) {
    for (size_t i = 0; ALL[i]; i++)
        if (strcmp(ALL[i]->type, type) == 0) return ALL[i];
    return NULL;
}

int provider_page_size(const provider_ctx *c, int max) {
    return c->page_size > 0 && c->page_size < max ? c->page_size : max;
}

void provider_tags(aws_params *p, const char *prefix, const provider_ctx *c,
                   const char *logical_id, int with_name) {
    const char *dot = strchr(logical_id, '.');
    char name[256], k[128];
    snprintf(name, sizeof(name), "%s-%s", c->stack, dot ? dot + 1 : logical_id);
    const char *keys[] = {"deploybot:stack", "deploybot:id", "Name"};
    const char *vals[] = {c->stack, logical_id, name};
    for (int i = 0; i < (with_name ? 3 : 2); i++) {
        snprintf(k, sizeof(k), "%s.%d.Key", prefix, i + 1);
        aws_params_add(p, k, keys[i]);
        snprintf(k, sizeof(k), "%s.%d.Value", prefix, i + 1);
        aws_params_add(p, k, vals[i]);
    }
}

void provider_tag_spec(aws_params *p, const char *spec, const char *resource_type,
                       const provider_ctx *c, const char *logical_id) {
    char k[128];
    snprintf(k, sizeof(k), "%s.ResourceType", spec);
    aws_params_add(p, k, resource_type);
    snprintf(k, sizeof(k), "%s.Tag", spec);
    provider_tags(p, k, c, logical_id, 1);
}

int provider_wait(const provider_ctx *c, waiter *w, errinfo *err) {
    if (!c->wait) return waiter_run(w, c->aws, err);
    *c->wait = w;
    return PROVIDER_WAITING;
}

int provider_create(const provider_ctx *c, provider_call_fn call, const char *action,
                    aws_params *p, const char *id_path, resource *r, errinfo *err) {
    xml_node *doc = NULL;
    int rc = call(c, action, p, &doc, err);
    aws_params_free(p);
    if (rc != 0) return -1;
    const char *id = xml_path_text(doc, id_path);
    r->physical = id ? strdup(id) : NULL;
    xml_free(doc);
    if (!r->physical) {
        const char *field = strrchr(id_path, '/');
        return errinfo_set(err, ERR_REMOTE, "%s answered without %s", action, field ? field + 1 : id_path);
    }
    aws_client_created(c->aws, r->physical);
    return 0;
}

const char *provider_owned(const provider_ctx *c, const char *stack_tag, const char *id_tag) {
    if (!stack_tag || strcmp(stack_tag, c->stack) != 0 || !id_tag || !*id_tag) return NULL;
    return id_tag;
}

int provider_refusal(errinfo *err, const char *remote, const char *fmt, ...) {
    if (!err || !errinfo_is_remote(err, remote)) return -1;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    err->code = ERR_INVALID;
    errinfo_prefix(err, "%s", err->remote);
    return errinfo_prefix(err, "%s", what);
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
             xml_node **out, errinfo *err) {
    xml_node *doc = NULL;
    aws_params empty = {0};
    int rc = aws_query(c->aws, "ec2", "2016-11-15", action, p ? p : &empty, &doc, err);
    if (rc == 0 && out) *out = doc;
    else xml_free(doc);
    return rc;
}

int ec2_call1(const provider_ctx *c, const char *action, const char *key,
              const char *value, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, key, value);
    int rc = ec2_call(c, action, &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

int ec2_create_tagged(const provider_ctx *c, const char *action, const char *tag_type,
                      aws_params *p, const char *id_path, resource *r, errinfo *err) {
    provider_tag_spec(p, "TagSpecification.1", tag_type, c, r->id);
    return provider_create(c, ec2_call, action, p, id_path, r, err);
}

/* The smallest maximum of the Describe calls used (DescribeRouteTables). */
#define EC2_PAGE_MAX 100

int ec2_describe_tagged(const provider_ctx *c, const char *action, const char *set,
                        ec2_item_fn fn, resource_set *out, errinfo *err) {
    char *token = NULL;
    do {
        aws_params p = {0};
        provider_filter_stack(&p, 1, c);
        aws_params_addf(&p, "MaxResults", "%d", provider_page_size(c, EC2_PAGE_MAX));
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

const char *ec2_owned(const provider_ctx *c, const xml_node *item) {
    return provider_owned(c, provider_tag(item, "deploybot:stack"), provider_tag(item, "deploybot:id"));
}

resource *ec2_add_tagged(const provider_ctx *c, const xml_node *item, const char *type,
                         const char *id_field, json_t *attrs, resource_set *out) {
    const char *lid = ec2_owned(c, item);
    const char *phys = xml_path_text(item, id_field);
    /* Not proved ours (another stack's, or not deploybot's): never touch it. */
    if (!lid || !phys) {
        json_decref(attrs);
        return NULL;
    }
    return resource_set_add(out, type, lid, phys, attrs);
}

resource *ec2_add_associated(const provider_ctx *c, const xml_node *item, const char *type,
                             const char *id_field, const char *assoc_field, json_t *attrs,
                             resource_set *out) {
    json_t *subnets = json_array(), *assoc = json_object();
    for (xml_node *a = xml_path(item, "associationSet/item"); a; a = xml_next_same(a)) {
        const char *sub = xml_path_text(a, "subnetId"), *id = xml_path_text(a, assoc_field);
        if (!sub || !id) continue;
        json_array_append_new(subnets, json_string(sub));
        json_object_set_new(assoc, sub, json_string(id));
    }
    json_object_set_new(attrs, "vpc", json_string(xml_path_text(item, "vpcId") ?: ""));
    json_object_set_new(attrs, "subnets", subnets);
    resource *res = ec2_add_tagged(c, item, type, id_field, attrs, out);
    if (res) res->extra = json_pack("{s:o}", "associations", assoc);
    else json_decref(assoc);
    return res;
}

void ec2_client_token(char *out, size_t len) {
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) { /* not on Linux >= 3.17; unique anyway */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(out, len, "deploybot-%lld-%ld-%d", (long long)ts.tv_sec, ts.tv_nsec, (int)getpid());
        return;
    }
    int n = snprintf(out, len, "deploybot-");
    for (size_t i = 0; i < sizeof(b) && (size_t)n + 2 < len; i++)
        n += snprintf(out + n, len - (size_t)n, "%02x", b[i]);
}
