#!/usr/bin/python3
"""Checks the AWS fake (tests/fakes/fake_aws.py) with Debian's boto3.

boto3 is the reference client: if it can call every action the fake
supports and parse every answer (ids, tags, filters, pagination, error codes),
the fake speaks the EC2 wire protocol well enough for deploybot's own client
to be tested against it. A few checks send hand-signed raw requests for what
boto3 refuses to send (unknown parameters, out-of-range values).

Run: /usr/bin/python3 tests/integration/test_fake_aws_boto3.py
"""

import os
import sys
import threading
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
ACCESS_KEY = "AKIDFAKEFORTESTS0001"
SECRET_KEY = "fake/secret/key/for/tests/only+0123456789"
NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"

fake = None


def setUpModule():
    global fake
    fake = FakeProcess("fake_aws.py", "--region", REGION,
                       "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY).start()


def tearDownModule():
    fake.stop()


def ec2_client(secret=SECRET_KEY, access=ACCESS_KEY, region=REGION, token=None):
    # No retries: a test sees each error once, and fault tests count calls exactly.
    return boto3.client("ec2", endpoint_url=fake.url, region_name=region,
                        aws_access_key_id=access, aws_secret_access_key=secret,
                        aws_session_token=token,
                        config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


def raw_call(params, method="POST", sign=True, region=REGION):
    """Send a hand-built EC2 Query request signed with botocore's SigV4 signer;
    returns (HTTP status, parsed XML root)."""
    body = "&".join(f"{k}={v}" for k, v in params.items())
    if method == "GET":
        request = AWSRequest(method="GET", url=f"{fake.url}/?{body}")
    else:
        request = AWSRequest(method="POST", url=f"{fake.url}/", data=body.encode(),
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    if sign:
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "ec2", region).add_auth(request)
    prepared = request.prepare()
    req = urllib.request.Request(prepared.url, data=prepared.body, method=method,
                                 headers=dict(prepared.headers.items()))
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, ET.fromstring(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, ET.fromstring(e.read())


def error_code(root):
    return root.find("Errors/Error/Code").text


def tag(key, value):
    return {"Key": key, "Value": value}


def tag_spec(resource_type, **tags):
    return [{"ResourceType": resource_type, "Tags": [tag(k, v) for k, v in tags.items()]}]


def tags_of(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


class FakeAwsTest(unittest.TestCase):
    def setUp(self):
        fake.admin("POST", "/_fake/reset")
        self.ec2 = ec2_client()
        self.addCleanup(self.ec2.close)

    def client(self, **kwargs):
        c = ec2_client(**kwargs)
        self.addCleanup(c.close)
        return c

    def assertAwsError(self, code, fn, *args, status=None, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(*args, **kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code,
                         ctx.exception.response["Error"].get("Message"))
        if status is not None:
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        return ctx.exception.response["Error"]

    def make_vpc(self, cidr="10.0.0.0/16", **tags):
        spec = tag_spec("vpc", **tags) if tags else []
        return self.ec2.create_vpc(CidrBlock=cidr, TagSpecifications=spec)["Vpc"]["VpcId"]


class VpcTest(FakeAwsTest):
    def test_create_describe_delete(self):
        created = self.ec2.create_vpc(CidrBlock="10.0.0.0/16",
                                      TagSpecifications=tag_spec("vpc", **{"deploybot:stack": "dev",
                                                                           "Name": "dify-dev"}))
        vpc = created["Vpc"]
        self.assertRegex(vpc["VpcId"], r"^vpc-[0-9a-f]{17}$")
        self.assertEqual(vpc["State"], "pending")
        self.assertEqual(vpc["CidrBlock"], "10.0.0.0/16")
        self.assertEqual(vpc["CidrBlockAssociationSet"][0]["CidrBlockState"]["State"], "associated")
        self.assertEqual(tags_of(vpc), {"deploybot:stack": "dev", "Name": "dify-dev"})
        self.assertFalse(vpc["IsDefault"])
        self.assertRegex(created["ResponseMetadata"]["RequestId"], r"^[0-9a-f-]{36}$")

        other = self.make_vpc("10.1.0.0/16")
        described = self.ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])["Vpcs"]
        self.assertEqual([v["VpcId"] for v in described], [vpc["VpcId"]])
        self.assertEqual(described[0]["State"], "available")
        for filters in ([{"Name": "tag:deploybot:stack", "Values": ["dev"]}],
                        [{"Name": "tag-key", "Values": ["Name"]}],
                        [{"Name": "tag:Name", "Values": ["dify-*"]}],
                        [{"Name": "cidr", "Values": ["10.0.0.0/16"]}],
                        [{"Name": "vpc-id", "Values": [vpc["VpcId"], "vpc-0000000000000000f"]},
                         {"Name": "state", "Values": ["available"]}]):
            found = self.ec2.describe_vpcs(Filters=filters)["Vpcs"]
            self.assertEqual([v["VpcId"] for v in found], [vpc["VpcId"]], filters)
        self.assertEqual(len(self.ec2.describe_vpcs()["Vpcs"]), 2)
        self.assertNotIn("Tags", self.ec2.describe_vpcs(VpcIds=[other])["Vpcs"][0])

        # The VPC comes with its main route table and default security group ...
        tables = self.ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"]
        self.assertEqual(len(tables), 1)
        self.assertTrue(tables[0]["Associations"][0]["Main"])
        self.assertEqual(tables[0]["Routes"], [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local",
                                                "Origin": "CreateRouteTable", "State": "active"}])
        groups = self.ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]
        self.assertEqual([g["GroupName"] for g in groups], ["default"])

        # ... which go away with it.
        self.ec2.delete_vpc(VpcId=vpc["VpcId"])
        self.assertAwsError("InvalidVpcID.NotFound", self.ec2.describe_vpcs, VpcIds=[vpc["VpcId"]])
        self.assertEqual(self.ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"], [])
        self.assertEqual(self.ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"], [])
        self.assertAwsError("InvalidVpcID.NotFound", self.ec2.delete_vpc, VpcId=vpc["VpcId"])

    def test_validation_errors(self):
        self.assertAwsError("InvalidVpc.Range", self.ec2.create_vpc, CidrBlock="10.0.0.0/8")
        self.assertAwsError("InvalidParameterValue", self.ec2.create_vpc, CidrBlock="10.0.0/16")
        self.assertAwsError("InvalidParameterValue", self.ec2.create_vpc, CidrBlock="10.0.0.1/16")
        self.assertAwsError("InvalidVpcID.Malformed", self.ec2.describe_vpcs, VpcIds=["nope"])
        err = self.assertAwsError("InvalidVpcID.NotFound", self.ec2.describe_vpcs,
                                  VpcIds=["vpc-0123456789abcdef0"], status=400)
        self.assertIn("vpc-0123456789abcdef0", err["Message"])
        self.assertAwsError("InvalidParameterValue", self.ec2.describe_vpcs,
                            Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
        self.assertAwsError("InvalidParameterValue", self.ec2.create_vpc, CidrBlock="10.0.0.0/16",
                            TagSpecifications=tag_spec("subnet", Name="x"))
        self.assertAwsError("DryRunOperation", self.ec2.create_vpc, CidrBlock="10.0.0.0/16",
                            DryRun=True, status=412)
        self.assertEqual(self.ec2.describe_vpcs()["Vpcs"], [])

    def test_attributes(self):
        vpc_id = self.make_vpc()
        support = self.ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
        self.assertEqual(support["VpcId"], vpc_id)
        self.assertTrue(support["EnableDnsSupport"]["Value"])
        hostnames = self.ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")
        self.assertFalse(hostnames["EnableDnsHostnames"]["Value"])
        self.ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
        hostnames = self.ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")
        self.assertTrue(hostnames["EnableDnsHostnames"]["Value"])
        self.assertAwsError("InvalidParameterCombination", self.ec2.modify_vpc_attribute, VpcId=vpc_id,
                            EnableDnsHostnames={"Value": True}, EnableDnsSupport={"Value": True})
        self.assertAwsError("InvalidVpcID.NotFound", self.ec2.modify_vpc_attribute,
                            VpcId="vpc-0123456789abcdef0", EnableDnsSupport={"Value": True})

    def test_waiter(self):
        vpc_id = self.make_vpc()
        self.ec2.get_waiter("vpc_available").wait(VpcIds=[vpc_id], WaiterConfig={"Delay": 1})
        self.ec2.get_waiter("vpc_exists").wait(VpcIds=[vpc_id], WaiterConfig={"Delay": 1})


class SubnetTest(FakeAwsTest):
    def test_lifecycle(self):
        vpc_id = self.make_vpc()
        a = self.ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24", AvailabilityZone="eu-west-1a",
                                   TagSpecifications=tag_spec("subnet", Tier="private"))["Subnet"]
        self.assertRegex(a["SubnetId"], r"^subnet-[0-9a-f]{17}$")
        self.assertEqual(a["AvailabilityZone"], "eu-west-1a")
        self.assertEqual(a["AvailabilityZoneId"], "euw1-az1")
        self.assertEqual(a["AvailableIpAddressCount"], 251)
        self.assertEqual(a["VpcId"], vpc_id)
        self.assertFalse(a["MapPublicIpOnLaunch"])
        self.assertEqual(a["SubnetArn"], f"arn:aws:ec2:eu-west-1:123456789012:subnet/{a['SubnetId']}")
        self.assertEqual(tags_of(a), {"Tier": "private"})
        b = self.ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24",
                                   AvailabilityZoneId="euw1-az2")["Subnet"]
        self.assertEqual(b["AvailabilityZone"], "eu-west-1b")

        self.ec2.modify_subnet_attribute(SubnetId=b["SubnetId"], MapPublicIpOnLaunch={"Value": True})
        described = self.ec2.describe_subnets(SubnetIds=[b["SubnetId"]])["Subnets"][0]
        self.assertTrue(described["MapPublicIpOnLaunch"])
        by_filter = lambda *f: [s["SubnetId"] for s in self.ec2.describe_subnets(Filters=list(f))["Subnets"]]
        self.assertEqual(by_filter({"Name": "vpc-id", "Values": [vpc_id]}), [a["SubnetId"], b["SubnetId"]])
        self.assertEqual(by_filter({"Name": "availability-zone", "Values": ["eu-west-1b"]}), [b["SubnetId"]])
        self.assertEqual(by_filter({"Name": "tag:Tier", "Values": ["private"]}), [a["SubnetId"]])
        self.assertEqual(by_filter({"Name": "map-public-ip-on-launch", "Values": ["true"]}), [b["SubnetId"]])
        self.assertEqual(by_filter({"Name": "cidr-block", "Values": ["10.0.0.0/24"]}), [a["SubnetId"]])

        self.assertAwsError("InvalidSubnet.Conflict", self.ec2.create_subnet,
                            VpcId=vpc_id, CidrBlock="10.0.0.128/25")
        self.assertAwsError("InvalidSubnet.Range", self.ec2.create_subnet,
                            VpcId=vpc_id, CidrBlock="10.1.0.0/24")
        self.assertAwsError("InvalidSubnet.Range", self.ec2.create_subnet,
                            VpcId=vpc_id, CidrBlock="10.0.8.0/29")
        self.assertAwsError("InvalidParameterValue", self.ec2.create_subnet, VpcId=vpc_id,
                            CidrBlock="10.0.9.0/24", AvailabilityZone="us-east-1a")
        self.assertAwsError("InvalidVpcID.NotFound", self.ec2.create_subnet,
                            VpcId="vpc-0123456789abcdef0", CidrBlock="10.0.9.0/24")
        self.assertAwsError("DependencyViolation", self.ec2.delete_vpc, VpcId=vpc_id)

        self.ec2.delete_subnet(SubnetId=a["SubnetId"])
        self.ec2.delete_subnet(SubnetId=b["SubnetId"])
        self.assertAwsError("InvalidSubnetID.NotFound", self.ec2.delete_subnet, SubnetId=a["SubnetId"])
        self.ec2.delete_vpc(VpcId=vpc_id)


class InternetGatewayTest(FakeAwsTest):
    def test_lifecycle(self):
        vpc_id, other_vpc = self.make_vpc(), self.make_vpc("10.1.0.0/16")
        igw = self.ec2.create_internet_gateway(
            TagSpecifications=tag_spec("internet-gateway", Name="igw"))["InternetGateway"]
        igw_id = igw["InternetGatewayId"]
        self.assertRegex(igw_id, r"^igw-[0-9a-f]{17}$")
        self.assertEqual(igw["Attachments"], [])
        self.assertEqual(tags_of(igw), {"Name": "igw"})

        self.ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
        found = self.ec2.describe_internet_gateways(
            Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]
        self.assertEqual([g["InternetGatewayId"] for g in found], [igw_id])
        self.assertEqual(found[0]["Attachments"], [{"State": "available", "VpcId": vpc_id}])
        self.assertAwsError("Resource.AlreadyAssociated", self.ec2.attach_internet_gateway,
                            InternetGatewayId=igw_id, VpcId=other_vpc)
        second = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.assertAwsError("Resource.AlreadyAssociated", self.ec2.attach_internet_gateway,
                            InternetGatewayId=second, VpcId=vpc_id)
        self.assertAwsError("DependencyViolation", self.ec2.delete_vpc, VpcId=vpc_id)
        self.assertAwsError("DependencyViolation", self.ec2.delete_internet_gateway,
                            InternetGatewayId=igw_id)

        self.ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
        self.assertAwsError("Gateway.NotAttached", self.ec2.detach_internet_gateway,
                            InternetGatewayId=igw_id, VpcId=vpc_id)
        self.assertEqual(self.ec2.describe_internet_gateways(
            InternetGatewayIds=[igw_id])["InternetGateways"][0]["Attachments"], [])
        self.ec2.delete_internet_gateway(InternetGatewayId=igw_id)
        self.assertAwsError("InvalidInternetGatewayID.NotFound", self.ec2.describe_internet_gateways,
                            InternetGatewayIds=[igw_id])
        self.ec2.delete_vpc(VpcId=vpc_id)


class RouteTableTest(FakeAwsTest):
    def test_routes_and_associations(self):
        vpc_id = self.make_vpc()
        subnet_id = self.ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
        igw_id = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        table = self.ec2.create_route_table(
            VpcId=vpc_id, TagSpecifications=tag_spec("route-table", Name="public"))["RouteTable"]
        rtb_id = table["RouteTableId"]
        self.assertRegex(rtb_id, r"^rtb-[0-9a-f]{17}$")
        self.assertEqual(table["Associations"], [])
        self.assertEqual([r["GatewayId"] for r in table["Routes"]], ["local"])

        # A route to a gateway of another network is refused until it is attached.
        self.assertAwsError("InvalidParameterValue", self.ec2.create_route, RouteTableId=rtb_id,
                            DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
        self.ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
        self.assertTrue(self.ec2.create_route(RouteTableId=rtb_id, DestinationCidrBlock="0.0.0.0/0",
                                              GatewayId=igw_id)["Return"])
        self.assertAwsError("RouteAlreadyExists", self.ec2.create_route, RouteTableId=rtb_id,
                            DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
        self.assertAwsError("InvalidNatGatewayID.NotFound", self.ec2.create_route, RouteTableId=rtb_id,
                            DestinationCidrBlock="192.168.0.0/16", NatGatewayId="nat-0123456789abcdef0")
        self.assertAwsError("InvalidGatewayID.NotFound", self.ec2.create_route, RouteTableId=rtb_id,
                            DestinationCidrBlock="192.168.0.0/16", GatewayId="igw-0123456789abcdef0")
        self.ec2.replace_route(RouteTableId=rtb_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
        self.assertAwsError("InvalidParameterValue", self.ec2.replace_route, RouteTableId=rtb_id,
                            DestinationCidrBlock="172.16.0.0/12", GatewayId=igw_id)
        routes = self.ec2.describe_route_tables(RouteTableIds=[rtb_id])["RouteTables"][0]["Routes"]
        self.assertIn({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw_id,
                       "Origin": "CreateRoute", "State": "active"}, routes)
        found = self.ec2.describe_route_tables(
            Filters=[{"Name": "route.gateway-id", "Values": [igw_id]}])["RouteTables"]
        self.assertEqual([t["RouteTableId"] for t in found], [rtb_id])

        association = self.ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=subnet_id)
        self.assertRegex(association["AssociationId"], r"^rtbassoc-[0-9a-f]{17}$")
        self.assertEqual(association["AssociationState"]["State"], "associated")
        self.assertAwsError("Resource.AlreadyAssociated", self.ec2.associate_route_table,
                            RouteTableId=rtb_id, SubnetId=subnet_id)
        found = self.ec2.describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])["RouteTables"]
        self.assertEqual([t["RouteTableId"] for t in found], [rtb_id])
        self.assertAwsError("DependencyViolation", self.ec2.delete_route_table, RouteTableId=rtb_id)

        main = self.ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                       {"Name": "association.main", "Values": ["true"]}])
        main_assoc = main["RouteTables"][0]["Associations"][0]["RouteTableAssociationId"]
        self.assertAwsError("InvalidParameterValue", self.ec2.disassociate_route_table,
                            AssociationId=main_assoc)
        self.ec2.disassociate_route_table(AssociationId=association["AssociationId"])
        self.assertAwsError("InvalidAssociationID.NotFound", self.ec2.disassociate_route_table,
                            AssociationId=association["AssociationId"])

        # A detached gateway leaves a blackhole route behind, as in AWS.
        self.ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
        routes = self.ec2.describe_route_tables(RouteTableIds=[rtb_id])["RouteTables"][0]["Routes"]
        self.assertEqual({r["DestinationCidrBlock"]: r["State"] for r in routes},
                         {"10.0.0.0/16": "active", "0.0.0.0/0": "blackhole"})

        self.assertAwsError("InvalidParameterValue", self.ec2.delete_route, RouteTableId=rtb_id,
                            DestinationCidrBlock="10.0.0.0/16")
        self.ec2.delete_route(RouteTableId=rtb_id, DestinationCidrBlock="0.0.0.0/0")
        self.assertAwsError("InvalidRoute.NotFound", self.ec2.delete_route, RouteTableId=rtb_id,
                            DestinationCidrBlock="0.0.0.0/0")
        self.assertAwsError("DependencyViolation", self.ec2.delete_vpc, VpcId=vpc_id)
        self.ec2.delete_route_table(RouteTableId=rtb_id)
        self.assertAwsError("InvalidRouteTableID.NotFound", self.ec2.describe_route_tables,
                            RouteTableIds=[rtb_id])


