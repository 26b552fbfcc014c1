"""Two environments of the shipped config in one account (issue 12, done
when): dev and prd applied in either order both re-plan `No changes.`, and
`destroy dev --yes` leaves prd planning `No changes.` with everything of
prd still there. ctest runs it twice: with the fake AWS applying the
requests' filters, and ignoring them (DEPLOYBOT_FAKE_AWS_ARGS, see
harness.py), when every Describe/List answers both environments' resources
and only what the answers prove decides what is whose."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


class TwoEnvs(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        self.dir = tempfile.mkdtemp(prefix="deploybot-two-envs-")
        shutil.rmtree(self.dir)
        shutil.copytree(os.path.join(harness.SRC, "deploy-configs"), self.dir)

    def tearDown(self):
        self.s.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_bot(self, *args):
        p = subprocess.run([harness.BIN] + list(args) + ["--dir", self.dir], env=self.s.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, 0, out)
        return out

    def assert_no_changes(self, *envs):
        for env in envs:
            out = self.run_bot("plan", env)
            self.assertIn("No changes.", out, env + ":\n" + out)

    def both_then_destroy_dev(self, first, second):
        wanted = {env: self.s.planned_ids(env) for env in ("dev", "prd")}
        for env in (first, second):
            self.assertIn("Apply complete", self.run_bot("apply", env))
            self.assertEqual(self.s.owned_ids(env), wanted[env])
        self.assert_no_changes("dev", "prd")

        out = self.run_bot("destroy", "dev", "--yes")
        self.assertIn("Apply complete", out)
        self.assertNotIn("(deploybot-prd-", out)   # not one of prd's named resources touched
        self.assertEqual(self.s.owned_ids("dev"), [])
        self.assertEqual(self.s.owned_ids("prd"), wanted["prd"])
        self.assert_no_changes("prd")
        self.assertIn("No changes.", self.run_bot("destroy", "dev", "--yes"))

        self.assertIn("Apply complete", self.run_bot("destroy", "prd", "--yes"))
        self.assertEqual(self.s.owned_ids("prd"), [])

    def test_dev_then_prd(self):
        self.both_then_destroy_dev("dev", "prd")

    def test_prd_then_dev(self):
        self.both_then_destroy_dev("prd", "dev")


if __name__ == "__main__":
    unittest.main(verbosity=2)
