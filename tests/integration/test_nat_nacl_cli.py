"""`deploybot plan/apply/destroy` of the optional network parts against the
fake AWS: NAT gateways with their Elastic IPs toggled on (a lost
CreateNatGateway answer retried with its client token, an apply cut short
while a gateway is still pending, then converged) and off (routes first,
gateways deleted, addresses released even when AWS still says "in use"
once), network ACLs toggled on and off (subnets moved to them and back to the
VPC's default ACL), office CIDR changes converging ACL rules in place, the
move from the single private route table of older versions to one per zone,
and a destroy that leaves nothing behind."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

OFFICE = "203.0.113.0/24"


class NatNaclCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(start_bot=False)
        cls.dir = tempfile.mkdtemp(prefix="deploybot-natnacl-")
        shutil.rmtree(cls.dir)
        shutil.copytree(os.path.join(harness.SRC, "deploy-configs"), cls.dir)
        cls.ec2 = cls.s.ec2()
        # Start without NAT (the shipped files turn it on) to watch it come and go.
        for env in ("stg", "dev"):
            path = os.path.join(cls.dir, "environments", env, "stack.json")
            with open(path) as f:
                doc = json.load(f)
            doc["enable_nat_gateway"] = False
            with open(path, "w") as f:
                json.dump(doc, f)

    @classmethod
    def tearDownClass(cls):
        cls.ec2.close()
        cls.s.close()

    def run_bot(self, env_name, command, *flags, ok=True, extra_env=None):
        env = self.s.env()
        env["DEPLOYBOT_AWS_PAGE_SIZE"] = "5"      # make discovery paginate
        env["DEPLOYBOT_WAIT_POLL_MS"] = "5"       # the fake settles a gateway once it was seen
        env.update(extra_env or {})
        p = subprocess.run([harness.BIN, command, env_name] + list(flags) + ["--dir", self.dir], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode == 0, ok, out)
        return out

    def edit(self, env_name, **changes):
        path = os.path.join(self.dir, "environments", env_name, "stack.json")
        with open(path) as f:
            doc = json.load(f)
        doc.update(changes)
        with open(path, "w") as f:
            json.dump(doc, f)

    def fault(self, **spec):
        harness.fault(self.s.aws_url, **spec)

    def calls(self):
        return json.loads(harness.http("GET", self.s.aws_url + "/_fake/calls")[1])

    def reset_calls(self):
        harness.http("DELETE", self.s.aws_url + "/_fake/calls")

    # ---- what exists, seen through boto3 ----

    def flt(self, env_name):
        return [{"Name": "tag:deploybot:stack", "Values": [env_name]}]

    @staticmethod
    def lid(item):
        return {t["Key"]: t["Value"] for t in item.get("Tags", [])}.get("deploybot:id")

    def nats(self, env_name, live=True):
        gws = self.ec2.describe_nat_gateways(Filter=self.flt(env_name))["NatGateways"]
        return [g for g in gws if not live or g["State"] not in ("deleted", "failed")]

    def eips(self, env_name):
        return {self.lid(a): a for a in self.ec2.describe_addresses(Filters=self.flt(env_name))["Addresses"]}

    def acls(self, env_name):
        return {self.lid(a): a for a in self.ec2.describe_network_acls(Filters=self.flt(env_name))["NetworkAcls"]}

    def default_acl(self, vpc_id):
        return self.ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                       {"Name": "default", "Values": ["true"]}])["NetworkAcls"][0]

    def nat_route(self, table):
        return {r["DestinationCidrBlock"]: r.get("NatGatewayId") for r in table["Routes"]}.get("0.0.0.0/0")

    def vpc_count(self):
        return len(self.ec2.describe_vpcs()["Vpcs"])

    # ---- the tests ----

    def test_nat_and_acls_lifecycle(self):
        vpcs_before = self.vpc_count()
        self.assertIn("Apply complete", self.run_bot("stg", "apply"))  # every layer, NAT off
        core = self.s.tagged("stg")
        subnet = {k: v["SubnetId"] for k, v in core.items() if k.startswith("subnet.")}
        vpc_id = core["vpc.main"]["VpcId"]

        # NAT on. CreateNatGateway's first answer is lost (the gateway is made
        # anyway): the client token makes the retry return that same gateway.
        # The apply gives up waiting for it (timeout 0) ...
        self.edit("stg", enable_nat_gateway=True)
        out = self.run_bot("stg", "plan")
        for line in ("  + eip.nat_a will be created", "  + eip.nat_b will be created",
                     "  + nat_gateway.a will be created", "  + nat_gateway.b will be created",
                     "  ~ route_table.private_a", "  ~ route_table.private_b",
                     "Plan: 4 to add, 2 to change, 0 to destroy."):
            self.assertIn(line, out)
        self.fault(action="CreateNatGateway", error="ServiceUnavailable", status=503, apply=True)
        out = self.run_bot("stg", "apply", ok=False, extra_env={"DEPLOYBOT_WAIT_TIMEOUT_S": "0"})
        self.assertRegex(out, r"nat_gateway\.[ab]: create failed: WaiterTimeout: NAT gateway nat_gateway\.[ab] "
                              r"\(nat-[0-9a-f]+\) available: still not ready after 0 s")
        made = [self.lid(g) for g in self.nats("stg", live=False)]
        self.assertEqual(len(made), len(set(made)), made)             # one gateway per id ...
        self.assertEqual(self.calls()["CreateNatGateway"], len(made) + 1)   # ... though one call was retried

        # ... and the next apply takes the pending gateway(s) as they are and converges.
        missing = 4 - len(made) - len(self.eips("stg"))
        out = self.run_bot("stg", "apply")
        for lid in made:
            self.assertNotIn("%s will be created" % lid, out)
        self.assertIn("Apply complete: %d added, 2 changed, 0 destroyed." % missing, out)
        nats = {self.lid(g): g for g in self.nats("stg", live=False)}
        self.assertEqual(sorted(nats), ["nat_gateway.a", "nat_gateway.b"])
        eips = self.eips("stg")
        for z in "ab":
            nat = nats["nat_gateway." + z]
            self.assertEqual(nat["State"], "available")
            self.assertEqual(nat["SubnetId"], subnet["subnet.public_" + z])
            self.assertEqual(nat["NatGatewayAddresses"][0]["AllocationId"], eips["eip.nat_" + z]["AllocationId"])
            self.assertTrue(eips["eip.nat_" + z]["AssociationId"].startswith("eipassoc-"))
            table = self.s.tagged("stg")["route_table.private_" + z]
            self.assertEqual(self.nat_route(table), nat["NatGatewayId"])   # each zone through its own NAT
            self.assertEqual([r["State"] for r in table["Routes"]], ["active", "active"])
        self.assertIn("No changes.", self.run_bot("stg", "plan"))

        # NAT off: routes go first, then the gateways (waited for until
        # deleted), then the addresses; one release still finds the address
        # "in use", as AWS can right after a gateway is deleted, and is retried.
        self.edit("stg", enable_nat_gateway=False)
        self.fault(action="ReleaseAddress", error="InvalidIPAddress.InUse", status=400)
        out = self.run_bot("stg", "apply")
        for line in ("  - nat_gateway.a (", "  - eip.nat_b (", "  ~ route_table.private_b",
                     "Plan: 0 to add, 2 to change, 4 to destroy.",
                     "Apply complete: 0 added, 2 changed, 4 destroyed."):
            self.assertIn(line, out)
        for z in "ab":
            self.assertLess(out.index("route_table.private_%s: updated" % z), out.index("nat_gateway.%s: destroyed" % z))
            self.assertLess(out.index("nat_gateway.%s: destroyed" % z), out.index("eip.nat_%s: destroyed" % z))
            self.assertIsNone(self.nat_route(self.s.tagged("stg")["route_table.private_" + z]))
        self.assertEqual(self.nats("stg"), [])
        self.assertEqual({g["State"] for g in self.nats("stg", live=False)}, {"deleted"})
        self.assertEqual(self.eips("stg"), {})
        self.assertIn("No changes.", self.run_bot("stg", "plan"))

        # Network ACLs on: the subnets leave the VPC's default ACL for ours.
        self.edit("stg", enable_network_acls=True)
        out = self.run_bot("stg", "apply")
        self.assertIn("  + network_acl.public will be created", out)
        self.assertIn("Apply complete: 2 added, 0 changed, 0 destroyed.", out)
        acls = self.acls("stg")
        for tier in ("public", "private"):
            self.assertEqual(sorted(a["SubnetId"] for a in acls["network_acl." + tier]["Associations"]),
                             sorted(subnet["subnet.%s_%s" % (tier, z)] for z in "ab"))
        self.assertEqual(self.default_acl(vpc_id)["Associations"], [])
        inbound = {(e["RuleNumber"], e["Protocol"], e.get("CidrBlock"), e.get("PortRange", {}).get("From"))
                   for e in acls["network_acl.public"]["Entries"] if not e["Egress"]}
        self.assertEqual(inbound, {(100, "-1", "10.20.0.0/16", None), (110, "6", "0.0.0.0/0", 1024),
                                   (200, "6", OFFICE, 443), (201, "6", OFFICE, 80), (32767, "-1", "0.0.0.0/0", None)})
        self.assertEqual(len(acls["network_acl.private"]["Entries"]), 5)   # 100, 110 in; 100 out; 2 x 32767
        self.assertIn("No changes.", self.run_bot("stg", "plan"))

        # Office CIDRs change: rules are replaced, created and deleted in place.
        public_id = acls["network_acl.public"]["NetworkAclId"]
        self.edit("stg", office_cidrs=[OFFICE, "198.51.100.0/24"])
        self.reset_calls()
        out = self.run_bot("stg", "apply")
        self.assertIn("  ~ network_acl.public", out)
        self.assertIn("Apply complete: 0 added, 2 changed, 0 destroyed.", out)  # + security_group.alb
        calls = self.calls()
        self.assertEqual((calls.get("ReplaceNetworkAclEntry"), calls.get("CreateNetworkAclEntry")), (2, 2))
        self.assertNotIn("CreateNetworkAcl", calls)
        self.edit("stg", office_cidrs=["198.51.100.0/24"])
        self.reset_calls()
        self.assertIn("Apply complete: 0 added, 2 changed, 0 destroyed.", self.run_bot("stg", "apply"))
        self.assertEqual(self.calls().get("DeleteNetworkAclEntry"), 2)
        public = self.acls("stg")["network_acl.public"]
        self.assertEqual(public["NetworkAclId"], public_id)
        self.assertEqual(sorted((e["RuleNumber"], e["CidrBlock"]) for e in public["Entries"]
                                if not e["Egress"] and 200 <= e["RuleNumber"] < 32767),
                         [(200, "198.51.100.0/24"), (201, "198.51.100.0/24")])
        self.assertIn("No changes.", self.run_bot("stg", "plan"))

        # Network ACLs off: subnets back to the default ACL, ours deleted.
        self.edit("stg", enable_network_acls=False)
        out = self.run_bot("stg", "apply")
        self.assertIn("Plan: 0 to add, 0 to change, 2 to destroy.", out)
        self.assertEqual(self.acls("stg"), {})
        self.assertEqual(sorted(a["SubnetId"] for a in self.default_acl(vpc_id)["Associations"]),
                         sorted(subnet.values()))

        # Everything on, then destroy the whole stack.
        self.edit("stg", enable_nat_gateway=True, enable_network_acls=True)
        self.assertIn("Apply complete: 6 added, 2 changed, 0 destroyed.", self.run_bot("stg", "apply"))
        out = self.run_bot("stg", "destroy", "--yes")
        for line in ("  - nat_gateway.b (", "  - eip.nat_a (", "  - network_acl.private (", "Apply complete"):
            self.assertIn(line, out)
        self.assertEqual(self.s.tagged("stg"), {})
        self.assertEqual((self.nats("stg"), self.eips("stg"), self.acls("stg")), ([], {}, {}))
        self.assertEqual(self.vpc_count(), vpcs_before)
        left = self.ec2.describe_tags(Filters=[{"Name": "key", "Values": ["deploybot:stack"]},
                                              {"Name": "value", "Values": ["stg"]}])["Tags"]
        kinds = {t["ResourceType"] for t in left}
        self.assertFalse(kinds & {"vpc", "subnet", "route-table", "elastic-ip", "network-acl"}, kinds)
        # Deleted NAT gateways stay visible for a while (AWS keeps them about an hour).
        self.assertEqual({g["State"] for g in self.nats("stg", live=False)}, {"deleted"})

    def test_upgrade_from_single_private_route_table(self):
        """Stacks deployed before one private route table per zone had one
        table, route_table.private, for both private subnets."""
        self.assertIn("Apply complete", self.run_bot("dev", "apply"))
        core = self.s.tagged("dev")
        old = self.ec2.create_route_table(VpcId=core["vpc.main"]["VpcId"], TagSpecifications=[{
            "ResourceType": "route-table", "Tags": [{"Key": "deploybot:stack", "Value": "dev"},
                                                    {"Key": "deploybot:id", "Value": "route_table.private"}]}])
        old_id = old["RouteTable"]["RouteTableId"]
        for z in "ab":
            table = core["route_table.private_" + z]
            self.ec2.replace_route_table_association(
                AssociationId=table["Associations"][0]["RouteTableAssociationId"], RouteTableId=old_id)
            self.ec2.delete_route_table(RouteTableId=table["RouteTableId"])

        # One operation at a time: the new tables come before the old one goes,
        # so the subnets must be moved over (in parallel it depends on timing).
        self.reset_calls()
        out = self.run_bot("dev", "apply", extra_env={"DEPLOYBOT_APPLY_PARALLELISM": "1"})
        self.assertEqual(self.calls()["ReplaceRouteTableAssociation"], 2)  # subnets moved, not dropped
        for line in ("  + route_table.private_a will be created", "  + route_table.private_b will be created",
                     "  - route_table.private (%s) will be destroyed" % old_id,
                     "Apply complete: 2 added, 0 changed, 1 destroyed."):
            self.assertIn(line, out)
        self.assertIn("No changes.", self.run_bot("dev", "plan"))
        state = self.s.tagged("dev")
        self.assertNotIn("route_table.private", state)
        for z in "ab":
            self.assertEqual([a["SubnetId"] for a in state["route_table.private_" + z]["Associations"]],
                             [state["subnet.private_" + z]["SubnetId"]])
        self.run_bot("dev", "destroy", "--yes")
        self.assertEqual(self.s.tagged("dev"), {})

    def test_too_many_office_cidrs_for_acls(self):
        path = os.path.join(self.dir, "environments", "prd", "stack.json")
        with open(path) as f:
            good = f.read()
        try:
            self.edit("prd", enable_network_acls=True, office_cidrs=["10.99.%d.0/24" % i for i in range(10)])
            out = self.run_bot("prd", "plan", ok=False)
            self.assertIn("environments/prd/stack.json:office_cidrs: has 10 entries but enable_network_acls "
                          "allows at most 9", out)
        finally:
            with open(path, "w") as f:
                f.write(good)


if __name__ == "__main__":
    unittest.main(verbosity=2)
