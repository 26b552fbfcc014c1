"""Merge to deploy, revert to roll back: one apply per commit, coalescing,
environments in parallel, locks, redeploy, auto_rollback, history (CLI and
API) and crash safety with SIGKILL — the real binary against the fakes."""
import json
import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"
STG = "environments/stg/stack.json"


def add_office(cidr):
    return lambda d: d["office_cidrs"].append(cidr)


class Runs(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack()

    def tearDown(self):
        self.s.close()

    def push(self, before, after, **kw):
        code, body = self.s.deliver("push", harness.push_payload(before, after), **kw)
        self.assertEqual(code, 202, body)
        return json.loads(body)

    def api(self, path):
        code, body = self.s.api(path)
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def runs(self, env=None):
        return self.api("/api/runs" + ("?env=" + env if env else ""))["runs"]

    def cli(self, *args):
        p = subprocess.run([harness.BIN] + list(args) + ["--config", self.s.config_path()], env=self.s.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return p.returncode, p.stdout.decode() + p.stderr.decode()

    def wait_runs_done(self, n, timeout=60):
        def done():
            rs = self.runs()
            return rs if len(rs) >= n and all(r["state"] not in ("queued", "running") for r in rs) else None
        return harness.wait_for(done, timeout, "%d runs finished" % n)

    def test_history_api_cli_and_merge(self):
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json(DEV, add_office("198.51.100.0/24"), "dev: office")
        # A merged PR sends pull_request closed and a push: only the push applies.
        pr = json.loads(harness.fixture("github/reallyfastci.pull_request.closed.merged.json"))
        pr["pull_request"]["head"]["sha"] = c1
        pr["pull_request"]["base"]["sha"] = base
        code, _ = s.deliver("pull_request", pr)
        self.assertEqual(code, 202)
        self.push(base, c1)
        st = s.wait_status(c1, "deploybot/dev")
        self.assertEqual(st["state"], "success")
        runs = self.wait_runs_done(1)
        self.assertEqual(len(runs), 1, runs)
        r = runs[0]
        self.assertEqual((r["env"], r["sha"], r["kind"], r["trigger"], r["state"]),
                         ("dev", c1, "apply", "push", "succeeded"))
        self.assertRegex(r["plan_summary"], r"^Plan: \d+ to add, 0 to change, 0 to destroy\.$")
        self.assertTrue(st["target_url"].endswith("/runs/%d" % r["id"]))
        one = self.api("/api/runs/%d" % r["id"])
        self.assertRegex(one["log"], r"Apply complete: \d+ added")
        self.assertIsNotNone(one["duration_ms"])
        self.assertEqual(s.api("/api/runs/999")[0], 404)
        # The pages people reach from a status link.
        code, page = s.api(st["target_url"])
        self.assertEqual(code, 200)
        self.assertIn(b"Apply complete", page)  # the run, rendered by the server
        code, page = s.api("/")
        self.assertEqual((code, b'id="env-dev" data-state=in_sync' in page), (200, True))
        rc, out = self.cli("history", "dev")
        self.assertEqual(rc, 0, out)
        self.assertIn("apply    %s push          succeeded" % c1[:12], out)
        self.assertIn("last good commit of dev: " + c1, out)
        rc, out = self.cli("history", "--json")
        self.assertEqual(json.loads(out)[0]["id"], r["id"])

    def test_coalescing_and_parallel_environments(self):
        s = self.s
        base = s.repo.head()
        both = s.repo.edit_json(STG, add_office("198.51.100.0/24"), "stg")
        both = s.repo.edit_json(DEV, add_office("198.51.100.0/24"), "dev")
        # Slow AWS down so that runs overlap for real.
        harness.fault(s.aws_url, action="CreateVpc", delay_ms=1500, count=2, error=None)
        self.push(base, both)
        # A push applies only its branch's head: the next commits come once both runs have started.
        harness.wait_for(lambda: {r["env"] for r in self.runs() if r["state"] == "running"} == {"dev", "stg"}, 20,
                         "dev and stg running")
        c1 = s.repo.edit_json(DEV, add_office("192.0.2.0/24"), "dev 1")
        c2 = s.repo.edit_json(DEV, add_office("192.0.2.128/25"), "dev 2")
        c3 = s.repo.edit_json(DEV, add_office("10.99.0.0/16"), "dev 3")
        for before, after in ((both, c1), (c1, c2), (c2, c3)):
            self.push(before, after)
        runs = self.wait_runs_done(5)
        by_sha = {(r["env"], r["sha"]): r for r in runs}
        dev0, stg0 = by_sha[("dev", both)], by_sha[("stg", both)]
        self.assertEqual((dev0["state"], stg0["state"]), ("succeeded", "succeeded"))
        # dev and stg ran at the same time; dev's runs never overlapped.
        self.assertLess(stg0["started_ms"], dev0["finished_ms"])
        self.assertLess(dev0["started_ms"], stg0["finished_ms"])
        self.assertEqual(by_sha[("dev", c1)]["state"], "superseded")
        self.assertEqual(by_sha[("dev", c2)]["state"], "superseded")
        self.assertEqual(by_sha[("dev", c3)]["state"], "succeeded")
        self.assertGreaterEqual(by_sha[("dev", c3)]["started_ms"], dev0["finished_ms"])
        st = s.wait_status(c1, "deploybot/dev")
        self.assertEqual(st["description"], "Not applied on its own: superseded by %s" % c3[:12])
        cidrs = {r["CidrIp"] for p in s.tagged("dev")["security_group.alb"]["IpPermissions"]
                 for r in p["IpRanges"]}
        self.assertIn("10.99.0.0/16", cidrs)

    def test_head_applied_when_pushes_arrive_out_of_order(self):
        """Run ids follow dispatch, not history: c2's push delivered before
        c1's (its parent) gives c1 the newest queued apply, which supersedes
        c2's and is then skipped as not the head; c2 must still be applied."""
        s = self.s
        first = s.running_dev_run(200, 10000)  # dev busy until its faults are cleared
        c1 = s.repo.edit_json(DEV, add_office("192.0.2.0/24"), "dev 1")
        c2 = s.repo.edit_json(DEV, add_office("10.99.0.0/16"), "dev 2")
        self.push(c1, c2)
        self.push(first["sha"], c1)
        harness.wait_for(lambda: len(self.runs("dev")) == 3, 60, "both pushes queued behind the running run")
        self.assertEqual(harness.http("DELETE", s.aws_url + "/_fake/faults")[0], 200)
        by_sha = {r["sha"]: r for r in self.wait_runs_done(3, timeout=120)}
        self.assertEqual(by_sha[first["sha"]]["state"], "succeeded")
        self.assertEqual(by_sha[c1]["state"], "skipped")
        self.assertEqual(by_sha[c2]["state"], "succeeded")
        st = s.latest_status(c2, "deploybot/dev")
        self.assertEqual(st["state"], "success")
        self.assertNotIn("superseded", st["description"])
        self.assertIn("Apply complete", self.api("/api/runs/%d" % by_sha[c2]["id"])["log"])
        self.assertIn("Not applied: not the head of main (now %s)" % c2[:12],
                      s.latest_status(c1, "deploybot/dev")["description"])
        cidrs = {r["CidrIp"] for p in s.tagged("dev")["security_group.alb"]["IpPermissions"]
                 for r in p["IpRanges"]}
        self.assertTrue({"192.0.2.0/24", "10.99.0.0/16"} <= cidrs, cidrs)

    def test_lock_unlock_redeploy(self):
        s = self.s
        rc, out = self.cli("lock", "dev", "--reason", "release freeze")
        self.assertEqual(rc, 0, out)
        base = s.repo.head()
        c1 = s.repo.edit_json(DEV, add_office("198.51.100.0/24"), "dev")
        self.push(base, c1)
        st = s.wait_status(c1, "deploybot/dev")
        self.assertEqual(st["state"], "failure")
        self.assertIn("Locked (", st["description"])
        self.assertRegex(st["description"], r"release freeze\): not applied\. Plan: \d+ to add")
        self.assertEqual(s.tagged("dev"), {})
        self.assertEqual(self.runs("dev")[0]["state"], "blocked")
        self.assertEqual(self.cli("unlock", "dev")[0], 0)
        rc, out = self.cli("redeploy", "dev", c1)
        self.assertEqual(rc, 0, out)
        harness.wait_for(lambda: s.latest_status(c1, "deploybot/dev")["state"] == "success", 60, "redeploy")
        self.assertIn("vpc.main", s.tagged("dev"))
        self.assertEqual(self.runs("dev")[0]["trigger"], "redeploy")
        self.assertNotEqual(self.cli("redeploy", "dev", "abc")[0], 0)

    def test_auto_rollback(self):
        s = self.s
        base = s.repo.head()
        good = s.repo.edit_json("deploybot.json",
                                lambda d: d["environments"]["dev"].update(auto_rollback=True), "auto")
        good = s.repo.edit_json(DEV, add_office("198.51.100.0/24"), "dev good")
        self.push(base, good)
        self.assertEqual(s.wait_status(good, "deploybot/dev")["state"], "success")
        bad = s.repo.edit_json(DEV, lambda d: d.update(office_cidrs=["192.0.2.0/24"]), "dev bad")
        harness.fault(s.aws_url, action="AuthorizeSecurityGroupIngress", error="InvalidPermission.Malformed",
                   status=400, count=1)
        self.push(good, bad)
        st = s.wait_status(bad, "deploybot/dev")
        self.assertEqual(st["state"], "failure")
        self.assertIn("auto-rollback to %s succeeded" % good[:12], st["description"])
        cidrs = {r["CidrIp"] for p in s.tagged("dev")["security_group.alb"]["IpPermissions"]
                 for r in p["IpRanges"]}
        self.assertEqual(cidrs, {"198.51.100.0/24", "203.0.113.0/24"})

    def kill_and_resume(self, point_log, setup_fault, attempts=2, kill_when=None):
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json(DEV, add_office("198.51.100.0/24"), "dev")
        setup_fault()
        self.push(base, c1)
        harness.wait_for(lambda: point_log in s.bot.output(), 30, "bot reached " + point_log)
        if kill_when:
            harness.wait_for(kill_when, 30, "kill point")
        s.bot.stop(signal.SIGKILL)
        s.start_bot()
        st = s.wait_status(c1, "deploybot/dev")
        self.assertEqual(st["state"], "success", st)
        harness.wait_for(lambda: self.runs("dev")[0]["state"] == "succeeded", 30, "run recorded")
        runs = self.runs("dev")
        self.assertEqual(len(runs), 1, runs)
        self.assertEqual(runs[0]["attempts"], attempts)
        # Everything the plan wanted exists once: nothing was created twice.
        self.assertEqual(s.owned_ids("dev"), s.planned_ids("dev"))
        vpcs = s.ec2().describe_vpcs(Filters=[{"Name": "tag:deploybot:stack", "Values": ["dev"]}])["Vpcs"]
        self.assertEqual(len(vpcs), 1)
        rc, out = self.cli("history", "dev")
        self.assertIn("succeeded", out)

    def test_sigkill_while_planning(self):
        self.kill_and_resume("apply of", lambda: harness.fault(self.s.aws_url, action="DescribeSubnets",
                                                             delay_ms=3000, count=1, error=None))

    def test_sigkill_while_applying(self):
        self.kill_and_resume("subnet.public_b: create...",
                             lambda: harness.fault(self.s.aws_url, action="CreateSubnet", delay_ms=3000, count=2,
                                                error=None, after=1, apply=True))

    def test_sigkill_while_notifying(self):
        # The run is over; its statuses wait in the outbox and are sent after the restart.
        # The log line comes just before the run is recorded, so wait for the record too.
        self.kill_and_resume("Apply complete", lambda: harness.fault(self.s.github_url, path_regex="/statuses/",
                                                                  delay_ms=3000, count=3, status=500, after=1),
                             attempts=1, kill_when=lambda: self.runs("dev")[0]["state"] == "succeeded")

    def test_sigkill_while_fetching(self):
        # The bot fetches over git:// through a proxy that holds the first
        # connection: the bot is killed in the middle of its first clone.
        s = self.s
        daemon = harness.GitDaemon(s.dir)
        proxy = harness.StallingProxy(daemon.port)
        try:
            s.bot.stop()  # it has fetched nothing yet; it starts again on the git:// URL
            os.unlink(s.config_path())
            s.repo_url = "git://127.0.0.1:%d/config-repo" % proxy.port
            s.start_bot()
            base = s.repo.head()
            c1 = s.repo.edit_json(DEV, add_office("198.51.100.0/24"), "dev")
            self.push(base, c1)
            harness.wait_for(lambda: proxy.held, 30, "the bot's fetch reached the git server")
            s.bot.stop(signal.SIGKILL)
            proxy.release()
            s.start_bot()
            st = s.wait_status(c1, "deploybot/dev")
            self.assertEqual(st["state"], "success", st)
            runs = self.wait_runs_done(1)
            self.assertEqual(len(runs), 1)
            self.assertEqual(runs[0]["state"], "succeeded")
            self.assertEqual(s.owned_ids("dev"), s.planned_ids("dev"))
        finally:
            proxy.close()
            daemon.stop()

if __name__ == "__main__":
    unittest.main(verbosity=2)
