#!/usr/bin/python3
"""Checks the GitHub fake (tests/fakes/fake_github.py) with plain urllib.

The wire facts it must reproduce are collected in
/work/shared/fixtures/webhooks/NOTES.md §5 (status and comment endpoints,
the observed 422 bodies for over-long fields).

Run: /usr/bin/python3 tests/integration/test_fake_github.py
"""

import json
import os
import sys
import unittest
import urllib.error
import urllib.request

SOURCE_DIR = os.environ.get("DEPLOYBOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

TOKEN = "ghp_faketokenfortests"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
OTHER_SHA = "0123456789abcdef0123456789abcdef01234567"

fake = None


def setUpModule():
    global fake
    fake = FakeProcess("fake_github.py", "--token", TOKEN).start()


def tearDownModule():
    fake.stop()


def call(method, path, body=None, auth=f"token {TOKEN}", raw=None):
    """(status, decoded JSON or None, headers) of one API call."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"Accept": "application/vnd.github+json", "User-Agent": "deploybot-test"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if auth:
        headers["Authorization"] = auth
    req = urllib.request.Request(fake.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, text, hdrs = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        status, text, hdrs = e.code, e.read(), e.headers
    return status, (json.loads(text) if text else None), hdrs


class FakeGitHubTest(unittest.TestCase):
    def setUp(self):
        fake.admin("POST", "/_fake/reset")

    def status(self, state, context="deploybot/prd", sha=SHA, **extra):
        return call("POST", f"/repos/acme/config/statuses/{sha}", dict(state=state, context=context, **extra))


class AuthTest(FakeGitHubTest):
    def test_tokens(self):
        path = f"/repos/acme/config/commits/{SHA}/statuses"
        self.assertEqual(call("GET", path)[0], 200)
        self.assertEqual(call("GET", path, auth=f"Bearer {TOKEN}")[0], 200)
        status, body, _ = call("GET", path, auth="token wrong")
        self.assertEqual((status, body["message"]), (401, "Bad credentials"))
        status, body, _ = call("GET", path, auth=None)
        self.assertEqual((status, body["message"]), (401, "Requires authentication"))
        status, body, _ = call("GET", "/repos/acme/config/nothing-here")
        self.assertEqual((status, body["message"]), (404, "Not Found"))


class StatusTest(FakeGitHubTest):
    def test_create_and_list(self):
        status, body, headers = self.status("pending", description="Planning prd",
                                            target_url="https://deploybot.example/jobs/1")
        self.assertEqual(status, 201)
        self.assertEqual((body["state"], body["context"], body["description"], body["target_url"]),
                         ("pending", "deploybot/prd", "Planning prd", "https://deploybot.example/jobs/1"))
        self.assertIsInstance(body["id"], int)
        self.assertRegex(body["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertTrue(body["url"].endswith(f"/repos/acme/config/statuses/{SHA}"))
        self.assertEqual(body["creator"]["login"], "deploybot[bot]")
        self.assertEqual(headers["Location"], body["url"])
        self.assertEqual(self.status("success")[0], 201)
        self.assertEqual(call("POST", f"/repos/acme/config/statuses/{SHA}", {"state": "success"})[1]["context"],
                         "default")

        status, listed, _ = call("GET", f"/repos/acme/config/commits/{SHA}/statuses")
        self.assertEqual(status, 200)
        self.assertEqual([(s["context"], s["state"]) for s in listed],
                         [("default", "success"), ("deploybot/prd", "success"), ("deploybot/prd", "pending")])
        self.assertEqual(call("GET", f"/repos/acme/config/commits/{OTHER_SHA}/statuses")[1], [])
        # A short SHA that is known resolves; repository names are case-insensitive.
        self.assertEqual(len(call("GET", f"/repos/ACME/Config/commits/{SHA[:7]}/statuses")[1]), 3)
        self.assertEqual(call("GET", "/repos/acme/config/commits/main/statuses")[0], 404)

    def test_validation(self):
        status, body, _ = self.status("bogus")
        self.assertEqual(status, 422)
        self.assertTrue(body["message"].startswith("Invalid request."))
        status, body, _ = call("POST", f"/repos/acme/config/statuses/{SHA}", {"context": "x"})
        self.assertEqual((status, body["message"]), (422, 'Invalid request.\n\n"state" wasn\'t supplied.'))
        status, body, _ = self.status("success", description="d" * 141)
        self.assertEqual(status, 422)
        self.assertEqual(body["message"], "Validation Failed")
        self.assertEqual(body["errors"], [{"resource": "Status", "code": "custom", "field": "description",
                                           "message": "description is too long (maximum is 140 characters)"}])
        self.assertEqual(self.status("success", description="d" * 140)[0], 201)
        status, body, _ = self.status("success", context="c" * 256)
        self.assertEqual((status, body["errors"][0]["field"]), (422, "context"))
        self.assertEqual(self.status("success", context="c" * 255)[0], 201)
        status, body, _ = self.status("success", sha="main")
        self.assertEqual((status, body["message"]), (422, "No commit found for SHA: main"))
        status, body, _ = call("POST", f"/repos/acme/config/statuses/{SHA}", raw=b"{not json")
        self.assertEqual((status, body["message"]), (400, "Problems parsing JSON"))

    def test_combined(self):
        path = f"/repos/acme/config/commits/{SHA}/status"
        status, combined, _ = call("GET", path)
        self.assertEqual((status, combined["state"], combined["total_count"]), (200, "pending", 0))
        self.status("pending", context="deploybot/dev")
        self.status("success", context="deploybot/prd")
        self.assertEqual(call("GET", path)[1]["state"], "pending")
        self.status("success", context="DeployBot/Dev")     # contexts compare case-insensitively
        combined = call("GET", path)[1]
        self.assertEqual((combined["state"], combined["total_count"], combined["sha"]), ("success", 2, SHA))
        self.assertEqual(sorted(s["state"] for s in combined["statuses"]), ["success", "success"])
        self.assertEqual(combined["repository"]["full_name"], "acme/config")
        self.status("error", context="deploybot/prd")
        self.assertEqual(call("GET", path)[1]["state"], "failure")

    def test_pagination(self):
        for i in range(5):
            self.status("pending", description=f"step {i}")
        status, page, headers = call("GET", f"/repos/acme/config/commits/{SHA}/statuses?per_page=2&page=2")
        self.assertEqual([s["description"] for s in page], ["step 2", "step 1"])
        self.assertIn('rel="next"', headers["Link"])
        self.assertIn('rel="prev"', headers["Link"])
        self.assertIn("page=3", headers["Link"])


class CommentTest(FakeGitHubTest):
    def test_commit_comments(self):
        path = f"/repos/acme/config/commits/{SHA}/comments"
        status, comment, _ = call("POST", path, {"body": "Plan: 3 to add, 0 to change, 0 to destroy."})
        self.assertEqual(status, 201)
        self.assertEqual((comment["commit_id"], comment["user"]["login"]), (SHA, "deploybot[bot]"))
        self.assertIn(f"#commitcomment-{comment['id']}", comment["html_url"])
        status, listed, _ = call("GET", path)
        self.assertEqual([c["id"] for c in listed], [comment["id"]])
        status, body, _ = call("POST", path, {"body": "x" * 65537})
        self.assertEqual((status, body["errors"][0]["field"]), (422, "body"))
        self.assertEqual(call("POST", path, {"body": "x" * 65536})[0], 201)
        status, body, _ = call("POST", path, {})
        self.assertEqual((status, body["message"]), (422, 'Invalid request.\n\n"body" wasn\'t supplied.'))

    def test_issue_comments(self):
        path = "/repos/acme/config/issues/42/comments"
        status, first, _ = call("POST", path, {"body": "plan for prd"})
        self.assertEqual(status, 201)
        self.assertTrue(first["issue_url"].endswith("/repos/acme/config/issues/42"))
        self.assertTrue(first["url"].endswith(f"/repos/acme/config/issues/comments/{first['id']}"))
        call("POST", path, {"body": "second"})
        call("POST", "/repos/acme/config/issues/7/comments", {"body": "other PR"})
        self.assertEqual([c["body"] for c in call("GET", path)[1]], ["plan for prd", "second"])

        comment_path = f"/repos/acme/config/issues/comments/{first['id']}"
        status, updated, _ = call("PATCH", comment_path, {"body": "plan for prd (updated)"})
        self.assertEqual((status, updated["body"], updated["id"]), (200, "plan for prd (updated)", first["id"]))
        self.assertEqual(call("GET", comment_path)[1]["body"], "plan for prd (updated)")

        status, body, _ = call("PATCH", comment_path, {"body": "x" * 65537})
        self.assertEqual(status, 422)
        self.assertEqual(body["errors"], [{"resource": "IssueComment", "code": "custom", "field": "body",
                                           "message": "body is too long (maximum is 65536 characters)"}])
        self.assertEqual(call("PATCH", "/repos/acme/config/issues/comments/999", {"body": "x"})[0], 404)
        self.assertEqual(call("DELETE", comment_path)[0], 204)
        self.assertEqual(call("GET", comment_path)[0], 404)


class AdminTest(FakeGitHubTest):
    def test_faults_and_request_log(self):
        fake.admin("POST", "/_fake/faults", {"path_regex": r"/statuses/", "status": 500, "count": 2})
        self.assertEqual(self.status("pending")[0], 500)
        status, body, _ = self.status("pending")
        self.assertEqual((status, body["message"]), (500, "Server Error"))
        self.assertEqual(self.status("pending")[0], 201)

        fake.admin("POST", "/_fake/faults", {"path_regex": r"/comments$", "method": "POST",
                                             "status": 403, "retry_after": 1})
        status, body, headers = call("POST", "/repos/acme/config/issues/1/comments", {"body": "hi"})
        self.assertEqual((status, headers["Retry-After"]), (403, "1"))
        self.assertIn("secondary rate limit", body["message"])
        self.assertEqual(call("POST", "/repos/acme/config/issues/1/comments", {"body": "hi"})[0], 201)

        log = fake.admin("GET", "/_fake/requests")
        self.assertEqual([(r["method"], r["status"]) for r in log],
                         [("POST", 500), ("POST", 500), ("POST", 201), ("POST", 403), ("POST", 201)])
        self.assertEqual(log[0]["path"], f"/repos/acme/config/statuses/{SHA}")
        self.assertEqual(log[0]["json"], {"state": "pending", "context": "deploybot/prd"})
        self.assertEqual(log[0]["headers"]["Authorization"], f"token {TOKEN}")

        state = fake.admin("GET", "/_fake/state")
        self.assertEqual(len(state["statuses"]["acme/config"][SHA]), 1)
        self.assertEqual(len(state["issue_comments"]["acme/config"]), 1)
        fake.admin("POST", "/_fake/reset")
        self.assertEqual(fake.admin("GET", "/_fake/requests"), [])
        self.assertEqual(fake.admin("GET", "/_fake/state")["statuses"], {})


if __name__ == "__main__":
    unittest.main(verbosity=2)
