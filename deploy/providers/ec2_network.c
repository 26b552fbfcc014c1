/* ec2_network: providers for the network layer — VPC, subnets, internet
 * gateway and route tables (with their routes and subnet associations);
 * security groups are in ec2_security_group.c.
 *
 * Ownership: each is the stack's when its tags say deploybot:stack=<env>
 * and carry a deploybot:id (ec2_owned), whatever the Describe's tag filter
 * returned. A table's routes and associations are the stack's through it.
 * Moving one of the stack's subnets into a table that wants it may take
 * the subnet's association from the table that holds it: the association
 * is the subnet's, found in the answer by the subnet's id whatever the
 * association filter returned. */
#include "deploy/providers/ec2.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- VPC ---- */

static void vpc_item(const provider_ctx *c, const xml_node *it, resource_set *out) {
    json_t *a = json_pack("{s:s}", "cidr_block", xml_path_text(it, "cidrBlock") ?: "");
    ec2_add_tagged(c, it, "vpc", "vpcId", a, out);
}

static int vpc_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    return ec2_describe_tagged(c, "DescribeVpcs", "vpcSet", vpc_item, out, err);
}

static int vpc_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "CidrBlock", resource_attr_str(a, "cidr_block"));
    return ec2_create_tagged(c, "CreateVpc", "vpc", &p, "vpc/vpcId", r, err);
}

static int vpc_destroy(const provider_ctx *c, const resource *r, const json_t *old,
                       errinfo *err) {
    (void)old;
    return ec2_call1(c, "DeleteVpc", "VpcId", r->physical, err);
}

static const char *const vpc_force[] = {"cidr_block", NULL};
const provider provider_vpc = {
    .type = "vpc",
    .service = "ec2",
    .force_new = vpc_force,
    .discover = vpc_discover,
    .create = vpc_create,
    .destroy = vpc_destroy,
};

/* ---- Subnet ---- */

static void subnet_item(const provider_ctx *c, const xml_node *it, resource_set *out) {
    const char *map = xml_path_text(it, "mapPublicIpOnLaunch");
    json_t *a = json_pack("{s:s,s:s,s:s,s:b}", "vpc", xml_path_text(it, "vpcId") ?: "",
                          "cidr_block", xml_path_text(it, "cidrBlock") ?: "",
                          "availability_zone", xml_path_text(it, "availabilityZone") ?: "",
                          "map_public_ip", map && strcmp(map, "true") == 0);
    ec2_add_tagged(c, it, "subnet", "subnetId", a, out);
}

static int subnet_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    return ec2_describe_tagged(c, "DescribeSubnets", "subnetSet", subnet_item, out, err);
}

static int subnet_set_public(const provider_ctx *c, const char *id, int on, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "SubnetId", id);
    aws_params_add(&p, "MapPublicIpOnLaunch.Value", on ? "true" : "false");
    int rc = ec2_call(c, "ModifySubnetAttribute", &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

static int subnet_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "VpcId", resource_attr_str(a, "vpc"));
    aws_params_add(&p, "CidrBlock", resource_attr_str(a, "cidr_block"));
    aws_params_add(&p, "AvailabilityZone", resource_attr_str(a, "availability_zone"));
    if (ec2_create_tagged(c, "CreateSubnet", "subnet", &p, "subnet/subnetId", r, err) != 0) return -1;
    if (json_is_true(json_object_get(a, "map_public_ip")))
        return subnet_set_public(c, r->physical, 1, err);
    return 0;
}

static int subnet_update(const provider_ctx *c, const resource *r, const json_t *old,
                         const json_t *a, errinfo *err) {
    (void)old;
    return subnet_set_public(c, r->physical, json_is_true(json_object_get(a, "map_public_ip")), err);
}

static int subnet_destroy(const provider_ctx *c, const resource *r, const json_t *old,
                          errinfo *err) {
    (void)old;
    return ec2_call1(c, "DeleteSubnet", "SubnetId", r->physical, err);
}

