"""Route tables, routes and associations.

CreateRouteTable, DescribeRouteTables, DeleteRouteTable, CreateRoute,
ReplaceRoute, DeleteRoute, AssociateRouteTable, DisassociateRouteTable,
ReplaceRouteTableAssociation.

Every VPC has a main route table (created with the VPC) whose ``local`` route
covers the VPC CIDR and cannot be removed. A route's state is computed when
described: a route to an internet gateway that is no longer attached to the
VPC is a ``blackhole``, as in AWS.
"""

import copy

from ..errors import AwsError
from .actions import action, describe, exactly_one
from .cidr import parse_ipv4, parse_ipv6
from .tagging import tags_from_specifications

# Route target parameter -> (resource kind in the fake, or None when the fake
# does not model that kind yet; NotFound code; noun in the message).
# When a kind is added (instances ...), put its name here and routes to it work.
ROUTE_TARGETS = {
    "GatewayId": ("internet-gateway", "InvalidGatewayID.NotFound", "gateway ID"),
    "NatGatewayId": ("natgateway", "InvalidNatGatewayID.NotFound", "natGateway ID"),
    "InstanceId": (None, "InvalidInstanceID.NotFound", "instance ID"),
    "NetworkInterfaceId": (None, "InvalidNetworkInterfaceID.NotFound", "networkInterface ID"),
    "VpcPeeringConnectionId": (None, "InvalidVpcPeeringConnectionID.NotFound",
                               "vpcPeeringConnection ID"),
    "TransitGatewayId": (None, "InvalidTransitGatewayID.NotFound", "transitGateway ID"),
    "VpcEndpointId": (None, "InvalidVpcEndpointId.NotFound", "vpcEndpoint ID"),
    "EgressOnlyInternetGatewayId": (None, "InvalidEgressOnlyInternetGatewayId.NotFound",
                                    "egressOnlyInternetGateway ID"),
    "LocalGatewayId": (None, "InvalidLocalGatewayID.NotFound", "localGateway ID"),
    "CarrierGatewayId": (None, "InvalidCarrierGatewayID.NotFound", "carrierGateway ID"),
    "CoreNetworkArn": (None, "InvalidCoreNetworkArn.NotFound", "coreNetwork ARN"),
}
DESTINATIONS = ["DestinationCidrBlock", "DestinationIpv6CidrBlock", "DestinationPrefixListId"]

FILTERS = {
    "route-table-id": lambda t: [t["RouteTableId"]],
    "vpc-id": lambda t: [t["VpcId"]],
    "owner-id": lambda t: [t["OwnerId"]],
    "association.route-table-association-id":
        lambda t: [a["RouteTableAssociationId"] for a in t["Associations"]],
    "association.route-table-id": lambda t: [a["RouteTableId"] for a in t["Associations"]],
    "association.subnet-id": lambda t: [a.get("SubnetId") for a in t["Associations"]],
    "association.gateway-id": lambda t: [a.get("GatewayId") for a in t["Associations"]],
    "association.main": lambda t: [a["Main"] for a in t["Associations"]],
    "route.destination-cidr-block": lambda t: [r.get("DestinationCidrBlock") for r in t["Routes"]],
    "route.destination-ipv6-cidr-block":
        lambda t: [r.get("DestinationIpv6CidrBlock") for r in t["Routes"]],
    "route.gateway-id": lambda t: [r.get("GatewayId") for r in t["Routes"]],
    "route.nat-gateway-id": lambda t: [r.get("NatGatewayId") for r in t["Routes"]],
    "route.origin": lambda t: [r["Origin"] for r in t["Routes"]],
    "route.state": lambda t: [r["State"] for r in t["Routes"]],
}


def _new_table(state, vpc_id, tags):
    rtb_id = state.new_id("rtb")
    vpc = state.store["vpc"][vpc_id]
    return state.add("route-table", rtb_id, {
        "RouteTableId": rtb_id,
        "VpcId": vpc_id,
        "OwnerId": state.account_id,
        "Associations": [],
        "PropagatingVgws": [],
        "Routes": [{"DestinationCidrBlock": a["CidrBlock"], "GatewayId": "local",
                    "Origin": "CreateRouteTable", "State": "active"}
                   for a in vpc["CidrBlockAssociationSet"]],
        "Tags": tags,
    })


def create_main_route_table(state, vpc):
    table = _new_table(state, vpc["VpcId"], [])
    table["Associations"].append({
        "Main": True,
        "RouteTableAssociationId": state.new_id("rtbassoc"),
        "RouteTableId": table["RouteTableId"],
        "AssociationState": {"State": "associated"},
    })
    return table


