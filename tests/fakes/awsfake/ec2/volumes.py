"""EBS volumes: CreateVolume, DescribeVolumes, DeleteVolume, ModifyVolume,
AttachVolume, DetachVolume.

States as in AWS: a new volume is ``creating`` then ``available``; attaching
makes it ``in-use`` at once while its attachment goes ``attaching`` ->
``attached``; detaching goes ``detaching`` and the volume is ``available``
again when the attachment is gone; DeleteVolume makes it ``deleting`` and
then it is gone (InvalidVolume.NotFound). Timing: see lifecycle.py.

A volume attaches only to a running or stopped instance in its own
availability zone, at a device name free on that instance. Volumes an
instance was launched with (its root volume) are made here too
(``launch_volume``) and follow the instance: on termination those with
DeleteOnTermination go away and the others are detached
(``release_instance``).
"""

import copy
import datetime
import re
import uuid

from ..errors import AwsError
from . import lifecycle
from .actions import action, background, describe
from .tagging import tags_from_specifications

FILTERS = {
    "volume-id": lambda v: [v["VolumeId"]],
    "status": lambda v: [v["State"]],
    "availability-zone": lambda v: [v["AvailabilityZone"]],
    "size": lambda v: [v["Size"]],
    "volume-type": lambda v: [v["VolumeType"]],
    "encrypted": lambda v: [v["Encrypted"]],
    "snapshot-id": lambda v: [v["SnapshotId"]],
    "multi-attach-enabled": lambda v: [v["MultiAttachEnabled"]],
    "fast-restored": lambda v: [False],
    "create-time": lambda v: [_iso(v["CreateTime"])],
    "attachment.instance-id": lambda v: [a["InstanceId"] for a in v["Attachments"]],
    "attachment.device": lambda v: [a["Device"] for a in v["Attachments"]],
    "attachment.status": lambda v: [a["State"] for a in v["Attachments"]],
    "attachment.attach-time": lambda v: [_iso(a["AttachTime"]) for a in v["Attachments"]],
    "attachment.delete-on-termination": lambda v: [a["DeleteOnTermination"] for a in v["Attachments"]],
}

# Size limits in GiB, per volume type (EBS's documented ones).
SIZE_LIMITS = {"gp2": (1, 16384), "gp3": (1, 16384), "io1": (4, 16384), "io2": (4, 65536),
               "st1": (125, 16384), "sc1": (125, 16384), "standard": (1, 1024)}
# Device names EC2 accepts for EBS volumes on Linux instances.
_DEVICE_RE = re.compile(r"^/dev/(sd[a-z][0-9]{0,2}|xvd[a-z]{1,2}[0-9]{0,2}|hd[a-z])$")
ATTACHABLE_INSTANCE_STATES = ("running", "stopped")


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def default_kms_key(state):
    """The account's AWS-managed EBS key (alias aws/ebs): one per account and region."""
    key = uuid.uuid5(uuid.NAMESPACE_URL, f"aws/ebs/{state.account_id}/{state.region}")
    return f"arn:aws:kms:{state.region}:{state.account_id}:key/{key}"


def check_device(device):
    if not device or not _DEVICE_RE.match(device):
        raise AwsError("InvalidParameterValue",
                       f"Value ({device}) for parameter device is invalid. "
                       f"{device} is not a valid EBS device name.")


def _performance(vtype, size, iops, throughput):
    """(Iops, Throughput) as EBS sets them for a type, or AWS's error."""
    if throughput is not None and vtype != "gp3":
        raise AwsError("InvalidParameterCombination",
                       f"The parameter throughput is not supported for {vtype} volumes.")
    if vtype == "gp3":
        iops = 3000 if iops is None else iops
        throughput = 125 if throughput is None else throughput
        if not 3000 <= iops <= 16000 or iops > 500 * max(size, 6):
            raise AwsError("InvalidParameterValue",
                           f"Volume iops of {iops} is invalid for a gp3 volume of {size} GiB: "
                           "gp3 takes 3000 to 16000, at most 500 per GiB.")
        if not 125 <= throughput <= 1000 or throughput > iops // 4:
            raise AwsError("InvalidParameterValue",
                           f"Throughput of {throughput} MiB/s is invalid for gp3 with {iops} iops "
                           "(125 to 1000, at most iops/4).")
        return iops, throughput
    if vtype in ("io1", "io2"):
        if iops is None:
            raise AwsError("MissingParameter", f"The request must contain the parameter iops for {vtype} volumes")
        return iops, None
    if iops is not None:
        raise AwsError("InvalidParameterCombination",
                       f"The parameter iops is not supported for {vtype} volumes.")
    if vtype == "gp2":
        return min(max(100, 3 * size), 16000), None
    return None, None


