/* ec2_nacl: the network ACL provider ("network_acl"), with its rules and
 * subnet associations.
 *
 * Rules (`entries`) are a set keyed by direction and rule number: a change
 * deletes, replaces (ReplaceNetworkAclEntry, in place) and creates exactly
 * the rules that differ. AWS's final deny-all rule 32767 is left alone.
 * A subnet always belongs to exactly one ACL, so joining one moves the
 * subnet over (ReplaceNetworkAclAssociation) and leaving one, or deleting
 * the ACL, moves it back to the VPC's default ACL.
 *
 * Ownership: an ACL is the stack's when its tags prove it (ec2_owned); its
 * entries are the stack's through it. A subnet's association is the
 * subnet's: only the stack's subnets (the desired state's references) are
 * ever moved, found in the answer by their id whatever the association
 * filter returned. The default ACL they go back to is the one the answer
 * shows as default of the ACL's own VPC, not the first one answered. */
#include "deploy/providers/ec2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_int_t num(const json_t *o, const char *k) {
    return json_integer_value(json_object_get(o, k));
}

/* ---- discovery ---- */

static json_t *entry_from_xml(const xml_node *e) {
    const char *egress = xml_path_text(e, "egress");
    json_t *r = json_pack("{s:b,s:i,s:s,s:s}", "egress", egress && strcmp(egress, "true") == 0,
                          "rule", atoi(xml_path_text(e, "ruleNumber") ?: "0"),
                          "protocol", xml_path_text(e, "protocol") ?: "",
                          "action", xml_path_text(e, "ruleAction") ?: "");
    const char *v4 = xml_path_text(e, "cidrBlock"), *v6 = xml_path_text(e, "ipv6CidrBlock");
    if (v4) json_object_set_new(r, "cidr_block", json_string(v4));
    if (v6) json_object_set_new(r, "ipv6_cidr_block", json_string(v6));
    const char *from = xml_path_text(e, "portRange/from"), *to = xml_path_text(e, "portRange/to");
    if (from && to) {
        json_object_set_new(r, "from_port", json_integer(atoi(from)));
        json_object_set_new(r, "to_port", json_integer(atoi(to)));
    }
    const char *type = xml_path_text(e, "icmpTypeCode/type"), *code = xml_path_text(e, "icmpTypeCode/code");
    if (type && code) {
        json_object_set_new(r, "icmp_type", json_integer(atoi(type)));
        json_object_set_new(r, "icmp_code", json_integer(atoi(code)));
    }
    return r;
}

static void nacl_item(const provider_ctx *c, const xml_node *it, resource_set *out) {
    json_t *entries = json_array();
    for (xml_node *e = xml_path(it, "entrySet/item"); e; e = xml_next_same(e)) {
        const char *n = xml_path_text(e, "ruleNumber");
        if (n && strcmp(n, "32767") != 0) json_array_append_new(entries, entry_from_xml(e));
    }
    ec2_add_associated(c, it, "network_acl", "networkAclId", "networkAclAssociationId",
                       json_pack("{s:o}", "entries", entries), out);
}

static int nacl_discover(const provider_ctx *c, resource_set *out, errinfo *err) {
    return ec2_describe_tagged(c, "DescribeNetworkAcls", "networkAclSet", nacl_item, out, err);
}

/* ---- rules ---- */

static const json_t *entry_for(const json_t *entries, const json_t *like) {
    for (size_t i = 0; i < json_array_size(entries); i++) {
        const json_t *e = json_array_get(entries, i);
        if (num(e, "rule") == num(like, "rule") &&
            json_is_true(json_object_get(e, "egress")) == json_is_true(json_object_get(like, "egress")))
            return e;
    }
    return NULL;
}

static void add_int(aws_params *p, const char *key, const json_t *o, const char *k) {
    aws_params_addf(p, key, "%lld", (long long)num(o, k));
}

/* CreateNetworkAclEntry / ReplaceNetworkAclEntry with every field of `e`;
 * DeleteNetworkAclEntry with its key only. */
