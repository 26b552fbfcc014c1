"""Instances: RunInstances, DescribeInstances, TerminateInstances,
DescribeInstanceAttribute.

RunInstances takes its settings from a launch template version (if given),
overridden by its own parameters, as EC2 does. Instances are launched into
a subnet (there is no default VPC in the fake region: no subnet is
``VPCIdNotSpecified``), get a free private address of the subnet, the VPC's
default security group unless told otherwise, and a root EBS volume
(/dev/xvda, 8 GiB gp3, deleted on termination) tagged by the ``volume`` tag
specification. Instances launched from a template carry AWS's own tags
``aws:ec2launchtemplate:id`` and ``aws:ec2launchtemplate:version``.

States: ``pending`` -> ``running``; TerminateInstances -> ``shutting-down``
-> ``terminated`` (see lifecycle.py for when). On termination the address
is given back and the volumes are deleted or detached (volumes.py).
Terminated instances stay visible to DescribeInstances, as in AWS for about
an hour. A ClientToken makes RunInstances idempotent: the same token with
the same parameters answers the first reservation again, with different
parameters ``IdempotentParameterMismatch``.
"""

import copy
import datetime
import hashlib
import ipaddress
import re

from ..errors import AwsError
from . import lifecycle
from .actions import action, background, by_creation
from .filters import compile_filters
from .launch_templates import LAUNCH_TAG_TYPES, check_user_data, template_data
from .pagination import paginate
from .tagging import merge_tags, validate_tag
from .volumes import attachments_of, check_device, launch_volume, release_instance

STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48,
               "stopping": 64, "stopped": 80}
ROOT_DEVICE = "/dev/xvda"
ROOT_SIZE_GIB = 8                     # the AMI's snapshot size
DEFAULT_INSTANCE_TYPE = "m1.small"    # what EC2 launches when no type is given
MAX_PER_CALL = 20
_AMI_RE = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
_PROFILE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,128}$")

# RunInstances parameters the fake acts on; anything else is refused.
SUPPORTED_RUN = {"ImageId", "InstanceType", "MinCount", "MaxCount", "SubnetId", "SecurityGroupIds",
                 "SecurityGroups", "UserData", "IamInstanceProfile", "MetadataOptions",
                 "BlockDeviceMappings", "TagSpecifications", "ClientToken", "LaunchTemplate",
                 "DisableApiTermination", "InstanceInitiatedShutdownBehavior", "EbsOptimized",
                 "Monitoring", "Placement", "PrivateIpAddress", "DryRun"}
# Members a launch template supplies and RunInstances may override.
_LAUNCH_SETTINGS = ("ImageId", "InstanceType", "SecurityGroupIds", "SecurityGroups", "UserData",
                    "IamInstanceProfile", "MetadataOptions", "BlockDeviceMappings",
                    "DisableApiTermination", "InstanceInitiatedShutdownBehavior", "EbsOptimized",
                    "Monitoring", "Placement")


def _bdm_values(i, key):
    return [m.get(key) for m in i["BlockDeviceMappings"]]


