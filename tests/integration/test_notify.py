"""What people read: the real binary against the GitHub fake, the chat fake
(Slack, Discord, a signed generic webhook) and the AWS fake.

A pull request gets one plan comment, edited in place by its next push; its
merge is applied and commented on; a broken commit with planted secrets fails
with a revert command and no secret anywhere; a revert fixes it; chat
messages follow the routes; a GitHub and chat outage (500s, 429 with
Retry-After, a primary rate limit) loses nothing and fails no deploy; and
messages pending when the bot stops are delivered after it restarts."""
import hashlib
import hmac
import json
import os
import re
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

PUSH_REPO = "ailisp/gcbapp-buildconfig-example"   # repository of the push fixture
PR_REPO = "Codertocat/Hello-World"                 # repository of the pull request fixture
PRD = "environments/prd/stack.json"
DEV = "environments/dev/stack.json"
HOOK_SECRET = "hook-signing-secret-for-tests"
PLANTED = "planted-s3cret-value-0123456789"


def plan_block(body, summary):
    """The code block inside '<details><summary>{summary}</summary>'."""
    m = re.search(r"<details><summary>" + re.escape(summary) + r"</summary>\n\n```\n(.*?)```\n\n</details>",
                  body, re.S)
    return m.group(1) if m else None


class Notify(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = cls.s = harness.Stack(start_bot=False, chat=True)
        c = s.chat_url
        cls.urls = {"SLACK_PRD_URL": c + "/slack/T0001/B0001/prdsecretpath",
                    "SLACK_DEV_URL": c + "/slack/T0001/B0002/devsecretpath",
                    "DISCORD_URL": c + "/discord/112233445566/discord-token_abc",
                    "DEPLOYS_HOOK_URL": c + "/hook/deploys"}
        s.extra_env = dict(cls.urls, DEPLOYS_HOOK_SECRET=HOOK_SECRET, PLANTED_SECRET=PLANTED)
        s.notify = {"chat": [
            {"type": "slack", "url_env": "SLACK_PRD_URL", "environments": ["prd"],
             "events": ["apply_succeeded", "apply_failed"]},
            {"type": "slack", "url_env": "SLACK_DEV_URL", "environments": ["dev"]},
            {"type": "discord", "url_env": "DISCORD_URL", "events": ["plan"]},
            {"type": "webhook", "url_env": "DEPLOYS_HOOK_URL", "secret_env": "DEPLOYS_HOOK_SECRET"}],
            "secrets_env": ["PLANTED_SECRET"]}
        with s.closed_on_failure():
            s.start_bot()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    # ------------------------------------------------------------ helpers
    def gh(self, path):
        code, body = harness.http("GET", self.s.github_url + path,
                                  headers={"Authorization": "token " + harness.GITHUB_TOKEN})
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def gh_requests(self):
        return json.loads(harness.http("GET", self.s.github_url + "/_fake/requests")[1])

    def chat_requests(self, prefix=None):
        reqs = json.loads(harness.http("GET", self.s.chat_url + "/_fake/requests")[1])
        return [r for r in reqs if prefix is None or r["path"].startswith(prefix)]

    def accepted(self, prefix):
        return [r for r in self.chat_requests(prefix) if r["accepted"]]

    def hook_events(self):
        return [(r["json"]["event"], r["json"]["environment"], r["json"]["sha"])
                for r in self.accepted("/hook/deploys")]

    def wait(self, fn, what, timeout=90):
        try:
            return harness.wait_for(fn, timeout, what)
        except AssertionError:
            self.dump()
            raise

    def dump(self):
        """The end of the bot's log, without the sender's retry lines."""
        lines = [l for l in self.s.bot.output().splitlines() if "notify #" not in l]
        sys.stderr.write("--- %s/deploybot.log\n%s\n" % (self.s.dir, "\n".join(lines[-60:])))

    def wait_status(self, sha, env, repo=PUSH_REPO):
        try:
            return self.s.wait_status(sha, "deploybot/" + env, timeout=120, repo=repo)
        except AssertionError:
            self.dump()
            raise

    def push(self, before, after):
        code, body = self.s.deliver("push", harness.push_payload(before, after))
        self.assertEqual(code, 202, body)

    def pr_comments(self):
        return self.gh("/repos/%s/issues/7/comments" % PR_REPO)

    def commit_comments(self, sha):
        return self.gh("/repos/%s/commits/%s/comments" % (PUSH_REPO, sha))

    def fault(self, url, spec):
        code, body = harness.http("POST", url + "/_fake/faults", json.dumps(spec).encode(),
                                  {"Content-Type": "application/json"})
        self.assertEqual(code, 201, body)

    def run_url(self, sha, env, repo=PUSH_REPO):
        st = self.s.latest_status(sha, "deploybot/" + env, repo)
        return st["target_url"]

    # -------------------------------------------------------------- tests
    def test_1_pull_request_comment_is_updated_in_place(self):
        s = self.s
        base = s.repo.head()
        harness.git(s.repo.path, "checkout", "-q", "-b", "feature")
        h1 = s.repo.edit_json(PRD, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "prd: office")
        harness.git(s.repo.path, "checkout", "-q", "main")
        code, body = s.deliver("pull_request", harness.pr_payload(base, h1))
        self.assertEqual(code, 202, body)
        self.wait_status(h1, "prd", PR_REPO)
        self.wait(lambda: [c for c in self.pr_comments() if "- prd: Plan: " in c["body"]], "plan comment")
        comments = self.pr_comments()
        self.assertEqual(len(comments), 1)
        first = comments[0]
        url = self.run_url(h1, "prd", PR_REPO)
        self.assertRegex(url, r"^http://127\.0\.0\.1:\d+/runs/\d+$")
        plan = plan_block(first["body"], "prd: full plan")
        self.assertIsNotNone(plan, first["body"])
        # How many resources prd's stack has (the stack grows with the product).
        n = self.__class__.n_prd = int(re.search(r"\nPlan: (\d+) to add, 0 to change, 0 to destroy\.\n$",
                                                  plan).group(1))
        self.assertGreaterEqual(n, 10)
        self.assertEqual(first["body"],
                         "<!-- deploybot:plan -->\n"
                         "### deploybot plan for `%s`\n\n"
                         "- prd: Plan: %d to add, 0 to change, 0 to destroy. ([details](%s))\n\n"
                         "<details><summary>prd: full plan</summary>\n\n"
                         "```\n%s```\n\n"
                         "</details>\n\n" % (h1[:7], n, url, plan))
        # The block is the plan the run logged, blank lines included.
        self.assertTrue(plan.startswith("  + "), plan)
        self.assertIn("198.51.100.0/24", plan)
        code, run = s.api(url.replace("/runs/", "/api/runs/"))
        logged = json.loads(run)["log"]
        self.assertIn("\n".join(l for l in plan.splitlines() if l.strip()), logged)

        # A second push to the pull request edits the same comment.
        harness.git(s.repo.path, "checkout", "-q", "feature")
        h2 = s.repo.edit_json(PRD, lambda d: d["office_cidrs"].append("192.0.2.0/24"), "prd: second office")
        harness.git(s.repo.path, "checkout", "-q", "main")
        code, body = s.deliver("pull_request", harness.pr_payload(base, h2, action="synchronize"))
        self.assertEqual(code, 202, body)
        self.wait(lambda: [c for c in self.pr_comments()
                           if h2[:7] in c["body"] and "- prd: Plan: " in c["body"]], "updated comment")
        comments = self.pr_comments()
        self.assertEqual(len(comments), 1)
        self.assertEqual(comments[0]["id"], first["id"])
        body2 = comments[0]["body"]
        url2 = self.run_url(h2, "prd", PR_REPO)
        self.assertNotEqual(url, url2)
        plan2 = plan_block(body2, "prd: full plan")
        self.assertIn("192.0.2.0/24", plan2)
        self.assertEqual(body2, "<!-- deploybot:plan -->\n### deploybot plan for `%s`\n\n"
                                "- prd: Plan: %d to add, 0 to change, 0 to destroy. ([details](%s))\n\n"
                                "<details><summary>prd: full plan</summary>\n\n```\n%s```\n\n</details>\n\n"
                                % (h2[:7], n, url2, plan2))
        reqs = self.gh_requests()
        posts = [r for r in reqs if r["method"] == "POST" and r["path"].endswith("/issues/7/comments")]
        patches = [r for r in reqs if r["method"] == "PATCH"]
        self.assertEqual(len(posts), 1)
        self.assertTrue(patches)
        self.assertTrue(all(r["path"] == "/repos/%s/issues/comments/%d" % (PR_REPO, first["id"]) for r in patches))
        self.__class__.pr_plan = plan2

        # Chat: Discord takes plans of every environment, the webhook everything;
        # the Slack channels take applies (prd) or dev only.
        self.wait(lambda: len(self.accepted("/discord/")) == 2, "two plans on Discord")
        titles = [r["json"]["embeds"][0]["title"] for r in self.accepted("/discord/")]
        self.assertEqual(titles, ["prd · plan", "prd · plan"])
        embed = self.accepted("/discord/")[-1]["json"]["embeds"][0]
        self.assertTrue(embed["description"].startswith("Plan: %d to add, 0 to change, 0 to destroy.\n```\n" % n))
        self.assertEqual(embed["fields"][0]["value"], "`%s` in PR #7" % h2[:7])
        self.wait(lambda: len(self.hook_events()) == 2, "two plans on the webhook")
        self.assertEqual(self.hook_events(), [("plan", "prd", h1), ("plan", "prd", h2)])
        self.assertEqual(self.chat_requests("/slack/"), [])

    def test_2_merge_applies_and_comments_on_the_commit(self):
        s = self.s
        base = s.repo.head()
        harness.git(s.repo.path, "merge", "-q", "--no-ff", "feature", "-m", "Merge pull request #7 from feature")
        m = s.repo.head()
        self.push(base, m)
        st = self.wait_status(m, "prd")
        self.assertEqual(st["state"], "success", st)
        applied = "Apply complete: %d added, 0 changed, 0 destroyed." % self.n_prd
        self.assertEqual(st["description"], applied)
        self.wait(lambda: self.commit_comments(m), "commit comment")
        comments = self.commit_comments(m)
        self.assertEqual(len(comments), 1)
        url = self.run_url(m, "prd")
        self.assertEqual(comments[0]["body"],
                         "<!-- deploybot:apply -->\n### deploybot apply of `%s` on `main`\n\n"
                         "- prd: %s\n\n"
                         "<details><summary>prd: the plan applied</summary>\n\n```\n%s```\n\n</details>\n\n"
                         "[Details of this run](%s)\n" % (m[:7], applied, self.pr_plan, url))
        self.wait(lambda: len(self.accepted("/slack/T0001/B0001/")) == 1, "prd Slack message")
        msg = self.accepted("/slack/T0001/B0001/")[0]["json"]
        self.assertEqual(msg["text"], "deploybot: prd apply succeeded: " + applied)
        self.assertEqual(msg["blocks"][0]["text"]["text"], "*prd* · apply succeeded · `%s` on `main`\n%s" % (m[:7], applied))
        self.assertEqual(msg["blocks"][-1]["elements"][0]["text"], "<%s|Details of this run> · %s" % (url, PUSH_REPO))
        self.wait(lambda: len(self.hook_events()) == 4, "apply events on the webhook")
        self.assertEqual(self.hook_events()[2:], [("apply_started", "prd", m), ("apply_succeeded", "prd", m)])
        self.assertEqual(len(self.accepted("/discord/")), 2)       # plans only
        self.assertEqual(self.chat_requests("/slack/T0001/B0002/"), [])  # dev only

    def test_3_generic_webhook_is_signed(self):
        reqs = self.accepted("/hook/deploys")
        self.assertGreaterEqual(len(reqs), 4)
        for r in reqs:
            raw = r["body"].encode()
            h = {k.lower(): v for k, v in r["headers"].items()}
            want = "sha256=" + hmac.new(HOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
            self.assertTrue(hmac.compare_digest(h["x-deploybot-signature-256"], want))
            self.assertEqual(h["content-type"], "application/json")
            self.assertEqual(h["x-deploybot-event"], r["json"]["event"])
            self.assertEqual(int(h["x-deploybot-timestamp"]), r["json"]["timestamp"])
            self.assertLess(abs(r["json"]["timestamp"] - r["time"]), 30)
            self.assertRegex(h["x-deploybot-delivery"], r"^\d+$")
            self.assertEqual(set(r["json"]), {"version", "event", "environment", "repository", "sha", "ref",
                                              "pull_request", "failed", "changes", "summary", "plan", "error",
                                              "revert_command", "run_url", "created_at", "timestamp"})
        applied = [r["json"] for r in reqs if r["json"]["event"] == "apply_succeeded"][0]
        self.assertEqual(applied["summary"], "Apply complete: %d added, 0 changed, 0 destroyed." % self.n_prd)
        self.assertEqual((applied["ref"], applied["pull_request"], applied["failed"]), ("refs/heads/main", None, False))
        plan = [r["json"] for r in reqs if r["json"]["event"] == "plan"][0]
        self.assertEqual((plan["ref"], plan["pull_request"], plan["repository"]), (None, 7, PR_REPO))
        # A forged body fails the check a receiver makes.
        forged = reqs[0]["body"].replace('"prd"', '"dev"').encode()
        self.assertNotEqual(reqs[0]["headers"]["X-Deploybot-Signature-256"],
                            "sha256=" + hmac.new(HOOK_SECRET.encode(), forged, hashlib.sha256).hexdigest())

    def test_4_failed_apply_with_planted_secrets_then_revert(self):
        s = self.s
        before = s.repo.head()

        def plant(d):
            d["instance_type"] = harness.GITHUB_TOKEN
            d["certificate_arn"] = PLANTED
            d["record_name"] = harness.AWS_SECRET
        c = s.repo.edit_json(PRD, plant, "prd: broken")
        self.push(before, c)
        st = self.wait_status(c, "prd")
        self.assertEqual(st["state"], "failure", st)
        self.assertTrue(st["description"].startswith("environments/prd/stack.json:"), st)
        self.wait(lambda: self.commit_comments(c), "commit comment on the broken commit")
        body = self.commit_comments(c)[0]["body"]
        self.assertIn("- prd: Apply failed (see below)\n", body)
        self.assertIn('environments/prd/stack.json:instance_type: "***" is not an EC2 instance type', body)
        self.assertIn("To roll back, revert this commit on an up-to-date `main` and push:\n\n"
                      "```sh\ngit revert --no-edit %s\ngit push origin main\n```\n" % c, body)
        self.wait(lambda: len(self.accepted("/slack/T0001/B0001/")) == 2, "prd Slack: apply failed")
        failed = self.accepted("/slack/T0001/B0001/")[1]["json"]
        self.assertIn("apply failed", failed["blocks"][0]["text"]["text"])
        self.assertIn("git revert --no-edit " + c, json.dumps(failed))
        self.wait(lambda: ("apply_failed", "prd", c) in self.hook_events(), "webhook: apply failed")
        event = [r["json"] for r in self.accepted("/hook/") if r["json"]["sha"] == c][-1]
        self.assertEqual(event["revert_command"], "git revert --no-edit " + c)
        self.assertTrue(event["failed"])

        # The command works: the revert is deployed like any push.
        harness.git(s.repo.path, "revert", "--no-edit", "-m", "1", c)
        r = s.repo.head()
        self.push(c, r)
        st = self.wait_status(r, "prd")
        self.assertEqual(st["state"], "success", st)
        self.wait(lambda: self.commit_comments(r), "commit comment on the revert")
        self.assertIn("- prd: %s\n" % st["description"], self.commit_comments(r)[0]["body"])
        self.assertNotIn("git revert", self.commit_comments(r)[0]["body"])
        self.wait(lambda: ("apply_succeeded", "prd", r) in self.hook_events(), "webhook: revert applied")
        self.assert_no_secrets()

    def assert_no_secrets(self):
        s = self.s
        planted = [harness.GITHUB_TOKEN, PLANTED, harness.AWS_SECRET, HOOK_SECRET]
        texts = {"bot log": s.bot.output()}
        for r in self.gh_requests():
            texts["github %s %s" % (r["method"], r["path"])] = r["body"] + json.dumps(
                {k: v for k, v in r["headers"].items() if k.lower() != "authorization"})
        for r in self.chat_requests():
            texts["chat %s" % r["path"]] = r["body"] + json.dumps(r["headers"])
        db = sqlite3.connect(os.path.join(s.data_dir, "deploybot.db"))
        for table in ("outbox", "runs", "notify_pr_envs"):
            texts["db " + table] = json.dumps(db.execute("SELECT * FROM " + table).fetchall())
        db.close()
        for name, text in texts.items():
            for secret in planted:
                self.assertNotIn(secret, text, "%s leaks a secret" % name)
            if not name.startswith("chat"):   # the chat fake is reached at those URLs
                for url in self.urls.values():
                    self.assertNotIn(url, text, "%s leaks a webhook URL" % name)
        self.assertIn("***", texts["db outbox"])

    def test_5_outage_loses_nothing_and_fails_no_deploy(self):
        s = self.s
        gh_fault = {"path_regex": "/repos/", "method": "POST"}
        self.fault(s.github_url, dict(gh_fault, status=500, count=2))
        self.fault(s.github_url, dict(gh_fault, status=429, retry_after=2))
        self.fault(s.github_url, dict(gh_fault, status=403, reset_in=3))
        self.fault(s.chat_url, {"path_regex": "^/slack/T0001/B0002/", "status": 429, "retry_after": 1})
        self.fault(s.chat_url, {"path_regex": "^/hook/", "status": 500})
        before = s.repo.head()
        c = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev: office")
        start = time.time()
        self.push(before, c)
        st = self.wait_status(c, "dev")
        self.assertEqual(st["state"], "success", st)
        self.assertRegex(st["description"], r"^Apply complete: \d+ added, 0 changed, 0 destroyed\.$")
        self.assertEqual([x["state"] for x in s.statuses(c)], ["success", "pending"])
        self.assertIn("vpc.main", s.tagged("dev"))
        posts = [r for r in self.gh_requests() if r["method"] == "POST" and r["time"] >= start]
        codes = [r["status"] for r in posts]
        self.assertEqual(codes[:4], [500, 500, 429, 403], codes)
        self.assertTrue(all(code in (201,) for code in codes[4:]), codes)
        self.assertGreaterEqual(posts[3]["time"] - posts[2]["time"], 1.9)   # Retry-After: 2
        self.assertGreaterEqual(posts[4]["time"] - posts[3]["time"], 1.5)   # X-RateLimit-Reset
        # Statuses of one commit and context stay in order through the retries.
        states = [(p["json"]["state"], p["status"]) for p in posts if "/statuses/" in p["path"]]
        self.assertEqual(states[-2:], [("pending", 201), ("success", 201)], states)
        self.assertTrue(all(state == "pending" for state, _ in states[:-1]), states)
        self.wait(lambda: self.commit_comments(c), "commit comment after the outage")

        self.wait(lambda: len(self.accepted("/slack/T0001/B0002/")) == 2, "dev Slack after 429")
        dev = self.chat_requests("/slack/T0001/B0002/")
        self.assertEqual([r["status"] for r in dev], [429, 200, 200])
        self.assertGreaterEqual(dev[1]["time"] - dev[0]["time"], 0.9)        # Retry-After: 1
        self.assertIn("apply started", dev[1]["json"]["text"])
        self.assertIn("apply succeeded", dev[2]["json"]["text"])
        self.wait(lambda: len([r for r in self.chat_requests("/hook/") if r["json"]["sha"] == c]) == 3,
                  "webhook after 500")
        hook = [r for r in self.chat_requests("/hook/") if r["json"]["sha"] == c]
        self.assertEqual([r["status"] for r in hook], [500, 200, 200])
        self.assertEqual(hook[0]["headers"]["X-Deploybot-Delivery"], hook[1]["headers"]["X-Deploybot-Delivery"])
        self.assertIn("will retry", s.bot.output())

    def test_6_messages_pending_at_a_restart_are_delivered(self):
        s = self.s
        self.fault(s.github_url, {"path_regex": "/repos/", "method": "POST", "status": 503, "count": 10000})
        self.fault(s.chat_url, {"path_regex": "^/(slack|hook)/", "status": 500, "count": 10000})
        before = s.repo.head()
        c = s.repo.edit_json(DEV, lambda d: d.update(office_cidrs=["192.0.2.0/24"]), "dev: new office")
        self.push(before, c)

        def run_done():
            db = sqlite3.connect(os.path.join(s.data_dir, "deploybot.db"))
            row = db.execute("SELECT state FROM runs WHERE env = 'dev' AND sha = ? ORDER BY id DESC LIMIT 1",
                             (c,)).fetchone()
            db.close()
            return row and row[0] in ("succeeded", "failed") and {"state": row[0]}
        run = self.wait(run_done, "the deploy finishes while GitHub and chat are down")
        self.assertEqual(run["state"], "succeeded")
        db = sqlite3.connect(os.path.join(s.data_dir, "deploybot.db"))
        pending = db.execute("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0]
        db.close()
        self.assertGreaterEqual(pending, 5)    # 2 statuses, commit comment, 2 Slack, 2 webhook
        self.assertIsNone(s.latest_status(c, "deploybot/dev"))

        s.bot.stop()
        for url in (s.github_url, s.chat_url):
            harness.http("DELETE", url + "/_fake/faults")
        s.start_bot()
        st = self.wait_status(c, "dev")
        self.assertEqual(st["state"], "success", st)
        self.assertRegex(st["description"], r"^Apply complete: \d+ added, \d+ changed, \d+ destroyed\.$")
        self.assertEqual([x["state"] for x in s.statuses(c)], ["success", "pending"])
        self.wait(lambda: self.commit_comments(c), "commit comment after the restart")
        self.assertIn("- dev: %s\n" % st["description"], self.commit_comments(c)[0]["body"])
        self.wait(lambda: [r for r in self.accepted("/slack/T0001/B0002/") if c[:7] in json.dumps(r["json"])
                           and "apply succeeded" in r["json"]["text"]], "Slack after the restart")
        self.wait(lambda: ("apply_succeeded", "dev", c) in self.hook_events(), "webhook after the restart")
        self.assertIn("message(s) waiting to be sent", s.bot.output())
        self.wait(lambda: self.outbox_left() == 0, "outbox drained")
        self.assert_no_secrets()

    def outbox_left(self):
        db = sqlite3.connect(os.path.join(self.s.data_dir, "deploybot.db"))
        n = db.execute("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0]
        db.close()
        return n


if __name__ == "__main__":
    unittest.main(verbosity=2)
