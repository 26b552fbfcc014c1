#!/usr/bin/python3
"""Checks the GitLab fake (tests/fakes/fake_gitlab.py) with plain urllib.

What it must reproduce comes from GitLab's own code and docs (see the
docstrings of tests/fakes/gitlabfake/*.py): commit statuses and their state
machine, merge request notes edited in place, commit comments, tokens and
scopes, Grape's parameter errors, the 255/1,000,000 character limits.

Run: /usr/bin/python3 tests/integration/test_fake_gitlab.py
"""

import json
import os
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request

SOURCE_DIR = os.environ.get("DEPLOYBOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

TOKEN = "glpat-faketokenfortests"
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
OTHER_SHA = "0123456789abcdef0123456789abcdef01234567"
PROJECT = "acme%2Finfra-config"

fake = None


def setUpModule():
    global fake
    fake = FakeProcess("fake_gitlab.py", "--token", TOKEN, "--project", "acme/infra-config=42",
                       "--project", "acme/other=43").start()


def tearDownModule():
    fake.stop()


def call(method, path, body=None, token=TOKEN, auth="private", form=None, raw=None,
         content_type="application/json"):
    """(status, decoded body, headers). body: JSON; form: dict sent form-encoded."""
    headers = {"User-Agent": "deploybot-test"}
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
        if auth == "private":
            headers["PRIVATE-TOKEN"] = token
        else:
            headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(fake.url + "/api/v4" + path, data=data, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, text, hdrs = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        status, text, hdrs = e.code, e.read(), e.headers
    ctype = hdrs.get("Content-Type") or ""
    if text and ctype.startswith("application/json"):
        return status, json.loads(text), hdrs
    return status, text.decode() if text else None, hdrs


def sb(*args, **kwargs):
    """(status, decoded body) of one API call."""
    return call(*args, **kwargs)[:2]


class FakeGitLabTest(unittest.TestCase):
    def setUp(self):
        fake.admin("POST", "/_fake/reset")

    def status(self, state, name="deploybot/prd", sha=SHA, **extra):
        return call("POST", f"/projects/{PROJECT}/statuses/{sha}",
                    dict(state=state, name=name, **extra))


class AuthTest(FakeGitLabTest):
    def test_tokens(self):
        self.assertEqual(call("GET", "/user")[0], 200)
        status, user, _ = call("GET", "/user", auth="bearer")
        self.assertEqual((status, user["username"], user["bot"]), (200, "deploybot", False))
        self.assertEqual(sb("GET", "/user", token="wrong"), (401, {"message": "401 Unauthorized"}))
        status, body, _ = call("GET", "/user", token=None)
        self.assertEqual((status, body), (401, {"message": "401 Unauthorized"}))
        # Statuses and notes need a user; a private project is 404 to nobody.
        self.assertEqual(self.status("pending")[0], 201)
        status, body, _ = call("POST", f"/projects/{PROJECT}/statuses/{SHA}", {"state": "pending"},
                               token=None)
        self.assertEqual((status, body["message"]), (401, "401 Unauthorized"))
        status, body, _ = call("GET", f"/projects/{PROJECT}", token=None)
        self.assertEqual((status, body), (404, {"message": "404 Project Not Found"}))
        status, body, _ = call("GET", f"/projects/{PROJECT}/repository/commits/{SHA}/comments",
                               token=None)
        self.assertEqual((status, body["message"]), (404, "404 Project Not Found"))

    def test_token_state_and_scopes(self):
        status, token, _ = call("GET", "/personal_access_tokens/self")
        self.assertEqual((status, token["scopes"], token["active"], token["revoked"]),
                         (200, ["api"], True, False))
        fake.admin("POST", "/_fake/config", {"token_state": "expired"})
        status, body, headers = call("GET", "/user")
        self.assertEqual((status, body), (401, {"error": "invalid_token",
                                                "error_description": "Token has expired."}))
        self.assertIn("invalid_token", headers["WWW-Authenticate"])
        fake.admin("POST", "/_fake/config", {"token_state": "revoked"})
        self.assertEqual(call("GET", "/user")[1]["error_description"], "Token has been revoked.")

        fake.admin("POST", "/_fake/config", {"token_state": "active", "scopes": ["read_api"]})
        status, body, _ = self.status("pending")
        self.assertEqual(status, 403)
        self.assertEqual(body, {"error": "insufficient_scope",
                                "error_description": "The request requires higher privileges than "
                                                     "provided by the access token.",
                                "scope": "api"})
        self.assertEqual(call("GET", f"/projects/{PROJECT}/repository/commits/{SHA}/statuses")[0], 200)
        fake.admin("POST", "/_fake/config", {"scopes": ["read_user"]})
        self.assertEqual(call("GET", "/user")[0], 200)
        status, body, _ = call("GET", f"/projects/{PROJECT}")
        self.assertEqual((status, body["scope"]), (403, "api read_api"))
        self.assertEqual(call("GET", "/personal_access_tokens/self")[1]["scopes"], ["read_user"])

    def test_access_level(self):
        fake.admin("POST", "/_fake/config", {"access_level": "reporter"})
        self.assertEqual(self.status("pending")[:2], (403, {"message": "403 Forbidden"}))
        self.assertEqual(call("GET", f"/projects/{PROJECT}")[1]["permissions"]["project_access"]
                         ["access_level"], 20)

    def test_routes(self):
        status, body, _ = call("GET", "/nothing/here")
        self.assertEqual((status, body), (404, {"error": "404 Not Found"}))
        # A project path must be URL-encoded: unencoded it matches no route.
        status, body, _ = call("GET", "/projects/acme/infra-config")
        self.assertEqual((status, body), (404, {"error": "404 Not Found"}))
        status, body, headers = call("PATCH", f"/projects/{PROJECT}/statuses/{SHA}", {"state": "pending"})
        self.assertEqual((status, body), (405, {"error": "405 Not Allowed"}))
        self.assertIn("POST", headers["Allow"])


class ProjectTest(FakeGitLabTest):
    def test_lookup(self):
        for ident in ("42", PROJECT, "ACME%2FInfra-Config"):
            status, project, _ = call("GET", f"/projects/{ident}")
            self.assertEqual((status, project["id"], project["path_with_namespace"],
                              project["default_branch"], project["visibility"]),
                             (200, 42, "acme/infra-config", "main", "private"))
        self.assertEqual(call("GET", "/projects/acme%2Fnope")[1], {"message": "404 Project Not Found"})
        self.assertEqual(call("GET", "/projects/999")[0], 404)
        self.assertEqual(call("GET", "/projects/43")[1]["path_with_namespace"], "acme/other")
        fake.admin("POST", "/_fake/projects", {"path_with_namespace": "ops/public-config", "id": 7,
                                               "visibility": "public", "default_branch": "trunk"})
        status, project, _ = call("GET", "/projects/ops%2Fpublic-config", token=None)
        self.assertEqual((status, project["default_branch"]), (200, "trunk"))
        self.assertNotIn("permissions", project)
        self.assertIn("permissions", call("GET", "/projects/7")[1])


class StatusTest(FakeGitLabTest):
    def test_state_machine(self):
        status, job, _ = self.status("pending", description="Planning prd",
                                     target_url="https://deploybot.example/jobs/1")
        self.assertEqual(status, 201)
        self.assertEqual((job["status"], job["name"], job["sha"], job["ref"], job["description"],
                          job["target_url"], job["author"]["username"]),
                         ("pending", "deploybot/prd", SHA, "main", "Planning prd",
                          "https://deploybot.example/jobs/1", "deploybot"))
        self.assertRegex(job["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # GitLab refuses to move a status to the state it is in.
        status, body, _ = self.status("pending")
        self.assertEqual((status, body["message"]),
                         (400, 'Cannot transition status via :enqueue from :pending '
                               '(Reason(s): Status cannot transition via "enqueue")'))
        status, running, _ = self.status("running")
        self.assertEqual((status, running["id"], running["status"]), (201, job["id"], "running"))
        self.assertIsNotNone(running["started_at"])
        self.assertEqual(running["description"], "Planning prd")   # kept when not sent again
        status, body, _ = self.status("running")
        self.assertEqual((status, body["message"]),
                         (400, 'Cannot transition status via :run from :running '
                               '(Reason(s): Status cannot transition via "run")'))
        status, body, _ = self.status("pending")
        self.assertIn("via :enqueue from :running", body["message"])
        status, body, _ = self.status("skipped")
        self.assertIn("via :skip from :running", body["message"])
        status, done, _ = self.status("success", description="Applied")
        self.assertEqual((status, done["id"], done["status"], done["description"]),
                         (201, job["id"], "success", "Applied"))
        self.assertIsNotNone(done["finished_at"])
        # A finished status is not reused: the next one is a new job, the old one retried.
        status, again, _ = self.status("pending")
        self.assertEqual(status, 201)
        self.assertNotEqual(again["id"], job["id"])
        self.assertEqual(again["pipeline_id"], job["pipeline_id"])
        path = f"/projects/{PROJECT}/repository/commits/{SHA}/statuses"
        self.assertEqual([(s["id"], s["status"]) for s in call("GET", path)[1]],
                         [(again["id"], "pending")])
        self.assertEqual([(s["id"], s["status"]) for s in call("GET", path + "?all=true")[1]],
                         [(job["id"], "success"), (again["id"], "pending")])
        # Every other state from a fresh job; "running" enqueues first.
        for state in ("running", "success", "failed", "canceled", "skipped"):
            status, body, _ = self.status(state, name=f"ctx/{state}")
            self.assertEqual((status, body["status"]), (201, state))

    def test_params(self):
        status, body, _ = self.status("bogus")
        self.assertEqual((status, body), (400, {"error": "state does not have a valid value"}))
        status, body, _ = call("POST", f"/projects/{PROJECT}/statuses/{SHA}", {"name": "x"})
        self.assertEqual((status, body), (400, {"error": "state is missing"}))
        status, body, _ = call("POST", f"/projects/{PROJECT}/statuses/{SHA}", {"state": None})
        self.assertEqual((status, body), (400, {"message": "State is required"}))
        status, body, _ = call("POST", f"/projects/{PROJECT}/statuses/{SHA}",
                               {"state": "pending", "pipeline_id": "x", "coverage": "y"})
        self.assertEqual((status, body), (400, {"error": "coverage is invalid, pipeline_id is invalid"}))
        # name, else context, else "default"
        self.assertEqual(call("POST", f"/projects/{PROJECT}/statuses/{SHA}",
                              {"state": "pending", "context": "ci/ctx"})[1]["name"], "ci/ctx")
        self.assertEqual(call("POST", f"/projects/{PROJECT}/statuses/{OTHER_SHA}",
                              {"state": "pending"})[1]["name"], "default")
        # Form-encoded bodies and query strings are params too; JSON needs its content type.
        status, body, _ = call("POST", f"/projects/{PROJECT}/statuses/{SHA}",
                               form={"state": "success", "name": "form"})
        self.assertEqual((status, body["name"]), (201, "form"))
        status, body, _ = call("POST", f"/projects/{PROJECT}/statuses/{SHA}?state=success&name=query")
        self.assertEqual((status, body["name"]), (201, "query"))
        status, body, _ = call("POST", f"/projects/{PROJECT}/statuses/{SHA}",
                               raw=b'{"state":"success"}', content_type=None)
        self.assertEqual((status, body), (400, {"error": "state is missing"}))
        status, body, _ = call("POST", f"/projects/{PROJECT}/statuses/{SHA}", raw=b"{nope")
        self.assertEqual((status, body), (400, {"error": "message body does not match declared format"}))

    def test_limits(self):
        status, body, _ = self.status("pending", description="d" * 256)
        self.assertEqual((status, body),
                         (400, {"message": {"description": ["is too long (maximum is 255 characters)"]}}))
        status, body, _ = self.status("pending", target_url="https://x.example/" + "u" * 240)
        self.assertEqual(status, 400)
        self.assertIn("is too long (maximum is 255 characters)", body["message"]["target_url"])
        status, body, _ = self.status("pending", target_url="ftp://x.example/log")
        self.assertEqual((status, body), (400, {"message": {"target_url": [
            "is blocked: Only allowed schemes are http, https"]}}))
        # Nothing was kept by the refused calls; 255 is fine; blank values are not assigned.
        status, job, _ = self.status("pending", description="d" * 255, target_url="")
        self.assertEqual((status, job["target_url"], len(job["description"])), (201, None, 255))
        status, body, _ = self.status("running", description="e" * 256)
        self.assertEqual(status, 400)
        path = f"/projects/{PROJECT}/repository/commits/{SHA}/statuses"
        self.assertEqual([(s["status"], len(s["description"])) for s in call("GET", path)[1]],
                         [("pending", 255)])

    def test_commits_and_refs(self):
        path = f"/projects/{PROJECT}/statuses/"
        status, body, _ = call("POST", path + "main", {"state": "pending"})
        self.assertEqual((status, body), (404, {"message": "404 Commit Not Found"}))
        fake.admin("POST", "/_fake/branches", {"project": "acme/infra-config", "branch": "main",
                                               "sha": SHA})
        status, job, _ = call("POST", path + "main", {"state": "pending", "name": "by-branch"})
        self.assertEqual((status, job["sha"], job["ref"]), (201, SHA, "main"))
        status, job, _ = call("POST", path + SHA[:8], {"state": "pending", "name": "short"})
        self.assertEqual((status, job["sha"]), (201, SHA))
        status, job, _ = call("POST", path + OTHER_SHA, {"state": "pending", "ref": "feature/x"})
        self.assertEqual((status, job["ref"]), (201, "feature/x"))
        # The ref of a later status without one is that of the newest pipeline for the SHA.
        self.assertEqual(call("POST", path + OTHER_SHA, {"state": "success", "name": "n2"})[1]["ref"],
                         "feature/x")
        status, body, _ = call("POST", path + OTHER_SHA, {"state": "success", "pipeline_id": 1})
        self.assertEqual((status, body["message"]), (404, "404 Pipeline for pipeline_id, sha and ref Not Found"))

        fake.admin("POST", "/_fake/config", {"known_commits_only": True})
        fresh = "f" * 40
        self.assertEqual(call("POST", path + fresh, {"state": "pending"})[1]["message"],
                         "404 Commit Not Found")
        self.assertEqual(call("GET", f"/projects/{PROJECT}/repository/commits/{fresh}/statuses")[0], 404)
        fake.admin("POST", "/_fake/commits", {"project": 42, "sha": fresh, "refs": []})
        status, body, _ = call("POST", path + fresh, {"state": "pending"})
        self.assertEqual((status, body), (404, {"message": "404 References for commit Not Found"}))
        self.assertEqual(call("POST", path + fresh, {"state": "pending", "ref": "mr-1"})[0], 201)
        fake.admin("POST", "/_fake/commits", {"project": 42, "sha": "e" * 40, "refs": ["release"]})
        self.assertEqual(call("POST", path + "e" * 40, {"state": "pending"})[1]["ref"], "release")

    def test_list(self):
        for name in ("b", "a", "c"):
            self.status("pending", name=name)
        self.status("running", name="b")
        path = f"/projects/{PROJECT}/repository/commits/{SHA}/statuses"
        status, jobs, headers = call("GET", path)
        self.assertEqual([j["name"] for j in jobs], ["b", "a", "c"])       # id order
        self.assertEqual((headers["X-Total"], headers["X-Page"], headers["X-Per-Page"]), ("3", "1", "20"))
        self.assertEqual([j["name"] for j in call("GET", path + "?sort=desc")[1]], ["c", "a", "b"])
        self.assertEqual([j["name"] for j in call("GET", path + "?name=a")[1]], ["a"])
        self.assertEqual(call("GET", path + "?ref=other")[1], [])
        status, page, headers = call("GET", path + "?per_page=2&page=2")
        self.assertEqual(([j["name"] for j in page], headers["X-Total-Pages"], headers["X-Prev-Page"],
                          headers["X-Next-Page"]), (["c"], "2", "1", ""))
        self.assertIn('rel="prev"', headers["Link"])
        status, body, _ = call("GET", path + "?order_by=name")
        self.assertEqual((status, body), (400, {"error": "order_by does not have a valid value"}))
        self.assertEqual(call("GET", f"/projects/{PROJECT}/repository/commits/{OTHER_SHA}/statuses")[1], [])
        self.assertEqual(call("GET", f"/projects/43/repository/commits/{SHA}/statuses")[1], [])


class NoteTest(FakeGitLabTest):
    NOTES = f"/projects/{PROJECT}/merge_requests/7/notes"

    def test_create_edit_in_place(self):
        status, note, _ = call("POST", self.NOTES, {"body": "plan for prd"})
        self.assertEqual(status, 201)
        self.assertEqual((note["body"], note["noteable_type"], note["noteable_iid"], note["system"],
                          note["author"]["username"], note["project_id"]),
                         ("plan for prd", "MergeRequest", 7, False, "deploybot", 42))
        call("POST", self.NOTES, {"body": "second"})
        call("POST", f"/projects/{PROJECT}/merge_requests/8/notes", {"body": "other MR"})
        self.assertEqual([n["body"] for n in call("GET", self.NOTES)[1]], ["second", "plan for prd"])
        self.assertEqual([n["body"] for n in call("GET", self.NOTES + "?sort=asc")[1]],
                         ["plan for prd", "second"])

        one = f"{self.NOTES}/{note['id']}"
        status, edited, _ = call("PUT", one, {"body": "plan for prd (updated)"})
        self.assertEqual((status, edited["id"], edited["body"]), (200, note["id"], "plan for prd (updated)"))
        self.assertEqual(call("GET", one)[1]["body"], "plan for prd (updated)")
        self.assertEqual(len(call("GET", self.NOTES)[1]), 2)
        status, body, _ = call("PUT", one, form={"body": "form edit"})
        self.assertEqual((status, body["body"]), (200, "form edit"))
        # Another MR's note is not found through this MR.
        self.assertEqual(sb("GET", f"/projects/{PROJECT}/merge_requests/8/notes/{note['id']}"),
                         (404, {"message": "404 Not found"}))
        self.assertEqual(call("PUT", f"{self.NOTES}/999", {"body": "x"})[1], {"message": "404 Not found"})
        self.assertEqual(call("DELETE", one)[0], 204)
        self.assertEqual(call("GET", one)[0], 404)

    def test_validation_and_limits(self):
        status, body, _ = call("POST", self.NOTES, {})
        self.assertEqual((status, body), (400, {"error": "body is missing"}))
        status, body, _ = call("POST", self.NOTES, {"body": "  "})
        self.assertEqual((status, body),
                         (400, {"message": '400 Bad request - Note {:note=>["can\'t be blank"]}'}))
        status, body, _ = call("POST", self.NOTES, {"body": "x" * 1_000_001})
        self.assertEqual((status, body),
                         (400, {"message": '400 Bad request - Note {:note=>["is too long '
                                           '(maximum is 1000000 characters)"]}'}))
        status, note, _ = call("POST", self.NOTES, {"body": "é" * 1_000_000})   # characters, not bytes
        self.assertEqual(status, 201)
        one = f"{self.NOTES}/{note['id']}"
        status, body, _ = call("PUT", one, {"body": "y" * 1_000_001})
        self.assertEqual(status, 400)
        self.assertIn("is too long", body["message"])
        status, body, _ = call("PUT", one, {"body": ""})
        self.assertEqual((status, body), (400, {"error": "body is empty"}))
        status, body, _ = call("GET", f"/projects/{PROJECT}/merge_requests/seven/notes")
        self.assertEqual((status, body), (400, {"error": "noteable_id is invalid"}))

    def test_someone_elses_note(self):
        other = fake.admin("POST", "/_fake/notes", {"project": "acme/infra-config",
                                                    "merge_request_iid": 7, "author": "alice",
                                                    "body": "looks good"})
        self.assertEqual(other["author"]["username"], "alice")
        status, body, _ = call("PUT", f"{self.NOTES}/{other['id']}", {"body": "hijack"})
        self.assertEqual((status, body), (403, {"message": "403 Forbidden"}))
        self.assertEqual(call("GET", self.NOTES)[1][0]["body"], "looks good")

    def test_known_merge_requests(self):
        fake.admin("POST", "/_fake/config", {"known_commits_only": True})
        status, body, _ = call("POST", self.NOTES, {"body": "plan"})
        self.assertEqual((status, body), (404, {"message": "404 MergeRequest Not Found"}))
        mr = fake.admin("POST", "/_fake/merge_requests",
                        {"project": "acme/infra-config", "iid": 7, "source_branch": "feature",
                         "sha": SHA, "source_project": "acme/other"})
        self.assertEqual((mr["source_project_id"], mr["target_project_id"]), (43, 42))
        status, note, _ = call("POST", self.NOTES, {"body": "plan"})
        self.assertEqual((status, note["noteable_id"]), (201, mr["id"]))
        self.assertEqual(call("GET", f"/projects/43/repository/commits/{SHA}/statuses")[0], 200)


class CommitCommentTest(FakeGitLabTest):
    def test_comments(self):
        path = f"/projects/{PROJECT}/repository/commits/{SHA}/comments"
        status, comment, _ = call("POST", path, {"note": "Applied prd: 3 added."})
        self.assertEqual(status, 201)
        self.assertEqual((comment["note"], comment["author"]["username"], comment["path"],
                          comment["line"], comment["line_type"]),
                         ("Applied prd: 3 added.", "deploybot", None, None, None))
        call("POST", path, form={"note": "second"})
        self.assertEqual([c["note"] for c in call("GET", path)[1]], ["Applied prd: 3 added.", "second"])
        self.assertEqual(call("GET", f"/projects/{PROJECT}/repository/commits/{OTHER_SHA}/comments")[1], [])
        status, body, _ = call("POST", path, {"body": "wrong field"})
        self.assertEqual((status, body), (400, {"error": "note is missing"}))
        status, body, _ = call("POST", path, {"note": "x", "path": "README.md"})
        self.assertEqual((status, body), (400, {"error": "line is missing"}))
        status, body, _ = call("POST", path, {"note": "x", "path": "README.md", "line": 1,
                                              "line_type": "both"})
        self.assertEqual((status, body), (400, {"error": "line_type does not have a valid value"}))
        status, body, _ = call("POST", path, {"note": "x" * 1_000_001})
        self.assertEqual(status, 400)
        self.assertIn("is too long (maximum is 1000000 characters)", body["message"])
        status, body, _ = call("POST", f"/projects/{PROJECT}/repository/commits/nosuchref/comments",
                               {"note": "x"})
        self.assertEqual((status, body), (404, {"message": "404 Commit Not Found"}))


class RateLimitTest(FakeGitLabTest):
    def test_throttle(self):
        fake.admin("POST", "/_fake/config", {"rate_limit": 2, "rate_limit_period": 60})
        self.assertEqual(call("GET", "/user")[0], 200)
        self.assertEqual(call("GET", "/user")[0], 200)
        status, body, headers = call("GET", "/user")
        self.assertEqual((status, body), (429, "Retry later\n"))
        self.assertEqual((headers["RateLimit-Name"], headers["RateLimit-Limit"],
                          headers["RateLimit-Observed"], headers["RateLimit-Remaining"]),
                         ("throttle_authenticated_api", "2", "3", "0"))
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        self.assertTrue(headers["RateLimit-ResetTime"].endswith("GMT"))
        self.assertGreater(int(headers["RateLimit-Reset"]), 0)
        fake.admin("POST", "/_fake/config", {"rate_limit": 0})
        self.assertEqual(call("GET", "/user")[0], 200)


class AdminTest(FakeGitLabTest):
    def test_faults_log_state_reset(self):
        fake.admin("POST", "/_fake/faults", {"path_regex": r"/statuses/", "status": 500, "count": 2})
        self.assertEqual(self.status("pending")[:2], (500, {"message": "500 Internal Server Error"}))
        self.assertEqual(self.status("pending")[0], 500)
        self.assertEqual(self.status("pending")[0], 201)
        fake.admin("POST", "/_fake/faults", {"path_regex": r"/notes$", "method": "POST",
                                             "status": 429, "retry_after": 3})
        status, body, headers = call("POST", "/projects/42/merge_requests/1/notes", {"body": "hi"})
        self.assertEqual((status, body, headers["Retry-After"]), (429, "Retry later\n", "3"))
        self.assertEqual(call("POST", "/projects/42/merge_requests/1/notes", {"body": "hi"})[0], 201)
        self.assertEqual(fake.admin("GET", "/_fake/faults"), [])

        log = fake.admin("GET", "/_fake/requests")
        self.assertEqual([(r["method"], r["status"]) for r in log],
                         [("POST", 500), ("POST", 500), ("POST", 201), ("POST", 429), ("POST", 201)])
        self.assertEqual(log[0]["path"], f"/api/v4/projects/{PROJECT}/statuses/{SHA}")
        self.assertEqual(log[0]["json"], {"state": "pending", "name": "deploybot/prd"})
        headers = {k.lower(): v for k, v in log[0]["headers"].items()}
        self.assertEqual(headers["private-token"], TOKEN)

        state = fake.admin("GET", "/_fake/state")
        self.assertEqual([(s["name"], s["status"], s["project_id"]) for s in state["statuses"]],
                         [("deploybot/prd", "pending", 42)])
        self.assertEqual([(n["body"], n["noteable_iid"]) for n in state["notes"]], [("hi", 1)])
        fake.admin("POST", "/_fake/projects", {"path_with_namespace": "tmp/project"})
        fake.admin("POST", "/_fake/config", {"scopes": ["read_api"]})
        fake.admin("POST", "/_fake/reset")
        state = fake.admin("GET", "/_fake/state")
        self.assertEqual((state["statuses"], state["notes"], fake.admin("GET", "/_fake/requests")),
                         ([], [], []))
        # The command line's projects and configuration come back; admin-made ones go.
        self.assertEqual(sorted(p["path_with_namespace"] for p in state["projects"]),
                         ["acme/infra-config", "acme/other"])
        self.assertEqual(fake.admin("GET", "/_fake/config")["scopes"], ["api"])

    def test_admin_errors(self):
        for path, body in (("/_fake/config", {"nope": 1}), ("/_fake/config", {"scopes": ["root"]}),
                           ("/_fake/faults", {"status": 500, "bogus": 1}),
                           ("/_fake/projects", {"path_with_namespace": "noslash"}),
                           ("/_fake/commits", {"project": "acme/missing", "sha": SHA})):
            req = urllib.request.Request(fake.url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            with self.assertRaises(urllib.error.HTTPError) as ctx:
                urllib.request.urlopen(req, timeout=10)
            self.assertEqual(ctx.exception.code, 400, path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
