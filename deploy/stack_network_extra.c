/* stack_network_extra: the optional parts of the network layer — NAT
 * gateways (enable_nat_gateway) and network ACLs (enable_network_acls).
 *
 * NAT: one Elastic IP and one NAT gateway in each zone's public subnet; the
 * private route table of the same zone (stack_network.c) sends 0.0.0.0/0 to it. Each
 * gateway refers to the internet gateway because AWS needs that attached
 * before a public NAT gateway can come up, and detached only after it is gone.
 *
 * Network ACLs are stateless, so return traffic needs its own rules. The
 * rules, one per line of `entries` (a set, like every list attribute):
 *
 *   public subnets (load balancer, NAT gateways)
 *     in  100  all             from the VPC CIDR  instances -> NAT, LB <-> instances
 *     in  110  tcp 1024-65535  from 0.0.0.0/0     replies to connections made from inside
 *     in  200+2i / 201+2i  tcp 443 / tcp 80  from office_cidrs[i] (sorted)
 *     out 100  all             to 0.0.0.0/0
 *   private subnets (instances)
 *     in  100  all             from the VPC CIDR
 *     in  110  tcp 1024-65535  from 0.0.0.0/0     replies coming back through the NAT
 *     out 100  all             to 0.0.0.0/0
 *
 * Security groups still do the fine-grained filtering; the ACLs are a second,
 * coarse line (nothing but 80/443 from the office reaches the public subnets
 * from outside). DNS, NTP and metadata traffic to the VPC's own services is
 * never filtered by ACLs, so no UDP rules are needed. */
#include "deploy/stack_layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_nat_gateways(const stack *s, resource_set *out) {
    json_t *cidrs = json_object_get(s->root, "public_subnet_cidrs");
    for (size_t i = 0; i < json_array_size(cidrs); i++) {
        char eip[64], nat[64], subnet[64];
        char z = (char)('a' + i);
        snprintf(eip, sizeof(eip), "eip.nat_%c", z);
        snprintf(nat, sizeof(nat), "nat_gateway.%c", z);
        snprintf(subnet, sizeof(subnet), "subnet.public_%c", z);
        resource_set_add(out, "eip", eip, NULL, json_pack("{s:s}", "domain", "vpc"));
        resource_set_add(out, "nat_gateway", nat, NULL,
                         json_pack("{s:o,s:o,s:o}", "subnet", resource_ref(subnet),
                                   "allocation", resource_ref(eip),
                                   "internet_gateway", resource_ref("internet_gateway.main")));
    }
}

/* One ACL rule; ports only for TCP ("6"), as AWS keeps them only for TCP/UDP. */
static json_t *rule(int egress, int number, const char *protocol, const char *cidr, int from, int to) {
    json_t *r = json_pack("{s:b,s:i,s:s,s:s,s:s}", "egress", egress, "rule", number,
                          "protocol", protocol, "action", "allow", "cidr_block", cidr);
    if (strcmp(protocol, "6") == 0) {
        json_object_set_new(r, "from_port", json_integer(from));
        json_object_set_new(r, "to_port", json_integer(to));
    }
    return r;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The rules both ACLs share: everything from inside the VPC, replies from
 * anywhere, everything out. */
static json_t *base_rules(const stack *s) {
    const char *vpc = json_string_value(json_object_get(s->root, "vpc_cidr"));
    json_t *rules = json_array();
    json_array_append_new(rules, rule(0, 100, "-1", vpc, 0, 0));
    json_array_append_new(rules, rule(0, 110, "6", "0.0.0.0/0", 1024, 65535));
    json_array_append_new(rules, rule(1, 100, "-1", "0.0.0.0/0", 0, 0));
    return rules;
}

/* Office CIDRs sorted, so their order in stack.json never renumbers rules. */
static json_t *public_rules(const stack *s) {
    json_t *rules = base_rules(s), *office = json_object_get(s->root, "office_cidrs");
    size_t n = json_array_size(office);
    const char **sorted = calloc(n ? n : 1, sizeof(*sorted));
    for (size_t i = 0; i < n; i++) sorted[i] = json_string_value(json_array_get(office, i));
    qsort(sorted, n, sizeof(*sorted), cmp_str);
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(rules, rule(0, 200 + 2 * (int)i, "6", sorted[i], 443, 443));
        json_array_append_new(rules, rule(0, 201 + 2 * (int)i, "6", sorted[i], 80, 80));
    }
    free(sorted);
    return rules;
}

static json_t *subnet_refs(const stack *s, const char *tier) {
    char key[32];
    snprintf(key, sizeof(key), "%s_subnet_cidrs", tier);
    json_t *refs = json_array();
    for (size_t i = 0; i < json_array_size(json_object_get(s->root, key)); i++) {
        char id[64];
        snprintf(id, sizeof(id), "subnet.%s_%c", tier, (char)('a' + i));
        json_array_append_new(refs, resource_ref(id));
    }
    return refs;
}

static void add_network_acls(const stack *s, resource_set *out) {
    resource_set_add(out, "network_acl", "network_acl.public", NULL,
                     json_pack("{s:o,s:o,s:o}", "vpc", resource_ref("vpc.main"),
                               "subnets", subnet_refs(s, "public"), "entries", public_rules(s)));
    resource_set_add(out, "network_acl", "network_acl.private", NULL,
                     json_pack("{s:o,s:o,s:o}", "vpc", resource_ref("vpc.main"),
                               "subnets", subnet_refs(s, "private"), "entries", base_rules(s)));
}

void stack_network_extra_resources(const stack *s, resource_set *out) {
    if (json_is_true(json_object_get(s->root, "enable_nat_gateway"))) add_nat_gateways(s, out);
    if (json_is_true(json_object_get(s->root, "enable_network_acls"))) add_network_acls(s, out);
}
