#!/usr/bin/python3
"""Checks the git-over-HTTPS fake (tests/fakes/fake_githttp.py) with the real
`git` command line: clone and fetch through `git http-backend` behind the fake's
TLS (its throwaway CA in GIT_SSL_CAINFO) and each host's Basic auth.

  - GitHub: x-access-token:TOKEN, any user with the token as password, the token
    as username (empty password or x-oauth-basic); a wrong token is 401
    "Invalid username or token ..."; a repository the token cannot see is 404.
  - GitLab: oauth2:TOKEN (any user with a token), deploy tokens only with their
    own username; missing and wrong credentials are the same 401.
  - Gitea: USER:TOKEN (the user is not checked), the token as username,
    "Authorization: token T", the user's password; a wrong credential is 401
    without a challenge.
  - Redirects to another instance: git follows them; URL credentials never
    reach the other origin, and curl strips an http.extraHeader Authorization
    from the redirected request, but git sends that header on its later
    requests to the new base URL (recorded: a leak when the new host answers
    the first GET). The log holds SHA-256 digests of credentials, never the token.
  - Protocol v0 and v2, gzip request bodies, shallow and partial clones,
    faults (status, close, truncate), the admin API, plain HTTP.

Run: DEPLOYBOT_SOURCE_DIR=$PWD /usr/bin/python3 tests/integration/test_fake_githttp.py
"""

import base64
import gzip
import hashlib
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

