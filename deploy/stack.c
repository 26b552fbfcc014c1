/* stack: the stack model: stack.json validated, its defaults, and its
 * user-data template. The layers (stack_layers.h) read it; it calls none of
 * them. */
#include "deploy/stack.h"
#include "deploy/userdata.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_STRING,
               T_OPT_STRING,
               T_INT,
               T_BOOL,
               T_CIDR,
               T_CIDR_LIST,
               T_STRING_LIST } key_type;

typedef struct {
    const char *key;
    key_type type;
    int required;
    long min, max;    /* T_INT range; list length bounds */
    const char *dflt; /* JSON text of the default, NULL if none */
} key_spec;

static const key_spec SCHEMA[] = {
    {"region", T_STRING, 0, 0, 0, NULL},
    {"vpc_cidr", T_CIDR, 1, 0, 0, NULL},
    {"availability_zones", T_STRING_LIST, 1, 2, 6, NULL}, /* >= 2 always: the ALB needs 2 zones */
    {"public_subnet_cidrs", T_CIDR_LIST, 1, 2, 6, NULL},
    {"private_subnet_cidrs", T_CIDR_LIST, 1, 2, 6, NULL},
    /* 2 inbound rules each in the load balancer's group, and AWS allows 60 */
    {"office_cidrs", T_CIDR_LIST, 1, 1, 30, NULL},
    {"instance_type", T_STRING, 0, 0, 0, "\"t3.medium\""},
    {"instance_count", T_INT, 0, 0, 10, "1"},
    {"data_volume_size", T_INT, 0, 1, 16384, "20"},
    {"enable_nat_gateway", T_BOOL, 0, 0, 0, "false"},
    {"enable_network_acls", T_BOOL, 0, 0, 0, "false"},
    {"certificate_arn", T_OPT_STRING, 0, 0, 0, "null"},
    {"zone_id", T_OPT_STRING, 0, 0, 0, "null"},
    {"record_name", T_OPT_STRING, 0, 0, 0, "null"},
    {"ami_id", T_OPT_STRING, 0, 0, 0, "null"}, /* null: stack_default_ami */
    {"skip_final_snapshot", T_BOOL, 0, 0, 0, "false"},
    {"prevent_destroy", T_BOOL, 0, 0, 0, "false"},
};
#define N_SCHEMA (sizeof(SCHEMA) / sizeof(SCHEMA[0]))

/* Every problem found, one "FILE:KEY: message" line each. */
typedef struct {
    const char *file;
    strbuf text;
} report;

