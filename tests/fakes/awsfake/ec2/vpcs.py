"""VPCs: CreateVpc, DescribeVpcs, DeleteVpc, ModifyVpcAttribute, DescribeVpcAttribute.

As in AWS, a new VPC comes with a main route table (holding the ``local``
route), a ``default`` security group and a default network ACL; they go
away with the VPC, and nothing else may remain in it when it is deleted (NAT
gateways not yet deleted and the Elastic IPs they map included).
"""

import copy

from ..errors import AwsError
from .actions import action, describe, exactly_one
from .addresses import vpc_of
from .cidr import parse_ipv4
from .nat_gateways import live_nat_gateways
from .network_acls import create_default_network_acl
from .route_tables import create_main_route_table
from .security_groups import create_default_group
from .tagging import tags_from_specifications

# Attribute member name (input) -> attribute name (DescribeVpcAttribute's Attribute enum).
ATTRIBUTES = {
    "EnableDnsSupport": "enableDnsSupport",
    "EnableDnsHostnames": "enableDnsHostnames",
    "EnableNetworkAddressUsageMetrics": "enableNetworkAddressUsageMetrics",
}

FILTERS = {
    "vpc-id": lambda v: [v["VpcId"]],
    "cidr": lambda v: [v["CidrBlock"]],
    "cidr-block-association.cidr-block": lambda v: [a["CidrBlock"] for a in v["CidrBlockAssociationSet"]],
    "cidr-block-association.association-id":
        lambda v: [a["AssociationId"] for a in v["CidrBlockAssociationSet"]],
    "cidr-block-association.state":
        lambda v: [a["CidrBlockState"]["State"] for a in v["CidrBlockAssociationSet"]],
    "dhcp-options-id": lambda v: [v["DhcpOptionsId"]],
    "is-default": lambda v: [v["IsDefault"]],
    "owner-id": lambda v: [v["OwnerId"]],
    "state": lambda v: [v["State"]],
}


def vpc_cidrs(vpc):
    return [a["CidrBlock"] for a in vpc["CidrBlockAssociationSet"]
            if a["CidrBlockState"]["State"] == "associated"]


@action("CreateVpc")
def create_vpc(state, params):
    if params.get("Ipv4IpamPoolId") or params.get("AmazonProvidedIpv6CidrBlock") \
            or params.get("Ipv6CidrBlock") or params.get("Ipv6Pool"):
        raise AwsError("UnsupportedOperation", "The fake supports IPv4 CidrBlock VPCs only.")
    if not params.get("CidrBlock"):
        raise AwsError("MissingParameter", "The request must contain the parameter CidrBlock")
    network = parse_ipv4(params["CidrBlock"], "cidrBlock")
    if not 16 <= network.prefixlen <= 28:
        raise AwsError("InvalidVpc.Range", f"The CIDR '{params['CidrBlock']}' is invalid.")
    tenancy = params.get("InstanceTenancy", "default")
    if tenancy == "host":
        raise AwsError("InvalidParameterValue",
                       "Value (host) for parameter instanceTenancy is invalid.")
    tags = tags_from_specifications(params, "vpc")

    vpc_id = state.new_id("vpc")
    vpc = state.add("vpc", vpc_id, {
        "VpcId": vpc_id,
        "CidrBlock": str(network),
        "DhcpOptionsId": state.dhcp_options_id,
        "State": "available",
        "OwnerId": state.account_id,
        "InstanceTenancy": tenancy,
        "CidrBlockAssociationSet": [{
            "AssociationId": state.new_id("vpc-cidr-assoc"),
            "CidrBlock": str(network),
            "CidrBlockState": {"State": "associated"},
        }],
        "IsDefault": False,
        "Tags": tags,
        "_attrs": {"enableDnsSupport": True, "enableDnsHostnames": False,
                   "enableNetworkAddressUsageMetrics": False},
    })
    vpc["_main_route_table"] = create_main_route_table(state, vpc)["RouteTableId"]
    vpc["_default_group"] = create_default_group(state, vpc)["GroupId"]
    vpc["_default_network_acl"] = create_default_network_acl(state, vpc)["NetworkAclId"]
    # AWS answers "pending" on create and "available" from Describe shortly
    # after; clients are expected to wait (the vpc-available waiter).
    created = copy.deepcopy(vpc)
    created["State"] = "pending"
    return {"Vpc": created}


@action("DescribeVpcs")
def describe_vpcs(state, params):
    return describe(state, "DescribeVpcs", params, kind="vpc", filters=FILTERS,
                    ids_member="VpcIds")


@action("DeleteVpc")
def delete_vpc(state, params):
    vpc = state.get("vpc", params["VpcId"])
    vpc_id = vpc["VpcId"]
    dependents = (
        [s for s in state.all("subnet") if s["VpcId"] == vpc_id]
        + [g for g in state.all("internet-gateway")
           if any(a["VpcId"] == vpc_id for a in g["Attachments"])]
        + [g for g in state.all("security-group")
           if g["VpcId"] == vpc_id and g["GroupId"] != vpc["_default_group"]]
        + [t for t in state.all("route-table")
           if t["VpcId"] == vpc_id and t["RouteTableId"] != vpc["_main_route_table"]]
        + live_nat_gateways(state, vpc_id=vpc_id)
        + [a for a in state.all("elastic-ip") if vpc_of(state, a) == vpc_id]
        + [a for a in state.all("network-acl") if a["VpcId"] == vpc_id and not a["IsDefault"]])
    if dependents:
        raise AwsError("DependencyViolation",
                       f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
    group = state.store["security-group"][vpc["_default_group"]]
    for rule_id in group["_rule_ids"]:
        state.remove("security-group-rule", rule_id)
    state.remove("security-group", vpc["_default_group"])
    state.remove("route-table", vpc["_main_route_table"])
    state.remove("network-acl", vpc["_default_network_acl"])
    state.remove("vpc", vpc_id)
    return {}


@action("ModifyVpcAttribute")
def modify_vpc_attribute(state, params):
    vpc = state.get("vpc", params["VpcId"])
    member = exactly_one(params, list(ATTRIBUTES), ", ".join(ATTRIBUTES))
    value = params[member].get("Value")
    if value is None:
        raise AwsError("MissingParameter", f"The request must contain the parameter {member}.Value")
    attrs = vpc["_attrs"]
    if member == "EnableDnsHostnames" and value and not attrs["enableDnsSupport"]:
        raise AwsError("InvalidParameterCombination",
                       "Cannot enable DNS hostnames while DNS support is disabled.")
    if member == "EnableDnsSupport" and not value and attrs["enableDnsHostnames"]:
        raise AwsError("InvalidParameterCombination",
                       "Cannot disable DNS support while DNS hostnames are enabled.")
    attrs[ATTRIBUTES[member]] = value
    return {}


@action("DescribeVpcAttribute")
def describe_vpc_attribute(state, params):
    vpc = state.get("vpc", params["VpcId"])
    attribute = params["Attribute"]
    member = next(m for m, a in ATTRIBUTES.items() if a == attribute)
    return {"VpcId": vpc["VpcId"], member: {"Value": vpc["_attrs"][attribute]}}