static int entry_call(const provider_ctx *c, const char *action, const char *acl,
                      const json_t *e, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "NetworkAclId", acl);
    add_int(&p, "RuleNumber", e, "rule");
    aws_params_add(&p, "Egress", json_is_true(json_object_get(e, "egress")) ? "true" : "false");
    if (strcmp(action, "DeleteNetworkAclEntry") != 0) {
        aws_params_add(&p, "Protocol", resource_attr_str(e, "protocol"));
        aws_params_add(&p, "RuleAction", resource_attr_str(e, "action"));
        if (resource_attr_str(e, "cidr_block")) aws_params_add(&p, "CidrBlock", resource_attr_str(e, "cidr_block"));
        if (resource_attr_str(e, "ipv6_cidr_block")) aws_params_add(&p, "Ipv6CidrBlock", resource_attr_str(e, "ipv6_cidr_block"));
        if (json_object_get(e, "from_port")) {
            add_int(&p, "PortRange.From", e, "from_port");
            add_int(&p, "PortRange.To", e, "to_port");
        }
        if (json_object_get(e, "icmp_type")) {
            add_int(&p, "Icmp.Type", e, "icmp_type");
            add_int(&p, "Icmp.Code", e, "icmp_code");
        }
    }
    int rc = ec2_call(c, action, &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

static int converge_entries(const provider_ctx *c, const char *acl, const json_t *have,
                            const json_t *want, errinfo *err) {
    for (size_t i = 0; i < json_array_size(have); i++) {
        const json_t *h = json_array_get(have, i);
        if (!entry_for(want, h) && entry_call(c, "DeleteNetworkAclEntry", acl, h, err)) return -1;
    }
    for (size_t i = 0; i < json_array_size(want); i++) {
        const json_t *w = json_array_get(want, i), *h = entry_for(have, w);
        if (h && json_equal((json_t *)h, (json_t *)w)) continue;
        if (entry_call(c, h ? "ReplaceNetworkAclEntry" : "CreateNetworkAclEntry", acl, w, err)) return -1;
    }
    return 0;
}

/* ---- subnet associations ---- */

static int move_association(const provider_ctx *c, const char *assoc, const char *acl, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "AssociationId", assoc);
    aws_params_add(&p, "NetworkAclId", acl);
    int rc = ec2_call(c, "ReplaceNetworkAclAssociation", &p, NULL, err);
    aws_params_free(&p);
    return rc;
}

/* Moves every subnet in `subnets` into `acl` from wherever it is now (one
 * Describe for all of them, then one move each). */
static int adopt_subnets(const provider_ctx *c, const char *acl, const json_t *subnets, errinfo *err) {
    if (json_array_size(subnets) == 0) return 0;
    aws_params p = {0};
    aws_params_add(&p, "Filter.1.Name", "association.subnet-id");
    for (size_t i = 0; i < json_array_size(subnets); i++) {
        char k[48];
        snprintf(k, sizeof(k), "Filter.1.Value.%zu", i + 1);
        aws_params_add(&p, k, json_string_value(json_array_get(subnets, i)));
    }
    xml_node *doc = NULL;
    int rc = ec2_call(c, "DescribeNetworkAcls", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) return -1;
    size_t moved = 0;
    for (xml_node *it = xml_path(doc, "networkAclSet/item"); it && rc == 0; it = xml_next_same(it)) {
        const char *owner = xml_path_text(it, "networkAclId");
        for (xml_node *a = xml_path(it, "associationSet/item"); a && rc == 0; a = xml_next_same(a)) {
            const char *sub = xml_path_text(a, "subnetId"), *id = xml_path_text(a, "networkAclAssociationId");
            if (!sub || !id || !resource_strings_have(subnets, sub)) continue;
            moved++;
            if (!owner || strcmp(owner, acl) != 0) rc = move_association(c, id, acl, err);
        }
    }
    xml_free(doc);
    if (rc == 0 && moved < json_array_size(subnets))
        return aws_errinfo_set(err, ERR_REMOTE, "NetworkAclAssociationMissing",
                               "DescribeNetworkAcls "
                               "shows no network ACL for %zu of the subnets to associate with %s",
                               json_array_size(subnets) - moved, acl);
    return rc;
}

