#!/usr/bin/python3
"""Checks, with Debian's boto3, the AWS rules deploybot's engine relies on
to plan in place instead of replacing (issue 12), as the fake answers them:
an EBS volume never shrinks; RunInstances launches the launch template
version it names (a number, $Latest, $Default); a target group's health
check has AWS's defaults and is modified in place with AWS's checks; a
listener's default action changes from redirect to forward in place; a
Route53 rename is one atomic batch; a hosted zone is found with its name.

Run: /usr/bin/python3 tests/integration/test_fake_aws_rules_boto3.py
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
ACCESS_KEY = "AKIDFAKEFORTESTS0008"
SECRET_KEY = "fake/secret/key/for/rules/tests+0123456789"
AMI = "ami-0123456789abcdef0"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
FAST = {"Delay": 0.01, "MaxAttempts": 10}

fake = None


def setUpModule():
    global fake
    fake = FakeProcess("fake_aws.py", "--region", REGION, "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                       "--transition-ms", "600000").start()


def tearDownModule():
    fake.stop()


def client(service):
    return boto3.client(service, endpoint_url=fake.url, region_name="us-east-1" if service == "route53" else REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


def tags_of(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


class RulesTest(unittest.TestCase):
    def setUp(self):
        fake.admin("POST", "/_fake/reset")
        self.ec2, self.elb, self.r53 = client("ec2"), client("elbv2"), client("route53")
        for c in (self.ec2, self.elb, self.r53):
            self.addCleanup(c.close)
        self.vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.subnets = [self.ec2.create_subnet(VpcId=self.vpc, CidrBlock=f"10.0.{i}.0/24",
                                               AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
                        for i, z in enumerate("ab")]

    def assertAwsError(self, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(*args, **kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code,
                         ctx.exception.response["Error"].get("Message"))
        return ctx.exception.response["Error"]["Message"]

    def test_volume_never_shrinks(self):
        vid = self.ec2.create_volume(AvailabilityZone="eu-west-1a", Size=50, VolumeType="gp3")["VolumeId"]
        self.ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=FAST)
        self.assertEqual(self.assertAwsError("InvalidParameterValue", self.ec2.modify_volume, VolumeId=vid, Size=40),
                         "New size cannot be smaller than existing size")
        self.assertEqual(self.ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Size"], 50)
        self.assertEqual(self.ec2.modify_volume(VolumeId=vid, Size=60)["VolumeModification"]["TargetSize"], 60)

    def test_run_instances_from_the_version_named(self):
        lt = self.ec2.create_launch_template(LaunchTemplateName="app", LaunchTemplateData={
            "ImageId": AMI, "InstanceType": "t3.small"})["LaunchTemplate"]["LaunchTemplateId"]
        for size in ("t3.medium", "t3.large"):
            self.ec2.create_launch_template_version(LaunchTemplateId=lt, SourceVersion="1",
                                                    LaunchTemplateData={"InstanceType": size})
        self.ec2.modify_launch_template(LaunchTemplateId=lt, DefaultVersion="2")

        def launch(version):
            spec = {"LaunchTemplateId": lt}
            if version is not None:
                spec["Version"] = version
            i = self.ec2.run_instances(MinCount=1, MaxCount=1, SubnetId=self.subnets[0],
                                       LaunchTemplate=spec)["Instances"][0]
            return i["InstanceType"], tags_of(i)["aws:ec2launchtemplate:version"]
        self.assertEqual(launch("1"), ("t3.small", "1"))
        self.assertEqual(launch("3"), ("t3.large", "3"))
        self.assertEqual(launch("$Latest"), ("t3.large", "3"))
        self.assertEqual(launch("$Default"), ("t3.medium", "2"))
        self.assertEqual(launch(None), ("t3.medium", "2"))
        self.assertAwsError("InvalidLaunchTemplateId.VersionNotFound", launch, "4")

    def test_target_group_health_check(self):
        tg = self.elb.create_target_group(Name="plain", Protocol="HTTP", Port=80, VpcId=self.vpc)["TargetGroups"][0]
        health = ("HealthyThresholdCount", "UnhealthyThresholdCount", "HealthCheckTimeoutSeconds",
                  "HealthCheckIntervalSeconds", "HealthCheckPath")

        def of(group):
            return tuple(group[k] for k in health) + (group["Matcher"]["HttpCode"],)
        self.assertEqual(of(tg), (5, 2, 5, 30, "/", "200"))       # AWS's defaults for HTTP
        seed = dict(HealthyThresholdCount=2, UnhealthyThresholdCount=5, HealthCheckTimeoutSeconds=20,
                    HealthCheckIntervalSeconds=30, HealthCheckPath="/apps", Matcher={"HttpCode": "200"})
        prd = self.elb.create_target_group(Name="prd", Protocol="HTTP", Port=80, VpcId=self.vpc,
                                           **seed)["TargetGroups"][0]
        self.assertEqual(of(prd), (2, 5, 20, 30, "/apps", "200"))
        self.assertEqual(self.assertAwsError("ValidationError", self.elb.create_target_group, Name="bad",
                                             Protocol="HTTP", Port=80, VpcId=self.vpc, HealthCheckTimeoutSeconds=30,
                                             HealthCheckIntervalSeconds=30),
                         "Health check interval must be greater than the timeout.")
        self.assertAwsError("ValidationError", self.elb.create_target_group, Name="bad", Protocol="HTTP", Port=80,
                            VpcId=self.vpc, HealthCheckIntervalSeconds=5)     # the default timeout is 5 too

        # Out-of-band drift, then the repair: every member in place, the ARN unchanged.
        arn = prd["TargetGroupArn"]
        drifted = self.elb.modify_target_group(TargetGroupArn=arn, HealthyThresholdCount=5, UnhealthyThresholdCount=2,
                                               HealthCheckTimeoutSeconds=5, HealthCheckIntervalSeconds=10,
                                               HealthCheckPath="/", Matcher={"HttpCode": "200-299"})
        self.assertEqual(of(drifted["TargetGroups"][0]), (5, 2, 5, 10, "/", "200-299"))
        self.assertAwsError("ValidationError", self.elb.modify_target_group, TargetGroupArn=arn,
                            HealthCheckTimeoutSeconds=10)          # not under the interval (10)
        self.assertAwsError("ValidationError", self.elb.modify_target_group, TargetGroupArn=arn,
                            Matcher={"HttpCode": "600"})
        repaired = self.elb.modify_target_group(TargetGroupArn=arn, **seed)["TargetGroups"][0]
        self.assertEqual((repaired["TargetGroupArn"], of(repaired)), (arn, (2, 5, 20, 30, "/apps", "200")))
        self.assertEqual(of(self.elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]),
                         (2, 5, 20, 30, "/apps", "200"))

    def test_listener_redirect_to_forward_in_place(self):
        gw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=gw, VpcId=self.vpc)
        lb = self.elb.create_load_balancer(Name="web", Subnets=self.subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        tg = self.elb.create_target_group(Name="app", Protocol="HTTP", Port=80,
                                          VpcId=self.vpc)["TargetGroups"][0]["TargetGroupArn"]
        https = self.elb.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=443,
                                         Certificates=[{"CertificateArn": CERT}],
                                         DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        http = self.elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[{
            "Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}])
        http_arn = http["Listeners"][0]["ListenerArn"]
        # The certificate goes: HTTPS listener deleted, HTTP forwards instead of redirecting.
        self.elb.delete_listener(ListenerArn=https["Listeners"][0]["ListenerArn"])
        modified = self.elb.modify_listener(ListenerArn=http_arn, DefaultActions=[
            {"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]
        self.assertEqual((modified["ListenerArn"], modified["Port"], modified["DefaultActions"][0]["Type"],
                          modified["DefaultActions"][0]["TargetGroupArn"]), (http_arn, 80, "forward", tg))
        listeners = self.elb.describe_listeners(LoadBalancerArn=lb)["Listeners"]
        self.assertEqual([(x["ListenerArn"], x["DefaultActions"][0]["Type"]) for x in listeners],
                         [(http_arn, "forward")])
        self.assertEqual(self.elb.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]["LoadBalancerArns"],
                         [lb])

    def test_route53_rename_in_one_batch_and_zone_lookup(self):
        zone = self.r53.create_hosted_zone(Name="example.com", CallerReference="r1")["HostedZone"]
        zone_id = zone["Id"].rsplit("/", 1)[-1]
        self.assertEqual(self.r53.get_hosted_zone(Id=zone_id)["HostedZone"]["Name"], "example.com.")
        self.assertEqual([z["Name"] for z in self.r53.list_hosted_zones()["HostedZones"]], ["example.com."])
        self.assertAwsError("NoSuchHostedZone", self.r53.get_hosted_zone, Id="Z0123456789NOPE")

        def record(name, value="10.0.0.1"):
            return {"Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": value}]}

        def names():
            return sorted(r["Name"] for r in self.r53.list_resource_record_sets(HostedZoneId=zone_id)
                          ["ResourceRecordSets"] if r["Type"] == "A")
        self.r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": record("old.example.com")}]})
        self.r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": record("new.example.com")},
            {"Action": "DELETE", "ResourceRecordSet": record("old.example.com")}]})
        self.assertEqual(names(), ["new.example.com."])
        # All or nothing: a failing DELETE leaves the CREATE before it undone.
        for bad in (record("new.example.com", "10.9.9.9"), record("gone.example.com")):
            self.assertAwsError("InvalidChangeBatch", self.r53.change_resource_record_sets, HostedZoneId=zone_id,
                                ChangeBatch={"Changes": [
                                    {"Action": "CREATE", "ResourceRecordSet": record("other.example.com")},
                                    {"Action": "DELETE", "ResourceRecordSet": bad}]})
            self.assertEqual(names(), ["new.example.com."])
        self.assertAwsError("InvalidChangeBatch", self.r53.change_resource_record_sets, HostedZoneId=zone_id,
                            ChangeBatch={"Changes": [{"Action": "CREATE",
                                                      "ResourceRecordSet": record("www.example.org")}]})


if __name__ == "__main__":
    unittest.main(verbosity=2)
