"""Issue 13, untrusted input end to end (real binary, real git repository,
fake GitHub and AWS): deliveries for another repository are refused and
stored nowhere, files read from git and environments per push are capped,
and payload text reaches the log and chat escaped."""
import json
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

REPO = "ailisp/gcbapp-buildconfig-example"  # the fixtures' repository.full_name


def started(limits=None, chat=False, env=None, name=REPO):
    """A Stack whose config names the repository (and any limits)."""
    s = harness.Stack(start_bot=False, chat=chat)
    cfg = {"listen": "127.0.0.1", "port": 0, "data_dir": s.data_dir,
           "repo": {"url": s.repo.path},
           "github": {"api_url": s.github_url}, "aws": {"region": harness.REGION}}
    if name:
        cfg["repo"]["name"] = name
    if limits:
        cfg["limits"] = limits
    if chat:
        s.extra_env["DEPLOYBOT_TEST_SLACK"] = s.chat_url + "/slack/T0001/B0001/path"
        s.extra_env["DEPLOYBOT_TEST_DISCORD"] = s.chat_url + "/discord/112233445566/token"
        cfg["notify"] = {"chat": [{"type": "slack", "url_env": "DEPLOYBOT_TEST_SLACK"},
                                  {"type": "discord", "url_env": "DEPLOYBOT_TEST_DISCORD"}]}
    s.extra_env.update(env or {})
    with open(s.config_path(), "w") as f:
        json.dump(cfg, f)
    s.start_bot()
    return s


def rows(s, sql):
    db = sqlite3.connect(os.path.join(s.data_dir, "deploybot.db"))
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


class OtherRepository(unittest.TestCase):
    def test_delivery_for_another_repository_is_refused_and_not_stored(self):
        s = started()
        try:
            base = s.repo.head()
            c = s.repo.edit_json("environments/dev/stack.json",
                                 lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev")
            before = rows(s, "SELECT count(*) FROM deliveries")
            for doc in (harness.push_payload(base, c), harness.pr_payload(base, c)):
                doc["repository"]["full_name"] = "mallory/" + REPO.split("/")[1]
                event = "pull_request" if "pull_request" in doc else "push"
                code, body = s.deliver(event, doc)
                self.assertEqual(code, 403, body)
                self.assertIn("mallory/", json.loads(body)["error"])
            self.assertEqual(rows(s, "SELECT count(*) FROM deliveries"), before)
            self.assertEqual(rows(s, "SELECT count(*) FROM jobs"), [(0,)])
            # The configured repository (any case, as GitHub compares) is accepted.
            doc = harness.push_payload(base, c)
            doc["repository"]["full_name"] = REPO.upper()
            code, body = s.deliver("push", doc)
            self.assertEqual(code, 202, body)
            self.assertEqual(s.wait_status(c, "deploybot/dev", repo=REPO)["state"], "success")
        finally:
            s.close()


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The file cap from the config file, the environment cap from its variable.
        cls.s = started(limits={"max_file_bytes": 4096},
                        env={"DEPLOYBOT_MAX_ENVS_PER_PUSH": "2"})

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def aws_calls(self):
        return json.loads(harness.http("GET", self.s.aws_url + "/_fake/calls")[1])

    def push(self, before, after):
        code, body = self.s.deliver("push", harness.push_payload(before, after))
        self.assertEqual(code, 202, body)

    def test_1_oversized_stack_file_fails_and_applies_nothing(self):
        s = self.s
        base = s.repo.head()
        calls = self.aws_calls()
        c = s.repo.edit_json("environments/dev/stack.json",
                             lambda d: d["office_cidrs"].extend(["198.51.100.%d/32" % i for i in range(250)]),
                             "dev: a large file")
        self.assertGreater(os.path.getsize(os.path.join(s.repo.path, "environments/dev/stack.json")), 4096)
        self.push(base, c)
        st = s.wait_status(c, "deploybot/dev", repo=REPO)
        self.assertEqual(st["state"], "failure", st)
        self.assertIn("max_file_bytes = 4096", st["description"])
        self.assertEqual(self.aws_calls(), calls)  # before boto3 adds its own
        self.assertEqual(s.tagged("dev"), {})

    def test_2_oversized_deploybot_json_fails(self):
        s = self.s
        base = s.repo.head()
        c = s.repo.edit_json("deploybot.json", lambda d: d.update(padding="x" * 5000), "pad")
        self.push(base, c)
        st = s.wait_status(c, "deploybot/config", repo=REPO)
        self.assertEqual(st["state"], "failure", st)
        self.assertIn("max_file_bytes = 4096", st["description"])
        harness.git(s.repo.path, "revert", "--no-edit", "HEAD")

    def test_3_too_many_environments_fails_and_applies_nothing(self):
        s = self.s
        base = s.repo.head()
        calls = self.aws_calls()
        for env in ("dev", "stg", "prd"):
            s.repo.edit_json("environments/%s/stack.json" % env,
                             lambda d: d["office_cidrs"].append("192.0.2.0/24"), env)
        c = s.repo.head()
        self.push(base, c)
        st = s.wait_status(c, "deploybot/config", repo=REPO)
        self.assertEqual(st["state"], "failure", st)
        self.assertIn("3 environments touched, over the limit max_envs_per_push = 2", st["description"])
        self.assertEqual(self.aws_calls(), calls)  # before boto3 adds its own
        for env in ("dev", "stg", "prd"):
            self.assertIsNone(s.latest_status(c, "deploybot/" + env, repo=REPO))
            self.assertEqual(s.tagged(env), {})


class Escaping(unittest.TestCase):
    """Without repo.name any repository's delivery is taken: its name and
    branch are the pusher's words."""

    def test_payload_text_is_escaped_in_log_and_chat(self):
        s = started(chat=True, name=None)
        try:
            base = s.repo.head()
            c = s.repo.edit_json("environments/dev/stack.json",
                                 lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev")
            doc = harness.push_payload(base, c, ref="refs/heads/feature\n[job 999] forged\x1b[31m")
            doc["repository"]["full_name"] = "acme/@here<!channel>&@everyone"
            code, body = s.deliver("push", doc)
            self.assertEqual(code, 202, body)

            def chat():
                reqs = json.loads(harness.http("GET", s.chat_url + "/_fake/requests")[1])
                kinds = {r["path"].split("/")[1] for r in reqs}
                return reqs if {"slack", "discord"} <= kinds else None
            reqs = harness.wait_for(chat, 90, "a Slack and a Discord message")
            log = s.bot.output()
            self.assertNotIn("\n[job 999] forged", log)
            self.assertNotIn("\x1b", log)
            self.assertIn("feature\\n[job 999] forged\\x1b[31m", log)
            for r in reqs:
                text = json.dumps(r["json"], ensure_ascii=False)
                self.assertNotIn("@here", text)
                self.assertNotIn("@everyone", text)
                self.assertNotIn("<!channel>", text)
                if r["path"].startswith("/slack/"):
                    self.assertIn("acme/@\u200bhere&lt;!channel&gt;&amp;@\u200beveryone", text)
                else:
                    self.assertIn("acme/@\u200bhere\\\\<!channel\\\\>&@\u200beveryone", text)
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main()