class SecurityGroupTest(FakeAwsTest):
    def ingress(self, group_id):
        return self.ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"]

    def test_groups_and_rules(self):
        vpc_id = self.make_vpc()
        alb = self.ec2.create_security_group(GroupName="dify-alb", Description="ALB", VpcId=vpc_id,
                                             TagSpecifications=tag_spec("security-group", Role="alb"))
        alb_id = alb["GroupId"]
        self.assertRegex(alb_id, r"^sg-[0-9a-f]{17}$")
        self.assertEqual(tags_of(alb), {"Role": "alb"})
        group = self.ec2.describe_security_groups(GroupIds=[alb_id])["SecurityGroups"][0]
        self.assertEqual((group["GroupName"], group["Description"], group["VpcId"]), ("dify-alb", "ALB", vpc_id))
        self.assertEqual(group["IpPermissions"], [])
        self.assertEqual(group["IpPermissionsEgress"], [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                                                         "Ipv6Ranges": [], "PrefixListIds": [],
                                                         "UserIdGroupPairs": []}])
        self.assertAwsError("InvalidGroup.Duplicate", self.ec2.create_security_group,
                            GroupName="dify-alb", Description="again", VpcId=vpc_id)
        self.assertAwsError("InvalidGroup.Reserved", self.ec2.create_security_group,
                            GroupName="default", Description="x", VpcId=vpc_id)
        self.assertAwsError("VPCIdNotSpecified", self.ec2.create_security_group,
                            GroupName="no-vpc", Description="x")

        offices = [{"CidrIp": "203.0.113.0/24", "Description": "office"},
                   {"CidrIp": "198.51.100.0/24"}]
        added = self.ec2.authorize_security_group_ingress(GroupId=alb_id, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": offices},
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": offices}])
        self.assertTrue(added["Return"])
        self.assertEqual(len(added["SecurityGroupRules"]), 4)
        rule = added["SecurityGroupRules"][0]
        self.assertRegex(rule["SecurityGroupRuleId"], r"^sgr-[0-9a-f]{17}$")
        self.assertEqual((rule["GroupId"], rule["IsEgress"], rule["IpProtocol"], rule["FromPort"],
                          rule["ToPort"], rule["CidrIpv4"], rule["Description"]),
                         (alb_id, False, "tcp", 443, 443, "203.0.113.0/24", "office"))
        perms = self.ingress(alb_id)
        self.assertEqual([(p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in perms],
                         [(443, ["203.0.113.0/24", "198.51.100.0/24"]),
                          (80, ["203.0.113.0/24", "198.51.100.0/24"])])
        self.assertEqual(perms[0]["IpRanges"][0]["Description"], "office")
        self.assertAwsError("InvalidPermission.Duplicate", self.ec2.authorize_security_group_ingress,
                            GroupId=alb_id, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443,
                                                            "ToPort": 443,
                                                            "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}])
        self.assertAwsError("InvalidParameterValue", self.ec2.authorize_security_group_ingress,
                            GroupId=alb_id, IpPermissions=[{"IpProtocol": "bogus", "FromPort": 1, "ToPort": 1,
                                                            "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
        self.assertAwsError("InvalidParameterValue", self.ec2.authorize_security_group_ingress,
                            GroupId=alb_id, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
                                                            "IpRanges": [{"CidrIp": "10.0.0/8"}]}])

        # EC2 instances: port 80 from the ALB's group only (legacy CidrIp form too).
        app_id = self.ec2.create_security_group(GroupName="dify-ec2", Description="EC2",
                                                VpcId=vpc_id)["GroupId"]
        self.ec2.authorize_security_group_ingress(GroupId=app_id, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
             "UserIdGroupPairs": [{"GroupId": alb_id, "Description": "from ALB"}]}])
        self.ec2.authorize_security_group_ingress(GroupId=app_id, IpProtocol="tcp", FromPort=22,
                                                  ToPort=22, CidrIp="10.0.0.0/16")
        pairs = self.ingress(app_id)[0]["UserIdGroupPairs"]
        self.assertEqual(pairs, [{"Description": "from ALB", "GroupId": alb_id, "UserId": "123456789012"}])
        self.assertAwsError("InvalidGroup.NotFound", self.ec2.authorize_security_group_ingress,
                            GroupId=app_id, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 81, "ToPort": 81,
                                                            "UserIdGroupPairs": [{"GroupId": "sg-0123456789abcdef0"}]}])
        by_filter = lambda *f: sorted(g["GroupId"] for g in
                                      self.ec2.describe_security_groups(Filters=list(f))["SecurityGroups"])
        self.assertEqual(by_filter({"Name": "ip-permission.group-id", "Values": [alb_id]}), [app_id])
        self.assertEqual(by_filter({"Name": "ip-permission.from-port", "Values": ["443"]}), [alb_id])
        self.assertEqual(by_filter({"Name": "ip-permission.cidr", "Values": ["10.0.0.0/16"]}), [app_id])
        self.assertEqual(by_filter({"Name": "group-name", "Values": ["dify-*"]}), sorted([alb_id, app_id]))
        self.assertEqual(by_filter({"Name": "tag:Role", "Values": ["alb"]}), [alb_id])

        # Revoke by permission, by rule id, and egress.
        revoked = self.ec2.revoke_security_group_ingress(GroupId=alb_id, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": offices}])
        self.assertTrue(revoked["Return"])
        self.assertNotIn("UnknownIpPermissions", revoked)
        self.assertEqual([p["FromPort"] for p in self.ingress(alb_id)], [443])
        partial = self.ec2.revoke_security_group_ingress(GroupId=alb_id, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "198.51.100.0/24"}, {"CidrIp": "192.0.2.0/24"}]}])
        self.assertEqual(partial["UnknownIpPermissions"][0]["IpRanges"], [{"CidrIp": "192.0.2.0/24"}])
        self.assertAwsError("InvalidPermission.NotFound", self.ec2.revoke_security_group_ingress,
                            GroupId=alb_id, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                                                            "IpRanges": offices}])
        rules = self.ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [alb_id]}])["SecurityGroupRules"]
        self.assertEqual(sorted((r["IsEgress"], r["IpProtocol"]) for r in rules), [(False, "tcp"), (True, "-1")])
        ingress_rule = next(r for r in rules if not r["IsEgress"])
        self.ec2.revoke_security_group_ingress(GroupId=alb_id,
                                               SecurityGroupRuleIds=[ingress_rule["SecurityGroupRuleId"]])
        self.assertEqual(self.ingress(alb_id), [])

        self.ec2.authorize_security_group_egress(GroupId=alb_id, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": app_id}]}])
        self.ec2.revoke_security_group_egress(GroupId=alb_id, IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        egress = self.ec2.describe_security_groups(GroupIds=[alb_id])["SecurityGroups"][0]["IpPermissionsEgress"]
        self.assertEqual([(p["IpProtocol"], p["FromPort"]) for p in egress], [("tcp", 80)])

        # Groups referenced by other groups' rules cannot go; default groups never can.
        self.assertAwsError("DependencyViolation", self.ec2.delete_security_group, GroupId=alb_id)
        default_id = by_filter({"Name": "group-name", "Values": ["default"]})[0]
        self.assertAwsError("CannotDelete", self.ec2.delete_security_group, GroupId=default_id)
        self.assertAwsError("DependencyViolation", self.ec2.delete_vpc, VpcId=vpc_id)
        self.ec2.revoke_security_group_egress(GroupId=alb_id, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": app_id}]}])
        self.ec2.delete_security_group(GroupId=app_id)
        self.ec2.delete_security_group(GroupId=alb_id)
        self.assertAwsError("InvalidGroup.NotFound", self.ec2.describe_security_groups, GroupIds=[alb_id])
        self.assertAwsError("InvalidGroup.NotFound", self.ec2.describe_security_groups, GroupNames=["dify-alb"])
        self.ec2.delete_vpc(VpcId=vpc_id)


class TagsAndZonesTest(FakeAwsTest):
    def test_tags(self):
        vpc_id = self.make_vpc(Name="main")
        subnet_id = self.ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
        self.ec2.create_tags(Resources=[vpc_id, subnet_id],
                             Tags=[tag("deploybot:stack", "prd"), tag("deploybot:id", "net")])
        self.ec2.create_tags(Resources=[vpc_id], Tags=[tag("Name", "renamed")])
        self.assertEqual(tags_of(self.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]),
                         {"Name": "renamed", "deploybot:stack": "prd", "deploybot:id": "net"})
        described = self.ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [subnet_id]}])["Tags"]
        self.assertEqual(sorted((t["Key"], t["Value"], t["ResourceType"]) for t in described),
                         [("deploybot:id", "net", "subnet"), ("deploybot:stack", "prd", "subnet")])
        by_key = self.ec2.describe_tags(Filters=[{"Name": "key", "Values": ["deploybot:stack"]},
                                                 {"Name": "resource-type", "Values": ["vpc"]}])["Tags"]
        self.assertEqual([(t["ResourceId"], t["Value"]) for t in by_key], [(vpc_id, "prd")])

        self.ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "other"}])   # value differs: kept
        self.ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "deploybot:id"}])
        self.assertEqual(tags_of(self.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]),
                         {"Name": "renamed", "deploybot:stack": "prd"})
        self.ec2.delete_tags(Resources=[subnet_id])
        self.assertNotIn("Tags", self.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0])

        self.assertAwsError("InvalidVpcID.NotFound", self.ec2.create_tags,
                            Resources=["vpc-0123456789abcdef0"], Tags=[tag("a", "b")])
        self.assertAwsError("InvalidID", self.ec2.create_tags, Resources=["foo-123"], Tags=[tag("a", "b")])
        self.assertAwsError("InvalidParameterValue", self.ec2.create_tags,
                            Resources=[vpc_id], Tags=[tag("aws:reserved", "b")])
        self.assertAwsError("TagLimitExceeded", self.ec2.create_tags, Resources=[vpc_id],
                            Tags=[tag(f"k{i}", "v") for i in range(50)])

    def test_availability_zones(self):
        zones = self.ec2.describe_availability_zones()["AvailabilityZones"]
        self.assertEqual([(z["ZoneName"], z["ZoneId"], z["State"], z["RegionName"]) for z in zones],
                         [("eu-west-1a", "euw1-az1", "available", "eu-west-1"),
                          ("eu-west-1b", "euw1-az2", "available", "eu-west-1"),
                          ("eu-west-1c", "euw1-az3", "available", "eu-west-1")])
        self.assertEqual([z["ZoneName"] for z in self.ec2.describe_availability_zones(
            ZoneNames=["eu-west-1c"])["AvailabilityZones"]], ["eu-west-1c"])
        self.assertEqual([z["ZoneId"] for z in self.ec2.describe_availability_zones(
            Filters=[{"Name": "zone-name", "Values": ["*b"]}])["AvailabilityZones"]], ["euw1-az2"])


