"""Deploy branch heads reconciled on a timer (repo.reconcile_interval_s): a
push no webhook told of (GitLab sends none for a push of more than
push_event_hooks_limit refs) is applied all the same, through the path of a
push; a push whose webhook came is not run twice."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"
REPO = "ailisp/gcbapp-buildconfig-example"  # the push fixture's repository


class Reconcile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = cls.s = harness.Stack(start_bot=False)
        cfg = {"listen": "127.0.0.1", "port": 0, "data_dir": s.data_dir,
               "repo": {"url": s.repo.path, "name": REPO, "reconcile_interval_s": 1},
               "github": {"api_url": s.github_url}, "aws": {"region": harness.REGION},
               "api_tokens": harness.API_TOKENS}
        with open(s.config_path(), "w") as f:
            json.dump(cfg, f)
        s.start_bot()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def runs(self, sha, env="dev"):
        code, body = self.s.api("/api/runs?limit=100")
        self.assertEqual(code, 200, body)
        return [r for r in json.loads(body)["runs"] if r["sha"] == sha and r["env"] == env]

    def test_push_without_webhook_is_applied(self):
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev: office")
        code, body = s.deliver("push", harness.push_payload(base, c1))
        self.assertEqual(code, 202, body)
        self.assertEqual(s.wait_status(c1, "deploybot/dev")["state"], "success")

        # No webhook for this one: only the timer can find it.
        c2 = s.repo.edit_json(DEV, lambda d: d.update(office_cidrs=["192.0.2.0/24"]), "dev: new office")
        st = s.wait_status(c2, "deploybot/dev")
        self.assertEqual(st["state"], "success", st)
        self.assertEqual(st["description"], "Apply complete: 0 added, 1 changed, 0 destroyed.")
        sg = s.tagged("dev")["security_group.alb"]
        self.assertEqual(sorted({r["CidrIp"] for p in sg["IpPermissions"] for r in p.get("IpRanges", [])}),
                         ["192.0.2.0/24"])
        self.assertIn("reconcile: dev's branch main is at %s" % c2[:12], s.bot.output())
        (run,) = self.runs(c2)
        self.assertEqual((run["kind"], run["trigger"]), ("apply", "push"))
        # stg and prd were not changed since their last good commit: no runs.
        self.assertEqual(self.runs(c2, "stg"), [])

        # The first push's webhook came: its commit was run once, not again.
        self.assertEqual(len(self.runs(c1)), 1)

        # A webhook for the head after the timer applied it: already applied.
        code, body = s.deliver("push", harness.push_payload(c1, c2))
        self.assertEqual(code, 202, body)
        harness.wait_for(lambda: s.latest_status(c2, "deploybot/dev")["description"].startswith("Already applied"),
                         60, "the late webhook is not applied again")


if __name__ == "__main__":
    unittest.main(verbosity=2)
