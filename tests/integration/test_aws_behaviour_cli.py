"""AWS as it really behaves (issue 12): throttling (503 RequestLimitExceeded
from EC2's token buckets) retried with backoff and jitter, and eventual
consistency (a new resource NotFound by id for a while after its create)
waited out, both without one failure. A full apply of the shipped dev stack
converges under each, re-plans `No changes.` and is destroyed again."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


class AwsBehaviour(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        self.dir = tempfile.mkdtemp(prefix="deploybot-aws-behaviour-")
        shutil.rmtree(self.dir)
        shutil.copytree(os.path.join(harness.SRC, "deploy-configs"), self.dir)
        self.env = self.s.env()
        # Production's backoff (the harness's 10 ms is for fakes that never
        # throttle); the waiters poll as in the other tests.
        self.env["DEPLOYBOT_AWS_RETRY_BASE_MS"] = "100"

    def tearDown(self):
        self.s.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def configure(self, **fields):
        code, body = harness.http("POST", self.s.aws_url + "/_fake/config", json.dumps(fields).encode(),
                                  {"Content-Type": "application/json"})
        self.assertEqual(code, 200, body)

    def run_bot(self, *args):
        p = subprocess.run([harness.BIN] + list(args) + ["--dir", self.dir], env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, 0, out)
        self.assertNotIn("failed", out)
        return out

    def calls(self):
        code, body = harness.http("GET", self.s.aws_url + "/_fake/calls/log")
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def converge(self):
        wanted = self.s.planned_ids("dev")
        self.assertIn("Apply complete", self.run_bot("apply", "dev"))
        self.assertEqual(self.s.owned_ids("dev"), wanted)
        self.assertIn("No changes.", self.run_bot("plan", "dev"))
        self.assertIn("Apply complete", self.run_bot("destroy", "dev", "--yes"))
        self.assertEqual(self.s.owned_ids("dev"), [])

    def test_throttling(self):
        # Buckets a tenth of AWS's: the apply's bursts and the waiters' polls
        # run into them again and again.
        self.configure(throttle=True, throttle_scale=0.1)
        self.converge()
        throttled = [c for c in self.calls() if c["error"] == "RequestLimitExceeded"]
        self.assertGreater(len(throttled), 5)

    def test_eventual_consistency(self):
        self.configure(eventual_consistency_ms=5000)
        self.converge()
        not_yet = [c for c in self.calls() if (c["error"] or "").endswith("NotFound")]
        self.assertTrue(not_yet, "the fake never answered NotFound for a new resource")

    def test_not_visible_yet_right_after_a_create(self):
        # What AWS answers, for a moment, to a call naming what was just
        # created (the fake's switch models it for Describe* only).
        not_yet = [("CreateSubnet", "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", 3),
                   ("AuthorizeSecurityGroupIngress", "InvalidGroup.NotFound",
                    "The security group '%s' does not exist", 2),
                   ("RunInstances", "InvalidLaunchTemplateId.NotFound",
                    "The specified launch template, with template ID %s, does not exist.", 2),
                   ("RegisterTargets", "TargetGroupNotFound", "One or more target groups not found", 1)]
        for action, code, message, count in not_yet:
            self.s_fault(action=action, error=code, status=400, message=message.replace("%s", "x"),
                         count=count)
        self.converge()
        log = self.calls()
        for action, code, _, count in not_yet:
            self.assertEqual(len([c for c in log if c["action"] == action and c["error"] == code]), count)

    def test_not_found_for_what_this_apply_did_not_create_is_an_answer(self):
        self.assertIn("Apply complete", self.run_bot("apply", "dev"))
        with open(os.path.join(self.dir, "environments/dev/stack.json")) as f:
            doc = json.load(f)
        doc["office_cidrs"].append("198.51.100.0/24")
        with open(os.path.join(self.dir, "environments/dev/stack.json"), "w") as f:
            json.dump(doc, f)
        self.assertEqual(harness.http("DELETE", self.s.aws_url + "/_fake/calls")[0], 200)
        self.s_fault(action="AuthorizeSecurityGroupIngress", error="InvalidGroup.NotFound", status=400,
                     message="The security group 'sg-1' does not exist", count=1)
        p = subprocess.run([harness.BIN, "apply", "dev", "--dir", self.dir], env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, 1, out)
        self.assertIn("security_group.alb: update failed: InvalidGroup.NotFound: The security group 'sg-1' "
                      "does not exist", out)
        self.assertEqual(len([c for c in self.calls() if c["action"] == "AuthorizeSecurityGroupIngress"]), 1)

    def s_fault(self, **spec):
        harness.fault(self.s.aws_url, **spec)

    def test_both_with_four_workers_and_one(self):
        self.configure(throttle=True, throttle_scale=0.2, eventual_consistency_ms=1000)
        self.env["DEPLOYBOT_APPLY_PARALLELISM"] = "1"
        self.converge()


if __name__ == "__main__":
    unittest.main(verbosity=2)
