"""End to end: the real bot with "log_format": "json" through a push that
applies and a push whose branch name holds a secret. Every stderr line is a
JSON object with time (RFC 3339, UTC, milliseconds), level and msg; the
delivery's line carries its id, the job's lines the job and commit, the
run's lines its run id, environment and commit; the planted secret
(notify.secrets_env) never appears, masked where it would have. The same
bot with the default text format keeps its lines."""
import json
import os
import re
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"
PLANTED = "planted-secret-6Yq1Zr8Kx0"
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def started(log_format):
    s = harness.Stack(start_bot=False)
    path = s.config_path()
    with open(path) as f:
        cfg = json.load(f)
    cfg["notify"] = {"secrets_env": ["PLANTED"]}
    if log_format:
        cfg["log_format"] = log_format
    with open(path, "w") as f:
        json.dump(cfg, f)
    s.extra_env["PLANTED"] = PLANTED
    s.start_bot()
    return s


def push_and_wait(s):
    """A push that applies dev, then one to a branch named after the secret."""
    base = s.repo.head()
    c = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev: office")
    delivery = str(uuid.uuid4())
    code, body = s.deliver("push", harness.push_payload(base, c), delivery=delivery)
    assert code == 202, body
    st = s.wait_status(c, "deploybot/dev")
    assert st["state"] == "success", st
    code, body = s.deliver("push", harness.push_payload(base, c, ref="refs/heads/feature-" + PLANTED))
    assert code == 202, body
    harness.wait_for(lambda: "feature-***" in s.bot.output(), 60, "the secret branch's job logged")
    return c, delivery


class JsonLog(unittest.TestCase):
    def test_every_line_is_json_with_its_context(self):
        s = started("json")
        self.addCleanup(s.close)
        commit, delivery = push_and_wait(s)
        s.bot.stop()
        text = s.bot.output()
        self.assertNotIn(PLANTED, text)
        lines = [json.loads(ln) for ln in text.splitlines()]   # each one parses
        for doc in lines:
            self.assertIsInstance(doc, dict)
            self.assertRegex(doc["time"], TIME)
            self.assertIn(doc["level"], ("debug", "info", "warn", "error"))
            self.assertIsInstance(doc["msg"], str)
        self.assertTrue(any(d.get("delivery") == delivery and "webhook" in d["msg"] for d in lines), lines)
        runs = [d for d in lines if "run" in d]
        self.assertTrue(runs)
        for d in runs:
            self.assertEqual((d["env"], d["commit"]), ("dev", commit), d)
            self.assertFalse(d["msg"].startswith("[run"), d)   # the context is in keys, not in msg
        self.assertTrue(any("Plan:" in d["msg"] for d in runs), runs)
        jobs = [d for d in lines if "job" in d and "run" not in d]
        self.assertTrue(any(d.get("commit") == commit for d in jobs), jobs)
        self.assertTrue(any("feature-***" in d["msg"] for d in lines), lines)
        self.assertTrue(any("listening on" in d["msg"] for d in lines), lines)

    def test_text_stays_the_default(self):
        s = started(None)
        self.addCleanup(s.close)
        push_and_wait(s)
        text = s.bot.output()
        self.assertNotIn(PLANTED, text)
        self.assertRegex(text, r"(?m)^\[run \d+ dev\] Plan: ")
        self.assertRegex(text, r"(?m)^\[job \d+\] ")
        self.assertRegex(text, r"(?m)^deploybot: listening on ")
        self.assertNotRegex(text, r'(?m)^\{"time"')


class LogFormatConfig(unittest.TestCase):
    def test_bad_value_is_refused(self):
        s = harness.Stack(start_bot=False)
        self.addCleanup(s.close)
        path = s.config_path()
        with open(path) as f:
            cfg = json.load(f)
        cfg["log_format"] = "yaml"
        with open(path, "w") as f:
            json.dump(cfg, f)
        import subprocess
        p = subprocess.run([harness.BIN, "serve", "--config", path], env=s.env(), capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn('"log_format" must be "text" or "json", not "yaml"', p.stderr)
        p = subprocess.run([harness.BIN, "check", "--config", path], env=dict(s.env(), DEPLOYBOT_LOG_FORMAT="xml"),
                           capture_output=True, text=True, timeout=60)
        self.assertIn('FAIL config: config %s: "log_format" must be' % path, p.stdout)
        self.assertIn("FAIL config: environment variable DEPLOYBOT_LOG_FORMAT must be", p.stdout)


if __name__ == "__main__":
    unittest.main()
