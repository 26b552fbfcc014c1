#!/usr/bin/python3
"""Checks the Gitea / Forgejo fake (tests/fakes/fake_gitea.py) with plain urllib.

What it must reproduce comes from Gitea's code (see the docstrings of
tests/fakes/giteafake/*.py): commit statuses (answered with a "status" key,
newest first, combined = worst of the latest per context), issue/PR comments
edited in place, token/scope/permission errors, the binding's 422s, and no
commit-comment API.

Run: /usr/bin/python3 tests/integration/test_fake_gitea.py
"""

import http.client
import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

SOURCE_DIR = os.environ.get("DEPLOYBOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

TOKEN = "0123456789abcdef0123456789abcdef01234567"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
OTHER_SHA = "0123456789abcdef0123456789abcdef01234567"
REPO = "/repos/acme/infra-config"

fake = None


def setUpModule():
    global fake
    fake = FakeProcess("fake_gitea.py", "--token", TOKEN, "--repo", "acme/infra-config",
                       "--repo", "acme/other").start()


def tearDownModule():
    fake.stop()


def call(method, path, body=None, token=TOKEN, scheme="token", form=None, raw=None,
         content_type="application/json", server=None):
    """(status, decoded body or None, headers)."""
    server = server or fake
    headers = {"User-Agent": "deploybot-test", "Accept": "application/json"}
    data = None
    if raw is not None:
        data = raw
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        content_type = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
    if data is not None and content_type:
        headers["Content-Type"] = content_type
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    if data is not None and content_type is None:
        # urllib would add a form content type: send this one with http.client.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request(method, "/api/v1" + path, body=data, headers=headers)
        resp = conn.getresponse()
        status, text, hdrs = resp.status, resp.read(), resp.headers
        conn.close()
        return status, json.loads(text) if text else None, hdrs
    req = urllib.request.Request(server.url + "/api/v1" + path, data=data, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, text, hdrs = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        status, text, hdrs = e.code, e.read(), e.headers
    if text and (hdrs.get("Content-Type") or "").startswith("application/json"):
        return status, json.loads(text), hdrs
    return status, text.decode() if text else None, hdrs


def sb(*args, **kwargs):
    return call(*args, **kwargs)[:2]


class FakeGiteaTest(unittest.TestCase):
    def setUp(self):
        fake.admin("POST", "/_fake/reset")

    @property
    def swagger(self):
        return fake.url + "/api/swagger"

    def status(self, state, context="deploybot/prd", sha=SHA, **extra):
        return call("POST", f"{REPO}/statuses/{sha}", dict(state=state, context=context, **extra))


class AuthTest(FakeGiteaTest):
    def test_tokens(self):
        status, user, _ = call("GET", "/user")
        self.assertEqual((status, user["login"], user["username"]), (200, "deploybot", "deploybot"))
        self.assertEqual(call("GET", "/user", scheme="Bearer")[0], 200)
        self.assertEqual(sb("GET", "/user", token=None),
                         (401, {"message": "token is required", "url": self.swagger}))
        # A wrong token is no sign-in: writes want a token, a public repository is readable.
        self.assertEqual(sb("POST", f"{REPO}/statuses/{SHA}", {"state": "pending"}, token="wrong"),
                         (401, {"message": "token is required", "url": self.swagger}))
        self.assertEqual(sb("POST", f"{REPO}/issues/1/comments", {"body": "x"}, token=None)[0], 401)
        status, repo, _ = call("GET", REPO, token="wrong")
        self.assertEqual((status, repo["permissions"]["push"]), (200, False))
        self.assertEqual(call("GET", REPO)[1]["permissions"]["push"], True)
        # A private repository does not exist for an anonymous caller.
        fake.admin("POST", "/_fake/repos", {"full_name": "acme/secret", "private": True})
        self.assertEqual(sb("POST", f"/repos/acme/secret/statuses/{SHA}", {"state": "pending"},
                            token="wrong"),
                         (404, {"errors": None, "message": "The target couldn't be found.",
                                "url": self.swagger}))
        self.assertEqual(call("GET", "/repos/acme/secret")[0], 200)

    def test_scopes_and_permission(self):
        fake.admin("POST", "/_fake/config", {"scopes": ["read:repository", "write:issue"]})
        self.assertEqual(sb("POST", f"{REPO}/statuses/{SHA}", {"state": "pending"}),
                         (403, {"message": "token does not have at least one of required scope(s): "
                                           "[write:repository]", "url": self.swagger}))
        self.assertEqual(call("GET", f"{REPO}/statuses/{SHA}")[0], 200)
        self.assertEqual(call("POST", f"{REPO}/issues/1/comments", {"body": "x"})[0], 201)
        self.assertEqual(call("GET", "/user")[1]["message"],
                         "token does not have at least one of required scope(s): [read:user]")
        fake.admin("POST", "/_fake/config", {"scopes": ["write:repository"]})
        self.assertEqual(call("GET", f"{REPO}/issues/1/comments")[1]["message"],
                         "token does not have at least one of required scope(s): [read:issue]")
        fake.admin("POST", "/_fake/config", {"scopes": ["all"], "permission": "read"})
        self.assertEqual(sb("POST", f"{REPO}/statuses/{SHA}", {"state": "pending"}),
                         (403, {"message": "user should have a permission to write to a repo",
                                "url": self.swagger}))
        self.assertEqual(call("POST", f"{REPO}/issues/1/comments", {"body": "x"})[0], 201)

    def test_routes(self):
        self.assertEqual(sb("GET", "/repos/acme/nothing"),
                         (404, {"errors": None, "message": "The target couldn't be found.",
                                "url": self.swagger}))
        self.assertEqual(call("GET", "/nothing/here")[0], 404)
        self.assertEqual(call("PUT", f"{REPO}/statuses/{SHA}", {"state": "pending"})[0], 405)
        self.assertEqual(sb("GET", "/version", token=None), (200, {"version": "1.23.0"}))
        status, repo, _ = call("GET", "/repos/ACME/Infra-Config")
        self.assertEqual((status, repo["full_name"], repo["default_branch"], repo["private"]),
                         (200, "acme/infra-config", "main", False))

    def test_no_commit_comments(self):
        for method in ("GET", "POST"):
            status, body, _ = call(method, f"{REPO}/commits/{SHA}/comments",
                                   {"body": "x"} if method == "POST" else None)
            self.assertEqual(status, 404, method)
        self.assertEqual(fake.admin("GET", "/_fake/state")["comments"], [])

    def test_merged_pull_request_of_a_commit(self):
        merge = "b" * 40
        status, body, _ = call("GET", f"{REPO}/commits/{merge}/pull")
        self.assertEqual(status, 404)
        self.assertTrue(body["message"].startswith("pull request does not exist"), body)
        fake.admin("POST", "/_fake/issues", {"repo": REPO[len("/repos/"):], "index": 7,
                                             "state": "closed", "merge_commit_sha": merge.upper()})
        status, body, _ = call("GET", f"{REPO}/commits/{merge}/pull")
        self.assertEqual(status, 200, body)
        self.assertEqual((body["number"], body["merged"], body["merge_commit_sha"]), (7, True, merge))
        self.assertEqual(sb("GET", f"{REPO}/commits/{merge}/pull", token=None)[0], 200)


class StatusTest(FakeGiteaTest):
    def test_create(self):
        status, body, headers = self.status("pending", description="  Planning prd  ",
                                            target_url="https://deploybot.example/jobs/1")
        self.assertEqual(status, 201)
        self.assertEqual((body["status"], body["context"], body["description"], body["target_url"],
                          body["creator"]["login"]),
                         ("pending", "deploybot/prd", "Planning prd", "https://deploybot.example/jobs/1",
                          "deploybot"))
        self.assertNotIn("state", body)
        self.assertEqual(body["url"], f"{fake.url}/api/v1{REPO}/statuses/{SHA}")
        self.assertRegex(body["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertTrue(headers["Content-Type"].startswith("application/json"))
        for state in ("success", "error", "failure", "warning"):
            self.assertEqual(self.status(state)[0], 201, state)
        # No context and no description are empty strings, not "default" or null.
        body = call("POST", f"{REPO}/statuses/{SHA}", {"state": "success"})[1]
        self.assertEqual((body["context"], body["description"], body["target_url"]), ("", "", ""))
        # A form body binds too.
        status, body, _ = call("POST", f"{REPO}/statuses/{SHA}",
                               form={"state": "success", "context": "form"})
        self.assertEqual((status, body["context"]), (201, "form"))

    def test_states_and_binding(self):
        status, body, _ = self.status("running")
        self.assertEqual(status, 422)
        self.assertIn("is not a commit status state", body["message"])
        self.assertEqual(self.status("skipped")[0], 422)          # not before Gitea 1.24
        self.assertEqual(self.status("canceled")[0], 422)
        self.assertEqual(sb("POST", f"{REPO}/statuses/{SHA}", raw=b'{"state":"success"}',
                            content_type=None),
                         (422, {"message": "[]: Empty Content-Type", "url": self.swagger}))
        self.assertEqual(sb("POST", f"{REPO}/statuses/{SHA}", raw=b'{"state":"success"}',
                            content_type="text/plain"),
                         (422, {"message": "[]: Unsupported Content-Type", "url": self.swagger}))
        status, body, _ = call("POST", f"{REPO}/statuses/{SHA}", raw=b'{"state": "succ')
        self.assertEqual((status, body["message"]), (422, "[]: unexpected EOF"))
        self.assertEqual(fake.admin("GET", "/_fake/state")["statuses"], [])

    def test_commits(self):
        status, body, _ = call("POST", f"{REPO}/statuses/main", {"state": "pending"})
        self.assertEqual((status, body), (500, {"message": "", "url": self.swagger}))
        fake.admin("POST", "/_fake/branches", {"repo": "acme/infra-config", "branch": "main",
                                               "sha": SHA})
        status, body, _ = call("POST", f"{REPO}/statuses/main", {"state": "pending", "context": "a"})
        self.assertEqual((status, body["url"].rsplit("/", 1)[1]), (201, SHA))
        self.assertEqual(call("POST", f"{REPO}/statuses/{SHA[:10]}", {"state": "success",
                                                                      "context": "b"})[0], 201)
        fake.admin("POST", "/_fake/config", {"known_commits_only": True})
        self.assertEqual(call("POST", f"{REPO}/statuses/{OTHER_SHA}", {"state": "pending"})[0], 500)
        fake.admin("POST", "/_fake/commits", {"repo": "acme/infra-config", "sha": OTHER_SHA})
        self.assertEqual(call("POST", f"{REPO}/statuses/{OTHER_SHA}", {"state": "pending"})[0], 201)

    def test_list_and_combined(self):
        fake.admin("POST", "/_fake/branches", {"repo": "acme/infra-config", "branch": "main",
                                               "sha": SHA})
        for state, context in (("pending", "deploybot/dev"), ("pending", "deploybot/prd"),
                               ("success", "deploybot/dev"), ("warning", "lint")):
            self.status(state, context=context)
        status, rows, headers = call("GET", f"{REPO}/statuses/{SHA}")
        self.assertEqual([(r["context"], r["status"]) for r in rows],
                         [("lint", "warning"), ("deploybot/dev", "success"),
                          ("deploybot/prd", "pending"), ("deploybot/dev", "pending")])
        self.assertEqual(headers["X-Total-Count"], "4")
        self.assertEqual([r["status"] for r in call("GET", f"{REPO}/statuses/{SHA}?sort=oldest")[1]],
                         ["pending", "pending", "success", "warning"])
        self.assertEqual(len(call("GET", f"{REPO}/statuses/{SHA}?state=pending")[1]), 2)
        self.assertEqual(len(call("GET", f"{REPO}/commits/main/statuses")[1]), 4)
        self.assertEqual(len(call("GET", f"{REPO}/commits/{SHA[:8]}/statuses")[1]), 4)
        self.assertEqual(call("GET", f"{REPO}/commits/{OTHER_SHA}/statuses")[1], [])
        status, page, headers = call("GET", f"{REPO}/statuses/{SHA}?limit=3&page=1")
        self.assertEqual(len(page), 3)
        self.assertIn('rel="next"', headers["Link"])
        self.assertIn("page=2", headers["Link"])

        status, combined, _ = call("GET", f"{REPO}/commits/main/status")
        self.assertEqual((status, combined["state"], combined["sha"], combined["total_count"]),
                         (200, "warning", SHA, 3))
        self.assertEqual(sorted(s["context"] for s in combined["statuses"]),
                         ["deploybot/dev", "deploybot/prd", "lint"])
        self.assertEqual(combined["repository"]["full_name"], "acme/infra-config")
        self.status("failure", context="deploybot/prd")
        self.assertEqual(call("GET", f"{REPO}/commits/{SHA}/status")[1]["state"], "failure")
        self.assertEqual(call("GET", f"{REPO}/commits/{OTHER_SHA}/status")[1],
                         {"state": "", "sha": "", "total_count": 0, "statuses": None,
                          "repository": None, "commit_url": "", "url": ""})
        # Another repository keeps its own statuses.
        self.assertEqual(call("GET", f"/repos/acme/other/statuses/{SHA}")[1], [])


class CommentTest(FakeGiteaTest):
    def test_edit_in_place(self):
        path = f"{REPO}/issues/7/comments"
        status, comment, _ = call("POST", path, {"body": "plan for prd"})
        self.assertEqual(status, 201)
        self.assertEqual((comment["body"], comment["user"]["login"], comment["issue_url"]),
                         ("plan for prd", "deploybot", ""))
        self.assertEqual(comment["pull_request_url"], f"{fake.url}/acme/infra-config/pulls/7")
        self.assertEqual(comment["html_url"],
                         f"{fake.url}/acme/infra-config/pulls/7#issuecomment-{comment['id']}")
        call("POST", path, {"body": "second"})
        call("POST", f"{REPO}/issues/8/comments", {"body": "other PR"})
        self.assertEqual([c["body"] for c in call("GET", path)[1]], ["plan for prd", "second"])

        one = f"{REPO}/issues/comments/{comment['id']}"
        time.sleep(1.05)     # Gitea's timestamps have whole seconds
        status, edited, _ = call("PATCH", one, {"body": "plan for prd (updated)"})
        self.assertEqual((status, edited["id"], edited["body"]), (200, comment["id"], "plan for prd (updated)"))
        self.assertGreater(edited["updated_at"], comment["updated_at"])
        self.assertEqual(edited["created_at"], comment["created_at"])
        time.sleep(1.05)
        same = call("PATCH", one, {"body": "plan for prd (updated)"})[1]
        self.assertEqual(same["updated_at"], edited["updated_at"])       # unchanged body: no update
        self.assertEqual(call("GET", one)[1]["body"], "plan for prd (updated)")
        since = urllib.parse.quote(edited["updated_at"])
        self.assertEqual([c["id"] for c in call("GET", f"{path}?since={since}")[1]], [comment["id"]])
        # The deprecated form with the index still edits.
        self.assertEqual(call("PATCH", f"{REPO}/issues/7/comments/{comment['id']}",
                              {"body": "again"})[1]["body"], "again")
        self.assertEqual(call("DELETE", one)[0], 204)
        self.assertEqual(sb("GET", one),
                         (404, {"errors": [f"comment does not exist [id: {comment['id']}]"],
                                "message": "The target couldn't be found.", "url": self.swagger}))

    def test_validation_and_ownership(self):
        path = f"{REPO}/issues/7/comments"
        self.assertEqual(sb("POST", path, {}), (422, {"message": "[Body]: Required", "url": self.swagger}))
        self.assertEqual(sb("POST", path, {"body": ""})[0], 422)
        status, comment, _ = call("POST", path, {"body": "x" * 300000})   # no length limit
        self.assertEqual(status, 201)
        self.assertEqual(sb("PATCH", f"{REPO}/issues/comments/{comment['id']}", {})[0], 422)
        # A comment of another repository is a bare 404 through this one.
        self.assertEqual(sb("GET", f"/repos/acme/other/issues/comments/{comment['id']}"), (404, None))
        other = fake.admin("POST", "/_fake/comments", {"repo": "acme/infra-config", "index": 7,
                                                       "user": "alice", "body": "looks good"})
        self.assertEqual(other["user"]["login"], "alice")
        # A writer may edit anyone's comment (Gitea: CanWriteIssuesOrPulls); a reader may not.
        fake.admin("POST", "/_fake/config", {"permission": "read"})
        self.assertEqual(sb("PATCH", f"{REPO}/issues/comments/{other['id']}", {"body": "hijack"}),
                         (403, None))
        self.assertEqual(call("PATCH", f"{REPO}/issues/comments/{comment['id']}", {"body": "mine"})[0], 200)
        fake.admin("POST", "/_fake/config", {"permission": "write"})
        self.assertEqual(call("PATCH", f"{REPO}/issues/comments/{other['id']}", {"body": "edited"})[0], 200)

    def test_known_issues(self):
        fake.admin("POST", "/_fake/config", {"known_commits_only": True})
        self.assertEqual(sb("POST", f"{REPO}/issues/7/comments", {"body": "plan"}),
                         (500, {"message": "", "url": self.swagger}))
        fake.admin("POST", "/_fake/issues", {"repo": "acme/infra-config", "index": 7, "is_pull": False})
        status, comment, _ = call("POST", f"{REPO}/issues/7/comments", {"body": "plan"})
        self.assertEqual((status, comment["pull_request_url"], comment["issue_url"]),
                         (201, "", f"{fake.url}/acme/infra-config/issues/7"))


class VersionTest(unittest.TestCase):
    def test_newer_gitea(self):
        with FakeProcess("fake_gitea.py", "--token", TOKEN, "--repo", "acme/infra-config",
                         "--version", "1.24.2") as newer:
            self.assertEqual(sb("POST", f"{REPO}/statuses/{SHA}", {"state": "skipped"}, server=newer)[0], 201)
            self.assertEqual(sb("GET", "/repos/acme/nothing", server=newer),
                             (404, {"message": "not found", "url": newer.url + "/api/swagger"}))
            self.assertIn("skipped", newer.admin("GET", "/_fake/config")["states"])

    def test_forgejo(self):
        with FakeProcess("fake_gitea.py", "--token", TOKEN, "--repo", "acme/infra-config",
                         "--flavor", "forgejo", "--private") as forgejo:
            self.assertEqual(sb("GET", "/version", server=forgejo, token=None),
                             (200, {"version": "11.0.0+gitea-1.22.0"}))
            req = urllib.request.Request(forgejo.url + "/api/forgejo/v1/version")
            with urllib.request.urlopen(req, timeout=10) as resp:
                self.assertEqual(json.loads(resp.read()), {"version": "11.0.0+gitea-1.22.0"})
            self.assertEqual(sb("POST", f"{REPO}/statuses/{SHA}", {"state": "skipped"}, server=forgejo)[0], 422)
            self.assertEqual(sb("GET", REPO, server=forgejo, token=None)[1]["message"],
                             "The target couldn't be found.")
            self.assertEqual(sb("GET", REPO, server=forgejo)[1]["private"], True)


class AdminTest(FakeGiteaTest):
    def test_faults_log_state_reset(self):
        fake.admin("POST", "/_fake/faults", {"path_regex": r"/statuses/", "status": 500, "count": 2})
        self.assertEqual(self.status("pending")[:2], (500, {"message": "", "url": self.swagger}))
        self.assertEqual(self.status("pending")[0], 500)
        self.assertEqual(self.status("pending")[0], 201)
        fake.admin("POST", "/_fake/faults", {"path_regex": r"/comments$", "method": "POST",
                                             "status": 503, "retry_after": 2})
        status, body, headers = call("POST", f"{REPO}/issues/1/comments", {"body": "hi"})
        self.assertEqual((status, headers["Retry-After"]), (503, "2"))
        self.assertEqual(call("POST", f"{REPO}/issues/1/comments", {"body": "hi"})[0], 201)

        log = fake.admin("GET", "/_fake/requests")
        self.assertEqual([(r["method"], r["status"]) for r in log],
                         [("POST", 500), ("POST", 500), ("POST", 201), ("POST", 503), ("POST", 201)])
        self.assertEqual(log[0]["path"], f"/api/v1{REPO}/statuses/{SHA}")
        self.assertEqual(log[0]["json"], {"state": "pending", "context": "deploybot/prd"})
        headers = {k.lower(): v for k, v in log[0]["headers"].items()}
        self.assertEqual(headers["authorization"], f"token {TOKEN}")

        state = fake.admin("GET", "/_fake/state")
        self.assertEqual([(s["context"], s["status"], s["sha"]) for s in state["statuses"]],
                         [("deploybot/prd", "pending", SHA)])
        self.assertEqual([(c["body"], c["index"]) for c in state["comments"]], [("hi", 1)])
        fake.admin("POST", "/_fake/repos", {"full_name": "tmp/repo"})
        fake.admin("POST", "/_fake/reset")
        state = fake.admin("GET", "/_fake/state")
        self.assertEqual((state["statuses"], state["comments"], fake.admin("GET", "/_fake/requests")),
                         ([], [], []))
        self.assertEqual(sorted(r["full_name"] for r in state["repos"]), ["acme/infra-config", "acme/other"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
