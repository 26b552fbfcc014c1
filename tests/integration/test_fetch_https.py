"""End to end: the real binary fetches the config repository over HTTPS from
fake_githttp.py (git http-backend behind TLS with its own CA, repo.ca_file),
with each host's basic-auth style; a wrong token is an error status on the
commit; a redirect to another server does not get the token; the token is in
neither the mirror's config nor the bot's log."""
import hashlib
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

sys.path.insert(0, os.path.join(harness.SRC, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

DEV = "environments/dev/stack.json"
TOKEN = "glpat-fetch-7Hq2xVb9ZkP4"
NAME = "acme/infra-config.git"


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


# Each host's push delivery and its event name.
PUSH = {"github": (harness.push_payload, "push"), "gitea": (harness.gitea_push_payload, "push"),
        "gitlab": (harness.gitlab_push_payload, "Push Hook")}


class HttpsCase(unittest.TestCase):
    host = "github"

    def setUp(self):
        self.s = harness.Stack(start_bot=False, host=self.host)
        self.addCleanup(self.s.close)
        # Fakes given one --cert-dir share one CA: a redirect between them
        # passes TLS, and only the credential rule can stop the token.
        self.cert_dir = os.path.join(self.s.dir, "ca")

    def githttp(self, *args):
        fake = FakeProcess("fake_githttp.py", "--cert-dir", self.cert_dir,
                           "--repo", NAME + "=" + self.s.repo.path, *args,
                           python=harness.PY, tls=True).start()
        self.addCleanup(fake.stop)
        return fake

    @staticmethod
    def by_name(fake):
        """The fake's URL by host name: libgit2's mbedTLS matches a
        certificate's names, never an IP address."""
        return "https://localhost:%d" % fake.port

    def start(self, git, settings, token=TOKEN):
        s = self.s
        s.repo_url = self.by_name(git) + "/" + NAME
        s.repo_settings = dict(settings, ca_file=git.ca_file)
        s.extra_env["DEPLOYBOT_REPO_TOKEN"] = token
        s.start_bot()
        return s

    def push(self):
        s = self.s
        base = s.repo.head()
        c = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev: office")
        payload, event = PUSH[self.host]
        code, body = s.deliver(event, payload(base, c))
        self.assertEqual(code, 202, body)
        return c

    def assert_token_kept(self):
        with open(os.path.join(self.s.data_dir, "repo.git", "config")) as f:
            self.assertNotIn(TOKEN, f.read())
        self.assertNotIn(TOKEN, self.s.bot.output())

    def fetched_with(self, fake_args, settings, want_user):
        git = self.githttp(*fake_args)
        s = self.start(git, settings)
        c = self.push()
        st = s.wait_status(c, "deploybot/dev")
        self.assertEqual(st["state"], "success", st)
        log = git.admin("GET", "/_fake/requests")
        ok = [r for r in log if r["auth_result"] == "ok"]
        self.assertTrue(ok, log)
        self.assertEqual({(r["user"], r["token_sha256"]) for r in ok}, {(want_user, sha256(TOKEN))})
        self.assert_token_kept()



class FetchOverHttps(HttpsCase):
    def test_github_style_x_access_token(self):
        self.fetched_with(["--style", "github", "--token", TOKEN, "--require-user", "x-access-token"],
                          {}, "x-access-token")

    def test_gitlab_style_oauth2(self):
        self.fetched_with(["--style", "gitlab", "--token", TOKEN, "--require-user", "oauth2"],
                          {"user": "oauth2"}, "oauth2")

    def test_gitlab_deploy_token_with_its_user(self):
        self.fetched_with(["--style", "gitlab", "--token", "another-token",
                           "--deploy-token", "gitlab+deploy-token-7:" + TOKEN],
                          {"user": "gitlab+deploy-token-7"}, "gitlab+deploy-token-7")

    def test_gitea_style_login(self):
        self.fetched_with(["--style", "gitea", "--token", TOKEN, "--require-user", "deploybot"],
                          {"user": "deploybot"}, "deploybot")

    def test_wrong_token_is_an_error_status(self):
        git = self.githttp("--style", "github", "--token", "the-right-one")
        s = self.start(git, {})
        c = self.push()
        st = s.wait_status(c, "deploybot", states=("error",))
        self.assertIn("rejected the token in $DEPLOYBOT_REPO_TOKEN", st["description"])
        results = {r["auth_result"] for r in git.admin("GET", "/_fake/requests")}
        self.assertIn("bad", results)
        self.assertNotIn("ok", results)
        self.assertIsNone(s.latest_status(c, "deploybot/dev"))
        self.assert_token_kept()

    def test_redirect_to_another_server_gets_no_token(self):
        # The configured origin redirects every request to `other`, which
        # serves the same repository with the same token and CA, on another
        # port: another server, so no credential may follow.
        other = self.githttp("--style", "github", "--token", TOKEN)
        git = self.githttp("--style", "github", "--token", TOKEN, "--redirect-to", self.by_name(other))
        s = self.start(git, {})
        c = self.push()
        st = s.wait_status(c, "deploybot", states=("error",))
        self.assertIn("refusing to send the repository's token", st["description"])
        log = git.admin("GET", "/_fake/requests")
        self.assertTrue(any(r.get("location") for r in log), log)
        other_log = other.admin("GET", "/_fake/requests")
        self.assertTrue(other_log, "libgit2 followed the redirect")
        for r in log + other_log:
            self.assertIsNone(r["token_sha256"], r)
        self.assertIsNone(s.latest_status(c, "deploybot/dev"))
        self.assert_token_kept()


class GitLabHostFetch(HttpsCase):
    """host.type gitlab, no repo.user: the host's own style, oauth2:<token>."""
    host = "gitlab"

    def test_oauth2_by_default(self):
        self.fetched_with(["--style", "gitlab", "--token", TOKEN, "--require-user", "oauth2"], {}, "oauth2")


class GiteaHostFetch(HttpsCase):
    """host.type gitea: the user is host.user, the token its password."""
    host = "gitea"

    def test_host_user(self):
        self.s.host["user"] = "deploybot"
        self.fetched_with(["--style", "gitea", "--token", TOKEN, "--require-user", "deploybot"], {}, "deploybot")


if __name__ == "__main__":
    unittest.main()
