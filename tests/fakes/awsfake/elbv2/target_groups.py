"""Target groups and their targets: CreateTargetGroup, DescribeTargetGroups,
ModifyTargetGroup, DeleteTargetGroup, RegisterTargets, DeregisterTargets,
DescribeTargetHealth.

Instance targets only. The fake sends no health checks: a registered target
is ``initial`` for the transition time after registration (or after its group
starts receiving traffic), then ``healthy``; ``unused`` while no load balancer
sends traffic to the group or while the instance is not running; ``draining``
for the transition time after deregistration. When the EC2 fake models
instances, targets must be running instances of the group's VPC.
"""

from .state import action, paged, select, tags_for_create

HEALTH_DEFAULTS = {"HealthCheckPort": "traffic-port", "HealthCheckEnabled": True,
                   "HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 5,
                   "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 2, "HealthCheckPath": "/"}
HEALTH_MEMBERS = ["HealthCheckProtocol", "Matcher"] + list(HEALTH_DEFAULTS)
SETTINGS = ["Protocol", "ProtocolVersion", "Port", "VpcId", "TargetType", "IpAddressType"]


def _matcher(state, matcher):
    code = (matcher or {}).get("HttpCode", "200")
    parts = [p for chunk in code.split(",") for p in chunk.split("-")]
    if not parts or not all(p.isdigit() and 200 <= int(p) <= 499 for p in parts):
        raise state.error("ValidationError", f"Health check matcher HTTP code '{code}' must be within "
                                             "'200-499'")
    return {"HttpCode": code}


def _health(state, params, base):
    hc = dict(base)
    for member in HEALTH_MEMBERS:
        if params.get(member) is not None:
            hc[member] = params[member]
    hc["Matcher"] = _matcher(state, hc.get("Matcher"))
    if hc["HealthCheckTimeoutSeconds"] >= hc["HealthCheckIntervalSeconds"]:
        raise state.error("ValidationError", "Health check interval must be greater than the timeout.")
    if not hc["HealthCheckPath"].startswith("/"):
        raise state.error("ValidationError", "Health check path must begin with a '/' character")
    return hc


@action("CreateTargetGroup")
def create_target_group(state, params):
    name = params["Name"]
    state.check_name(name, "Target group")
    target_type = params.get("TargetType", "instance")
    if target_type != "instance":
        raise state.error("ValidationError", "The fake only models target groups of type 'instance'")
    for member in ("Protocol", "Port", "VpcId"):
        if params.get(member) is None:
            raise state.error("ValidationError", f"A {member.lower()} must be specified for a target group "
                                                 f"of type '{target_type}'")
    if params["Protocol"] not in ("HTTP", "HTTPS"):
        raise state.error("ValidationError", "The fake only models HTTP and HTTPS target groups")
    if state.ec2_get("vpc", params["VpcId"]) is None:
        raise state.error("ValidationError", f"The VPC ID '{params['VpcId']}' is not found")
    settings = {"Protocol": params["Protocol"], "ProtocolVersion": params.get("ProtocolVersion", "HTTP1"),
                "Port": params["Port"], "VpcId": params["VpcId"], "TargetType": target_type,
                "IpAddressType": params.get("IpAddressType", "ipv4")}
    health = _health(state, params, dict(HEALTH_DEFAULTS, HealthCheckProtocol=params["Protocol"]))
    tags = tags_for_create(state, params)
    for tg in state.tgs.values():
        if tg["TargetGroupName"] == name:
            if any(tg[k] != v for k, v in list(settings.items()) + list(health.items())):
                raise state.error("DuplicateTargetGroupName", f"A target group with the same name '{name}' "
                                                              "exists, but with different settings")
            return {"TargetGroups": [_view(state, tg)]}
    tg = dict(settings, **health, TargetGroupArn=state.arn(f"targetgroup/{name}/{state.hex_id()}"),
              TargetGroupName=name, _tags=tags, _targets={}, _seq=state.next_seq())
    state.tgs[tg["TargetGroupArn"]] = tg
    return {"TargetGroups": [_view(state, tg)]}


def _view(state, tg):
    return dict(tg, LoadBalancerArns=state.tg_lb_arns(tg))


@action("DescribeTargetGroups")
def describe_target_groups(state, params):
    groups = select(state, state.tgs.values(), params.get("TargetGroupArns"), params.get("Names"),
                    "TargetGroupArn", "TargetGroupName", "TargetGroupNotFound", "target group")
    if params.get("LoadBalancerArn"):
        state.lb(params["LoadBalancerArn"])
        groups = [g for g in groups if params["LoadBalancerArn"] in state.tg_lb_arns(g)]
    result = paged(state, groups, params, "TargetGroups")
    result["TargetGroups"] = [_view(state, g) for g in result["TargetGroups"]]
    return result


@action("ModifyTargetGroup")
def modify_target_group(state, params):
    tg = state.tg(params["TargetGroupArn"])
    tg.update(_health(state, params, {k: tg[k] for k in HEALTH_MEMBERS}))
    return {"TargetGroups": [_view(state, tg)]}


@action("DeleteTargetGroup")
def delete_target_group(state, params):
    tg = state.tgs.get(params["TargetGroupArn"])
    if tg is None:
        return {}      # deleting a deleted group succeeds, as in AWS
    if state.tg_lb_arns(tg):
        raise state.error("ResourceInUse", f"Target group '{tg['TargetGroupArn']}' is currently in use by "
                                           "a listener or a rule")
    del state.tgs[tg["TargetGroupArn"]]
    return {}


def _check_instance(state, tg, instance_id):
    if not instance_id.startswith("i-"):
        raise state.error("InvalidTarget", f"The following targets are not valid instances: '{instance_id}'")
    if not state.ec2_models("instance"):
        return           # the EC2 fake does not keep instances: take the id on trust
    instance = state.ec2_get("instance", instance_id)
    if instance is None or instance.get("VpcId") != tg["VpcId"]:
        raise state.error("InvalidTarget", f"The following targets are not in the target group VPC "
                                           f"'{tg['VpcId']}': '{instance_id}'")
    if instance.get("State", {}).get("Name") != "running":
        raise state.error("InvalidTarget", f"The following targets are not in a running state and cannot "
                                           f"be registered: '{instance_id}'")


def _key(tg, target):
    return f"{target['Id']}:{target.get('Port', tg['Port'])}"


@action("RegisterTargets")
def register_targets(state, params):
    tg = state.tg(params["TargetGroupArn"])
    for target in params["Targets"]:
        _check_instance(state, tg, target["Id"])
    for target in params["Targets"]:
        key = _key(tg, target)
        current = tg["_targets"].get(key)
        if current is None or current["_draining"]:
            tg["_targets"][key] = {"Id": target["Id"], "Port": target.get("Port", tg["Port"]),
                                   "_draining": False}
            state.begin(tg["_targets"][key])
    return {}


@action("DeregisterTargets")
def deregister_targets(state, params):
    tg = state.tg(params["TargetGroupArn"])
    keys = [_key(tg, t) for t in params["Targets"]]
    for key, target in zip(keys, params["Targets"]):
        if key not in tg["_targets"]:
            raise state.error("InvalidTarget", f"The following targets are not registered in target group "
                                               f"'{tg['TargetGroupArn']}': '{target['Id']}'")
    for key in keys:
        target = tg["_targets"][key]
        if not target["_draining"]:
            target["_draining"] = True
            state.begin(target)
    return {}


def _health_of(state, tg, target, in_use):
    if target is None:
        return {"State": "unused", "Reason": "Target.NotRegistered",
                "Description": "Target is not registered to the target group"}
    if target["_draining"]:
        return {"State": "draining", "Reason": "Target.DeregistrationInProgress",
                "Description": "Target deregistration is in progress"}
    if not in_use:
        return {"State": "unused", "Reason": "Target.NotInUse",
                "Description": "Target group is not configured to receive traffic from the load balancer"}
    instance = state.ec2_get("instance", target["Id"]) if state.ec2_models("instance") else None
    if instance is not None and instance.get("State", {}).get("Name") != "running":
        return {"State": "unused", "Reason": "Target.InvalidState",
                "Description": f"Target is in the {instance.get('State', {}).get('Name')} state"}
    if not state.due(target):
        return {"State": "initial", "Reason": "Elb.RegistrationInProgress",
                "Description": "Target registration is in progress"}
    state.done(target)
    return {"State": "healthy"}


@action("DescribeTargetHealth")
def describe_target_health(state, params):
    tg = state.tg(params["TargetGroupArn"])
    in_use = bool(state.tg_lb_arns(tg))
    if params.get("Targets"):
        for target in params["Targets"]:
            if not target["Id"].startswith("i-"):
                raise state.error("InvalidTarget", f"The target '{target['Id']}' is not a valid instance")
        pairs = [(t, tg["_targets"].get(_key(tg, t))) for t in params["Targets"]]
    else:
        pairs = [(t, t) for t in tg["_targets"].values()]
    descriptions = []
    for asked, target in pairs:
        port = asked.get("Port", tg["Port"])
        hc_port = str(port) if tg["HealthCheckPort"] == "traffic-port" else tg["HealthCheckPort"]
        descriptions.append({"Target": {"Id": asked["Id"], "Port": port}, "HealthCheckPort": hc_port,
                             "TargetHealth": _health_of(state, tg, target, in_use)})
        if target is not None and descriptions[-1]["TargetHealth"]["State"] in ("initial", "draining"):
            state.seen(target)
    return {"TargetHealthDescriptions": descriptions}
