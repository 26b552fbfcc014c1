"""AWS's error code and message reach the user whatever shape the error
document has (issue 12, item 3): EC2's Response/Errors/Error, the Query
services' ErrorResponse/Error, and ErrorResponse/Errors/Error as an
independent implementation answered, for every service (the fake's
--error-shape). Checked in the command line's output and, through the bot,
in the failure status of the commit."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SHAPES = ("native", "ec2", "query", "errors-under-errorresponse")
# (service, action, logical id, code, message): short enough that all of it
# fits in a commit status (140 characters).
FAILURES = [("ec2", "CreateVpc", "vpc.main", "VpcLimitExceeded", "The maximum number of VPCs has been reached."),
            ("iam", "CreateRole", "iam_role.app", "LimitExceeded", "Cannot exceed quota for RolesPerAccount: 1000")]


def configure(s, **fields):
    code, body = harness.http("POST", s.aws_url + "/_fake/config", json.dumps(fields).encode(),
                              {"Content-Type": "application/json"})
    assert code == 200, body


class ErrorShapesCli(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        self.dir = tempfile.mkdtemp(prefix="deploybot-shapes-")
        shutil.rmtree(self.dir)
        shutil.copytree(os.path.join(harness.SRC, "deploy-configs"), self.dir)

    def tearDown(self):
        self.s.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_every_shape_every_service(self):
        for shape in SHAPES:
            for service, action, lid, code, message in FAILURES:
                # An empty account each time: the action is called again.
                self.assertEqual(harness.http("POST", self.s.aws_url + "/_fake/reset")[0], 200)
                configure(self.s, error_shape=shape)
                harness.fault(self.s.aws_url, service=service, action=action, error=code, status=400,
                              message=message)
                p = subprocess.run([harness.BIN, "apply", "dev", "--dir", self.dir], env=self.s.env(),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
                out = p.stdout.decode() + p.stderr.decode()
                self.assertEqual(p.returncode, 1, out)
                self.assertIn("%s: create failed: %s: %s (request id " % (lid, code, message), out,
                              shape + ":\n" + out)

    def test_discovery_errors_too(self):
        for shape in SHAPES:
            configure(self.s, error_shape=shape)
            harness.fault(self.s.aws_url, service="elasticloadbalancing", action="DescribeLoadBalancers",
                          error="AccessDenied", status=403, message="Not allowed to describe.")
            p = subprocess.run([harness.BIN, "plan", "dev", "--dir", self.dir], env=self.s.env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
            out = p.stdout.decode() + p.stderr.decode()
            self.assertEqual(p.returncode, 1, out)
            self.assertIn("discovery: AccessDenied: Not allowed to describe. (request id ", out, shape)


class ErrorShapesStatus(unittest.TestCase):
    """The bot's failure status carries AWS's code and message."""

    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def test_failure_status(self):
        s = self.s
        before = s.repo.head()
        for i, shape in enumerate(SHAPES):
            configure(s, error_shape=shape)
            # The VPC never comes, so each push fails on it again.
            service, action, lid, code, message = FAILURES[0]
            harness.fault(s.aws_url, service=service, action=action, error=code, status=400, message=message,
                          count=1000)
            after = s.repo.edit_json("environments/dev/stack.json",
                                     lambda d: d["office_cidrs"].append("198.51.100.%d/32" % i), shape)
            code_, body = s.deliver("push", harness.push_payload(before, after))
            self.assertEqual(code_, 202, body)
            st = s.wait_status(after, "deploybot/dev")
            self.assertEqual(st["state"], "failure", st)
            self.assertIn("%s: create failed: %s: %s" % (lid, code, message), st["description"], shape)
            harness.http("DELETE", s.aws_url + "/_fake/faults")
            before = after


if __name__ == "__main__":
    unittest.main(verbosity=2)
