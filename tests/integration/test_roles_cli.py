"""An AWS account per environment (issue 12): `role_arn` (and `external_id`)
of an environment in the operator's config makes every AWS call of that
environment go out signed with the role's session (STS AssumeRole from the
base credentials), from the command line (--config) and from the bot; an
environment without one is deployed with the base credentials; a wrong
external id fails with AWS's AccessDenied; a session shorter than the apply
is renewed within it."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ROLE = "arn:aws:iam::210987654321:role/deploybot-dev"
EXTERNAL_ID = "acme-dev-7"
USER_ARN = "arn:aws:iam::123456789012:user/deploybot"
DEPLOY_SERVICES = ("ec2", "elasticloadbalancing", "iam", "route53")


def configure(s, **fields):
    code, body = harness.http("POST", s.aws_url + "/_fake/config", json.dumps(fields).encode(),
                              {"Content-Type": "application/json"})
    assert code == 200, body


def calls(s):
    code, body = harness.http("GET", s.aws_url + "/_fake/calls/log")
    assert code == 200, body
    return json.loads(body)


def forget_calls(s):
    assert harness.http("DELETE", s.aws_url + "/_fake/calls")[0] == 200


def operator_config(path, external_id=EXTERNAL_ID, extra=None):
    cfg = dict(extra or {})
    cfg["environments"] = {"dev": {"role_arn": ROLE, "external_id": external_id}}
    with open(path, "w") as f:
        json.dump(cfg, f)


class RolesCli(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        configure(self.s, roles=[ROLE + ":" + EXTERNAL_ID])
        self.dir = tempfile.mkdtemp(prefix="deploybot-roles-")
        shutil.rmtree(self.dir)
        shutil.copytree(os.path.join(harness.SRC, "deploy-configs"), self.dir)
        self.conf = os.path.join(self.s.dir, "operator.json")
        operator_config(self.conf)

    def tearDown(self):
        self.s.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_bot(self, *args, code=0, **env):
        p = subprocess.run([harness.BIN] + list(args) + ["--dir", self.dir, "--config", self.conf],
                           env=dict(self.s.env(), **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=240)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, code, out)
        return out

    def deploy_calls(self):
        return [c for c in calls(self.s) if c["service"] in DEPLOY_SERVICES]

    def assert_all_as_role(self, log):
        self.assertTrue(log)
        for c in log:
            p = c["principal"]
            self.assertEqual((p["type"], p.get("role_arn"), p.get("session_name")),
                             ("assumed-role", ROLE, "deploybot-dev"), c)

    def assert_all_as_user(self, log):
        self.assertTrue(log)
        for c in log:
            self.assertEqual((c["principal"]["type"], c["principal"]["arn"]), ("user", USER_ARN), c)

    def test_each_environment_with_its_credentials(self):
        forget_calls(self.s)
        self.assertIn("Apply complete", self.run_bot("apply", "dev"))
        self.assert_all_as_role(self.deploy_calls())
        sts = [c for c in calls(self.s) if c["service"] == "sts"]
        self.assertEqual([(c["action"], c["status"]) for c in sts], [("AssumeRole", 200)])
        self.assert_all_as_user(sts)

        forget_calls(self.s)
        self.assertIn("Apply complete", self.run_bot("apply", "stg"))
        self.assert_all_as_user(calls(self.s))

        forget_calls(self.s)
        self.assertIn("No changes.", self.run_bot("plan", "dev"))
        self.assertIn("Apply complete", self.run_bot("destroy", "dev", "--yes"))
        self.assert_all_as_role(self.deploy_calls())
        self.assertEqual(self.s.owned_ids("dev"), [])
        self.assertNotEqual(self.s.owned_ids("stg"), [])

    def test_wrong_external_id_is_access_denied(self):
        operator_config(self.conf, external_id="not-" + EXTERNAL_ID)
        forget_calls(self.s)
        out = self.run_bot("plan", "dev", code=1)
        self.assertIn("assuming role %s: AccessDenied: User: %s is not authorized to perform: "
                      "sts:AssumeRole on resource: %s" % (ROLE, USER_ARN, ROLE), out)
        self.assertEqual([(c["service"], c["error"]) for c in calls(self.s)], [("sts", "AccessDenied")])

    def test_a_session_shorter_than_the_apply_is_renewed(self):
        configure(self.s, session_duration_s=3)
        # Every call slower, one at a time (discovery too, which is side by
        # side by default): the apply outlasts several sessions.
        harness.fault(self.s.aws_url, action="*", error=None, delay_ms=150, count=100000)
        forget_calls(self.s)
        self.assertIn("Apply complete", self.run_bot("apply", "dev", DEPLOYBOT_APPLY_PARALLELISM="1",
                                                     DEPLOYBOT_DISCOVERY_PARALLELISM="1"))
        log = calls(self.s)
        assumed = [c for c in log if c["action"] == "AssumeRole"]
        self.assertGreaterEqual(len(assumed), 3, "one session lasted the whole apply")
        self.assertEqual([c for c in log if c["error"]], [])
        self.assert_all_as_role([c for c in log if c["service"] in DEPLOY_SERVICES])
        self.assertGreaterEqual(len({c["principal"]["access_key"] for c in log
                                     if c["service"] in DEPLOY_SERVICES}), 3)


class RolesBot(unittest.TestCase):
    """The bot's runs use the role of the environment they deploy."""

    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        configure(self.s, roles=[ROLE + ":" + EXTERNAL_ID])
        with open(self.s.config_path()) as f:
            harness_config = json.load(f)
        operator_config(self.s.config_path(), extra=harness_config)
        self.s.start_bot()

    def tearDown(self):
        self.s.close()

    def test_push_applies_dev_as_its_role(self):
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json("environments/dev/stack.json",
                              lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev: office")
        forget_calls(s)
        code, body = s.deliver("push", harness.push_payload(base, c1))
        self.assertEqual(code, 202, body)
        st = s.wait_status(c1, "deploybot/dev")
        self.assertEqual(st["state"], "success", st)
        log = [c for c in calls(s) if c["service"] in DEPLOY_SERVICES]
        self.assertTrue(log)
        for c in log:
            self.assertEqual((c["principal"]["type"], c["principal"].get("role_arn")), ("assumed-role", ROLE))


if __name__ == "__main__":
    unittest.main(verbosity=2)
