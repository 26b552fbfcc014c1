"""HTTP front of the GitHub fake: auth, routing, endpoints, faults, request log.

Endpoints (GitHub REST, API version 2022-11-28):
  POST  /repos/{owner}/{repo}/statuses/{sha}                create a commit status
  GET   /repos/{owner}/{repo}/commits/{ref}/statuses        list statuses, newest first
  GET   /repos/{owner}/{repo}/commits/{ref}/status          combined status
  POST  /repos/{owner}/{repo}/commits/{sha}/comments        create a commit comment
  GET   /repos/{owner}/{repo}/commits/{sha}/comments        list commit comments
  POST  /repos/{owner}/{repo}/issues/{n}/comments           create an issue/PR comment
  GET   /repos/{owner}/{repo}/issues/{n}/comments           list them (oldest first)
  GET|PATCH|DELETE /repos/{owner}/{repo}/issues/comments/{id}
  GET   /repos/{owner}/{repo}                               the repository, with the token's
                                                            "permissions"
  The fake's token is a classic one: every answer to it carries X-OAuth-Scopes
  (its scopes; "scopes": null in the config makes it a fine-grained token,
  without the header). Every repository is private ("private": false makes
  them all public): without the "repo" scope a private one is 404; a status
  needs "repo" or "repo:status" ("public_repo" on a public one) or is 404,
  and the "push" permission ("permission": pull | push | admin) or is 403.
  With a GitHub App registered (fake_github.py --app-id, apps.py), as the app
  (Authorization: Bearer JWT, RS256, checked with the app's public key):
  POST  /app/installations/{id}/access_tokens               an installation token
  GET   /repos/{owner}/{repo}/installation                  the app's installation
  and the endpoints above also take a live installation token (an expired
  one is 401 Bad credentials).

Admin endpoints (not GitHub; no token needed):
  POST   /_fake/faults    {"path_regex": "...", "method": "POST", "status": 500,
                           "count": 2, "after": 0, "retry_after": 1, "delay_ms": 0,
                           "body": {...}, "reset_in": 2}   make the next matching
                          requests fail ("reset_in": a primary rate limit,
                          X-RateLimit-Remaining 0 until that many seconds)
  GET    /_fake/faults    pending rules;  DELETE clears them
  GET    /_fake/requests  every API request received (method, path, query,
                          headers, json, status);  DELETE clears the log
  GET    /_fake/state     statuses and comments as JSON; "installation_tokens":
                          each issued token's SHA-256 and expiry
  POST   /_fake/token_check  {"token": T} -> {"state": "live"|"expired"|null}: for
                          fake_githttp.py --token-check-url (git and the API share
                          GitHub's tokens)
  GET    /_fake/config    {"scopes": ["repo"], "permission": "push", "private": true}
  POST   /_fake/config    change some of them (until reset)
  POST   /_fake/reset     empty state, log and faults; the config of the command line
"""

import json
import re
import sys
import threading
import time
import uuid
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from fakecommon.faults import PATH_FAULT_FIELDS, FaultQueue, path_fault
from fakecommon.httpserver import BaseHandler

from . import errors
from .errors import GitHubError
from .store import GitHubStore, is_full_sha, now_iso, repo_key

STATUS_STATES = ["error", "failure", "pending", "success"]
MAX_DESCRIPTION = 140        # observed, NOTES.md §5
MAX_CONTEXT = 255            # observed, NOTES.md §5
MAX_STATUSES_PER_CONTEXT = 1000   # documented: per sha and context
MAX_COMMENT_BODY = 65536     # observed, NOTES.md §5
RATE_LIMIT = 5000

FAULT_FIELDS = {**PATH_FAULT_FIELDS,
                # primary rate limit: X-RateLimit-Remaining: 0 and a reset this many seconds ahead
                "reset_in": None}

_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"


PERMISSIONS = ["pull", "push", "admin"]


