"""Test harness: starts the fakes and the real deploybot binary on loopback,
builds a real config repository with git, and delivers real GitHub webhook
payloads (from shared/fixtures) re-pointed at that repository's commits.

Used by the integration tests and by scripts/demo.py.

DEPLOYBOT_FAKE_AWS_ARGS holds more arguments for fake_aws.py (shell words).
ctest runs the engine tests a second time with "--ignore-filters": the fake
then answers every Describe/List with everything of the account, as some
independent implementations of the AWS APIs do, and deploybot must still
touch only what the answers prove is its own. The tests' own boto3 calls
observe the fake as AWS would answer them: the fake applies their filters
(see observe_with_filters)."""
import base64
import contextlib
import hashlib
import hmac
import json
import os
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

SRC = os.environ.get("DEPLOYBOT_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.environ.get("DEPLOYBOT_FIXTURES") or os.path.join(SRC, "..", "shared", "fixtures")
BIN = os.environ.get("DEPLOYBOT_BIN") or os.path.join(SRC, "build", "deploybot")
PY = "/usr/bin/python3"

SECRET = "It's a Secret to Everybody"
GITHUB_TOKEN = "ghp_faketoken000000000000000000000000000"
GITEA_TOKEN = "gitea-token-0123456789abcdef"
GITEA_REPO, GITEA_REPO_ID = "acme/infra-config", 42   # the fake Gitea's repository
GITHUB_REPO = "ailisp/gcbapp-buildconfig-example"     # push_payload's
GITLAB_TOKEN = "glpat-fake-0123456789"
GITLAB_PROJECT, GITLAB_PROJECT_ID = "acme/infra-config", 42   # the fake GitLab's project
# The Standard Webhooks key GitLab signs deliveries with (host.signing_key_env).
GITLAB_SIGNING_KEY = "whsec_" + base64.b64encode(b"deploybot-gitlab-signing-key-32b").decode()
AWS_KEY = "AKIDEXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "eu-west-1"
# The UI and API credentials of every Stack's bot ("api_tokens").
READ_TOKEN = "deploybot-test-read-0123456789abcdef"
OPERATE_TOKEN = "deploybot-test-operate-0123456789abcdef"
API_TOKENS = [{"name": "viewer", "token_env": "DEPLOYBOT_READ_TOKEN", "role": "read"},
              {"name": "operator", "token_env": "DEPLOYBOT_OPERATE_TOKEN", "role": "operate"}]
FAKE_AWS_ARGS = shlex.split(os.environ.get("DEPLOYBOT_FAKE_AWS_ARGS", ""))


def fixture(name):
    with open(os.path.join(FIXTURES, "webhooks", name), "rb") as f:
        return f.read()


class Process:
    """A child process whose output goes to a log file in the work dir."""

    def __init__(self, argv, workdir, name, env=None, port_file=None):
        self.name = name
        self.log_path = os.path.join(workdir, name + ".log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, cwd=workdir)
        self.port = None
        if port_file:
            self.port = wait_for(lambda: _read_port(port_file), 20, name + " did not start")

    def stop(self, sig=None):
        if self.proc.poll() is None:
            if sig:
                self.proc.send_signal(sig)
            else:
                self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


def _read_port(path):
    """The port on the first line of path (a port file, Chromium's
    DevToolsActivePort), or None until it is written."""
    try:
        with open(path) as f:
            text = f.readline().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def squeezed(text):
    """text without its whitespace: a plan's lines are wrapped at 100 columns
    (a long ARN goes on over the next line), so a test that looks for a line
    holding one compares squeezed(line) with squeezed(plan)."""
    return "".join(text.split())


def wait_for(fn, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out: " + what)


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.com",
               GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.com")
    out = subprocess.run(["git", "-C", repo] + list(args), check=True, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return out.stdout.decode().strip()


class ConfigRepo:
    """A real git repository holding deploy-configs/, branch main."""

    def __init__(self, path):
        self.path = path
        shutil.copytree(os.path.join(SRC, "deploy-configs"), path)
        git(path, "init", "-q", "-b", "main")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "initial config")

    def head(self):
        return git(self.path, "rev-parse", "HEAD")

    def edit_json(self, rel, fn, message):
        p = os.path.join(self.path, rel)
        with open(p) as f:
            doc = json.load(f)
        fn(doc)
        with open(p, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        return self.commit(message)

    def write(self, rel, text, message):
        p = os.path.join(self.path, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return self.commit(message)

    def commit(self, message):
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "-m", message)
        return self.head()


def push_payload(before, after, ref="refs/heads/main"):
    """A real GitHub push delivery, re-pointed at our commits."""
    doc = json.loads(fixture("github/reallyfastci.push.merge-to-master.json"))
    doc["ref"], doc["before"], doc["after"] = ref, before, after
    doc["created"] = before == "0" * 40
    doc["deleted"] = False
    if doc.get("head_commit"):
        doc["head_commit"]["id"] = after
    return doc


def pr_payload(base, head, action="opened", number=7):
    doc = json.loads(fixture("github/octokit.pull_request.opened.json"))
    doc["action"] = action
    doc["number"] = number
    doc["pull_request"]["number"] = number
    doc["pull_request"]["head"]["sha"] = head
    doc["pull_request"]["base"]["sha"] = base
    doc["pull_request"]["base"]["ref"] = "main"
    return doc


def gitea_push_payload(before, after, ref="refs/heads/main", repo=GITEA_REPO):
    """A real Gitea push delivery, re-pointed at our commits; its "secret"
    is the webhook secret, as old Gitea sent it."""
    doc = json.loads(fixture("gitea/docs.push.json"))
    doc.update(ref=ref, before=before, after=after, secret=SECRET)
    doc["repository"].update(full_name=repo, id=GITEA_REPO_ID)
    return doc


def gitea_pr_payload(base, head, action="opened", number=7, fork=False):
    """A real Gitea pull_request delivery; a fork's head repository is another."""
    doc = json.loads(fixture("gitea/go-scm.pull_request.opened.json"))
    doc.update(action=action, number=number)
    doc["repository"].update(full_name=GITEA_REPO, id=GITEA_REPO_ID)
    pr = doc["pull_request"]
    pr["number"] = number
    pr["base"].update(sha=base, ref="main", repo_id=GITEA_REPO_ID)
    pr["base"]["repo"].update(full_name=GITEA_REPO, id=GITEA_REPO_ID)
    pr["head"].update(sha=head, ref="feature")
    name, rid = ("mallory/infra-config", 99) if fork else (GITEA_REPO, GITEA_REPO_ID)
    pr["head"]["repo_id"] = rid
    pr["head"]["repo"].update(full_name=name, id=rid)
    return doc


def gitea_sign(body, secret=SECRET):
    """X-Gitea-Signature: bare hex HMAC-SHA256 of the body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def gitea_headers(event, body, delivery=None, secret=SECRET):
    """As Gitea sends a delivery: its own headers and GitHub's."""
    sig = gitea_sign(body, secret)
    delivery = delivery or str(uuid.uuid4())
    return {"Content-Type": "application/json", "User-Agent": "Go-http-client/1.1",
            "X-Gitea-Event": event, "X-Gitea-Event-Type": event, "X-Gitea-Delivery": delivery,
            "X-Gitea-Signature": sig, "X-Gogs-Event": event, "X-Gogs-Delivery": delivery,
            "X-Gogs-Signature": sig, "X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": "sha256=" + sig}


def gitlab_push_payload(before, after, ref="refs/heads/main", project=GITLAB_PROJECT):
    """A real GitLab Push Hook, re-pointed at our commits."""
    doc = json.loads(fixture("gitlab/go-scm.push.json"))
    doc.update(ref=ref, before=before, after=after, checkout_sha=after)
    doc["project"]["path_with_namespace"] = project
    return doc


def gitlab_mr_payload(head, action="open", iid=1, oldrev=None, source_project_id=GITLAB_PROJECT_ID):
    """A real GitLab Merge Request Hook into main; another source project is a fork."""
    doc = json.loads(fixture("gitlab/go-scm.merge_request.open.json"))
    attrs = doc["object_attributes"]
    attrs.update(iid=iid, action=action, target_branch="main", source_project_id=source_project_id,
                 target_project_id=GITLAB_PROJECT_ID)
    attrs["last_commit"]["id"] = head
    attrs.pop("oldrev", None)
    if oldrev:
        attrs["oldrev"] = oldrev
    doc["project"]["path_with_namespace"] = GITLAB_PROJECT
    return doc


def gitlab_signature(key, msg_id, ts, body):
    """webhook-signature (Standard Webhooks): HMAC-SHA256 of "id.ts.body"."""
    raw = base64.b64decode(key[len("whsec_"):])
    mac = hmac.new(raw, b"%s.%s." % (msg_id.encode(), str(ts).encode()) + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def gitlab_headers(event, body, key=None, token=SECRET, sign=True, ts=None, sig=None):
    """As GitLab sends a delivery: the secret token, the idempotency key (a
    retry repeats it) and the signature; token=None or sign=False leave one out."""
    key = key or str(uuid.uuid4())
    ts = int(time.time()) if ts is None else ts
    headers = {"Content-Type": "application/json", "X-Gitlab-Event": event,
               "X-Gitlab-Event-UUID": str(uuid.uuid4()), "Idempotency-Key": key,
               "X-Gitlab-Instance": "https://gitlab.example.com", "User-Agent": "GitLab/19.1.0",
               "webhook-id": key, "webhook-timestamp": str(ts)}
    if token is not None:
        headers["X-Gitlab-Token"] = token
    if sign:
        headers["webhook-signature"] = sig or gitlab_signature(GITLAB_SIGNING_KEY, key, ts, body)
    return headers


def fault(url, **spec):
    """Queues a fault rule on a fake (see tests/fakes/README.md)."""
    code, body = http("POST", url + "/_fake/faults", json.dumps(spec).encode(),
                      {"Content-Type": "application/json"})
    assert code < 300, body


def sign(body, secret=SECRET):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def half_sent_push(port, before, after, delivery):
    """A GitHub push delivery to the bot on `port` with its headers and the
    first half of its body sent: returns the http.client connection and the
    rest of the body (send it, then getresponse())."""
    import http.client
    body = json.dumps(push_payload(before, after)).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.putrequest("POST", "/webhooks/github")
    for k, v in {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery,
                 "X-Hub-Signature-256": sign(body), "Content-Length": str(len(body))}.items():
        conn.putheader(k, v)
    conn.endheaders()
    conn.send(body[:len(body) // 2])
    return conn, body[len(body) // 2:]


class GitDaemon:
    """`git daemon` on 127.0.0.1 serving every repository under `base`
    (`probe`, one of them, tells when it is up)."""

    def __init__(self, base, probe="config-repo"):
        for _ in range(5):  # the free port may be taken before the daemon binds it
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                self.port = sock.getsockname()[1]
            self.proc = subprocess.Popen(["git", "daemon", "--listen=127.0.0.1", "--port=%d" % self.port,
                                          "--base-path=" + base, "--export-all", "--reuseaddr", base],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 5
            while time.time() < deadline and self.proc.poll() is None:
                if subprocess.run(["git", "ls-remote", self.url(probe)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode == 0:
                    return
                time.sleep(0.1)
            self.stop()
        raise AssertionError("git daemon did not start")

    def url(self, name):
        return "git://127.0.0.1:%d/%s" % (self.port, name)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class StallingProxy:
    """A TCP proxy to 127.0.0.1:`port` that holds every connection without
    forwarding a byte until release() (a server that hangs mid-request)."""

    def __init__(self, port):
        self.target, self.held = port, False
        self.go = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.held = True
            self.go.wait()
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for sock in (a, b):
            try:
                sock.shutdown(2)
            except OSError:
                pass
            sock.close()

    def release(self):
        self.go.set()

    def close(self):
        self.go.set()
        self.sock.close()


class WebSocket:
    """A WebSocket client (RFC 6455) for the bot's live log and live cards and
    for Chromium's DevTools: text messages, masked as a client's must be."""

    def __init__(self, port, path, protocol=None, headers=None, timeout=60):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        if protocol:
            extra += "Sec-WebSocket-Protocol: %s\r\n" % protocol
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n%s\r\n" % (path, port, key, extra)).encode())
        self.f = self.sock.makefile("rb")
        self.status = self.f.readline().decode().strip()
        while self.f.readline() not in (b"\r\n", b""):
            pass
        self.open = " 101 " in self.status + " "
        if not self.open:
            self.sock.close()

    def _frame(self, op, data):
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x80 | op])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def send(self, text):
        self._frame(1, text.encode())

    def recv(self):
        """The next text message (str), or None once the server closed."""
        text = b""
        while True:
            head = self.f.read(2)
            if len(head) < 2:
                return None
            fin, op, n = head[0] & 0x80, head[0] & 0x0F, head[1] & 0x7F
            if n == 126:
                n = struct.unpack(">H", self.f.read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self.f.read(8))[0]
            data = self.f.read(n)
            if op == 8:
                return None
            if op == 9:
                self._frame(10, data)
            if op in (0, 1):
                text += data
                if fin:
                    return text.decode()

    def close(self):
        self.sock.close()


def observe_with_filters():
    """While the fake ignores filters for deploybot, every boto3 call of a
    test is answered with its filters applied: the tests check what exists
    with Filters/PathPrefix and must see AWS's answer, not the switch's. The
    switch is off only for the duration of the call (a call of the bot that
    falls into that window sees AWS's behaviour, which is no less correct)."""
    from botocore.client import BaseClient
    if getattr(BaseClient, "_deploybot_observer", False):
        return
    call = BaseClient._make_api_call

    def switch(url, on):
        code, body = http("POST", url + "/_fake/config", json.dumps({"ignore_filters": on}).encode(),
                          {"Content-Type": "application/json"})
        assert code == 200, body

    def observed(self, operation, params):
        url = self.meta.endpoint_url
        switch(url, False)
        try:
            return call(self, operation, params)
        finally:
            switch(url, True)
    BaseClient._make_api_call = observed
    BaseClient._deploybot_observer = True


class Stack:
    """Fake AWS + fake GitHub + a config repo + the bot, in one work dir.
    host="gitea" or "gitlab": the bot's host is that fake instead (deliver,
    statuses and wait_status speak its API; GitLab's deliveries are signed
    and the bot requires it)."""

    def __init__(self, workdir=None, start_bot=True, chat=False, host="github", github_args=()):
        self.dir = workdir or tempfile.mkdtemp(prefix="deploybot-test-")
        os.makedirs(self.dir, exist_ok=True)
        self.procs = []
        # Set before the bot starts: more environment for the bot (e.g. chat
        # webhook URLs) and the config's "notify" object.
        self.extra_env = {}
        self.notify = None
        self.limits = None  # the config's "limits" object
        self.host = None  # the config's "host" object, in place of "github"
        self.host_type = host
        self.chat = self._fake("fake_chat", []) if chat else None
        self.chat_url = "http://127.0.0.1:%d" % self.chat.port if chat else None
        self.aws = self._fake("fake_aws", ["--access-key", AWS_KEY, "--secret-key", AWS_SECRET,
                                           "--region", REGION] + FAKE_AWS_ARGS)
        if "--ignore-filters" in FAKE_AWS_ARGS:
            observe_with_filters()
        self.github = self._fake("fake_github", ["--token", GITHUB_TOKEN] + list(github_args))
        self.aws_url = "http://127.0.0.1:%d" % self.aws.port
        self.github_url = "http://127.0.0.1:%d" % self.github.port
        self.default_repo = GITHUB_REPO
        if host == "gitea":
            self.gitea = self._fake("fake_gitea", ["--token", GITEA_TOKEN, "--repo",
                                                   "%s=%d" % (GITEA_REPO, GITEA_REPO_ID)])
            self.gitea_url = "http://127.0.0.1:%d" % self.gitea.port
            self.host = {"type": "gitea", "api_url": self.gitea_url + "/api/v1"}
            self.default_repo = GITEA_REPO
        if host == "gitlab":
            self.gitlab = self._fake("fake_gitlab", ["--token", GITLAB_TOKEN, "--project",
                                                     "%s=%d" % (GITLAB_PROJECT, GITLAB_PROJECT_ID)])
            self.gitlab_url = "http://127.0.0.1:%d" % self.gitlab.port
            self.host = {"type": "gitlab", "api_url": self.gitlab_url + "/api/v4",
                         "signing_key_env": "GITLAB_SIGNING_KEY", "require_signature": True}
            self.default_repo = GITLAB_PROJECT
        self.repo = ConfigRepo(os.path.join(self.dir, "config-repo"))
        self.data_dir = os.path.join(self.dir, "data")
        self.repo_url = None  # the bot fetches this instead of the local path when set
        self.repo_settings = {}  # more keys of the config's "repo" (user, ca_file ...)
        if host == "gitlab":
            self.repo_settings["name"] = GITLAB_PROJECT
        self.github_settings = {}  # more keys of the config's "github" (app_id ...)
        self.bot = None
        if start_bot:
            self.start_bot()

    def _fake(self, name, extra):
        port_file = os.path.join(self.dir, name + ".port")
        p = Process([PY, os.path.join(SRC, "tests", "fakes", name + ".py"), "--port", "0",
                     "--port-file", port_file] + extra, self.dir, name, port_file=port_file)
        self.procs.append(p)
        return p

    def env(self):
        e = dict(os.environ)
        e.update({"DEPLOYBOT_WEBHOOK_SECRET": SECRET, "GITHUB_TOKEN": GITHUB_TOKEN,
                  "GITEA_TOKEN": GITEA_TOKEN, "GITLAB_TOKEN": GITLAB_TOKEN,
                  "GITLAB_SIGNING_KEY": GITLAB_SIGNING_KEY,
                  "AWS_ACCESS_KEY_ID": AWS_KEY, "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
                  "AWS_REGION": REGION, "AWS_ENDPOINT_URL": self.aws_url,
                  "DEPLOYBOT_AWS_RETRY_BASE_MS": "10", "DEPLOYBOT_NOTIFY_RETRY_BASE_MS": "100",
                  "DEPLOYBOT_READ_TOKEN": READ_TOKEN, "DEPLOYBOT_OPERATE_TOKEN": OPERATE_TOKEN,
                  # Waiters (instances running, volumes attached ...) poll the fake
                  # fast; it settles a change once a Describe has shown it.
                  "DEPLOYBOT_WAIT_POLL_MS": "20"})
        e.update(self.extra_env)
        return e

    def config_path(self):
        path = os.path.join(self.dir, "deploybot.conf.json")
        if not os.path.exists(path):
            cfg = {"listen": "127.0.0.1", "port": 0, "data_dir": self.data_dir,
                   "repo": dict(self.repo_settings, url=self.repo_url or self.repo.path),
                   "github": dict(self.github_settings, api_url=self.github_url),
                   "aws": {"region": REGION}, "api_tokens": API_TOKENS}
            if self.notify is not None:
                cfg["notify"] = self.notify
            if self.limits is not None:
                cfg["limits"] = self.limits
            if self.host is not None:
                del cfg["github"]
                cfg["host"] = self.host
            with open(path, "w") as f:
                json.dump(cfg, f, indent=2)
        return path

    def edit_config(self, fn):
        """Rewrites the bot's config file with fn(config dict) applied (before
        start_bot, or followed by a SIGHUP to reload it)."""
        path = self.config_path()
        with open(path) as f:
            cfg = json.load(f)
        fn(cfg)
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)

    def start_bot(self):
        port_file = os.path.join(self.dir, "bot.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.bot = Process([BIN, "serve", "--config", self.config_path(), "--port-file", port_file],
                           self.dir, "deploybot", env=self.env(), port_file=port_file)
        self.bot_url = "http://127.0.0.1:%d" % self.bot.port
        wait_for(lambda: http("GET", self.bot_url + "/healthz")[0] == 200, 20, "bot /healthz")
        return self.bot

    def start_replicas(self, n, lease_s=3):
        """Starts n bots sharing this stack's database (its one data_dir), each
        on its own port, with "replica": {"lease_s": lease_s}. Returns their
        Processes, each with .url; the first is also self.bot."""
        self.edit_config(lambda c: c.update(replica={"lease_s": lease_s}))
        replicas = []
        for i in range(n):
            port_file = os.path.join(self.dir, "replica%d.port" % i)
            if os.path.exists(port_file):
                os.unlink(port_file)
            p = Process([BIN, "serve", "--config", self.config_path(), "--port-file", port_file],
                        self.dir, "replica%d" % i, env=self.env(), port_file=port_file)
            p.url = "http://127.0.0.1:%d" % p.port
            self.procs.append(p)
            wait_for(lambda: http("GET", p.url + "/healthz")[0] == 200, 20, "replica /healthz")
            replicas.append(p)
        self.bot, self.bot_url = replicas[0], replicas[0].url
        return replicas

    def deliver(self, event, doc, delivery=None, secret=SECRET):
        body = json.dumps(doc).encode()
        if self.host_type == "gitea":
            return http("POST", self.bot_url + "/webhooks/gitea", body,
                        gitea_headers(event, body, delivery, secret))
        if self.host_type == "gitlab":
            return http("POST", self.bot_url + "/webhooks/gitlab", body,
                        gitlab_headers(event, body, delivery, secret))
        headers = {"Content-Type": "application/json", "X-GitHub-Event": event,
                   "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
                   "X-Hub-Signature-256": sign(body, secret),
                   "User-Agent": "GitHub-Hookshot/044aadd"}
        return http("POST", self.bot_url + "/webhooks/github", body, headers)

    def running_dev_run(self, delay_ms, count):
        """Pushes a change of dev's stack with the fake AWS's next `count`
        calls delayed by `delay_ms`; returns the run (as /api/runs lists it)
        once it is running."""
        base = self.repo.head()
        sha = self.repo.edit_json("environments/dev/stack.json",
                                  lambda d: d["office_cidrs"].append("198.51.100.0/24"), "office")
        fault(self.aws_url, action="*", error=None, delay_ms=delay_ms, count=count)
        code, body = self.deliver("push", push_payload(base, sha))
        assert code == 202, (code, body)

        def running():
            code, body = self.api("/api/runs")
            rs = json.loads(body)["runs"] if code == 200 else []
            return rs[0] if rs and rs[0]["state"] == "running" else None
        return wait_for(running, 60, "a running run")
    def api(self, path, method="GET", body=None, token=READ_TOKEN, headers=None):
        """The bot's pages and API as a client holding `token` (None: no
        credential). path is "/api/runs" or a full URL of the bot (a
        status's target_url); a body that is not bytes is sent as JSON.
        Returns (status, body bytes)."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        url = path if path.startswith(("http://", "https://")) else self.bot_url + path
        return http(method, url, body, h)

    def statuses(self, sha, repo=None):
        """The commit's statuses on the host, newest first, as GitHub shows
        them (Gitea's "status" is given as "state"; GitLab's "name" as
        "context" and its states as GitHub's)."""
        repo = repo or self.default_repo
        if self.host_type == "gitlab":
            return self._gitlab_statuses(sha, repo)
        if self.host_type == "gitea":
            code, body = http("GET", "%s/api/v1/repos/%s/statuses/%s" % (self.gitea_url, repo, sha),
                              headers={"Authorization": "token " + GITEA_TOKEN})
            assert code == 200, (code, body)
            return [dict(x, state=x["status"]) for x in json.loads(body)]
        code, body = http("GET", "%s/repos/%s/commits/%s/statuses" % (self.github_url, repo, sha),
                          headers={"Authorization": "token " + GITHUB_TOKEN})
        assert code == 200, (code, body)
        return json.loads(body)

    def _gitlab_statuses(self, sha, project):
        code, body = http("GET", "%s/api/v4/projects/%s/repository/commits/%s/statuses?all=true&sort=desc"
                          % (self.gitlab_url, urllib.parse.quote(project, safe=""), sha),
                          headers={"PRIVATE-TOKEN": GITLAB_TOKEN})
        assert code == 200, (code, body)
        state = {"failed": "failure", "canceled": "error", "running": "pending"}
        return [dict(x, context=x["name"], state=state.get(x["status"], x["status"]))
                for x in json.loads(body)]

    def latest_status(self, sha, context, repo=None):
        for s in self.statuses(sha, repo):  # newest first
            if s["context"] == context:
                return s
        return None

    def wait_status(self, sha, context, states=("success", "failure", "error"), timeout=60,
                    repo=None):
        def done():
            s = self.latest_status(sha, context, repo)
            return s if s and s["state"] in states else None
        try:
            return wait_for(done, timeout, "status %s on %s" % (context, sha[:12]))
        except AssertionError:
            sys.stderr.write(self.bot.output()[-5000:])
            raise

    def aws_calls(self):
        """Every call the fake AWS answered, oldest first (service, action, status...)."""
        code, body = http("GET", self.aws_url + "/_fake/calls/log")
        assert code == 200, body
        return json.loads(body)

    def aws_mutations(self):
        """The actions of those calls that could change something."""
        return [c["action"] for c in self.aws_calls() if not c["action"].startswith(("Describe", "List", "Get"))]

    def ec2(self):
        if getattr(self, "_ec2", None) is None:
            self._ec2 = self._client("ec2")
        return self._ec2

    def _client(self, service):
        import boto3
        return boto3.client(service, endpoint_url=self.aws_url, region_name=REGION,
                            aws_access_key_id=AWS_KEY, aws_secret_access_key=AWS_SECRET)

    def tagged(self, env):
        """{logical id: description} of everything tagged with the stack, via boto3."""
        ec2 = self.ec2()
        flt = [{"Name": "tag:deploybot:stack", "Values": [env]}]
        out = {}

        def tag(item):
            return {t["Key"]: t["Value"] for t in item.get("Tags", [])}.get("deploybot:id")
        for v in ec2.describe_vpcs(Filters=flt)["Vpcs"]:
            out[tag(v)] = v
        for s in ec2.describe_subnets(Filters=flt)["Subnets"]:
            out[tag(s)] = s
        for g in ec2.describe_internet_gateways(Filters=flt)["InternetGateways"]:
            out[tag(g)] = g
        for r in ec2.describe_route_tables(Filters=flt)["RouteTables"]:
            out[tag(r)] = r
        for g in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]:
            out[tag(g)] = g
        out.pop(None, None)
        return out

    def owned_ids(self, env):
        """Logical ids of every live resource tagged deploybot:stack=ENV, in any
        service of the fake (read from its state dump, whatever the service),
        final snapshots aside."""
        code, body = http("GET", self.aws_url + "/_fake/state")
        assert code == 200, body
        found = set()

        def tags_of(res):
            tags = {}
            for v in res.values():
                if isinstance(v, list):
                    for t in v:
                        if isinstance(t, dict):
                            k = t.get("Key", t.get("key"))
                            if isinstance(k, str):
                                tags[k] = t.get("Value", t.get("value"))
                elif isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) \
                        and "deploybot:stack" in v:
                    tags.update(v)
            return tags

        def gone(res):
            st = res.get("State", res.get("state", res.get("instanceState")))
            if isinstance(st, dict):
                st = st.get("name", st.get("Name", st.get("Code")))
            return st in ("terminated", "deleted", "deleting", "shutting-down")

        def walk(v):
            if isinstance(v, dict):
                t = tags_of(v)
                if t.get("deploybot:stack") == env and t.get("deploybot:id") and not gone(v):
                    found.add(t["deploybot:id"])
                    # A volume attachment has no tags: deploybot names it after its
                    # volume (volume.data_1 -> volume_attachment.data_1).
                    if t["deploybot:id"].startswith("volume.") and any(
                            a.get("State") in ("attaching", "attached") for a in v.get("Attachments", [])):
                        found.add("volume_attachment." + t["deploybot:id"].split(".", 1)[1])
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        state = json.loads(body)
        # Final snapshots of data volumes outlive the stack on purpose: they
        # carry its tags but are not its resources.
        state.get("ec2", {}).pop("snapshot", None)
        walk(state)
        return sorted(found)

    def planned_ids(self, env, configs=None):
        """Logical ids ENV's stack.json (shipped, or in CONFIGS) wants, from
        `deploybot plan` of a copy planned under a stack name that owns nothing."""
        probe = tempfile.mkdtemp(prefix="deploybot-probe-")
        shutil.rmtree(probe)
        shutil.copytree(configs or os.path.join(SRC, "deploy-configs"), probe)
        with open(os.path.join(probe, "deploybot.json")) as f:
            cfg = json.load(f)
        cfg["environments"]["probe"] = {"folder": "environments/" + env, "branch": "main"}
        with open(os.path.join(probe, "deploybot.json"), "w") as f:
            json.dump(cfg, f)
        p = subprocess.run([BIN, "plan", "probe", "--dir", probe], env=self.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        shutil.rmtree(probe)
        ids = sorted(l.split()[1] for l in p.stdout.decode().splitlines() if l.startswith("  + "))
        assert ids and "No changes" not in p.stdout.decode(), p.stdout.decode() + p.stderr.decode()
        # Target registrations and DNS records carry no tags of their own.
        return [i for i in ids if not i.startswith(("target_registration.", "dns_record."))]

    def close(self):
        if self.bot:
            self.bot.stop()
        for p in self.procs:
            p.stop()

    @contextlib.contextmanager
    def closed_on_failure(self):
        """`with stack.closed_on_failure(): stack.start_bot() ...` in a
        setUpClass: unittest runs no tearDownClass after a failed
        setUpClass, so whatever fails in the block closes the stack (the
        bot, every fake and whatever else is in procs) before it is raised."""
        try:
            yield self
        except BaseException:
            self.close()
            raise
