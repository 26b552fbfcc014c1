"""Start a fake server as a child process from a test, and talk to its admin API.

    from launch import FakeProcess
    with FakeProcess("fake_aws.py", "--region", "eu-west-1") as aws:
        client = boto3.client("ec2", endpoint_url=aws.url, ...)
        aws.admin("POST", "/_fake/faults", {"action": "CreateVpc", "error": "RequestLimitExceeded"})

    with FakeProcess("fake_gitlab.py", "--token", T, "--project", "acme/infra-config=42") as gl:
        api_url = gl.url + "/api/v4"          # the GitLab API lives under /api/v4
        gl.admin("POST", "/_fake/merge_requests", {"project": 42, "iid": 7, "sha": SHA})
    with FakeProcess("fake_gitea.py", "--token", T, "--repo", "acme/infra-config") as gt:
        api_url = gt.url + "/api/v1"          # Gitea and Forgejo: /api/v1
        gt.admin("GET", "/_fake/state")       # statuses and comments, for assertions

    with FakeProcess("fake_githttp.py", "--style", "gitlab", "--token", T,
                     "--repo", "acme/infra-config.git=" + bare_repo, tls=True) as git:
        clone_url = git.url + "/acme/infra-config.git"   # https://127.0.0.1:PORT/...
        env["GIT_SSL_CAINFO"] = git.ca_file              # the fake's throwaway CA (PEM)
        git.admin("GET", "/_fake/requests")              # who sent which credentials

The fake is started with --port 0 and a port file, so tests never collide on
ports; stop() terminates it and waits. tls=True (fake_githttp.py) also passes
--ca-file in the same temporary directory: ca_file is the CA certificate to
trust, url is https://, and admin() trusts that CA.
"""

import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

FAKES_DIR = os.path.dirname(os.path.abspath(__file__))


class FakeProcess:
    def __init__(self, script, *args, python=sys.executable, startup_timeout=15, tls=False):
        self.script = os.path.join(FAKES_DIR, script)
        self.args = list(args)
        self.tls = tls
        self.ca_file = None
        self.python = python
        self.startup_timeout = startup_timeout
        self.proc = None
        self.port = None
        self._tmp = None

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-")
        port_file = os.path.join(self._tmp.name, "port")
        extra = []
        if self.tls:
            self.ca_file = os.path.join(self._tmp.name, "ca.pem")
            extra = ["--ca-file", self.ca_file]
        self.proc = subprocess.Popen(
            [self.python, self.script, "--port", "0", "--port-file", port_file] + extra + self.args,
            stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + self.startup_timeout
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.script} exited with {self.proc.returncode} before listening")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.script} did not start within {self.startup_timeout}s")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._tmp:
            self._tmp.cleanup()
            self._tmp = None

    def admin(self, method, path, body=None):
        """Call a /_fake/ endpoint; returns the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=self.ca_file) if self.tls else None
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return json.loads(resp.read() or b"null")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
