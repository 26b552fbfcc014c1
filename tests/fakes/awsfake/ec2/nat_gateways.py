"""NAT gateways: CreateNatGateway, DescribeNatGateways, DeleteNatGateway.

As in AWS a NAT gateway is asynchronous: it is ``pending`` after
CreateNatGateway and becomes ``available`` (or ``failed``) later;
DeleteNatGateway makes it ``deleting`` and later ``deleted``. "Later" is the
first of: a Describe call has shown it in the transitional state once, or
SETTLE_SECONDS have passed. So a client that polls sees each transitional
state exactly once (deterministic tests, waiters really loop), and one that
never looks still finds the gateway settled, as in AWS. With a timing
profile on (timing.py), the profile's time instead, looked at or not.

A public NAT gateway holds its Elastic IP (the address is associated with the
gateway's network interface) until it is deleted or has failed; it fails
with ``Gateway.NotAttached`` when its VPC has no internet gateway and with
``Resource.AlreadyAssociated`` when the address is taken, which AWS reports
through the gateway's state, not as an error of the call. Deleted gateways
stay visible (state ``deleted``), as AWS keeps them for about an hour.
"""

import datetime
import ipaddress
import time

from .. import timing
from ..config import config_of
from ..errors import AwsError
from .actions import action, background, describe
from .addresses import associate, disassociate
from .tagging import tags_from_specifications

SETTLE_SECONDS = 10.0

FILTERS = {
    "nat-gateway-id": lambda n: [n["NatGatewayId"]],
    "state": lambda n: [n["State"]],
    "subnet-id": lambda n: [n["SubnetId"]],
    "vpc-id": lambda n: [n["VpcId"]],
}

# Transitional state -> the state it settles into (failed: see _settle).
_NEXT = {"pending": "available", "deleting": "deleted"}
GONE = ("deleted", "failed")


def live_nat_gateways(state, vpc_id=None, subnet_id=None):
    """Gateways that still exist (not deleted or failed), optionally in one VPC or subnet."""
    return [n for n in state.all("natgateway") if n["State"] not in GONE
            and vpc_id in (None, n["VpcId"]) and subnet_id in (None, n["SubnetId"])]


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _release_resources(state, nat):
    """A failed or deleted gateway gives back its address and its subnet IP."""
    for addr in nat["NatGatewayAddresses"]:
        address = state.store["elastic-ip"].get(addr.get("AllocationId"))
        if address is not None and address.get("_nat_gateway") == nat["NatGatewayId"]:
            disassociate(address)
    subnet = state.store["subnet"].get(nat["SubnetId"])
    if subnet is not None and nat["_holds_ip"]:
        subnet["AvailableIpAddressCount"] += 1
    nat["_holds_ip"] = False


def _settle(state, nat):
    failure = nat.pop("_failure", None) if nat["State"] == "pending" else None
    if failure:
        nat["State"] = "failed"
        nat["FailureCode"], nat["FailureMessage"] = failure
    else:
        nat["State"] = _NEXT[nat["State"]]
    if nat["State"] == "deleted":
        nat["DeleteTime"] = _now()
    if nat["State"] in GONE:
        _release_resources(state, nat)
    _begin(nat)


# The timing profile's row of each transitional state.
_KIND = {"pending": "nat-gateway-available", "deleting": "nat-gateway-deleted"}


def _begin(nat):
    nat["_since"], nat["_seen"] = time.monotonic(), False
    nat.pop("_settle_s", None)
    nat["_kind"] = _KIND.get(nat["State"])


def _due(state, nat):
    elapsed = time.monotonic() - nat["_since"]
    profiled = timing.settled(config_of(state), nat, elapsed)
    return profiled if profiled is not None else nat["_seen"] or elapsed >= SETTLE_SECONDS


@background
def settle_nat_gateways(state):
    for nat in state.all("natgateway"):
        if nat["State"] in _NEXT and _due(state, nat):
            _settle(state, nat)


def _private_ip(state, subnet):
    network = ipaddress.IPv4Network(subnet["CidrBlock"])
    used = {a.get("PrivateIp") for n in live_nat_gateways(state, subnet_id=subnet["SubnetId"])
            for a in n["NatGatewayAddresses"]}
    # The first four addresses and the last are AWS's (network, router, DNS, reserved, broadcast).
    for host in range(4, network.num_addresses - 1):
        ip = str(network[host])
        if ip not in used:
            return ip
    raise AwsError("InsufficientFreeAddressesInSubnet",
                   "Subnet has insufficient free addresses to create this NAT gateway")