FILTERS = {
    "instance-id": lambda i: [i["InstanceId"]],
    "instance-state-name": lambda i: [i["State"]["Name"]],
    "instance-state-code": lambda i: [i["State"]["Code"]],
    "instance-type": lambda i: [i["InstanceType"]],
    "image-id": lambda i: [i["ImageId"]],
    "subnet-id": lambda i: [i["SubnetId"]],
    "vpc-id": lambda i: [i["VpcId"]],
    "availability-zone": lambda i: [i["Placement"]["AvailabilityZone"]],
    "private-ip-address": lambda i: [i["PrivateIpAddress"]],
    "private-dns-name": lambda i: [i["PrivateDnsName"]],
    "reservation-id": lambda i: [i["_reservation_id"]],
    "client-token": lambda i: [i.get("ClientToken")],
    "launch-index": lambda i: [i["AmiLaunchIndex"]],
    "iam-instance-profile.arn": lambda i: [i.get("IamInstanceProfile", {}).get("Arn")],
    "instance.group-id": lambda i: [g["GroupId"] for g in i["SecurityGroups"]],
    "instance.group-name": lambda i: [g["GroupName"] for g in i["SecurityGroups"]],
    "root-device-name": lambda i: [i["RootDeviceName"]],
    "root-device-type": lambda i: [i["RootDeviceType"]],
    "architecture": lambda i: [i["Architecture"]],
    "hypervisor": lambda i: [i["Hypervisor"]],
    "virtualization-type": lambda i: [i["VirtualizationType"]],
    "owner-id": lambda i: [i["_owner_id"]],
    "metadata-options.http-tokens": lambda i: [i["MetadataOptions"]["HttpTokens"]],
    "metadata-options.http-endpoint": lambda i: [i["MetadataOptions"]["HttpEndpoint"]],
    "block-device-mapping.device-name": lambda i: _bdm_values(i, "DeviceName"),
    "block-device-mapping.volume-id": lambda i: [m["Ebs"]["VolumeId"] for m in i["BlockDeviceMappings"]],
    "block-device-mapping.status": lambda i: [m["Ebs"]["Status"] for m in i["BlockDeviceMappings"]],
}


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def live_instances(state, **match):
    """Instances that are not terminated, whose members equal `match` (SubnetId=..., VpcId=...)."""
    return [i for i in state.all("instance") if i["State"]["Name"] != "terminated"
            and all(i.get(k) == v for k, v in match.items())]


def users(state, kind, resource_id):
    """What instances not yet terminated hold, for registry.on_users: their
    subnet and security groups, which EC2 then refuses to delete."""
    if kind == "subnet":
        held = live_instances(state, SubnetId=resource_id)
    elif kind == "security-group":
        held = [i for i in live_instances(state) if any(g["GroupId"] == resource_id for g in i["SecurityGroups"])]
    else:
        held = []
    return [f"instance {i['InstanceId']}" for i in held]


def _set_state(instance, name):
    instance["State"] = {"Code": STATE_CODES[name], "Name": name}


def _view(state, instance, shown=False):
    """The instance as Describe* shows it: block devices are the volumes attached now.
    shown: the answer shows it to the client (a transitional state has been seen)."""
    mappings = []
    for volume, att in attachments_of(state, instance["InstanceId"]):
        if shown:
            lifecycle.seen(att)
        mappings.append({"DeviceName": att["Device"], "Ebs": {
            "AttachTime": att["AttachTime"], "DeleteOnTermination": att["DeleteOnTermination"],
            "Status": att["State"], "VolumeId": volume["VolumeId"]}})
    return dict(instance, BlockDeviceMappings=mappings)


def _reservations(state, instances):
    """Instances grouped into their reservations, in the order given."""
    out = []
    for instance in instances:
        if not out or out[-1]["ReservationId"] != instance["_reservation_id"]:
            out.append({"ReservationId": instance["_reservation_id"], "OwnerId": state.account_id,
                        "Groups": [], "Instances": []})
        out[-1]["Instances"].append(_view(state, instance, shown=True))
    return out


# ------------------------------------------------------------ RunInstances
def _settings(state, params):
    """The launch settings: the template version's, overridden by the call's."""
    unsupported = sorted(k for k in params if k not in SUPPORTED_RUN and params[k] is not None)
    if unsupported:
        raise AwsError("UnsupportedOperation", f"The fake does not support RunInstances {unsupported[0]}.")
    settings, tag_specs, launched_from = {}, [], None
    if params.get("LaunchTemplate"):
        template, version = template_data(state, params["LaunchTemplate"])
        data = copy.deepcopy(version["LaunchTemplateData"])
        settings = {k: data[k] for k in _LAUNCH_SETTINGS if k in data}
        settings.get("MetadataOptions", {}).pop("State", None)
        tag_specs = data.get("TagSpecifications") or []
        launched_from = (template["LaunchTemplateId"], version["VersionNumber"])
    for key in _LAUNCH_SETTINGS:
        if params.get(key) is not None:
            settings[key] = params[key]
    return settings, tag_specs + (params.get("TagSpecifications") or []), launched_from