/* The names of the region's zones (a new reference), asked once per plan
 * (c->memo): every new subnet's check needs them, and one unfiltered call
 * answers them all. */
static json_t *region_zones(const provider_ctx *c, errinfo *err) {
    static const char key[] = "ec2:DescribeAvailabilityZones";
    json_t *zones = c->memo ? json_object_get(c->memo, key) : NULL;
    aws_params p = {0};
    xml_node *doc = NULL;

    if (zones) return json_incref(zones);
    if (ec2_call(c, "DescribeAvailabilityZones", &p, &doc, err) != 0) return NULL;
    zones = json_array();
    for (xml_node *it = xml_path(doc, "availabilityZoneInfo/item"); it; it = xml_next_same(it))
        json_array_append_new(zones, json_string(xml_path_text(it, "zoneName") ?: ""));
    xml_free(doc);
    if (c->memo) json_object_set(c->memo, key, zones);
    return zones;
}

/* A new subnet's zone exists in the region: CreateSubnet refuses another
 * (stack.json can only say that it is named like one of the region's). */
static int subnet_check(const provider_ctx *c, const resource *d, const resource *actual, errinfo *err) {
    if (actual) return 0; /* its zone cannot change in place */
    const char *zone = resource_attr_str(d->attrs, "availability_zone");
    json_t *zones = region_zones(c, err), *z;
    size_t i;
    strbuf names = {0};
    int found = 0;

    if (!zones) return -1;
    json_array_foreach(zones, i, z) {
        found |= strcmp(json_string_value(z), zone ? zone : "") == 0;
        strbuf_printf(&names, "%s%s", i ? ", " : "", json_string_value(z));
    }
    if (!found)
        errinfo_set(err, ERR_INVALID, "availability zone %s (availability_zones) is not one of the region's: %s",
                    zone ? zone : "(none)", names.s ? names.s : "(none)");
    strbuf_free(&names);
    json_decref(zones);
    return found ? 0 : -1;
}

static const char *const subnet_force[] = {"vpc", "cidr_block", "availability_zone", NULL};
const provider provider_subnet = {
    .type = "subnet",
    .service = "ec2",
    .force_new = subnet_force,
    .discover = subnet_discover,
    .create = subnet_create,
    .update = subnet_update,
    .destroy = subnet_destroy,
    .check = subnet_check,
};

/* ---- Internet gateway ---- */

static void igw_item(const provider_ctx *c, const xml_node *it, resource_set *out) {
    const char *vpc = xml_path_text(it, "attachmentSet/item/vpcId");
    json_t *a = json_object();
    json_object_set_new(a, "vpc", vpc ? json_string(vpc) : json_null());
    ec2_add_tagged(c, it, "internet_gateway", "internetGatewayId", a, out);
}

static int igw_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    return ec2_describe_tagged(c, "DescribeInternetGateways", "internetGatewaySet", igw_item, out, err);
}

static int igw_attach(const provider_ctx *c, const char *action, const char *igw,
                      const char *vpc, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "InternetGatewayId", igw);
    aws_params_add(&p, "VpcId", vpc);
    int rc = ec2_call(c, action, &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

static int igw_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    aws_params p = {0};
    if (ec2_create_tagged(c, "CreateInternetGateway", "internet-gateway", &p,
                          "internetGateway/internetGatewayId", r, err) != 0)
        return -1;
    return resource_attr_str(a, "vpc") ? igw_attach(c, "AttachInternetGateway", r->physical, resource_attr_str(a, "vpc"), err) : 0;
}

static int igw_destroy(const provider_ctx *c, const resource *r, const json_t *old,
                       errinfo *err) {
    const char *vpc = resource_attr_str(old, "vpc");
    if (vpc && igw_attach(c, "DetachInternetGateway", r->physical, vpc, err)) return -1;
    return ec2_call1(c, "DeleteInternetGateway", "InternetGatewayId", r->physical, err);
}

