/* stack: validation of stack.json and the desired resource graph. */
#include "deploy/stack.h"
#include "deploy/stack_layers.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_STRING, T_OPT_STRING, T_INT, T_BOOL, T_CIDR, T_CIDR_LIST, T_STRING_LIST } key_type;

typedef struct {
    const char *key;
    key_type type;
    int required;
    long min, max;          /* T_INT range; list length bounds */
    const char *dflt;       /* JSON text of the default, NULL if none */
} key_spec;

static const key_spec SCHEMA[] = {
    {"region", T_STRING, 0, 0, 0, NULL},
    {"vpc_cidr", T_CIDR, 1, 0, 0, NULL},
    {"availability_zones", T_STRING_LIST, 1, 2, 6, NULL}, /* >= 2 always: the ALB needs 2 zones */
    {"public_subnet_cidrs", T_CIDR_LIST, 1, 2, 6, NULL},
    {"private_subnet_cidrs", T_CIDR_LIST, 1, 2, 6, NULL},
    {"office_cidrs", T_CIDR_LIST, 1, 1, 50, NULL},
    {"instance_type", T_STRING, 0, 0, 0, "\"t3.medium\""},
    {"instance_count", T_INT, 0, 0, 10, "1"},
    {"data_volume_size", T_INT, 0, 1, 16384, "20"},
    {"enable_nat_gateway", T_BOOL, 0, 0, 0, "false"},
    {"enable_network_acls", T_BOOL, 0, 0, 0, "false"},
    {"certificate_arn", T_OPT_STRING, 0, 0, 0, "null"},
    {"zone_id", T_OPT_STRING, 0, 0, 0, "null"},
    {"record_name", T_OPT_STRING, 0, 0, 0, "null"},
    {"ami_id", T_OPT_STRING, 0, 0, 0, "null"}, /* null: stack_default_ami (stack_compute.c) */
};
#define N_SCHEMA (sizeof(SCHEMA) / sizeof(SCHEMA[0]))

typedef struct { char *buf; size_t len; } errlog;

static void errf(errlog *e, const char *file, const char *key, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char line[800];
    int n = snprintf(line, sizeof(line), "%s:%s: %s\n", file, key, msg);
    e->buf = realloc(e->buf, e->len + (size_t)n + 1);
    memcpy(e->buf + e->len, line, (size_t)n + 1);
    e->len += (size_t)n;
}

int stack_cidr_parse(const char *s, unsigned *base, int *prefix) {
    unsigned a, b, c, d;
    int p, used = 0;
    if (sscanf(s, "%3u.%3u.%3u.%3u/%2d%n", &a, &b, &c, &d, &p, &used) != 5 ||
        s[used] != '\0' || a > 255 || b > 255 || c > 255 || d > 255 || p < 0 || p > 32)
        return 0;
    unsigned ip = (a << 24) | (b << 16) | (c << 8) | d;
    unsigned mask = p == 0 ? 0 : 0xffffffffu << (32 - p);
    if (ip & ~mask) return 0; /* host bits set: AWS rejects it too */
    if (base) *base = ip;
    if (prefix) *prefix = p;
    return 1;
}

static const char *type_name(key_type t) {
    switch (t) {
    case T_STRING: return "a string";
    case T_OPT_STRING: return "a string or null";
    case T_INT: return "an integer";
    case T_BOOL: return "true or false";
    case T_CIDR: return "an IPv4 CIDR string like \"10.0.0.0/16\"";
    case T_CIDR_LIST: return "a list of IPv4 CIDR strings";
    case T_STRING_LIST: return "a list of strings";
    }
    return "?";
}