static void problem(report *r, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(report *r, const char *key, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    strbuf_printf(&r->text, "%s:%s: %s\n", r->file, key, msg);
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

static void check_list(report *r, const key_spec *k, json_t *v) {
    if (!json_is_array(v)) {
        problem(r, k->key, "expected %s", type_name(k->type));
        return;
    }
    size_t n = json_array_size(v);
    if ((long)n < k->min || (long)n > k->max)
        problem(r, k->key, "expected %ld to %ld entries, got %zu", k->min, k->max, n);
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(v, i);
        char key[96];
        snprintf(key, sizeof(key), "%s[%zu]", k->key, i);
        if (!json_is_string(it)) {
            problem(r, key, "expected a string");
            continue;
        }
        if (k->type == T_CIDR_LIST && !stack_cidr_parse(json_string_value(it), NULL, NULL))
            problem(r, key, "\"%s\" is not a valid IPv4 CIDR (a.b.c.d/n, no host bits)",
                    json_string_value(it));
    }
}

static void check_key(report *r, const key_spec *k, json_t *v) {
    switch (k->type) {
    case T_STRING:
        if (!json_is_string(v)) problem(r, k->key, "expected %s", type_name(k->type));
        break;
    case T_OPT_STRING:
        if (!json_is_string(v) && !json_is_null(v)) problem(r, k->key, "expected %s", type_name(k->type));
        break;
    case T_BOOL:
        if (!json_is_boolean(v)) problem(r, k->key, "expected %s", type_name(k->type));
        break;
    case T_INT:
        if (!json_is_integer(v)) problem(r, k->key, "expected %s", type_name(k->type));
        else if (json_integer_value(v) < k->min || json_integer_value(v) > k->max)
            problem(r, k->key, "%lld is out of range %ld..%ld",
                    (long long)json_integer_value(v), k->min, k->max);
        break;
    case T_CIDR:
        if (!json_is_string(v) || !stack_cidr_parse(json_string_value(v), NULL, NULL))
            problem(r, k->key, "expected %s", type_name(k->type));
        break;
    case T_CIDR_LIST:
    case T_STRING_LIST:
        check_list(r, k, v);
        break;
    }
}

/* AWS takes VPC and subnet CIDRs from /16 to /28 (InvalidVpc.Range,
 * InvalidSubnet.Range otherwise). */
#define CIDR_PREFIX_MIN 16
#define CIDR_PREFIX_MAX 28

static const char *const SUBNET_LISTS[] = {"public_subnet_cidrs", "private_subnet_cidrs"};

/* Calls fn for every well-formed subnet CIDR, with its key ("public_subnet_cidrs[1]"). */
static void each_subnet(report *r, json_t *root, void (*fn)(report *r, json_t *root, const char *key, const char *cidr, unsigned base, int prefix)) {
    for (int l = 0; l < 2; l++) {
        json_t *arr = json_object_get(root, SUBNET_LISTS[l]);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            unsigned b;
            int p;
            const char *c = json_string_value(json_array_get(arr, i));
            if (!c || !stack_cidr_parse(c, &b, &p)) continue; /* reported by check_list */
            char key[96];
            snprintf(key, sizeof(key), "%s[%zu]", SUBNET_LISTS[l], i);
            fn(r, root, key, c, b, p);
        }
    }
}

static unsigned prefix_mask(int prefix) {
    return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* Inside the VPC, a size AWS takes, and overlapping no subnet listed before it. */
static void check_subnet(report *r, json_t *root, const char *key, const char *cidr, unsigned base, int prefix) {
    unsigned vbase;
    int vprefix;
    const char *vpc = json_string_value(json_object_get(root, "vpc_cidr"));
    if (vpc && stack_cidr_parse(vpc, &vbase, &vprefix) && (prefix < vprefix || (base & prefix_mask(vprefix)) != vbase))
        problem(r, key, "%s is not inside vpc_cidr %s", cidr, vpc);
    else if (prefix < CIDR_PREFIX_MIN || prefix > CIDR_PREFIX_MAX)
        problem(r, key, "%s: AWS takes subnets from /%d to /%d", cidr, CIDR_PREFIX_MIN, CIDR_PREFIX_MAX);
    for (int l = 0; l < 2; l++) {
        json_t *arr = json_object_get(root, SUBNET_LISTS[l]);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            char other[96];
            snprintf(other, sizeof(other), "%s[%zu]", SUBNET_LISTS[l], i);
            if (strcmp(other, key) == 0) return; /* each pair once, on its second subnet */
            unsigned b;
            int p;
            const char *c = json_string_value(json_array_get(arr, i));
            if (!c || !stack_cidr_parse(c, &b, &p)) continue;
            int shorter = p < prefix ? p : prefix;
            if ((b & prefix_mask(shorter)) == (base & prefix_mask(shorter)))
                problem(r, key, "%s overlaps %s %s (AWS refuses subnets that overlap)", cidr, other, c);
        }
    }
}

/* 1 when the string arr[i] is also an earlier entry of arr. */
static int listed_before(const json_t *arr, size_t i) {
    for (size_t j = 0; json_is_string(json_array_get(arr, i)) && j < i; j++)
        if (json_equal(json_array_get(arr, j), json_array_get(arr, i))) return 1;
    return 0;
}

