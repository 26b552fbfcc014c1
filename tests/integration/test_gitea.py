"""Gitea (and Forgejo) as the host, end to end: the real binary behind
{"host": {"type": "gitea"}}, deliveries built from real Gitea payloads
(shared/fixtures/webhooks/gitea) signed the way Gitea signs them, the config
repository served over git's smart protocol, statuses and comments on
tests/fakes/fake_gitea.py, the fake AWS.

A signed push plans and applies with Gitea statuses; a pull request gets one
plan comment, edited in place on its next push; the merge applies and its
result goes on the merged pull request (Gitea has no commit comments); a
revert rolls back with the status (and no comment: no pull request merged
it); a wrong signature is 401 and nothing is stored; a repeated delivery is
not queued twice; another repository's delivery is 403; a fork's pull
request is refused while allow_fork_prs is off."""
import json
import os
import sqlite3
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

REPO = harness.GITEA_REPO
DEV = "environments/dev/stack.json"
PRD = "environments/prd/stack.json"
REFUSED = "pull requests from forks are not planned (allow_fork_prs is off)"
push_doc, pr_doc, gitea_sign = harness.gitea_push_payload, harness.gitea_pr_payload, harness.gitea_sign


def alb_cidrs(state):
    sg = state["security_group.alb"]
    return {r["CidrIp"] for p in sg["IpPermissions"] for r in p.get("IpRanges", [])}


