"""Internet gateways: Create/Attach/Detach/Delete/DescribeInternetGateways.

An internet gateway is attached to at most one VPC and a VPC has at most one
internet gateway; an attached gateway cannot be deleted, and it cannot be
detached while public addresses are mapped in the VPC (a NAT gateway's).
"""

from ..errors import AwsError
from .actions import action, describe
from .nat_gateways import live_nat_gateways
from .tagging import tags_from_specifications

FILTERS = {
    "internet-gateway-id": lambda g: [g["InternetGatewayId"]],
    "attachment.vpc-id": lambda g: [a["VpcId"] for a in g["Attachments"]],
    "attachment.state": lambda g: [a["State"] for a in g["Attachments"]],
    "owner-id": lambda g: [g["OwnerId"]],
}


def attached_vpc(gateway):
    return gateway["Attachments"][0]["VpcId"] if gateway["Attachments"] else None


@action("CreateInternetGateway")
def create_internet_gateway(state, params):
    tags = tags_from_specifications(params, "internet-gateway")
    igw_id = state.new_id("igw")
    gateway = state.add("internet-gateway", igw_id, {
        "InternetGatewayId": igw_id,
        "OwnerId": state.account_id,
        "Attachments": [],
        "Tags": tags,
    })
    return {"InternetGateway": gateway}


@action("DescribeInternetGateways")
def describe_internet_gateways(state, params):
    return describe(state, "DescribeInternetGateways", params, kind="internet-gateway",
                    filters=FILTERS, ids_member="InternetGatewayIds")


@action("AttachInternetGateway")
def attach_internet_gateway(state, params):
    gateway = state.get("internet-gateway", params["InternetGatewayId"])
    vpc = state.get("vpc", params["VpcId"])
    current = attached_vpc(gateway)
    if current is not None:
        raise AwsError("Resource.AlreadyAssociated",
                       f"resource {gateway['InternetGatewayId']} is already attached to network {current}")
    for other in state.all("internet-gateway"):
        if attached_vpc(other) == vpc["VpcId"]:
            raise AwsError("Resource.AlreadyAssociated",
                           f"network {vpc['VpcId']} already has an internet gateway attached "
                           f"({other['InternetGatewayId']})")
    # Describe shows an attached internet gateway's attachment as "available".
    gateway["Attachments"] = [{"VpcId": vpc["VpcId"], "State": "available"}]
    return {}


@action("DetachInternetGateway")
def detach_internet_gateway(state, params):
    gateway = state.get("internet-gateway", params["InternetGatewayId"])
    vpc = state.get("vpc", params["VpcId"])
    if attached_vpc(gateway) != vpc["VpcId"]:
        raise AwsError("Gateway.NotAttached",
                       f"resource {gateway['InternetGatewayId']} is not attached to network {vpc['VpcId']}")
    if any(n["ConnectivityType"] == "public" for n in live_nat_gateways(state, vpc_id=vpc["VpcId"])) or \
            state.registry.users_of("vpc-public-addresses", vpc["VpcId"]):   # internet-facing ALBs
        raise AwsError("DependencyViolation",
                       f"Network {vpc['VpcId']} has some mapped public address(es). Please unmap those "
                       "public address(es) before detaching the gateway.")
    gateway["Attachments"] = []
    return {}


@action("DeleteInternetGateway")
def delete_internet_gateway(state, params):
    gateway = state.get("internet-gateway", params["InternetGatewayId"])
    if gateway["Attachments"]:
        raise AwsError("DependencyViolation",
                       f"The internetGateway '{gateway['InternetGatewayId']}' has dependencies "
                       "and cannot be deleted.")
    state.remove("internet-gateway", gateway["InternetGatewayId"])
    return {}
