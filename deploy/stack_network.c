/* stack_network: the core network layer of the desired graph
 * (stack_layers.h): the VPC, its internet gateway, the public and private
 * subnets with their route tables, and the load balancer's and the
 * instances' security groups. */
#include "deploy/stack_layers.h"

#include <stdio.h>
#include <string.h>

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

void stack_network_resources(const stack *s, resource_set *out) {
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