class PaginationTest(FakeAwsTest):
    def pages(self, operation, **kwargs):
        paginator = self.ec2.get_paginator(operation)
        return list(paginator.paginate(PaginationConfig={"PageSize": 5}, **kwargs))

    def test_paginators(self):
        vpc_ids = [self.make_vpc(f"10.{i}.0.0/16", **{"deploybot:stack": "bench"}) for i in range(12)]
        pages = self.pages("describe_vpcs")
        self.assertEqual([len(p["Vpcs"]) for p in pages], [5, 5, 2])
        self.assertEqual([v["VpcId"] for p in pages for v in p["Vpcs"]], vpc_ids)
        self.assertIn("NextToken", pages[0])
        self.assertNotIn("NextToken", pages[-1])

        # Deleting an item between pages neither skips nor repeats others.
        first = self.ec2.describe_vpcs(MaxResults=5)
        self.ec2.delete_vpc(VpcId=vpc_ids[2])
        rest = self.ec2.describe_vpcs(MaxResults=1000, NextToken=first["NextToken"])
        self.assertEqual([v["VpcId"] for v in first["Vpcs"] + rest["Vpcs"]],
                         vpc_ids[:5] + vpc_ids[5:])

        vpc_id = vpc_ids[0]
        for i in range(7):
            self.ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24")
            self.ec2.create_route_table(VpcId=vpc_id)
            self.ec2.create_security_group(GroupName=f"g{i}", Description="d", VpcId=vpc_id)
            self.ec2.create_internet_gateway()
        self.assertEqual(sum(len(p["Subnets"]) for p in self.pages("describe_subnets")), 7)
        self.assertEqual(sum(len(p["RouteTables"]) for p in self.pages(
            "describe_route_tables", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])), 8)
        self.assertEqual(sum(len(p["SecurityGroups"]) for p in self.pages(
            "describe_security_groups", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])), 8)
        self.assertEqual(sum(len(p["InternetGateways"]) for p in self.pages("describe_internet_gateways")), 7)
        self.assertEqual(sum(len(p["SecurityGroupRules"]) for p in self.pages(
            "describe_security_group_rules")), 11 * 2 + 7)
        tag_pages = self.pages("describe_tags", Filters=[{"Name": "key", "Values": ["deploybot:stack"]}])
        self.assertEqual([len(p["Tags"]) for p in tag_pages], [5, 5, 1])

        self.assertAwsError("InvalidParameterCombination", self.ec2.describe_vpcs,
                            VpcIds=[vpc_id], MaxResults=5)
        self.assertAwsError("InvalidNextToken", self.ec2.describe_vpcs, MaxResults=5, NextToken="garbage")


