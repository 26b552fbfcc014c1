"""End to end: deploybot authenticates as a GitHub App. The fake GitHub
checks the app's RS256 JWT with the app's public key and issues installation
tokens; the bot posts its statuses and fetches over HTTPS with them, finds
the installation of repo.name when no id is configured, and keeps working
across a token's expiry (a new one is asked for before it runs out)."""
import hashlib
import os
import sys
import tempfile
import time
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

sys.path.insert(0, os.path.join(harness.SRC, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

APP_ID = 31337
INSTALLATION = 4242
REPO = "ailisp/gcbapp-buildconfig-example"  # the fixtures' repository
NAME = "acme/infra-config.git"
DEV = "environments/dev/stack.json"


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def make_key(directory):
    """The app's key pair: the private key as GitHub hands it out (PKCS#1
    PEM), the public key for the fake."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = os.path.join(directory, "app.private-key.pem")
    public = os.path.join(directory, "app.public.pem")
    with open(private, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    with open(public, "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


class GitHubAppAuth(unittest.TestCase):
    def stack(self, ttl_s, settings):
        workdir = tempfile.mkdtemp(prefix="deploybot-test-")
        private, public = make_key(workdir)
        s = harness.Stack(workdir=workdir, start_bot=False, github_args=[
            "--app-id", str(APP_ID), "--app-public-key", public, "--installation-id", str(INSTALLATION),
            "--installation-repo", REPO, "--installation-token-ttl-s", str(ttl_s)])
        self.addCleanup(s.close)
        s.github_settings = dict(settings, app_id=APP_ID, private_key_file=private)
        s.extra_env["GITHUB_TOKEN"] = ""  # the app's tokens are the only way in
        return s

    def push(self, s):
        base = s.repo.head()
        c = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.%d/32" % (len(d["office_cidrs"]))),
                             "dev: office")
        code, body = s.deliver("push", harness.push_payload(base, c))
        self.assertEqual(code, 202, body)
        st = s.wait_status(c, "deploybot/dev")
        self.assertEqual(st["state"], "success", st)
        return c

    @staticmethod
    def issued(s):
        """{sha256 of an installation token: its expiry}, as the fake issued them."""
        state = harness.json.loads(harness.http("GET", s.github_url + "/_fake/state")[1])
        return {t["token_sha256"]: t["expires_at"] for t in state["installation_tokens"]}

    @staticmethod
    def requests(s):
        return harness.json.loads(harness.http("GET", s.github_url + "/_fake/requests")[1])

    def status_tokens(self, s, sha):
        """The digests of the tokens the statuses of `sha` were posted with."""
        out = set()
        for r in self.requests(s):
            if r["method"] == "POST" and r["path"].endswith("/statuses/" + sha) and r["status"] == 201:
                scheme, _, token = r["headers"]["Authorization"].partition(" ")
                self.assertEqual(scheme, "Bearer")
                out.add(sha256(token))
        self.assertTrue(out, "no status posted for " + sha)
        return out

    def test_installation_token_for_statuses_and_fetch(self):
        s = self.stack(3600, {"installation_id": INSTALLATION})
        git = FakeProcess("fake_githttp.py", "--style", "github", "--token", "only-the-app-tokens-work",
                          "--require-user", "x-access-token",
                          "--token-check-url", s.github_url + "/_fake/token_check",
                          "--repo", NAME + "=" + s.repo.path, python=harness.PY, tls=True).start()
        self.addCleanup(git.stop)
        s.repo_url = "https://localhost:%d/%s" % (git.port, NAME)
        s.repo_settings = {"ca_file": git.ca_file}
        s.start_bot()
        c = self.push(s)

        issued = self.issued(s)
        self.assertTrue(issued)
        self.assertLessEqual(self.status_tokens(s, c), set(issued))
        minted = [r for r in self.requests(s) if r["path"] == "/app/installations/%d/access_tokens" % INSTALLATION]
        self.assertTrue(minted and all(r["status"] == 201 for r in minted), minted)
        fetched = [r for r in git.admin("GET", "/_fake/requests") if r["auth_result"] == "ok"]
        self.assertTrue(fetched)
        self.assertLessEqual({r["token_sha256"] for r in fetched}, set(issued))
        self.assertEqual({r["user"] for r in fetched}, {"x-access-token"})
        self.assertNotIn("ghs_", s.bot.output())
        with open(os.path.join(s.data_dir, "repo.git", "config")) as f:
            self.assertNotIn("ghs_", f.read())

    def test_installation_looked_up_and_expired_token_replaced(self):
        s = self.stack(4, {"app_token_refresh_s": 1})
        s.repo_settings = {"name": REPO}
        s.start_bot()
        c1 = self.push(s)
        first = self.issued(s)
        lookups = [r for r in self.requests(s) if r["path"] == "/repos/%s/installation" % REPO]
        self.assertTrue(lookups and lookups[0]["status"] == 200, lookups)

        # Every token issued so far runs out; the next push needs a new one.
        last = max(time.mktime(time.strptime(e, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone for e in first.values())
        harness.wait_for(lambda: time.time() > last + 1, 30, "the installation tokens expire")
        c2 = self.push(s)
        used = self.status_tokens(s, c2)
        self.assertTrue(used - set(first), "the statuses after the expiry used a new token")
        self.assertLessEqual(used, set(self.issued(s)))
        self.assertLessEqual(self.status_tokens(s, c1), set(first))


if __name__ == "__main__":
    unittest.main()
