"""HTTP front of the Gitea / Forgejo fake: auth, scopes, routing, endpoints, admin.

API v1 under /api/v1 (from go-gitea/gitea routers/api/v1/{api.go,repo/status.go,
repo/issue_comment.go}, services/context/api.go, services/repository/commitstatus):

  GET    /version                                              no token needed
  GET    /user                                                 the token's user
  GET    /repos/{owner}/{repo}                                 full_name, default_branch ...
  POST   /repos/{owner}/{repo}/statuses/{sha}                  201 CommitStatus ("status" key)
  GET    /repos/{owner}/{repo}/statuses/{sha}                  newest first; sort, state, page, limit
  GET    /repos/{owner}/{repo}/commits/{ref}/statuses          the same, by branch/tag/SHA
  GET    /repos/{owner}/{repo}/commits/{ref}/status            combined: latest per context
  GET    /repos/{owner}/{repo}/commits/{sha}/pull              the pull request that merged sha, or 404
  GET    /repos/{owner}/{repo}/issues/{index}/comments         oldest first; since, before
  POST   /repos/{owner}/{repo}/issues/{index}/comments
  GET|PATCH|DELETE /repos/{owner}/{repo}/issues/comments/{id}
  PATCH|DELETE /repos/{owner}/{repo}/issues/{index}/comments/{id}   (deprecated form)

There is no commit-comment API in Gitea or Forgejo: such paths are 404.
Forgejo also answers GET /api/forgejo/v1/version.
"""

import json
import re
from datetime import datetime
from urllib.parse import unquote, urlencode

from fakecommon.restfake import ApiError, Reply, RestFakeApp, RestHandler, paginate_numbers

from .errors import GiteaErrors
from .store import GiteaStore, now_iso

PREFIX = "/api/v1"
BASE_STATES = ["pending", "success", "error", "failure", "warning"]
# Lower is worse (models/git commit status priorities); the combined state is the worst.
PRIORITY = {"error": 0, "failure": 1, "warning": 2, "pending": 3, "success": 4, "skipped": 5}
SCOPE_CATEGORIES = ["activitypub", "admin", "issue", "misc", "notification", "organization",
                    "package", "repository", "user"]
PERMISSIONS = ["read", "write", "admin"]
FLAVORS = {"gitea": "1.23.0", "forgejo": "11.0.0"}

CONFIG_DEFAULTS = {"scopes": ["write:repository", "write:issue", "read:user"],
                   "permission": "write", "known_commits_only": False}


def parse_version(text):
    parts = re.findall(r"\d+", text.split("+")[0])
    if not parts:
        raise ValueError(f"{text!r} is not a version")
    return tuple(int(p) for p in (parts + ["0", "0"])[:3])


def valid_scope(scope):
    if scope == "all":
        return True
    level, _, category = scope.partition(":")
    return level in ("read", "write") and category in SCOPE_CATEGORIES


class GiteaFakeApp(RestFakeApp):
    name = "fake_gitea"

    def __init__(self, token, login="deploybot", user_id=3, flavor="gitea", version=None,
                 scopes=None, permission="write", known_commits_only=False, verbose=False):
        super().__init__(verbose)
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {sorted(FLAVORS)}")
        self.token = token
        self.flavor = flavor
        self.version = version or FLAVORS[flavor]
        v = parse_version(self.version)
        if flavor == "gitea":
            self.allows_skipped = v >= (1, 24, 0)
            self.new_not_found = v >= (1, 24, 0)
        else:
            self.allows_skipped = v >= (14, 0, 0)
            self.new_not_found = False
        self.states = BASE_STATES + (["skipped"] if self.allows_skipped else [])
        self.user = {"id": int(user_id), "login": login}
        self.store = GiteaStore()
        self.errors = GiteaErrors(self)
        self._cli_config = dict(CONFIG_DEFAULTS, permission=permission,
                                known_commits_only=bool(known_commits_only))
        if scopes is not None:
            self._cli_config["scopes"] = list(scopes)
        self.config = {}
        self.set_config(self._cli_config)

    def get_config(self):
        return dict(self.config, scopes=list(self.config["scopes"]), flavor=self.flavor,
                    version=self.version, states=list(self.states))

    def set_config(self, changes):
        unknown = set(changes) - set(CONFIG_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown configuration fields: {sorted(unknown)} "
                             f"(flavor and version are fixed at start)")
        new = dict(self.config or CONFIG_DEFAULTS)
        new.update(changes)
        if not isinstance(new["scopes"], list) or not all(valid_scope(s) for s in new["scopes"]):
            raise ValueError(f"scopes: a list of all or read:/write: + {SCOPE_CATEGORIES}")
        if new["permission"] not in PERMISSIONS:
            raise ValueError(f"permission must be one of {PERMISSIONS}")
        if not isinstance(new["known_commits_only"], bool):
            raise ValueError("known_commits_only must be true or false")
        self.config = new

    def reset(self):
        super().reset()
        self.store.reset()
        self.config = {}
        self.set_config(self._cli_config)

    def dump(self):
        return self.store.dump()

    def has_scope(self, level, category):
        for scope in self.config["scopes"]:
            if scope == "all":
                return True
            have_level, _, have_category = scope.partition(":")
            if have_category == category and (have_level == level or have_level == "write"):
                return True
        return False


