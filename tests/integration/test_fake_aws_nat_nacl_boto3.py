#!/usr/bin/python3
"""Checks the AWS fake's Elastic IPs, NAT gateways and network ACLs with
Debian's boto3 (the reference client), including boto3's own NAT gateway
waiters against the fake's asynchronous states.

Run: /usr/bin/python3 tests/integration/test_fake_aws_nat_nacl_boto3.py
"""

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
SECRET_KEY = "fake/secret/key/for/nat/tests+0123456789"
NOW = {"Delay": 0, "MaxAttempts": 5}   # waiters poll at once: the fake moves on when looked at

fake = None


def setUpModule():
    global fake
    fake = FakeProcess("fake_aws.py", "--region", REGION,
                       "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY).start()


def tearDownModule():
    fake.stop()


def tag_spec(resource_type, **tags):
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def tags_of(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


class FakeTest(unittest.TestCase):
    def setUp(self):
        fake.admin("POST", "/_fake/reset")
        self.ec2 = boto3.client("ec2", endpoint_url=fake.url, region_name=REGION,
                                aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        self.addCleanup(self.ec2.close)

    def assertAwsError(self, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(*args, **kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code,
                         ctx.exception.response["Error"].get("Message"))
        return ctx.exception.response["Error"]["Message"]

    def network(self, igw=True):
        """(vpc id, public subnet id) with the internet gateway attached when igw."""
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24",
                                        AvailabilityZone="eu-west-1a")["Subnet"]["SubnetId"]
        if igw:
            gw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
            self.ec2.attach_internet_gateway(InternetGatewayId=gw, VpcId=vpc)
        return vpc, subnet

    def eip(self, **tags):
        spec = tag_spec("elastic-ip", **tags) if tags else []
        return self.ec2.allocate_address(Domain="vpc", TagSpecifications=spec)["AllocationId"]

    def nat_state(self, nat_id):
        return self.ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"][0]["State"]


class AddressTest(FakeTest):
    def test_allocate_describe_release(self):
        a = self.ec2.allocate_address(Domain="vpc", TagSpecifications=tag_spec("elastic-ip", Name="a"))
        self.assertTrue(a["AllocationId"].startswith("eipalloc-"))
        self.assertEqual(a["Domain"], "vpc")
        b = self.eip(team="x")
        self.assertNotEqual(a["PublicIp"], self.ec2.describe_addresses(AllocationIds=[b])["Addresses"][0]["PublicIp"])

        got = self.ec2.describe_addresses(Filters=[{"Name": "tag:Name", "Values": ["a"]}])["Addresses"]
        self.assertEqual([x["AllocationId"] for x in got], [a["AllocationId"]])
        self.assertEqual(tags_of(got[0]), {"Name": "a"})
        self.assertNotIn("AssociationId", got[0])
        got = self.ec2.describe_addresses(PublicIps=[a["PublicIp"]])["Addresses"]
        self.assertEqual(got[0]["AllocationId"], a["AllocationId"])
        self.assertEqual(len(self.ec2.describe_addresses(Filters=[{"Name": "domain", "Values": ["vpc"]}])["Addresses"]), 2)

        self.assertAwsError("InvalidAllocationID.NotFound", self.ec2.describe_addresses,
                            AllocationIds=["eipalloc-0123456789abcdef0"])
        self.assertAwsError("InvalidAllocationID.Malformed", self.ec2.describe_addresses, AllocationIds=["nope"])
        self.assertAwsError("InvalidAddress.NotFound", self.ec2.describe_addresses, PublicIps=["192.0.2.1"])
        self.assertAwsError("UnsupportedOperation", self.ec2.allocate_address, Domain="standard")
        self.assertAwsError("InvalidParameterValue", self.ec2.release_address, PublicIp=a["PublicIp"])

        self.ec2.release_address(AllocationId=a["AllocationId"])
        self.assertAwsError("InvalidAllocationID.NotFound", self.ec2.release_address,
                            AllocationId=a["AllocationId"])
        self.assertEqual([x["AllocationId"] for x in self.ec2.describe_addresses()["Addresses"]], [b])

        kinds = {t["ResourceType"] for t in self.ec2.describe_tags()["Tags"]}
        self.assertEqual(kinds, {"elastic-ip"})


class NatGatewayTest(FakeTest):
    def test_lifecycle(self):
        vpc, subnet = self.network()
        alloc = self.eip()
        free = self.ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["AvailableIpAddressCount"]
        created = self.ec2.create_nat_gateway(SubnetId=subnet, AllocationId=alloc, ClientToken="tok-1",
                                              TagSpecifications=tag_spec("natgateway", Name="nat-a"))
        nat = created["NatGateway"]
        nat_id = nat["NatGatewayId"]
        self.assertEqual(created["ClientToken"], "tok-1")
        self.assertEqual((nat["State"], nat["VpcId"], nat["SubnetId"]), ("pending", vpc, subnet))
        self.assertEqual(nat["NatGatewayAddresses"][0]["AllocationId"], alloc)
        self.assertEqual(tags_of(nat), {"Name": "nat-a"})

        # The same client token is the same request: no second gateway.
        again = self.ec2.create_nat_gateway(SubnetId=subnet, AllocationId=alloc, ClientToken="tok-1")
        self.assertEqual(again["NatGateway"]["NatGatewayId"], nat_id)
        self.assertAwsError("IdempotentParameterMismatch", self.ec2.create_nat_gateway,
                            SubnetId=subnet, AllocationId=self.eip(), ClientToken="tok-1")

        address = self.ec2.describe_addresses(AllocationIds=[alloc])["Addresses"][0]
        self.assertTrue(address["AssociationId"].startswith("eipassoc-"))
        self.assertEqual(address["NetworkInterfaceId"], nat["NatGatewayAddresses"][0]["NetworkInterfaceId"])
        self.assertEqual(address["PrivateIpAddress"], "10.0.0.4")
        self.assertEqual(self.ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["AvailableIpAddressCount"],
                         free - 1)

        self.assertEqual(self.nat_state(nat_id), "pending")      # seen once ...
        self.ec2.get_waiter("nat_gateway_available").wait(NatGatewayIds=[nat_id], WaiterConfig=NOW)
        self.assertEqual(self.nat_state(nat_id), "available")    # ... then settled

        rtb = self.ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        self.ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
        self.assertAwsError("InvalidNatGatewayID.NotFound", self.ec2.replace_route, RouteTableId=rtb,
                            DestinationCidrBlock="0.0.0.0/0", NatGatewayId="nat-0123456789abcdef0")
        route = [r for r in self.ec2.describe_route_tables(RouteTableIds=[rtb])["RouteTables"][0]["Routes"]
                 if r.get("NatGatewayId")][0]
        self.assertEqual((route["NatGatewayId"], route["State"]), (nat_id, "active"))
        found = self.ec2.describe_route_tables(Filters=[{"Name": "route.nat-gateway-id", "Values": [nat_id]}])
        self.assertEqual(len(found["RouteTables"]), 1)

        # While the gateway lives, its address, subnet, internet gateway and VPC are in use.
        self.assertAwsError("InvalidIPAddress.InUse", self.ec2.release_address, AllocationId=alloc)
        self.assertAwsError("DependencyViolation", self.ec2.delete_subnet, SubnetId=subnet)
        igw = self.ec2.describe_internet_gateways()["InternetGateways"][0]["InternetGatewayId"]
        self.assertAwsError("DependencyViolation", self.ec2.detach_internet_gateway,
                            InternetGatewayId=igw, VpcId=vpc)
        self.assertAwsError("DependencyViolation", self.ec2.delete_vpc, VpcId=vpc)

        self.assertEqual(self.ec2.delete_nat_gateway(NatGatewayId=nat_id)["NatGatewayId"], nat_id)
        self.assertAwsError("InvalidIPAddress.InUse", self.ec2.release_address, AllocationId=alloc)
        self.assertEqual(self.nat_state(nat_id), "deleting")
        self.ec2.get_waiter("nat_gateway_deleted").wait(NatGatewayIds=[nat_id], WaiterConfig=NOW)
        gone = self.ec2.describe_nat_gateways(Filters=[{"Name": "state", "Values": ["deleted"]}])["NatGateways"]
        self.assertEqual([g["NatGatewayId"] for g in gone], [nat_id])
        self.assertIn("DeleteTime", gone[0])
        self.assertAwsError("NatGatewayNotFound", self.ec2.delete_nat_gateway, NatGatewayId=nat_id)
        route = self.ec2.describe_route_tables(RouteTableIds=[rtb])["RouteTables"][0]["Routes"][-1]
        self.assertEqual(route["State"], "blackhole")
        self.assertAwsError("InvalidNatGatewayID.NotFound", self.ec2.replace_route, RouteTableId=rtb,
                            DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
        self.assertNotIn("AssociationId", self.ec2.describe_addresses(AllocationIds=[alloc])["Addresses"][0])
        self.ec2.release_address(AllocationId=alloc)
        self.ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        self.ec2.delete_subnet(SubnetId=subnet)

    def test_failures_and_errors(self):
        vpc, subnet = self.network(igw=False)
        alloc = self.eip()
        nat_id = self.ec2.create_nat_gateway(SubnetId=subnet, AllocationId=alloc)["NatGateway"]["NatGatewayId"]
        with self.assertRaises(WaiterError):
            self.ec2.get_waiter("nat_gateway_available").wait(NatGatewayIds=[nat_id], WaiterConfig=NOW)
        nat = self.ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"][0]
        self.assertEqual((nat["State"], nat["FailureCode"]), ("failed", "Gateway.NotAttached"))
        self.assertIn(vpc, nat["FailureMessage"])
        self.ec2.release_address(AllocationId=alloc)     # a failed gateway holds no address
        self.ec2.delete_subnet(SubnetId=subnet)

        self.assertAwsError("NatGatewayNotFound", self.ec2.describe_nat_gateways,
                            NatGatewayIds=["nat-0123456789abcdef0"])
        self.assertAwsError("NatGatewayMalformed", self.ec2.delete_nat_gateway, NatGatewayId="gw-1")
        self.assertAwsError("InvalidSubnetID.NotFound", self.ec2.create_nat_gateway,
                            SubnetId="subnet-0123456789abcdef0", AllocationId=self.eip())
        vpc2, subnet2 = self.network()
        self.assertAwsError("MissingParameter", self.ec2.create_nat_gateway, SubnetId=subnet2)
        self.assertAwsError("InvalidAllocationID.NotFound", self.ec2.create_nat_gateway, SubnetId=subnet2,
                            AllocationId="eipalloc-0123456789abcdef0")

        # Two gateways cannot share an address: the second one fails.
        shared = self.eip()
        first = self.ec2.create_nat_gateway(SubnetId=subnet2, AllocationId=shared)["NatGateway"]["NatGatewayId"]
        second = self.ec2.create_nat_gateway(SubnetId=subnet2, AllocationId=shared)["NatGateway"]["NatGatewayId"]
        self.ec2.describe_nat_gateways(NatGatewayIds=[first, second])
        states = {n["NatGatewayId"]: (n["State"], n.get("FailureCode"))
                  for n in self.ec2.describe_nat_gateways(NatGatewayIds=[first, second])["NatGateways"]}
        self.assertEqual(states, {first: ("available", None), second: ("failed", "Resource.AlreadyAssociated")})

    def test_pagination_and_filters(self):
        vpc, subnet = self.network()
        ids = [self.ec2.create_nat_gateway(SubnetId=subnet, AllocationId=self.eip(),
                                           TagSpecifications=tag_spec("natgateway", stack="s", n=str(i)))
               ["NatGateway"]["NatGatewayId"] for i in range(7)]
        pages = list(self.ec2.get_paginator("describe_nat_gateways").paginate(
            Filter=[{"Name": "tag:stack", "Values": ["s"]}], PaginationConfig={"PageSize": 5}))
        self.assertEqual([len(p["NatGateways"]) for p in pages], [5, 2])
        self.assertEqual([n["NatGatewayId"] for p in pages for n in p["NatGateways"]], ids)
        for name, value in [("vpc-id", vpc), ("subnet-id", subnet), ("nat-gateway-id", ids[3]),
                            ("tag:n", "3")]:
            got = self.ec2.describe_nat_gateways(Filter=[{"Name": name, "Values": [value]}])["NatGateways"]
            self.assertEqual(len(got), 1 if name in ("nat-gateway-id", "tag:n") else 7, name)
        kinds = {t["ResourceType"] for t in self.ec2.describe_tags(
            Filters=[{"Name": "key", "Values": ["stack"]}])["Tags"]}
        self.assertEqual(kinds, {"natgateway"})


class NetworkAclTest(FakeTest):
    def test_default_acl_and_associations(self):
        vpc = self.ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        acls = self.ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkAcls"]
        self.assertEqual(len(acls), 1)
        default = acls[0]
        self.assertTrue(default["IsDefault"])
        self.assertEqual(sorted((e["Egress"], e["RuleNumber"], e["RuleAction"]) for e in default["Entries"]),
                         [(False, 100, "allow"), (False, 32767, "deny"), (True, 100, "allow"), (True, 32767, "deny")])
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.0.0/24")["Subnet"]["SubnetId"]
        got = self.ec2.describe_network_acls(
            Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"]
        self.assertEqual([a["NetworkAclId"] for a in got], [default["NetworkAclId"]])
        assoc = got[0]["Associations"][0]

        acl = self.ec2.create_network_acl(VpcId=vpc, TagSpecifications=tag_spec("network-acl", Name="pub"))
        acl_id = acl["NetworkAcl"]["NetworkAclId"]
        self.assertFalse(acl["NetworkAcl"]["IsDefault"])
        self.assertEqual([e["RuleNumber"] for e in acl["NetworkAcl"]["Entries"]], [32767, 32767])

        moved = self.ec2.replace_network_acl_association(AssociationId=assoc["NetworkAclAssociationId"],
                                                         NetworkAclId=acl_id)["NewAssociationId"]
        self.assertNotEqual(moved, assoc["NetworkAclAssociationId"])
        self.assertAwsError("InvalidAssociationID.NotFound", self.ec2.replace_network_acl_association,
                            AssociationId=assoc["NetworkAclAssociationId"], NetworkAclId=acl_id)
        mine = self.ec2.describe_network_acls(Filters=[{"Name": "tag:Name", "Values": ["pub"]}])["NetworkAcls"][0]
        self.assertEqual([(a["SubnetId"], a["NetworkAclAssociationId"]) for a in mine["Associations"]],
                         [(subnet, moved)])
        self.assertEqual(self.ec2.describe_network_acls(NetworkAclIds=[default["NetworkAclId"]])
                         ["NetworkAcls"][0]["Associations"], [])

        self.assertAwsError("DependencyViolation", self.ec2.delete_network_acl, NetworkAclId=acl_id)
        self.assertAwsError("DependencyViolation", self.ec2.delete_vpc, VpcId=vpc)
        self.assertAwsError("InvalidParameterValue", self.ec2.delete_network_acl,
                            NetworkAclId=default["NetworkAclId"])
        other_vpc = self.ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
        foreign = self.ec2.create_network_acl(VpcId=other_vpc)["NetworkAcl"]["NetworkAclId"]
        self.assertAwsError("InvalidParameterValue", self.ec2.replace_network_acl_association,
                            AssociationId=moved, NetworkAclId=foreign)

        back = self.ec2.replace_network_acl_association(AssociationId=moved,
                                                        NetworkAclId=default["NetworkAclId"])["NewAssociationId"]
        self.assertTrue(back.startswith("aclassoc-"))
        self.ec2.delete_network_acl(NetworkAclId=acl_id)
        self.assertAwsError("InvalidNetworkAclID.NotFound", self.ec2.describe_network_acls, NetworkAclIds=[acl_id])
        self.ec2.delete_subnet(SubnetId=subnet)           # takes its association with it
        self.assertEqual(self.ec2.describe_network_acls(NetworkAclIds=[default["NetworkAclId"]])
                         ["NetworkAcls"][0]["Associations"], [])
        self.ec2.delete_vpc(VpcId=vpc)
        self.assertAwsError("InvalidNetworkAclID.NotFound", self.ec2.describe_network_acls,
                            NetworkAclIds=[default["NetworkAclId"]])

    def test_entries(self):
        vpc = self.ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        acl_id = self.ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
        entry = dict(NetworkAclId=acl_id, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=False,
                     CidrBlock="203.0.113.0/24", PortRange={"From": 443, "To": 443})
        self.ec2.create_network_acl_entry(**entry)
        self.ec2.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=100, Protocol="-1",
                                          RuleAction="allow", Egress=True, CidrBlock="0.0.0.0/0")
        self.ec2.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=110, Protocol="icmp",
                                          RuleAction="deny", Egress=False, CidrBlock="0.0.0.0/0",
                                          IcmpTypeCode={"Type": 8, "Code": 0})
        self.assertAwsError("NetworkAclEntryAlreadyExists", self.ec2.create_network_acl_entry, **entry)
        no_ports = {k: v for k, v in entry.items() if k != "PortRange"}
        self.assertAwsError("MissingParameter", self.ec2.create_network_acl_entry,
                            **dict(no_ports, RuleNumber=120))
        self.assertAwsError("InvalidParameterValue", self.ec2.create_network_acl_entry,
                            **dict(entry, RuleNumber=32767))
        self.assertAwsError("InvalidParameterValue", self.ec2.create_network_acl_entry,
                            **dict(entry, RuleNumber=130, Protocol="bogus"))
        self.assertAwsError("InvalidParameterValue", self.ec2.create_network_acl_entry,
                            **dict(entry, RuleNumber=130, CidrBlock="10.0.0.1/16"))

        self.ec2.replace_network_acl_entry(**dict(entry, CidrBlock="198.51.100.0/24", PortRange={"From": 80, "To": 80}))
        self.assertAwsError("InvalidNetworkAclEntry.NotFound", self.ec2.replace_network_acl_entry,
                            **dict(entry, RuleNumber=101))
        got = self.ec2.describe_network_acls(NetworkAclIds=[acl_id])["NetworkAcls"][0]["Entries"]
        shown = {(e["Egress"], e["RuleNumber"]): e for e in got}
        self.assertEqual(shown[(False, 100)]["CidrBlock"], "198.51.100.0/24")
        self.assertEqual(shown[(False, 100)]["PortRange"], {"From": 80, "To": 80})
        self.assertEqual(shown[(False, 110)]["Protocol"], "1")
        self.assertEqual(shown[(False, 110)]["IcmpTypeCode"], {"Type": 8, "Code": 0})
        self.assertNotIn("PortRange", shown[(True, 100)])
        by_port = self.ec2.describe_network_acls(Filters=[{"Name": "entry.port-range.from", "Values": ["80"]}])
        self.assertEqual([a["NetworkAclId"] for a in by_port["NetworkAcls"]], [acl_id])

        self.ec2.delete_network_acl_entry(NetworkAclId=acl_id, RuleNumber=110, Egress=False)
        self.assertAwsError("InvalidNetworkAclEntry.NotFound", self.ec2.delete_network_acl_entry,
                            NetworkAclId=acl_id, RuleNumber=110, Egress=False)
        self.assertAwsError("InvalidParameterValue", self.ec2.delete_network_acl_entry,
                            NetworkAclId=acl_id, RuleNumber=32767, Egress=True)

        for n in range(1, 20):   # 19 more ingress rules fill the quota of 20
            self.ec2.create_network_acl_entry(**dict(entry, RuleNumber=200 + n))
        self.assertAwsError("NetworkAclEntryLimitExceeded", self.ec2.create_network_acl_entry,
                            **dict(entry, RuleNumber=300))
        self.ec2.create_network_acl_entry(**dict(entry, RuleNumber=300, Egress=True))

    def test_pagination(self):
        vpc = self.ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        for i in range(6):
            self.ec2.create_network_acl(VpcId=vpc, TagSpecifications=tag_spec("network-acl", stack="s"))
        pages = list(self.ec2.get_paginator("describe_network_acls").paginate(
            Filters=[{"Name": "tag:stack", "Values": ["s"]}], PaginationConfig={"PageSize": 5}))
        self.assertEqual([len(p["NetworkAcls"]) for p in pages], [5, 1])
        defaults = self.ec2.describe_network_acls(Filters=[{"Name": "default", "Values": ["true"]}])
        self.assertEqual(len(defaults["NetworkAcls"]), 1)


class RouteTableAssociationTest(FakeTest):
    def test_replace_association(self):
        vpc, subnet = self.network()
        a = self.ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        b = self.ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        assoc = self.ec2.associate_route_table(RouteTableId=a, SubnetId=subnet)["AssociationId"]
        self.assertAwsError("Resource.AlreadyAssociated", self.ec2.associate_route_table,
                            RouteTableId=b, SubnetId=subnet)
        new = self.ec2.replace_route_table_association(AssociationId=assoc, RouteTableId=b)
        self.assertEqual(new["AssociationState"]["State"], "associated")
        tables = {t["RouteTableId"]: t for t in self.ec2.describe_route_tables(RouteTableIds=[a, b])["RouteTables"]}
        self.assertEqual(tables[a]["Associations"], [])
        self.assertEqual([(x["SubnetId"], x["RouteTableAssociationId"]) for x in tables[b]["Associations"]],
                         [(subnet, new["NewAssociationId"])])
        self.assertAwsError("InvalidAssociationID.NotFound", self.ec2.replace_route_table_association,
                            AssociationId=assoc, RouteTableId=a)


if __name__ == "__main__":
    unittest.main(verbosity=2)
