"""End to end: `deploybot check --config FILE` against the fakes. A setup
that works is all OK (exit 0) and asked the outside world (the git server
listed the branches with the token, the host showed the repository, STS
answered GetCallerIdentity as each environment's role); then one test per
failing check, each the one FAIL line it causes (exit 1). No secret is ever
printed."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

sys.path.insert(0, os.path.join(harness.SRC, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

REPO_TOKEN = "ghp-fetch-7Hq2xVb9ZkP4xx"
NAME = "acme/infra-config.git"
ROLE = "arn:aws:iam::210987654321:role/deploybot"
EXTERNAL_ID = "acme-prd"
SLACK_URL_SECRET = "T000/B000/slack-token-XXXXXXXX"


class CheckCase(unittest.TestCase):
    """One world per class (the fakes start once); each test resets what
    the checks and the tests change in it."""
    host = "github"

    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(start_bot=False, chat=True, host=cls.host)
        cls.addClassCleanup(cls.s.close)
        cls.git = FakeProcess("fake_githttp.py", "--cert-dir", os.path.join(cls.s.dir, "ca"),
                              "--repo", NAME + "=" + cls.s.repo.path, "--style", cls.host,
                              "--token", REPO_TOKEN, python=harness.PY, tls=True).start()
        cls.addClassCleanup(cls.git.stop)
        cls.host_url = {"github": cls.s.github_url, "gitlab": getattr(cls.s, "gitlab_url", None),
                        "gitea": getattr(cls.s, "gitea_url", None)}[cls.host]

    def setUp(self):
        for url in {self.s.aws_url, self.s.github_url, self.host_url}:
            self.assertEqual(harness.http("POST", url + "/_fake/reset")[0], 200)
        self.git.admin("DELETE", "/_fake/requests")
        self.admin(self.s.aws_url, {"roles": [ROLE + ":" + EXTERNAL_ID]})
        self.env = dict(self.s.env(), DEPLOYBOT_REPO_TOKEN=REPO_TOKEN,
                        SLACK_URL=self.s.chat_url + "/slack/" + SLACK_URL_SECRET,
                        HOOK_URL=self.s.chat_url + "/webhook", HOOK_SECRET="hook-secret-0123456789",
                        DATADOG_API_KEY="dd-key-0123456789abcdef")
        self.cfg = self.config()

    def config(self):
        """The Stack's config, with an https repository, two environments
        (one with a role), chat routes and a secret to mask."""
        with open(self.s.config_path()) as f:
            cfg = json.load(f)
        cfg["repo"] = dict(cfg["repo"], url="https://localhost:%d/%s" % (self.git.port, NAME),
                           ca_file=self.git.ca_file, name=self.s.default_repo)
        cfg["environments"] = {"dev": {}, "prd": {"role_arn": ROLE, "external_id": EXTERNAL_ID}}
        cfg["notify"] = {"chat": [{"type": "slack", "url_env": "SLACK_URL"},
                                  {"type": "webhook", "url_env": "HOOK_URL", "secret_env": "HOOK_SECRET"}],
                         "secrets_env": ["DATADOG_API_KEY"]}
        return cfg

    def check(self, cfg=None, **env):
        path = os.path.join(self.s.dir, "check.conf.json")
        with open(path, "w") as f:
            json.dump(cfg or self.cfg, f, indent=2)
        e = dict(self.env)
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        p = subprocess.run([harness.BIN, "check", "--config", path], env=e, cwd=self.s.dir,
                           capture_output=True, text=True, timeout=120)
        for secret in (REPO_TOKEN, harness.GITHUB_TOKEN, harness.GITEA_TOKEN, harness.GITLAB_TOKEN,
                       harness.SECRET, harness.AWS_SECRET, SLACK_URL_SECRET, "hook-secret-0123456789",
                       "dd-key-0123456789abcdef", harness.READ_TOKEN):
            self.assertNotIn(secret, p.stdout + p.stderr)
        return p.returncode, p.stdout.splitlines()

    def admin(self, url, changes):
        code, body = harness.http("POST", url + "/_fake/config", json.dumps(changes).encode())
        self.assertEqual(code, 200, body)

    def assert_only_failure(self, name, *words, cfg=None, **env):
        rc, lines = self.check(cfg, **env)
        failed = [ln for ln in lines if ln.startswith("FAIL ")]
        self.assertEqual(rc, 1, lines)
        self.assertEqual(len(failed), 1, lines)
        self.assertTrue(failed[0].startswith("FAIL %s: " % name), lines)
        for w in words:
            self.assertIn(w, failed[0])
        return failed[0]


class CheckGitHub(CheckCase):
    def test_all_ok_asks_the_outside_world(self):
        rc, lines = self.check()
        self.assertEqual(rc, 0, lines)
        self.assertEqual(lines, ["OK config", "OK webhook secret", "OK host token", "OK repository token",
                                 "OK api token viewer", "OK api token operator",
                                 "OK notify secret DATADOG_API_KEY", "OK chat 0 (slack)", "OK chat 1 (webhook)",
                                 "OK chat 1 (webhook) secret", "OK repository", "OK host access",
                                 "OK aws dev", "OK aws prd"])
        listed = [r for r in self.git.admin("GET", "/_fake/requests") if r["auth_result"] == "ok"]
        self.assertTrue(listed)
        self.assertTrue(all(r["path"].endswith("/info/refs") for r in listed), listed)
        api = json.loads(harness.http("GET", self.s.github_url + "/_fake/requests")[1])
        self.assertEqual([(r["method"], r["path"]) for r in api], [("GET", "/repos/" + self.s.default_repo)])
        who = [(c["action"], (c.get("principal") or {}).get("arn", "")) for c in self.s.aws_calls()
               if c["action"] == "GetCallerIdentity"]
        self.assertEqual(len(who), 2, who)
        self.assertTrue(who[0][1].endswith(":user/deploybot"), who)
        self.assertIn(":assumed-role/deploybot/deploybot-prd", who[1][1])
        self.assertEqual([c["action"] for c in self.s.aws_calls()].count("AssumeRole"), 1)

    def test_config_problems_all_at_once(self):
        cfg = dict(self.cfg, port=70000, colour=True)
        cfg["environments"] = {"prd": {"role_arn": "arn:aws:iam::12:role/x"}, "bad name!": {}}
        cfg["repo"] = dict(cfg["repo"], name="no-slash")
        rc, lines = self.check(cfg, DEPLOYBOT_RUNNERS="99")
        self.assertEqual(rc, 1, lines)
        self.assertTrue(all(ln.startswith("FAIL config: ") for ln in lines), lines)
        text = "\n".join(lines)
        for want in ('unknown key "colour"', '"port" must be an integer', '"repo.name" must be',
                     '"environments.prd.role_arn" must look like', '"bad name!" is not an environment',
                     "DEPLOYBOT_RUNNERS"):
            self.assertIn(want, text)
        self.assertEqual(len(lines), 6, lines)
        self.assertEqual(self.s.aws_calls(), [])   # nothing further was asked

    def test_missing_config_file(self):
        p = subprocess.run([harness.BIN, "check", "--config", os.path.join(self.s.dir, "nope.json")],
                           env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stdout.splitlines()), 1)
        self.assertTrue(p.stdout.startswith("FAIL config: config "), p.stdout)

    def test_webhook_secret_unset(self):
        self.assert_only_failure("webhook secret", "$DEPLOYBOT_WEBHOOK_SECRET is not set",
                                 DEPLOYBOT_WEBHOOK_SECRET=None)

    def test_api_token_unset(self):
        self.assert_only_failure("api token viewer", "$DEPLOYBOT_READ_TOKEN", DEPLOYBOT_READ_TOKEN=None)

    def test_notify_secret_unset(self):
        self.assert_only_failure("notify secret DATADOG_API_KEY", "not set", DATADOG_API_KEY=None)

    def test_chat_url_not_https(self):
        line = self.assert_only_failure("chat 0 (slack)", "$SLACK_URL", "https",
                                        SLACK_URL="http://hooks.example.com/services/" + SLACK_URL_SECRET)
        self.assertNotIn("hooks.example.com", line)

    def test_chat_url_not_a_url(self):
        self.assert_only_failure("chat 0 (slack)", "$SLACK_URL", SLACK_URL="slack-token-XXXXXXXX")

    def test_chat_secret_unset(self):
        self.assert_only_failure("chat 1 (webhook) secret", "$HOOK_SECRET", HOOK_SECRET=None)

    def test_repository_token_refused(self):
        self.assert_only_failure("repository", "rejected the token in $DEPLOYBOT_REPO_TOKEN",
                                 DEPLOYBOT_REPO_TOKEN="ghp-wrong-0123456789abc")

    def test_repository_token_unset(self):
        rc, lines = self.check(DEPLOYBOT_REPO_TOKEN=None)
        self.assertEqual(rc, 1)
        failed = [ln for ln in lines if ln.startswith("FAIL")]
        self.assertEqual(len(failed), 2, lines)
        self.assertIn("FAIL repository token: $DEPLOYBOT_REPO_TOKEN is not set", failed[0])
        self.assertIn("FAIL repository: ", failed[1])
        self.assertIn("set $DEPLOYBOT_REPO_TOKEN", failed[1])

    def test_repository_unreachable(self):
        self.cfg["repo"]["url"] = "https://localhost:%d/acme/other.git" % self.git.port
        self.assert_only_failure("repository", "localhost")

    def test_local_repository(self):
        self.cfg["repo"] = {"url": self.s.repo.path, "name": self.s.default_repo}
        rc, lines = self.check()
        self.assertEqual(rc, 0, lines)
        self.assertIn("OK repository", lines)
        self.assertNotIn("OK repository token", lines)   # no token is needed for a path
        self.cfg["repo"]["url"] = self.s.repo.path + "-gone"
        self.assert_only_failure("repository", "No such file or directory")

    def test_host_token_unset(self):
        rc, lines = self.check(GITHUB_TOKEN=None)
        failed = [ln for ln in lines if ln.startswith("FAIL")]
        self.assertEqual(rc, 1)
        self.assertEqual(failed, ["FAIL host token: $GITHUB_TOKEN is not set (statuses and comments cannot be posted)",
                                  "FAIL host access: no token to ask GitHub with ($GITHUB_TOKEN is not set)"])

    def test_host_token_refused(self):
        self.assert_only_failure("host access", "401", "Bad credentials", GITHUB_TOKEN="ghp_wrong000000000000")

    def admin_github(self, changes):
        code, body = harness.http("POST", self.s.github_url + "/_fake/config", json.dumps(changes).encode())
        self.assertEqual(code, 200, body)

    def post_status(self):
        return harness.http("POST", self.s.github_url + "/repos/%s/statuses/%s" % (self.s.default_repo, "a" * 40),
                            b'{"state":"success"}', {"Authorization": "token " + harness.GITHUB_TOKEN})[0]

    def test_host_token_without_repo_scope(self):
        self.admin_github({"scopes": ["public_repo", "workflow"]})
        self.assert_only_failure("host access", "404")
        self.assertEqual(self.post_status(), 404)

    def test_host_token_read_only(self):
        self.admin_github({"permission": "pull"})
        self.assert_only_failure("host access", "not push", "write access")
        self.assertEqual(self.post_status(), 403)   # what the check foresaw

    def test_public_repository_with_public_repo_scope(self):
        self.admin_github({"private": False, "scopes": ["public_repo"]})
        rc, lines = self.check()
        self.assertEqual(rc, 0, lines)
        self.admin_github({"scopes": ["read:org", "gist"]})
        self.assert_only_failure("host access", "read:org, gist", '"repo"')
        self.assertEqual(self.post_status(), 404)   # as the check said

    def test_fine_grained_token_by_permissions(self):
        self.admin_github({"scopes": None})
        rc, lines = self.check()
        self.assertEqual(rc, 0, lines)
        self.admin_github({"permission": "pull"})
        self.assert_only_failure("host access", "not push")

    def test_aws_credentials_refused(self):
        rc, lines = self.check(AWS_SECRET_ACCESS_KEY="wrong/secret/key/0123456789abcdefghijklm")
        failed = [ln for ln in lines if ln.startswith("FAIL")]
        self.assertEqual(rc, 1)
        self.assertEqual([ln.split(":")[0] for ln in failed], ["FAIL aws dev", "FAIL aws prd"], lines)
        self.assertIn("SignatureDoesNotMatch", failed[0])

    def test_aws_role_not_assumable(self):
        self.cfg["environments"]["prd"]["external_id"] = "wrong-id"
        self.assert_only_failure("aws prd", "AccessDenied", ROLE)

    def test_aws_without_environments(self):
        del self.cfg["environments"]
        rc, lines = self.check()
        self.assertEqual(rc, 0, lines)
        self.assertIn("OK aws", lines)
        rc, lines = self.check(AWS_ACCESS_KEY_ID="AKIDWRONGWRONGWRONG")
        self.assertIn("FAIL aws: ", "\n".join(lines))
        self.assertIn("InvalidClientTokenId", "\n".join(lines))


class CheckGitLab(CheckCase):
    host = "gitlab"

    def config(self):
        cfg = super().config()
        cfg["host"] = self.s.host
        return cfg

    def test_all_ok(self):
        rc, lines = self.check()
        self.assertEqual(rc, 0, lines)
        self.assertIn("OK host access", lines)
        self.assertIn("OK host signing key", lines)

    def test_token_without_api_scope(self):
        self.admin(self.s.gitlab_url, {"scopes": ["read_api", "read_repository"]})
        self.assert_only_failure("host access", "read_api, read_repository", '"api"')

    def test_reporter_cannot_post_statuses(self):
        self.admin(self.s.gitlab_url, {"access_level": "reporter"})
        self.assert_only_failure("host access", "access level", "20", "developer")

    def test_revoked_token(self):
        self.admin(self.s.gitlab_url, {"token_state": "revoked"})
        self.assert_only_failure("host access", "401")

    def test_signing_key_unset(self):
        rc, lines = self.check(GITLAB_SIGNING_KEY=None)
        self.assertEqual(rc, 1)
        self.assertTrue(lines[0].startswith("FAIL config: "), lines)
        self.assertIn("require_signature", lines[0])


class CheckGitea(CheckCase):
    host = "gitea"

    def config(self):
        cfg = super().config()
        cfg["host"] = dict(self.s.host, user="deploybot")
        cfg["repo"]["name"] = harness.GITEA_REPO
        return cfg

    def test_all_ok(self):
        rc, lines = self.check()
        self.assertEqual(rc, 0, lines)
        self.assertIn("OK host access", lines)

    def test_read_only_permission(self):
        self.admin(self.s.gitea_url, {"permission": "read"})
        self.assert_only_failure("host access", "not push")

    def test_unknown_repository(self):
        self.cfg["repo"]["name"] = "acme/elsewhere"
        self.assert_only_failure("host access", "404")


if __name__ == "__main__":
    unittest.main()
