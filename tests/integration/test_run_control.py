"""Control of runs, against the real binary and the fakes: a run past its
environment's run_timeout is stopped between AWS calls and fails "timed out
after Ns", and the environment's next run goes ahead; `deploybot cancel RUN`
and POST /api/runs/ID/cancel (operate token; 403 with a read token) stop a
queued run at once and a running one before its next AWS call, each ending
failed "canceled by cli" / "canceled by api", its status saying so. A run
whose operations all wait for AWS (scheduled looks, no call in flight)
times out all the same.

The fake AWS is slowed down (every call delayed) so that a run is still
running when the test acts on it."""
import json
import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"
SLOW_MS = 150  # per AWS call: a dev apply then takes many seconds


def add_office(cidr):
    return lambda d: d["office_cidrs"].append(cidr)


class RunControl(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        self.n = 0

    def start(self, run_timeout):
        self.s.edit_config(lambda c: c.update(environments={"dev": {"run_timeout": run_timeout}}))
        self.s.start_bot()

    def tearDown(self):
        self.s.close()

    # ------------------------------------------------------------ helpers
    def slow_aws(self):
        harness.fault(self.s.aws_url, action="*", error=None, delay_ms=SLOW_MS, count=100000)

    def fast_aws(self):
        code, body = harness.http("DELETE", self.s.aws_url + "/_fake/faults")
        self.assertLess(code, 300, body)

    def push_dev(self):
        """A new commit changing dev, pushed; returns its sha."""
        self.n += 1
        base = self.s.repo.head()
        sha = self.s.repo.edit_json(DEV, add_office("198.51.100.%d/32" % self.n), "dev %d" % self.n)
        code, body = self.s.deliver("push", harness.push_payload(base, sha))
        self.assertEqual(code, 202, body)
        return sha

    def run_of(self, sha):
        code, body = self.s.api("/api/runs?env=dev")
        self.assertEqual(code, 200, body)
        for r in json.loads(body)["runs"]:
            if r["sha"] == sha:
                return r
        return None

    def wait_state(self, sha, states, timeout=60):
        return harness.wait_for(lambda: (r := self.run_of(sha)) and r["state"] in states and r, timeout,
                                "the run of %.12s %s" % (sha, "/".join(states)))

    def cli(self, *args):
        p = subprocess.run([harness.BIN] + list(args) + ["--config", self.s.config_path()], env=self.s.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return p.returncode, p.stdout.decode() + p.stderr.decode()

    def cancel_api(self, run_id, token=harness.OPERATE_TOKEN):
        code, body = self.s.api("/api/runs/%d/cancel" % run_id, method="POST", body={}, token=token)
        return code, json.loads(body)

    def assert_ended(self, sha, result):
        """The run failed with `result`, and so does the commit's status."""
        run = self.wait_state(sha, ("failed", "succeeded", "skipped", "blocked"))
        self.assertEqual((run["state"], run["result"]), ("failed", result), run)
        st = self.s.wait_status(sha, "deploybot/dev")
        self.assertEqual(st["state"], "failure", st)
        self.assertIn(result, st["description"])
        return run

    # -------------------------------------------------------------- tests
    def test_run_timeout_then_the_next_run_proceeds(self):
        self.start("2s")
        self.slow_aws()
        slow = self.push_dev()
        self.wait_state(slow, ("running",))
        run = self.assert_ended(slow, "timed out after 2s")
        self.assertIn("timed out after 2s", json.loads(self.s.api("/api/runs/%d" % run["id"])[1])["log"])

        # The environment is free: its next run (with a timeout it can meet,
        # taken from the config at a reload) applies.
        self.fast_aws()
        self.s.edit_config(lambda c: c.update(environments={"dev": {"run_timeout": 3600}}))
        self.s.bot.proc.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: "changed: environments.dev.run_timeout" in self.s.bot.output(), 20, "reload")
        fast = self.push_dev()
        self.assertEqual(self.s.wait_status(fast, "deploybot/dev")["state"], "success")
        self.assertEqual(self.wait_state(fast, ("succeeded",))["state"], "succeeded")

    def test_run_timeout_while_every_resource_waits(self):
        # AWS's own times (a NAT gateway's 105 s, a load balancer's 180 s)
        # and a minute between two looks: soon every operation left is a
        # scheduled wait, no thread is in an AWS call to see the timeout, and
        # the next look is far: the applier's idle workers ask.
        self.s.extra_env["DEPLOYBOT_WAIT_POLL_MS"] = "60000"
        self.start("4s")
        code, body = harness.http("POST", self.s.aws_url + "/_fake/config",
                                  json.dumps({"timing": "fixed", "timing_scale": 1}).encode(),
                                  {"Content-Type": "application/json"})
        self.assertEqual(code, 200, body)
        sha = self.push_dev()
        self.wait_state(sha, ("running",))
        # Well before the next look, a minute after the first.
        self.wait_state(sha, ("failed",), timeout=40)
        run = self.assert_ended(sha, "timed out after 4s")
        log = json.loads(self.s.api("/api/runs/%d" % run["id"])[1])["log"]
        self.assertIn("nat_gateway.a: create...", log)
        self.assertNotIn("nat_gateway.a: created", log)

    def test_cancel_queued_and_running_by_cli_and_api(self):
        self.start("1h")
        self.slow_aws()
        a = self.push_dev()
        run_a = self.wait_state(a, ("running",))
        b, c = self.push_dev(), self.push_dev()  # dev is busy: both wait
        run_b, run_c = self.wait_state(b, ("queued",)), self.wait_state(c, ("queued",))

        # A read token may not; an operate token may.
        code, answer = self.cancel_api(run_b["id"], token=harness.READ_TOKEN)
        self.assertEqual(code, 403, answer)
        self.assertEqual(self.run_of(b)["state"], "queued")
        code, answer = self.cancel_api(run_b["id"])
        self.assertEqual(code, 200, answer)
        self.assertIn("canceled", answer["message"])
        self.assertEqual((self.run_of(b)["state"], self.run_of(b)["result"]), ("failed", "canceled by api"))

        rc, out = self.cli("cancel", str(run_c["id"]))
        self.assertEqual(rc, 0, out)
        self.assertEqual((self.run_of(c)["state"], self.run_of(c)["result"]), ("failed", "canceled by cli"))

        # The running one stops before its next AWS call.
        rc, out = self.cli("cancel", str(run_a["id"]))
        self.assertEqual(rc, 0, out)
        self.assertIn("asked to stop", out)
        self.assert_ended(a, "canceled by cli")

        d = self.push_dev()
        run_d = self.wait_state(d, ("running",))
        code, answer = self.cancel_api(run_d["id"])
        self.assertEqual(code, 200, answer)
        self.assert_ended(d, "canceled by api")

        # What cannot be canceled says why.
        rc, out = self.cli("cancel", str(run_a["id"]))
        self.assertEqual(rc, 1, out)
        self.assertIn("has ended already (failed)", out)
        code, answer = self.cancel_api(run_a["id"])
        self.assertEqual(code, 409, answer)
        code, answer = self.cancel_api(99999)
        self.assertEqual(code, 404, answer)
        rc, out = self.cli("cancel", "abc")
        self.assertEqual(rc, 2, out)

        # dev is free again: an apply with AWS at its usual speed succeeds.
        self.fast_aws()
        e = self.push_dev()
        self.assertEqual(self.s.wait_status(e, "deploybot/dev")["state"], "success")


if __name__ == "__main__":
    unittest.main()