class Gitea(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = cls.s = harness.Stack(start_bot=False, host="gitea")
        cls.gitea_url = s.gitea_url
        with s.closed_on_failure():
            cls.daemon = harness.GitDaemon(s.dir)
            s.procs.append(cls.daemon)  # closed with the stack
            s.repo_url = cls.daemon.url("config-repo")
            s.host["token_env"] = "MY_GITEA_TOKEN"
            s.extra_env = {"MY_GITEA_TOKEN": harness.GITEA_TOKEN, "GITEA_TOKEN": "not-this-one"}
            with open(s.config_path()) as f:
                cfg = json.load(f)
            cfg["repo"]["name"] = REPO
            with open(s.config_path(), "w") as f:
                json.dump(cfg, f)
            s.start_bot()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    # ------------------------------------------------------------ helpers
    def deliver(self, event, doc, delivery=None, secret=harness.SECRET):
        return self.s.deliver(event, doc, delivery, secret)

    def api(self, path):
        code, body = harness.http("GET", self.gitea_url + "/api/v1" + path,
                                  headers={"Authorization": "token " + harness.GITEA_TOKEN})
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def statuses(self, sha, context):
        return [x for x in self.s.statuses(sha) if x["context"] == context]

    def wait_status(self, sha, context, states=("success", "failure", "error")):
        return self.s.wait_status(sha, context, states, timeout=120)

    def comments(self, number=7):
        return self.api("/repos/%s/issues/%d/comments" % (REPO, number))

    def gitea_requests(self):
        return json.loads(harness.http("GET", self.gitea_url + "/_fake/requests")[1])

    def wait(self, fn, what, timeout=120):
        try:
            return harness.wait_for(fn, timeout, what)
        except AssertionError:
            sys.stderr.write(self.s.bot.output()[-5000:])
            raise

    def count(self, table):
        db = sqlite3.connect(os.path.join(self.s.data_dir, "deploybot.db"), timeout=10)
        try:
            return db.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
        finally:
            db.close()

    def pull_head(self, number, edit, message):
        """A commit reachable only from refs/pull/<number>/head, where Gitea
        keeps a pull request's head."""
        path = self.s.repo.path
        harness.git(path, "checkout", "-q", "-b", "pr-%d" % number)
        head = self.s.repo.edit_json(PRD, edit, message)
        harness.git(path, "checkout", "-q", "main")
        harness.git(path, "branch", "-q", "-D", "pr-%d" % number)
        harness.git(path, "update-ref", "refs/pull/%d/head" % number, head)
        return head

    # -------------------------------------------------------------- tests
    def test_1_signed_push_plans_and_applies(self):
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev: office")
        delivery = str(uuid.uuid4())
        code, body = self.deliver("push", push_doc(base, c1), delivery)
        self.assertEqual(code, 202, body)
        st = self.wait_status(c1, "deploybot/dev")
        self.assertEqual(st["state"], "success", st)
        self.assertRegex(st["description"], r"^Apply complete: \d+ added, 0 changed, 0 destroyed\.$")
        self.assertTrue(st["target_url"].startswith(s.bot_url + "/runs/"), st)
        self.assertEqual([x["state"] for x in self.statuses(c1, "deploybot/dev")][-1], "pending")
        self.assertTrue(s.tagged("dev"))
        # Old Gitea's payload "secret" is not kept with the job.
        db = sqlite3.connect(os.path.join(s.data_dir, "deploybot.db"), timeout=10)
        payload, = db.execute("SELECT payload FROM jobs WHERE delivery = ?", (delivery,)).fetchone()
        db.close()
        self.assertNotIn(harness.SECRET, payload)
        self.assertEqual(json.loads(payload)["after"], c1)

        # The same delivery again (Gitea's "redeliver"): not queued twice.
        jobs = self.count("jobs")
        code, body = self.deliver("push", push_doc(base, c1), delivery)
        self.assertEqual(code, 202, body)
        self.assertEqual(json.loads(body), {"queued": False, "duplicate": True})
        self.assertEqual(self.count("jobs"), jobs)

    def test_2_pull_request_comment_is_edited_in_place(self):
        s = self.s
        base = s.repo.head()
        h1 = self.pull_head(7, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "prd: office")
        code, body = self.deliver("pull_request", pr_doc(base, h1))
        self.assertEqual(code, 202, body)
        st = self.wait_status(h1, "deploybot/prd")
        self.assertEqual(st["state"], "success", st)
        self.assertRegex(st["description"], r"^Plan: \d+ to add, 0 to change, 0 to destroy\. \(not applied\)$")
        self.wait(lambda: [c for c in self.comments() if "- prd: Plan: " in c["body"] and h1[:7] in c["body"]],
                  "the plan comment")
        first, = self.comments()
        self.assertEqual(s.tagged("prd"), {})  # a plan changes nothing

        h2 = self.pull_head(7, lambda d: d["office_cidrs"].append("192.0.2.0/24"), "prd: two offices")
        code, body = self.deliver("pull_request", pr_doc(base, h2, action="synchronized"))
        self.assertEqual(code, 202, body)
        self.wait_status(h2, "deploybot/prd")
        self.wait(lambda: h2[:7] in self.comments()[0]["body"], "the comment edited for the new head")
        comments = self.comments()
        self.assertEqual([c["id"] for c in comments], [first["id"]])
        self.assertNotIn(h1[:7], comments[0]["body"])
        edits = [r for r in self.gitea_requests() if r["method"] == "PATCH"]
        self.assertTrue(edits)
        self.assertTrue(all(r["path"] == "/api/v1/repos/%s/issues/comments/%d" % (REPO, first["id"])
                            for r in edits), edits)
        self.__class__.pr_head = h2

    def test_3_merge_applies_and_comments_on_the_merged_pull_request(self):
        s = self.s
        base = s.repo.head()
        harness.git(s.repo.path, "merge", "-q", "--no-ff", self.pr_head, "-m", "Merge pull request '#7' from feature")
        m = s.repo.head()
        # What Gitea records when it merges: the pull request behind m.
        code, body = harness.http("POST", self.gitea_url + "/_fake/issues",
                                  json.dumps({"repo": REPO, "index": 7, "state": "closed",
                                              "merge_commit_sha": m}).encode(),
                                  {"Content-Type": "application/json"})
        self.assertEqual(code, 201, body)
        closed = pr_doc(base, self.pr_head, action="closed")
        closed["pull_request"].update(merged=True, merge_commit_sha=m, state="closed")
        code, body = self.deliver("pull_request", closed)
        self.assertEqual(code, 202, body)
        code, body = self.deliver("push", push_doc(base, m))
        self.assertEqual(code, 202, body)
        st = self.wait_status(m, "deploybot/prd")
        self.assertEqual(st["state"], "success", st)
        self.assertRegex(st["description"], r"^Apply complete: \d+ added, 0 changed, 0 destroyed\.$")
        self.wait(lambda: len(self.comments()) == 2, "the apply comment on the merged pull request")
        applied = self.comments()[1]["body"]
        self.assertIn("deploybot apply of `%s` on `main`" % m[:7], applied)
        self.assertIn("- prd: " + st["description"], applied)
        self.assertTrue(s.tagged("prd"))
        self.__class__.merged = m

    def test_4_revert_rolls_back_with_the_status_only(self):
        s = self.s
        m = self.merged
        added = {"192.0.2.0/24"}  # the office of the pull request as merged
        self.assertEqual(alb_cidrs(s.tagged("prd")) & added, added)
        harness.git(s.repo.path, "revert", "--no-edit", "-m", "1", "HEAD")
        r = s.repo.head()
        code, body = self.deliver("push", push_doc(m, r))
        self.assertEqual(code, 202, body)
        st = self.wait_status(r, "deploybot/prd")
        self.assertEqual(st["state"], "success", st)
        self.assertEqual(st["description"], "Apply complete: 0 added, 1 changed, 0 destroyed.")
        self.assertEqual(alb_cidrs(s.tagged("prd")) & added, set())
        # No pull request merged the revert: the sender asked Gitea, and
        # posted nothing.
        self.wait(lambda: [q for q in self.gitea_requests()
                           if q["path"] == "/api/v1/repos/%s/commits/%s/pull" % (REPO, r)
                           and q["status"] == 404], "the sender's look for a merged pull request")
        self.assertEqual(len(self.comments()), 2)

    def test_5_wrong_signature_is_401_and_nothing_is_stored(self):
        s = self.s
        deliveries, jobs = self.count("deliveries"), self.count("jobs")
        doc = push_doc(s.repo.head(), s.repo.head())
        code, body = self.deliver("push", doc, secret="not the secret")
        self.assertEqual(code, 401, body)
        self.assertIn(b"invalid X-Gitea-Signature signature", body)
        body = json.dumps(doc).encode()
        code, answer = harness.http("POST", s.bot_url + "/webhooks/gitea", body,
                                    {"Content-Type": "application/json", "X-Gitea-Event": "push",
                                     "X-Gitea-Delivery": str(uuid.uuid4()),
                                     "X-Hub-Signature-256": "sha256=" + gitea_sign(body)})
        self.assertEqual(code, 401, answer)
        self.assertIn(b"missing X-Gitea-Signature header", answer)
        # Forgejo's own headers are read when Gitea's are absent.
        forgejo = {"Content-Type": "application/json", "X-Forgejo-Event": "issue_comment",
                   "X-Forgejo-Delivery": str(uuid.uuid4()),
                   "X-Forgejo-Signature": gitea_sign(body, "not the secret")}
        code, answer = harness.http("POST", s.bot_url + "/webhooks/gitea", body, forgejo)
        self.assertEqual(code, 401, answer)
        forgejo["X-Forgejo-Signature"] = gitea_sign(body)
        code, answer = harness.http("POST", s.bot_url + "/webhooks/gitea", body, forgejo)
        self.assertEqual((code, json.loads(answer)), (202, {"queued": False, "reason": "event issue_comment ignored"}))
        self.assertEqual((self.count("deliveries"), self.count("jobs")), (deliveries, jobs))
        # GitHub's endpoint is not this bot's, even with GitHub's headers.
        code, answer = harness.http("POST", s.bot_url + "/webhooks/github", body,
                                    harness.gitea_headers("push", body))
        self.assertEqual(code, 404, answer)
        self.assertEqual((self.count("deliveries"), self.count("jobs")), (deliveries, jobs))

    def test_6_another_repository_is_403(self):
        s = self.s
        jobs = self.count("jobs")
        code, body = self.deliver("push", push_doc(s.repo.head(), s.repo.head(), repo="mallory/infra-config"))
        self.assertEqual(code, 403, body)
        self.assertIn(b"delivery is for repository mallory/infra-config, this bot deploys " + REPO.encode(), body)
        self.assertEqual(self.count("jobs"), jobs)

    def test_7_fork_pull_request_is_refused(self):
        s = self.s
        base = s.repo.head()
        head = self.pull_head(8, lambda d: d["office_cidrs"].append("198.51.100.8/32"), "prd: from a fork")
        code, body = self.deliver("pull_request", pr_doc(base, head, number=8, fork=True))
        self.assertEqual(code, 202, body)
        st = self.wait_status(head, "deploybot", states=("error", "failure", "success"))
        self.assertEqual((st["state"], st["description"]), ("error", REFUSED))
        self.assertEqual([x["context"] for x in self.api("/repos/%s/statuses/%s" % (REPO, head))], ["deploybot"])
        self.assertEqual(self.comments(8), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