def _tags_by_type(specs):
    """{resource type: tags} from tag specifications (template's first, the call's win)."""
    out = {}
    for spec in specs:
        rtype = spec.get("ResourceType")
        if rtype not in LAUNCH_TAG_TYPES:
            raise AwsError("InvalidParameterValue",
                           f"'{rtype}' is not a valid taggable resource type for this operation.")
        out[rtype] = merge_tags(out.get(rtype, []), [validate_tag(t) for t in spec.get("Tags") or []])
    return out


def _subnet_and_groups(state, params, settings):
    if not params.get("SubnetId"):
        raise AwsError("VPCIdNotSpecified", "No default VPC for this user. Give a SubnetId.")
    subnet = state.get("subnet", params["SubnetId"])
    zone = (settings.get("Placement") or {}).get("AvailabilityZone")
    if zone and zone != subnet["AvailabilityZone"]:
        raise AwsError("InvalidParameterValue",
                       f"The subnet ID '{subnet['SubnetId']}' is not in availability zone '{zone}'.")
    vpc = state.get("vpc", subnet["VpcId"])
    groups = [state.get("security-group", g) for g in settings.get("SecurityGroupIds") or []]
    for name in settings.get("SecurityGroups") or []:
        found = [g for g in state.all("security-group") if g["VpcId"] == vpc["VpcId"] and g["GroupName"] == name]
        if not found:
            raise AwsError("InvalidGroup.NotFound",
                           f"The security group '{name}' does not exist in VPC '{vpc['VpcId']}'")
        groups += found
    if not groups:
        groups = [state.get("security-group", vpc["_default_group"])]
    for g in groups:
        if g["VpcId"] != vpc["VpcId"]:
            raise AwsError("InvalidParameter", f"Security group {g['GroupId']} and subnet "
                                               f"{subnet['SubnetId']} belong to different networks.")
    return subnet, list({g["GroupId"]: g for g in groups}.values())


def _image(settings):
    image = settings.get("ImageId")
    if not image:
        raise AwsError("MissingParameter", "The request must contain the parameter ImageId")
    if not _AMI_RE.match(image):
        raise AwsError("InvalidAMIID.Malformed", f'Invalid id: "{image}" (expecting "ami-...")')
    return image


def _profile(state, spec):
    if not spec:
        return None
    arn, name = spec.get("Arn"), spec.get("Name")
    if arn and name:
        raise AwsError("InvalidParameterCombination",
                       "The parameter iamInstanceProfile.name may not be used in combination with "
                       "iamInstanceProfile.arn")
    if arn:
        m = re.match(r"^arn:aws:iam::(\d{12}):instance-profile/(?:.*/)?([^/]+)$", arn)
        if not m:
            raise AwsError("InvalidParameterValue",
                           f"Value ({arn}) for parameter iamInstanceProfile.arn is invalid.")
        name = m.group(2)
    invalid = AwsError("InvalidParameterValue", f"Value ({name}) for parameter iamInstanceProfile.name "
                                                "is invalid. Invalid IAM Instance Profile name")
    if not name or not _PROFILE_NAME_RE.match(name):
        raise invalid
    iam = state.registry.service("iam") if getattr(state, "registry", None) else None
    if iam is not None:
        # The profile must exist in the fake's IAM (as in AWS); it gives the ARN and id.
        found = iam.state.profiles.get(name.lower())
        if found is None or (arn and arn != found["Arn"]):
            raise invalid
        return {"Arn": found["Arn"], "Id": found["InstanceProfileId"]}
    digest = hashlib.sha256(f"{state.account_id}/{name}".encode()).hexdigest().upper()
    return {"Arn": arn or f"arn:aws:iam::{state.account_id}:instance-profile/{name}",
            "Id": "AIPA" + "".join(c for c in digest if c.isalnum())[:17]}


