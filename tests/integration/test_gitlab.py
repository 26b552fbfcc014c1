"""GitLab as the host, end to end: the real binary, a real git repository,
fake_gitlab.py (statuses with GitLab's state machine, merge request notes)
and the fake AWS. Deliveries are GitLab's real payloads
(../shared/fixtures/webhooks/gitlab/) re-pointed at our commits, with the
secret token and a Standard Webhooks signature (signing is required)."""
import base64
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"
PID = harness.GITLAB_PROJECT_ID
TOKEN = harness.GITLAB_TOKEN


def gitlab_stack(reconcile_s=0):
    s = harness.Stack(start_bot=False, host="gitlab")
    if reconcile_s:
        s.repo_settings["reconcile_interval_s"] = reconcile_s
    s.start_bot()
    return s


class GitLabCase(unittest.TestCase):
    reconcile_s = 0

    @classmethod
    def setUpClass(cls):
        cls.s = gitlab_stack(cls.reconcile_s)

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def deliver(self, event, doc, key=None, token=harness.SECRET, sign=True, ts=None, sig=None):
        body = json.dumps(doc).encode()
        headers = harness.gitlab_headers(event, body, key, token, sign, ts, sig)
        code, answer = harness.http("POST", self.s.bot_url + "/webhooks/gitlab", body, headers)
        return code, json.loads(answer) if answer.startswith(b"{") else answer

    def api(self, path):
        code, body = harness.http("GET", "%s/api/v4/projects/%d%s" % (self.s.gitlab_url, PID, path),
                                  headers={"PRIVATE-TOKEN": TOKEN})
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def statuses(self, sha, name):
        return [x for x in self.api("/repository/commits/%s/statuses?all=true&sort=asc" % sha)
                if x["name"] == name]

    def wait_status(self, sha, name, states=("success", "failed", "canceled")):
        def done():
            st = self.statuses(sha, name)
            return st[-1] if st and st[-1]["status"] in states else None
        try:
            return harness.wait_for(done, 60, "status %s on %s" % (name, sha[:12]))
        except AssertionError:
            sys.stderr.write(self.s.bot.output()[-4000:])
            raise

    def push(self, before, after):
        code, answer = self.deliver("Push Hook", harness.gitlab_push_payload(before, after))
        self.assertEqual(code, 202, answer)
        self.assertTrue(answer["queued"], answer)
        return answer

    def cidrs(self):
        sg = self.s.tagged("dev")["security_group.alb"]
        return sorted({r["CidrIp"] for p in sg["IpPermissions"] for r in p.get("IpRanges", [])})