static void check_list(errlog *e, const char *file, const key_spec *k, json_t *v) {
    if (!json_is_array(v)) { errf(e, file, k->key, "expected %s", type_name(k->type)); return; }
    size_t n = json_array_size(v);
    if ((long)n < k->min || (long)n > k->max)
        errf(e, file, k->key, "expected %ld to %ld entries, got %zu", k->min, k->max, n);
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(v, i);
        char key[96];
        snprintf(key, sizeof(key), "%s[%zu]", k->key, i);
        if (!json_is_string(it)) { errf(e, file, key, "expected a string"); continue; }
        if (k->type == T_CIDR_LIST && !stack_cidr_parse(json_string_value(it), NULL, NULL))
            errf(e, file, key, "\"%s\" is not a valid IPv4 CIDR (a.b.c.d/n, no host bits)",
                 json_string_value(it));
    }
}

static void check_key(errlog *e, const char *file, const key_spec *k, json_t *v) {
    switch (k->type) {
    case T_STRING:
        if (!json_is_string(v)) errf(e, file, k->key, "expected %s", type_name(k->type));
        break;
    case T_OPT_STRING:
        if (!json_is_string(v) && !json_is_null(v)) errf(e, file, k->key, "expected %s", type_name(k->type));
        break;
    case T_BOOL:
        if (!json_is_boolean(v)) errf(e, file, k->key, "expected %s", type_name(k->type));
        break;
    case T_INT:
        if (!json_is_integer(v)) errf(e, file, k->key, "expected %s", type_name(k->type));
        else if (json_integer_value(v) < k->min || json_integer_value(v) > k->max)
            errf(e, file, k->key, "%lld is out of range %ld..%ld",
                 (long long)json_integer_value(v), k->min, k->max);
        break;
    case T_CIDR:
        if (!json_is_string(v) || !stack_cidr_parse(json_string_value(v), NULL, NULL))
            errf(e, file, k->key, "expected %s", type_name(k->type));
        break;
    case T_CIDR_LIST:
    case T_STRING_LIST:
        check_list(e, file, k, v);
        break;
    }
}

/* Cross-key rules: subnets inside the VPC, one per AZ, enough AZs. */
static void check_network(errlog *e, const char *file, json_t *root) {
    unsigned vbase;
    int vprefix;
    json_t *vpc = json_object_get(root, "vpc_cidr");
    json_t *azs = json_object_get(root, "availability_zones");
    if (!json_is_string(vpc) || !stack_cidr_parse(json_string_value(vpc), &vbase, &vprefix)) return;
    unsigned vmask = vprefix == 0 ? 0 : 0xffffffffu << (32 - vprefix);
    const char *lists[] = {"public_subnet_cidrs", "private_subnet_cidrs"};
    for (int l = 0; l < 2; l++) {
        json_t *arr = json_object_get(root, lists[l]);
        if (!json_is_array(arr)) continue;
        if (json_is_array(azs) && json_array_size(arr) != json_array_size(azs))
            errf(e, file, lists[l], "has %zu entries but availability_zones has %zu (one subnet per zone)",
                 json_array_size(arr), json_array_size(azs));
        for (size_t i = 0; i < json_array_size(arr); i++) {
            unsigned b;
            int p;
            const char *c = json_string_value(json_array_get(arr, i));
            if (!c || !stack_cidr_parse(c, &b, &p)) continue;
            if (p < vprefix || (b & vmask) != vbase) {
                char key[96];
                snprintf(key, sizeof(key), "%s[%zu]", lists[l], i);
                errf(e, file, key, "%s is not inside vpc_cidr %s", c, json_string_value(vpc));
            }
        }
    }
    json_t *count = json_object_get(root, "instance_count");
    if (json_is_array(azs) && json_is_integer(count) && json_integer_value(count) > 1 &&
        json_array_size(azs) < 2)
        errf(e, file, "availability_zones", "instance_count %lld needs at least 2 zones",
             (long long)json_integer_value(count));
    json_t *office = json_object_get(root, "office_cidrs");
    if (json_is_true(json_object_get(root, "enable_network_acls")) &&
        json_array_size(office) > STACK_NACL_MAX_OFFICE_CIDRS)
        errf(e, file, "office_cidrs", "has %zu entries but enable_network_acls allows at most %d "
             "(2 inbound rules each, and AWS allows 20 per network ACL)",
             json_array_size(office), STACK_NACL_MAX_OFFICE_CIDRS);
}