SOURCE_DIR = os.environ.get("DEPLOYBOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

GIT = shutil.which("git") or "/usr/bin/git"
TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
WRONG = "ghs_wrongwrongwrongwrongwrongwrongwrong1"
DEPLOY_USER = "gitlab+deploy-token-17"
DEPLOY_TOKEN = "gldt-R2YvPYmPnKWhs2NsBmXw"
REPO = "acme/infra-config.git"

WORK = None         # module temporary directory
CERT_DIR = None     # one CA shared by every instance in this module


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def git_env(ca_file=None):
    """git without the machine's configuration, credential helpers or prompts."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GIT_") and k not in ("SSH_ASKPASS", "HOME", "XDG_CONFIG_HOME")}
    env.update({"HOME": WORK, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
                "GIT_TERMINAL_PROMPT": "0", "LANG": "C", "LC_ALL": "C"})
    if ca_file:
        env["GIT_SSL_CAINFO"] = ca_file
    return env


def git(*args, ca_file=None, cwd=None, check=False):
    proc = subprocess.run([GIT, "-c", "credential.helper=", *args], cwd=cwd, env=git_env(ca_file),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc


def make_origin(name):
    """A bare repository with two commits on main and a tag; returns (path, head)."""
    bare = os.path.join(WORK, name + ".git")
    work = os.path.join(WORK, name + "-work")
    git("init", "-q", "--bare", "-b", "main", bare, check=True)
    git("init", "-q", "-b", "main", work, check=True)
    for i in (1, 2):
        with open(os.path.join(work, "file.txt"), "w") as f:
            f.write(f"version {i}\n" + "x" * 4096 * i)
        git("-C", work, "add", "file.txt", check=True)
        git("-C", work, "-c", "user.name=t", "-c", "user.email=t@example.com",
            "commit", "-q", "-m", f"commit {i}", check=True)
    git("-C", work, "tag", "v1", check=True)
    git("-C", work, "push", "-q", bare, "main", "v1", check=True)
    return bare, head_of(bare)


def commit_to(bare, message):
    """Push a new commit to the bare repository directly (not through the fake)."""
    work = bare[:-len(".git")] + "-work"
    with open(os.path.join(work, "file.txt"), "a") as f:
        f.write(message + "\n")
    git("-C", work, "-c", "user.name=t", "-c", "user.email=t@example.com",
        "commit", "-q", "-am", message, check=True)
    git("-C", work, "push", "-q", bare, "main", check=True)
    return head_of(bare)


def head_of(repo):
    return git("--git-dir", repo, "rev-parse", "refs/heads/main", check=True).stdout.strip()


def url_with(fake, userinfo=None, repo=REPO, host="127.0.0.1"):
    scheme = "https" if fake.tls else "http"
    auth = f"{userinfo}@" if userinfo else ""
    return f"{scheme}://{auth}{host}:{fake.port}/{repo}"


def raw_request(fake, method, path, headers=None, body=None):
    """(status, headers, body bytes) straight over http.client."""
    if fake.tls:
        context = ssl.create_default_context(cafile=fake.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", fake.port, context=context, timeout=30)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, resp.headers, data


def pkt(line):
    data = line.encode()
    return b"%04x" % (len(data) + 4) + data


def setUpModule():
    global WORK, CERT_DIR
    WORK = tempfile.mkdtemp(prefix="test-fake-githttp-")
    CERT_DIR = os.path.join(WORK, "ca")


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


class StyleCase(unittest.TestCase):
    """One fake per class, on its own origin repository."""

    style = None
    extra_args = ()

    @classmethod
    def setUpClass(cls):
        cls.origin, cls.head = make_origin(f"origin-{cls.__name__}")
        cls.fake = FakeProcess("fake_githttp.py", "--style", cls.style, "--token", TOKEN,
                               "--cert-dir", CERT_DIR, "--repo", f"{REPO}={cls.origin}",
                               *cls.extra_args, python="/usr/bin/python3", tls=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def setUp(self):
        self.fake.admin("POST", "/_fake/reset")
        self.dest = tempfile.mkdtemp(dir=WORK, prefix="clone-")
        shutil.rmtree(self.dest)

    def clone(self, userinfo=None, *options, host="127.0.0.1", repo=REPO):
        return git("clone", "-q", *options, url_with(self.fake, userinfo, repo, host), self.dest,
                   ca_file=self.fake.ca_file)

    def requests(self):
        return self.fake.admin("GET", "/_fake/requests")

    def assertCloned(self, proc, head=None):
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(head_of(os.path.join(self.dest, ".git")), head or self.head)

    def assertLogHoldsNoSecret(self, *secrets):
        text = json.dumps(self.requests())
        for secret in secrets:
            self.assertNotIn(secret, text)

    def assertAuthenticated(self, user=None, user_is_token=False, token=TOKEN):
        """Every request that carried credentials was accepted with this token."""
        authed = [e for e in self.requests() if e["auth"]]
        self.assertTrue(authed, "no request carried credentials")
        for e in authed:
            self.assertEqual(e["auth_result"], "ok", e)
            self.assertEqual(e["token_sha256"], sha256(token))
            self.assertEqual(e["user"], user)
            self.assertEqual(e["user_is_token"], user_is_token)
        self.assertLogHoldsNoSecret(token)


class GitHubStyle(StyleCase):
    style = "github"

    def test_installation_token_as_x_access_token_clones(self):
        proc = self.clone(f"x-access-token:{TOKEN}")
        self.assertCloned(proc)
        log = self.requests()
        # git (curl) asks anonymously first and sends the credentials on the challenge.
        self.assertFalse(log[0]["auth"])
        self.assertEqual((log[0]["status"], log[0]["auth_result"]), (401, "none"))
        self.assertEqual(log[1]["path"], "/acme/infra-config.git/info/refs")
        self.assertEqual(log[1]["service"], "git-upload-pack")
        self.assertEqual(log[-1]["path"], "/acme/infra-config.git/git-upload-pack")
        self.assertEqual(log[-1]["account"], "deploybot")
        self.assertAuthenticated(user="x-access-token")

    def test_any_username_with_the_token_as_password(self):
        self.assertCloned(self.clone(f"octocat:{TOKEN}"))
        self.assertAuthenticated(user="octocat")

    def test_token_as_username(self):
        self.assertCloned(self.clone(TOKEN))
        self.assertAuthenticated(user=None, user_is_token=True)
        shutil.rmtree(self.dest)
        self.fake.admin("DELETE", "/_fake/requests")
        self.assertCloned(self.clone(f"{TOKEN}:x-oauth-basic"))
        self.assertAuthenticated(user=None, user_is_token=True)

    def test_extra_header_sends_credentials_from_the_first_request(self):
        proc = git("-c", f"http.extraHeader=Authorization: {basic('x-access-token', TOKEN)}",
                   "clone", "-q", url_with(self.fake), self.dest, ca_file=self.fake.ca_file)
        self.assertCloned(proc)
        log = self.requests()
        self.assertTrue(all(e["auth"] and e["status"] == 200 for e in log), log)
        self.assertAuthenticated(user="x-access-token")

    def test_wrong_token_is_401_with_githubs_message(self):
        proc = self.clone(f"x-access-token:{WRONG}")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("remote: Invalid username or token. Password authentication is not "
                      "supported for Git operations.", proc.stderr)
        self.assertIn("Authentication failed", proc.stderr)
        last = self.requests()[-1]
        self.assertEqual((last["status"], last["auth_result"]), (401, "bad"))
        self.assertEqual(last["token_sha256"], sha256(WRONG))
        self.assertLogHoldsNoSecret(WRONG, TOKEN)
        status, headers, _ = raw_request(self.fake, "GET", "/acme/infra-config.git/info/refs"
                                         "?service=git-upload-pack",
                                         {"Authorization": basic("x-access-token", WRONG)})
        self.assertEqual(status, 401)
        self.assertEqual(headers["WWW-Authenticate"], 'Basic realm="GitHub"')

    def test_no_credentials_is_a_challenge(self):
        proc = self.clone()
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("could not read Username", proc.stderr)
        status, headers, _ = raw_request(self.fake, "GET", "/acme/infra-config.git/info/refs"
                                         "?service=git-upload-pack")
        self.assertEqual(status, 401)
        self.assertEqual(headers["WWW-Authenticate"], 'Basic realm="GitHub"')

    def test_repository_the_token_cannot_see_is_404(self):
        proc = self.clone(f"x-access-token:{TOKEN}", repo="acme/secret.git")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("remote: Repository not found.", proc.stderr)
        self.assertEqual(self.requests()[-1]["status"], 404)

    def test_fetch_sees_a_new_commit(self):
        self.assertCloned(self.clone(f"x-access-token:{TOKEN}"))
        new_head = commit_to(self.origin, "next")
        proc = git("-C", self.dest, "fetch", "-q", "origin", ca_file=self.fake.ca_file)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        fetched = git("-C", self.dest, "rev-parse", "origin/main", check=True).stdout.strip()
        self.assertEqual(fetched, new_head)
        type(self).head = new_head

    def test_protocol_v0_and_v2(self):
        self.assertCloned(self.clone(f"x-access-token:{TOKEN}", "-c", "protocol.version=0"))
        self.assertEqual({e["git_protocol"] for e in self.requests()}, {None})
        shutil.rmtree(self.dest)
        self.fake.admin("DELETE", "/_fake/requests")
        self.assertCloned(self.clone(f"x-access-token:{TOKEN}", "-c", "protocol.version=2"))
        self.assertEqual({e["git_protocol"] for e in self.requests()}, {"version=2"})

    def test_shallow_and_partial_clones(self):
        self.assertCloned(self.clone(f"x-access-token:{TOKEN}", "--depth", "1"))
        count = git("-C", self.dest, "rev-list", "--count", "HEAD", check=True).stdout.strip()
        self.assertEqual(count, "1")
        shutil.rmtree(self.dest)
        self.assertCloned(self.clone(f"x-access-token:{TOKEN}", "--filter=blob:none"))

    def test_fetch_a_commit_by_sha(self):
        git("init", "-q", self.dest, check=True)
        proc = git("-C", self.dest, "fetch", "-q", url_with(self.fake, f"x-access-token:{TOKEN}"),
                   self.head, ca_file=self.fake.ca_file)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(git("-C", self.dest, "rev-parse", "FETCH_HEAD", check=True).stdout.strip(),
                         self.head)

    def test_gzip_request_body_protocol_v2(self):
        body = pkt("command=ls-refs\n") + b"0001" + pkt("symrefs\n") + pkt("ref-prefix refs/heads/\n") + b"0000"
        status, headers, data = raw_request(
            self.fake, "POST", "/acme/infra-config.git/git-upload-pack",
            {"Authorization": basic("x-access-token", TOKEN), "Git-Protocol": "version=2",
             "Content-Type": "application/x-git-upload-pack-request", "Content-Encoding": "gzip"},
            gzip.compress(body))
        self.assertEqual(status, 200, data)
        self.assertEqual(headers["Content-Type"], "application/x-git-upload-pack-result")
        self.assertIn(f"{self.head} refs/heads/main".encode(), data)
        last = self.requests()[-1]
        self.assertEqual((last["content_encoding"], last["git_protocol"]), ("gzip", "version=2"))

    def test_chunked_request_body(self):
        """libgit2's own HTTP client streams POST bodies chunked (git only
        does for large ones): no Content-Length reaches http-backend."""
        body = [pkt("command=ls-refs\n"), b"0001", pkt("symrefs\n"), b"0000"]
        context = ssl.create_default_context(cafile=self.fake.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", self.fake.port, context=context, timeout=30)
        conn.request("POST", "/acme/infra-config.git/git-upload-pack", body=iter(body),
                     encode_chunked=True,
                     headers={"Authorization": basic("x-access-token", TOKEN),
                              "Git-Protocol": "version=2", "Expect": "100-continue",
                              "Transfer-Encoding": "chunked",
                              "Content-Type": "application/x-git-upload-pack-request"})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.assertEqual(resp.status, 200, data)
        self.assertIn(f"{self.head} HEAD symref-target:refs/heads/main".encode(), data)
        self.assertEqual(self.requests()[-1]["bytes_in"], sum(len(b) for b in body))

    def test_token_rotation_and_required_user(self):
        new = "ghs_newtokennewtokennewtokennewtoken01"
        config = self.fake.admin("POST", "/_fake/config", {"tokens": [new]})
        self.assertEqual(config["tokens_sha256"], [sha256(new)])
        self.assertNotEqual(self.clone(f"x-access-token:{TOKEN}").returncode, 0)
        self.assertCloned(self.clone(f"x-access-token:{new}"))
        shutil.rmtree(self.dest)
        self.fake.admin("POST", "/_fake/config", {"require_user": "x-access-token"})
        self.assertNotEqual(self.clone(f"octocat:{new}").returncode, 0)
        self.assertEqual(self.requests()[-1]["auth_result"], "bad")
        self.fake.admin("POST", "/_fake/reset")
        self.assertCloned(self.clone(f"octocat:{TOKEN}"))

    def test_client_without_the_ca_fails_tls(self):
        proc = git("clone", "-q", url_with(self.fake, f"x-access-token:{TOKEN}"), self.dest)
        self.assertNotEqual(proc.returncode, 0)
        self.assertRegex(proc.stderr, "certificate|SSL")
        # An OpenSSL client aborts the handshake; Debian's git (GnuTLS) checks
        # the certificate after it and closes: both are recorded, the second
        # by the server thread a moment after git exits.
        deadline = time.monotonic() + 5
        while not self.fake.admin("GET", "/_fake/state")["tls_errors"]:
            self.assertLess(time.monotonic(), deadline, "no TLS failure recorded")
            time.sleep(0.05)
        self.assertEqual(self.requests(), [])

    def test_certificate_names_localhost_too(self):
        self.assertCloned(self.clone(f"x-access-token:{TOKEN}", host="localhost"))
        self.assertTrue(all(e["host"].startswith("localhost:") for e in self.requests()))


class GitLabStyle(StyleCase):
    style = "gitlab"
    extra_args = ("--deploy-token", f"{DEPLOY_USER}:{DEPLOY_TOKEN}")

    def test_oauth2_and_any_username_with_the_token(self):
        self.assertCloned(self.clone(f"oauth2:{TOKEN}"))
        self.assertAuthenticated(user="oauth2")
        shutil.rmtree(self.dest)
        self.fake.admin("DELETE", "/_fake/requests")
        self.assertCloned(self.clone(f"project_42_bot:{TOKEN}"))
        self.assertAuthenticated(user="project_42_bot")

    def test_deploy_token_needs_its_username(self):
        self.assertCloned(self.clone(f"{DEPLOY_USER}:{DEPLOY_TOKEN}"))
        log = self.requests()
        self.assertEqual(log[-1]["account"], DEPLOY_USER)
        self.assertAuthenticated(user=DEPLOY_USER, token=DEPLOY_TOKEN)
        shutil.rmtree(self.dest)
        proc = self.clone(f"oauth2:{DEPLOY_TOKEN}")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("HTTP Basic: Access denied", proc.stderr)
        self.assertLogHoldsNoSecret(DEPLOY_TOKEN)

    def test_token_as_username_is_not_gitlab(self):
        self.assertNotEqual(self.clone(f"{TOKEN}:x-oauth-basic").returncode, 0)
        self.assertEqual(self.requests()[-1]["auth_result"], "bad")

    def test_wrong_and_missing_credentials_are_the_same_401(self):
        proc = self.clone(f"oauth2:{WRONG}")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("remote: HTTP Basic: Access denied. If a password was provided for Git "
                      "authentication, the password was incorrect", proc.stderr)
        self.assertIn("Authentication failed", proc.stderr)
        path = "/acme/infra-config.git/info/refs?service=git-upload-pack"
        wrong = raw_request(self.fake, "GET", path, {"Authorization": basic("oauth2", WRONG)})
        missing = raw_request(self.fake, "GET", path)
        for status, headers, body in (wrong, missing):
            self.assertEqual(status, 401)
            self.assertEqual(headers["WWW-Authenticate"], 'Basic realm="GitLab"')
            self.assertTrue(body.startswith(b"HTTP Basic: Access denied."), body)
        self.assertEqual(wrong[2], missing[2])
        self.assertLogHoldsNoSecret(WRONG, TOKEN)

    def test_project_not_found(self):
        proc = self.clone(f"oauth2:{TOKEN}", repo="acme/missing.git")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("The project you were looking for could not be found or you don't have "
                      "permission to view it.", proc.stderr)

    def test_repository_path_without_dot_git(self):
        self.assertCloned(self.clone(f"oauth2:{TOKEN}", repo="acme/infra-config"))
        self.assertTrue(all(e["repo"] == REPO for e in self.requests()))


class GiteaStyle(StyleCase):
    style = "gitea"
    extra_args = ("--user", "deploybot", "--password", "hunter2-password")

    def test_user_and_token(self):
        self.assertCloned(self.clone(f"deploybot:{TOKEN}"))
        self.assertAuthenticated(user="deploybot")

    def test_the_username_is_not_checked_against_the_tokens_owner(self):
        self.assertCloned(self.clone(f"someone-else:{TOKEN}"))
        self.assertAuthenticated(user="someone-else")
        self.assertEqual(self.requests()[-1]["account"], "deploybot")

    def test_token_as_username_and_token_header(self):
        self.assertCloned(self.clone(TOKEN))
        self.assertAuthenticated(user=None, user_is_token=True)
        shutil.rmtree(self.dest)
        self.fake.admin("DELETE", "/_fake/requests")
        proc = git("-c", f"http.extraHeader=Authorization: token {TOKEN}",
                   "clone", "-q", url_with(self.fake), self.dest, ca_file=self.fake.ca_file)
        self.assertCloned(proc)
        self.assertTrue(all(e["scheme"] == "token" and e["auth_result"] == "ok"
                            for e in self.requests()))
        self.assertLogHoldsNoSecret(TOKEN)

    def test_password_sign_in(self):
        self.assertCloned(self.clone("deploybot:hunter2-password"))
        self.assertLogHoldsNoSecret("hunter2-password")
        self.assertEqual(self.requests()[-1]["password_sha256"], sha256("hunter2-password"))

    def test_wrong_token_is_401_without_a_challenge(self):
        proc = self.clone(f"deploybot:{WRONG}")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("Authentication failed", proc.stderr)
        path = "/acme/infra-config.git/info/refs?service=git-upload-pack"
        status, headers, body = raw_request(self.fake, "GET", path,
                                            {"Authorization": basic("deploybot", WRONG)})
        self.assertEqual((status, body), (401, b"Failed to authenticate user\n"))
        self.assertIsNone(headers["WWW-Authenticate"])
        status, headers, body = raw_request(self.fake, "GET", path)
        self.assertEqual(status, 401)
        self.assertEqual(headers["WWW-Authenticate"], 'Basic realm="Gitea"')
        self.assertLogHoldsNoSecret(WRONG, TOKEN)

    def test_repository_not_found(self):
        proc = self.clone(f"deploybot:{TOKEN}", repo="acme/missing.git")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("remote: Repository not found", proc.stderr)


class Redirects(unittest.TestCase):
    """A (the host the client was given) redirects every request to B."""

    @classmethod
    def setUpClass(cls):
        cls.origin, cls.head = make_origin("origin-redirects")
        cls.target = FakeProcess("fake_githttp.py", "--token", TOKEN, "--cert-dir", CERT_DIR,
                                 "--repo", f"{REPO}={cls.origin}",
                                 python="/usr/bin/python3", tls=True).start()
        cls.redirector = FakeProcess("fake_githttp.py", "--token", TOKEN, "--cert-dir", CERT_DIR,
                                     "--redirect-to", f"https://localhost:{cls.target.port}",
                                     python="/usr/bin/python3", tls=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.redirector.stop()
        cls.target.stop()

    def setUp(self):
        for fake in (self.target, self.redirector):
            fake.admin("POST", "/_fake/reset")
        self.redirector.admin("POST", "/_fake/config",
                              {"redirect_to": f"https://localhost:{self.target.port}"})
        self.dest = os.path.join(tempfile.mkdtemp(dir=WORK, prefix="clone-"), "c")

    def clone(self, *config, userinfo=None):
        args = [a for c in config for a in ("-c", c)]
        # Both instances share one CA, so either copy of it trusts both.
        return git(*args, "clone", "-q", url_with(self.redirector, userinfo), self.dest,
                   ca_file=self.redirector.ca_file)

    def assertTargetGotNoCredentials(self):
        log = self.target.admin("GET", "/_fake/requests")
        self.assertTrue(log, "git did not follow the redirect")
        self.assertTrue(all(not e["auth"] for e in log), log)
        return log

    def test_redirect_answer(self):
        status, headers, _ = raw_request(self.redirector, "GET",
                                         "/acme/infra-config.git/info/refs?service=git-upload-pack")
        self.assertEqual(status, 301)
        self.assertEqual(headers["Location"], f"https://localhost:{self.target.port}"
                         "/acme/infra-config.git/info/refs?service=git-upload-pack")

    def test_url_credentials_stay_with_the_first_host(self):
        proc = self.clone(userinfo=f"x-access-token:{TOKEN}")
        self.assertNotEqual(proc.returncode, 0)
        # curl probes anonymously, is redirected, and then never sends the
        # URL's credentials to localhost:B: git gives up on B's 401.
        first = self.redirector.admin("GET", "/_fake/requests")
        self.assertEqual([(e["auth"], e["status"]) for e in first], [(False, 301)])
        log = self.assertTargetGotNoCredentials()
        self.assertEqual(log[0]["status"], 401)
        self.assertTrue(log[0]["host"].startswith("localhost:"))

    def test_extra_header_is_dropped_on_the_redirect(self):
        proc = self.clone(f"http.extraHeader=Authorization: {basic('x-access-token', TOKEN)}")
        self.assertNotEqual(proc.returncode, 0)
        first = self.redirector.admin("GET", "/_fake/requests")
        self.assertEqual([(e["auth"], e["token_sha256"], e["status"]) for e in first],
                         [(True, sha256(TOKEN), 301)])
        self.assertTargetGotNoCredentials()
        self.assertNotIn(TOKEN, json.dumps(first))

    def test_another_port_on_the_same_address_is_another_origin(self):
        self.redirector.admin("POST", "/_fake/config",
                              {"redirect_to": f"https://127.0.0.1:{self.target.port}",
                               "redirect_status": 302})
        self.assertNotEqual(self.clone(userinfo=f"x-access-token:{TOKEN}").returncode, 0)
        self.assertTargetGotNoCredentials()
        self.assertNotEqual(
            self.clone(f"http.extraHeader=Authorization: {basic('x-access-token', TOKEN)}").returncode, 0)
        self.assertTargetGotNoCredentials()

    def test_git_follows_the_redirect_to_a_public_repository(self):
        self.target.admin("POST", "/_fake/config", {"public": True})
        proc = self.clone(userinfo=f"x-access-token:{TOKEN}")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(head_of(os.path.join(self.dest, ".git")), self.head)
        log = self.assertTargetGotNoCredentials()
        self.assertEqual({e["auth_result"] for e in log}, {"anonymous"})
        self.assertEqual(log[-1]["path"], "/acme/infra-config.git/git-upload-pack")

    def test_extra_header_reaches_the_new_host_after_the_redirect(self):
        """What git does, recorded: curl strips the Authorization extraHeader
        from the redirected GET, but git then takes the redirect's target as
        its base URL and adds http.extraHeader to every later request. So a
        token in http.extraHeader leaks to the host a redirect points at once
        that host answers the first GET (here: a public repository). A client
        must tie credentials to the host (a credential callback that checks
        the URL), never to a blanket header."""
        self.target.admin("POST", "/_fake/config", {"public": True})
        proc = self.clone(f"http.extraHeader=Authorization: {basic('x-access-token', TOKEN)}")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        log = self.target.admin("GET", "/_fake/requests")
        self.assertEqual((log[0]["method"], log[0]["auth"]), ("GET", False))
        posts = [e for e in log if e["method"] == "POST"]
        self.assertTrue(posts)
        self.assertTrue(all(e["auth"] and e["token_sha256"] == sha256(TOKEN) for e in posts), posts)
        self.assertNotIn(TOKEN, json.dumps(log))


class FaultsAndAdmin(StyleCase):
    style = "github"

    def test_status_fault(self):
        self.fake.admin("POST", "/_fake/faults", {"path_regex": "git-upload-pack$", "method": "POST",
                                                  "status": 500})
        proc = self.clone(f"x-access-token:{TOKEN}")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("500", proc.stderr)
        self.assertEqual(self.requests()[-1]["fault"], "status")
        self.assertEqual(self.fake.admin("GET", "/_fake/faults"), [])
        shutil.rmtree(self.dest, ignore_errors=True)
        self.assertCloned(self.clone(f"x-access-token:{TOKEN}"))

    def test_close_and_truncate_faults(self):
        # curl retries a request once on a fresh connection when a reused one
        # closes without an answer: close twice to make git see it.
        for spec in ({"path_regex": "git-upload-pack$", "action": "close", "count": 2},
                     {"path_regex": "git-upload-pack$", "action": "truncate", "truncate_bytes": 200}):
            self.fake.admin("POST", "/_fake/faults", spec)
            proc = self.clone(f"x-access-token:{TOKEN}")
            self.assertNotEqual(proc.returncode, 0, spec)
            self.assertEqual(self.requests()[-1]["fault"], spec["action"])
            shutil.rmtree(self.dest, ignore_errors=True)
            self.fake.admin("POST", "/_fake/reset")

    def test_state_repos_and_reset(self):
        state = self.fake.admin("GET", "/_fake/state")
        self.assertEqual(state["style"], "github")
        self.assertEqual(state["repos"][0]["name"], REPO)
        self.assertEqual(state["repos"][0]["refs"]["refs/heads/main"], self.head)
        self.assertIn("refs/tags/v1", state["repos"][0]["refs"])
        other, other_head = make_origin("origin-added")
        self.fake.admin("POST", "/_fake/repos", {"name": "acme/other.git", "path": other})
        self.assertCloned(self.clone(f"x-access-token:{TOKEN}", repo="acme/other.git"), other_head)
        self.fake.admin("POST", "/_fake/reset")
        self.assertEqual([r["name"] for r in self.fake.admin("GET", "/_fake/state")["repos"]], [REPO])
        config = self.fake.admin("GET", "/_fake/config")
        self.assertEqual(config["tokens_sha256"], [sha256(TOKEN)])
        self.assertNotIn(TOKEN, json.dumps(config))


class PlainHttp(unittest.TestCase):
    def test_clone_over_plain_http(self):
        origin, head = make_origin("origin-plain")
        with FakeProcess("fake_githttp.py", "--http", "--style", "gitea", "--token", TOKEN,
                         "--repo", f"{REPO}={origin}", python="/usr/bin/python3") as fake:
            dest = os.path.join(tempfile.mkdtemp(dir=WORK), "c")
            proc = git("clone", "-q", url_with(fake, f"deploybot:{TOKEN}"), dest)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(head_of(os.path.join(dest, ".git")), head)


if __name__ == "__main__":
    unittest.main(verbosity=2)
