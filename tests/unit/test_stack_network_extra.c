/* The optional network parts of the desired graph: NAT gateways per zone,
 * the private route tables that use them, network ACLs and their rules. */
#include "deploy/stack.h"
#include "deploy/stack_layers.h"
#include "check.h"

#include <stdlib.h>

#define BASE \
    "\"region\":\"eu-west-1\",\"vpc_cidr\":\"10.10.0.0/16\"," \
    "\"availability_zones\":[\"eu-west-1a\",\"eu-west-1b\",\"eu-west-1c\"]," \
    "\"public_subnet_cidrs\":[\"10.10.0.0/24\",\"10.10.1.0/24\",\"10.10.2.0/24\"]," \
    "\"private_subnet_cidrs\":[\"10.10.10.0/24\",\"10.10.11.0/24\",\"10.10.12.0/24\"]"

static int load(const char *json, stack *s, resource_set *rs) {
    char *errors = NULL;
    if (stack_load(json, strlen(json), "environments/dev/stack.json", "dev", s, &errors, NULL) != 0) {
        fprintf(stderr, "%s", errors);
        free(errors);
        return -1;
    }
    memset(rs, 0, sizeof(*rs));
    stack_resources(s, rs);
    return 0;
}

static const char *ref_at(const resource *r, const char *attr) {
    return resource_ref_id(json_object_get(r->attrs, attr));
}

/* How many resources of `type` the graph has (other layers come and go). */
static size_t count_type(const resource_set *rs, const char *type) {
    size_t n = 0;
    for (size_t i = 0; i < rs->n; i++) n += strcmp(rs->items[i].type, type) == 0;
    return n;
}

static void test_off_by_default(void) {
    stack s;
    resource_set rs;
    CHECK(load("{" BASE ",\"office_cidrs\":[\"203.0.113.0/24\"]}", &s, &rs) == 0);
    CHECK(count_type(&rs, "route_table") == 4); /* public + one private per zone */
    CHECK(count_type(&rs, "eip") == 0 && count_type(&rs, "nat_gateway") == 0);
    CHECK(count_type(&rs, "network_acl") == 0);
    resource *rt = resource_set_find(&rs, "route_table.private_c");
    CHECK(rt && json_array_size(json_object_get(rt->attrs, "routes")) == 0);
    resource_set_free(&rs);
    stack_free(&s);
}

static void test_nat_per_zone(void) {
    stack s;
    resource_set rs;
    CHECK(load("{" BASE ",\"office_cidrs\":[\"203.0.113.0/24\"],\"enable_nat_gateway\":true}", &s, &rs) == 0);
    CHECK(count_type(&rs, "eip") == 3 && count_type(&rs, "nat_gateway") == 3);
    CHECK(count_type(&rs, "route_table") == 4);
    const char *zones = "abc";
    for (int i = 0; i < 3; i++) {
        char id[64], want[64];
        snprintf(id, sizeof(id), "nat_gateway.%c", zones[i]);
        resource *nat = resource_set_find(&rs, id);
        CHECK(nat != NULL);
        if (!nat) continue;
        snprintf(want, sizeof(want), "subnet.public_%c", zones[i]);
        CHECK_STR(ref_at(nat, "subnet"), want);
        snprintf(want, sizeof(want), "eip.nat_%c", zones[i]);
        CHECK_STR(ref_at(nat, "allocation"), want);
        CHECK_STR(ref_at(nat, "internet_gateway"), "internet_gateway.main");
        resource *eip = resource_set_find(&rs, want);
        CHECK(eip && strcmp(json_string_value(json_object_get(eip->attrs, "domain")), "vpc") == 0);

        snprintf(id, sizeof(id), "route_table.private_%c", zones[i]);
        resource *rt = resource_set_find(&rs, id);
        CHECK(rt != NULL);
        if (!rt) continue;
        json_t *routes = json_object_get(rt->attrs, "routes"), *subnets = json_object_get(rt->attrs, "subnets");
        CHECK(json_array_size(routes) == 1 && json_array_size(subnets) == 1);
        CHECK_STR(json_string_value(json_object_get(json_array_get(routes, 0), "destination")), "0.0.0.0/0");
        snprintf(want, sizeof(want), "nat_gateway.%c", zones[i]);
        CHECK_STR(resource_ref_id(json_object_get(json_array_get(routes, 0), "nat_gateway")), want);
        snprintf(want, sizeof(want), "subnet.private_%c", zones[i]);
        CHECK_STR(resource_ref_id(json_array_get(subnets, 0)), want);
    }
    resource *pub = resource_set_find(&rs, "route_table.public");
    CHECK(pub && json_array_size(json_object_get(pub->attrs, "subnets")) == 3);
    resource_set_free(&rs);
    stack_free(&s);
}

