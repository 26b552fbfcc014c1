"""Only reviewed commits deploy (issue 13, items 1 and 2), the real binary
against the fakes and a real git repository: the rules that decide whether a
push applies or destroys come from deploybot.json on the default branch and
the operator's config, never from the pushed commit; and a push applies only
the head of its branch, so a replayed delivery cannot roll an environment
back."""
import json
import os
import subprocess
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"
STG = "environments/stg/stack.json"


def add_office(cidr):
    return lambda d: d["office_cidrs"].append(cidr)


def alb_cidrs(s, env):
    sg = s.tagged(env)["security_group.alb"]
    return {r["CidrIp"] for p in sg["IpPermissions"] for r in p["IpRanges"]}


class Trust(unittest.TestCase):
    def tearDown(self):
        self.s.close()

    def start(self, **operator):
        """The stack, with the operator's config extended by OPERATOR."""
        self.s = harness.Stack(start_bot=False)
        path = self.s.config_path()
        with open(path) as f:
            cfg = json.load(f)
        for key, value in operator.items():
            if isinstance(value, dict):
                cfg.setdefault(key, {}).update(value)
            else:
                cfg[key] = value
        with open(path, "w") as f:
            json.dump(cfg, f)
        self.s.start_bot()
        return self.s

    def push(self, before, after, ref="refs/heads/main"):
        code, body = self.s.deliver("push", harness.push_payload(before, after, ref))
        self.assertEqual(code, 202, body)

    def runs(self, env):
        code, body = self.s.api("/api/runs?env=" + env)
        self.assertEqual(code, 200, body)
        return json.loads(body)["runs"]

    def cli(self, *args):
        p = subprocess.run([harness.BIN] + list(args) + ["--config", self.s.config_path()], env=self.s.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())

    def test_unreviewed_branch_naming_itself_only_plans(self):
        s = self.start()
        base = s.repo.head()
        harness.git(s.repo.path, "checkout", "-q", "-b", "evil")

        def take_over(d):
            d["environments"]["stg"]["branch"] = "evil"
            d["environments"]["dev"].update(branch="evil", allow_destroy=True)
        s.repo.edit_json("deploybot.json", take_over, "evil deploys stg and may destroy dev")
        s.repo.edit_json(STG, add_office("198.51.100.0/24"), "stg: evil office")
        harness.git(s.repo.path, "rm", "-q", "-r", "environments/dev")
        evil = s.repo.commit("evil: destroy dev")
        harness.git(s.repo.path, "checkout", "-q", "main")
        self.push(base, evil, ref="refs/heads/evil")
        st = s.wait_status(evil, "deploybot/stg")
        self.assertEqual(st["state"], "success", st)
        self.assertRegex(st["description"], r"^Plan only: refs/heads/evil is not the deploy branch of stg \(main\)\. "
                                            r"Plan: \d+ to add")
        st = s.wait_status(evil, "deploybot/dev")
        self.assertEqual(st["state"], "failure", st)
        self.assertEqual(st["description"], "environments/dev was deleted; not destroyed: refs/heads/evil is not the "
                                            "deploy branch of dev (main)")
        self.assertEqual(s.aws_mutations(), [])
        self.assertEqual(s.tagged("stg"), {})
        self.assertEqual([r["kind"] for r in self.runs("stg")], ["plan"])

    def assert_dev_push_refused(self, why):
        """A push to main changing dev plans, applies nothing and fails saying WHY."""
        s = self.s
        base = s.repo.head()
        c = s.repo.edit_json(DEV, add_office("198.51.100.0/24"), "dev: office")
        self.push(base, c)
        st = s.wait_status(c, "deploybot/dev")
        self.assertEqual(st["state"], "failure", st)
        self.assertTrue(st["description"].startswith("Not applied: " + why), st)
        self.assertEqual(s.aws_mutations(), [])
        self.assertEqual(self.runs("dev")[0]["state"], "blocked")

    def test_operator_and_rules_disagree_on_the_deploy_branch(self):
        self.start(environments={"dev": {"deploy_branch": "release"}})
        self.assert_dev_push_refused("the deploy branch of dev is release in the operator's config but main in "
                                     "deploybot.json on main.")

    def test_operator_allow_destroy_false_wins(self):
        s = self.start(environments={"stg": {"allow_destroy": False}})
        base = s.repo.head()
        s.repo.edit_json("deploybot.json", lambda d: d["environments"]["stg"].update(allow_destroy=True),
                         "stg may be destroyed")
        c1 = s.repo.edit_json(STG, add_office("198.51.100.0/24"), "stg: office")
        self.push(base, c1)
        self.assertEqual(s.wait_status(c1, "deploybot/stg")["state"], "success")
        deployed = s.owned_ids("stg")
        self.assertTrue(deployed)
        harness.git(s.repo.path, "rm", "-q", "-r", "environments/stg")
        c2 = s.repo.commit("stg: gone")
        self.push(c1, c2)
        st = s.wait_status(c2, "deploybot/stg")
        self.assertEqual(st["state"], "failure", st)
        self.assertEqual(st["description"], "environments/stg was deleted; not destroyed: the operator's config sets "
                                            "environments.stg.allow_destroy to false")
        self.assertEqual(s.owned_ids("stg"), deployed)

    def test_no_default_branch_applies_nothing(self):
        self.start(repo={"default_branch": "trunk"})
        self.assert_dev_push_refused("no rules on the default branch trunk: branch \"trunk\" does not exist")

    def test_default_branch_without_deploybot_json_applies_nothing(self):
        s = self.start(repo={"default_branch": "trunk"})
        harness.git(s.repo.path, "checkout", "-q", "-b", "trunk")
        harness.git(s.repo.path, "rm", "-q", "deploybot.json")
        s.repo.commit("trunk: no rules")
        harness.git(s.repo.path, "checkout", "-q", "main")
        self.assert_dev_push_refused("no rules on the default branch trunk: deploybot.json is missing at ")

    def test_replayed_push_of_an_older_commit_is_skipped(self):
        s = self.start()
        self.cli("lock", "dev", "--reason", "freeze")
        base = s.repo.head()
        b2 = s.repo.edit_json(DEV, add_office("198.51.100.0/24"), "B2")
        body = json.dumps(harness.push_payload(base, b2)).encode()
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
                   "X-Hub-Signature-256": harness.sign(body), "User-Agent": "GitHub-Hookshot/044aadd"}

        def send_b2():
            h = dict(headers, **{"X-GitHub-Delivery": str(uuid.uuid4())})
            self.assertEqual(harness.http("POST", s.bot_url + "/webhooks/github", body, h)[0], 202)
        send_b2()
        self.assertIn("freeze): not applied", s.wait_status(b2, "deploybot/dev")["description"])
        self.cli("unlock", "dev")
        c = s.repo.edit_json(DEV, lambda d: d.update(office_cidrs=["192.0.2.0/24"]), "C")
        self.push(b2, c)
        self.assertEqual(s.wait_status(c, "deploybot/dev")["state"], "success")
        self.assertEqual(alb_cidrs(s, "dev"), {"192.0.2.0/24"})
        mutations = s.aws_mutations()

        send_b2()  # the same signed body, a new delivery id
        harness.wait_for(lambda: s.latest_status(b2, "deploybot/dev")["description"].startswith("Not applied: not"),
                         60, "the replayed push is judged")
        st = s.latest_status(b2, "deploybot/dev")
        self.assertEqual(st["description"], "Not applied: not the head of main (now %s); only the branch head is "
                                            "applied" % c[:12])
        self.assertEqual(self.runs("dev")[0]["state"], "skipped")
        self.assertEqual(s.aws_mutations(), mutations)
        self.assertEqual(alb_cidrs(s, "dev"), {"192.0.2.0/24"})

        # The operator's redeploy is the bot's own decision: an older commit is applied.
        self.cli("redeploy", "dev", b2)
        harness.wait_for(lambda: self.runs("dev")[0]["state"] == "succeeded", 60, "the redeploy")
        self.assertEqual(alb_cidrs(s, "dev"), {"198.51.100.0/24", "203.0.113.0/24"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
