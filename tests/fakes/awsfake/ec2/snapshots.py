"""EBS snapshots: CreateSnapshot, DescribeSnapshots, DeleteSnapshot.

A snapshot is ``pending`` (progress 0%) after CreateSnapshot and then
``completed`` (100%), with the timing of every other asynchronous change
(lifecycle.py: at the first call after a Describe has shown it pending, or
after the transition time). It keeps its volume's size, encryption and key,
and outlives the volume: deleting the volume leaves its snapshots as they
are (their VolumeId names a volume that no longer exists, as in AWS).
Snapshots are the account's own; DescribeSnapshots' OwnerIds match
``self`` or the account id, and RestorableByUserIds is not modelled.
"""

import datetime

from ..config import config_of
from ..errors import AwsError
from . import lifecycle
from .actions import action, background, describe
from .tagging import tags_from_specifications


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


FILTERS = {
    "description": lambda s: [s["Description"]],
    "encrypted": lambda s: [s["Encrypted"]],
    "owner-alias": lambda s: [],
    "owner-id": lambda s: [s["OwnerId"]],
    "progress": lambda s: [s["Progress"]],
    "snapshot-id": lambda s: [s["SnapshotId"]],
    "start-time": lambda s: [_iso(s["StartTime"])],
    "status": lambda s: [s["State"]],
    "storage-tier": lambda s: [s["StorageTier"]],
    "volume-id": lambda s: [s["VolumeId"]],
    "volume-size": lambda s: [s["VolumeSize"]],
}
SNAPSHOTTABLE = ("available", "in-use")


@background
def settle_snapshots(state):
    for snapshot in state.all("snapshot"):
        if snapshot["State"] == "pending" and lifecycle.due(state, snapshot):
            lifecycle.done(snapshot)
            snapshot["State"], snapshot["Progress"] = "completed", "100%"


@action("CreateSnapshot")
def create_snapshot(state, params):
    if params.get("OutpostArn"):
        raise AwsError("UnsupportedOperation", "The fake does not model Outposts.")
    volume = state.get("volume", params["VolumeId"])
    if volume["State"] not in SNAPSHOTTABLE:
        raise AwsError("IncorrectState", f"The volume '{volume['VolumeId']}' is '{volume['State']}'.")
    tags = tags_from_specifications(params, "snapshot")
    snapshot_id = state.new_id("snap")
    snapshot = {
        "SnapshotId": snapshot_id, "VolumeId": volume["VolumeId"], "VolumeSize": volume["Size"],
        "State": "pending", "Progress": "0%", "StartTime": datetime.datetime.now(datetime.timezone.utc),
        "Description": params.get("Description", ""), "OwnerId": state.account_id,
        "Encrypted": volume["Encrypted"], "StorageTier": "standard", "Tags": tags,
    }
    if volume.get("KmsKeyId"):
        snapshot["KmsKeyId"] = volume["KmsKeyId"]
    lifecycle.begin(snapshot, "snapshot-completed")
    return state.add("snapshot", snapshot_id, snapshot)


def _owned(state, owners):
    """Whether the account's snapshots pass OwnerIds (self, the account id; amazon ... are others)."""
    return not owners or any(o in ("self", state.account_id) for o in owners)


def _shown(snapshot):
    lifecycle.seen(snapshot)
    return snapshot


@action("DescribeSnapshots")
def describe_snapshots(state, params):
    if params.get("RestorableByUserIds"):
        raise AwsError("UnsupportedOperation", "The fake does not model snapshot permissions "
                                               "(RestorableByUserIds).")
    # OwnerIds selects like a filter (not applied under ignore_filters, config.py).
    owned = config_of(state).ignore_filters or _owned(state, params.get("OwnerIds"))
    result = describe(state, "DescribeSnapshots", params, kind="snapshot", filters=FILTERS,
                      ids_member="SnapshotIds", view=_shown if owned else None)
    return result if owned else {"Snapshots": []}


@action("DeleteSnapshot")
def delete_snapshot(state, params):
    snapshot = state.get("snapshot", params["SnapshotId"])
    state.remove("snapshot", snapshot["SnapshotId"])
    return {}