/* Moving a gateway between VPCs is as disruptive as a new one, and replacing
 * it keeps the apply order acyclic when its VPC is replaced. */
static const char *const igw_force[] = {"vpc", NULL};
const provider provider_internet_gateway = {
    .type = "internet_gateway",
    .service = "ec2",
    .force_new = igw_force,
    .discover = igw_discover,
    .create = igw_create,
    .destroy = igw_destroy,
};

/* ---- Route table ---- */

static void rt_item(const provider_ctx *c, const xml_node *it, resource_set *out) {
    json_t *routes = json_array();
    for (xml_node *r = xml_path(it, "routeSet/item"); r; r = xml_next_same(r)) {
        const char *origin = xml_path_text(r, "origin");
        const char *dst = xml_path_text(r, "destinationCidrBlock");
        if (!dst || (origin && strcmp(origin, "CreateRouteTable") == 0)) continue; /* the local route */
        const char *gw = xml_path_text(r, "gatewayId");
        const char *nat = xml_path_text(r, "natGatewayId");
        if (gw && strcmp(gw, "local") == 0) continue;
        json_array_append_new(routes, json_pack("{s:s,s:s}", "destination", dst,
                                                nat ? "nat_gateway" : "gateway", nat ? nat : gw ? gw
                                                                                                : ""));
    }
    ec2_add_associated(c, it, "route_table", "routeTableId", "routeTableAssociationId",
                       json_pack("{s:o}", "routes", routes), out);
}

static int rt_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    return ec2_describe_tagged(c, "DescribeRouteTables", "routeTableSet", rt_item, out, err);
}

static int rt_route(const provider_ctx *c, const char *action, const char *rt,
                    const json_t *route, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "RouteTableId", rt);
    aws_params_add(&p, "DestinationCidrBlock", resource_attr_str(route, "destination"));
    int target = strcmp(action, "DeleteRoute") != 0; /* DeleteRoute names the destination only */
    if (target && resource_attr_str(route, "gateway")) aws_params_add(&p, "GatewayId", resource_attr_str(route, "gateway"));
    if (target && resource_attr_str(route, "nat_gateway")) aws_params_add(&p, "NatGatewayId", resource_attr_str(route, "nat_gateway"));
    int rc = ec2_call(c, action, &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

/* Sets *assoc to the association of `subnet` with whatever table holds it
 * (NULL: none); it points into *doc. */
static int rt_association_of(const provider_ctx *c, const char *subnet, xml_node **doc,
                             const char **assoc, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "Filter.1.Name", "association.subnet-id");
    aws_params_add(&p, "Filter.1.Value.1", subnet);
    int rc = ec2_call(c, "DescribeRouteTables", &p, doc, err);
    aws_params_free(&p);
    *assoc = NULL;
    for (xml_node *t = rc == 0 ? xml_path(*doc, "routeTableSet/item") : NULL; t; t = xml_next_same(t))
        for (xml_node *a = xml_path(t, "associationSet/item"); a && !*assoc; a = xml_next_same(a))
            if (strcmp(xml_path_text(a, "subnetId") ?: "", subnet) == 0)
                *assoc = xml_path_text(a, "routeTableAssociationId");
    return rc;
}

static int rt_associate(const provider_ctx *c, const char *rt, const char *subnet, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "RouteTableId", rt);
    aws_params_add(&p, "SubnetId", subnet);
    int rc = ec2_call(c, "AssociateRouteTable", &p, NULL, err);
    if (rc != 0 && errinfo_is_remote(err, "Resource.AlreadyAssociated")) {
        /* The subnet is still in another table, one this apply removes or
         * replaces later (e.g. the single private table of older versions):
         * move it over in one step. */
        xml_node *doc = NULL;
        const char *assoc = NULL;
        rc = rt_association_of(c, subnet, &doc, &assoc, err);
        if (rc == 0 && assoc) {
            aws_params q = {0};
            aws_params_add(&q, "AssociationId", assoc);
            aws_params_add(&q, "RouteTableId", rt);
            rc = ec2_call(c, "ReplaceRouteTableAssociation", &q, NULL, err);
            aws_params_free(&q);
        } else if (rc == 0) {
            rc = ec2_call(c, "AssociateRouteTable", &p, NULL, err); /* freed meanwhile */
        }
        xml_free(doc);
    }
    aws_params_free(&p);
    return rc;
}