static int default_acl(const provider_ctx *c, const char *vpc, char *out, size_t len, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "Filter.1.Name", "vpc-id");
    aws_params_add(&p, "Filter.1.Value.1", vpc);
    aws_params_add(&p, "Filter.2.Name", "default");
    aws_params_add(&p, "Filter.2.Value.1", "true");
    xml_node *doc = NULL;
    int rc = ec2_call(c, "DescribeNetworkAcls", &p, &doc, err);
    aws_params_free(&p);
    if (rc != 0) return -1;
    const char *id = NULL;
    for (xml_node *it = xml_path(doc, "networkAclSet/item"); it && !id; it = xml_next_same(it))
        if (strcmp(xml_path_text(it, "vpcId") ?: "", vpc) == 0 &&
            strcmp(xml_path_text(it, "default") ?: "", "true") == 0)
            id = xml_path_text(it, "networkAclId");
    if (id) snprintf(out, len, "%s", id);
    else errinfo_set(err, ERR_NOT_FOUND, "VPC %s has no default network ACL", vpc);
    xml_free(doc);
    return id ? 0 : -1;
}

/* Sends the subnets of `have` that are not in `keep` back to the default ACL. */
static int release_subnets(const provider_ctx *c, const char *vpc, const json_t *have,
                           const json_t *keep, const json_t *assoc, errinfo *err) {
    char dflt[64] = "";
    for (size_t i = 0; i < json_array_size(have); i++) {
        const char *s = json_string_value(json_array_get(have, i)), *id = resource_attr_str(assoc, s);
        if (!id || resource_strings_have(keep, s)) continue;
        if (!dflt[0] && default_acl(c, vpc, dflt, sizeof(dflt), err)) return -1;
        if (move_association(c, id, dflt, err) == 0) continue;
        if (!errinfo_is_remote(err, "InvalidAssociationID.NotFound")) return -1; /* subnet gone already */
    }
    return 0;
}

/* ---- provider ---- */

static int nacl_create(const provider_ctx *c, resource *r, const json_t *a, errinfo *err) {
    aws_params p = {0};
    aws_params_add(&p, "VpcId", resource_attr_str(a, "vpc"));
    if (ec2_create_tagged(c, "CreateNetworkAcl", "network-acl", &p, "networkAcl/networkAclId", r, err))
        return -1;
    /* Rules first: a subnet never sits behind the new ACL's deny-all alone. */
    if (converge_entries(c, r->physical, NULL, json_object_get(a, "entries"), err)) return -1;
    return adopt_subnets(c, r->physical, json_object_get(a, "subnets"), err);
}

static int nacl_update(const provider_ctx *c, const resource *r, const json_t *old,
                       const json_t *a, errinfo *err) {
    if (converge_entries(c, r->physical, json_object_get(old, "entries"),
                         json_object_get(a, "entries"), err))
        return -1;
    json_t *have = json_object_get(old, "subnets"), *want = json_object_get(a, "subnets");
    if (release_subnets(c, resource_attr_str(old, "vpc"), have, want,
                        json_object_get(r->extra, "associations"), err))
        return -1;
    json_t *joining = json_array();
    for (size_t i = 0; i < json_array_size(want); i++)
        if (!resource_strings_have(have, json_string_value(json_array_get(want, i))))
            json_array_append(joining, json_array_get(want, i));
    int rc = adopt_subnets(c, r->physical, joining, err);
    json_decref(joining);
    return rc;
}

static int nacl_destroy(const provider_ctx *c, const resource *r, const json_t *old, errinfo *err) {
    if (release_subnets(c, resource_attr_str(old, "vpc"), json_object_get(old, "subnets"), NULL,
                        json_object_get(r->extra, "associations"), err))
        return -1;
    return ec2_call1(c, "DeleteNetworkAcl", "NetworkAclId", r->physical, err);
}

static const char *const nacl_force[] = {"vpc", NULL};
const provider provider_network_acl = {
    .type = "network_acl",
    .service = "ec2",
    .force_new = nacl_force,
    .discover = nacl_discover,
    .create = nacl_create,
    .update = nacl_update,
    .destroy = nacl_destroy,
};