/* Cross-key rules: one subnet per AZ, subnets inside the VPC and apart,
 * sizes AWS takes, rule quotas. Each is guarded by the types
 * it needs, so that every problem is reported, whatever else is wrong. */
static void check_network(report *r, json_t *root) {
    json_t *vpc = json_object_get(root, "vpc_cidr");
    json_t *azs = json_object_get(root, "availability_zones");
    int vprefix;
    if (json_is_string(vpc) && stack_cidr_parse(json_string_value(vpc), NULL, &vprefix) &&
        (vprefix < CIDR_PREFIX_MIN || vprefix > CIDR_PREFIX_MAX))
        problem(r, "vpc_cidr", "%s: AWS takes VPCs from /%d to /%d", json_string_value(vpc), CIDR_PREFIX_MIN,
                CIDR_PREFIX_MAX);
    for (int l = 0; l < 2; l++) {
        json_t *arr = json_object_get(root, SUBNET_LISTS[l]);
        if (json_is_array(arr) && json_is_array(azs) && json_array_size(arr) != json_array_size(azs))
            problem(r, SUBNET_LISTS[l], "has %zu entries but availability_zones has %zu (one subnet per zone)",
                    json_array_size(arr), json_array_size(azs));
    }
    each_subnet(r, root, check_subnet);
    json_t *office = json_object_get(root, "office_cidrs");
    if (json_is_true(json_object_get(root, "enable_network_acls")) &&
        json_array_size(office) > STACK_NACL_MAX_OFFICE_CIDRS)
        problem(r, "office_cidrs",
                "has %zu entries but enable_network_acls allows at most %d "
                "(2 inbound rules each, and AWS allows 20 per network ACL)",
                json_array_size(office), STACK_NACL_MAX_OFFICE_CIDRS);
    for (size_t i = 0; i < json_array_size(office); i++) {
        char key[64];
        snprintf(key, sizeof(key), "office_cidrs[%zu]", i);
        if (listed_before(office, i))
            problem(r, key, "\"%s\" is listed twice (AWS refuses the same security group rule twice)",
                    json_string_value(json_array_get(office, i)));
    }
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
static void check_zones(report *r, json_t *root) {
    json_t *azs = json_object_get(root, "availability_zones");
    const char *region = json_string_value(json_object_get(root, "region"));
    for (size_t i = 0; i < json_array_size(azs); i++) {
        const char *az = json_string_value(json_array_get(azs, i));
        char key[64];
        snprintf(key, sizeof(key), "availability_zones[%zu]", i);
        if (!az) continue;
        if (listed_before(azs, i))
            problem(r, key, "\"%s\" is listed twice (the load balancer needs 2 different zones)", az);
        if (region && (strncmp(az, region, strlen(region)) != 0 || !az[strlen(region)]))
            problem(r, key, "\"%s\" is not a zone of region %s (e.g. \"%sa\")", az, region, region);
    }
}

/* What AWS would only reject halfway through an apply, said before it starts. */
static void check_services(report *r, json_t *root) {
    const char *type = json_string_value(json_object_get(root, "instance_type"));
    const char *region = json_string_value(json_object_get(root, "region"));
    const char *cert = json_string_value(json_object_get(root, "certificate_arn"));
    const char *zone = json_string_value(json_object_get(root, "zone_id"));
    const char *record = json_string_value(json_object_get(root, "record_name"));
    if (type && !instance_type_ok(type))
        problem(r, "instance_type", "\"%s\" is not an EC2 instance type (expected family.size, e.g. \"t3.medium\")", type);
    if (cert && strncmp(cert, "arn:aws:acm:", 12) != 0)
        problem(r, "certificate_arn",
                "\"%s\" is not an ACM certificate ARN (expected "
                "\"arn:aws:acm:REGION:ACCOUNT:certificate/ID\")",
                cert);
    else if (cert && region && (strncmp(cert + 12, region, strlen(region)) != 0 || cert[12 + strlen(region)] != ':'))
        problem(r, "certificate_arn",
                "the certificate is not in region %s (a load balancer can only "
                "use a certificate from its own region)",
                region);
    if (record && !zone)
        problem(r, "record_name", "requires zone_id (the Route53 hosted zone to create the record in)");
    if (zone && !record)
        problem(r, "zone_id", "requires record_name (the DNS name to point at the load balancer)");
    if (zone && !only_chars(zone, ""))
        problem(r, "zone_id",
                "\"%s\" is not a Route53 hosted zone id (e.g. \"Z0123456789ABCDEFGHIJ\", "
                "without \"/hostedzone/\")",
                zone);
    if (record && (!only_chars(record, "-._*") || strlen(record) > 253))
        problem(r, "record_name", "\"%s\" is not a DNS name (e.g. \"dify.example.com\")", record);
    check_zones(r, root);
}

/* The instances' image: an AMI id, or a region deploybot knows a default for. */
static void check_ami(report *r, json_t *root) {
    json_t *ami = json_object_get(root, "ami_id");
    const char *region = json_string_value(json_object_get(root, "region"));
    size_t n = json_is_string(ami) ? strlen(json_string_value(ami)) : 0;
    if (json_is_string(ami) && (strncmp(json_string_value(ami), "ami-", 4) != 0 || (n != 12 && n != 21) ||
                                strspn(json_string_value(ami) + 4, "0123456789abcdef") != n - 4))
        problem(r, "ami_id", "\"%s\" is not an AMI id (\"ami-\" and 8 or 17 lower-case hex digits)",
                json_string_value(ami));
    else if (json_is_null(ami) && region && !stack_default_ami(region) &&
             json_integer_value(json_object_get(root, "instance_count")) > 0)
        problem(r, "ami_id",
                "required in region %s (deploybot has no default there): the Amazon Linux "
                "2023 AMI is `aws ssm get-parameter --region %s --name /aws/service/ami-amazon-linux-latest/"
                "al2023-ami-kernel-default-x86_64`",
                region, region);
}

/* Each key against SCHEMA; a missing optional key gets its default. */
static void check_keys(report *r, json_t *root) {
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        size_t i;
        for (i = 0; i < N_SCHEMA && strcmp(SCHEMA[i].key, k) != 0; i++)
            ;
        if (i == N_SCHEMA) problem(r, k, "unknown key (see deploy-configs/SCHEMA.md)");
    }
    for (size_t i = 0; i < N_SCHEMA; i++) {
        json_t *val = json_object_get(root, SCHEMA[i].key);
        if (!val) {
            if (SCHEMA[i].required) problem(r, SCHEMA[i].key, "required key is missing");
            else if (SCHEMA[i].dflt)
                json_object_set_new(root, SCHEMA[i].key, json_loads(SCHEMA[i].dflt, JSON_DECODE_ANY, NULL));
            continue;
        }
        check_key(r, &SCHEMA[i], val);
    }
}