/* An association that is gone already (its subnet was moved or deleted) is done. */
static int rt_disassociate(const provider_ctx *c, const char *assoc, errinfo *err) {
    if (ec2_call1(c, "DisassociateRouteTable", "AssociationId", assoc, err) == 0) return 0;
    return errinfo_is_remote(err, "InvalidAssociationID.NotFound") ? 0 : -1;
}

static const json_t *route_for(const json_t *routes, const char *dst) {
    for (size_t i = 0; i < json_array_size(routes); i++)
        if (strcmp(resource_attr_str(json_array_get(routes, i), "destination"), dst) == 0)
            return json_array_get(routes, i);
    return NULL;
}

/* Brings routes and associations of an existing table from `old` to `a`. */
static int rt_converge(const provider_ctx *c, const char *rt, const json_t *old,
                       const json_t *assoc, const json_t *a, errinfo *err) {
    json_t *want = json_object_get(a, "routes"), *have = json_object_get(old, "routes");
    for (size_t i = 0; i < json_array_size(have); i++) {
        const json_t *h = json_array_get(have, i);
        if (!route_for(want, resource_attr_str(h, "destination")) &&
            rt_route(c, "DeleteRoute", rt, h, err))
            return -1;
    }
    for (size_t i = 0; i < json_array_size(want); i++) {
        const json_t *w = json_array_get(want, i), *h = route_for(have, resource_attr_str(w, "destination"));
        if (h && json_equal((json_t *)h, (json_t *)w)) continue;
        if (rt_route(c, h ? "ReplaceRoute" : "CreateRoute", rt, w, err)) return -1;
    }
    json_t *ws = json_object_get(a, "subnets"), *hs = json_object_get(old, "subnets");
    for (size_t i = 0; i < json_array_size(hs); i++) {
        const char *s = json_string_value(json_array_get(hs, i));
        const char *id = resource_attr_str(assoc, s);
        if (!resource_strings_have(ws, s) && id && rt_disassociate(c, id, err)) return -1;
    }
    for (size_t i = 0; i < json_array_size(ws); i++) {
        const char *s = json_string_value(json_array_get(ws, i));
        if (!resource_strings_have(hs, s) && rt_associate(c, rt, s, err)) return -1;
    }
    return 0;
}

static int rt_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "VpcId", resource_attr_str(a, "vpc"));
    if (ec2_create_tagged(c, "CreateRouteTable", "route-table", &p, "routeTable/routeTableId", r, err))
        return -1;
    json_t *empty = json_pack("{s:[],s:[]}", "routes", "subnets");
    int rc = rt_converge(c, r->physical, empty, NULL, a, err);
    json_decref(empty);
    return rc;
}

static int rt_update(const provider_ctx *c, const resource *r, const json_t *old,
                     const json_t *a, errinfo *err) {
    return rt_converge(c, r->physical, old, json_object_get(r->extra, "associations"), a, err);
}

static int rt_destroy(const provider_ctx *c, const resource *r, const json_t *old,
                      errinfo *err) {
    (void)old;
    const char *sub;
    json_t *id;
    json_object_foreach(json_object_get(r->extra, "associations"), sub, id) if (rt_disassociate(c, json_string_value(id), err)) return -1;
    return ec2_call1(c, "DeleteRouteTable", "RouteTableId", r->physical, err);
}

static const char *const rt_force[] = {"vpc", NULL};
const provider provider_route_table = {
    .type = "route_table",
    .service = "ec2",
    .force_new = rt_force,
    .discover = rt_discover,
    .create = rt_create,
    .update = rt_update,
    .destroy = rt_destroy,
};
