#!/usr/bin/python3
"""Checks the AWS fake's IAM, ELBv2 and Route53 (tests/fakes/awsfake/{iam,elbv2,route53})
with Debian's boto3: every action callable and every answer parseable, AWS's
error codes and HTTP statuses, pagination, boto3's waiters, and the links
between services (EC2 refuses to delete what a load balancer holds; a
Route53 alias must point at a real load balancer).

Run: /usr/bin/python3 tests/integration/test_fake_aws_edge_boto3.py
"""

import json
import os
import sys
import unittest
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

SOURCE_DIR = os.environ.get("DEPLOYBOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

REGION = "eu-west-1"
ACCESS_KEY = "AKIDFAKEFORTESTS0002"
SECRET_KEY = "fake/secret/key/for/edge/tests+0123456789"
SSM_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
FAST = {"Delay": 0.01, "MaxAttempts": 200}   # the fake completes a change once it has been seen

fake = None


def setUpModule():
    global fake
    fake = FakeProcess("fake_aws.py", "--region", REGION, "--access-key", ACCESS_KEY,
                       "--secret-key", SECRET_KEY).start()


def tearDownModule():
    fake.stop()


def client(service, region=REGION):
    # IAM and Route53 are global: clients sign them for us-east-1.
    if service in ("iam", "route53"):
        region = "us-east-1"
    return boto3.client(service, endpoint_url=fake.url, region_name=region,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


def raw(service, region, method, path, body=b"", content_type="application/x-www-form-urlencoded"):
    """A hand-signed request; returns (status, XML root)."""
    request = AWSRequest(method=method, url=fake.url + path, data=body,
                         headers={"Content-Type": content_type} if body else {})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, region).add_auth(request)
    prepared = request.prepare()
    req = urllib.request.Request(prepared.url, data=prepared.body or None, method=method,
                                 headers=dict(prepared.headers.items()))
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, ET.fromstring(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, ET.fromstring(e.read())


def local(tag):
    return tag.rsplit("}", 1)[-1]


class EdgeTest(unittest.TestCase):
    def setUp(self):
        fake.admin("POST", "/_fake/reset")
        self.ec2, self.elb, self.iam, self.r53 = (client(s) for s in ("ec2", "elbv2", "iam", "route53"))
        for c in (self.ec2, self.elb, self.iam, self.r53):
            self.addCleanup(c.close)

    def assertAwsError(self, code, fn, *args, status=None, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(*args, **kwargs)
        err = ctx.exception.response["Error"]
        self.assertEqual(err["Code"], code, err.get("Message"))
        if status is not None:
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        return err

    def network(self, igw=True):
        """VPC, two public subnets in two zones, a group; returns (vpc, [subnets], group)."""
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [self.ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                          AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
                   for i, z in enumerate("ab")]
        group = self.ec2.create_security_group(GroupName="alb", Description="alb", VpcId=vpc)["GroupId"]
        if igw:
            gw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
            self.ec2.attach_internet_gateway(InternetGatewayId=gw, VpcId=vpc)
        return vpc, subnets, group

    def alb(self, name="web", **kwargs):
        vpc, subnets, group = self.network()
        lb = self.elb.create_load_balancer(Name=name, Subnets=subnets, SecurityGroups=[group],
                                           **kwargs)["LoadBalancers"][0]
        return vpc, subnets, group, lb


class IamTest(EdgeTest):
    def test_roles(self):
        role = self.iam.create_role(RoleName="app", Path="/deploybot/stg/", AssumeRolePolicyDocument=TRUST,
                                    Description="d", Tags=[{"Key": "deploybot:stack", "Value": "stg"}])["Role"]
        self.assertEqual(role["Arn"], "arn:aws:iam::123456789012:role/deploybot/stg/app")
        self.assertTrue(role["RoleId"].startswith("AROA"))
        self.assertEqual(role["AssumeRolePolicyDocument"], json.loads(TRUST))  # URL-encoded on the wire
        self.assertAwsError("EntityAlreadyExists", self.iam.create_role, RoleName="APP",
                            AssumeRolePolicyDocument=TRUST, status=409)
        self.assertAwsError("MalformedPolicyDocument", self.iam.create_role, RoleName="x",
                            AssumeRolePolicyDocument="{not json")
        self.assertAwsError("ValidationError", self.iam.create_role, RoleName="x", Path="no-slash",
                            AssumeRolePolicyDocument=TRUST)
        self.assertAwsError("ValidationError", self.iam.create_role, RoleName="bad name!",
                            AssumeRolePolicyDocument=TRUST)
        self.assertEqual(self.iam.get_role(RoleName="app")["Role"]["Tags"],
                         [{"Key": "deploybot:stack", "Value": "stg"}])
        self.assertAwsError("NoSuchEntity", self.iam.get_role, RoleName="nope", status=404)

        self.iam.tag_role(RoleName="app", Tags=[{"Key": "deploybot:id", "Value": "iam_role.app"}])
        self.assertEqual(len(self.iam.list_role_tags(RoleName="app")["Tags"]), 2)
        self.assertAwsError("InvalidInput", self.iam.tag_role, RoleName="app", Tags=[{"Key": "aws:x", "Value": ""}])

        self.iam.attach_role_policy(RoleName="app", PolicyArn=SSM_POLICY)
        self.iam.attach_role_policy(RoleName="app", PolicyArn=SSM_POLICY)    # no-op
        self.assertEqual(self.iam.list_attached_role_policies(RoleName="app")["AttachedPolicies"],
                         [{"PolicyName": "AmazonSSMManagedInstanceCore", "PolicyArn": SSM_POLICY}])
        self.assertAwsError("NoSuchEntity", self.iam.attach_role_policy, RoleName="app",
                            PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy")
        self.assertAwsError("DeleteConflict", self.iam.delete_role, RoleName="app", status=409)
        self.iam.detach_role_policy(RoleName="app", PolicyArn=SSM_POLICY)
        self.assertAwsError("NoSuchEntity", self.iam.detach_role_policy, RoleName="app", PolicyArn=SSM_POLICY)
        self.iam.delete_role(RoleName="app")
        self.assertEqual(self.iam.list_roles()["Roles"], [])

    def test_list_roles_pages_and_paths(self):
        for i in range(7):
            self.iam.create_role(RoleName=f"r{i}", Path="/deploybot/stg/" if i % 2 else "/other/",
                                 AssumeRolePolicyDocument=TRUST, Tags=[{"Key": "k", "Value": "v"}])
        first = self.iam.list_roles(PathPrefix="/deploybot/stg/", MaxItems=2)
        self.assertTrue(first["IsTruncated"])
        self.assertNotIn("Tags", first["Roles"][0])        # List* calls never return tags
        names = [r["RoleName"] for p in self.iam.get_paginator("list_roles").paginate(
            PathPrefix="/deploybot/stg/", PaginationConfig={"PageSize": 2}) for r in p["Roles"]]
        self.assertEqual(names, ["r1", "r3", "r5"])
        self.assertEqual(len(self.iam.list_roles()["Roles"]), 7)

    def test_instance_profiles(self):
        self.iam.create_role(RoleName="app", Path="/deploybot/stg/", AssumeRolePolicyDocument=TRUST)
        profile = self.iam.create_instance_profile(InstanceProfileName="main", Path="/deploybot/stg/",
                                                   Tags=[{"Key": "k", "Value": "v"}])["InstanceProfile"]
        self.assertEqual(profile["Roles"], [])
        self.assertEqual(profile["Arn"], "arn:aws:iam::123456789012:instance-profile/deploybot/stg/main")
        self.assertAwsError("EntityAlreadyExists", self.iam.create_instance_profile, InstanceProfileName="main")
        self.iam.add_role_to_instance_profile(InstanceProfileName="main", RoleName="app")
        self.assertAwsError("LimitExceeded", self.iam.add_role_to_instance_profile,
                            InstanceProfileName="main", RoleName="app", status=409)
        got = self.iam.get_instance_profile(InstanceProfileName="main")["InstanceProfile"]
        self.assertEqual([r["RoleName"] for r in got["Roles"]], ["app"])
        listed = self.iam.list_instance_profiles(PathPrefix="/deploybot/")["InstanceProfiles"]
        self.assertEqual([p["InstanceProfileName"] for p in listed], ["main"])
        self.assertAwsError("DeleteConflict", self.iam.delete_instance_profile, InstanceProfileName="main")
        self.assertAwsError("DeleteConflict", self.iam.delete_role, RoleName="app")
        self.iam.remove_role_from_instance_profile(InstanceProfileName="main", RoleName="app")
        self.assertAwsError("NoSuchEntity", self.iam.remove_role_from_instance_profile,
                            InstanceProfileName="main", RoleName="app")
        self.iam.delete_instance_profile(InstanceProfileName="main")
        self.assertAwsError("NoSuchEntity", self.iam.get_instance_profile, InstanceProfileName="main")
        self.iam.delete_role(RoleName="app")

    def test_wire(self):
        # Query errors: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>.
        status, root = raw("iam", "us-east-1", "POST", "/", b"Action=GetRole&Version=2010-05-08&RoleName=x")
        self.assertEqual((status, local(root.tag)), (404, "ErrorResponse"))
        self.assertEqual([local(e.tag) for e in root[0]], ["Type", "Code", "Message"])
        self.assertEqual(root[0][0].text, "Sender")
        self.assertEqual(local(root[1].tag), "RequestId")
        status, root = raw("iam", "us-east-1", "POST", "/", b"Action=ListRoles&Version=2010-05-08&Bogus=1")
        self.assertEqual(root.find("{*}Error/{*}Code").text, "UnknownParameter")
        # IAM is global: a request signed for the fake's own region is refused.
        status, root = raw("iam", REGION, "POST", "/", b"Action=ListRoles&Version=2010-05-08")
        self.assertEqual(status, 401)


class LoadBalancerTest(EdgeTest):
    def test_load_balancer_lifecycle_and_waiters(self):
        vpc, subnets, group = self.network(igw=False)
        self.assertAwsError("InvalidSubnet", self.elb.create_load_balancer, Name="web", Subnets=subnets,
                            SecurityGroups=[group])         # internet-facing needs an internet gateway
        gw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=gw, VpcId=vpc)
        self.assertAwsError("InvalidConfigurationRequest", self.elb.create_load_balancer, Name="web",
                            Subnets=subnets[:1])
        self.assertAwsError("SubnetNotFound", self.elb.create_load_balancer, Name="web",
                            Subnets=[subnets[0], "subnet-0123456789abcdef0"])
        self.assertAwsError("InvalidSecurityGroup", self.elb.create_load_balancer, Name="web", Subnets=subnets,
                            SecurityGroups=["sg-0123456789abcdef0"])
        self.assertAwsError("ValidationError", self.elb.create_load_balancer, Name="-bad-", Subnets=subnets)
        lb = self.elb.create_load_balancer(Name="web", Subnets=subnets, SecurityGroups=[group],
                                           Tags=[{"Key": "deploybot:stack", "Value": "stg"}])["LoadBalancers"][0]
        arn = lb["LoadBalancerArn"]
        self.assertEqual((lb["State"]["Code"], lb["Scheme"], lb["Type"], lb["VpcId"]),
                         ("provisioning", "internet-facing", "application", vpc))
        self.assertEqual(lb["CanonicalHostedZoneId"], "Z32O12XQLNTSW2")
        self.assertTrue(lb["DNSName"].startswith("web-") and lb["DNSName"].endswith(".eu-west-1.elb.amazonaws.com"))
        # The same request again answers the same balancer; other settings under that name do not.
        self.assertEqual(self.elb.create_load_balancer(Name="web", Subnets=subnets, SecurityGroups=[group])
                         ["LoadBalancers"][0]["LoadBalancerArn"], arn)
        self.assertAwsError("DuplicateLoadBalancerName", self.elb.create_load_balancer, Name="web",
                            Subnets=subnets, Scheme="internal")

        self.elb.get_waiter("load_balancer_available").wait(LoadBalancerArns=[arn], WaiterConfig=FAST)
        self.assertEqual(self.elb.describe_load_balancers(Names=["web"])["LoadBalancers"][0]["State"]["Code"], "active")
        self.assertAwsError("LoadBalancerNotFound", self.elb.describe_load_balancers, Names=["nope"])

        other = self.ec2.create_security_group(GroupName="alb2", Description="d", VpcId=vpc)["GroupId"]
        self.assertEqual(self.elb.set_security_groups(LoadBalancerArn=arn, SecurityGroups=[group, other])
                         ["SecurityGroupIds"], [group, other])
        zones = self.elb.set_subnets(LoadBalancerArn=arn, Subnets=subnets)["AvailabilityZones"]
        self.assertEqual(sorted(z["ZoneName"] for z in zones), ["eu-west-1a", "eu-west-1b"])

        # EC2 refuses to delete what the balancer holds, until it is gone.
        self.assertAwsError("DependencyViolation", self.ec2.delete_security_group, GroupId=group)
        self.assertAwsError("DependencyViolation", self.ec2.delete_subnet, SubnetId=subnets[0])
        self.assertAwsError("DependencyViolation", self.ec2.detach_internet_gateway,
                            InternetGatewayId=gw, VpcId=vpc)
        self.elb.delete_load_balancer(LoadBalancerArn=arn)
        self.elb.delete_load_balancer(LoadBalancerArn=arn)   # deleting a deleted balancer succeeds
        self.elb.get_waiter("load_balancers_deleted").wait(LoadBalancerArns=[arn], WaiterConfig=FAST)
        self.ec2.delete_security_group(GroupId=group)
        self.ec2.delete_subnet(SubnetId=subnets[0])
        self.ec2.detach_internet_gateway(InternetGatewayId=gw, VpcId=vpc)

    def test_target_groups_listeners_and_targets(self):
        vpc, subnets, group, lb = self.alb()
        lb_arn = lb["LoadBalancerArn"]
        tg = self.elb.create_target_group(Name="app", Protocol="HTTP", Port=80, VpcId=vpc, HealthCheckPath="/apps",
                                          Matcher={"HttpCode": "200"}, TargetType="instance")["TargetGroups"][0]
        tg_arn = tg["TargetGroupArn"]
        self.assertEqual((tg["HealthCheckPath"], tg["Matcher"]["HttpCode"], tg["HealthCheckPort"],
                          tg["HealthCheckIntervalSeconds"], tg["LoadBalancerArns"]),
                         ("/apps", "200", "traffic-port", 30, []))
        self.assertAwsError("DuplicateTargetGroupName", self.elb.create_target_group, Name="app",
                            Protocol="HTTP", Port=8080, VpcId=vpc)
        self.assertAwsError("ValidationError", self.elb.create_target_group, Name="x", Protocol="HTTP", Port=80,
                            VpcId="vpc-0123456789abcdef0")
        modified = self.elb.modify_target_group(TargetGroupArn=tg_arn, HealthCheckIntervalSeconds=15,
                                                Matcher={"HttpCode": "200-299"})["TargetGroups"][0]
        self.assertEqual((modified["HealthCheckIntervalSeconds"], modified["Matcher"]["HttpCode"],
                          modified["HealthCheckPath"]), (15, "200-299", "/apps"))

        http = self.elb.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80, DefaultActions=[
            {"Type": "forward", "TargetGroupArn": tg_arn}])["Listeners"][0]
        forward = http["DefaultActions"][0]
        self.assertEqual(forward["TargetGroupArn"], tg_arn)
        self.assertEqual(forward["ForwardConfig"]["TargetGroups"], [{"TargetGroupArn": tg_arn, "Weight": 1}])
        self.assertAwsError("DuplicateListener", self.elb.create_listener, LoadBalancerArn=lb_arn,
                            Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
        self.assertAwsError("ValidationError", self.elb.create_listener, LoadBalancerArn=lb_arn, Protocol="HTTPS",
                            Port=443, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
        self.assertAwsError("CertificateNotFound", self.elb.create_listener, LoadBalancerArn=lb_arn,
                            Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": "arn:aws:acm:us-east-1:"
                                                                       "123456789012:certificate/abc"}],
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
        https = self.elb.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTPS", Port=443,
                                         Certificates=[{"CertificateArn": CERT}],
                                         SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                                         DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
                                         Tags=[{"Key": "k", "Value": "v"}])["Listeners"][0]
        self.assertEqual((https["Certificates"], https["SslPolicy"]),
                         ([{"CertificateArn": CERT}], "ELBSecurityPolicy-TLS13-1-2-2021-06"))
        redirect = self.elb.modify_listener(ListenerArn=http["ListenerArn"], DefaultActions=[
            {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                                    "StatusCode": "HTTP_301"}}])["Listeners"][0]
        self.assertEqual(redirect["DefaultActions"][0]["RedirectConfig"],
                         {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}",
                          "Query": "#{query}", "StatusCode": "HTTP_301"})
        self.assertAwsError("InvalidLoadBalancerAction", self.elb.modify_listener, ListenerArn=http["ListenerArn"],
                            DefaultActions=[{"Type": "redirect", "RedirectConfig": {"StatusCode": "HTTP_301"}}])
        listed = self.elb.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
        self.assertEqual(sorted(x["Port"] for x in listed), [80, 443])
        self.assertEqual(self.elb.describe_listeners(ListenerArns=[https["ListenerArn"]])["Listeners"][0]["Port"], 443)
        self.assertEqual(self.elb.describe_target_groups(LoadBalancerArn=lb_arn)["TargetGroups"][0]["LoadBalancerArns"],
                         [lb_arn])

        # Targets: running instances of the group's VPC.
        instance = self.ec2.run_instances(ImageId="ami-0123456789abcdef0", MinCount=1, MaxCount=1,
                                          SubnetId=subnets[0])["Instances"][0]["InstanceId"]
        self.ec2.get_waiter("instance_running").wait(InstanceIds=[instance], WaiterConfig=FAST)
        self.assertAwsError("InvalidTarget", self.elb.register_targets, TargetGroupArn=tg_arn,
                            Targets=[{"Id": "i-0123456789abcdef0"}])
        self.elb.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": instance}])
        self.elb.get_waiter("target_in_service").wait(TargetGroupArn=tg_arn, Targets=[{"Id": instance}],
                                                      WaiterConfig=FAST)
        health = self.elb.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
        self.assertEqual([(h["Target"]["Id"], h["Target"]["Port"], h["TargetHealth"]["State"]) for h in health],
                         [(instance, 80, "healthy")])
        self.elb.deregister_targets(TargetGroupArn=tg_arn, Targets=[{"Id": instance}])
        self.elb.get_waiter("target_deregistered").wait(TargetGroupArn=tg_arn, Targets=[{"Id": instance}],
                                                        WaiterConfig=FAST)
        self.assertAwsError("InvalidTarget", self.elb.deregister_targets, TargetGroupArn=tg_arn,
                            Targets=[{"Id": instance}])

        self.assertAwsError("ResourceInUse", self.elb.delete_target_group, TargetGroupArn=tg_arn)
        self.elb.delete_listener(ListenerArn=https["ListenerArn"])
        self.assertAwsError("ListenerNotFound", self.elb.delete_listener, ListenerArn=https["ListenerArn"])
        self.elb.modify_listener(ListenerArn=http["ListenerArn"], DefaultActions=[
            {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])
        self.elb.delete_target_group(TargetGroupArn=tg_arn)
        self.assertAwsError("TargetGroupNotFound", self.elb.describe_target_groups, TargetGroupArns=[tg_arn])

    def test_tags_and_pages(self):
        vpc, subnets, group = self.network()
        arns = [self.elb.create_load_balancer(Name=f"lb{i}", Subnets=subnets, SecurityGroups=[group])
                ["LoadBalancers"][0]["LoadBalancerArn"] for i in range(5)]
        pages = list(self.elb.get_paginator("describe_load_balancers").paginate(PaginationConfig={"PageSize": 2}))
        self.assertEqual([len(p["LoadBalancers"]) for p in pages], [2, 2, 1])
        self.assertEqual([lb["LoadBalancerArn"] for p in pages for lb in p["LoadBalancers"]], arns)
        tg = self.elb.create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
        self.elb.add_tags(ResourceArns=[arns[0], tg["TargetGroupArn"]],
                          Tags=[{"Key": "deploybot:stack", "Value": "stg"}, {"Key": "x", "Value": "1"}])
        self.elb.remove_tags(ResourceArns=[arns[0]], TagKeys=["x"])
        described = self.elb.describe_tags(ResourceArns=[arns[0], arns[1], tg["TargetGroupArn"]])["TagDescriptions"]
        self.assertEqual([d["Tags"] for d in described],
                         [[{"Key": "deploybot:stack", "Value": "stg"}], [],
                          [{"Key": "deploybot:stack", "Value": "stg"}, {"Key": "x", "Value": "1"}]])
        self.assertAwsError("DuplicateTagKeys", self.elb.add_tags, ResourceArns=[arns[0]],
                            Tags=[{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}])
        self.assertAwsError("LoadBalancerNotFound", self.elb.describe_tags,
                            ResourceArns=[arns[0].replace(arns[0][-16:], "0" * 16)])
        self.assertAwsError("ValidationError", self.elb.describe_tags, ResourceArns=arns * 5)
        status, root = raw("elasticloadbalancing", REGION, "POST", "/",
                           b"Action=DescribeLoadBalancers&Version=2015-12-01&PageSize=0")
        self.assertEqual((status, root.find("{*}Error/{*}Code").text), (400, "ValidationError"))


class Route53Test(EdgeTest):
    def zone(self, name="example.com"):
        return self.r53.create_hosted_zone(Name=name, CallerReference=name)["HostedZone"]["Id"]

    def test_zones_and_changes(self):
        created = self.r53.create_hosted_zone(Name="example.com", CallerReference="ref-1",
                                              HostedZoneConfig={"Comment": "test"})
        self.assertEqual(created["ResponseMetadata"]["HTTPStatusCode"], 201)
        zone_id = created["HostedZone"]["Id"]
        self.assertTrue(zone_id.startswith("/hostedzone/Z"))
        self.assertTrue(created["ResponseMetadata"]["HTTPHeaders"]["location"].endswith(zone_id))
        self.assertEqual(created["HostedZone"]["Name"], "example.com.")
        self.assertEqual(len(created["DelegationSet"]["NameServers"]), 4)
        self.assertAwsError("HostedZoneAlreadyExists", self.r53.create_hosted_zone, Name="example.org",
                            CallerReference="ref-1", status=409)
        got = self.r53.get_hosted_zone(Id=zone_id)
        self.assertEqual(got["HostedZone"]["ResourceRecordSetCount"], 2)      # SOA and NS
        self.assertAwsError("NoSuchHostedZone", self.r53.get_hosted_zone, Id="Z0000000000000000000", status=404)
        for i in range(3):
            self.zone(f"z{i}.example.net")
        pages = list(self.r53.get_paginator("list_hosted_zones").paginate(PaginationConfig={"PageSize": 3}))
        self.assertEqual([len(p["HostedZones"]) for p in pages], [3, 1])

        change = self.r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Comment": "c", "Changes": [
            {"Action": "CREATE", "ResourceRecordSet": {"Name": "www.example.com", "Type": "A", "TTL": 60,
                                                       "ResourceRecords": [{"Value": "192.0.2.1"}]}},
            {"Action": "UPSERT", "ResourceRecordSet": {"Name": "*.example.com", "Type": "TXT", "TTL": 60,
                                                       "ResourceRecords": [{"Value": '"hello"'}]}}]})["ChangeInfo"]
        self.assertEqual(change["Status"], "PENDING")
        self.r53.get_waiter("resource_record_sets_changed").wait(Id=change["Id"], WaiterConfig=FAST)
        self.assertEqual(self.r53.get_change(Id=change["Id"])["ChangeInfo"]["Status"], "INSYNC")
        self.assertAwsError("NoSuchChange", self.r53.get_change, Id="C0000000000000000000", status=404)
        sets = self.r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        self.assertEqual([(s["Name"], s["Type"]) for s in sets],
                         [("example.com.", "NS"), ("example.com.", "SOA"), ("\\052.example.com.", "TXT"),
                          ("www.example.com.", "A")])
        one = self.r53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName="www.example.com",
                                                 StartRecordType="A", MaxItems="1")
        self.assertEqual((one["ResourceRecordSets"][0]["Name"], one["IsTruncated"]), ("www.example.com.", False))
        names = [s["Name"] for p in self.r53.get_paginator("list_resource_record_sets").paginate(
            HostedZoneId=zone_id, PaginationConfig={"PageSize": 1}) for s in p["ResourceRecordSets"]]
        self.assertEqual(len(names), 4)

        err = self.assertAwsError("InvalidChangeBatch", self.r53.change_resource_record_sets, HostedZoneId=zone_id,
                                  ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": {
                                      "Name": "gone.example.com", "Type": "A", "TTL": 60,
                                      "ResourceRecords": [{"Value": "192.0.2.9"}]}}]}, status=400)
        self.assertEqual(err["Message"], "[Tried to delete resource record set [name='gone.example.com.', "
                                         "type='A'] but it was not found]")
        self.assertAwsError("InvalidChangeBatch", self.r53.change_resource_record_sets, HostedZoneId=zone_id,
                            ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
                                "Name": "www.example.com", "Type": "A", "TTL": 60,
                                "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
        self.assertAwsError("InvalidChangeBatch", self.r53.change_resource_record_sets, HostedZoneId=zone_id,
                            ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                                "Name": "www.example.org", "Type": "A", "TTL": 60,
                                "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
        self.assertAwsError("InvalidInput", self.r53.change_resource_record_sets, HostedZoneId=zone_id,
                            ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                                "Name": "a.example.com", "Type": "A"}}]})
        # A batch is all or nothing.
        self.assertAwsError("InvalidChangeBatch", self.r53.change_resource_record_sets, HostedZoneId=zone_id,
                            ChangeBatch={"Changes": [
                                {"Action": "DELETE", "ResourceRecordSet": {"Name": "www.example.com", "Type": "A",
                                                                           "TTL": 60, "ResourceRecords": [
                                                                               {"Value": "192.0.2.1"}]}},
                                {"Action": "DELETE", "ResourceRecordSet": {"Name": "gone.example.com", "Type": "A",
                                                                           "TTL": 60, "ResourceRecords": [
                                                                               {"Value": "192.0.2.1"}]}}]})
        self.assertEqual(len(self.r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]), 4)

    def test_alias_to_load_balancer(self):
        zone_id = self.zone()
        _, _, _, lb = self.alb()

        def alias(dns, action="UPSERT"):
            return self.r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
                {"Action": action, "ResourceRecordSet": {"Name": "dify.example.com", "Type": "A", "AliasTarget": {
                    "HostedZoneId": lb["CanonicalHostedZoneId"], "DNSName": dns, "EvaluateTargetHealth": False}}}]})
        self.assertAwsError("InvalidChangeBatch", alias, "nope-1.eu-west-1.elb.amazonaws.com")
        alias(lb["DNSName"].upper())
        got = self.r53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName="dify.example.com",
                                                 StartRecordType="A", MaxItems="1")["ResourceRecordSets"][0]
        self.assertEqual(got["AliasTarget"], {"HostedZoneId": "Z32O12XQLNTSW2", "DNSName": lb["DNSName"] + ".",
                                              "EvaluateTargetHealth": False})
        alias(lb["DNSName"], "DELETE")

    def test_wire(self):
        zone_id = self.zone().rsplit("/", 1)[-1]
        status, root = raw("route53", "us-east-1", "GET", "/2013-04-01/hostedzone/Z0000000000000000000")
        self.assertEqual((status, local(root.tag)), (404, "ErrorResponse"))
        self.assertEqual(root.find("{*}Error/{*}Code").text, "NoSuchHostedZone")
        self.assertEqual(root.tag, "{https://route53.amazonaws.com/doc/2013-04-01/}ErrorResponse")
        body = ('<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest '
                'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change>'
                '<Action>UPSERT</Action><ResourceRecordSet><Name>x.example.com</Name><Type>A</Type><TTL>60</TTL>'
                '<ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords>'
                '</ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>').encode()
        status, root = raw("route53", "us-east-1", "POST", f"/2013-04-01/hostedzone/{zone_id}/rrset", body,
                           "application/xml")      # no trailing slash: Route53 takes both
        self.assertEqual((status, local(root.tag)), (200, "ChangeResourceRecordSetsResponse"))
        status, root = raw("route53", "us-east-1", "POST", f"/2013-04-01/hostedzone/{zone_id}/rrset/",
                           body.replace(b"<TTL>", b"<Bogus>1</Bogus><TTL>"), "application/xml")
        self.assertEqual((status, root.find("{*}Error/{*}Code").text), (400, "InvalidInput"))


class AdminTest(EdgeTest):
    def test_state_and_calls(self):
        self.iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)
        self.r53.create_hosted_zone(Name="example.com", CallerReference="r")
        calls = fake.admin("GET", "/_fake/calls")
        self.assertEqual((calls["CreateRole"], calls["CreateHostedZone"]), (1, 1))
        state = fake.admin("GET", "/_fake/state")
        self.assertEqual([r["RoleName"] for r in state["iam"]["role"]], ["app"])
        self.assertEqual(state["route53"]["hosted-zone"][0]["Name"], "example.com.")
        self.assertEqual(state["elasticloadbalancing"], {"load-balancer": [], "target-group": [], "listener": []})
        fake.admin("POST", "/_fake/faults", {"action": "ListRoles", "service": "iam", "error": "Throttling",
                                             "status": 400})
        self.assertAwsError("Throttling", self.iam.list_roles)
        self.iam.list_roles()


if __name__ == "__main__":
    unittest.main(verbosity=2)