/* The rule of `acl` with this direction and number, or NULL. */
static json_t *rule(const resource *acl, int egress, int number) {
    json_t *entries = json_object_get(acl->attrs, "entries");
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *e = json_array_get(entries, i);
        if (json_is_true(json_object_get(e, "egress")) == egress &&
            json_integer_value(json_object_get(e, "rule")) == number)
            return e;
    }
    return NULL;
}

static void test_network_acls(void) {
    stack s;
    resource_set rs;
    CHECK(load("{" BASE ",\"office_cidrs\":[\"203.0.113.0/24\",\"198.51.100.0/24\"],"
               "\"enable_network_acls\":true}",
               &s, &rs) == 0);
    resource *pub = resource_set_find(&rs, "network_acl.public");
    resource *priv = resource_set_find(&rs, "network_acl.private");
    CHECK(pub && priv);
    if (!pub || !priv) goto out;
    CHECK_STR(ref_at(pub, "vpc"), "vpc.main");
    CHECK(json_array_size(json_object_get(pub->attrs, "subnets")) == 3);
    CHECK_STR(resource_ref_id(json_array_get(json_object_get(priv->attrs, "subnets"), 2)), "subnet.private_c");
    CHECK(json_array_size(json_object_get(pub->attrs, "entries")) == 3 + 4);
    CHECK(json_array_size(json_object_get(priv->attrs, "entries")) == 3);

    json_t *r = rule(pub, 0, 100); /* everything from inside the VPC */
    CHECK(r && strcmp(json_string_value(json_object_get(r, "protocol")), "-1") == 0);
    CHECK(r && strcmp(json_string_value(json_object_get(r, "cidr_block")), "10.10.0.0/16") == 0);
    CHECK(r && !json_object_get(r, "from_port")); /* AWS keeps no ports for "all" */
    r = rule(priv, 0, 110);                       /* replies */
    CHECK(r && json_integer_value(json_object_get(r, "from_port")) == 1024 &&
          json_integer_value(json_object_get(r, "to_port")) == 65535);
    CHECK(rule(priv, 1, 100) != NULL);
    /* Office CIDRs sorted: 198.51.100.0/24 first whatever the order in stack.json. */
    r = rule(pub, 0, 200);
    CHECK(r && strcmp(json_string_value(json_object_get(r, "cidr_block")), "198.51.100.0/24") == 0 &&
          json_integer_value(json_object_get(r, "from_port")) == 443);
    r = rule(pub, 0, 203);
    CHECK(r && strcmp(json_string_value(json_object_get(r, "cidr_block")), "203.0.113.0/24") == 0 &&
          json_integer_value(json_object_get(r, "to_port")) == 80);
    CHECK(rule(pub, 0, 204) == NULL);
out:
    resource_set_free(&rs);
    stack_free(&s);
}

static void test_office_cidr_limit(void) {
    char office[1024] = "", doc[2048];
    size_t n = 0;
    for (int i = 0; i <= STACK_NACL_MAX_OFFICE_CIDRS; i++)
        n += (size_t)snprintf(office + n, sizeof(office) - n, "%s\"192.0.%d.0/24\"", i ? "," : "", i);
    for (int acls = 1; acls >= 0; acls--) {
        stack s;
        char *errors = NULL;
        snprintf(doc, sizeof(doc), "{" BASE ",\"enable_network_acls\":%s,\"office_cidrs\":[%s]}",
                 acls ? "true" : "false", office);
        int rc = stack_load(doc, strlen(doc), "environments/dev/stack.json", "dev", &s, &errors, NULL);
        if (acls) {
            CHECK(rc != 0);
            CHECK_CONTAINS(errors,
                           "environments/dev/stack.json:office_cidrs: has 10 entries but "
                           "enable_network_acls allows at most 9");
        } else { /* without network ACLs, 10 office CIDRs are fine */
            CHECK(rc == 0 && errors == NULL);
            stack_free(&s);
        }
        free(errors);
    }
}

int main(void) {
    test_off_by_default();
    test_nat_per_zone();
    test_network_acls();
    test_office_cidr_limit();
    return CHECK_DONE();
}