def remove_subnet_associations(state, subnet_id):
    for table in state.all("route-table"):
        table["Associations"] = [a for a in table["Associations"] if a.get("SubnetId") != subnet_id]


def _route_state(state, table, route):
    gateway = route.get("GatewayId", "")
    if gateway.startswith("igw-"):
        igw = state.store["internet-gateway"].get(gateway)
        if igw is None or not any(a["VpcId"] == table["VpcId"] for a in igw["Attachments"]):
            return "blackhole"
    if route.get("NatGatewayId"):
        nat = state.store["natgateway"].get(route["NatGatewayId"])
        if nat is None or nat["State"] in ("deleted", "failed"):
            return "blackhole"
    return "active"


def _with_route_states(state):
    def view(table):
        shown = copy.deepcopy(table)
        for route in shown["Routes"]:
            route["State"] = _route_state(state, table, route)
        return shown
    return view


def _destination(params):
    member = exactly_one(params, DESTINATIONS,
                         "destinationCidrBlock, destinationIpv6CidrBlock, destinationPrefixListId")
    value = params[member]
    if member == "DestinationCidrBlock":
        return member, str(parse_ipv4(value, "destinationCidrBlock"))
    if member == "DestinationIpv6CidrBlock":
        return member, str(parse_ipv6(value, "destinationIpv6CidrBlock"))
    raise AwsError("InvalidPrefixListID.NotFound", f"The prefix list ID '{value}' does not exist")


def _find_route(table, member, destination):
    for route in table["Routes"]:
        if route.get(member) == destination:
            return route
    return None


def _target(state, table, params):
    """(member, id) of the one route target, checked to exist and fit the VPC."""
    members = [m for m in ROUTE_TARGETS if params.get(m) is not None]
    if not members:
        raise AwsError("MissingParameter",
                       "The request must contain exactly one of gatewayId, natGatewayId, "
                       "networkInterfaceId, vpcPeeringConnectionId, instanceId, transitGatewayId, "
                       "vpcEndpointId, egressOnlyInternetGatewayId, localGatewayId, "
                       "carrierGatewayId or coreNetworkArn")
    if len(members) > 1:
        raise AwsError("InvalidParameterCombination",
                       f"More than one target specified: {', '.join(members)}")
    member = members[0]
    target_id = params[member]
    kind, not_found, noun = ROUTE_TARGETS[member]
    if member == "GatewayId" and not target_id.startswith("igw-"):
        kind = None   # virtual private gateways etc. are not modelled
    target = state.store[kind].get(target_id) if kind else None
    if target is None or target.get("State") in ("deleted", "failed"):
        raise AwsError(not_found, f"The {noun} '{target_id}' does not exist")
    if kind == "internet-gateway":
        in_vpc = any(a["VpcId"] == table["VpcId"] for a in target["Attachments"])
    else:
        in_vpc = target.get("VpcId") == table["VpcId"]
    if not in_vpc:
        raise AwsError("InvalidParameterValue",
                       f"route table {table['RouteTableId']} and network gateway {target_id} "
                       "belong to different networks")
    return member, target_id


@action("CreateRouteTable")
def create_route_table(state, params):
    vpc = state.get("vpc", params["VpcId"])
    tags = tags_from_specifications(params, "route-table")
    return {"RouteTable": _new_table(state, vpc["VpcId"], tags)}


@action("DescribeRouteTables")
def describe_route_tables(state, params):
    return describe(state, "DescribeRouteTables", params, kind="route-table", filters=FILTERS,
                    ids_member="RouteTableIds", view=_with_route_states(state))


@action("DeleteRouteTable")
def delete_route_table(state, params):
    table = state.get("route-table", params["RouteTableId"])
    if table["Associations"]:
        raise AwsError("DependencyViolation",
                       f"The routeTable '{table['RouteTableId']}' has dependencies and cannot be deleted.")
    state.remove("route-table", table["RouteTableId"])
    return {}


@action("CreateRoute")
def create_route(state, params):
    table = state.get("route-table", params["RouteTableId"])
    dest_member, destination = _destination(params)
    if _find_route(table, dest_member, destination):
        raise AwsError("RouteAlreadyExists",
                       f"The route identified by {destination} already exists.")
    target_member, target_id = _target(state, table, params)
    table["Routes"].append({dest_member: destination, target_member: target_id,
                            "Origin": "CreateRoute", "State": "active"})
    return {"Return": True}