def _metadata(options):
    options = dict(options or {})
    hops = options.get("HttpPutResponseHopLimit", 1)
    if not 1 <= hops <= 64:
        raise AwsError("InvalidParameterValue",
                       f"Value ({hops}) for parameter httpPutResponseHopLimit is invalid. Must be between 1 and 64.")
    return {"State": "applied", "HttpTokens": options.get("HttpTokens", "optional"),
            "HttpPutResponseHopLimit": hops, "HttpEndpoint": options.get("HttpEndpoint", "enabled"),
            "HttpProtocolIpv6": options.get("HttpProtocolIpv6", "disabled"),
            "InstanceMetadataTags": options.get("InstanceMetadataTags", "disabled")}


def _block_devices(mappings):
    """{device: ebs settings} for the launch: the root volume plus any EBS mappings."""
    devices = {ROOT_DEVICE: {"VolumeSize": ROOT_SIZE_GIB, "VolumeType": "gp3", "DeleteOnTermination": True}}
    for m in mappings or []:
        device = m.get("DeviceName")
        check_device(device)
        if m.get("NoDevice") is not None:
            devices.pop(device, None)
            continue
        ebs = dict(m.get("Ebs") or {})
        if ebs.get("SnapshotId"):
            raise AwsError("UnsupportedOperation", "The fake does not support volumes from snapshots.")
        if device == ROOT_DEVICE:
            ebs = dict(devices[ROOT_DEVICE], **ebs)
            if ebs["VolumeSize"] < ROOT_SIZE_GIB:
                raise AwsError("InvalidBlockDeviceMapping",
                               f"Volume of size {ebs['VolumeSize']}GB is smaller than the image's "
                               f"snapshot, expect size >= {ROOT_SIZE_GIB}GB")
        elif ebs.get("VolumeSize") is None:
            raise AwsError("InvalidBlockDeviceMapping",
                           f"The device {device} needs a volume size (no snapshot given)")
        devices[device] = ebs
    if ROOT_DEVICE not in devices:
        raise AwsError("InvalidBlockDeviceMapping", "The root device cannot be suppressed (NoDevice)")
    return devices


def _free_addresses(state, subnet):
    network = ipaddress.IPv4Network(subnet["CidrBlock"])
    used = {i["PrivateIpAddress"] for i in live_instances(state, SubnetId=subnet["SubnetId"])}
    for nat in state.store.get("natgateway", {}).values():
        used.update(a.get("PrivateIp") for a in nat.get("NatGatewayAddresses", []))
    # AWS keeps the first four addresses and the last one of every subnet.
    return [str(network[h]) for h in range(4, network.num_addresses - 1) if str(network[h]) not in used]


def _addresses(state, subnet, params, count):
    free = _free_addresses(state, subnet)
    wanted = params.get("PrivateIpAddress")
    if wanted is None:
        if len(free) < params["MinCount"]:
            raise AwsError("InsufficientFreeAddressesInSubnet",
                           f"There are not enough free addresses in subnet '{subnet['SubnetId']}' "
                           "to satisfy the requested number of instances.")
        return free[:count]
    if count != 1:
        raise AwsError("InvalidParameterCombination",
                       "Private IP address can only be given when launching one instance")
    if ipaddress.IPv4Address(wanted) not in ipaddress.IPv4Network(subnet["CidrBlock"]):
        raise AwsError("InvalidParameterValue", f"Address {wanted} does not fall within the subnet's address range")
    if wanted not in free:
        raise AwsError("InvalidIPAddress.InUse", f"Address {wanted} is in use.")
    return [wanted]


def _request_key(params):
    return {k: v for k, v in params.items() if k not in ("ClientToken", "DryRun")}


def _by_token(state, token, params):
    instances = [i for i in state.all("instance") if i.get("ClientToken") == token]
    if not instances:
        return None
    if instances[0]["_request"] != _request_key(params):
        raise AwsError("IdempotentParameterMismatch",
                       "The client token you have provided is associated with a resource that is already "
                       "deleted or has different parameters. Please use a different client token.")
    return _reservations(state, sorted(instances, key=by_creation))[0]