/* "family.size" in lower case: t3.medium, m7g.2xlarge, u-6tb1.metal, c7i.metal-48xl. */
static int instance_type_ok(const char *t) {
    const char *dot = strchr(t, '.');
    if (!dot || dot == t || !dot[1] || strchr(dot + 1, '.') || !islower((unsigned char)t[0])) return 0;
    for (const char *p = t; *p; p++)
        if (p != dot && !islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-') return 0;
    return 1;
}

static int only_chars(const char *s, const char *extra) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s)) return 0;
    return 1;
}

/* Two different zones of the stack's region: the load balancer needs them. */
static void check_zones(errlog *e, const char *file, json_t *root) {
    json_t *azs = json_object_get(root, "availability_zones");
    const char *region = json_string_value(json_object_get(root, "region"));
    for (size_t i = 0; i < json_array_size(azs); i++) {
        const char *az = json_string_value(json_array_get(azs, i));
        char key[64];
        snprintf(key, sizeof(key), "availability_zones[%zu]", i);
        if (!az) continue;
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_array_get(azs, j), json_array_get(azs, i))) {
                errf(e, file, key, "\"%s\" is listed twice (the load balancer needs 2 different zones)", az);
                break;
            }
        if (region && (strncmp(az, region, strlen(region)) != 0 || !az[strlen(region)]))
            errf(e, file, key, "\"%s\" is not a zone of region %s (e.g. \"%sa\")", az, region, region);
    }
}

/* What AWS would only reject halfway through an apply, said before it starts. */
static void check_services(errlog *e, const char *file, json_t *root) {
    const char *type = json_string_value(json_object_get(root, "instance_type"));
    const char *region = json_string_value(json_object_get(root, "region"));
    const char *cert = json_string_value(json_object_get(root, "certificate_arn"));
    const char *zone = json_string_value(json_object_get(root, "zone_id"));
    const char *record = json_string_value(json_object_get(root, "record_name"));
    if (type && !instance_type_ok(type))
        errf(e, file, "instance_type", "\"%s\" is not an EC2 instance type (expected family.size, e.g. \"t3.medium\")", type);
    if (cert && strncmp(cert, "arn:aws:acm:", 12) != 0)
        errf(e, file, "certificate_arn", "\"%s\" is not an ACM certificate ARN (expected "
             "\"arn:aws:acm:REGION:ACCOUNT:certificate/ID\")", cert);
    else if (cert && region && (strncmp(cert + 12, region, strlen(region)) != 0 || cert[12 + strlen(region)] != ':'))
        errf(e, file, "certificate_arn", "the certificate is not in region %s (a load balancer can only "
             "use a certificate from its own region)", region);
    if (record && !zone)
        errf(e, file, "record_name", "requires zone_id (the Route53 hosted zone to create the record in)");
    if (zone && !record)
        errf(e, file, "zone_id", "requires record_name (the DNS name to point at the load balancer)");
    if (zone && !only_chars(zone, ""))
        errf(e, file, "zone_id", "\"%s\" is not a Route53 hosted zone id (e.g. \"Z0123456789ABCDEFGHIJ\", "
             "without \"/hostedzone/\")", zone);
    if (record && (!only_chars(record, "-._*") || strlen(record) > 253))
        errf(e, file, "record_name", "\"%s\" is not a DNS name (e.g. \"dify.example.com\")", record);
    check_zones(e, file, root);
}

