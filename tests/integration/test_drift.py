"""Drift detection (bot/drift.h) against the real binary and the fake AWS:
a security group rule added out of band (as someone would in the console)
is found within one drift_interval, recorded once as a "drift" run with its
plan and told once to chat; the same drift found again adds nothing; undone,
it is "drift resolved". With drift_remediate the bot applies the deployed
commit back (a "remediate" run) and the rule is gone from AWS, unless the
environment is locked, and then once it is unlocked. `deploybot drift`
exits 0, 2 and 1."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

REPO = "ailisp/gcbapp-buildconfig-example"  # the push fixture's repository
HOOK_SECRET = "drift-hook-secret-0123456789"
ROGUE = "100.64.0.0/24"  # what "someone" opens by hand
ROGUE2 = "198.18.0.0/15"


class Drift(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = cls.s = harness.Stack(start_bot=False, chat=True)
        s.extra_env = {"DRIFT_HOOK_URL": s.chat_url + "/hook/drift", "DRIFT_HOOK_SECRET": HOOK_SECRET}
        cfg = {"listen": "127.0.0.1", "port": 0, "data_dir": s.data_dir,
               "repo": {"url": s.repo.path, "name": REPO},
               "github": {"api_url": s.github_url}, "aws": {"region": harness.REGION},
               "api_tokens": harness.API_TOKENS,
               "notify": {"chat": [{"type": "webhook", "url_env": "DRIFT_HOOK_URL",
                                    "secret_env": "DRIFT_HOOK_SECRET", "events": ["drift"]}]},
               "environments": {"dev": {"drift_interval": "2s"},
                                "stg": {"drift_interval": 2, "drift_remediate": True},
                                "prd": {"drift_interval": 0}}}
        with open(s.config_path(), "w") as f:
            json.dump(cfg, f)
        with s.closed_on_failure():
            s.start_bot()
            base = s.repo.head()
            for env in ("dev", "stg"):
                cls.deployed = s.repo.edit_json("environments/%s/stack.json" % env,
                                                lambda d: d["office_cidrs"].append("198.51.100.0/24"), env)
            code, body = s.deliver("push", harness.push_payload(base, cls.deployed))
            assert code == 202, (code, body)
            for env in ("dev", "stg"):
                st = s.wait_status(cls.deployed, "deploybot/" + env, timeout=180)
                assert st["state"] == "success", st

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    # ------------------------------------------------------------ helpers
    def wait(self, fn, what, timeout=120):
        try:
            return harness.wait_for(fn, timeout, what)
        except AssertionError:
            sys.stderr.write(self.s.bot.output()[-6000:])
            raise

    def runs(self, env, kind):
        code, body = self.s.api("/api/runs?limit=200")
        self.assertEqual(code, 200, body)
        return [r for r in json.loads(body)["runs"] if r["env"] == env and r["kind"] == kind]

    def run_log(self, run_id):
        code, body = self.s.api("/api/runs/%d" % run_id)
        self.assertEqual(code, 200, body)
        return json.loads(body)["log"]

    def told(self, env):
        """The drift messages of env the chat webhook received, oldest first."""
        reqs = json.loads(harness.http("GET", self.s.chat_url + "/_fake/requests")[1])
        return [r["json"] for r in reqs if r["path"] == "/hook/drift" and r["accepted"]
                and r["json"]["environment"] == env]

    def alb_group(self, env):
        return self.s.tagged(env)["security_group.alb"]

    def cidrs(self, env):
        sg = self.alb_group(env)
        return sorted({r["CidrIp"] for p in sg["IpPermissions"] for r in p.get("IpRanges", [])})

    def rule(self, env, cidr, add):
        """Opens (or closes) port 443 to cidr on env's load balancer group, out of band."""
        perm = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": cidr}]}]
        call = self.s.ec2().authorize_security_group_ingress if add else self.s.ec2().revoke_security_group_ingress
        call(GroupId=self.alb_group(env)["GroupId"], IpPermissions=perm)

    def checks(self, env, what, sha=None):
        """How many of env's checks of sha (the deployed commit) ended with `what` so far (the bot's log)."""
        line = "deploybot: drift: %s checked at %s: %s\n" % (env, (sha or self.deployed)[:12], what)
        return self.s.bot.output().count(line)

    def cli(self, *args):
        p = subprocess.run([harness.BIN, "drift"] + list(args), env=self.s.env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    # -------------------------------------------------------------- tests
    def test_1_drift_is_told_once_then_resolved(self):
        # In sync after the deploy: checks run, and record and tell nothing.
        self.wait(lambda: self.checks("dev", "in sync") >= 1, "dev checked in sync")
        self.assertEqual(self.runs("dev", "drift"), [])
        self.assertNotIn(ROGUE, self.cidrs("dev"))

        self.rule("dev", ROGUE, add=True)
        (run,) = self.wait(lambda: self.runs("dev", "drift"), "dev drifted")
        self.assertEqual((run["state"], run["trigger"], run["sha"]), ("drifted", "schedule", self.deployed))
        self.assertEqual(run["result"], "Plan: 0 to add, 1 to change, 0 to destroy.")
        log = self.run_log(run["id"])
        self.assertIn("~ security_group.alb", log)
        self.assertIn(ROGUE, log)
        (msg,) = self.wait(lambda: self.told("dev"), "the drift told to chat")
        self.assertEqual((msg["event"], msg["changes"], msg["sha"]), ("drift", True, self.deployed))
        self.assertIn(ROGUE, msg["plan"])
        self.assertEqual(msg["summary"], "Plan: 0 to add, 1 to change, 0 to destroy.")
        self.assertTrue(msg["run_url"].endswith("/runs/%d" % run["id"]), msg)
        self.assertEqual(self.runs("dev", "remediate"), [])  # dev does not remediate
        self.assertIn(ROGUE, self.cidrs("dev"))

        # Two more intervals find the same drift: no run, no message.
        seen = self.checks("dev", "the drift reported, unchanged")
        self.wait(lambda: self.checks("dev", "the drift reported, unchanged") >= seen + 2, "two more checks")
        self.assertEqual(len(self.runs("dev", "drift")), 1)
        self.assertEqual(len(self.told("dev")), 1)

        # Undone by hand: resolved, once.
        self.rule("dev", ROGUE, add=False)
        self.wait(lambda: len(self.runs("dev", "drift")) == 2, "drift resolved")
        resolved = self.runs("dev", "drift")[0]  # newest first
        self.assertEqual((resolved["state"], resolved["result"]), ("succeeded", "drift resolved"))
        msgs = self.wait(lambda: len(self.told("dev")) == 2 and self.told("dev"), "resolved told")
        self.assertEqual((msgs[1]["changes"], msgs[1]["summary"], msgs[1]["plan"]), (False, "drift resolved", None))
        seen = self.checks("dev", "in sync")
        self.wait(lambda: self.checks("dev", "in sync") >= seen + 1, "dev checked in sync again")
        self.assertEqual(len(self.runs("dev", "drift")), 2)
        self.assertEqual(len(self.told("dev")), 2)

    def test_2_remediation_puts_it_back_unless_locked(self):
        self.rule("stg", ROGUE, add=True)
        (rem,) = self.wait(lambda: [r for r in self.runs("stg", "remediate") if r["state"] == "succeeded"],
                           "stg remediated")
        self.assertEqual((rem["trigger"], rem["sha"]), ("drift", self.deployed))
        self.assertEqual(rem["result"], "Apply complete: 0 added, 1 changed, 0 destroyed.")
        self.assertNotIn(ROGUE, self.cidrs("stg"))
        self.assertIn("198.51.100.0/24", self.cidrs("stg"))
        (drift,) = self.runs("stg", "drift")
        self.assertEqual(drift["state"], "drifted")
        self.assertIn("drift_remediate: the deployed commit is applied again", self.run_log(drift["id"]))
        (msg,) = self.told("stg")
        self.assertEqual(msg["summary"], "Plan: 0 to add, 1 to change, 0 to destroy. Remediating: run #%d applies %s again."
                         % (rem["id"], self.deployed[:12]))

        # Locked: the drift is told, nothing is applied.
        lock = subprocess.run([harness.BIN, "lock", "stg", "--reason", "incident 42", "--config", self.s.config_path()],
                              env=self.s.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(lock.returncode, 0, lock.stderr)
        self.rule("stg", ROGUE2, add=True)
        self.wait(lambda: len(self.told("stg")) == 2, "the locked drift told")
        self.assertIn("Not remediated: stg is locked (", self.told("stg")[1]["summary"])
        self.assertIn("incident 42", self.told("stg")[1]["summary"])
        seen = self.checks("stg", "the drift reported, unchanged")
        self.wait(lambda: self.checks("stg", "the drift reported, unchanged") >= seen + 1, "stg checked again")
        self.assertEqual(len(self.runs("stg", "remediate")), 1)
        self.assertIn(ROGUE2, self.cidrs("stg"))

        # Unlocked: the next check applies it back, without a new message.
        unlock = subprocess.run([harness.BIN, "unlock", "stg", "--config", self.s.config_path()],
                                env=self.s.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(unlock.returncode, 0, unlock.stderr)
        self.wait(lambda: len([r for r in self.runs("stg", "remediate") if r["state"] == "succeeded"]) == 2,
                  "stg remediated after the unlock")
        self.assertNotIn(ROGUE2, self.cidrs("stg"))
        self.assertEqual(len(self.runs("stg", "drift")), 2)
        self.assertEqual(len(self.told("stg")), 2)

    def test_3_cli_exit_codes(self):
        conf = self.s.config_path()
        rc, out, err = self.cli("dev", "--config", conf)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("No changes.", out)

        rc, out, err = self.cli("dev", "--dir", self.s.repo.path)
        self.assertEqual(rc, 0, out + err)

        self.rule("dev", ROGUE2, add=True)
        try:
            rc, out, err = self.cli("dev", "--config", conf)
            self.assertEqual(rc, 2, out + err)
            self.assertIn("~ security_group.alb", out)
            self.assertIn(ROGUE2, out)
            rc, out, err = self.cli("dev", "--dir", self.s.repo.path)
            self.assertEqual(rc, 2, out + err)
            self.assertIn(ROGUE2, out)
        finally:
            self.rule("dev", ROGUE2, add=False)

        rc, out, err = self.cli("prd", "--config", conf)  # never deployed
        self.assertEqual(rc, 1, out + err)
        self.assertIn("prd has nothing deployed by this bot", err)
        rc, out, err = self.cli("dev", "--dir", os.path.join(self.s.dir, "no-such-checkout"))
        self.assertEqual(rc, 1, out + err)
        rc, out, err = self.cli("dev", "--dir", self.s.repo.path, "--config", conf)  # one or the other
        self.assertEqual(rc, 1, out + err)
        self.assertIn("usage:", err)

    def test_4_a_deploy_is_never_taken_for_drift(self):
        """While a run applies a new commit, AWS is neither the old commit nor
        the new one: a check then must wait, or be abandoned."""
        s = self.s
        seen = self.checks("dev", "in sync")
        self.wait(lambda: self.checks("dev", "in sync") > seen, "dev in sync")
        before = len(self.runs("dev", "drift"))
        base = s.repo.head()
        c2 = s.repo.edit_json("environments/dev/stack.json", lambda d: d["office_cidrs"].append("192.0.2.0/24"),
                              "dev: second office")
        # The new rule is in AWS, the run still waits for its answer: AWS is
        # neither commit for 2.5 intervals.
        harness.fault(s.aws_url, action="AuthorizeSecurityGroupIngress", error=None, delay_ms=5000, apply=True)
        code, body = s.deliver("push", harness.push_payload(base, c2))
        self.assertEqual(code, 202, body)
        self.assertEqual(s.wait_status(c2, "deploybot/dev", timeout=180)["state"], "success")
        self.wait(lambda: self.checks("dev", "in sync", sha=c2) >= 1, "dev checked at the new commit")
        self.assertEqual(len(self.runs("dev", "drift")), before)
        self.assertIn("192.0.2.0/24", self.cidrs("dev"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