@action("RunInstances")
def run_instances(state, params):
    token = params.get("ClientToken")
    if token:
        if len(token) > 64:
            raise AwsError("InvalidParameterValue", "Value for parameter clientToken is too long (max 64)")
        earlier = _by_token(state, token, params)
        if earlier is not None:
            return earlier
    low, high = params["MinCount"], params["MaxCount"]
    if low < 1 or high < low:
        raise AwsError("InvalidParameterValue", f"MinCount ({low}) must be >= 1 and <= MaxCount ({high})")
    if low > MAX_PER_CALL:
        raise AwsError("InstanceLimitExceeded",
                       f"You have requested more instances ({low}) than your current instance limit of "
                       f"{MAX_PER_CALL} allows for the specified instance type.")
    settings, tag_specs, launched_from = _settings(state, params)
    image = _image(settings)
    subnet, groups = _subnet_and_groups(state, params, settings)
    user_data = settings.get("UserData")
    if user_data is not None:
        check_user_data(user_data)
    profile = _profile(state, settings.get("IamInstanceProfile"))
    metadata = _metadata(settings.get("MetadataOptions"))
    devices = _block_devices(settings.get("BlockDeviceMappings"))
    tags = _tags_by_type(tag_specs)
    instance_tags = tags.get("instance", [])
    if launched_from:
        # AWS's own tags: validate_tag would refuse the aws: prefix from a client.
        instance_tags = merge_tags(instance_tags, [{"Key": "aws:ec2launchtemplate:id", "Value": launched_from[0]},
                                                   {"Key": "aws:ec2launchtemplate:version",
                                                    "Value": str(launched_from[1])}])
    addresses = _addresses(state, subnet, params, min(high, MAX_PER_CALL))

    reservation_id = state.new_id("r")
    launched = []
    for index, address in enumerate(addresses):
        instance_id = state.new_id("i")
        instance = {
            "InstanceId": instance_id, "ImageId": image, "AmiLaunchIndex": index,
            "InstanceType": settings.get("InstanceType", DEFAULT_INSTANCE_TYPE),
            "LaunchTime": _now(), "Monitoring": {"State": "enabled" if (settings.get("Monitoring") or {})
                                                 .get("Enabled") else "disabled"},
            "Placement": {"AvailabilityZone": subnet["AvailabilityZone"], "GroupName": "", "Tenancy": "default"},
            "PrivateDnsName": f"ip-{address.replace('.', '-')}.{state.region}.compute.internal",
            "PrivateIpAddress": address, "ProductCodes": [], "PublicDnsName": "",
            "StateTransitionReason": "", "SubnetId": subnet["SubnetId"], "VpcId": subnet["VpcId"],
            "Architecture": "x86_64", "EbsOptimized": bool(settings.get("EbsOptimized")),
            "EnaSupport": True, "Hypervisor": "xen", "RootDeviceName": ROOT_DEVICE, "RootDeviceType": "ebs",
            "SecurityGroups": [{"GroupName": g["GroupName"], "GroupId": g["GroupId"]} for g in groups],
            "SourceDestCheck": True, "VirtualizationType": "hvm", "MetadataOptions": dict(metadata),
            "PlatformDetails": "Linux/UNIX", "UsageOperation": "RunInstances",
            "Tags": [dict(t) for t in instance_tags],
            "_reservation_id": reservation_id, "_owner_id": state.account_id, "_user_data": user_data,
            "_disable_api_termination": bool(settings.get("DisableApiTermination")),
            "_shutdown_behavior": settings.get("InstanceInitiatedShutdownBehavior", "stop"),
            "_request": _request_key(params),
        }
        if token:
            instance["ClientToken"] = token
        if profile:
            instance["IamInstanceProfile"] = dict(profile)
        _set_state(instance, "pending")
        lifecycle.begin(instance, "instance-running")
        state.add("instance", instance_id, instance)
        subnet["AvailableIpAddressCount"] -= 1
        for device, ebs in devices.items():
            launch_volume(state, instance, device, ebs, [dict(t) for t in tags.get("volume", [])])
        launched.append(instance)
    return _reservations(state, launched)[0]