/* The instances' image: an AMI id, or a region deploybot knows a default for. */
static void check_ami(errlog *e, const char *file, json_t *root) {
    json_t *ami = json_object_get(root, "ami_id");
    const char *region = json_string_value(json_object_get(root, "region"));
    size_t n = json_is_string(ami) ? strlen(json_string_value(ami)) : 0;
    if (json_is_string(ami) && (strncmp(json_string_value(ami), "ami-", 4) != 0 || (n != 12 && n != 21) ||
                                strspn(json_string_value(ami) + 4, "0123456789abcdef") != n - 4))
        errf(e, file, "ami_id", "\"%s\" is not an AMI id (\"ami-\" and 8 or 17 lower-case hex digits)",
             json_string_value(ami));
    else if (json_is_null(ami) && region && !stack_default_ami(region) &&
             json_integer_value(json_object_get(root, "instance_count")) > 0)
        errf(e, file, "ami_id", "required in region %s (deploybot has no default there): the Amazon Linux "
             "2023 AMI is `aws ssm get-parameter --region %s --name /aws/service/ami-amazon-linux-latest/"
             "al2023-ami-kernel-default-x86_64`", region, region);
}

int stack_load(const char *text, size_t len, const char *file, const char *env,
               stack *out, char **errors) {
    errlog e = {0};
    json_error_t jerr;
    memset(out, 0, sizeof(*out));
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root) {
        char key[64];
        snprintf(key, sizeof(key), "%d:%d", jerr.line, jerr.column);
        errf(&e, file, key, "invalid JSON: %s", jerr.text);
        *errors = e.buf;
        return -1;
    }
    if (!json_is_object(root)) {
        errf(&e, file, "(root)", "expected a JSON object");
        json_decref(root);
        *errors = e.buf;
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        size_t i;
        for (i = 0; i < N_SCHEMA && strcmp(SCHEMA[i].key, k) != 0; i++);
        if (i == N_SCHEMA) errf(&e, file, k, "unknown key (see deploy-configs/SCHEMA.md)");
    }
    for (size_t i = 0; i < N_SCHEMA; i++) {
        json_t *val = json_object_get(root, SCHEMA[i].key);
        if (!val) {
            if (SCHEMA[i].required) errf(&e, file, SCHEMA[i].key, "required key is missing");
            else if (SCHEMA[i].dflt)
                json_object_set_new(root, SCHEMA[i].key, json_loads(SCHEMA[i].dflt, JSON_DECODE_ANY, NULL));
            continue;
        }
        check_key(&e, file, &SCHEMA[i], val);
    }
    check_services(&e, file, root);   /* type-guarded: runs even when some keys are wrong */
    check_ami(&e, file, root);
    if (!e.buf) check_network(&e, file, root);
    if (e.buf) {
        json_decref(root);
        *errors = e.buf;
        return -1;
    }
    out->root = root;
    out->env = strdup(env);
    *errors = NULL;
    return 0;
}

void stack_free(stack *s) {
    json_decref(s->root);
    free(s->env);
    free(s->user_data_template);
    memset(s, 0, sizeof(*s));
}

const char *stack_region(const stack *s) {
    return json_string_value(json_object_get(s->root, "region"));
}

static json_t *sg_rule(const char *proto, int from, int to, json_t *cidrs, const char *source_sg) {
    json_t *r = json_pack("{s:s,s:i,s:i}", "protocol", proto, "from_port", from, "to_port", to);
    json_object_set_new(r, "cidrs", cidrs ? cidrs : json_array());
    json_t *groups = json_array();
    if (source_sg) json_array_append_new(groups, resource_ref(source_sg));
    json_object_set_new(r, "source_groups", groups);
    return r;
}

static void add_subnets(const stack *s, resource_set *out, const char *tier, int public,
                        json_t *assoc) {
    json_t *azs = json_object_get(s->root, "availability_zones");
    char key[32];
    snprintf(key, sizeof(key), "%s_subnet_cidrs", tier);
    json_t *cidrs = json_object_get(s->root, key);
    for (size_t i = 0; i < json_array_size(cidrs); i++) {
        char id[64];
        snprintf(id, sizeof(id), "subnet.%s_%c", tier, (char)('a' + i));
        json_t *a = json_pack("{s:o,s:O,s:O,s:b}", "vpc", resource_ref("vpc.main"),
                              "cidr_block", json_array_get(cidrs, i),
                              "availability_zone", json_array_get(azs, i),
                              "map_public_ip", public);
        resource_set_add(out, "subnet", id, NULL, a);
        json_array_append_new(assoc, resource_ref(id));
    }
}

