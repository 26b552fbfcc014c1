"""Pull requests whose head is on no branch of the config repository: a
fork's (GitHub's real fork payload, re-pointed at our commits) and a
same-repository one whose branch was deleted after the push. Their commits
are only under refs/pull/<n>/head in the origin repository, as on GitHub.

allow_fork_prs off (the default): a fork's pull request is neither fetched
nor planned; one status "deploybot" says why. A same-repository pull request
is planned as always, its head fetched by its ref. allow_fork_prs on: the
fork's pull request is planned (statuses, the plan comment) and nothing in
AWS changes."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

PRD = "environments/prd/stack.json"
REPO = "ailisp/gcbapp-buildconfig-example"      # the fork fixture's base repository
SAME_REPO = "Codertocat/Hello-World"             # harness.pr_payload's
REFUSED = "pull requests from forks are not planned (allow_fork_prs is off)"
READ_ONLY = ("Describe", "List", "Get")


def fork_payload(base, head, number):
    """GitHub's delivery of a pull request from a fork (head repository
    byao1276/..., base ailisp/...), opened."""
    doc = json.loads(harness.fixture("github/reallyfastci.pull_request.closed.merged.json"))
    doc["action"], doc["number"] = "opened", number
    pr = doc["pull_request"]
    pr.update(number=number, state="open", merged=False, merged_at=None, closed_at=None,
              merge_commit_sha=None)
    pr["head"]["sha"], pr["base"]["sha"], pr["base"]["ref"] = head, base, "main"
    assert pr["head"]["repo"]["full_name"] != pr["base"]["repo"]["full_name"]
    return doc


class ForkPullRequests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(start_bot=False)
        # Over git's smart protocol, as from GitHub: a fetch brings what the
        # refs it asks for reach (a local path would bring everything).
        cls.daemon = harness.GitDaemon(cls.s.dir)
        cls.s.repo_url = cls.daemon.url("config-repo")
        cls.s.start_bot()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()
        cls.daemon.stop()

    def pull_head(self, number, message):
        """A commit on a branch that is then deleted, reachable only from
        refs/pull/<number>/head in the origin (GitHub keeps a fork's commits
        there)."""
        path = self.s.repo.path
        harness.git(path, "checkout", "-q", "-b", "pr-%d" % number)
        head = self.s.repo.edit_json(PRD, lambda d: d["office_cidrs"].append("198.51.100.%d/32" % number),
                                     message)
        harness.git(path, "checkout", "-q", "main")
        harness.git(path, "branch", "-q", "-D", "pr-%d" % number)
        harness.git(path, "update-ref", "refs/pull/%d/head" % number, head)
        self.assertEqual(harness.git(path, "branch", "--contains", head), "")
        return head

    def mirror(self, *args):
        return harness.git(os.path.join(self.s.data_dir, "repo.git"), *args)

    def aws_calls(self):
        code, body = harness.http("GET", self.s.aws_url + "/_fake/calls/log")
        self.assertEqual(code, 200, body)
        return [c["action"] for c in json.loads(body)]

    def pr_comments(self, repo, number):
        code, body = harness.http("GET", "%s/repos/%s/issues/%d/comments" % (self.s.github_url, repo, number),
                                  headers={"Authorization": "token " + harness.GITHUB_TOKEN})
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def assert_planned(self, head, repo, number):
        s = self.s
        st = s.wait_status(head, "deploybot/prd", repo=repo, timeout=120)
        self.assertEqual(st["state"], "success", st)
        self.assertRegex(st["description"], r"^Plan: \d+ to add, 0 to change, 0 to destroy\. \(not applied\)$")
        harness.wait_for(lambda: [c for c in self.pr_comments(repo, number) if "- prd: Plan: " in c["body"]],
                         60, "the plan comment on pull request #%d" % number)
        self.assertEqual(self.mirror("rev-parse", "refs/pull/%d/head" % number), head)

    def has_object(self, sha):
        return subprocess.run(["git", "-C", os.path.join(self.s.data_dir, "repo.git"), "cat-file", "-e", sha],
                              stderr=subprocess.DEVNULL).returncode == 0

    def test_1_off_same_repo_pr_of_a_deleted_branch_is_planned(self):
        s = self.s
        base = s.repo.head()
        head = self.pull_head(9, "prd: branch deleted after the push")
        code, body = s.deliver("pull_request", harness.pr_payload(base, head, number=9))
        self.assertEqual(code, 202, body)
        self.assert_planned(head, SAME_REPO, 9)
        self.assertIsNone(s.latest_status(head, "deploybot", repo=SAME_REPO))

    def test_2_off_fork_is_not_fetched_nor_planned(self):
        s = self.s
        base = s.repo.head()
        head = self.pull_head(8, "prd: from a fork")
        calls = self.aws_calls()
        code, body = s.deliver("pull_request", fork_payload(base, head, 8))
        self.assertEqual(code, 202, body)
        st = s.wait_status(head, "deploybot", states=("error", "failure", "success"))
        self.assertEqual((st["state"], st["description"]), ("error", REFUSED))
        harness.wait_for(lambda: "pull request #8 from byao1276/gcbapp-buildconfig-example: " + REFUSED
                         in s.bot.output(), 30, "the job's log line")
        self.assertEqual([x["context"] for x in s.statuses(head)], ["deploybot"])
        self.assertEqual(self.pr_comments(REPO, 8), [])
        self.assertEqual(self.aws_calls(), calls)
        # The mirror (made by test_1) got nothing of it: no ref, not its commit.
        self.assertEqual(self.mirror("for-each-ref", "--format=%(refname)", "refs/pull"), "refs/pull/9/head")
        self.assertFalse(self.has_object(head))

    def test_3_on_fork_is_planned_and_changes_nothing(self):
        s = self.s
        s.bot.stop()
        with open(s.config_path()) as f:
            cfg = json.load(f)
        cfg["allow_fork_prs"] = True
        with open(s.config_path(), "w") as f:
            json.dump(cfg, f)
        s.start_bot()
        base = s.repo.head()
        head = self.pull_head(7, "prd: from a fork, allowed")
        code, body = s.deliver("pull_request", fork_payload(base, head, 7))
        self.assertEqual(code, 202, body)
        self.assert_planned(head, REPO, 7)
        self.assertIsNone(s.latest_status(head, "deploybot"))
        calls = self.aws_calls()
        self.assertTrue(calls)
        self.assertEqual([c for c in calls if not c.startswith(READ_ONLY)], [])
        self.assertEqual(s.tagged("prd"), {})


if __name__ == "__main__":
    unittest.main(verbosity=2)