def _check_size(vtype, size):
    low, high = SIZE_LIMITS[vtype]
    if size < low or size > high:
        raise AwsError("InvalidParameterValue",
                       f"Volume of {size}GiB is {'too small' if size < low else 'too large'} "
                       f"for {vtype}; minimum is {low}, maximum is {high}.")


def new_volume(state, zone_name, size, vtype="gp2", iops=None, throughput=None,
               encrypted=False, kms_key=None, tags=(), creating=True):
    """Adds a volume in a zone of the region, checked as CreateVolume checks it."""
    if state.zone(name=zone_name) is None:
        raise AwsError("InvalidZone.NotFound", f"The zone '{zone_name}' does not exist.")
    _check_size(vtype, size)
    iops, throughput = _performance(vtype, size, iops, throughput)
    if kms_key is not None and not encrypted:
        raise AwsError("InvalidParameterDependency",
                       "The parameter KmsKeyId requires the parameter Encrypted to be set.")
    volume_id = state.new_id("vol")
    volume = {
        "VolumeId": volume_id,
        "Size": size,
        "AvailabilityZone": zone_name,
        "State": "creating" if creating else "in-use",
        "CreateTime": _now(),
        "Encrypted": bool(encrypted),
        "VolumeType": vtype,
        "SnapshotId": "",
        "MultiAttachEnabled": False,
        "Attachments": [],
        "Tags": list(tags),
    }
    if encrypted:
        volume["KmsKeyId"] = kms_key or default_kms_key(state)
    if iops is not None:
        volume["Iops"] = iops
    if throughput is not None:
        volume["Throughput"] = throughput
    if creating:
        lifecycle.begin(volume, "volume-available")
    return state.add("volume", volume_id, volume)


def _attachment(volume, instance_id, device, status, delete_on_termination):
    att = {"AttachTime": _now(), "Device": device, "InstanceId": instance_id, "State": status,
           "VolumeId": volume["VolumeId"], "DeleteOnTermination": delete_on_termination}
    volume["Attachments"].append(att)
    volume["State"] = "in-use"
    return att


def launch_volume(state, instance, device, ebs, tags):
    """A volume made by RunInstances for one block device mapping, already attached."""
    volume = new_volume(state, instance["Placement"]["AvailabilityZone"], ebs["VolumeSize"],
                        ebs.get("VolumeType", "gp3"), ebs.get("Iops"), ebs.get("Throughput"),
                        ebs.get("Encrypted", False), ebs.get("KmsKeyId"), tags, creating=False)
    _attachment(volume, instance["InstanceId"], device, "attached", ebs.get("DeleteOnTermination", True))
    return volume


def attachments_of(state, instance_id):
    """(volume, attachment) for every volume attached to an instance, in attach order."""
    found = [(v, a) for v in state.all("volume") for a in v["Attachments"] if a["InstanceId"] == instance_id]
    return sorted(found, key=lambda va: (va[1]["AttachTime"], va[0]["_seq"]))


def release_instance(state, instance_id):
    """An instance has terminated: its volumes are deleted or detached."""
    for volume, att in attachments_of(state, instance_id):
        volume["Attachments"].remove(att)
        if att["DeleteOnTermination"]:
            state.remove("volume", volume["VolumeId"])
        elif not volume["Attachments"]:
            volume["State"] = "available"


