"""The plan people read (deploy/plan_render.h), from the real binary: dev is
applied by a push, then a pull request changes the user-data template and
dev's office CIDRs. Its plan comment shows the user-data as a line diff, the
security group's rules as removed/added items, "(sensitive)" for a variable
named like a secret and for a line holding a notify.secrets_env value, no
line over 100 columns and no colour; the run page logged the same lines.
`deploybot plan` of the same checkout prints the same text, in colour on a
terminal only, and without it for --no-color or NO_COLOR; with
limits.plan_list_items 1 it shows one rule of each side and counts the
other; and when the running script cannot be read, the plan fails naming
the instance."""
import json
import os
import pty
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

PR_REPO = "Codertocat/Hello-World"     # repository of the pull request fixture
DEV = "environments/dev/stack.json"
TEMPLATE = "modules/dify/user_data.sh"
PLANTED = "plan-s3cret-0123456789abcdef"
TOKEN_VALUE = "tok-abcdef123456"
GREEN, MAGENTA = "\033[32m", "\033[35m"


def plan_block(body, env):
    m = re.search(r"<details><summary>%s: full plan</summary>\n\n```\n(.*?)```\n" % env, body, re.S)
    return m.group(1) if m else None


def lines(text):
    return [l for l in text.splitlines() if l.strip()]