/* One private route table per zone, so that with enable_nat_gateway each
 * zone's private subnet goes out through the NAT gateway in its own zone
 * ("nat_gateway.<zone letter>", stack_network_extra.c): a zone going down
 * never cuts the other one off, and no traffic crosses zones. */
static void add_private_route_tables(const stack *s, resource_set *out, const json_t *subnets) {
    int nat = json_is_true(json_object_get(s->root, "enable_nat_gateway"));
    for (size_t i = 0; i < json_array_size(subnets); i++) {
        char id[64], gw[64];
        snprintf(id, sizeof(id), "route_table.private_%c", (char)('a' + i));
        snprintf(gw, sizeof(gw), "nat_gateway.%c", (char)('a' + i));
        json_t *routes = json_array();
        if (nat)
            json_array_append_new(routes, json_pack("{s:s,s:o}", "destination", "0.0.0.0/0",
                                                    "nat_gateway", resource_ref(gw)));
        resource_set_add(out, "route_table", id, NULL,
                         json_pack("{s:o,s:o,s:[O]}", "vpc", resource_ref("vpc.main"),
                                   "routes", routes, "subnets", json_array_get(subnets, i)));
    }
}

static void stack_network_resources(const stack *s, resource_set *out) {
    char name[128];
    resource_set_add(out, "vpc", "vpc.main", NULL,
                     json_pack("{s:O}", "cidr_block", json_object_get(s->root, "vpc_cidr")));
    resource_set_add(out, "internet_gateway", "internet_gateway.main", NULL,
                     json_pack("{s:o}", "vpc", resource_ref("vpc.main")));

    json_t *pub = json_array(), *priv = json_array();
    add_subnets(s, out, "public", 1, pub);
    add_subnets(s, out, "private", 0, priv);

    json_t *routes = json_array();
    json_array_append_new(routes, json_pack("{s:s,s:o}", "destination", "0.0.0.0/0",
                                            "gateway", resource_ref("internet_gateway.main")));
    resource_set_add(out, "route_table", "route_table.public", NULL,
                     json_pack("{s:o,s:o,s:o}", "vpc", resource_ref("vpc.main"),
                               "routes", routes, "subnets", pub));
    add_private_route_tables(s, out, priv);
    json_decref(priv);

    json_t *office = json_object_get(s->root, "office_cidrs");
    json_t *alb_in = json_array();
    json_array_append_new(alb_in, sg_rule("tcp", 443, 443, json_deep_copy(office), NULL));
    json_array_append_new(alb_in, sg_rule("tcp", 80, 80, json_deep_copy(office), NULL));
    snprintf(name, sizeof(name), "deploybot-%s-alb", s->env);
    resource_set_add(out, "security_group", "security_group.alb", NULL,
                     json_pack("{s:o,s:s,s:s,s:o}", "vpc", resource_ref("vpc.main"), "name", name,
                               "description", "Dify load balancer: HTTPS/HTTP from the office",
                               "ingress", alb_in));
    json_t *app_in = json_array();
    json_array_append_new(app_in, sg_rule("tcp", 80, 80, NULL, "security_group.alb"));
    snprintf(name, sizeof(name), "deploybot-%s-app", s->env);
    resource_set_add(out, "security_group", "security_group.app", NULL,
                     json_pack("{s:o,s:s,s:s,s:o}", "vpc", resource_ref("vpc.main"), "name", name,
                               "description", "Dify instances: HTTP from the load balancer only",
                               "ingress", app_in));
}

/* Each layer adds its resources; later layers refer to earlier ones by id. */
void stack_resources(const stack *s, resource_set *out) {
    stack_network_resources(s, out);
    stack_network_extra_resources(s, out);
    stack_edge_resources(s, out);
    stack_compute_resources(s, out); /* last: it looks up what other layers made (instance_profile.main) */
}
