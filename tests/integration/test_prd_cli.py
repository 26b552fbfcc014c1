"""The shipped `prd` stack, as a team starts from it: `deploybot apply prd`
builds the whole stack on an empty fake account, a second plan says
`No changes.`, `destroy --yes` leaves nothing tagged. What exists is read
from the fake's state, never from what deploybot prints."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


class PrdCli(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        self.dir = os.path.join(harness.SRC, "deploy-configs")

    def tearDown(self):
        self.s.close()

    def run_bot(self, *args):
        p = subprocess.run([harness.BIN] + list(args) + ["--dir", self.dir], env=self.s.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, 0, out)
        return out

    def test_apply_from_nothing_replan_destroy(self):
        wanted = self.s.planned_ids("prd")
        self.assertEqual(self.s.owned_ids("prd"), [])
        out = self.run_bot("apply", "prd")
        self.assertRegex(out, r"Apply complete: \d+ added, 0 changed, 0 destroyed\.")
        self.assertEqual(self.s.owned_ids("prd"), wanted)
        # Two instances across two zones, each with its own 50 GB encrypted gp3 volume.
        ec2 = self.s.ec2()
        flt = [{"Name": "tag:deploybot:stack", "Values": ["prd"]}]
        insts = [i for r in ec2.describe_instances(Filters=flt + [
            {"Name": "instance-state-name", "Values": ["running"]}])["Reservations"] for i in r["Instances"]]
        self.assertEqual(sorted(i["InstanceType"] for i in insts), ["t3.large", "t3.large"])
        self.assertEqual(len({i["Placement"]["AvailabilityZone"] for i in insts}), 2)
        vols = ec2.describe_volumes(Filters=flt + [{"Name": "tag:deploybot:id",
                                                    "Values": ["volume.data_1", "volume.data_2"]}])["Volumes"]
        self.assertEqual(sorted((v["Size"], v["VolumeType"], v["Encrypted"]) for v in vols),
                         [(50, "gp3", True)] * 2)
        self.assertIn("No changes.", self.run_bot("plan", "prd"))
        self.run_bot("destroy", "prd", "--yes")
        self.assertEqual(self.s.owned_ids("prd"), [])
        self.assertIn("No changes.", self.run_bot("destroy", "prd", "--yes"))


if __name__ == "__main__":
    unittest.main()
