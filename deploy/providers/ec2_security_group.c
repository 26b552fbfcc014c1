/* ec2_security_group: security groups and their ingress rules.
 *
 * Rules are compared as sets of single permissions (protocol, ports, one
 * source), so a change revokes and authorizes exactly the difference. The
 * default allow-all egress rule that AWS creates is left alone.
 *
 * Ownership: a group is the stack's when its tags prove it (ec2_owned),
 * whatever the Describe's tag filter returned; its rules are the stack's
 * through it. A group is created by name in the stack's VPC: AWS refuses a
 * name that is taken there, so a group that is not the stack's is never
 * taken over. */
#include "deploy/providers/ec2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *rule_from_xml(const xml_node *p) {
    const char *proto = xml_path_text(p, "ipProtocol");
    const char *from = xml_path_text(p, "fromPort"), *to = xml_path_text(p, "toPort");
    json_t *cidrs = json_array(), *groups = json_array();
    for (xml_node *r = xml_path(p, "ipRanges/item"); r; r = xml_next_same(r))
        if (xml_path_text(r, "cidrIp")) json_array_append_new(cidrs, json_string(xml_path_text(r, "cidrIp")));
    for (xml_node *g = xml_path(p, "groups/item"); g; g = xml_next_same(g))
        if (xml_path_text(g, "groupId")) json_array_append_new(groups, json_string(xml_path_text(g, "groupId")));
    return json_pack("{s:s,s:i,s:i,s:o,s:o}", "protocol", proto ? proto : "-1",
                     "from_port", from ? atoi(from) : -1, "to_port", to ? atoi(to) : -1,
                     "cidrs", cidrs, "source_groups", groups);
}

static void sg_item(const provider_ctx *c, const xml_node *it, resource_set *out) {
    json_t *ingress = json_array();
    for (xml_node *p = xml_path(it, "ipPermissions/item"); p; p = xml_next_same(p))
        json_array_append_new(ingress, rule_from_xml(p));
    json_t *a = json_pack("{s:s,s:s,s:s,s:o}", "vpc", xml_path_text(it, "vpcId") ?: "",
                          "name", xml_path_text(it, "groupName") ?: "",
                          "description", xml_path_text(it, "groupDescription") ?: "",
                          "ingress", ingress);
    ec2_add_tagged(c, it, "security_group", "groupId", a, out);
}

static int sg_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    return ec2_describe_tagged(c, "DescribeSecurityGroups", "securityGroupInfo", sg_item, out, err);
}

/* Flattens rules into single-source permissions: {protocol,from,to,cidr|group}. */
static json_t *flatten(const json_t *rules) {
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(rules); i++) {
        const json_t *r = json_array_get(rules, i);
        const char *kinds[] = {"cidrs", "source_groups"};
        for (int k = 0; k < 2; k++) {
            json_t *srcs = json_object_get(r, kinds[k]);
            for (size_t j = 0; j < json_array_size(srcs); j++)
                json_array_append_new(out, json_pack("{s:O,s:O,s:O,s:s,s:O}",
                                                     "protocol", json_object_get(r, "protocol"), "from_port", json_object_get(r, "from_port"),
                                                     "to_port", json_object_get(r, "to_port"), "kind", kinds[k], "source", json_array_get(srcs, j)));
        }
    }
    return out;
}

static int contains(const json_t *arr, const json_t *v) {
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (json_equal(json_array_get(arr, i), (json_t *)v)) return 1;
    return 0;
}

/* Calls `action` with every permission of `perms` not in `except`. */
static int sg_permissions(const provider_ctx *c, const char *action, const char *group,
                          const json_t *perms, const json_t *except, errinfo *err) {
    aws_params p = {0};
    int n = 0;
    aws_params_add(&p, "GroupId", group);
    for (size_t i = 0; i < json_array_size(perms); i++) {
        const json_t *x = json_array_get(perms, i);
        if (contains(except, x)) continue;
        n++;
        char k[96];
        snprintf(k, sizeof(k), "IpPermissions.%d.IpProtocol", n);
        aws_params_add(&p, k, resource_attr_str(x, "protocol"));
        if (strcmp(resource_attr_str(x, "protocol"), "-1") != 0) {
            snprintf(k, sizeof(k), "IpPermissions.%d.FromPort", n);
            aws_params_addf(&p, k, "%lld", (long long)json_integer_value(json_object_get(x, "from_port")));
            snprintf(k, sizeof(k), "IpPermissions.%d.ToPort", n);
            aws_params_addf(&p, k, "%lld", (long long)json_integer_value(json_object_get(x, "to_port")));
        }
        int cidr = strcmp(resource_attr_str(x, "kind"), "cidrs") == 0;
        snprintf(k, sizeof(k), cidr ? "IpPermissions.%d.IpRanges.1.CidrIp" : "IpPermissions.%d.Groups.1.GroupId", n);
        aws_params_add(&p, k, resource_attr_str(x, "source"));
    }
    int rc = n ? ec2_call(c, action, &p, NULL, err) : 0;
    aws_params_free(&p);
    return rc;
}

static int sg_converge(const provider_ctx *c, const char *group, const json_t *old_rules,
                       const json_t *new_rules, errinfo *err) {
    json_t *have = flatten(old_rules), *want = flatten(new_rules);
    int rc = sg_permissions(c, "RevokeSecurityGroupIngress", group, have, want, err);
    if (rc == 0) rc = sg_permissions(c, "AuthorizeSecurityGroupIngress", group, want, have, err);
    json_decref(have);
    json_decref(want);
    return rc;
}

static int sg_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "GroupName", resource_attr_str(a, "name"));
    aws_params_add(&p, "GroupDescription", resource_attr_str(a, "description"));
    aws_params_add(&p, "VpcId", resource_attr_str(a, "vpc"));
    if (ec2_create_tagged(c, "CreateSecurityGroup", "security-group", &p, "groupId", r, err)) {
        /* Discovery found no group of the stack by that name: it is someone else's. */
        if (errinfo_is_remote(err, "InvalidGroup.Duplicate"))
            errinfo_prefix(err,
                           "security group %s exists but is not deploybot's (not tagged deploybot:stack=%s): "
                           "rename or delete it",
                           resource_attr_str(a, "name"), c->stack);
        return -1;
    }
    return sg_converge(c, r->physical, NULL, json_object_get(a, "ingress"), err);
}

static int sg_update(const provider_ctx *c, const resource *r, const json_t *old,
                     const json_t *a, errinfo *err) {
    return sg_converge(c, r->physical, json_object_get(old, "ingress"),
                       json_object_get(a, "ingress"), err);
}

static int sg_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    (void)old;
    return ec2_call1(c, "DeleteSecurityGroup", "GroupId", r->physical, err);
}

static const char *const sg_force[] = {"vpc", "name", "description", NULL};
const provider provider_security_group = {
    .type = "security_group",
    .service = "ec2",
    .force_new = sg_force,
    .discover = sg_discover,
    .create = sg_create,
    .update = sg_update,
    .destroy = sg_destroy,
};