def _route(method, pattern, handler, scope=None, repo=True, token=False, writer=False):
    """scope: the token scope category (read: for GET, write: otherwise);
    repo: repoAssignment (404 for a repository the caller cannot see);
    token: reqToken (401 when anonymous); writer: reqRepoWriter(code)."""
    return {"method": method, "re": re.compile("^" + PREFIX + pattern + "$"), "handler": handler,
            "scope": scope, "repo": repo, "token": token, "writer": writer}


_R = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"


class GiteaHandler(RestHandler):
    server_version = "Gitea"        # what a reverse proxy would pass through
    json_content_type = "application/json;charset=utf-8"

    ROUTES = [
        _route("GET", r"/user", "get_user", scope="user", repo=False, token=True),
        _route("GET", _R, "get_repo", scope="repository"),
        _route("POST", _R + r"/statuses/(?P<sha>[^/]+)", "create_status", scope="repository",
               token=True, writer=True),
        _route("GET", _R + r"/statuses/(?P<sha>[^/]+)", "list_statuses", scope="repository"),
        _route("GET", _R + r"/commits/(?P<ref>[^/]+)/statuses", "list_statuses_by_ref",
               scope="repository"),
        _route("GET", _R + r"/commits/(?P<ref>[^/]+)/status", "combined_status",
               scope="repository"),
        _route("GET", _R + r"/commits/(?P<sha>[^/]+)/pull", "commit_pull", scope="repository"),
        _route("GET", _R + r"/issues/(?P<index>[^/]+)/comments", "list_comments", scope="issue"),
        _route("POST", _R + r"/issues/(?P<index>[^/]+)/comments", "create_comment",
               scope="issue", token=True),
        _route("GET", _R + r"/issues/comments/(?P<id>[^/]+)", "get_comment", scope="issue"),
        _route("PATCH", _R + r"/issues/comments/(?P<id>[^/]+)", "edit_comment", scope="issue",
               token=True),
        _route("DELETE", _R + r"/issues/comments/(?P<id>[^/]+)", "delete_comment", scope="issue",
               token=True),
        _route("PATCH", _R + r"/issues/(?P<index>[^/]+)/comments/(?P<id>[^/]+)", "edit_comment",
               scope="issue", token=True),
        _route("DELETE", _R + r"/issues/(?P<index>[^/]+)/comments/(?P<id>[^/]+)",
               "delete_comment", scope="issue", token=True),
    ]

    # ------------------------------------------------------------ faults
    def fault_reply(self, spec):
        headers = {}
        if spec["retry_after"] is not None:
            headers["Retry-After"] = str(spec["retry_after"])
        if spec["body"] is not None:
            return Reply(spec["status"], spec["body"], headers)
        status = spec["status"]
        app = self.server.app
        if status == 404:
            return Reply(404, app.errors.not_found().reply.body, headers)
        if status == 401:
            return Reply(401, app.errors.token_required().reply.body, headers)
        if status == 500:
            return Reply(500, app.errors.internal().reply.body, headers)
        if status in (502, 503, 504):
            # What a reverse proxy in front of Gitea answers.
            return Reply(status, f"{status} error from the reverse proxy\n", headers)
        return Reply(status, {"message": f"injected fault {status}",
                              "url": app.errors.swagger}, headers)

    # -------------------------------------------------------------- core
    def handle_api(self, request):
        app = self.server.app
        with app.lock:
            path = request.path
            if request.method == "GET" and path == PREFIX + "/version":
                version = app.version if app.flavor == "gitea" else f"{app.version}+gitea-1.22.0"
                return Reply(200, {"version": version})
            if app.flavor == "forgejo" and request.method == "GET" and path == "/api/forgejo/v1/version":
                return Reply(200, {"version": f"{app.version}+gitea-1.22.0"})
            signed = self._signed_in(request)
            same_path = None
            for route in self.ROUTES:
                m = route["re"].match(path)
                if not m:
                    continue
                if route["method"] != request.method:
                    same_path = route
                    continue
                return self._run(route, m, request, signed)
            if same_path is not None:
                return Reply(405, None)
            raise app.errors.not_found()

    def _signed_in(self, request):
        """Authorization: token T / Bearer T. A wrong token is no sign-in
        (the request goes on anonymously), as Gitea and Forgejo do."""
        scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
        return scheme.lower() in ("token", "bearer") and value.strip() == self.server.app.token

    def _run(self, route, m, request, signed):
        app = self.server.app
        errors = app.errors
        args = {k: unquote(v) for k, v in m.groupdict().items()}
        if signed and route["scope"]:
            level = "read" if request.method in ("GET", "HEAD") else "write"
            if not app.has_scope(level, route["scope"]):
                raise errors.missing_scope(f"{level}:{route['scope']}")
        repo = None
        if route["repo"]:
            repo = app.store.find_repo(args["owner"], args["repo"])
            if repo is None or (repo.private and not signed):
                raise errors.not_found()
        if route["token"] and not signed:
            raise errors.token_required()
        if route["writer"] and app.config["permission"] == "read":
            raise errors.not_writer()
        self.signed = signed
        return getattr(self, route["handler"])(request, args, repo)

    # ----------------------------------------------------------- helpers
    def _form(self, request, fields):
        """binding.Bind: JSON with a JSON content type, form fields with a
        form content type; a write without a Content-Type is refused."""
        errors = self.server.app.errors
        ctype = request.headers.get("Content-Type") or ""
        if "form-urlencoded" in ctype or "multipart/form-data" in ctype:
            params, _ = request.body_params()
        elif "json" in ctype:
            params = {}
            if request.text.strip():
                try:
                    params = json.loads(request.text)
                except json.JSONDecodeError as e:
                    text = request.text
                    truncated = e.pos >= len(text.rstrip()) or e.msg.startswith("Unterminated")
                    detail = ("unexpected EOF" if truncated   # Go's encoding/json wording
                              else f"invalid character {text[e.pos]!r} looking for beginning of value")
                    raise ApiError(422, {"message": f"[]: {detail}",
                                         "url": errors.swagger}) from None
                if not isinstance(params, dict):
                    raise ApiError(422, {"message": "[]: json: cannot unmarshal "
                                                    f"{type(params).__name__} into Go value",
                                         "url": errors.swagger})
        else:
            detail = "Empty Content-Type" if not ctype else "Unsupported Content-Type"
            raise ApiError(422, {"message": f"[]: {detail}", "url": errors.swagger})
        out = {}
        for name in fields:
            value = params.get(name)
            if value is not None and not isinstance(value, str):
                raise ApiError(422, {"message": f"[]: json: cannot unmarshal "
                                                f"{type(value).__name__} into Go struct field "
                                                f".{name} of type string",
                                     "url": errors.swagger})
            out[name] = value
        return out

    def _api_url(self, repo):
        return f"{self.server.app.base_url}{PREFIX}/repos/{repo.full_name}"

    def _html_url(self, repo):
        return f"{self.server.app.base_url}/{repo.full_name}"

    def _user(self, user=None):
        user = user or self.server.app.user
        base = self.server.app.base_url
        return {"id": user["id"], "login": user["login"], "login_name": "", "source_id": 0,
                "full_name": "", "email": f"{user['login']}@noreply.gitea.example",
                "avatar_url": f"{base}/avatars/{user['id']}", "html_url": f"{base}/{user['login']}",
                "language": "", "is_admin": False, "last_login": "0001-01-01T00:00:00Z",
                "created": "2024-01-15T10:00:00Z", "restricted": False, "active": True,
                "prohibit_login": False, "location": "", "website": "", "description": "",
                "visibility": "public", "followers_count": 0, "following_count": 0,
                "starred_repos_count": 0, "username": user["login"]}

    def _repo_json(self, repo):
        app = self.server.app
        perm = app.config["permission"] if self.signed else "read"
        owner = {"id": 100 + repo.id, "login": repo.owner}
        html = self._html_url(repo)
        return {
            "id": repo.id, "owner": self._user(owner), "name": repo.name,
            "full_name": repo.full_name, "description": repo.description, "empty": False,
            "private": repo.private, "fork": False, "template": False, "parent": None,
            "mirror": False, "size": 64, "language": "", "languages_url": self._api_url(repo) + "/languages",
            "html_url": html, "url": self._api_url(repo), "link": "",
            "ssh_url": f"git@127.0.0.1:{repo.full_name}.git",
            "clone_url": repo.clone_url or f"{html}.git", "original_url": "", "website": "",
            "stars_count": 0, "forks_count": 0, "watchers_count": 1, "open_issues_count": 0,
            "open_pr_counter": 0, "release_counter": 0, "default_branch": repo.default_branch,
            "archived": repo.archived, "created_at": repo.created_at, "updated_at": repo.created_at,
            "archived_at": "1970-01-01T00:00:00Z",
            "permissions": {"admin": perm == "admin", "push": perm in ("write", "admin"),
                            "pull": True},
            "has_issues": True, "internal_tracker": {"enable_time_tracker": True,
                                                     "allow_only_contributors_to_track_time": True,
                                                     "enable_issue_dependencies": True},
            "has_wiki": True, "has_pull_requests": True, "has_projects": True,
            "has_releases": True, "has_packages": True, "has_actions": True,
            "ignore_whitespace_conflicts": False, "allow_merge_commits": True,
            "allow_rebase": True, "allow_rebase_explicit": True, "allow_squash_merge": True,
            "allow_fast_forward_only_merge": True, "allow_rebase_update": True,
            "default_delete_branch_after_merge": False, "default_merge_style": "merge",
            "default_allow_maintainer_edit": False, "avatar_url": "", "internal": False,
            "mirror_interval": "", "object_format_name": "sha1",
            "mirror_updated": "0001-01-01T00:00:00Z", "repo_transfer": None, "topics": [],
            "licenses": [],
        }

    def _commit(self, repo, ref):
        app = self.server.app
        return app.store.resolve(repo, ref, not app.config["known_commits_only"])

    # -------------------------------------------------------------- user
    def get_user(self, request, args, repo):
        return Reply(200, self._user())

    def get_repo(self, request, args, repo):
        return Reply(200, self._repo_json(repo))

    # ---------------------------------------------------- commit statuses
    def _status_json(self, repo, status):
        return {"id": status["id"], "status": status["status"],
                "target_url": status["target_url"], "description": status["description"],
                "url": f"{self._api_url(repo)}/statuses/{status['sha']}",
                "context": status["context"], "creator": self._user(status["creator"]),
                "created_at": status["created_at"], "updated_at": status["updated_at"]}

    def create_status(self, request, args, repo):
        app = self.server.app
        errors = app.errors
        form = self._form(request, ("state", "target_url", "description", "context"))
        sha = self._commit(repo, args["sha"])
        if sha is None:
            raise errors.internal()      # GetCommit fails: CreateCommitStatus -> 500
        state = (form["state"] or "").strip()
        if state not in app.states:
            # Gitea stores whatever state it is given; the fake refuses it so
            # a wrong state is caught here rather than shown oddly by Gitea.
            raise ApiError(422, {"message": f"[State]: {state!r} is not a commit status state of "
                                            f"{app.flavor} {app.version} ({', '.join(app.states)}) "
                                            f"(the fake's own check)",
                                 "url": errors.swagger})
        stamp = now_iso()
        status = {"id": app.store.next_status_id(), "repo_id": repo.id, "sha": sha,
                  "status": state,
                  # NewCommitStatus trims every text value
                  "target_url": (form["target_url"] or "").strip(),
                  "description": (form["description"] or "").strip(),
                  "context": (form["context"] or "").strip(),
                  "creator": dict(app.user), "created_at": stamp, "updated_at": stamp}
        app.store.statuses.append(status)
        return Reply(201, self._status_json(repo, status))

    def _resolve_ref(self, repo, ref):
        """utils.ResolveRefOrSha + MustConvertToSHA1: a branch or a known
        (short) SHA becomes the full SHA; anything else is used as given."""
        return self._commit(repo, ref) or ref

    def _list(self, request, repo, sha):
        app = self.server.app
        rows = [s for s in app.store.statuses if s["repo_id"] == repo.id and s["sha"] == sha]
        state = request.query.get("state", "").strip()
        if state:
            rows = [s for s in rows if s["status"] == state]
        sort = request.query.get("sort", "").strip()
        if sort in ("oldest", "leastupdate", "highestindex"):
            rows.sort(key=lambda s: s["id"])
        else:                               # default, recentupdate, leastindex: newest first
            rows.sort(key=lambda s: s["id"], reverse=True)
        page, limit = paginate_numbers(request.query, 30, 50, per_page_name="limit")
        total = len(rows)
        headers = {"X-Total-Count": str(total),
                   "Access-Control-Expose-Headers": "X-Total-Count, Link"}
        links = self._links(request, total, page, limit)
        if links:
            headers["Link"] = links
        return Reply(200, [self._status_json(repo, s)
                           for s in rows[(page - 1) * limit: page * limit]], headers)

    def _links(self, request, total, page, limit):
        pages = max((total + limit - 1) // limit, 1)
        base = self.server.app.base_url + request.path

        def link(p, rel):
            q = dict(request.query, page=p)
            return f'<{base}?{urlencode(q)}>; rel="{rel}"'
        links = []
        if page < pages:
            links.append(link(page + 1, "next"))
            links.append(link(pages, "last"))
        if page > 1:
            links.append(link(1, "first"))
            links.append(link(page - 1, "prev"))
        return ",".join(links)

    def list_statuses(self, request, args, repo):
        return self._list(request, repo, self._resolve_ref(repo, args["sha"]))

    def list_statuses_by_ref(self, request, args, repo):
        return self._list(request, repo, self._resolve_ref(repo, args["ref"]))

    def combined_status(self, request, args, repo):
        app = self.server.app
        sha = self._resolve_ref(repo, args["ref"])
        latest = {}
        for s in app.store.statuses:
            if s["repo_id"] == repo.id and s["sha"] == sha:
                latest[s["context"]] = s          # contexts compare exactly (context_hash)
        if not latest:
            return Reply(200, {"state": "", "sha": "", "total_count": 0, "statuses": None,
                               "repository": None, "commit_url": "", "url": ""})
        statuses = sorted(latest.values(), key=lambda s: s["id"])
        state = min((s["status"] for s in statuses), key=lambda st: PRIORITY.get(st, -1))
        return Reply(200, {"state": state, "sha": sha, "total_count": len(statuses),
                           "statuses": [self._status_json(repo, s) for s in statuses],
                           "repository": self._repo_json(repo), "commit_url": "", "url": ""},
                     {"X-Total-Count": str(len(statuses))})

    # ------------------------------------------------------ pull requests
    def commit_pull(self, request, args, repo):
        """repo.GetCommitPullRequest (Gitea 1.20+, Forgejo): 404 with the
        error's text when no pull request was merged as this commit."""
        app = self.server.app
        issue = app.store.merged_pull(repo, args["sha"])
        if issue is None:
            raise app.errors.error(404, f"pull request does not exist [issue_id: 0, index: 0, "
                                        f"head_repo_id: 0, base_repo_id: {repo.id}, "
                                        f"head_branch: , base_branch: ]")
        html = f"{self._html_url(repo)}/pulls/{issue['index']}"
        return Reply(200, {"id": issue["id"], "number": issue["index"], "title": issue["title"],
                           "state": issue["state"], "merged": True, "html_url": html,
                           "merge_commit_sha": issue["merge_commit_sha"],
                           "url": html, "user": self._user(), "body": ""})

    # ---------------------------------------------------------- comments
    def _issue(self, repo, index_text):
        app = self.server.app
        index = int(index_text) if index_text.isdigit() else 0
        issue = app.store.find_issue(repo, index, index > 0 and not app.config["known_commits_only"])
        if issue is None:
            raise app.errors.internal()   # GetIssueByIndex fails -> APIErrorInternal
        return issue

    def _comment_json(self, repo, comment):
        app = self.server.app
        issue = app.store.issues[(comment["repo_id"], comment["index"])]
        kind = "pulls" if issue["is_pull"] else "issues"
        issue_html = f"{self._html_url(repo)}/{kind}/{issue['index']}"
        return {"id": comment["id"], "html_url": f"{issue_html}#issuecomment-{comment['id']}",
                "pull_request_url": issue_html if issue["is_pull"] else "",
                "issue_url": "" if issue["is_pull"] else issue_html,
                "user": self._user(comment["user"]), "original_author": "",
                "original_author_id": 0, "body": comment["body"], "assets": [],
                "created_at": comment["created_at"], "updated_at": comment["updated_at"]}

    def _time_arg(self, request, name):
        value = request.query.get(name, "").strip()
        if not value:
            return None
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(422, {"message": f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": '
                                            f"cannot parse", "url": self.server.app.errors.swagger}) from None

    def list_comments(self, request, args, repo):
        app = self.server.app
        since = self._time_arg(request, "since")
        before = self._time_arg(request, "before")
        issue = self._issue(repo, args["index"])
        rows = [c for c in app.store.comments.values()
                if c["repo_id"] == repo.id and c["index"] == issue["index"]]
        if since or before:
            def stamp(c):
                return datetime.fromisoformat(c["updated_at"].replace("Z", "+00:00"))
            rows = [c for c in rows if (not since or stamp(c) >= since)
                    and (not before or stamp(c) <= before)]
        rows.sort(key=lambda c: c["id"])
        return Reply(200, [self._comment_json(repo, c) for c in rows],
                     {"X-Total-Count": str(len(rows))})

    def create_comment(self, request, args, repo):
        app = self.server.app
        form = self._form(request, ("body",))
        if not form["body"]:
            raise app.errors.validation("Body", "Required")
        issue = self._issue(repo, args["index"])
        if issue["is_locked"] and app.config["permission"] == "read":
            raise app.errors.error(403, "You cannot comment on a locked issue.")
        stamp = now_iso()
        comment = {"id": app.store.next_comment_id(), "repo_id": repo.id, "index": issue["index"],
                   "body": form["body"], "user": dict(app.user), "created_at": stamp,
                   "updated_at": stamp}
        app.store.comments[comment["id"]] = comment
        return Reply(201, self._comment_json(repo, comment))

    def _comment(self, repo, args):
        app = self.server.app
        comment = app.store.comments.get(int(args["id"])) if args["id"].isdigit() else None
        if comment is None:
            cid = int(args["id"]) if args["id"].isdigit() else 0
            raise app.errors.not_found([f"comment does not exist [id: {cid}]"])
        if comment["repo_id"] != repo.id:
            raise app.errors.bare(404)
        return comment

    def get_comment(self, request, args, repo):
        return Reply(200, self._comment_json(repo, self._comment(repo, args)))

    def _may_change(self, comment):
        app = self.server.app
        if comment["user"]["id"] != app.user["id"] and app.config["permission"] == "read":
            raise app.errors.bare(403)

    def edit_comment(self, request, args, repo):
        app = self.server.app
        form = self._form(request, ("body",))
        if not form["body"]:
            raise app.errors.validation("Body", "Required")
        comment = self._comment(repo, args)
        self._may_change(comment)
        if form["body"] != comment["body"]:
            comment["body"] = form["body"]
            comment["updated_at"] = now_iso()
        return Reply(200, self._comment_json(repo, comment))

    def delete_comment(self, request, args, repo):
        app = self.server.app
        comment = self._comment(repo, args)
        self._may_change(comment)
        del app.store.comments[comment["id"]]
        return Reply(204, None)

    # ------------------------------------------------------------- admin
    def admin_extra(self, method, path, payload):
        app = self.server.app
        store = app.store
        route = (method, path)
        if route == ("POST", "/_fake/repos"):
            return 201, store.add_repo(payload or {}).describe()
        if route == ("POST", "/_fake/branches"):
            repo = store.repo_by_ref(payload["repo"])
            store.set_branch(repo, payload["branch"], payload["sha"])
            return 201, repo.describe()
        if route == ("POST", "/_fake/commits"):
            repo = store.repo_by_ref(payload["repo"])
            entry = store.register_commit(repo, payload["sha"], payload.get("refs"))
            return 201, {"repo_id": repo.id, "sha": payload["sha"].lower(), "refs": entry["refs"]}
        if route == ("POST", "/_fake/issues"):
            spec = dict(payload or {})
            repo = store.repo_by_ref(spec.pop("repo"))
            return 201, store.add_issue(repo, spec)
        if route == ("POST", "/_fake/comments"):
            # A comment by someone else (a reviewer).
            spec = dict(payload or {})
            repo = store.repo_by_ref(spec.pop("repo"))
            issue = store.find_issue(repo, int(spec.pop("index")), True)
            login = spec.pop("user", "reviewer")
            body = spec.pop("body")
            if spec:
                raise ValueError(f"unknown comment fields: {sorted(spec)}")
            stamp = now_iso()
            comment = {"id": store.next_comment_id(), "repo_id": repo.id, "index": issue["index"],
                       "body": body, "user": {"id": 5000 + len(login), "login": login},
                       "created_at": stamp, "updated_at": stamp}
            store.comments[comment["id"]] = comment
            self.signed = True
            return 201, self._comment_json(repo, comment)
        return None