class AuthTest(FakeAwsTest):
    def test_signature_checks(self):
        err = self.assertAwsError("SignatureDoesNotMatch", self.client(secret="wrong").describe_vpcs,
                                  status=403)
        self.assertIn("The Canonical String for this request should have been", err["Message"])
        self.assertIn("'POST\n/\n\n", err["Message"])
        self.assertAwsError("AuthFailure", self.client(access="AKIDUNKNOWN").describe_vpcs, status=401)
        self.assertAwsError("AuthFailure", self.client(region="us-east-1").describe_vpcs, status=401)
        # A session token is signed like any header and accepted.
        self.assertEqual(self.client(token="session-token").describe_vpcs()["Vpcs"], [])

    def test_raw_requests(self):
        status, root = raw_call({"Action": "DescribeAvailabilityZones", "Version": "2016-11-15"})
        self.assertEqual(status, 200)
        self.assertEqual(root.tag, f"{NS}DescribeAvailabilityZonesResponse")
        self.assertIsNotNone(root.find(f"{NS}requestId"))
        self.assertEqual(len(root.findall(f"{NS}availabilityZoneInfo/{NS}item")), 3)

        status, root = raw_call({"Action": "DescribeAvailabilityZones", "Version": "2016-11-15",
                                 "ZoneName.1": "eu-west-1a"}, method="GET")
        self.assertEqual((status, len(root.findall(f"{NS}availabilityZoneInfo/{NS}item"))), (200, 1))

        cases = [
            ({"Action": "DescribeVpcs", "Version": "2016-11-15", "VpcIds.1": "vpc-1"}, 400, "UnknownParameter"),
            ({"Action": "DescribeVpcs", "Version": "2016-11-15", "MaxResults": "1"}, 400, "InvalidParameterValue"),
            ({"Action": "CreateVpc", "Version": "2016-11-15"}, 400, "MissingParameter"),
            ({"Version": "2016-11-15"}, 400, "MissingAction"),
            ({"Action": "DescribeVpcs", "Version": "2010-01-01"}, 400, "NoSuchVersion"),
            ({"Action": "NoSuchThing", "Version": "2016-11-15"}, 400, "InvalidAction"),
            ({"Action": "CreateTransitGateway", "Version": "2016-11-15"}, 400, "InvalidAction"),
            ({"Action": "RunInstances", "Version": "2016-11-15"}, 400, "MissingParameter"),
        ]
        for params, want_status, want_code in cases:
            status, root = raw_call(params)
            self.assertEqual((status, root.tag, error_code(root)), (want_status, "Response", want_code), params)
            self.assertIsNotNone(root.find("RequestID"))
        status, root = raw_call({"Action": "DescribeVpcs", "Version": "2016-11-15"}, sign=False)
        self.assertEqual((status, error_code(root)), (403, "MissingAuthenticationToken"))