@background
def settle_volumes(state):
    for volume in state.all("volume"):
        if volume["State"] in ("creating", "deleting") and lifecycle.due(state, volume):
            lifecycle.done(volume)
            if volume["State"] == "deleting":
                state.remove("volume", volume["VolumeId"])
                continue
            volume["State"] = "available"
        for att in list(volume["Attachments"]):
            if att["State"] in ("attaching", "detaching") and lifecycle.due(state, att):
                lifecycle.done(att)
                if att["State"] == "attaching":
                    att["State"] = "attached"
                else:
                    volume["Attachments"].remove(att)
                    if not volume["Attachments"]:
                        volume["State"] = "available"
        modification = volume.get("_modification")
        if modification and modification["ModificationState"] != "completed" \
                and lifecycle.due(state, modification):
            lifecycle.done(modification)
            if modification["ModificationState"] == "modifying":
                modification["ModificationState"] = "optimizing"
                lifecycle.begin(modification, "volume-modification")
            else:
                modification["ModificationState"] = "completed"
                modification["Progress"] = 100
                modification["EndTime"] = _now()


def _idempotent(state, params, token):
    """The volume an earlier CreateVolume with this client token made, or None."""
    request = {k: v for k, v in params.items() if k != "ClientToken"}
    for volume in state.all("volume"):
        if volume.get("_client_token") == token:
            if volume["_request"] != request:
                raise AwsError("IdempotentParameterMismatch",
                               "The client token you have provided is associated with a resource "
                               "that is already deleted or has different parameters.")
            return volume
    return None


@action("CreateVolume")
def create_volume(state, params):
    if params.get("SnapshotId") or params.get("OutpostArn") or params.get("MultiAttachEnabled"):
        raise AwsError("UnsupportedOperation",
                       "The fake supports new empty volumes only (no snapshots, Outposts or Multi-Attach).")
    token = params.get("ClientToken")
    if token:
        existing = _idempotent(state, params, token)
        if existing is not None:
            return existing
    if params.get("Size") is None:
        raise AwsError("MissingParameter", "The request must contain the parameter size or snapshotId")
    tags = tags_from_specifications(params, "volume")
    volume = new_volume(state, params["AvailabilityZone"], params["Size"], params.get("VolumeType", "gp2"),
                        params.get("Iops"), params.get("Throughput"), params.get("Encrypted", False),
                        params.get("KmsKeyId"), tags)
    if token:
        volume["_client_token"] = token
        volume["_request"] = {k: v for k, v in params.items() if k != "ClientToken"}
    return volume


@action("DescribeVolumes")
def describe_volumes(state, params):
    result = describe(state, "DescribeVolumes", params, kind="volume", filters=FILTERS,
                      ids_member="VolumeIds")
    for volume in result["Volumes"]:
        lifecycle.seen(volume)
        for att in volume["Attachments"]:
            lifecycle.seen(att)
    return result


@action("DeleteVolume")
def delete_volume(state, params):
    volume = state.get("volume", params["VolumeId"])
    if volume["Attachments"]:
        raise AwsError("VolumeInUse", f"Volume {volume['VolumeId']} is currently attached to "
                                      f"{volume['Attachments'][0]['InstanceId']}")
    if volume["State"] != "available":
        raise AwsError("IncorrectState", f"The volume '{volume['VolumeId']}' is '{volume['State']}'")
    volume["State"] = "deleting"
    lifecycle.begin(volume, "volume-deleted")
    return {}