class GitHubFakeApp:
    def __init__(self, token, login, verbose=False, scopes=("repo",), permission="push"):
        self._cli_config = {"scopes": None if scopes is None else list(scopes), "permission": permission,
                            "private": True}
        self.config = dict(self._cli_config)
        self.token = token
        self.login = login
        self.verbose = verbose
        self.store = GitHubStore()
        self.github_app = None        # apps.GitHubApp when one is registered
        self.faults = FaultQueue()
        self.base_url = None          # set once the port is known
        self._log = []
        self._log_lock = threading.Lock()

    def record(self, entry):
        with self._log_lock:
            self._log.append(entry)

    def requests(self):
        with self._log_lock:
            return list(self._log)

    def request_count(self):
        with self._log_lock:
            return len(self._log)

    def clear_requests(self):
        with self._log_lock:
            self._log.clear()

    def add_fault(self, spec):
        rule = path_fault(spec, FAULT_FIELDS)
        self.faults.add(rule)
        return rule.spec

    def set_config(self, changes):
        new = dict(self.config, **changes)
        if set(new) != set(self._cli_config):
            raise ValueError(f"config keys are {sorted(self._cli_config)}")
        if new["scopes"] is not None and not (isinstance(new["scopes"], list)
                                              and all(isinstance(s, str) for s in new["scopes"])):
            raise ValueError("scopes: a list of strings, or null (a fine-grained token)")
        if new["permission"] not in PERMISSIONS:
            raise ValueError(f"permission must be one of {PERMISSIONS}")
        if not isinstance(new["private"], bool):
            raise ValueError("private: true or false")
        self.config = new
        return new

    def has_scope(self, *wanted):
        """The classic token holds one of `wanted` (a fine-grained token: by permission only)."""
        scopes = self.config["scopes"]
        return scopes is None or any(s in scopes for s in wanted)

    def reset(self):
        self.config = dict(self._cli_config)
        self.store.reset()
        self.clear_requests()
        self.faults.clear()


