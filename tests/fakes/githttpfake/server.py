"""HTTP(S) front of the git smart-HTTP fake: per-host Basic auth, redirects,
faults, the request log, and `git http-backend` run as a CGI per request.

Git traffic:
  GET  /{repo}/info/refs?service=git-upload-pack     ref advertisement (v0, or v2 capabilities)
  POST /{repo}/git-upload-pack                       fetch negotiation and pack
  GET  /{repo}/info/refs?service=git-receive-pack, POST /{repo}/git-receive-pack   push
  (and whatever else http-backend serves: dumb-protocol files under the repository)
{repo} is a --repo name, with or without its ".git".

Admin endpoints (not the host's; no credentials; over the same TLS port):
  GET    /_fake/requests   every git request: method, path, query, host, auth
                           (present or not), scheme, user (in clear unless it is
                           the token), password_sha256, token_sha256,
                           auth_result (ok, bad, none, anonymous), account,
                           repo, service, git_protocol, content_encoding,
                           status, location, fault, bytes in/out, headers
                           (without Authorization/Cookie), backend stderr
  DELETE /_fake/requests   clear the log
  POST   /_fake/faults     {"path_regex": "git-upload-pack", "method": "POST",
                           "status": 500, "count": 1, "after": 0, "delay_ms": 0,
                           "body": "text", "action": "status"|"close"|"truncate",
                           "truncate_bytes": 100}
  GET    /_fake/faults, DELETE /_fake/faults
  GET    /_fake/state      style, repositories (name, path, refs),
                           tls_errors (failed handshakes, and connections
                           closed after the handshake without a request: a
                           GnuTLS client rejecting the certificate), CA path
  GET    /_fake/config, POST /_fake/config   tokens (shown as SHA-256),
                           deploy_tokens, user, password, require_user,
                           public, redirect_to, redirect_status
  POST   /_fake/repos      {"name": "acme/other.git", "path": "/tmp/x/other.git"}
  POST   /_fake/reset      log, faults, configuration and repositories back to
                           the command line's
"""

import copy
import os
import re
import ssl
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

from fakecommon.faults import FaultRule
from fakecommon.httpserver import LoopbackServer
from fakecommon.restfake import Reply, RestFakeApp, RestHandler

from .styles import STYLES, TEXT, parse_authorization, sha256_hex

GIT = "/usr/bin/git"
FAULT_FIELDS = {"path_regex": ".*", "method": None, "status": 500, "count": 1, "after": 0,
                "delay_ms": 0, "body": None, "action": "status", "truncate_bytes": 0,
                "retry_after": None}
FAULT_ACTIONS = ("status", "close", "truncate")
CONFIG_FIELDS = ("tokens", "deploy_tokens", "user", "password", "require_user", "public",
                 "redirect_to", "redirect_status", "token_check_url")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
HIDDEN_HEADERS = ("authorization", "proxy-authorization", "cookie")
# Gitea's check of the Git-Protocol header before it reaches GIT_PROTOCOL.
SAFE_GIT_PROTOCOL = re.compile(r"^[0-9a-zA-Z]+=[0-9a-zA-Z]+(:[0-9a-zA-Z]+=[0-9a-zA-Z]+)*$")
READ_SERVICES = ("git-upload-pack", "git-upload-archive")
STDERR_LIMIT = 8192
CHUNK = 65536


def normalize_repo_name(name):
    name = name.strip("/")
    if not name or ".." in name.split("/"):
        raise ValueError(f"bad repository name {name!r}")
    return name


