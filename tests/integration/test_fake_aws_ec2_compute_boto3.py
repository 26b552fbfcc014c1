#!/usr/bin/python3
"""Checks the AWS fake's EC2 compute actions with Debian's boto3: launch
templates and their versions, instances (RunInstances from a template with
overrides, client tokens, DescribeInstances filters and pagination,
termination), EBS volumes (create, attach, detach, modify, delete) and
boto3's own waiters against the fake's state transitions.

The fake runs with a transition time far longer than the test, so every
asynchronous change completes only once a Describe has shown it: each state
is seen exactly once and each waiter really polls, with no timing involved.

Run: /usr/bin/python3 tests/integration/test_fake_aws_ec2_compute_boto3.py
"""

import base64
import os
import sys
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError

SOURCE_DIR = os.environ.get("DEPLOYBOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

REGION = "eu-west-1"
ACCESS_KEY = "AKIDFAKEFORTESTS0002"
SECRET_KEY = "fake/secret/key/for/compute/tests+0123456789"
AMI = "ami-0123456789abcdef0"
FAST = {"Delay": 0.01, "MaxAttempts": 10}   # waiters: poll at once, a few times

fake = None


def setUpModule():
    global fake
    fake = FakeProcess("fake_aws.py", "--region", REGION, "--access-key", ACCESS_KEY,
                       "--secret-key", SECRET_KEY, "--transition-ms", "600000").start()


def tearDownModule():
    fake.stop()


def client(service="ec2"):
    # IAM is global: signed for us-east-1, as boto3 would by itself against AWS.
    return boto3.client(service, endpoint_url=fake.url, region_name="us-east-1" if service == "iam" else REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


def tags(**kv):
    return [{"Key": k, "Value": v} for k, v in kv.items()]


def tags_of(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def b64(text):
    return base64.b64encode(text.encode()).decode()


class ComputeTest(unittest.TestCase):
    def setUp(self):
        fake.admin("POST", "/_fake/reset")
        self.ec2 = client()
        self.addCleanup(self.ec2.close)
        self.vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.subnet_a = self.ec2.create_subnet(VpcId=self.vpc, CidrBlock="10.0.1.0/24",
                                               AvailabilityZone="eu-west-1a")["Subnet"]["SubnetId"]
        self.subnet_b = self.ec2.create_subnet(VpcId=self.vpc, CidrBlock="10.0.2.0/24",
                                               AvailabilityZone="eu-west-1b")["Subnet"]["SubnetId"]
        self.sg = self.ec2.create_security_group(GroupName="app", Description="app", VpcId=self.vpc)["GroupId"]

    def assertAwsError(self, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(*args, **kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code,
                         ctx.exception.response["Error"].get("Message"))
        return ctx.exception.response["Error"]["Message"]

    def template(self, name="app", **data):
        data = dict({"ImageId": AMI, "InstanceType": "t3.medium", "SecurityGroupIds": [self.sg],
                     "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
                     "UserData": b64("#!/bin/bash\necho template\n")}, **data)
        return self.ec2.create_launch_template(
            LaunchTemplateName=name, LaunchTemplateData=data,
            TagSpecifications=[{"ResourceType": "launch-template", "Tags": tags(**{"deploybot:stack": "dev"})}],
        )["LaunchTemplate"]

    def run_one(self, subnet=None, **kwargs):
        kwargs.setdefault("ImageId", AMI)
        return self.ec2.run_instances(MinCount=1, MaxCount=1, SubnetId=subnet or self.subnet_a,
                                      **kwargs)["Instances"][0]

    def state(self, instance_id):
        return self.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


class LaunchTemplateTest(ComputeTest):
    def test_versions(self):
        lt = self.template()
        self.assertRegex(lt["LaunchTemplateId"], r"^lt-[0-9a-f]{17}$")
        self.assertEqual((lt["DefaultVersionNumber"], lt["LatestVersionNumber"]), (1, 1))
        self.assertEqual(tags_of(lt), {"deploybot:stack": "dev"})
        lt_id = lt["LaunchTemplateId"]
        self.assertAwsError("InvalidLaunchTemplateName.AlreadyExistsException", self.template)
        self.assertAwsError("InvalidLaunchTemplateName.MalformedException", self.template, name="a b")
        self.assertAwsError("UnsupportedOperation", self.template, name="other", KeyName="k")
        self.assertAwsError("InvalidParameterValue", self.template, name="other", UserData="not base64!")

        # A new version inherits from its source and does not become the default.
        v2 = self.ec2.create_launch_template_version(
            LaunchTemplateId=lt_id, SourceVersion="1", VersionDescription="bigger",
            LaunchTemplateData={"InstanceType": "t3.large"})["LaunchTemplateVersion"]
        self.assertEqual((v2["VersionNumber"], v2["DefaultVersion"]), (2, False))
        self.assertEqual(v2["LaunchTemplateData"]["ImageId"], AMI)
        self.assertEqual(v2["LaunchTemplateData"]["InstanceType"], "t3.large")
        self.assertEqual(v2["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"], "required")
        self.assertEqual(v2["LaunchTemplateData"]["SecurityGroupIds"], [self.sg])
        # Without a source, a version holds exactly what it is given.
        v3 = self.ec2.create_launch_template_version(
            LaunchTemplateName="app", LaunchTemplateData={"ImageId": AMI}, ClientToken="v3")["LaunchTemplateVersion"]
        self.assertNotIn("InstanceType", v3["LaunchTemplateData"])
        again = self.ec2.create_launch_template_version(
            LaunchTemplateName="app", LaunchTemplateData={"ImageId": AMI}, ClientToken="v3")["LaunchTemplateVersion"]
        self.assertEqual(again["VersionNumber"], 3)

        modified = self.ec2.modify_launch_template(LaunchTemplateId=lt_id, DefaultVersion="2")["LaunchTemplate"]
        self.assertEqual((modified["DefaultVersionNumber"], modified["LatestVersionNumber"]), (2, 3))
        self.assertAwsError("InvalidLaunchTemplateId.VersionNotFound", self.ec2.modify_launch_template,
                            LaunchTemplateId=lt_id, DefaultVersion="9")

        def versions(**kwargs):
            return [(v["VersionNumber"], v["DefaultVersion"]) for v in
                    self.ec2.describe_launch_template_versions(**kwargs)["LaunchTemplateVersions"]]
        self.assertEqual(versions(LaunchTemplateId=lt_id), [(1, False), (2, True), (3, False)])
        self.assertEqual(versions(LaunchTemplateId=lt_id, Versions=["$Latest", "$Default"]), [(2, True), (3, False)])
        self.assertEqual(versions(LaunchTemplateName="app", MinVersion="2", MaxVersion="2"), [(2, True)])
        self.assertEqual(versions(LaunchTemplateId=lt_id, Filters=[{"Name": "instance-type", "Values": ["t3.*"]}]),
                         [(1, False), (2, True)])
        self.assertAwsError("InvalidLaunchTemplateId.VersionNotFound", versions, LaunchTemplateId=lt_id,
                            Versions=["7"])
        # Without a template: the default (or latest) version of every template.
        other = self.template(name="other", InstanceType="t3.small")["LaunchTemplateId"]
        found = self.ec2.describe_launch_template_versions(Versions=["$Default"])["LaunchTemplateVersions"]
        self.assertEqual([(v["LaunchTemplateId"], v["VersionNumber"]) for v in found], [(lt_id, 2), (other, 1)])
        self.assertAwsError("MissingParameter", versions, Versions=["1"])

        by_tag = self.ec2.describe_launch_templates(Filters=[{"Name": "tag:deploybot:stack", "Values": ["dev"]}])
        self.assertEqual(len(by_tag["LaunchTemplates"]), 2)
        pages = list(self.ec2.get_paginator("describe_launch_templates").paginate(PaginationConfig={"PageSize": 1}))
        self.assertEqual([len(p["LaunchTemplates"]) for p in pages], [1, 1])
        self.assertEqual(self.ec2.describe_launch_templates(LaunchTemplateNames=["other"])
                         ["LaunchTemplates"][0]["LaunchTemplateId"], other)
        self.assertAwsError("InvalidLaunchTemplateId.NotFound", self.ec2.describe_launch_templates,
                            LaunchTemplateIds=["lt-0123456789abcdef0"])
        self.assertAwsError("InvalidLaunchTemplateId.Malformed", self.ec2.describe_launch_templates,
                            LaunchTemplateIds=["lt-nope"])
        self.assertAwsError("InvalidLaunchTemplateName.NotFoundException", self.ec2.describe_launch_templates,
                            LaunchTemplateNames=["nope"])

        deleted = self.ec2.delete_launch_template(LaunchTemplateName="other")["LaunchTemplate"]
        self.assertEqual(deleted["LaunchTemplateId"], other)
        self.assertAwsError("InvalidLaunchTemplateId.NotFound", versions, LaunchTemplateId=other)


class InstanceTest(ComputeTest):
    def test_run_from_template(self):
        lt = self.template()
        launched = self.ec2.run_instances(
            MinCount=1, MaxCount=1, SubnetId=self.subnet_b, InstanceType="t3.large",
            LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"], "Version": "$Default"},
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags(Name="app-1", **{"deploybot:id": "i1"})},
                               {"ResourceType": "volume", "Tags": tags(Name="app-1-root")}])
        self.assertRegex(launched["ReservationId"], r"^r-[0-9a-f]{17}$")
        inst = launched["Instances"][0]
        iid = inst["InstanceId"]
        self.assertEqual(inst["State"], {"Code": 0, "Name": "pending"})
        self.assertEqual(inst["InstanceType"], "t3.large")                  # the call's override
        self.assertEqual(inst["ImageId"], AMI)                              # the template's
        self.assertEqual(inst["MetadataOptions"]["HttpTokens"], "required")
        self.assertEqual(inst["MetadataOptions"]["HttpPutResponseHopLimit"], 2)
        self.assertEqual([g["GroupId"] for g in inst["SecurityGroups"]], [self.sg])
        self.assertEqual((inst["SubnetId"], inst["VpcId"], inst["Placement"]["AvailabilityZone"]),
                         (self.subnet_b, self.vpc, "eu-west-1b"))
        self.assertEqual(inst["PrivateIpAddress"], "10.0.2.4")
        self.assertEqual(tags_of(inst), {"Name": "app-1", "deploybot:id": "i1",
                                         "aws:ec2launchtemplate:id": lt["LaunchTemplateId"],
                                         "aws:ec2launchtemplate:version": "1"})
        root = inst["BlockDeviceMappings"][0]
        self.assertEqual((root["DeviceName"], root["Ebs"]["Status"], root["Ebs"]["DeleteOnTermination"]),
                         ("/dev/xvda", "attached", True))
        volume = self.ec2.describe_volumes(VolumeIds=[root["Ebs"]["VolumeId"]])["Volumes"][0]
        self.assertEqual((volume["Size"], volume["VolumeType"], tags_of(volume)), (8, "gp3", {"Name": "app-1-root"}))
        user_data = self.ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")["UserData"]
        self.assertEqual(base64.b64decode(user_data["Value"]), b"#!/bin/bash\necho template\n")
        self.assertEqual(self.ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")
                         ["InstanceType"]["Value"], "t3.large")
        subnet = self.ec2.describe_subnets(SubnetIds=[self.subnet_b])["Subnets"][0]
        self.assertEqual(subnet["AvailableIpAddressCount"], 250)

        # pending is shown once, then the instance is running: boto3's waiter polls.
        self.assertEqual(self.state(iid)["State"]["Name"], "pending")
        self.ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
        self.assertEqual(self.state(iid)["State"], {"Code": 16, "Name": "running"})

        bare = self.run_one(UserData="#!/bin/sh\n", InstanceType="t3.micro")
        default_group = self.ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [self.vpc]}, {"Name": "group-name", "Values": ["default"]}])
        self.assertEqual([g["GroupId"] for g in bare["SecurityGroups"]],
                         [default_group["SecurityGroups"][0]["GroupId"]])
        self.assertEqual(bare["MetadataOptions"]["HttpTokens"], "optional")
        self.assertNotIn("aws:ec2launchtemplate:id", tags_of(bare))

    def test_client_token_and_errors(self):
        first = self.run_one(ClientToken="launch-1", InstanceType="t3.micro")
        again = self.run_one(ClientToken="launch-1", InstanceType="t3.micro")
        self.assertEqual(again["InstanceId"], first["InstanceId"])
        self.assertAwsError("IdempotentParameterMismatch", self.run_one, ClientToken="launch-1",
                            InstanceType="t3.small")
        self.assertEqual(len(self.ec2.describe_instances()["Reservations"]), 1)

        other_vpc = self.ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        foreign = self.ec2.create_security_group(GroupName="x", Description="x", VpcId=other_vpc)["GroupId"]
        lt = self.template()["LaunchTemplateId"]
        for code, kwargs in [
                ("VPCIdNotSpecified", {"SubnetId": None}),
                ("InvalidAMIID.Malformed", {"ImageId": "ami-12"}),
                ("MissingParameter", {"ImageId": None}),
                ("InvalidSubnetID.NotFound", {"SubnetId": "subnet-0123456789abcdef0"}),
                ("InvalidParameter", {"SecurityGroupIds": [foreign]}),
                ("InvalidGroup.NotFound", {"SecurityGroupIds": ["sg-0123456789abcdef0"]}),
                ("InvalidParameterValue", {"UserData": "x" * 16385}),     # boto3 encodes it
                ("InvalidParameterValue", {"IamInstanceProfile": {"Name": "no-such-profile"}}),
                ("InvalidLaunchTemplateId.VersionNotFound",
                 {"LaunchTemplate": {"LaunchTemplateId": lt, "Version": "4"}}),
                ("InvalidParameterValue", {"BlockDeviceMappings": [{"DeviceName": "/dev/nope", "Ebs": {"VolumeSize": 1}}]}),
                ("InvalidBlockDeviceMapping", {"BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 4}}]}),
                ("UnsupportedOperation", {"KeyName": "mine"})]:
            args = {"MinCount": 1, "MaxCount": 1, "SubnetId": self.subnet_a, "ImageId": AMI}
            args.update(kwargs)
            args = {k: v for k, v in args.items() if v is not None}
            with self.subTest(code=code, **kwargs):
                self.assertAwsError(code, self.ec2.run_instances, **args)

    def test_instance_profile_from_iam(self):
        iam = client("iam")
        self.addCleanup(iam.close)
        iam.create_role(RoleName="dify", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}')
        profile = iam.create_instance_profile(InstanceProfileName="dify")["InstanceProfile"]
        iam.add_role_to_instance_profile(InstanceProfileName="dify", RoleName="dify")
        inst = self.run_one(IamInstanceProfile={"Name": "dify"})
        self.assertEqual(inst["IamInstanceProfile"], {"Arn": profile["Arn"], "Id": profile["InstanceProfileId"]})
        by_arn = self.run_one(IamInstanceProfile={"Arn": profile["Arn"]})
        self.assertEqual(by_arn["IamInstanceProfile"]["Arn"], profile["Arn"])

    def test_describe_filters_and_pages(self):
        many = self.ec2.run_instances(MinCount=7, MaxCount=7, ImageId=AMI, SubnetId=self.subnet_a,
                                      InstanceType="t3.micro",
                                      TagSpecifications=[{"ResourceType": "instance",
                                                          "Tags": tags(**{"deploybot:stack": "dev"})}])
        self.assertEqual([i["AmiLaunchIndex"] for i in many["Instances"]], list(range(7)))
        one = self.run_one(subnet=self.subnet_b, InstanceType="t3.small")

        def ids(*filters):
            found = self.ec2.describe_instances(Filters=list(filters))["Reservations"]
            return sorted(i["InstanceId"] for r in found for i in r["Instances"])
        # Each is shown pending once (only what a Describe returns counts as seen) ...
        self.assertEqual(ids({"Name": "instance-state-name", "Values": ["running"]}), [])
        self.assertEqual(len(ids({"Name": "instance-state-name", "Values": ["pending"]})), 8)
        # ... and runs from the next call on.
        self.assertEqual(len(ids({"Name": "instance-state-name", "Values": ["running"]})), 8)
        paginator = self.ec2.get_paginator("describe_instances")
        pages = list(paginator.paginate(PaginationConfig={"PageSize": 5}))
        self.assertEqual([sum(len(r["Instances"]) for r in p["Reservations"]) for p in pages], [5, 3])
        self.assertEqual(ids({"Name": "tag:deploybot:stack", "Values": ["dev"]}),
                         sorted(i["InstanceId"] for i in many["Instances"]))
        self.assertEqual(ids({"Name": "subnet-id", "Values": [self.subnet_b]}), [one["InstanceId"]])
        self.assertEqual(ids({"Name": "instance-type", "Values": ["t3.small"]},
                             {"Name": "availability-zone", "Values": ["eu-west-1b"]}), [one["InstanceId"]])
        self.assertEqual(ids({"Name": "reservation-id", "Values": [many["ReservationId"]]}),
                         sorted(i["InstanceId"] for i in many["Instances"]))
        self.assertAwsError("InvalidParameterValue", ids, {"Name": "no-such-filter", "Values": ["x"]})
        self.assertAwsError("InvalidInstanceID.NotFound", self.ec2.describe_instances,
                            InstanceIds=["i-0123456789abcdef0"])
        self.assertAwsError("InvalidInstanceID.Malformed", self.ec2.describe_instances, InstanceIds=["i-x"])

    def test_terminate_and_dependencies(self):
        inst = self.run_one(SecurityGroupIds=[self.sg])
        iid = inst["InstanceId"]
        self.ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
        data = self.ec2.create_volume(AvailabilityZone="eu-west-1a", Size=10, VolumeType="gp3")["VolumeId"]
        self.ec2.get_waiter("volume_available").wait(VolumeIds=[data], WaiterConfig=FAST)
        self.ec2.attach_volume(VolumeId=data, InstanceId=iid, Device="/dev/xvdf")
        root = inst["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]

        # What an instance uses cannot be deleted while it is not terminated.
        self.assertAwsError("DependencyViolation", self.ec2.delete_subnet, SubnetId=self.subnet_a)
        self.assertAwsError("DependencyViolation", self.ec2.delete_security_group, GroupId=self.sg)
        self.assertAwsError("DependencyViolation", self.ec2.delete_vpc, VpcId=self.vpc)
        self.ec2.delete_subnet(SubnetId=self.subnet_b)

        change = self.ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
        self.assertEqual((change["PreviousState"]["Name"], change["CurrentState"]["Name"]),
                         ("running", "shutting-down"))
        self.assertAwsError("DependencyViolation", self.ec2.delete_subnet, SubnetId=self.subnet_a)
        with self.assertRaises(WaiterError):     # botocore's waiter gives up on shutting-down
            self.ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
        self.ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
        gone = self.state(iid)                   # still visible, as in AWS
        self.assertEqual((gone["State"]["Name"], gone["StateReason"]["Code"]),
                         ("terminated", "Client.UserInitiatedShutdown"))
        self.assertEqual(gone["BlockDeviceMappings"], [])
        self.assertAwsError("InvalidVolume.NotFound", self.ec2.describe_volumes, VolumeIds=[root])
        volume = self.ec2.describe_volumes(VolumeIds=[data])["Volumes"][0]
        self.assertEqual((volume["State"], volume["Attachments"]), ("available", []))
        again = self.ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
        self.assertEqual(again["CurrentState"]["Name"], "terminated")
        self.ec2.delete_security_group(GroupId=self.sg)
        self.ec2.delete_subnet(SubnetId=self.subnet_a)

    def test_disable_api_termination(self):
        iid = self.run_one(DisableApiTermination=True)["InstanceId"]
        self.assertAwsError("OperationNotPermitted", self.ec2.terminate_instances, InstanceIds=[iid])
        self.assertTrue(self.ec2.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")
                        ["DisableApiTermination"]["Value"])


class VolumeTest(ComputeTest):
    def running(self, subnet=None):
        iid = self.run_one(subnet=subnet)["InstanceId"]
        self.ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
        return iid

    def test_create_attach_detach_delete(self):
        created = self.ec2.create_volume(AvailabilityZone="eu-west-1a", Size=20, VolumeType="gp3", Encrypted=True,
                                         TagSpecifications=[{"ResourceType": "volume",
                                                             "Tags": tags(**{"deploybot:id": "volume.data_1"})}])
        vid = created["VolumeId"]
        self.assertRegex(vid, r"^vol-[0-9a-f]{17}$")
        self.assertEqual((created["State"], created["Iops"], created["Throughput"], created["Encrypted"]),
                         ("creating", 3000, 125, True))
        self.assertTrue(created["KmsKeyId"].startswith("arn:aws:kms:eu-west-1:"))
        iid = self.running()
        pending = self.run_one()["InstanceId"]
        self.assertAwsError("IncorrectState", self.ec2.attach_volume, VolumeId=vid, InstanceId=iid,
                            Device="/dev/xvdf")                     # still creating
        self.ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=FAST)
        self.assertAwsError("IncorrectInstanceState", self.ec2.attach_volume, VolumeId=vid, InstanceId=pending,
                            Device="/dev/xvdf")
        self.assertAwsError("InvalidVolume.ZoneMismatch", self.ec2.attach_volume, VolumeId=vid,
                            InstanceId=self.running(self.subnet_b), Device="/dev/xvdf")
        self.assertAwsError("InvalidParameterValue", self.ec2.attach_volume, VolumeId=vid, InstanceId=iid,
                            Device="/dev/xvda")                     # the root device
        self.assertAwsError("InvalidParameterValue", self.ec2.attach_volume, VolumeId=vid, InstanceId=iid,
                            Device="xvdf")

        att = self.ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/xvdf")
        self.assertEqual((att["State"], att["Device"], att["InstanceId"]), ("attaching", "/dev/xvdf", iid))
        self.assertEqual(self.ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Attachments"][0]["State"],
                         "attaching")                              # shown once ...
        self.ec2.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig=FAST)
        volume = self.ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
        self.assertEqual((volume["State"], volume["Attachments"][0]["State"]), ("in-use", "attached"))  # ... then done
        devices = [m["DeviceName"] for m in self.state(iid)["BlockDeviceMappings"]]
        self.assertEqual(devices, ["/dev/xvda", "/dev/xvdf"])
        self.assertEqual([v["VolumeId"] for v in self.ec2.describe_volumes(Filters=[
            {"Name": "attachment.instance-id", "Values": [iid]},
            {"Name": "attachment.device", "Values": ["/dev/xvdf"]}])["Volumes"]], [vid])

        self.assertAwsError("VolumeInUse", self.ec2.attach_volume, VolumeId=vid, InstanceId=iid, Device="/dev/xvdg")
        self.assertAwsError("VolumeInUse", self.ec2.delete_volume, VolumeId=vid)
        self.assertAwsError("IncorrectState", self.ec2.detach_volume,
                            VolumeId=self.state(iid)["BlockDeviceMappings"][0]["Ebs"]["VolumeId"])  # root
        detaching = self.ec2.detach_volume(VolumeId=vid, InstanceId=iid)
        self.assertEqual(detaching["State"], "detaching")
        self.assertAwsError("IncorrectState", self.ec2.detach_volume, VolumeId=vid)
        self.ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=FAST)
        self.assertAwsError("IncorrectState", self.ec2.detach_volume, VolumeId=vid)

        self.ec2.delete_volume(VolumeId=vid)
        self.assertEqual(self.ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["State"], "deleting")
        self.ec2.get_waiter("volume_deleted").wait(VolumeIds=[vid], WaiterConfig=FAST)
        self.assertAwsError("InvalidVolume.NotFound", self.ec2.delete_volume, VolumeId=vid)

    def test_modify_and_validation(self):
        vid = self.ec2.create_volume(AvailabilityZone="eu-west-1b", Size=50, VolumeType="gp3")["VolumeId"]
        self.assertAwsError("IncorrectState", self.ec2.modify_volume, VolumeId=vid, Size=60)   # creating
        self.ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=FAST)
        mod = self.ec2.modify_volume(VolumeId=vid, Size=60)["VolumeModification"]
        self.assertEqual((mod["ModificationState"], mod["OriginalSize"], mod["TargetSize"]), ("modifying", 50, 60))
        self.assertEqual(self.ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Size"], 60)
        self.assertAwsError("IncorrectModificationState", self.ec2.modify_volume, VolumeId=vid, Size=70)

        other = self.ec2.create_volume(AvailabilityZone="eu-west-1b", Size=50, VolumeType="gp3")["VolumeId"]
        self.ec2.get_waiter("volume_available").wait(VolumeIds=[other], WaiterConfig=FAST)
        msg = self.assertAwsError("InvalidParameterValue", self.ec2.modify_volume, VolumeId=other, Size=10)
        self.assertIn("cannot be smaller", msg)
        self.ec2.modify_volume(VolumeId=other, VolumeType="gp2")
        self.assertEqual(self.ec2.describe_volumes(VolumeIds=[other])["Volumes"][0]["Iops"], 150)

        for code, kwargs in [("InvalidZone.NotFound", {"AvailabilityZone": "eu-west-1z", "Size": 1}),
                             ("InvalidParameterValue", {"AvailabilityZone": "eu-west-1a", "Size": 20000}),
                             ("InvalidParameterValue", {"AvailabilityZone": "eu-west-1a", "Size": 10,
                                                        "VolumeType": "st1"}),
                             ("MissingParameter", {"AvailabilityZone": "eu-west-1a"}),
                             ("InvalidParameterCombination", {"AvailabilityZone": "eu-west-1a", "Size": 10,
                                                              "VolumeType": "gp2", "Throughput": 200}),
                             ("InvalidParameterDependency", {"AvailabilityZone": "eu-west-1a", "Size": 10,
                                                             "KmsKeyId": "alias/aws/ebs"})]:
            self.assertAwsError(code, self.ec2.create_volume, **kwargs)

        first = self.ec2.create_volume(AvailabilityZone="eu-west-1a", Size=5, ClientToken="data-1")["VolumeId"]
        self.assertEqual(self.ec2.create_volume(AvailabilityZone="eu-west-1a", Size=5,
                                                ClientToken="data-1")["VolumeId"], first)
        self.assertAwsError("IdempotentParameterMismatch", self.ec2.create_volume, AvailabilityZone="eu-west-1a",
                            Size=6, ClientToken="data-1")
        pages = list(self.ec2.get_paginator("describe_volumes").paginate(PaginationConfig={"PageSize": 5}))
        self.assertEqual(sum(len(p["Volumes"]) for p in pages), 3)
        self.assertEqual([v["VolumeId"] for v in self.ec2.describe_volumes(Filters=[
            {"Name": "size", "Values": ["5"]}, {"Name": "status", "Values": ["available"]}])["Volumes"]], [first])


if __name__ == "__main__":
    unittest.main(verbosity=2)