/* The document, or NULL with the problem reported. */
static json_t *parse(report *r, const char *text, size_t len) {
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root) {
        char key[64];
        snprintf(key, sizeof(key), "%d:%d", jerr.line, jerr.column);
        problem(r, key, "invalid JSON: %s", jerr.text);
    } else if (!json_is_object(root)) {
        problem(r, "(root)", "expected a JSON object");
        json_decref(root);
        root = NULL;
    }
    return root;
}

/* Hands the report over as *errors and fails with its first line. */
static int refuse(strbuf *text, char **errors, errinfo *err) {
    *errors = strbuf_take(text);
    return errinfo_set(err, ERR_INVALID, "%.*s", (int)strcspn(*errors, "\n"), *errors);
}

int stack_load(const char *text, size_t len, const char *file, const char *env,
               stack *out, char **errors, errinfo *err) {
    report r = {file, {0}};
    memset(out, 0, sizeof(*out));
    *errors = NULL;
    json_t *root = parse(&r, text, len);
    if (!root) return refuse(&r.text, errors, err);
    check_keys(&r, root);
    check_services(&r, root); /* type-guarded: runs even when some keys are wrong */
    check_ami(&r, root);
    check_network(&r, root);
    if (r.text.len) {
        json_decref(root);
        return refuse(&r.text, errors, err);
    }
    out->root = root;
    out->env = strdup(env);
    if (!out->env) abort();
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

int stack_flag(const stack *s, const char *key) {
    return json_is_true(json_object_get(s->root, key));
}

int stack_set_region(stack *s, const char *region, const char *file, char **errors, errinfo *err) {
    report r = {file, {0}};
    *errors = NULL;
    if (stack_region(s)) return 0;
    json_object_set_new(s->root, "region", json_string(region));
    check_services(&r, s->root); /* its other keys passed at load: only the region's remain */
    check_ami(&r, s->root);
    if (!r.text.len) return 0;
    json_object_del(s->root, "region");
    return refuse(&r.text, errors, err);
}

/* The Amazon Linux 2023 (x86_64) AMI per region when stack.json names none.
 * A placeholder to pin: AMIs are replaced every few weeks, and an old one
 * keeps working, so set ami_id in stack.json to the current one. */
static const struct { const char *region, *ami; } DEFAULT_AMIS[] = {
    {"eu-west-1", "ami-0a0ff88d0f3f85a14"},
};

const char *stack_default_ami(const char *region) {
    for (size_t i = 0; region && i < sizeof(DEFAULT_AMIS) / sizeof(DEFAULT_AMIS[0]); i++)
        if (strcmp(DEFAULT_AMIS[i].region, region) == 0) return DEFAULT_AMIS[i].ami;
    return NULL;
}

/* ---- the user-data template ---- */

/* Used when the caller gives no template (e.g. a config repo without
 * modules/dify/user_data.sh): boots, does nothing, says why. */
static const char DEFAULT_TEMPLATE[] =
    "#!/bin/bash\n"
    "# deploybot: environment ${env} has no " USERDATA_TEMPLATE
    " template;\n"
    "# data volume ${data_volume_id} is attached at " STACK_DATA_DEVICE
    " (mount point ${data_mount}).\n"
    "echo \"deploybot: no user-data template for ${env}\"\n";

const char *stack_user_data_template(const stack *s) {
    return s->user_data_template ? s->user_data_template : DEFAULT_TEMPLATE;
}

static int render_placeholder(const stack *s, const char *tmpl, size_t len, userdata *ud, char **errors,
                              errinfo *err) {
    userdata_var vars[USERDATA_MAX_VARS];
    size_t n = userdata_stack_vars(s, STACK_VOLUME_PLACEHOLDER, vars);
    return userdata_render(tmpl, len, USERDATA_TEMPLATE, vars, n, ud, errors, err);
}

char *stack_render_user_data(const stack *s, char sha256[65], char **errors, errinfo *err) {
    const char *tmpl = stack_user_data_template(s);
    userdata ud;
    if (render_placeholder(s, tmpl, strlen(tmpl), &ud, errors, err) != 0) return NULL;
    memcpy(sha256, ud.sha256, 65);
    return ud.text; /* handed over: not freed with ud */
}

int stack_set_user_data_template(stack *s, const char *text, size_t len, char **errors, errinfo *err) {
    userdata ud;
    free(s->user_data_template);
    s->user_data_template = NULL;
    *errors = NULL;
    if (memchr(text, '\0', len)) {
        if (asprintf(errors, "%s: contains a NUL byte (not a text file)\n", USERDATA_TEMPLATE) < 0) abort();
        return errinfo_set(err, ERR_INVALID, "%s: contains a NUL byte (not a text file)", USERDATA_TEMPLATE);
    }
    if (render_placeholder(s, text, len, &ud, errors, err) != 0) return -1;
    userdata_free(&ud);
    s->user_data_template = strndup(text, len);
    if (!s->user_data_template) abort();
    return 0;
}