class PlanText(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = cls.s = harness.Stack(start_bot=False)
        s.extra_env = {"PLAN_SECRET": PLANTED}
        s.notify = {"secrets_env": ["PLAN_SECRET"]}
        with s.closed_on_failure():
            s.start_bot()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def deliver(self, event, doc):
        code, body = self.s.deliver(event, doc)
        self.assertEqual(code, 202, body)

    def plan_cli(self, *flags, tty=False, env=None):
        """`deploybot plan dev` of the config repository's checkout: its stdout."""
        argv = [harness.BIN, "plan", "dev", "--dir", self.s.repo.path, "--config", self.s.config_path()]
        e = dict(self.s.env(), **(env or {}))
        if not tty:
            p = subprocess.run(argv + list(flags), env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            return p.stdout.decode()
        master, slave = pty.openpty()
        p = subprocess.Popen(argv + list(flags), env=e, stdout=slave)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:   # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        self.assertEqual(p.wait(timeout=120), 0)
        return out.decode().replace("\r\n", "\n")

    def test_plan_comment_cli_and_run_page(self):
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("192.0.2.0/24"), "dev: deploy")
        self.deliver("push", harness.push_payload(base, c1))
        self.assertEqual(s.wait_status(c1, "deploybot/dev", timeout=120)["state"], "success")

        harness.git(s.repo.path, "checkout", "-q", "-b", "feature")
        with open(os.path.join(s.repo.path, TEMPLATE)) as f:
            script = f.read()
        self.assertIn('DIFY_VERSION="1.11.2"', script)
        script = script.replace('DIFY_VERSION="1.11.2"', 'DIFY_VERSION="1.12.0"').replace(
            "set -euo pipefail\n", "set -euo pipefail\nexport API_TOKEN=%s\ncurl -sH 'X-Key: %s' "
            "https://hooks.example.com/boot\n" % (TOKEN_VALUE, PLANTED))
        s.repo.write(TEMPLATE, script, "user-data: Dify 1.12.0, a boot hook")
        head = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev: office")
        self.deliver("pull_request", harness.pr_payload(c1, head))
        st = s.wait_status(head, "deploybot/dev", timeout=120, repo=PR_REPO)
        self.assertEqual(st["state"], "success", st)

        def dev_plan():
            code, body = harness.http("GET", s.github_url + "/repos/%s/issues/7/comments" % PR_REPO,
                                      headers={"Authorization": "token " + harness.GITHUB_TOKEN})
            found = [plan_block(c["body"], "dev") for c in json.loads(body)]
            return next((p for p in found if p), None)
        plan = harness.wait_for(dev_plan, 60, "dev's plan in the pull request comment")

        m = re.search(r"^  -/\+ instance\.app_1 \((i-[0-9a-f]+)\) must be replaced "
                      r"\(user_data_sha256 forces replacement\)$", plan, re.M)
        self.assertTrue(m, plan)
        instance = m.group(1)
        for line in ("      user_data:",
                     '        - DIFY_VERSION="1.11.2"       # a tag of github.com/langgenius/dify',
                     '        + DIFY_VERSION="1.12.0"       # a tag of github.com/langgenius/dify',
                     "        + export API_TOKEN=(sensitive)",
                     "        + (sensitive)",
                     '          DATA_VOLUME_ID="${data_volume_id}"'):
            self.assertIn(line + "\n", plan)
        # Rules are a set: the old ones leave, the new ones join, each indented.
        self.assertRegex(plan, r"(?m)^  ~ security_group\.alb \(sg-[0-9a-f]+\) will be updated in place\n")
        self.assertIn('      ingress:\n        - {\n            cidrs: ["192.0.2.0/24", "203.0.113.0/24"]\n'
                      '            from_port: 443\n', plan)
        self.assertIn('        + {\n            cidrs: ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]\n'
                      '            from_port: 443\n', plan)
        for secret in (TOKEN_VALUE, PLANTED, "***"):
            self.assertNotIn(secret, plan)
        self.assertNotIn("\033", plan)
        self.assertLessEqual(max(len(l) for l in plan.splitlines()), 100)
        # The running instance's script was read to show it.
        calls = json.loads(harness.http("GET", s.aws_url + "/_fake/calls")[1])
        self.assertGreaterEqual(calls.get("DescribeInstanceAttribute", 0), 1, calls)

        # The run page logged the same lines.
        code, run = s.api(st["target_url"].replace("/runs/", "/api/runs/"))
        self.assertEqual(code, 200, run)
        self.assertIn("\n".join(lines(plan)), json.loads(run)["log"])

        # The CLI: the same text, in colour on a terminal only.
        piped = self.plan_cli()
        self.assertIn("\n".join(lines(plan)), piped)
        self.assertNotIn("\033", piped)
        shown = self.plan_cli(tty=True)
        self.assertIn(MAGENTA + "  -/+ instance.app_1 (%s) must be replaced" % instance, shown)
        self.assertIn(GREEN + "        + export API_TOKEN=(sensitive)\033[0m\n", shown)
        self.assertEqual(re.sub(r"\033\[\d+m", "", shown), piped)
        self.assertNotIn("\033", self.plan_cli("--no-color", tty=True))
        self.assertNotIn("\033", self.plan_cli(tty=True, env={"NO_COLOR": "1"}))
        self.assertIn(GREEN, self.plan_cli(tty=True, env={"NO_COLOR": ""}))   # empty: unset

        # limits.plan_list_items: one item of each side shown, the other counted.
        short = self.plan_cli(env={"DEPLOYBOT_PLAN_LIST_ITEMS": "1"})
        self.assertIn("\n          }\n        - ... 1 more\n        + {\n", short)
        self.assertIn("\n          }\n        + ... 1 more\n", short)
        self.assertNotIn("- ... 1 more", piped)

        # The script cannot be read: the plan fails, saying which instance.
        harness.fault(s.aws_url, action="DescribeInstanceAttribute", error="UnauthorizedOperation",
                      status=403, count=1)
        p = subprocess.run([harness.BIN, "plan", "dev", "--dir", s.repo.path], env=s.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(p.returncode, 1)
        self.assertIn("deploybot: reading instance.app_1 (%s): " % instance, p.stderr.decode())
        self.assertIn("UnauthorizedOperation", p.stderr.decode())
        self.assertNotIn("Plan:", p.stdout.decode())


if __name__ == "__main__":
    unittest.main()