class GitLabHost(GitLabCase):
    def test_1_push_applies_then_revert_rolls_back(self):
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev: office")
        self.push(base, c1)
        st = self.wait_status(c1, "deploybot/dev")
        self.assertEqual(st["status"], "success", st)
        self.assertRegex(st["description"], r"^Apply complete: \d+ added, 0 changed, 0 destroyed\.$")
        self.assertTrue(st["target_url"].startswith(s.bot_url + "/runs/"), st)
        first = self.cidrs()
        self.assertEqual(first, ["198.51.100.0/24", "203.0.113.0/24"])

        c2 = s.repo.edit_json(DEV, lambda d: d.update(office_cidrs=["192.0.2.0/24"]), "dev: new office")
        self.push(c1, c2)
        self.assertEqual(self.wait_status(c2, "deploybot/dev")["status"], "success")
        self.assertEqual(self.cidrs(), ["192.0.2.0/24"])
        harness.git(s.repo.path, "revert", "--no-edit", "HEAD")
        c3 = s.repo.head()
        self.push(c2, c3)
        self.assertEqual(self.wait_status(c3, "deploybot/dev")["status"], "success")
        self.assertEqual(self.cidrs(), first)
        # The apply result is a comment on the commit.
        notes = self.api("/repository/commits/%s/comments" % c3)
        self.assertEqual(len(notes), 1, notes)
        self.assertIn("dev", notes[0]["note"])

    def test_2_merge_request_note_edited_in_place_then_merge_applies(self):
        s = self.s
        base = s.repo.head()
        harness.git(s.repo.path, "checkout", "-q", "-b", "feature")
        h1 = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.77/32"), "dev: one")
        harness.git(s.repo.path, "update-ref", "refs/merge-requests/5/head", h1)
        code, answer = self.deliver("Merge Request Hook", harness.gitlab_mr_payload(h1, "open", iid=5))
        self.assertEqual(code, 202, answer)
        st = self.wait_status(h1, "deploybot/dev")
        self.assertEqual(st["status"], "success", st)
        self.assertRegex(st["description"], r"\(not applied\)$")
        notes = self.api("/merge_requests/5/notes")
        self.assertEqual(len(notes), 1, notes)
        note_id, first_body = notes[0]["id"], notes[0]["body"]
        self.assertIn(h1[:7], first_body)

        h2 = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.78/32"), "dev: two")
        harness.git(s.repo.path, "update-ref", "refs/merge-requests/5/head", h2)
        code, answer = self.deliver("Merge Request Hook", harness.gitlab_mr_payload(h2, "update", iid=5, oldrev=h1))
        self.assertEqual(code, 202, answer)
        self.wait_status(h2, "deploybot/dev")
        harness.wait_for(lambda: h2[:7] in self.api("/merge_requests/5/notes")[0]["body"], 30,
                         "the note shows the new head")
        notes = self.api("/merge_requests/5/notes")
        self.assertEqual([n["id"] for n in notes], [note_id])
        self.assertNotIn("198.51.100.78", json.dumps(s.tagged("dev")))  # planned, not applied

        # Merge: the merge request hook applies nothing, the push of main does.
        harness.git(s.repo.path, "checkout", "-q", "main")
        harness.git(s.repo.path, "merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
        merged = s.repo.head()
        code, answer = self.deliver("Merge Request Hook", harness.gitlab_mr_payload(h2, "merge", iid=5))
        self.assertEqual(code, 202, answer)
        self.push(base, merged)
        self.assertEqual(self.wait_status(merged, "deploybot/dev")["status"], "success")
        self.assertIn("198.51.100.78/32", self.cidrs())

    def test_3_wrong_token_signature_or_stale_timestamp_is_401_and_nothing_stored(self):
        s = self.s
        doc = harness.gitlab_push_payload(s.repo.head(), s.repo.head())
        runs_before = s.api("/api/runs")[1]
        cases = {"wrong token": dict(token="not the secret"),
                 "no token": dict(token=None),
                 "wrong signature": dict(sig="v1," + base64.b64encode(b"x" * 32).decode()),
                 "signature by another key": dict(sig=harness.gitlab_signature("whsec_" + base64.b64encode(b"k" * 24).decode(),
                                                                "id", int(time.time()), b"{}")),
                 "unsigned (require_signature)": dict(sign=False),
                 "stale timestamp": dict(ts=int(time.time()) - 600),
                 "future timestamp": dict(ts=int(time.time()) + 600)}
        for what, kw in cases.items():
            code, answer = self.deliver("Push Hook", doc, **kw)
            self.assertEqual(code, 401, (what, answer))
        code, answer = self.deliver("Push Hook", doc, key="after-refusals")
        self.assertEqual(code, 202, answer)
        self.assertEqual(s.api("/api/runs")[1], runs_before)
        # The refused deliveries made no job: ids go on from the last one.
        code, again = self.deliver("Push Hook", doc, key="after-refusals-2")
        self.assertEqual(again["job"], answer["job"] + 1, (answer, again))

    def test_4_duplicate_delivery_is_not_queued_twice(self):
        doc = harness.gitlab_push_payload(self.s.repo.head(), self.s.repo.head())
        code, first = self.deliver("Push Hook", doc, key="retried-delivery")
        self.assertEqual((code, first["queued"]), (202, True), first)
        # GitLab's retry: same Idempotency-Key, a new X-Gitlab-Event-UUID and timestamp.
        code, second = self.deliver("Push Hook", doc, key="retried-delivery")
        self.assertEqual(code, 202, second)
        self.assertEqual(second, {"queued": False, "duplicate": True})

    def test_5_fork_merge_request_is_not_planned(self):
        s = self.s
        head = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.99/32"), "fork change")
        harness.git(s.repo.path, "reset", "-q", "--hard", "HEAD~1")
        harness.git(s.repo.path, "update-ref", "refs/merge-requests/9/head", head)
        code, answer = self.deliver("Merge Request Hook", harness.gitlab_mr_payload(head, "open", iid=9, source_project_id=777))
        self.assertEqual(code, 202, answer)
        st = self.wait_status(head, "deploybot")
        self.assertEqual(st["status"], "failed", st)
        self.assertIn("allow_fork_prs", st["description"])
        self.assertEqual(self.statuses(head, "deploybot/dev"), [])
        self.assertEqual(self.api("/merge_requests/9/notes"), [])

    def test_6_another_project_is_403(self):
        doc = harness.gitlab_push_payload(self.s.repo.head(), self.s.repo.head(), project="evil/infra-config")
        code, answer = self.deliver("Push Hook", doc)
        self.assertEqual(code, 403, answer)
        self.assertIn("evil/infra-config", answer["error"])


class GitLabReconcile(GitLabCase):
    reconcile_s = 1

    def test_push_without_hook_is_applied(self):
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev: office")
        self.push(base, c1)
        self.assertEqual(self.wait_status(c1, "deploybot/dev")["status"], "success")
        # A push of more than push_event_hooks_limit refs: GitLab sends no hook.
        harness.git(s.repo.path, "tag", "v1")
        harness.git(s.repo.path, "branch", "other-1")
        c2 = s.repo.edit_json(DEV, lambda d: d.update(office_cidrs=["192.0.2.0/24"]), "dev: new office")
        st = self.wait_status(c2, "deploybot/dev")
        self.assertEqual(st["status"], "success", st)
        self.assertEqual(self.cidrs(), ["192.0.2.0/24"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