class SigV4VectorsTest(unittest.TestCase):
    """The fake's verifier accepts AWS's published SigV4 test-suite requests
    (aws-sig-v4-test-suite: get-vanilla, get-vanilla-query-order-key-case)."""

    def test_published_vectors(self):
        import calendar
        import time
        from awsfake.sigv4 import SignedRequest, Verifier
        now = calendar.timegm(time.strptime("20150830T123600Z", "%Y%m%dT%H%M%SZ"))
        verifier = Verifier({"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, clock=lambda: now)
        for query, signature in [
                ("", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
                ("Param2=value2&Param1=value1",
                 "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")]:
            auth = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                    f"SignedHeaders=host;x-amz-date, Signature={signature}")
            identity = verifier.verify(SignedRequest(
                "GET", "/", query, [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"),
                                    ("Authorization", auth)], b""))
            self.assertEqual((identity.region, identity.service), ("us-east-1", "service"))


class AdminTest(FakeAwsTest):
    def test_calls_state_and_reset(self):
        vpc_id = self.make_vpc()
        self.ec2.describe_vpcs()
        self.ec2.describe_vpcs()
        self.assertAwsError("InvalidVpcID.NotFound", self.ec2.delete_vpc, VpcId="vpc-0123456789abcdef0")
        self.assertEqual(fake.admin("GET", "/_fake/calls"),
                         {"CreateVpc": 1, "DescribeVpcs": 2, "DeleteVpc": 1})
        state = fake.admin("GET", "/_fake/state")["ec2"]
        self.assertEqual([v["VpcId"] for v in state["vpc"]], [vpc_id])
        self.assertEqual(len(state["route-table"]), 1)
        self.assertEqual(len(state["security-group"]), 1)
        fake.admin("POST", "/_fake/reset")
        self.assertEqual(fake.admin("GET", "/_fake/calls"), {})
        self.assertEqual(self.ec2.describe_vpcs()["Vpcs"], [])

    def test_faults(self):
        vpc_id = self.make_vpc()
        fake.admin("POST", "/_fake/faults", {"action": "CreateSubnet", "error": "RequestLimitExceeded",
                                             "status": 503, "count": 2})
        self.assertEqual(len(fake.admin("GET", "/_fake/faults")), 1)
        for _ in range(2):
            self.assertAwsError("RequestLimitExceeded", self.ec2.create_subnet, VpcId=vpc_id,
                                CidrBlock="10.0.0.0/24", status=503)
        self.ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24")
        self.assertEqual(fake.admin("GET", "/_fake/calls")["CreateSubnet"], 3)
        self.assertEqual(fake.admin("GET", "/_fake/faults"), [])

        # botocore's own retry logic recovers from a throttled call.
        fake.admin("POST", "/_fake/faults", {"action": "DescribeSubnets", "error": "RequestLimitExceeded"})
        retrying = boto3.client("ec2", endpoint_url=fake.url, region_name=REGION,
                                aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                config=Config(retries={"mode": "standard", "total_max_attempts": 2}))
        self.assertEqual(len(retrying.describe_subnets()["Subnets"]), 1)
        retrying.close()

        # "after" lets calls through first; "apply" loses the response of a call that worked.
        fake.admin("POST", "/_fake/faults", {"action": "CreateSecurityGroup", "error": "InternalError",
                                             "after": 1, "apply": True})
        self.ec2.create_security_group(GroupName="first", Description="d", VpcId=vpc_id)
        self.assertAwsError("InternalError", self.ec2.create_security_group,
                            GroupName="second", Description="d", VpcId=vpc_id, status=500)
        names = [g["GroupName"] for g in self.ec2.describe_security_groups()["SecurityGroups"]]
        self.assertEqual(sorted(names), ["default", "first", "second"])

        fake.admin("POST", "/_fake/faults", {"action": "*", "error": "Unavailable", "count": 5})
        fake.admin("DELETE", "/_fake/faults")
        self.ec2.describe_vpcs()


class ConcurrencyTest(FakeAwsTest):
    def test_parallel_creates(self):
        vpc_id = self.make_vpc()
        ids, errors = [], []

        def create(i):
            try:
                ids.append(self.ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"])
            except Exception as e:     # collected and asserted below
                errors.append(e)
        threads = [threading.Thread(target=create, args=(i,)) for i in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(set(ids)), 24)
        self.assertEqual(len(self.ec2.describe_subnets()["Subnets"]), 24)


if __name__ == "__main__":
    unittest.main(verbosity=2)
