"""scripts/demo.py, as `scripts/demo.sh [--host ...]` runs it after building:
for each host, the real binary with that host's fake gets three pushes
(deploy, update, revert), each answered 202 and ending in a success status
read back from the host's fake (GitLab's deliveries signed, its statuses
read through its API); an unknown host is refused."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEMO = os.path.join(harness.SRC, "scripts", "demo.py")


def run_demo(*args):
    work = tempfile.mkdtemp(prefix="deploybot-demo-")
    env = dict(os.environ, DEMO_DIR=os.path.join(work, "demo-data"), DEPLOYBOT_BIN=harness.BIN)
    try:
        p = subprocess.run([harness.PY, DEMO] + list(args), cwd=work, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=240)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return p.returncode, p.stdout.decode("utf-8", "replace")


class Demo(unittest.TestCase):
    def check_demo(self, host):
        code, out = run_demo("--host", host)
        self.assertEqual(code, 0, out[-3000:])
        self.assertIn("fake %s http://127.0.0.1:" % host, out)
        self.assertIn("/webhooks/%s)" % host, out)
        lines = [l for l in out.splitlines() if l.startswith("  status deploybot/dev")]
        # GitLab moves one status from pending to success; the others add one per state.
        states = ["success"] if host == "gitlab" else ["pending", "success"]
        self.assertEqual([l.split()[2] for l in lines], states * 3, out[-3000:])
        self.assertIn("Apply complete: 0 added, 1 changed, 0 destroyed.", lines[-1])
        self.assertEqual(out.count('webhook answered 202 {"queued":true'), 3, out[-3000:])
        self.assertIn("Demo complete.", out)

    def test_gitea(self):
        self.check_demo("gitea")

    def test_gitlab(self):
        self.check_demo("gitlab")

    def test_github(self):
        self.check_demo("github")

    def test_unknown_host(self):
        code, out = run_demo("--host", "bitbucket")
        self.assertEqual(code, 2, out)
        self.assertIn("invalid choice: 'bitbucket'", out)


if __name__ == "__main__":
    unittest.main()