@action("ModifyVolume")
def modify_volume(state, params):
    volume = state.get("volume", params["VolumeId"])
    if params.get("MultiAttachEnabled"):
        raise AwsError("UnsupportedOperation", "The fake does not support Multi-Attach.")
    if volume["State"] not in ("available", "in-use"):
        raise AwsError("IncorrectState", f"The volume '{volume['VolumeId']}' is '{volume['State']}'")
    previous = volume.get("_modification")
    if previous and previous["ModificationState"] != "completed":
        raise AwsError("IncorrectModificationState",
                       f"Volume {volume['VolumeId']} is already being modified "
                       f"({previous['ModificationState']}).")
    if all(params.get(k) is None for k in ("Size", "VolumeType", "Iops", "Throughput")):
        raise AwsError("MissingParameter",
                       "The request must contain at least one of size, volumeType, iops or throughput")
    size = volume["Size"] if params.get("Size") is None else params["Size"]
    vtype = params.get("VolumeType") or volume["VolumeType"]
    if size < volume["Size"]:
        raise AwsError("InvalidParameterValue", "New size cannot be smaller than existing size")
    _check_size(vtype, size)
    keep_iops = vtype == volume["VolumeType"] and vtype in ("gp3", "io1", "io2")
    iops, throughput = _performance(
        vtype, size, params.get("Iops", volume.get("Iops") if keep_iops else None),
        params.get("Throughput", volume.get("Throughput") if vtype == volume["VolumeType"] else None))
    modification = {
        "VolumeId": volume["VolumeId"], "ModificationState": "modifying",
        "TargetSize": size, "TargetVolumeType": vtype, "TargetMultiAttachEnabled": False,
        "OriginalSize": volume["Size"], "OriginalVolumeType": volume["VolumeType"],
        "OriginalMultiAttachEnabled": False, "Progress": 0, "StartTime": _now(),
    }
    for member, value in (("TargetIops", iops), ("TargetThroughput", throughput),
                          ("OriginalIops", volume.get("Iops")),
                          ("OriginalThroughput", volume.get("Throughput"))):
        if value is not None:
            modification[member] = value
    # The new size and type show in DescribeVolumes at once; the modification
    # itself goes on (modifying -> optimizing -> completed).
    volume["Size"], volume["VolumeType"] = size, vtype
    volume.pop("Iops", None)
    volume.pop("Throughput", None)
    if iops is not None:
        volume["Iops"] = iops
    if throughput is not None:
        volume["Throughput"] = throughput
    volume["_modification"] = modification
    lifecycle.begin(modification, "volume-modification")
    return {"VolumeModification": copy.copy(modification)}


@action("AttachVolume")
def attach_volume(state, params):
    volume = state.get("volume", params["VolumeId"])
    instance = state.get("instance", params["InstanceId"])
    device = params["Device"]
    check_device(device)
    if instance["State"]["Name"] not in ATTACHABLE_INSTANCE_STATES:
        raise AwsError("IncorrectInstanceState",
                       f"The instance '{instance['InstanceId']}' is not in a valid state for this operation.")
    if volume["Attachments"]:
        raise AwsError("VolumeInUse", f"{volume['VolumeId']} is already attached to an instance")
    if volume["State"] != "available":
        raise AwsError("IncorrectState", f"{volume['VolumeId']} is not 'available'.")
    if volume["AvailabilityZone"] != instance["Placement"]["AvailabilityZone"]:
        raise AwsError("InvalidVolume.ZoneMismatch",
                       f"The volume '{volume['VolumeId']}' is not in the same availability zone as "
                       f"instance '{instance['InstanceId']}'")
    taken = {a["Device"] for _, a in attachments_of(state, instance["InstanceId"])}
    if device in taken or device == instance.get("RootDeviceName"):
        raise AwsError("InvalidParameterValue",
                       f"Invalid value '{device}' for unixDevice. Attachment point {device} is already in use")
    att = _attachment(volume, instance["InstanceId"], device, "attaching", False)
    lifecycle.begin(att, "volume-attachment")
    return copy.copy(att)


@action("DetachVolume")
def detach_volume(state, params):
    volume = state.get("volume", params["VolumeId"])
    if params.get("InstanceId"):
        state.get("instance", params["InstanceId"])
    matching = [a for a in volume["Attachments"]
                if params.get("InstanceId") in (None, a["InstanceId"])
                and params.get("Device") in (None, a["Device"])]
    if not volume["Attachments"]:
        raise AwsError("IncorrectState", f"Volume '{volume['VolumeId']}' is in the '{volume['State']}' state.")
    if not matching:
        raise AwsError("InvalidAttachment.NotFound",
                       f"Volume '{volume['VolumeId']}' is not attached to "
                       f"'{params.get('InstanceId') or params.get('Device')}'.")
    att = matching[0]
    if att["State"] != "attached":
        raise AwsError("IncorrectState", f"Volume '{volume['VolumeId']}' is in the '{att['State']}' state.")
    instance = state.get("instance", att["InstanceId"])
    if att["Device"] == instance.get("RootDeviceName") and instance["State"]["Name"] != "stopped" \
            and not params.get("Force"):
        raise AwsError("IncorrectState", f"Unable to detach root volume '{volume['VolumeId']}' "
                                         f"from instance '{instance['InstanceId']}'")
    att["State"] = "detaching"
    lifecycle.begin(att, "volume-attachment")
    return copy.copy(att)
