"""Elastic IP addresses: AllocateAddress, DescribeAddresses, ReleaseAddress.

VPC addresses only (EC2-Classic is gone). An address is associated with a
network interface while a NAT gateway uses it (nat_gateways.py sets and
clears the association) and cannot be released meanwhile:
``InvalidIPAddress.InUse``, as in AWS. DescribeAddresses is not paginated in
EC2 (no MaxResults/NextToken in its model), so the fake has none either.
"""

import ipaddress
import secrets

from ..errors import AwsError
from .actions import action, describe
from .tagging import tags_from_specifications

# Public addresses come from 198.18.0.0/15 (reserved for benchmarks, never
# routed): obviously fake, and room for far more addresses than any test needs.
_POOL = ipaddress.IPv4Network("198.18.0.0/15")

FILTERS = {
    "allocation-id": lambda a: [a["AllocationId"]],
    "association-id": lambda a: [a.get("AssociationId")],
    "domain": lambda a: [a["Domain"]],
    "instance-id": lambda a: [a.get("InstanceId")],
    "network-border-group": lambda a: [a["NetworkBorderGroup"]],
    "network-interface-id": lambda a: [a.get("NetworkInterfaceId")],
    "network-interface-owner-id": lambda a: [a.get("NetworkInterfaceOwnerId")],
    "private-ip-address": lambda a: [a.get("PrivateIpAddress")],
    "public-ip": lambda a: [a["PublicIp"]],
}

# Keys of an address that describe its association.
ASSOCIATION_KEYS = ("AssociationId", "NetworkInterfaceId", "NetworkInterfaceOwnerId",
                    "PrivateIpAddress", "_nat_gateway")


def _free_public_ip(state):
    used = {a["PublicIp"] for a in state.all("elastic-ip")}
    while True:
        ip = str(_POOL[1 + secrets.randbelow(_POOL.num_addresses - 2)])
        if ip not in used:
            return ip


def associate(state, address, nat_gateway_id, interface_id, private_ip):
    address.update({"AssociationId": state.new_id("eipassoc"), "NetworkInterfaceId": interface_id,
                    "NetworkInterfaceOwnerId": state.account_id, "PrivateIpAddress": private_ip,
                    "_nat_gateway": nat_gateway_id})


def disassociate(address):
    for key in ASSOCIATION_KEYS:
        address.pop(key, None)


@action("AllocateAddress")
def allocate_address(state, params):
    if params.get("Domain", "vpc") != "vpc":
        raise AwsError("UnsupportedOperation", "The fake supports VPC addresses (Domain vpc) only.")
    for member in ("Address", "CustomerOwnedIpv4Pool"):
        if params.get(member):
            raise AwsError("UnsupportedOperation", f"The fake does not support {member}.")
    pool = params.get("PublicIpv4Pool", "amazon")
    if pool != "amazon":
        raise AwsError("InvalidPublicIpv4PoolID.NotFound", f"The pool ID '{pool}' does not exist")
    group = params.get("NetworkBorderGroup", state.region)
    if group != state.region:
        raise AwsError("InvalidParameterValue",
                       f"Value ({group}) for parameter networkBorderGroup is invalid.")
    tags = tags_from_specifications(params, "elastic-ip")
    allocation_id = state.new_id("eipalloc")
    address = state.add("elastic-ip", allocation_id, {
        "AllocationId": allocation_id,
        "PublicIp": _free_public_ip(state),
        "Domain": "vpc",
        "PublicIpv4Pool": "amazon",
        "NetworkBorderGroup": state.region,
        "Tags": tags,
    })
    # The answer has no tag set (AllocateAddressResult has no Tags member).
    return {k: address[k] for k in ("AllocationId", "PublicIp", "Domain", "PublicIpv4Pool",
                                     "NetworkBorderGroup")}


@action("DescribeAddresses")
def describe_addresses(state, params):
    ips = params.get("PublicIps")
    if ips:
        known = {a["PublicIp"] for a in state.all("elastic-ip")}
        missing = [ip for ip in ips if ip not in known]
        if missing:
            raise AwsError("InvalidAddress.NotFound", f"Address '{missing[0]}' not found.")
        params = dict(params, Filters=(params.get("Filters") or [])
                      + [{"Name": "public-ip", "Values": list(ips)}])
    return describe(state, "DescribeAddresses", params, kind="elastic-ip", filters=FILTERS,
                    ids_member="AllocationIds", result_key="Addresses")


@action("ReleaseAddress")
def release_address(state, params):
    if params.get("AllocationId") is None:
        if params.get("PublicIp") is not None:
            raise AwsError("InvalidParameterValue",
                           "You must specify an allocation id when releasing a VPC elastic IP address")
        raise AwsError("MissingParameter", "The request must contain the parameter AllocationId")
    address = state.get("elastic-ip", params["AllocationId"])
    if address.get("AssociationId"):
        raise AwsError("InvalidIPAddress.InUse", f"Address {address['PublicIp']} is in use.")
    state.remove("elastic-ip", address["AllocationId"])
    return {}


def vpc_of(state, address):
    """The VPC an associated address is mapped into (through its NAT gateway), or None."""
    nat = state.store["natgateway"].get(address.get("_nat_gateway"))
    return nat["VpcId"] if nat else None
