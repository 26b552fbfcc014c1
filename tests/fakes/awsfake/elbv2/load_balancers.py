"""Load balancers: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer,
SetSecurityGroups, SetSubnets.

Only application load balancers are modelled. Their subnets, groups and the
VPC's internet gateway are checked in the EC2 fake as AWS checks them: one
subnet per zone, at least two zones, one VPC, groups of that VPC, and an
internet-facing balancer needs an internet gateway on its VPC.
"""

import secrets

from .state import action, canonical_zone, paged, select, tags_for_create


def _subnets(state, subnet_ids):
    """(AvailabilityZones, VpcId) for the subnets of an application load balancer."""
    zones, vpcs = [], set()
    for subnet_id in dict.fromkeys(subnet_ids):
        subnet = state.ec2_get("subnet", subnet_id)
        if subnet is None:
            raise state.error("SubnetNotFound", f"The subnet ID '{subnet_id}' is not valid")
        if any(z["ZoneName"] == subnet["AvailabilityZone"] for z in zones):
            raise state.error("InvalidConfigurationRequest", "A load balancer cannot be attached to "
                                                             "multiple subnets in the same Availability Zone")
        vpcs.add(subnet["VpcId"])
        zones.append({"ZoneName": subnet["AvailabilityZone"], "SubnetId": subnet_id,
                      "LoadBalancerAddresses": []})
    if len(vpcs) > 1:
        raise state.error("InvalidConfigurationRequest", "The subnets must all belong to the same VPC "
                                                         f"(found {', '.join(sorted(vpcs))})")
    if len(zones) < 2:
        raise state.error("InvalidConfigurationRequest", "At least two subnets in two different "
                                                         "Availability Zones must be specified")
    return zones, vpcs.pop()


def _subnet_ids(state, params):
    if params.get("Subnets") and params.get("SubnetMappings"):
        raise state.error("ValidationError", "You can specify subnets or subnet mappings, not both")
    ids = params.get("Subnets") or [m.get("SubnetId") for m in params.get("SubnetMappings") or []]
    if not ids or None in ids:
        raise state.error("ValidationError", "At least two subnets in two different Availability Zones "
                                             "must be specified")
    return ids


def _groups(state, vpc_id, group_ids):
    if group_ids is None:     # the VPC's default group, as AWS does
        ec2 = state.ec2()
        return [g["GroupId"] for g in ec2.store["security-group"].values()
                if g["VpcId"] == vpc_id and g.get("_default")][:1]
    for group_id in group_ids:
        group = state.ec2_get("security-group", group_id)
        if group is None or group["VpcId"] != vpc_id:
            raise state.error("InvalidSecurityGroup", f"Security group '{group_id}' does not exist in "
                                                      f"VPC '{vpc_id}'")
    return list(dict.fromkeys(group_ids))


def _check_internet_gateway(state, vpc_id):
    ec2 = state.ec2()
    for gateway in ec2.store.get("internet-gateway", {}).values():
        if any(a["VpcId"] == vpc_id for a in gateway["Attachments"]):
            return
    raise state.error("InvalidSubnet", f"VPC {vpc_id} has no internet gateway")


@action("CreateLoadBalancer")
def create_load_balancer(state, params):
    name = params["Name"]
    state.check_name(name, "Load balancer")
    if params.get("Type", "application") != "application":
        raise state.error("OperationNotPermitted", "The fake only models application load balancers")
    scheme = params.get("Scheme", "internet-facing")
    zones, vpc_id = _subnets(state, _subnet_ids(state, params))
    groups = _groups(state, vpc_id, params.get("SecurityGroups"))
    if scheme == "internet-facing":
        _check_internet_gateway(state, vpc_id)
    tags = tags_for_create(state, params)
    for lb in state.live_lbs():
        if lb["LoadBalancerName"] == name:
            same = (lb["Scheme"], lb["VpcId"], sorted(z["SubnetId"] for z in lb["AvailabilityZones"]),
                    sorted(lb["SecurityGroups"])) == (scheme, vpc_id, sorted(z["SubnetId"] for z in zones),
                                                      sorted(groups))
            if not same:
                raise state.error("DuplicateLoadBalancerName", f"A load balancer with the name '{name}' "
                                                               "already exists")
            return {"LoadBalancers": [lb]}   # same request again: AWS answers the existing one
    hex_id = state.hex_id()
    host = f"{'internal-' if scheme == 'internal' else ''}{name}-{secrets.randbelow(10 ** 10):010d}"
    lb = {"LoadBalancerArn": state.arn(f"loadbalancer/app/{name}/{hex_id}"),
          "DNSName": f"{host}.{state.region}.elb.amazonaws.com",
          "CanonicalHostedZoneId": canonical_zone(state.region), "CreatedTime": state.now(),
          "LoadBalancerName": name, "Scheme": scheme, "VpcId": vpc_id, "State": {"Code": "provisioning"},
          "Type": "application", "AvailabilityZones": zones, "SecurityGroups": groups,
          "IpAddressType": params.get("IpAddressType", "ipv4"),
          "_tags": tags, "_seq": state.next_seq(), "_deleting": False}
    state.begin(lb, "load-balancer-active")
    state.lbs[lb["LoadBalancerArn"]] = lb
    return {"LoadBalancers": [lb]}


@action("DescribeLoadBalancers")
def describe_load_balancers(state, params):
    # A deleted balancer still shows (as AWS shows it: active) until it is gone.
    lbs = select(state, state.lbs.values(), params.get("LoadBalancerArns"), params.get("Names"),
                 "LoadBalancerArn", "LoadBalancerName", "LoadBalancerNotFound", "load balancer")
    result = paged(state, lbs, params, "LoadBalancers")
    for lb in result["LoadBalancers"]:
        state.seen(lb)
    return result


@action("DeleteLoadBalancer")
def delete_load_balancer(state, params):
    arn = params["LoadBalancerArn"]
    lb = state.lbs.get(arn)
    if lb is None or lb["_deleting"]:
        return {}        # "If the load balancer does not exist or has already been deleted, the call succeeds."
    for listener_arn, listener in list(state.listeners.items()):
        if listener["LoadBalancerArn"] == arn:
            del state.listeners[listener_arn]
    # It stays visible, still holding its network interfaces, while AWS tears it down.
    lb["_deleting"] = True
    lb["State"] = {"Code": "active"}
    state.begin(lb, "load-balancer-deleted")
    return {}


@action("SetSecurityGroups")
def set_security_groups(state, params):
    lb = state.lb(params["LoadBalancerArn"])
    lb["SecurityGroups"] = _groups(state, lb["VpcId"], params["SecurityGroups"])
    return {"SecurityGroupIds": lb["SecurityGroups"]}


@action("SetSubnets")
def set_subnets(state, params):
    lb = state.lb(params["LoadBalancerArn"])
    zones, vpc_id = _subnets(state, _subnet_ids(state, params))
    if vpc_id != lb["VpcId"]:
        raise state.error("InvalidConfigurationRequest", f"The subnets must belong to the load "
                                                         f"balancer's VPC {lb['VpcId']}")
    lb["AvailabilityZones"] = zones
    if params.get("IpAddressType"):
        lb["IpAddressType"] = params["IpAddressType"]
    return {"AvailabilityZones": zones, "IpAddressType": lb["IpAddressType"]}
