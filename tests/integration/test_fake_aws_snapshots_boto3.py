#!/usr/bin/python3
"""Checks the AWS fake's EBS snapshots (tests/fakes/awsfake/ec2/snapshots.py)
with Debian's boto3: CreateSnapshot with tags, pending -> completed seen
through DescribeSnapshots and boto3's snapshot_completed waiter, the
filters, OwnerIds and pagination of DescribeSnapshots, DeleteSnapshot, and a
snapshot outliving its volume.

The fake runs with a transition time far longer than the test: a snapshot
completes once a Describe has shown it pending, with no timing involved.

Run: /usr/bin/python3 tests/integration/test_fake_aws_snapshots_boto3.py
"""

import os
import sys
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

SOURCE_DIR = os.environ.get("DEPLOYBOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

REGION = "eu-west-1"
ACCOUNT = "123456789012"
ACCESS_KEY = "AKIDFAKEFORTESTS0007"
SECRET_KEY = "fake/secret/key/for/snapshot/tests+0123456789"
FAST = {"Delay": 0.01, "MaxAttempts": 10}

fake = None


def setUpModule():
    global fake
    fake = FakeProcess("fake_aws.py", "--region", REGION, "--account-id", ACCOUNT, "--access-key", ACCESS_KEY,
                       "--secret-key", SECRET_KEY, "--transition-ms", "600000").start()


def tearDownModule():
    fake.stop()


def tags_of(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


class SnapshotTest(unittest.TestCase):
    def setUp(self):
        fake.admin("POST", "/_fake/reset")
        self.ec2 = boto3.client("ec2", endpoint_url=fake.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                                aws_secret_access_key=SECRET_KEY,
                                config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        self.addCleanup(self.ec2.close)

    def assertAwsError(self, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(*args, **kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code,
                         ctx.exception.response["Error"].get("Message"))
        return ctx.exception.response["Error"]["Message"]

    def volume(self, size=20, **kwargs):
        vid = self.ec2.create_volume(AvailabilityZone="eu-west-1a", Size=size, VolumeType="gp3", **kwargs)["VolumeId"]
        self.ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=FAST)
        return vid

    def snapshot(self, volume_id, env="dev", **kwargs):
        return self.ec2.create_snapshot(VolumeId=volume_id, TagSpecifications=[{
            "ResourceType": "snapshot", "Tags": [{"Key": "deploybot:stack", "Value": env}]}], **kwargs)

    def test_create_complete_delete(self):
        vid = self.volume(20, Encrypted=True)
        snap = self.snapshot(vid, Description="final snapshot of data")
        sid = snap["SnapshotId"]
        self.assertRegex(sid, r"^snap-[0-9a-f]{17}$")
        self.assertEqual((snap["State"], snap["Progress"], snap["VolumeId"], snap["VolumeSize"], snap["OwnerId"],
                          snap["Description"], snap["Encrypted"], tags_of(snap)),
                         ("pending", "0%", vid, 20, ACCOUNT, "final snapshot of data", True,
                          {"deploybot:stack": "dev"}))
        self.assertTrue(snap["KmsKeyId"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"))
        shown = self.ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        self.assertEqual(shown["State"], "pending")          # seen once ...
        done = self.ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        self.assertEqual((done["State"], done["Progress"]), ("completed", "100%"))   # ... then completed
        self.ec2.delete_snapshot(SnapshotId=sid)
        self.assertAwsError("InvalidSnapshot.NotFound", self.ec2.describe_snapshots, SnapshotIds=[sid])
        self.assertAwsError("InvalidSnapshot.NotFound", self.ec2.delete_snapshot, SnapshotId=sid)
        self.assertAwsError("InvalidSnapshotID.Malformed", self.ec2.delete_snapshot, SnapshotId="snap-xyz")

    def test_waiter_and_errors(self):
        vid = self.volume()
        sid = self.snapshot(vid)["SnapshotId"]
        self.ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=FAST)
        self.assertEqual(self.ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]["State"], "completed")
        self.assertAwsError("InvalidVolume.NotFound", self.ec2.create_snapshot, VolumeId="vol-0123456789abcdef0")
        creating = self.ec2.create_volume(AvailabilityZone="eu-west-1a", Size=5)["VolumeId"]
        self.assertAwsError("IncorrectState", self.ec2.create_snapshot, VolumeId=creating)
        self.assertAwsError("InvalidParameterValue", self.ec2.create_snapshot, VolumeId=vid, TagSpecifications=[
            {"ResourceType": "volume", "Tags": [{"Key": "a", "Value": "b"}]}])
        self.assertAwsError("InvalidParameterCombination", self.ec2.describe_snapshots, SnapshotIds=[sid],
                            MaxResults=5)

    def test_outlives_its_volume(self):
        vid = self.volume()
        sid = self.snapshot(vid)["SnapshotId"]
        self.ec2.delete_volume(VolumeId=vid)
        self.ec2.get_waiter("volume_deleted").wait(VolumeIds=[vid], WaiterConfig=FAST)
        self.assertAwsError("InvalidVolume.NotFound", self.ec2.describe_volumes, VolumeIds=[vid])
        found = self.ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [vid]}])["Snapshots"]
        self.assertEqual([(s["SnapshotId"], s["VolumeId"]) for s in found], [(sid, vid)])
        self.assertEqual(fake.admin("GET", "/_fake/state")["ec2"]["snapshot"][0]["SnapshotId"], sid)

    def test_filters_owners_and_pages(self):
        dev, prd = self.volume(), self.volume(30)
        dev_snaps = [self.snapshot(dev)["SnapshotId"] for _ in range(4)]
        prd_snaps = [self.snapshot(prd, "prd")["SnapshotId"] for _ in range(3)]

        def ids(**kwargs):
            return sorted(s["SnapshotId"] for s in self.ec2.describe_snapshots(**kwargs)["Snapshots"])
        self.assertEqual(ids(Filters=[{"Name": "tag:deploybot:stack", "Values": ["prd"]}]), sorted(prd_snaps))
        self.assertEqual(ids(Filters=[{"Name": "volume-id", "Values": [dev]}]), sorted(dev_snaps))
        self.assertEqual(ids(Filters=[{"Name": "volume-size", "Values": ["30"]}]), sorted(prd_snaps))
        self.assertEqual(ids(OwnerIds=["self"]), sorted(dev_snaps + prd_snaps))
        self.assertEqual(ids(OwnerIds=[ACCOUNT]), sorted(dev_snaps + prd_snaps))
        self.assertEqual(ids(OwnerIds=["amazon"]), [])
        self.assertEqual({t["ResourceType"] for t in self.ec2.describe_tags(Filters=[
            {"Name": "resource-id", "Values": prd_snaps}])["Tags"]}, {"snapshot"})
        pages = list(self.ec2.get_paginator("describe_snapshots").paginate(
            OwnerIds=["self"], PaginationConfig={"PageSize": 5}))
        self.assertEqual([len(p["Snapshots"]) for p in pages], [5, 2])
        self.assertEqual(sorted(s["SnapshotId"] for p in pages for s in p["Snapshots"]), sorted(dev_snaps + prd_snaps))
        fake.admin("POST", "/_fake/config", {"ignore_filters": True})
        self.assertEqual(len(ids(OwnerIds=["amazon"], Filters=[{"Name": "volume-id", "Values": [dev]}])), 7)


if __name__ == "__main__":
    unittest.main(verbosity=2)