def _fault_response(spec):
    """The error GitHub would send for an injected status, with its headers."""
    status = spec["status"]
    headers = {}
    if spec["retry_after"] is not None:
        headers["Retry-After"] = str(spec["retry_after"])
    if spec.get("reset_in") is not None:
        headers["X-RateLimit-Remaining"] = "0"
        headers["X-RateLimit-Reset"] = str(int(time.time() + float(spec["reset_in"])))
    if spec["body"] is not None:
        return status, spec["body"], headers
    if status in (403, 429) and spec["retry_after"] is not None:
        body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                           "before you try again.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                                     "#about-secondary-rate-limits"}
    elif status in (403, 429):
        headers["X-RateLimit-Remaining"] = "0"
        body = {"message": "API rate limit exceeded.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}
    elif status == 401:
        body = {"message": "Bad credentials", "documentation_url": errors.DOCS}
    elif status == 404:
        body = {"message": "Not Found", "documentation_url": errors.DOCS}
    elif status >= 500:
        body = {"message": "Server Error"}
    else:
        body = {"message": f"Injected fault {status}"}
    return status, body, headers


class GitHubHandler(BaseHandler):
    server_version = "GitHub.com"

    # Routes: (method, compiled regex, handler method name)
    ROUTES = [(m, re.compile(f"^{p}$"), h) for m, p, h in [
        ("GET", _REPO, "get_repo"),
        ("POST", _REPO + r"/statuses/(?P<sha>[^/]+)", "create_status"),
        ("GET", _REPO + r"/commits/(?P<ref>.+)/statuses", "list_statuses"),
        ("GET", _REPO + r"/commits/(?P<ref>.+)/status", "combined_status"),
        ("POST", _REPO + r"/commits/(?P<sha>[^/]+)/comments", "create_commit_comment"),
        ("GET", _REPO + r"/commits/(?P<sha>[^/]+)/comments", "list_commit_comments"),
        ("POST", _REPO + r"/issues/(?P<number>\d+)/comments", "create_issue_comment"),
        ("GET", _REPO + r"/issues/(?P<number>\d+)/comments", "list_issue_comments"),
        ("GET", _REPO + r"/issues/comments/(?P<id>\d+)", "get_issue_comment"),
        ("PATCH", _REPO + r"/issues/comments/(?P<id>\d+)", "update_issue_comment"),
        ("DELETE", _REPO + r"/issues/comments/(?P<id>\d+)", "delete_issue_comment"),
    ]]

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self):
        url = urlsplit(self.path)
        raw = self.read_body()
        if url.path.startswith("/_fake/"):
            return self._admin(url.path, raw)
        app = self.server.app
        text = raw.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text) if text.strip() else None
        except ValueError:
            parsed = None
        entry = {"method": self.command, "path": url.path, "query": url.query,
                 "headers": dict(self.headers.items()), "json": parsed, "body": text,
                 "time": time.time()}
        status, body, headers = self._handle(url, text, entry)
        if self._classic_token() and app.config["scopes"] is not None:
            headers["X-OAuth-Scopes"] = ", ".join(app.config["scopes"])
        entry["status"] = status
        app.record(entry)
        if app.verbose:
            print(f"github-fake: {self.command} {url.path} -> {status}", file=sys.stderr, flush=True)
        headers.update({
            "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Resource": "core",
        })
        headers.setdefault("X-RateLimit-Reset", str(int(time.time()) + 3600))
        used = app.request_count()
        headers.setdefault("X-RateLimit-Remaining", str(max(RATE_LIMIT - used, 0)))
        headers["X-RateLimit-Used"] = str(min(used, RATE_LIMIT))
        self.send_json(status, body, headers)

    APP_ROUTES = [(m, re.compile(f"^{p}$"), h) for m, p, h in [
        ("POST", r"/app/installations/(?P<id>\d+)/access_tokens", "create_installation_token"),
        ("GET", _REPO + r"/installation", "get_repo_installation"),
    ]]

    def _as_app(self, url):
        """The answer of an endpoint only a GitHub App's JWT may call, or None."""
        for method, pattern, name in self.APP_ROUTES:
            m = pattern.match(url.path)
            if m and method == self.command:
                gh_app = self.server.app.github_app
                scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
                if gh_app is None or scheme.lower() != "bearer":
                    raise errors.GitHubError(401, {"message": "A JSON web token could not be decoded",
                                                   "documentation_url": errors.DOCS})
                gh_app.verify_jwt(token.strip())
                with self.server.app.store.lock:
                    return getattr(self, name)(m.groupdict())
        return None

    def create_installation_token(self, args):
        return 201, self.server.app.github_app.issue(args["id"]), {}

    def get_repo_installation(self, args):
        return 200, self.server.app.github_app.installation_of(args["owner"], args["repo"]), {}

    def _handle(self, url, text, entry):
        app = self.server.app
        try:
            answer = self._as_app(url)
            if answer is not None:
                return answer
            self._authenticate()
            fault = app.faults.take({"method": self.command, "path": url.path})
            if fault:
                if fault["delay_ms"]:
                    time.sleep(fault["delay_ms"] / 1000)
                return _fault_response(fault)
            for method, pattern, name in self.ROUTES:
                m = pattern.match(url.path)
                if m and method == self.command:
                    args = {k: unquote(v) for k, v in m.groupdict().items()}
                    payload = self._json_body(text) if self.command in ("POST", "PATCH") else None
                    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                    with app.store.lock:
                        return getattr(self, name)(args, payload, query)
            raise errors.not_found()
        except GitHubError as e:
            return e.status, e.body, dict(e.headers)

    def _classic_token(self):
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        return scheme.lower() in ("token", "bearer") and token.strip() == self.server.app.token

    def _authenticate(self):
        header = self.headers.get("Authorization")
        if not header:
            raise errors.requires_authentication()
        scheme, _, token = header.partition(" ")
        token = token.strip()
        gh_app = self.server.app.github_app
        if scheme.lower() not in ("token", "bearer"):
            raise errors.bad_credentials()
        if token != self.server.app.token and not (gh_app and gh_app.token_state(token) == "live"):
            raise errors.bad_credentials()

    @staticmethod
    def _json_body(text):
        if not text.strip():
            return {}
        try:
            payload = json.loads(text)
        except ValueError:
            raise errors.problems_parsing_json() from None
        if not isinstance(payload, dict):
            raise errors.invalid_request("Body should be a JSON object.")
        return payload

    # ----------------------------------------------------------- helpers
    def _api(self, path):
        return f"{self.server.app.base_url}{path}"

    def _user(self):
        login = self.server.app.login
        return {"login": login, "id": 41898282, "node_id": "MDM6Qm90NDE4OTgyODI=",
                "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4",
                "url": self._api(f"/users/{login}"), "html_url": f"https://github.com/{login}",
                "type": "Bot" if login.endswith("[bot]") else "User", "site_admin": False}

    def _paginate(self, items, query):
        """GitHub's page/per_page pagination with a Link header."""
        def number(name, default, high=None):
            try:
                value = int(query.get(name, default))
            except ValueError:
                value = default
            value = max(value, 1)
            return min(value, high) if high else value
        per_page = number("per_page", 30, 100)
        page = number("page", 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []

        def link(p, rel):
            q = dict(query, per_page=per_page, page=p)
            return f'<{self._api(urlsplit(self.path).path)}?{urlencode(q)}>; rel="{rel}"'
        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        headers = {"Link": ", ".join(links)} if links else {}
        return items[(page - 1) * per_page: page * per_page], headers

    @staticmethod
    def _string_or_null(payload, field):
        value = payload.get(field)
        if value is not None and not isinstance(value, str):
            raise errors.invalid_request(
                f"For 'properties/{field}', {json.dumps(value)} is not a string or null.")
        return value

    def _require_sha(self, sha):
        if not is_full_sha(sha):
            raise errors.no_commit(sha)
        return sha.lower()

    def _resolve(self, args):
        key = repo_key(args["owner"], args["repo"])
        sha = self.server.app.store.resolve_ref(key, args["ref"])
        if sha is None:
            raise GitHubError(404, {"message": f"No commit found for SHA: {args['ref']}",
                                    "documentation_url": errors.DOCS})
        return key, sha

    def _check_comment_body(self, payload, resource):
        if "body" not in payload:
            raise errors.invalid_request('"body" wasn\'t supplied.')
        body = payload["body"]
        if not isinstance(body, str):
            raise errors.invalid_request(f"For 'properties/body', {json.dumps(body)} is not a string.")
        if body == "":
            raise errors.validation_failed(resource, "body", "body can't be blank", code="missing_field")
        if len(body) > MAX_COMMENT_BODY:
            raise errors.validation_failed(
                resource, "body", f"body is too long (maximum is {MAX_COMMENT_BODY} characters)")
        return body

    # ---------------------------------------------------------- statuses
    def get_repo(self, args, payload, query):
        app = self.server.app
        if self._classic_token() and app.config["private"] and not app.has_scope("repo"):
            raise errors.not_found()
        owner, name = args["owner"], args["repo"]
        perm = app.config["permission"] if self._classic_token() else "push"
        return 200, {
            "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": name,
            "full_name": f"{owner}/{name}", "private": app.config["private"],
            "owner": {"login": owner, "type": "Organization"},
            "html_url": f"https://github.com/{owner}/{name}",
            "url": self._api(f"/repos/{owner}/{name}"), "default_branch": "main",
            "permissions": {"admin": perm == "admin", "maintain": perm == "admin",
                            "push": perm in ("push", "admin"), "triage": perm != "pull", "pull": True},
        }, {}

    def create_status(self, args, payload, query):
        store = self.server.app.store
        if self._classic_token():
            public = () if self.server.app.config["private"] else ("public_repo",)
            if not self.server.app.has_scope("repo", "repo:status", *public):
                raise errors.not_found()
            if self.server.app.config["permission"] == "pull":
                raise errors.not_accessible()
        sha = self._require_sha(args["sha"])
        if "state" not in payload:
            raise errors.invalid_request('"state" wasn\'t supplied.')
        state = payload["state"]
        if state not in STATUS_STATES:
            raise errors.invalid_request(
                f"For 'properties/state', {json.dumps(state)} is not one of "
                f"{json.dumps(STATUS_STATES)}.")
        target_url = self._string_or_null(payload, "target_url")
        description = self._string_or_null(payload, "description")
        context = payload.get("context", "default")
        if not isinstance(context, str):
            raise errors.invalid_request(f"For 'properties/context', {json.dumps(context)} is not a string.")
        if description is not None and len(description) > MAX_DESCRIPTION:
            raise errors.validation_failed(
                "Status", "description", f"description is too long (maximum is {MAX_DESCRIPTION} characters)")
        if len(context) > MAX_CONTEXT:
            raise errors.validation_failed(
                "Status", "context", f"context is too long (maximum is {MAX_CONTEXT} characters)")
        key = repo_key(args["owner"], args["repo"])
        history = store.statuses.setdefault(key, {}).setdefault(sha, [])
        if sum(1 for s in history if s["context"].lower() == context.lower()) >= MAX_STATUSES_PER_CONTEXT:
            raise errors.validation_failed(
                "Status", None, "This SHA and context has reached the maximum number of statuses.")
        status_id = store.next_id()
        created = now_iso()
        status = {
            "url": self._api(f"/repos/{args['owner']}/{args['repo']}/statuses/{sha}"),
            "avatar_url": self._user()["avatar_url"],
            "id": status_id,
            "node_id": f"SC_fake{status_id}",
            "state": state,
            "description": description,
            "target_url": target_url,
            "context": context,
            "created_at": created,
            "updated_at": created,
            "creator": self._user(),
        }
        history.append(status)
        return 201, status, {"Location": status["url"]}

    def list_statuses(self, args, payload, query):
        key, sha = self._resolve(args)
        newest_first = list(reversed(self.server.app.store.statuses.get(key, {}).get(sha, [])))
        page, headers = self._paginate(newest_first, query)
        return 200, page, headers

    def combined_status(self, args, payload, query):
        key, sha = self._resolve(args)
        latest = {}
        for status in reversed(self.server.app.store.statuses.get(key, {}).get(sha, [])):
            latest.setdefault(status["context"].lower(), status)   # contexts are case-insensitive
        statuses = [{k: v for k, v in s.items() if k != "creator"} for s in latest.values()]
        states = {s["state"] for s in statuses}
        if states & {"error", "failure"}:
            overall = "failure"
        elif not statuses or "pending" in states:
            overall = "pending"
        else:
            overall = "success"
        owner, repo = args["owner"], args["repo"]
        return 200, {
            "state": overall,
            "statuses": statuses,
            "sha": sha,
            "total_count": len(statuses),
            "repository": {"name": repo, "full_name": f"{owner}/{repo}",
                           "owner": {"login": owner}, "private": False,
                           "url": self._api(f"/repos/{owner}/{repo}"),
                           "html_url": f"https://github.com/{owner}/{repo}"},
            "commit_url": self._api(f"/repos/{owner}/{repo}/commits/{sha}"),
            "url": self._api(f"/repos/{owner}/{repo}/commits/{sha}/status"),
        }, {}

    # --------------------------------------------------- commit comments
    def create_commit_comment(self, args, payload, query):
        store = self.server.app.store
        sha = self._require_sha(args["sha"])
        # GitHub names the resource CommitComment for commit comments; the
        # 65536 limit is the one observed for issue comments (NOTES.md §5).
        body = self._check_comment_body(payload, "CommitComment")
        owner, repo = args["owner"], args["repo"]
        comment_id = store.next_id()
        created = now_iso()
        comment = {
            "html_url": f"https://github.com/{owner}/{repo}/commit/{sha}#commitcomment-{comment_id}",
            "url": self._api(f"/repos/{owner}/{repo}/comments/{comment_id}"),
            "id": comment_id,
            "node_id": f"CC_fake{comment_id}",
            "body": body,
            "path": payload.get("path"),
            "position": payload.get("position"),
            "line": payload.get("line"),
            "commit_id": sha,
            "user": self._user(),
            "author_association": "NONE",
            "created_at": created,
            "updated_at": created,
        }
        store.commit_comments.setdefault(repo_key(owner, repo), {}).setdefault(sha, []).append(comment)
        return 201, comment, {"Location": comment["url"]}

    def list_commit_comments(self, args, payload, query):
        key = repo_key(args["owner"], args["repo"])
        sha = self._require_sha(args["sha"])
        page, headers = self._paginate(self.server.app.store.commit_comments.get(key, {}).get(sha, []), query)
        return 200, page, headers

    # ---------------------------------------------------- issue comments
    def create_issue_comment(self, args, payload, query):
        store = self.server.app.store
        body = self._check_comment_body(payload, "IssueComment")
        owner, repo, number = args["owner"], args["repo"], int(args["number"])
        comment_id = store.next_id()
        created = now_iso()
        comment = {
            "id": comment_id,
            "node_id": f"IC_fake{comment_id}",
            "url": self._api(f"/repos/{owner}/{repo}/issues/comments/{comment_id}"),
            "html_url": f"https://github.com/{owner}/{repo}/issues/{number}#issuecomment-{comment_id}",
            "issue_url": self._api(f"/repos/{owner}/{repo}/issues/{number}"),
            "body": body,
            "user": self._user(),
            "author_association": "NONE",
            "performed_via_github_app": None,
            "created_at": created,
            "updated_at": created,
        }
        store.issue_comments.setdefault(repo_key(owner, repo), {})[comment_id] = comment
        return 201, comment, {"Location": comment["url"]}

    def list_issue_comments(self, args, payload, query):
        key = repo_key(args["owner"], args["repo"])
        suffix = f"/issues/{int(args['number'])}"
        comments = [c for c in self.server.app.store.issue_comments.get(key, {}).values()
                    if c["issue_url"].endswith(suffix)]
        if "since" in query:   # ISO 8601 timestamps compare correctly as strings
            comments = [c for c in comments if c["updated_at"] >= query["since"]]
        page, headers = self._paginate(comments, query)
        return 200, page, headers

    def _issue_comment(self, args):
        comments = self.server.app.store.issue_comments.get(repo_key(args["owner"], args["repo"]), {})
        comment = comments.get(int(args["id"]))
        if comment is None:
            raise errors.not_found()
        return comments, comment

    def get_issue_comment(self, args, payload, query):
        return 200, self._issue_comment(args)[1], {}

    def update_issue_comment(self, args, payload, query):
        _, comment = self._issue_comment(args)
        comment["body"] = self._check_comment_body(payload, "IssueComment")
        comment["updated_at"] = now_iso()
        return 200, comment, {}

    def delete_issue_comment(self, args, payload, query):
        comments, comment = self._issue_comment(args)
        del comments[comment["id"]]
        return 204, None, {}

    # ------------------------------------------------------------- admin
    def _admin(self, path, raw):
        app = self.server.app
        route = (self.command, path)
        try:
            if route == ("POST", "/_fake/faults"):
                return self.send_json(201, app.add_fault(json.loads(raw or b"{}")))
            if route == ("GET", "/_fake/faults"):
                return self.send_json(200, app.faults.pending())
            if route == ("DELETE", "/_fake/faults"):
                app.faults.clear()
                return self.send_json(200, [])
            if route == ("GET", "/_fake/requests"):
                return self.send_json(200, app.requests())
            if route == ("DELETE", "/_fake/requests"):
                app.clear_requests()
                return self.send_json(200, [])
            if route == ("GET", "/_fake/state"):
                state = app.store.dump()
                state["installation_tokens"] = app.github_app.dump() if app.github_app else []
                return self.send_json(200, state)
            if route == ("POST", "/_fake/token_check"):
                token = json.loads(raw or b"{}").get("token") or ""
                state = "live" if token == app.token else None
                if app.github_app and state is None:
                    state = app.github_app.token_state(token)
                return self.send_json(200, {"state": state})
            if route == ("GET", "/_fake/config"):
                return self.send_json(200, app.config)
            if route == ("POST", "/_fake/config"):
                return self.send_json(200, app.set_config(json.loads(raw or b"{}")))
            if route == ("POST", "/_fake/reset"):
                app.reset()
                return self.send_json(200, {})
        except (ValueError, TypeError, re.error) as e:
            return self.send_json(400, {"error": str(e)})
        self.send_json(404, {"error": f"no admin endpoint {self.command} {path}"})
