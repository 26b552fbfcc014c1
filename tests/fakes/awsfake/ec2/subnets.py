"""Subnets: CreateSubnet, DescribeSubnets, DeleteSubnet, ModifySubnetAttribute.

A new subnet is associated with its VPC's default network ACL; a subnet
holding a NAT gateway (not yet deleted) cannot be deleted.
"""

import ipaddress

from ..errors import AwsError
from .actions import action, describe, exactly_one
from .cidr import parse_ipv4
from .nat_gateways import live_nat_gateways
from .network_acls import associate_default, remove_subnet_association
from .route_tables import remove_subnet_associations
from .tagging import tags_from_specifications
from .vpcs import vpc_cidrs

# AWS reserves five addresses in every subnet (network, router, DNS, future, broadcast).
RESERVED_ADDRESSES = 5

FILTERS = {
    "subnet-id": lambda s: [s["SubnetId"]],
    "vpc-id": lambda s: [s["VpcId"]],
    "availability-zone": lambda s: [s["AvailabilityZone"]],
    "availabilityZone": lambda s: [s["AvailabilityZone"]],
    "availability-zone-id": lambda s: [s["AvailabilityZoneId"]],
    "available-ip-address-count": lambda s: [s["AvailableIpAddressCount"]],
    "cidr-block": lambda s: [s["CidrBlock"]],
    "cidr": lambda s: [s["CidrBlock"]],
    "cidrBlock": lambda s: [s["CidrBlock"]],
    "default-for-az": lambda s: [s["DefaultForAz"]],
    "defaultForAz": lambda s: [s["DefaultForAz"]],
    "map-public-ip-on-launch": lambda s: [s["MapPublicIpOnLaunch"]],
    "enable-dns64": lambda s: [s["EnableDns64"]],
    "ipv6-native": lambda s: [s["Ipv6Native"]],
    "owner-id": lambda s: [s["OwnerId"]],
    "state": lambda s: [s["State"]],
    "subnet-arn": lambda s: [s["SubnetArn"]],
}

# ModifySubnetAttribute members this fake supports, and how each is stored.
_BOOLEAN_ATTRIBUTES = {
    "MapPublicIpOnLaunch": ("MapPublicIpOnLaunch",),
    "EnableDns64": ("EnableDns64",),
    "EnableResourceNameDnsARecordOnLaunch":
        ("PrivateDnsNameOptionsOnLaunch", "EnableResourceNameDnsARecord"),
    "EnableResourceNameDnsAAAARecordOnLaunch":
        ("PrivateDnsNameOptionsOnLaunch", "EnableResourceNameDnsAAAARecord"),
}
_UNSUPPORTED_ATTRIBUTES = ["AssignIpv6AddressOnCreation", "MapCustomerOwnedIpOnLaunch",
                           "CustomerOwnedIpv4Pool", "EnableLniAtDeviceIndex",
                           "DisableLniAtDeviceIndex"]


def _zone_for(state, params):
    name, zone_id = params.get("AvailabilityZone"), params.get("AvailabilityZoneId")
    if name is None and zone_id is None:
        return state.zones[0]
    zone = state.zone(name=name) if name is not None else state.zone(zone_id=zone_id)
    if zone is None or (zone_id is not None and name is not None and zone["ZoneId"] != zone_id):
        value, param = (name, "availabilityZone") if name is not None else (zone_id, "availabilityZoneId")
        raise AwsError("InvalidParameterValue",
                       f"Value ({value}) for parameter {param} is invalid. Subnets can currently "
                       f"only be created in the following availability zones: "
                       f"{', '.join(z['ZoneName'] for z in state.zones)}.")
    return zone