def _failure(state, subnet, address):
    """Why a new public gateway will fail, as AWS reports it, or None."""
    if not any(a["VpcId"] == subnet["VpcId"] for g in state.all("internet-gateway")
               for a in g["Attachments"]):
        return ("Gateway.NotAttached", f"Network {subnet['VpcId']} has no Internet gateway attached")
    if address.get("AssociationId"):
        return ("Resource.AlreadyAssociated",
                f"Elastic IP address {address['AllocationId']} is already associated")
    return None


def _same_request(nat, request):
    if nat["_request"] != request:
        raise AwsError("IdempotentParameterMismatch",
                       "The client token you have provided is associated with a resource that is "
                       "already deleted or has different parameters. Please use a different client token.")
    return {"ClientToken": nat["_client_token"], "NatGateway": nat}


@action("CreateNatGateway")
def create_nat_gateway(state, params):
    connectivity = params.get("ConnectivityType", "public")
    allocation_id, token = params.get("AllocationId"), params.get("ClientToken")
    request = (params["SubnetId"], allocation_id, connectivity, params.get("PrivateIpAddress"))
    if token:
        for nat in state.all("natgateway"):
            if nat["_client_token"] == token:
                return _same_request(nat, request)
    subnet = state.get("subnet", params["SubnetId"])
    if connectivity == "public" and not allocation_id:
        raise AwsError("MissingParameter", "The request must contain the parameter AllocationId")
    if connectivity == "private" and allocation_id:
        raise AwsError("InvalidParameterCombination",
                       "AllocationId cannot be specified for a private NAT gateway")
    if params.get("PrivateIpAddress"):
        raise AwsError("UnsupportedOperation", "The fake does not support PrivateIpAddress.")
    address = state.get("elastic-ip", allocation_id) if allocation_id else None
    tags = tags_from_specifications(params, "natgateway")
    private_ip = _private_ip(state, subnet)

    nat_id = state.new_id("nat")
    interface_id = state.new_id("eni")
    failure = _failure(state, subnet, address) if address is not None else None
    gateway_address = {"NetworkInterfaceId": interface_id, "PrivateIp": private_ip}
    if address is not None:
        gateway_address.update(AllocationId=address["AllocationId"], PublicIp=address["PublicIp"])
        if failure is None:
            associate(state, address, nat_id, interface_id, private_ip)
    subnet["AvailableIpAddressCount"] -= 1
    nat = state.add("natgateway", nat_id, {
        "NatGatewayId": nat_id,
        "SubnetId": subnet["SubnetId"],
        "VpcId": subnet["VpcId"],
        "State": "pending",
        "CreateTime": _now(),
        "ConnectivityType": connectivity,
        "NatGatewayAddresses": [gateway_address],
        "Tags": tags,
        "_client_token": token,
        "_request": request,
        "_failure": failure,
        "_holds_ip": True,
    })
    _begin(nat)
    result = {"NatGateway": nat}
    if token:
        result["ClientToken"] = token
    return result


def _shown(nat):
    if nat["State"] in _NEXT:
        nat["_seen"] = True
    return nat


@action("DescribeNatGateways")
def describe_nat_gateways(state, params):
    # The filter member of this operation is "Filter", not "Filters" as elsewhere.
    params = dict(params, Filters=params.get("Filter"))
    return describe(state, "DescribeNatGateways", params, kind="natgateway", filters=FILTERS,
                    ids_member="NatGatewayIds", view=_shown)


@action("DeleteNatGateway")
def delete_nat_gateway(state, params):
    nat = state.get("natgateway", params["NatGatewayId"])
    if nat["State"] == "deleted":
        raise AwsError("NatGatewayNotFound", f"The NAT gateway '{nat['NatGatewayId']}' was not found")
    if nat["State"] != "deleting":
        nat.pop("_failure", None)
        nat["State"] = "deleting"
        _begin(nat)
    return {"NatGatewayId": nat["NatGatewayId"]}