@action("ReplaceRoute")
def replace_route(state, params):
    table = state.get("route-table", params["RouteTableId"])
    if params.get("LocalTarget"):
        raise AwsError("UnsupportedOperation", "The fake does not support LocalTarget.")
    dest_member, destination = _destination(params)
    route = _find_route(table, dest_member, destination)
    if route is None:
        raise AwsError("InvalidParameterValue",
                       f"There is no route defined for '{destination}' in the route table. "
                       "Use CreateRoute instead.")
    if route.get("GatewayId") == "local":
        raise AwsError("InvalidParameterValue",
                       f"cannot replace local route {destination} in route table {table['RouteTableId']}")
    target_member, target_id = _target(state, table, params)
    route.clear()
    route.update({dest_member: destination, target_member: target_id,
                  "Origin": "CreateRoute", "State": "active"})
    return {}


@action("DeleteRoute")
def delete_route(state, params):
    table = state.get("route-table", params["RouteTableId"])
    dest_member, destination = _destination(params)
    route = _find_route(table, dest_member, destination)
    if route is None:
        raise AwsError("InvalidRoute.NotFound",
                       f"no route with destination-cidr-block {destination} in route table "
                       f"{table['RouteTableId']}")
    if route.get("GatewayId") == "local":
        raise AwsError("InvalidParameterValue",
                       f"cannot remove local route {destination} in route table {table['RouteTableId']}")
    table["Routes"].remove(route)
    return {}


@action("AssociateRouteTable")
def associate_route_table(state, params):
    table = state.get("route-table", params["RouteTableId"])
    member = exactly_one(params, ["SubnetId", "GatewayId"], "subnetId, gatewayId")
    if member == "SubnetId":
        target = state.get("subnet", params["SubnetId"])
        target_id, vpc_id = target["SubnetId"], target["VpcId"]
    else:
        target = state.get("internet-gateway", params["GatewayId"])
        target_id = target["InternetGatewayId"]
        vpc_id = target["Attachments"][0]["VpcId"] if target["Attachments"] else None
    if vpc_id != table["VpcId"]:
        raise AwsError("InvalidParameterValue",
                       f"Route table {table['RouteTableId']} and {target_id} belong to different networks")
    for other in state.all("route-table"):
        if any(a.get(member) == target_id for a in other["Associations"]):
            raise AwsError("Resource.AlreadyAssociated",
                           f"the specified association for route table {other['RouteTableId']} "
                           "conflicts with an existing association")
    association_id = state.new_id("rtbassoc")
    table["Associations"].append({
        "Main": False,
        "RouteTableAssociationId": association_id,
        "RouteTableId": table["RouteTableId"],
        member: target_id,
        "AssociationState": {"State": "associated"},
    })
    return {"AssociationId": association_id, "AssociationState": {"State": "associated"}}


@action("DisassociateRouteTable")
def disassociate_route_table(state, params):
    association_id = params["AssociationId"]
    for table in state.all("route-table"):
        for assoc in table["Associations"]:
            if assoc["RouteTableAssociationId"] == association_id:
                if assoc["Main"]:
                    raise AwsError("InvalidParameterValue",
                                   f"cannot disassociate the main route table association {association_id}")
                table["Associations"].remove(assoc)
                return {}
    raise AwsError("InvalidAssociationID.NotFound",
                   f"The association ID '{association_id}' does not exist")


@action("ReplaceRouteTableAssociation")
def replace_route_table_association(state, params):
    """Moves a subnet to another table of its VPC in one step."""
    table = state.get("route-table", params["RouteTableId"])
    association_id = params["AssociationId"]
    for other in state.all("route-table"):
        for assoc in other["Associations"]:
            if assoc["RouteTableAssociationId"] != association_id:
                continue
            if assoc["Main"]:
                raise AwsError("UnsupportedOperation",
                               "The fake does not support moving the main route table association.")
            if other["VpcId"] != table["VpcId"]:
                raise AwsError("InvalidParameterValue",
                               f"Route table {table['RouteTableId']} and association {association_id} "
                               "belong to different networks")
            other["Associations"].remove(assoc)
            moved = dict(assoc, RouteTableAssociationId=state.new_id("rtbassoc"),
                         RouteTableId=table["RouteTableId"])
            table["Associations"].append(moved)
            return {"NewAssociationId": moved["RouteTableAssociationId"],
                    "AssociationState": {"State": "associated"}}
    raise AwsError("InvalidAssociationID.NotFound",
                   f"The association ID '{association_id}' does not exist")