@action("CreateSubnet")
def create_subnet(state, params):
    vpc = state.get("vpc", params["VpcId"])
    if params.get("Ipv6CidrBlock") or params.get("Ipv6Native") or params.get("OutpostArn"):
        raise AwsError("UnsupportedOperation", "The fake supports IPv4 subnets only.")
    if not params.get("CidrBlock"):
        raise AwsError("MissingParameter", "The request must contain the parameter CidrBlock")
    network = parse_ipv4(params["CidrBlock"], "cidrBlock")
    in_vpc = any(network.subnet_of(ipaddress.IPv4Network(c)) for c in vpc_cidrs(vpc))
    if not in_vpc or not 16 <= network.prefixlen <= 28:
        raise AwsError("InvalidSubnet.Range", f"The CIDR '{params['CidrBlock']}' is invalid.")
    for other in state.all("subnet"):
        if other["VpcId"] == vpc["VpcId"] and network.overlaps(ipaddress.IPv4Network(other["CidrBlock"])):
            raise AwsError("InvalidSubnet.Conflict",
                           f"The CIDR '{params['CidrBlock']}' conflicts with another subnet")
    zone = _zone_for(state, params)
    tags = tags_from_specifications(params, "subnet")

    subnet_id = state.new_id("subnet")
    subnet = state.add("subnet", subnet_id, {
        "SubnetId": subnet_id,
        "SubnetArn": f"arn:aws:ec2:{state.region}:{state.account_id}:subnet/{subnet_id}",
        "VpcId": vpc["VpcId"],
        "CidrBlock": str(network),
        "AvailabilityZone": zone["ZoneName"],
        "AvailabilityZoneId": zone["ZoneId"],
        "AvailableIpAddressCount": network.num_addresses - RESERVED_ADDRESSES,
        "DefaultForAz": False,
        "MapPublicIpOnLaunch": False,
        "MapCustomerOwnedIpOnLaunch": False,
        "State": "available",
        "OwnerId": state.account_id,
        "AssignIpv6AddressOnCreation": False,
        "Ipv6CidrBlockAssociationSet": [],
        "EnableDns64": False,
        "Ipv6Native": False,
        "PrivateDnsNameOptionsOnLaunch": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
        "Tags": tags,
    })
    associate_default(state, subnet)
    return {"Subnet": subnet}


@action("DescribeSubnets")
def describe_subnets(state, params):
    return describe(state, "DescribeSubnets", params, kind="subnet", filters=FILTERS,
                    ids_member="SubnetIds")


@action("DeleteSubnet")
def delete_subnet(state, params):
    subnet = state.get("subnet", params["SubnetId"])
    if live_nat_gateways(state, subnet_id=subnet["SubnetId"]) or \
            state.registry.users_of("subnet", subnet["SubnetId"]):   # e.g. a load balancer (ELBv2)
        raise AwsError("DependencyViolation",
                       f"The subnet '{subnet['SubnetId']}' has dependencies and cannot be deleted.")
    # Deleting a subnet drops its route table and network ACL associations, as in AWS.
    remove_subnet_associations(state, subnet["SubnetId"])
    remove_subnet_association(state, subnet["SubnetId"])
    state.remove("subnet", subnet["SubnetId"])
    return {}


@action("ModifySubnetAttribute")
def modify_subnet_attribute(state, params):
    subnet = state.get("subnet", params["SubnetId"])
    names = list(_BOOLEAN_ATTRIBUTES) + ["PrivateDnsHostnameTypeOnLaunch"] + _UNSUPPORTED_ATTRIBUTES
    member = exactly_one(params, names, ", ".join(names))
    if member in _UNSUPPORTED_ATTRIBUTES:
        raise AwsError("UnsupportedOperation", f"The fake does not support {member}.")
    if member == "PrivateDnsHostnameTypeOnLaunch":
        subnet["PrivateDnsNameOptionsOnLaunch"]["HostnameType"] = params[member]
        return {}
    value = params[member].get("Value")
    if value is None:
        raise AwsError("MissingParameter", f"The request must contain the parameter {member}.Value")
    target = subnet
    *path, leaf = _BOOLEAN_ATTRIBUTES[member]
    for key in path:
        target = target[key]
    target[leaf] = value
    return {}