@background
def settle_instances(state):
    for instance in state.all("instance"):
        name = instance["State"]["Name"]
        if name not in ("pending", "shutting-down") or not lifecycle.due(state, instance):
            continue
        lifecycle.done(instance)
        if name == "pending":
            _set_state(instance, "running")
            continue
        _set_state(instance, "terminated")
        subnet = state.store["subnet"].get(instance["SubnetId"])
        if subnet is not None:
            subnet["AvailableIpAddressCount"] += 1
        release_instance(state, instance["InstanceId"])


@action("DescribeInstances")
def describe_instances(state, params):
    ids = params.get("InstanceIds")
    if ids and params.get("MaxResults") is not None:
        raise AwsError("InvalidParameterCombination",
                       "The parameter instancesSet cannot be used with the parameter maxResults")
    instances = state.get_many("instance", ids, describing=True) if ids else state.all("instance")
    matches = compile_filters(params.get("Filters"), FILTERS, state=state)
    selected = [i for i in instances if matches(_view(state, i))]
    page, token = paginate(selected, params, by_creation)
    for instance in page:
        lifecycle.seen(instance)
    result = {"Reservations": _reservations(state, page)}
    if token:
        result["NextToken"] = token
    return result


@action("TerminateInstances")
def terminate_instances(state, params):
    instances = state.get_many("instance", params["InstanceIds"])
    for instance in instances:
        if instance["_disable_api_termination"]:
            raise AwsError("OperationNotPermitted",
                           f"The instance '{instance['InstanceId']}' may not be terminated. Modify its "
                           "'disableApiTermination' instance attribute and try again.")
    changes = []
    for instance in instances:
        previous = dict(instance["State"])
        if previous["Name"] not in ("shutting-down", "terminated"):
            _set_state(instance, "shutting-down")
            lifecycle.begin(instance, "instance-terminated")
            instance["StateTransitionReason"] = \
                f"User initiated ({_now().strftime('%Y-%m-%d %H:%M:%S')} GMT)"
            instance["StateReason"] = {"Code": "Client.UserInitiatedShutdown",
                                       "Message": "Client.UserInitiatedShutdown: User initiated shutdown"}
        changes.append({"InstanceId": instance["InstanceId"], "PreviousState": previous,
                        "CurrentState": dict(instance["State"])})
    return {"TerminatingInstances": changes}


def _value(v):
    return {} if v is None else {"Value": v}


@action("DescribeInstanceAttribute")
def describe_instance_attribute(state, params):
    instance = state.get("instance", params["InstanceId"])
    view = _view(state, instance)
    getters = {
        "instanceType": ("InstanceType", lambda: _value(instance["InstanceType"])),
        "userData": ("UserData", lambda: _value(instance["_user_data"])),
        "disableApiTermination": ("DisableApiTermination",
                                  lambda: {"Value": instance["_disable_api_termination"]}),
        "instanceInitiatedShutdownBehavior": ("InstanceInitiatedShutdownBehavior",
                                              lambda: _value(instance["_shutdown_behavior"])),
        "rootDeviceName": ("RootDeviceName", lambda: _value(instance["RootDeviceName"])),
        "blockDeviceMapping": ("BlockDeviceMappings", lambda: view["BlockDeviceMappings"]),
        "groupSet": ("Groups", lambda: instance["SecurityGroups"]),
        "ebsOptimized": ("EbsOptimized", lambda: {"Value": instance["EbsOptimized"]}),
        "enaSupport": ("EnaSupport", lambda: {"Value": instance["EnaSupport"]}),
        "sourceDestCheck": ("SourceDestCheck", lambda: {"Value": instance["SourceDestCheck"]}),
        "productCodes": ("ProductCodes", lambda: []),
        "disableApiStop": ("DisableApiStop", lambda: {"Value": False}),
    }
    attribute = params["Attribute"]
    if attribute not in getters:
        raise AwsError("UnsupportedOperation", f"The fake does not support the attribute {attribute}.")
    member, get = getters[attribute]
    return {"InstanceId": instance["InstanceId"], member: get()}
