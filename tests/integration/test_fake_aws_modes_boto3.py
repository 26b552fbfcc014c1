#!/usr/bin/python3
"""Checks the AWS fake's switches (tests/fakes/awsfake/config.py) with
Debian's boto3: server-side filters ignored (as some independent
implementations of the AWS APIs do), the three error document shapes, EC2's
eventual consistency after a create, EC2's token-bucket throttling, the
timing profile of asynchronous changes and a latency per call; each from
the command line and through POST /_fake/config, and the default (AWS's
behaviour) untouched.

Run: /usr/bin/python3 tests/integration/test_fake_aws_modes_boto3.py
"""

import json
import os
import sys
import threading
import time
import unittest
import xml.etree.ElementTree as ET

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

SOURCE_DIR = os.environ.get("DEPLOYBOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

REGION = "eu-west-1"
ACCESS_KEY = "AKIDFAKEFORTESTS0005"
SECRET_KEY = "fake/secret/key/for/modes/tests+0123456789"
AMI = "ami-0123456789abcdef0"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})

fake = None


def setUpModule():
    global fake
    fake = FakeProcess("fake_aws.py", "--region", REGION, "--access-key", ACCESS_KEY,
                       "--secret-key", SECRET_KEY, "--transition-ms", "600000").start()


def tearDownModule():
    fake.stop()


