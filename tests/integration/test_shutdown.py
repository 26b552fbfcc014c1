"""SIGTERM to the real binary in the middle of an apply (every AWS call of
the fake slowed down): it stops accepting connections, answers the delivery
whose body is coming in, stops the run between two AWS calls without
recording an outcome, and exits (within 10 s: the time the test waits; the
time taken is printed, not asserted). Started again, it resumes the run,
which applies what is left and succeeds, nothing created twice. The same
in the middle of a drift check (every AWS call slowed down): the check is
abandoned before its next call, nothing recorded, and the bot exits as
fast."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"
STOP_DEADLINE_S = 10


class Shutdown(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)

    def tearDown(self):
        self.s.close()

    def run_row(self, run_id):
        db = sqlite3.connect(os.path.join(self.s.data_dir, "deploybot.db"))
        try:
            return db.execute("SELECT state, result FROM runs WHERE id = ?", (run_id,)).fetchone()
        finally:
            db.close()

    def wait_stopped(self, t0):
        """The exit status of the bot sent SIGTERM at t0, once it is gone
        within STOP_DEADLINE_S."""
        s = self.s
        try:
            rc = s.bot.proc.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.fail("still running %d s after SIGTERM:\n%s" % (STOP_DEADLINE_S, s.bot.output()))
        print("\nstopped %.2f s after SIGTERM" % (time.monotonic() - t0), file=sys.stderr)
        s.bot.stop()  # closes its log
        return rc

    def test_sigterm_during_an_apply(self):
        s = self.s
        s.start_bot()
        harness.fault(s.aws_url, action="*", error=None, delay_ms=200, count=100000)
        base = s.repo.head()
        sha = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev")
        code, body = s.deliver("push", harness.push_payload(base, sha))
        self.assertEqual(code, 202, body)
        harness.wait_for(lambda: ": create..." in s.bot.output(), 60, "the apply under way")
        run = json.loads(s.api("/api/runs?env=dev")[1])["runs"][0]
        self.assertEqual(run["state"], "running")
        half, rest = harness.half_sent_push(s.bot.port, base, base, "shutdown-half-sent")
        time.sleep(0.2)  # the bot has the headers and half the body

        t0 = time.monotonic()
        s.bot.proc.send_signal(signal.SIGTERM)
        half.send(rest)
        resp = half.getresponse()
        self.assertEqual(resp.status, 202, resp.read())  # the request in hand is answered
        half.close()
        with self.assertRaises(OSError):  # and no new one is taken
            harness.http("GET", s.bot_url + "/healthz")
        rc = self.wait_stopped(t0)
        self.assertEqual(rc, 0, s.bot.output())
        self.assertIn("stopped: deploybot is shutting down; the run resumes at the next start", s.bot.output())
        self.assertEqual(self.run_row(run["id"]), ("running", None))  # no outcome: it resumes
        self.assertEqual(s.latest_status(sha, "deploybot/dev")["state"], "pending")

        code, body = harness.http("DELETE", s.aws_url + "/_fake/faults")
        self.assertLess(code, 300, body)
        s.start_bot()
        self.assertEqual(s.wait_status(sha, "deploybot/dev")["state"], "success")
        done = harness.wait_for(lambda: (r := json.loads(s.api("/api/runs/%d" % run["id"])[1]))["state"] != "running"
                                and r, 30, "the run resumed")
        self.assertEqual((done["state"], done["attempts"]), ("succeeded", 2), done)
        self.assertEqual(s.owned_ids("dev"), s.planned_ids("dev"))

    def test_sigterm_during_a_drift_check(self):
        s = self.s
        s.edit_config(lambda cfg: cfg.update(environments={"dev": {"drift_interval": "2s"}}))
        s.start_bot()
        base = s.repo.head()
        sha = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev")
        code, body = s.deliver("push", harness.push_payload(base, sha))
        self.assertEqual(code, 202, body)
        self.assertEqual(s.wait_status(sha, "deploybot/dev", timeout=120)["state"], "success")
        # Every call of the next check takes 6 s: a plan waits for two or
        # three rounds of them, more than the deadline; one call, less.
        for method, path, doc in (("DELETE", "/_fake/calls", None), ("POST", "/_fake/config", {"latency_ms": 6000})):
            code, body = harness.http(method, s.aws_url + path, doc and json.dumps(doc).encode())
            self.assertLess(code, 300, body)
        # Counted as it comes in, before the latency.
        harness.wait_for(lambda: json.loads(harness.http("GET", s.aws_url + "/_fake/calls")[1]), 30,
                         "the drift check's first AWS call")

        t0 = time.monotonic()
        s.bot.proc.send_signal(signal.SIGTERM)
        rc = self.wait_stopped(t0)
        self.assertEqual(rc, 0, s.bot.output())
        self.assertIn("drift: check of dev abandoned: stopped: deploybot is shutting down", s.bot.output())
        db = sqlite3.connect(os.path.join(s.data_dir, "deploybot.db"))
        try:
            kinds = [k for (k,) in db.execute("SELECT kind FROM runs WHERE env = 'dev'")]
        finally:
            db.close()
        self.assertEqual(kinds, ["apply"])  # nothing recorded of the check


if __name__ == "__main__":
    unittest.main()
