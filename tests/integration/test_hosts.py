"""The host section, end to end with the real binary: a GitHub host named
as {"host": {"type": "github"}} deploys like the older "github" section,
and the webhook endpoints of hosts that are not configured answer 404."""
import json
import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"


class GitHubAsHost(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(start_bot=False)
        cls.s.host = {"type": "github", "api_url": cls.s.github_url}
        cls.s.start_bot()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def test_push_applies_with_the_host_section(self):
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev: office")
        code, body = s.deliver("push", harness.push_payload(base, c1))
        self.assertEqual(code, 202, body)
        st = s.wait_status(c1, "deploybot/dev")
        self.assertEqual(st["state"], "success", st)
        self.assertRegex(st["description"], r"^Apply complete: \d+ added, 0 changed, 0 destroyed\.$")

    def test_other_hosts_endpoints_are_not_found(self):
        s = self.s
        body = json.dumps(harness.push_payload("0" * 40, s.repo.head())).encode()
        for path, headers in (("/webhooks/gitea", {"X-Gitea-Event": "push",
                                                   "X-Gitea-Delivery": str(uuid.uuid4()),
                                                   "X-Gitea-Signature": harness.sign(body)[7:]}),
                              ("/webhooks/gitlab", {"X-Gitlab-Event": "Push Hook",
                                                    "X-Gitlab-Token": harness.SECRET})):
            headers["Content-Type"] = "application/json"
            code, answer = harness.http("POST", s.bot_url + path, body, headers)
            self.assertEqual(code, 404, (path, answer))
            self.assertIn(b"not found", answer)
        # A host deploybot knows, not this bot's: the answer says which is.
        code, answer = harness.http("POST", s.bot_url + "/webhooks/gitea", body,
                                    harness.gitea_headers("push", body))
        self.assertEqual(code, 404, answer)
        self.assertIn(b"not found: this bot's host is GitHub", answer)
        code, answer = harness.http("GET", s.bot_url + "/webhooks/gitea")
        self.assertEqual(code, 404, answer)


if __name__ == "__main__":
    unittest.main()
