"""AWS's timing (issue 17 items 4 and 5), against the shipped prd stack.

Discovery: with every call of the fake AWS answered 200 ms late, a plan's
Describe/List calls are in flight side by side (the fake counts how many at
once), at most `discovery_parallelism` per AWS service, and the plan reads
the same as before.

Apply: with the fake's timing profile (awsfake/timing.py, scaled down: a
NAT gateway takes about 2 s, a load balancer about 4 s) and EC2's
throttling on, even one apply slot is enough for the slow NAT gateway and
the slow load balancer to be pending at the same time: a waiter gives its
slot back between looks. The apply converges without a failure, a re-plan
says `No changes.`. What exists is read from the fake, never from what
deploybot prints."""
import json
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ENV = "prd"


class AwsTiming(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        self.dir = os.path.join(harness.SRC, "deploy-configs")
        self.env = self.s.env()

    def tearDown(self):
        self.s.close()

    def configure(self, **fields):
        code, body = harness.http("POST", self.s.aws_url + "/_fake/config", json.dumps(fields).encode(),
                                  {"Content-Type": "application/json"})
        self.assertEqual(code, 200, body)

    def fake_get(self, path):
        code, body = harness.http("GET", self.s.aws_url + path)
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def reset_calls(self):
        code, body = harness.http("DELETE", self.s.aws_url + "/_fake/calls")
        self.assertEqual(code, 200, body)

    def run_bot(self, *args, env=None):
        p = subprocess.run([harness.BIN] + list(args) + ["--dir", self.dir], env=env or self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, 0, out)
        return out

    def plan_in_flight(self, **env):
        """The plan's text (without the timings) and the most calls the fake
        had in flight at once while it ran."""
        self.reset_calls()
        out = self.run_bot("plan", ENV, env=dict(self.env, **env))
        return out, self.fake_get("/_fake/concurrency")["max_in_flight"]

    def test_discovery_calls_side_by_side(self):
        wanted = self.s.planned_ids(ENV)
        self.assertRegex(self.run_bot("apply", ENV), r"Apply complete: \d+ added")
        self.assertEqual(self.s.owned_ids(ENV), wanted)
        self.configure(latency_ms=200)
        out, most = self.plan_in_flight()
        self.assertIn("No changes.", out)
        # EC2 alone has a dozen providers, all of its calls at once by default.
        self.assertGreaterEqual(most, 6)
        serial_calls = self.fake_get("/_fake/calls")
        out, most = self.plan_in_flight(DEPLOYBOT_DISCOVERY_PARALLELISM="1")
        self.assertIn("No changes.", out)
        # One per service: EC2, ELBv2, IAM and Route53.
        self.assertLessEqual(most, 4)
        self.assertGreaterEqual(most, 2)
        # The same calls either way: nothing is skipped to be quick.
        self.assertEqual(self.fake_get("/_fake/calls"), serial_calls)

    def windows(self, calls, start, end, last_end):
        """(seq of the first `start` call, seq of the first `end` call after
        it, or of the last when last_end)."""
        first = next(c["seq"] for c in calls if c["action"] == start)
        ends = [c["seq"] for c in calls if c["action"] == end and c["seq"] > first]
        self.assertTrue(ends, "no %s after %s" % (end, start))
        return first, ends[-1] if last_end else ends[0]

    def test_slow_resources_wait_side_by_side(self):
        self.configure(timing="fixed", timing_scale=0.02, throttle=True)
        env = dict(self.env, DEPLOYBOT_APPLY_PARALLELISM="1", DEPLOYBOT_WAIT_FIRST_POLL_MS="2",
                   DEPLOYBOT_WAIT_MAX_POLL_MS="200", DEPLOYBOT_AWS_RETRY_BASE_MS="100")
        del env["DEPLOYBOT_WAIT_POLL_MS"]  # the schedule, not the harness's fixed interval
        wanted = self.s.planned_ids(ENV)
        self.reset_calls()
        out = self.run_bot("apply", ENV, env=env)
        self.assertRegex(out, r"Apply complete: \d+ added, 0 changed, 0 destroyed\.")
        self.assertNotIn("failed", out)
        self.assertEqual(self.s.owned_ids(ENV), wanted)
        calls = self.fake_get("/_fake/calls/log")
        # The NAT gateway pending: from its create to the waiter's last look;
        # the load balancer provisioning: from its create to its listener's.
        nat = self.windows(calls, "CreateNatGateway", "DescribeNatGateways", True)
        lb = self.windows(calls, "CreateLoadBalancer", "CreateListener", False)
        self.assertLess(max(nat[0], lb[0]), min(nat[1], lb[1]),
                        "the NAT gateway (calls %d..%d) and the load balancer (calls %d..%d) "
                        "were waited for one after the other" % (nat + lb))
        # The schedule's pauses, short at first: not the NAT waiter's own 15 s.
        looks = [c for c in calls if c["action"] == "DescribeNatGateways" and nat[0] < c["seq"] <= nat[1]]
        self.assertGreater(len(looks), 3)
        self.assertIn("No changes.", self.run_bot("plan", ENV, env=env))

    def apply_counting_threads(self, env):
        """Runs an apply and returns its output and the most threads the
        process had once its first operation started (discovery's workers,
        joined before, are not counted)."""
        p = subprocess.Popen([harness.BIN, "apply", ENV, "--dir", self.dir], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines, most, started = [], [0], threading.Event()

        def sample():
            started.wait()
            while p.poll() is None:
                try:
                    most[0] = max(most[0], len(os.listdir("/proc/%d/task" % p.pid)))
                except FileNotFoundError:
                    break

        sampler = threading.Thread(target=sample)
        sampler.start()
        for raw in p.stdout:
            lines.append(raw.decode())
            if raw.rstrip().endswith(b"..."):
                started.set()
        started.set()
        p.wait(timeout=240)
        sampler.join()
        out = "".join(lines)
        self.assertEqual(p.returncode, 0, out)
        return out, most[0]

    def test_waits_hold_no_thread(self):
        # One apply thread: while the NAT gateway, the load balancer and the
        # instances are pending, their waits are scheduled polls, not parked
        # threads, and the independent branches still complete meanwhile.
        self.configure(timing="fixed", timing_scale=0.02, throttle=True)
        env = dict(self.env, DEPLOYBOT_APPLY_PARALLELISM="1", DEPLOYBOT_WAIT_FIRST_POLL_MS="2",
                   DEPLOYBOT_WAIT_MAX_POLL_MS="200", DEPLOYBOT_AWS_RETRY_BASE_MS="100")
        del env["DEPLOYBOT_WAIT_POLL_MS"]
        wanted = self.s.planned_ids(ENV)
        self.reset_calls()
        out, most = self.apply_counting_threads(env)
        self.assertRegex(out, r"Apply complete: \d+ added, 0 changed, 0 destroyed\.")
        self.assertEqual(self.s.owned_ids(ENV), wanted)
        # The main thread and the one apply worker.
        self.assertLessEqual(most, 2, out)
        calls = self.fake_get("/_fake/calls/log")
        nat = self.windows(calls, "CreateNatGateway", "DescribeNatGateways", True)
        lb = self.windows(calls, "CreateLoadBalancer", "CreateListener", False)
        self.assertLess(max(nat[0], lb[0]), min(nat[1], lb[1]))


if __name__ == "__main__":
    unittest.main()