def check_config(changes):
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"unknown config fields: {sorted(unknown)}")
    if "tokens" in changes:
        tokens = changes["tokens"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
            raise ValueError("tokens is a list of non-empty strings")
    if "deploy_tokens" in changes:
        pairs = changes["deploy_tokens"]
        if not isinstance(pairs, list):
            raise ValueError("deploy_tokens is a list of \"USER:TOKEN\" strings")
        for pair in pairs:
            parse_deploy_token(pair)
    for field in ("user", "password", "require_user", "redirect_to", "token_check_url"):
        if field in changes and changes[field] is not None and not isinstance(changes[field], str):
            raise ValueError(f"{field} is a string or null")
    if "user" in changes and not changes["user"]:
        raise ValueError("user may not be empty")
    if "public" in changes and not isinstance(changes["public"], bool):
        raise ValueError("public is true or false")
    if "redirect_status" in changes and changes["redirect_status"] not in REDIRECT_STATUSES:
        raise ValueError(f"redirect_status is one of {REDIRECT_STATUSES}")


def parse_deploy_token(text):
    if not isinstance(text, str):
        raise ValueError("a deploy token is \"USER:TOKEN\"")
    user, sep, token = text.partition(":")
    if not sep or not user or not token:
        raise ValueError(f"{text!r}: a deploy token is \"USER:TOKEN\"")
    return user, token


class GitHttpFakeApp(RestFakeApp):
    name = "fake_githttp"

    def __init__(self, style, config, repos, verbose=False):
        super().__init__(verbose=verbose)
        self.style = STYLES[style](lambda: self.base_url)
        check_config(config)
        self._initial_config = copy.deepcopy(config)
        self._initial_repos = dict(repos)
        self.config = copy.deepcopy(config)
        self.repos = dict(repos)           # name (no slashes at the ends) -> path
        self.ca_file = None
        self.tls_errors = []

    # ------------------------------------------------------------ state
    def reset(self):
        super().reset()
        with self.lock:
            self.config = copy.deepcopy(self._initial_config)
            self.repos = dict(self._initial_repos)
            self.tls_errors.clear()

    def snapshot(self):
        """The configuration as a request sees it (deploy tokens split)."""
        with self.lock:
            config = copy.deepcopy(self.config)
            repos = dict(self.repos)
        config["deploy_tokens"] = [parse_deploy_token(p) for p in config["deploy_tokens"]]
        return config, repos

    def known_secrets(self, config):
        secrets = list(config["tokens"]) + [t for _, t in config["deploy_tokens"]]
        if config.get("password"):
            secrets.append(config["password"])
        return secrets

    def get_config(self):
        with self.lock:
            c = self.config
            return {"style": self.style.name,
                    "tokens_sha256": [sha256_hex(t) for t in c["tokens"]],
                    "deploy_token_users": [parse_deploy_token(p)[0] for p in c["deploy_tokens"]],
                    "user": c["user"], "password_set": bool(c["password"]),
                    "require_user": c["require_user"], "public": c["public"],
                    "redirect_to": c["redirect_to"], "redirect_status": c["redirect_status"],
                    "token_check_url": c["token_check_url"]}

    def set_config(self, changes):
        check_config(changes)
        with self.lock:
            self.config.update(copy.deepcopy(changes))

    def add_repo(self, payload):
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str) \
                or not isinstance(payload.get("path"), str):
            raise ValueError('a repository is {"name": "owner/name.git", "path": "/abs/path"}')
        name = normalize_repo_name(payload["name"])
        path = os.path.abspath(payload["path"])
        if not os.path.isdir(path):
            raise ValueError(f"{path} is not a directory")
        with self.lock:
            self.repos[name] = path
        return {"name": name, "path": path}

    def dump(self):
        with self.lock:
            repos = dict(self.repos)
            tls_errors = list(self.tls_errors)
        listed = []
        for name, path in sorted(repos.items()):
            refs = {}
            proc = subprocess.run([GIT, "--git-dir", git_dir(path), "for-each-ref",
                                   "--format=%(refname) %(objectname)"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                  env=backend_base_env())
            for line in proc.stdout.splitlines():
                ref, _, sha = line.partition(" ")
                refs[ref] = sha
            listed.append({"name": name, "path": path, "refs": refs})
        return {"style": self.style.name, "repos": listed, "tls_errors": tls_errors,
                "ca_file": self.ca_file}

    # ------------------------------------------------------------ faults
    def add_fault(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(spec) - set(FAULT_FIELDS)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        spec = dict(FAULT_FIELDS, **spec)
        if spec["action"] not in FAULT_ACTIONS:
            raise ValueError(f"action is one of {FAULT_ACTIONS}")
        if spec["action"] == "truncate" and int(spec["truncate_bytes"]) < 0:
            raise ValueError("truncate_bytes >= 0")
        pattern = re.compile(spec["path_regex"])

        def matches(request):
            return (pattern.search(request["path"]) is not None
                    and spec["method"] in (None, request["method"]))
        self.faults.add(FaultRule(spec, matches))
        return spec

    # -------------------------------------------------------- repositories
    def find_repo(self, path, repos):
        """(name, repo_path, rest) for the longest repository name that prefixes
        the URL path (".git" optional), or (None, None, None)."""
        best = None
        for name, repo_path in repos.items():
            bare = name[:-4] if name.endswith(".git") else name
            for candidate in (name, bare, bare + ".git"):
                prefix = "/" + candidate
                if path == prefix or path.startswith(prefix + "/"):
                    if best is None or len(prefix) > len(best[3]):
                        best = (name, repo_path, path[len(prefix):], prefix)
        if best is None:
            return None, None, None
        return best[0], best[1], best[2]


def git_dir(path):
    dot_git = os.path.join(path, ".git")
    return dot_git if os.path.isdir(dot_git) else path


def backend_base_env():
    """Git without the machine's or the user's configuration."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
            "HOME": "/nonexistent", "LANG": "C"}


# Like GitHub: partial clone filters and fetching a reachable commit by SHA.
BACKEND_CONFIG = [("uploadpack.allowFilter", "true"),
                  ("uploadpack.allowReachableSHA1InWant", "true"),
                  ("uploadpack.allowAnySHA1InWant", "false")]


class GitHttpServer(LoopbackServer):
    """The loopback server, TLS when given a context. The handshake runs in the
    connection's own thread, so a stalled client never blocks accept()."""

    def __init__(self, port, handler_cls, app, ssl_context=None):
        super().__init__(port, handler_cls, app)
        self.ssl_context = ssl_context

    @property
    def scheme(self):
        return "https" if self.ssl_context else "http"

    def finish_request(self, request, client_address):
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        request.settimeout(30)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.app.lock:
                self.app.tls_errors.append({"time": time.time(), "error": str(e)})
            if self.app.verbose:
                print(f"fake_githttp: TLS handshake failed: {e}", file=sys.stderr, flush=True)
            return
        try:
            tls.settimeout(300)
            handler = self.RequestHandlerClass(tls, client_address, self)
            if not getattr(handler, "saw_request", False):
                # A GnuTLS client (Debian's git) checks the certificate after
                # the handshake and just closes: that shows up here.
                with self.app.lock:
                    self.app.tls_errors.append({
                        "time": time.time(),
                        "error": "connection closed after the TLS handshake without a request "
                                 "(a client that rejected the certificate afterwards)"})
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if self.app.verbose:
            super().handle_error(request, client_address)


class GitHttpHandler(RestHandler):
    server_version = "fake-githttp"

    def do_GET(self):
        self._git()

    def do_POST(self):
        self._git()

    def do_HEAD(self):
        self._git()

    def do_PUT(self):
        self._git()

    def do_PATCH(self):
        self._git()

    def do_DELETE(self):
        self._git()

    def do_OPTIONS(self):
        self._git()

    def parse_request(self):
        self.saw_request = True
        return super().parse_request()

    def admin_extra(self, method, path, payload):
        if (method, path) == ("POST", "/_fake/repos"):
            return 201, self.server.app.add_repo(payload)
        return None

    # ------------------------------------------------------------ bodies
    def iter_body(self):
        """The request body in pieces as it arrives (chunked or Content-Length)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size_line = self.rfile.readline().split(b";", 1)[0].strip()
                size = int(size_line or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                remaining = size
                while remaining:
                    data = self.rfile.read(min(CHUNK, remaining))
                    if not data:
                        return
                    remaining -= len(data)
                    yield data
                self.rfile.readline()
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            data = self.rfile.read(min(CHUNK, remaining))
            if not data:
                return
            remaining -= len(data)
            yield data

    def drain_body(self, entry):
        for data in self.iter_body():
            entry["bytes_in"] += len(data)

    # -------------------------------------------------------------- git
    def _git(self):
        url = urlsplit(self.path)
        if url.path.startswith("/_fake/"):
            return self._admin(url.path, self.read_body())
        app = self.server.app
        config, repos = app.snapshot()
        started = time.time()
        creds = parse_authorization(self.headers.get("Authorization"))
        service = parse_qs(url.query).get("service", [None])[0]
        if service is None and url.path.rsplit("/", 1)[-1].startswith("git-"):
            service = url.path.rsplit("/", 1)[-1]
        entry = {
            "time": started, "method": self.command, "path": url.path, "query": url.query,
            "host": self.headers.get("Host"), "user_agent": self.headers.get("User-Agent"),
            "git_protocol": self.headers.get("Git-Protocol"),
            "content_encoding": self.headers.get("Content-Encoding"),
            "service": service, "auth": creds is not None, "scheme": None, "user": None,
            "user_is_token": False, "password_sha256": None, "token_sha256": None,
            "auth_result": None, "account": None, "repo": None, "status": None,
            "location": None, "fault": None, "bytes_in": 0, "bytes_out": 0,
            "headers": {k: v for k, v in self.headers.items() if k.lower() not in HIDDEN_HEADERS},
        }
        if creds is not None:
            entry.update(creds.log_fields(app.known_secrets(config)))
        self.entry_done = False
        try:
            self._serve(app, config, repos, url, creds, service, entry)
        finally:
            self.commit(entry)

    def commit(self, entry):
        """Put the entry in the log, once. Every answer calls this before its
        last bytes go out, so a client that has its answer finds its request
        in the log; the entry does not change afterwards."""
        if self.entry_done:
            return
        self.entry_done = True
        app = self.server.app
        entry["duration_ms"] = round((time.time() - entry["time"]) * 1000, 1)
        app.record(entry)
        if app.verbose:
            print(f"fake_githttp: {self.command} {self.path} auth={entry['auth']} "
                  f"user={entry['user']} -> {entry['status']}", file=sys.stderr, flush=True)

    def _serve(self, app, config, repos, url, creds, service, entry):
        fault = app.faults.take({"method": self.command, "path": url.path})
        if fault:
            entry["fault"] = fault["action"]
            if fault["delay_ms"]:
                time.sleep(fault["delay_ms"] / 1000)
            if fault["action"] == "close":
                self.drain_body(entry)
                self.close_connection = True
                entry["status"] = 0
                self.commit(entry)
                return
            if fault["action"] == "status":
                self.drain_body(entry)
                return self.reply(entry, self.fault_reply(fault))

        if config["redirect_to"]:
            self.drain_body(entry)
            location = config["redirect_to"].rstrip("/") + url.path + (f"?{url.query}" if url.query else "")
            entry["location"] = location
            return self.reply(entry, Reply(config["redirect_status"], "", {"Location": location}, TEXT))

        name, repo_path, rest = app.find_repo(url.path, repos)
        entry["repo"] = name
        style = app.style
        result, account = ("none", None)
        if creds is not None:
            result, account = style.authenticate(creds, config)
        read = service in READ_SERVICES or (service is None and self.command in ("GET", "HEAD"))
        if result == "bad":
            entry["auth_result"] = "bad"
            self.drain_body(entry)
            return self.reply(entry, style.bad_credentials())
        if result == "none":
            if name is not None and config["public"] and read:
                entry["auth_result"] = "anonymous"
            else:
                entry["auth_result"] = "none"
                self.drain_body(entry)
                return self.reply(entry, style.unauthenticated())
        else:
            entry["auth_result"] = "ok"
            entry["account"] = account
            if name is None:
                self.drain_body(entry)
                return self.reply(entry, style.not_found())
        truncate = int(fault["truncate_bytes"]) if fault and fault["action"] == "truncate" else None
        self.run_backend(repo_path, rest, url, account, entry, truncate)

    def fault_reply(self, spec):
        status = int(spec["status"])
        style = self.server.app.style
        headers = {}
        if spec.get("retry_after") is not None:
            headers["Retry-After"] = str(spec["retry_after"])
        if spec["body"] is not None:
            body = spec["body"] if isinstance(spec["body"], str) else str(spec["body"])
            return Reply(status, body, headers, TEXT)
        if status == 401:
            reply = style.bad_credentials()
        elif status == 404:
            reply = style.not_found()
        else:
            reply = Reply(status, f"{status} fault injected by the fake\n", {}, TEXT)
        reply.headers.update(headers)
        return reply

    def reply(self, entry, reply):
        entry["status"] = reply.status
        body = reply.body if isinstance(reply.body, bytes) else (reply.body or "").encode()
        entry["bytes_out"] = len(body)
        self.commit(entry)
        self.send_bytes(reply.status, body, reply.content_type or TEXT, reply.headers)

    # --------------------------------------------------------- the CGI
    def cgi_env(self, repo_path, rest, url, account):
        repo_path = repo_path.rstrip("/")
        env = backend_base_env()
        env.update({
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": self.request_version,
            "SERVER_SOFTWARE": self.server_version,
            "REQUEST_METHOD": self.command,
            "QUERY_STRING": url.query,
            "GIT_PROJECT_ROOT": os.path.dirname(repo_path) or "/",
            "PATH_INFO": "/" + os.path.basename(repo_path) + rest,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_ADDR": self.client_address[0],
        })
        if account:
            env["REMOTE_USER"] = account
            env["AUTH_TYPE"] = "Basic"
        if self.headers.get("Content-Type"):
            env["CONTENT_TYPE"] = self.headers["Content-Type"]
        if (self.headers.get("Content-Length")
                and self.headers.get("Transfer-Encoding", "").lower() != "chunked"):
            env["CONTENT_LENGTH"] = self.headers["Content-Length"]
        for key, value in self.headers.items():
            if key.lower() in HIDDEN_HEADERS or key.lower() in ("content-type", "content-length"):
                continue
            env["HTTP_" + key.upper().replace("-", "_")] = value
        protocol = self.headers.get("Git-Protocol")
        if protocol and SAFE_GIT_PROTOCOL.match(protocol):
            env["GIT_PROTOCOL"] = protocol
        else:
            env.pop("HTTP_GIT_PROTOCOL", None)
        env["GIT_CONFIG_COUNT"] = str(len(BACKEND_CONFIG))
        for i, (key, value) in enumerate(BACKEND_CONFIG):
            env[f"GIT_CONFIG_KEY_{i}"] = key
            env[f"GIT_CONFIG_VALUE_{i}"] = value
        return env

    def run_backend(self, repo_path, rest, url, account, entry, truncate):
        proc = subprocess.Popen([GIT, "http-backend"], env=self.cgi_env(repo_path, rest, url, account),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stderr = []

        def feed():
            try:
                for data in self.iter_body():
                    entry["bytes_in"] += len(data)
                    proc.stdin.write(data)
            except (BrokenPipeError, OSError, ValueError):
                # The backend stopped reading: keep draining what the client sends.
                try:
                    for data in self.iter_body():
                        entry["bytes_in"] += len(data)
                except (OSError, ValueError):
                    pass
            finally:
                try:
                    proc.stdin.close()
                except OSError:
                    pass

        def collect():
            size = 0
            for line in proc.stderr:
                if size < STDERR_LIMIT:
                    stderr.append(line)
                    size += len(line)

        feeder = threading.Thread(target=feed, daemon=True)
        collector = threading.Thread(target=collect, daemon=True)

        def finish():
            """The backend is done (or killed): complete the entry and log it."""
            feeder.join(timeout=60)
            proc.wait()
            collector.join(timeout=5)
            text = b"".join(stderr).decode("utf-8", "replace").strip()
            if text:
                entry["backend_stderr"] = text
            self.commit(entry)

        feeder.start()
        collector.start()
        try:
            self.relay_cgi_output(proc, entry, truncate, finish)
        finally:
            proc.stdout.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()

    def relay_cgi_output(self, proc, entry, truncate, finish):
        out = proc.stdout
        status, reason = 200, None
        headers = []
        while True:
            line = out.readline()
            if not line:
                break
            line = line.rstrip(b"\r\n")
            if not line:
                break
            key, _, value = line.decode("latin-1").partition(":")
            key, value = key.strip(), value.strip()
            if key.lower() == "status":
                code, _, reason = value.partition(" ")
                status = int(code)
            else:
                headers.append((key, value))
        entry["status"] = status
        self.send_response(status, reason or None)
        for key, value in headers:
            self.send_header(key, value)
        if self.command == "HEAD":
            proc.kill()
            finish()
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        while True:
            data = out.read1(CHUNK)
            if not data:
                break
            if truncate is not None and sent + len(data) >= truncate:
                data = data[:max(truncate - sent, 0)]
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                sent += len(data)
                entry["bytes_out"] = sent
                # Cut the answer short: no last chunk, the connection closes.
                proc.kill()
                finish()
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            sent += len(data)
        entry["bytes_out"] = sent
        finish()
        self.wfile.write(b"0\r\n\r\n")
