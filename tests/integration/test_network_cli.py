"""`deploybot plan/apply/destroy` of the network layer against the fake AWS:
create from nothing, no-op re-plan, update in place, replace, throttling
retried, a failure mid-apply followed by a converging re-apply, destroy."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


class NetworkCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(start_bot=False)
        cls.dir = tempfile.mkdtemp(prefix="deploybot-cli-")
        shutil.rmtree(cls.dir)
        shutil.copytree(os.path.join(harness.SRC, "deploy-configs"), cls.dir)
        # The network alone: no instances (the compute layer has test_compute_cli.py).
        path = os.path.join(cls.dir, "environments/stg/stack.json")
        with open(path) as f:
            doc = json.load(f)
        doc["instance_count"] = 0
        with open(path, "w") as f:
            json.dump(doc, f)

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def run_bot(self, *args, ok=True):
        env = self.s.env()
        env["DEPLOYBOT_AWS_PAGE_SIZE"] = "5"  # make discovery paginate
        p = subprocess.run([harness.BIN] + list(args) + ["--dir", self.dir], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode == 0, ok, out)
        return out

    def edit(self, fn):
        path = os.path.join(self.dir, "environments/stg/stack.json")
        with open(path) as f:
            doc = json.load(f)
        fn(doc)
        with open(path, "w") as f:
            json.dump(doc, f)

    def fault(self, **spec):
        harness.fault(self.s.aws_url, **spec)

    def test_lifecycle(self):
        out = self.run_bot("plan", "stg")
        self.assertIn("  + vpc.main will be created", out)
        self.assertRegex(out, r"Plan: \d+ to add, 0 to change, 0 to destroy\.")
        self.assertEqual(self.s.tagged("stg"), {})  # plan changes nothing

        self.fault(action="CreateSubnet", error="RequestLimitExceeded", status=503, count=2)
        out = self.run_bot("apply", "stg")
        self.assertRegex(out, r"Apply complete: \d+ added, 0 changed, 0 destroyed\.")
        self.assertEqual(self.s.owned_ids("stg"), self.s.planned_ids("stg", self.dir), out)
        state = self.s.tagged("stg")
        self.assertEqual(len(state), 11)
        self.assertTrue(state["subnet.public_a"]["MapPublicIpOnLaunch"])
        self.assertFalse(state["subnet.private_a"]["MapPublicIpOnLaunch"])
        rt = state["route_table.public"]
        self.assertEqual(sorted(a["SubnetId"] for a in rt["Associations"]),
                         sorted([state["subnet.public_a"]["SubnetId"], state["subnet.public_b"]["SubnetId"]]))
        self.assertIn(state["internet_gateway.main"]["InternetGatewayId"],
                      [r.get("GatewayId") for r in rt["Routes"]])
        for z in "ab":  # one private table per zone (each routes through its own NAT when enabled)
            self.assertEqual([a["SubnetId"] for a in state["route_table.private_" + z]["Associations"]],
                             [state["subnet.private_" + z]["SubnetId"]])
        app = state["security_group.app"]["IpPermissions"]
        self.assertEqual(app[0]["UserIdGroupPairs"][0]["GroupId"], state["security_group.alb"]["GroupId"])

        self.assertIn("No changes.", self.run_bot("plan", "stg"))
        self.assertIn("No changes.", self.run_bot("apply", "stg"))

        self.edit(lambda d: d.update(office_cidrs=["192.0.2.0/24", "198.51.100.0/24"]))
        out = self.run_bot("apply", "stg")
        self.assertIn("  ~ security_group.alb", out)
        self.assertIn("Apply complete: 0 added, 1 changed, 0 destroyed.", out)

        old_vpc = self.s.tagged("stg")["vpc.main"]["VpcId"]
        self.edit(lambda d: d.update(vpc_cidr="10.21.0.0/16", public_subnet_cidrs=["10.21.0.0/24", "10.21.1.0/24"],
                                     private_subnet_cidrs=["10.21.10.0/24", "10.21.11.0/24"]))
        self.fault(action="CreateRouteTable", error="InternalError", status=400, count=1)
        out = self.run_bot("apply", "stg", ok=False)
        self.assertIn("vpc.main (%s) must be replaced (cidr_block forces replacement)" % old_vpc, out)
        self.assertIn("Apply failed after", out)
        self.assertIn("not done:", out)
        out = self.run_bot("apply", "stg")
        self.assertIn("Apply complete", out)
        self.assertIn("No changes.", self.run_bot("plan", "stg"))
        state = self.s.tagged("stg")
        self.assertEqual(state["vpc.main"]["CidrBlock"], "10.21.0.0/16")
        self.assertNotEqual(state["vpc.main"]["VpcId"], old_vpc)
        self.assertNotIn(old_vpc, [v["VpcId"] for v in self.s.ec2().describe_vpcs()["Vpcs"]])

        self.run_bot("destroy", "stg", ok=False)  # needs --yes
        out = self.run_bot("destroy", "stg", "--yes")
        self.assertRegex(out, r"Plan: 0 to add, 0 to change, \d+ to destroy\.")
        self.assertEqual(self.s.owned_ids("stg"), [])
        self.assertEqual(self.s.tagged("stg"), {})

    def test_invalid_stack(self):
        path = os.path.join(self.dir, "environments/dev/stack.json")
        with open(path) as f:
            good = f.read()
        try:
            with open(path, "w") as f:
                f.write(good.replace('"10.10.0.0/16"', '"10.10.0.0/33"').replace('"vpc_cidr"', '"vpc_cidr"', 1)
                        .replace('"instance_count": 1', '"instance_count": "one"'))
            out = self.run_bot("apply", "dev", ok=False)
            self.assertIn("environments/dev/stack.json:vpc_cidr: expected an IPv4 CIDR", out)
            self.assertIn("environments/dev/stack.json:instance_count: expected an integer", out)
            self.assertEqual(self.s.tagged("dev"), {})
        finally:
            with open(path, "w") as f:
                f.write(good)


if __name__ == "__main__":
    unittest.main(verbosity=2)