def client(service, url=None):
    region = "us-east-1" if service in ("iam", "route53") else REGION
    return boto3.client(service, endpoint_url=url or fake.url, region_name=region,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


def tags(**kv):
    return [{"Key": k, "Value": v} for k, v in kv.items()]


def local(tag):
    return tag.rsplit("}", 1)[-1]


class ModeTest(unittest.TestCase):
    def setUp(self):
        fake.admin("POST", "/_fake/reset")
        self.ec2, self.elb, self.iam, self.r53, self.sts = (
            client(s) for s in ("ec2", "elbv2", "iam", "route53", "sts"))
        for c in (self.ec2, self.elb, self.iam, self.r53, self.sts):
            self.addCleanup(c.close)

    def configure(self, **changes):
        return fake.admin("POST", "/_fake/config", changes)

    def assertAwsError(self, code, fn, *args, status=None, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(*args, **kwargs)
        err = ctx.exception.response["Error"]
        self.assertEqual(err["Code"], code, err.get("Message"))
        if status is not None:
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        return err


class ConfigTest(ModeTest):
    def test_admin_config(self):
        config = fake.admin("GET", "/_fake/config")
        self.assertEqual(config, {"ignore_filters": False, "error_shape": "native", "eventual_consistency_ms": 0,
                                  "throttle": False, "throttle_scale": 1.0, "session_duration_s": None,
                                  "roles": [], "timing": "off", "timing_scale": 1.0, "latency_ms": 0})
        changed = self.configure(ignore_filters=True, error_shape="ec2",
                                 roles=["arn:aws:iam::210987654321:role/deploybot-prd:ext:1"])
        self.assertEqual((changed["ignore_filters"], changed["error_shape"], changed["roles"]),
                         (True, "ec2", [{"arn": "arn:aws:iam::210987654321:role/deploybot-prd",
                                         "external_id": "ext:1"}]))
        for bad in ({"nope": 1}, {"error_shape": "xml"}, {"ignore_filters": "yes"}, {"throttle_scale": 0},
                    {"eventual_consistency_ms": -1}, {"roles": ["arn:aws:iam::1:user/x"]},
                    {"timing": "slow"}, {"timing_scale": 0}, {"latency_ms": -5}, {"latency_ms": 1.5}):
            with self.assertRaises(Exception) as ctx:
                self.configure(**bad)
            self.assertEqual(ctx.exception.code, 400, bad)
        self.assertEqual(fake.admin("GET", "/_fake/config")["error_shape"], "ec2")   # all or nothing
        fake.admin("POST", "/_fake/reset")       # back to the command line's configuration
        self.assertEqual(fake.admin("GET", "/_fake/config"), config)


class IgnoreFiltersTest(ModeTest):
    def two_stacks(self):
        """What two environments of one account look like: tagged VPCs, subnets,
        instances, IAM roles and profiles under their own paths, target groups."""
        made = {}
        for env in ("dev", "prd"):
            vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
                {"ResourceType": "vpc", "Tags": tags(**{"deploybot:stack": env})}])["Vpc"]["VpcId"]
            subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="eu-west-1a",
                                            TagSpecifications=[{"ResourceType": "subnet", "Tags": tags(
                                                **{"deploybot:stack": env})}])["Subnet"]["SubnetId"]
            instance = self.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=subnet,
                                              TagSpecifications=[{"ResourceType": "instance", "Tags": tags(
                                                  **{"deploybot:stack": env})}])["Instances"][0]["InstanceId"]
            self.ec2.create_launch_template(LaunchTemplateName=f"deploybot-{env}-app",
                                            LaunchTemplateData={"ImageId": AMI})
            self.iam.create_role(RoleName=f"deploybot-{env}-app", Path=f"/deploybot/{env}/",
                                 AssumeRolePolicyDocument=TRUST)
            self.iam.create_instance_profile(InstanceProfileName=f"deploybot-{env}-app", Path=f"/deploybot/{env}/")
            tg = self.elb.create_target_group(Name=f"deploybot-{env}-app", Protocol="HTTP", Port=80,
                                              VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
            made[env] = {"vpc": vpc, "subnet": subnet, "instance": instance, "tg": tg}
        return made

    def answers(self, made):
        dev = {"Name": "tag:deploybot:stack", "Values": ["dev"]}
        return {
            "vpcs": len(self.ec2.describe_vpcs(Filters=[dev])["Vpcs"]),
            "subnets": len(self.ec2.describe_subnets(Filters=[dev, {"Name": "vpc-id",
                                                                     "Values": [made["dev"]["vpc"]]}])["Subnets"]),
            "instances": sum(len(r["Instances"]) for r in self.ec2.describe_instances(
                Filters=[dev, {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]),
            # dev's VPC, subnet and instance (prd's too when ignored)
            "tags": len(self.ec2.describe_tags(Filters=[{"Name": "value", "Values": ["dev"]}])["Tags"]) // 3,
            "templates": len(self.ec2.describe_launch_templates(
                LaunchTemplateNames=["deploybot-dev-app"])["LaunchTemplates"]),
            "roles": len(self.iam.list_roles(PathPrefix="/deploybot/dev/")["Roles"]),
            "profiles": len(self.iam.list_instance_profiles(PathPrefix="/deploybot/dev/")["InstanceProfiles"]),
            "target groups": len(self.elb.describe_target_groups(Names=["deploybot-dev-app"])["TargetGroups"]),
        }

    def test_filters_applied_by_default_and_ignored_when_switched(self):
        made = self.two_stacks()
        kinds = ("vpcs", "subnets", "instances", "tags", "templates", "roles", "profiles", "target groups")
        self.assertEqual(self.answers(made), {k: 1 for k in kinds})
        self.configure(ignore_filters=True)
        self.assertEqual(self.answers(made), {k: 2 for k in kinds})
        # Names select like filters: a missing one is no error while they are ignored...
        self.assertEqual(len(self.elb.describe_target_groups(Names=["gone"])["TargetGroups"]), 2)
        self.assertEqual(len(self.ec2.describe_launch_templates(LaunchTemplateNames=["gone"])["LaunchTemplates"]), 2)
        # ...while ids and ARNs address resources and stay strict.
        self.assertEqual([v["VpcId"] for v in self.ec2.describe_vpcs(VpcIds=[made["dev"]["vpc"]])["Vpcs"]],
                         [made["dev"]["vpc"]])
        self.assertAwsError("InvalidVpcID.NotFound", self.ec2.describe_vpcs, VpcIds=["vpc-0123456789abcdef0"])
        self.assertEqual(len(self.ec2.describe_instances(InstanceIds=[made["prd"]["instance"]])["Reservations"]), 1)
        self.assertEqual(len(self.elb.describe_target_groups(TargetGroupArns=[made["prd"]["tg"]])["TargetGroups"]),
                         1)
        self.assertAwsError("TargetGroupNotFound", self.elb.describe_target_groups,
                            TargetGroupArns=[made["prd"]["tg"].replace("prd", "stg")])
        self.assertEqual(self.iam.get_role(RoleName="deploybot-dev-app")["Role"]["Path"], "/deploybot/dev/")
        # Filters are still checked.
        self.assertAwsError("InvalidParameterValue", self.ec2.describe_vpcs,
                            Filters=[{"Name": "nope", "Values": ["x"]}])
        self.configure(ignore_filters=False)
        self.assertEqual(self.answers(made), {k: 1 for k in kinds})

    def test_command_line(self):
        with FakeProcess("fake_aws.py", "--region", REGION, "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                         "--ignore-filters") as other:
            ec2 = client("ec2", other.url)
            self.addCleanup(ec2.close)
            for env in ("dev", "prd"):
                ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
                    {"ResourceType": "vpc", "Tags": tags(**{"deploybot:stack": env})}])
            self.assertEqual(len(ec2.describe_vpcs(Filters=[{"Name": "tag:deploybot:stack", "Values": ["dev"]}])
                                 ["Vpcs"]), 2)
            self.assertTrue(other.admin("GET", "/_fake/config")["ignore_filters"])


class ErrorShapeTest(ModeTest):
    # (root, elements from the root to Error, request id element) of each shape
    SHAPES = {"ec2": ("Response", ["Errors", "Error"], "RequestID"),
              "query": ("ErrorResponse", ["Error"], "RequestId"),
              "errors-under-errorresponse": ("ErrorResponse", ["Errors", "Error"], "RequestId")}
    NATIVE = {"ec2": "ec2"}       # every other service answers the query shape

    def failing_calls(self):
        """(service, call, AWS's code, status) for each service."""
        return [
            ("ec2", lambda: self.ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"]), "InvalidVpcID.NotFound", 400),
            ("elbv2", lambda: self.elb.describe_target_groups(TargetGroupArns=[
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/0123456789abcdef"]),
             "TargetGroupNotFound", 400),
            ("iam", lambda: self.iam.get_role(RoleName="nope"), "NoSuchEntity", 404),
            ("sts", lambda: self.sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/nope",
                                                 RoleSessionName="s1"), "AccessDenied", 403),
            ("route53", lambda: self.r53.get_hosted_zone(Id="Z0NOPE"), "NoSuchHostedZone", 404),
        ]

    def raw_error(self, client, call):
        seen = {}

        def keep(http_response, **_):
            seen["status"], seen["body"] = http_response.status_code, http_response.content
        client.meta.events.register("after-call", keep)
        try:
            with self.assertRaises(ClientError) as ctx:
                call()
        finally:
            client.meta.events.unregister("after-call", keep)
        return seen["status"], ET.fromstring(seen["body"]), ctx.exception.response

    def check_document(self, shape, root, code, what):
        root_tag, path, request_id = self.SHAPES[shape]
        self.assertEqual(local(root.tag), root_tag, what)
        node = root
        for name in path:
            children = [c for c in node if local(c.tag) == name]
            self.assertEqual(len(children), 1, f"{what}: {name} under {local(node.tag)}")
            node = children[0]
        fields = {local(c.tag): c.text for c in node}
        self.assertEqual(fields["Code"], code, what)
        self.assertTrue(fields["Message"], what)
        ids = [c.text for c in root if local(c.tag) == request_id]
        self.assertEqual(len(ids), 1, f"{what}: {request_id}")
        self.assertRegex(ids[0], r"^[0-9a-f-]{36}$")

    def test_every_shape_for_every_service(self):
        clients = {"ec2": self.ec2, "elbv2": self.elb, "iam": self.iam, "sts": self.sts, "route53": self.r53}
        for shape in ("native", "ec2", "query", "errors-under-errorresponse"):
            self.configure(error_shape=shape)
            for service, call, code, status in self.failing_calls():
                what = f"{service} in the {shape} shape"
                got_status, root, response = self.raw_error(clients[service], call)
                self.assertEqual(got_status, status, what)
                self.check_document(self.NATIVE.get(service, "query") if shape == "native" else shape,
                                    root, code, what)
                # boto3 reads all three for the Query services and EC2; its REST-XML
                # parser (Route53) only reads <ErrorResponse><Error>.
                if service != "route53" or shape in ("native", "query"):
                    self.assertEqual(response["Error"]["Code"], code, what)

    def test_faults_and_signature_errors_take_the_shape(self):
        self.configure(error_shape="errors-under-errorresponse")
        fake.admin("POST", "/_fake/faults", {"action": "DescribeVpcs", "error": "RequestLimitExceeded"})
        status, root, response = self.raw_error(self.ec2, self.ec2.describe_vpcs)
        self.assertEqual((status, response["Error"]["Code"]), (503, "RequestLimitExceeded"))
        self.check_document("errors-under-errorresponse", root, "RequestLimitExceeded", "fault")
        wrong = boto3.client("ec2", endpoint_url=fake.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                             aws_secret_access_key="wrong", config=Config(retries={"total_max_attempts": 1}))
        self.addCleanup(wrong.close)
        status, root, response = self.raw_error(wrong, wrong.describe_vpcs)
        self.assertEqual(status, 403)
        self.check_document("errors-under-errorresponse", root, "SignatureDoesNotMatch", "signature")

    def test_command_line(self):
        with FakeProcess("fake_aws.py", "--region", REGION, "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                         "--error-shape", "ec2") as other:
            iam = client("iam", other.url)
            self.addCleanup(iam.close)
            status, root, response = self.raw_error(iam, lambda: iam.get_role(RoleName="nope"))
            self.assertEqual((status, response["Error"]["Code"]), (404, "NoSuchEntity"))
            self.check_document("ec2", root, "NoSuchEntity", "iam, --error-shape ec2")


class EventualConsistencyTest(ModeTest):
    def test_new_resources_not_found_by_id_for_a_while(self):
        self.configure(eventual_consistency_ms=400)
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        created = time.monotonic()
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        instance = self.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]
        volume = self.ec2.create_volume(AvailabilityZone="eu-west-1a", Size=1)["VolumeId"]
        self.assertAwsError("InvalidVpcID.NotFound", self.ec2.describe_vpcs, VpcIds=[vpc])
        self.assertAwsError("InvalidInstanceID.NotFound", self.ec2.describe_instances,
                            InstanceIds=[instance["InstanceId"]])
        self.assertAwsError("InvalidVolume.NotFound", self.ec2.describe_volumes, VolumeIds=[volume])
        # Only a Describe by id: lists show it, and other calls find it.
        self.assertEqual([v["VpcId"] for v in self.ec2.describe_vpcs()["Vpcs"]], [vpc])
        self.ec2.create_tags(Resources=[instance["InstanceId"]], Tags=[{"Key": "a", "Value": "b"}])
        if time.monotonic() - created >= 0.4:
            self.skipTest("the machine is too slow for a 400 ms window")
        time.sleep(max(0.0, created + 0.45 - time.monotonic()))
        self.assertEqual(self.ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["VpcId"], vpc)
        self.assertEqual(len(self.ec2.describe_instances(InstanceIds=[instance["InstanceId"]])["Reservations"]), 1)
        self.configure(eventual_consistency_ms=0)
        other = self.ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        self.assertEqual(self.ec2.describe_vpcs(VpcIds=[other])["Vpcs"][0]["VpcId"], other)

    def test_command_line(self):
        with FakeProcess("fake_aws.py", "--region", REGION, "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                         "--eventual-consistency-ms", "60000") as other:
            ec2 = client("ec2", other.url)
            self.addCleanup(ec2.close)
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            self.assertAwsError("InvalidVpcID.NotFound", ec2.describe_vpcs, VpcIds=[vpc])


class ThrottleTest(ModeTest):
    def burst(self, call, limit=400):
        """Calls until the first throttle: (calls that went through, seconds taken)."""
        start = time.monotonic()
        for done in range(limit):
            try:
                call()
            except ClientError as e:
                response = e.response
                self.assertEqual((response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"],
                                  response["Error"]["Message"]),
                                 ("RequestLimitExceeded", 503, "Request limit exceeded."))
                return done, time.monotonic() - start
        self.fail(f"no throttling after {limit} calls")

    def assertBucket(self, call, size, rate):
        done, elapsed = self.burst(call)
        self.assertGreaterEqual(done, size)
        self.assertLessEqual(done, size + elapsed * rate + 1)

    def test_off_by_default(self):
        for _ in range(120):
            self.ec2.describe_vpcs()

    def test_buckets_per_action(self):
        self.configure(throttle=True, throttle_scale=0.1)
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        # Mutating: 50 refilling 5/s, scaled to 5 refilling 0.5/s.
        self.assertBucket(lambda: self.ec2.create_tags(Resources=[vpc], Tags=[{"Key": "a", "Value": "b"}]), 5, 0.5)
        # Each action has its own bucket; the other services are not throttled.
        self.ec2.delete_tags(Resources=[vpc])
        for _ in range(20):
            self.iam.list_roles()
        # Non-mutating: 100 refilling 20/s, scaled to 10 refilling 2/s.
        self.assertBucket(self.ec2.describe_vpcs, 10, 2)
        time.sleep(0.6)                    # a token back
        self.ec2.describe_vpcs()
        # Turning it off and on again starts with full buckets.
        self.configure(throttle=False)
        self.configure(throttle=True)
        self.assertBucket(self.ec2.describe_subnets, 10, 2)
        # Off again: nothing is throttled; the log kept the throttled calls.
        self.configure(throttle=False)
        for _ in range(30):
            self.ec2.describe_vpcs()
        log = fake.admin("GET", "/_fake/calls/log")
        self.assertTrue(any(e["status"] == 503 and e["error"] == "RequestLimitExceeded" for e in log))

    def test_run_instances_buckets(self):
        self.configure(throttle=True)
        subnet = self.ec2.create_subnet(VpcId=self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"],
                                        CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]

        def run(count=1):
            return self.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=count, SubnetId=subnet)
        self.assertBucket(run, 5, 2)             # RunInstances: 5 refilling 2/s
        # Its resource bucket (1000 instances refilling 2/s), scaled to 10.
        self.configure(throttle_scale=0.01)
        with self.assertRaises(ClientError) as ctx:
            run(11)
        self.assertEqual(ctx.exception.response["Error"]["Code"], "RequestLimitExceeded")
        self.assertEqual(len(run(10)["Instances"]), 10)     # the request bucket's one token was kept

    def test_command_line(self):
        with FakeProcess("fake_aws.py", "--region", REGION, "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                         "--throttle", "--throttle-scale", "0.05") as other:
            ec2 = client("ec2", other.url)
            self.addCleanup(ec2.close)
            self.assertBucket(ec2.describe_vpcs, 5, 1)
            self.assertEqual((other.admin("GET", "/_fake/config")["throttle"],
                              other.admin("GET", "/_fake/config")["throttle_scale"]), (True, 0.05))


class TimingTest(ModeTest):
    def nat_gateway(self, ec2):
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
        return ec2.create_nat_gateway(SubnetId=subnet, AllocationId=alloc)["NatGateway"]["NatGatewayId"]

    def nat_state(self, ec2, nat):
        return ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["State"]

    def test_profile_decides_not_looking(self):
        # Off (the quick rule): a Describe that showed it pending settles it.
        nat = self.nat_gateway(self.ec2)
        self.assertEqual(self.nat_state(self.ec2, nat), "pending")
        self.assertEqual(self.nat_state(self.ec2, nat), "available")
        # Fixed, scaled: 105 s x 0.02 = 2.1 s, however often it is looked at.
        self.configure(timing="fixed", timing_scale=0.02)
        nat = self.nat_gateway(self.ec2)
        states = [self.nat_state(self.ec2, nat) for _ in range(5)]
        self.assertEqual(states, ["pending"] * 5)
        deadline = time.monotonic() + 30
        while self.nat_state(self.ec2, nat) == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.nat_state(self.ec2, nat), "available")

    def test_latency_side_by_side(self):
        self.configure(latency_ms=300)
        fake.admin("DELETE", "/_fake/calls")
        clients = [client("ec2") for _ in range(4)]
        for c in clients:
            self.addCleanup(c.close)
        threads = [threading.Thread(target=c.describe_vpcs) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # The four waited at the same time, none behind the service's lock.
        self.assertEqual(fake.admin("GET", "/_fake/concurrency"), {"in_flight": 0, "max_in_flight": 4})

    def test_command_line(self):
        with FakeProcess("fake_aws.py", "--region", REGION, "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                         "--timing", "random", "--timing-scale", "0.5", "--latency-ms", "20") as other:
            config = other.admin("GET", "/_fake/config")
            self.assertEqual((config["timing"], config["timing_scale"], config["latency_ms"]), ("random", 0.5, 20))
            ec2 = client("ec2", other.url)
            self.addCleanup(ec2.close)
            nat = self.nat_gateway(ec2)
            # At least 90 s x 0.5 under the random profile.
            self.assertEqual([self.nat_state(ec2, nat) for _ in range(3)], ["pending"] * 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
