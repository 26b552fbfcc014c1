"""HTTP front of the GitLab fake: auth, routing, endpoints, rate limit, admin.

REST API v4 under /api/v4 (GitLab 17/18 behaviour, from gitlabhq's
lib/api/{commit_statuses,notes,commits,projects,users}.rb,
app/services/ci/create_commit_status_service.rb and app/models/commit_status.rb):

  GET    /user                                                   the token's user
  GET    /personal_access_tokens/self                            the token (scopes)
  GET    /version
  GET    /projects/:id                                           :id = number or url-encoded path
  POST   /projects/:id/statuses/:sha                             create or move a commit status
  GET    /projects/:id/repository/commits/:sha/statuses
  GET    /projects/:id/merge_requests/:iid/notes                 newest first by default
  POST   /projects/:id/merge_requests/:iid/notes
  GET|PUT|DELETE /projects/:id/merge_requests/:iid/notes/:note_id
  GET    /projects/:id/repository/commits/:sha/comments
  POST   /projects/:id/repository/commits/:sha/comments

Admin (/_fake/..., no token): see tests/fakes/README.md.
"""

import http
import json
import re
import time
import uuid
from email.utils import formatdate
from urllib.parse import unquote, urlencode, urlsplit

from fakecommon.restfake import Reply, RestFakeApp, RestHandler, paginate_numbers

from . import errors
from .entities import Entities
from .store import GitLabStore, now_iso

PREFIX = "/api/v4"
STATES = ["pending", "running", "success", "failed", "canceled", "skipped"]
MAX_STATUS_FIELD = 255          # CommitStatus: validates :ref, :target_url, :description, length 255
MAX_NOTE = 1_000_000            # Gitlab::Database::MAX_TEXT_SIZE_LIMIT (Note#note)
SCOPES = ["api", "read_api", "read_user", "read_repository", "write_repository",
          "read_registry", "write_registry", "create_runner", "manage_runner", "ai_features",
          "k8s_proxy", "self_rotate", "sudo", "admin_mode"]
TOKEN_STATES = ["active", "expired", "revoked"]
ACCESS_LEVELS = {"guest": 10, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50}

# The commit status state machine (app/models/commit_status.rb): event -> states it leaves.
TRANSITIONS = {
    "enqueue": ({"created", "skipped", "manual", "scheduled"}, "pending"),
    "run": ({"pending"}, "running"),
    "skip": ({"created", "waiting_for_resource", "preparing", "pending"}, "skipped"),
    "drop": ({"created", "waiting_for_resource", "preparing", "waiting_for_callback", "pending",
              "running", "manual", "scheduled"}, "failed"),
    "success": ({"created", "waiting_for_resource", "preparing", "waiting_for_callback",
                 "pending", "running"}, "success"),
    "cancel": ({"created", "waiting_for_resource", "preparing", "waiting_for_callback", "pending",
                "running", "scheduled", "manual"}, "canceled"),
}
FINISHED = {"success", "failed", "canceled", "skipped"}

CONFIG_DEFAULTS = {"token_state": "active", "scopes": ["api"], "known_commits_only": False,
                   "rate_limit": 0, "rate_limit_period": 60, "access_level": "developer"}


class GitLabFakeApp(RestFakeApp):
    name = "fake_gitlab"

    def __init__(self, token, username="deploybot", user_id=7, scopes=("api",),
                 known_commits_only=False, rate_limit=0, rate_limit_period=60,
                 access_level="developer", version="18.2.0", verbose=False):
        super().__init__(verbose)
        self.token = token
        self.token_name = "deploybot"
        self.token_expires_at = None
        self.version = version
        bot = bool(re.match(r"^(project|group)_\d+_bot", username))
        self.user = {"id": int(user_id), "username": username, "name": username, "bot": bot,
                     "email": f"{username}@noreply.gitlab.example"}
        self.store = GitLabStore()
        self.entities = Entities(self)
        self._cli_config = dict(CONFIG_DEFAULTS)
        self._cli_config.update(scopes=list(scopes), known_commits_only=bool(known_commits_only),
                                rate_limit=int(rate_limit), rate_limit_period=float(rate_limit_period),
                                access_level=access_level)
        self.config = {}
        self.set_config(self._cli_config)
        self._window = (0.0, 0)        # rate limit: window start, requests counted

    @property
    def web_url(self):
        return self.base_url

    @property
    def access_level(self):
        return ACCESS_LEVELS[self.config["access_level"]]

    # ------------------------------------------------------------ config
    def get_config(self):
        return dict(self.config, scopes=list(self.config["scopes"]))

    def set_config(self, changes):
        unknown = set(changes) - set(CONFIG_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown configuration fields: {sorted(unknown)}")
        new = dict(self.config or CONFIG_DEFAULTS)
        new.update(changes)
        if new["token_state"] not in TOKEN_STATES:
            raise ValueError(f"token_state must be one of {TOKEN_STATES}")
        if (not isinstance(new["scopes"], list)
                or any(s not in SCOPES for s in new["scopes"])):
            raise ValueError(f"scopes must be a list of {SCOPES}")
        if new["access_level"] not in ACCESS_LEVELS:
            raise ValueError(f"access_level must be one of {sorted(ACCESS_LEVELS)}")
        if not isinstance(new["known_commits_only"], bool):
            raise ValueError("known_commits_only must be true or false")
        if not isinstance(new["rate_limit"], int) or new["rate_limit"] < 0:
            raise ValueError("rate_limit must be an integer >= 0 (0: off)")
        if not isinstance(new["rate_limit_period"], (int, float)) or new["rate_limit_period"] <= 0:
            raise ValueError("rate_limit_period must be > 0 seconds")
        self.config = new
        self._window = (0.0, 0)

    def reset(self):
        super().reset()
        self.store.reset()
        self.config = {}
        self.set_config(self._cli_config)

    def dump(self):
        return self.store.dump()

    # -------------------------------------------------------- rate limit
    def throttle(self):
        """None, or the headers of a 429 (Rack::Attack's throttle_authenticated_api)."""
        limit = self.config["rate_limit"]
        if not limit:
            return None
        period = self.config["rate_limit_period"]
        now = time.time()
        start, count = self._window
        if now >= start + period:
            start, count = now - (now % period), 0
        count += 1
        self._window = (start, count)
        if count <= limit:
            return None
        reset = start + period
        # RateLimit-Limit is the quota per minute (docs: "adjusted to
        # approximately the nearest 60-minute period" when the period differs).
        per_minute = max(int(round(limit * 60 / period)), 1)
        return {"RateLimit-Name": "throttle_authenticated_api",
                "RateLimit-Limit": str(per_minute),
                "RateLimit-Observed": str(count),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(int(reset)),
                "RateLimit-ResetTime": formatdate(reset, usegmt=True),
                "Retry-After": str(max(int(reset - now + 0.999), 1))}


def _route(method, pattern, handler, auth="required", scope="api"):
    """auth: "required" (401 when anonymous) or "public" (public projects are
    readable anonymously). scope: what the token needs ("api": api; "read":
    api or read_api; "user": api, read_api or read_user; None: any)."""
    return (method, re.compile("^" + PREFIX + pattern + "$"), handler, auth, scope)


_P = r"/projects/(?P<id>[^/]+)"


class GitLabHandler(RestHandler):
    server_version = "nginx"

    ROUTES = [
        _route("GET", r"/user", "get_user", scope="user"),
        _route("GET", r"/personal_access_tokens/self", "get_token", scope=None),
        _route("GET", r"/version", "get_version", scope="read"),
        _route("GET", _P, "get_project", auth="public", scope="read"),
        _route("POST", _P + r"/statuses/(?P<sha>[^/]+)", "create_status"),
        _route("GET", _P + r"/repository/commits/(?P<sha>[^/]+)/statuses", "list_statuses",
               scope="read"),
        _route("GET", _P + r"/merge_requests/(?P<iid>[^/]+)/notes", "list_notes", scope="read"),
        _route("POST", _P + r"/merge_requests/(?P<iid>[^/]+)/notes", "create_note"),
        _route("GET", _P + r"/merge_requests/(?P<iid>[^/]+)/notes/(?P<note_id>[^/]+)", "get_note",
               scope="read"),
        _route("PUT", _P + r"/merge_requests/(?P<iid>[^/]+)/notes/(?P<note_id>[^/]+)",
               "update_note"),
        _route("DELETE", _P + r"/merge_requests/(?P<iid>[^/]+)/notes/(?P<note_id>[^/]+)",
               "delete_note"),
        _route("GET", _P + r"/repository/commits/(?P<sha>[^/]+)/comments", "list_commit_comments",
               auth="public", scope="read"),
        _route("POST", _P + r"/repository/commits/(?P<sha>[^/]+)/comments",
               "create_commit_comment"),
    ]

    def common_headers(self):
        request_id = uuid.uuid4().hex[:26].upper()
        return {"Cache-Control": "max-age=0, private, must-revalidate",
                "Vary": "Origin", "X-Content-Type-Options": "nosniff",
                "X-Frame-Options": "SAMEORIGIN", "X-Request-Id": request_id,
                "X-Runtime": "0.012345",
                "X-Gitlab-Meta": json.dumps({"correlation_id": request_id, "version": "1"})}

    # ------------------------------------------------------------ faults
    def fault_reply(self, spec):
        status = spec["status"]
        headers = {}
        if spec["retry_after"] is not None:
            headers["Retry-After"] = str(spec["retry_after"])
        if spec["body"] is not None:
            return Reply(status, spec["body"], headers)
        if status == 429:
            # Rack::Attack's throttled response: plain text "Retry later".
            now = time.time()
            wait = int(spec["retry_after"] if spec["retry_after"] is not None else 60)
            headers.update({"RateLimit-Name": "throttle_authenticated_api",
                            "RateLimit-Limit": "2000", "RateLimit-Observed": "2001",
                            "RateLimit-Remaining": "0", "RateLimit-Reset": str(int(now + wait)),
                            "RateLimit-ResetTime": formatdate(now + wait, usegmt=True),
                            "Retry-After": str(wait)})
            return Reply(429, "Retry later\n", headers)
        messages = {401: "401 Unauthorized", 403: "403 Forbidden", 404: "404 Not Found",
                    409: "409 Conflict: Resource lock", 500: "500 Internal Server Error"}
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return Reply(status, {"message": messages.get(status, f"{status} {phrase}")}, headers)

    # -------------------------------------------------------------- core
    def handle_api(self, request):
        app = self.server.app
        with app.lock:
            if not request.path.startswith(PREFIX + "/"):
                raise errors.route_not_found()
            throttled = app.throttle()
            if throttled:
                return Reply(429, "Retry later\n", throttled)
            allowed = []
            for method, pattern, name, auth, scope in self.ROUTES:
                m = pattern.match(request.path)
                if not m:
                    continue
                if method != request.method:
                    allowed.append(method)
                    continue
                self.authenticated = self._authenticate(request, auth, scope)
                args = {k: unquote(v) for k, v in m.groupdict().items()}
                # Integer route params (noteable_id, note_id) are coerced before the endpoint runs.
                bad = [f"{label} is invalid" for key, label in (("iid", "noteable_id"),
                                                                  ("note_id", "note_id"))
                       if key in args and not args[key].isdigit()]
                if bad:
                    raise errors.param_errors(bad)
                return getattr(self, name)(request, args)
            if allowed:
                # Grape::Exceptions::MethodNotAllowed, rendered by GitLab's rescue_from
                return Reply(405, {"error": "405 Not Allowed"},
                             {"Allow": ", ".join(sorted(set(allowed + ["OPTIONS"])))})
            raise errors.route_not_found()

    def _authenticate(self, request, auth, scope):
        """True for the fake's token, False for an anonymous request (allowed
        only on "public" routes); raises GitLab's 401/403 otherwise."""
        app = self.server.app
        token = request.headers.get("PRIVATE-TOKEN")
        if token is None:
            scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                token = value.strip()
        if token is None:
            if auth == "required":
                raise errors.unauthorized()
            return False
        if token != app.token:
            raise errors.unauthorized()
        state = app.config["token_state"]
        if state == "expired":
            raise errors.invalid_token("Token has expired.")
        if state == "revoked":
            raise errors.invalid_token("Token has been revoked.")
        have = set(app.config["scopes"])
        need = {"api": ["api"], "read": ["api", "read_api"],
                "user": ["api", "read_api", "read_user"], None: None}[scope]
        if need is not None and not have & set(need):
            raise errors.insufficient_scope(need)
        return True

    # ----------------------------------------------------------- helpers
    def _project(self, args, write=False):
        app = self.server.app
        project = app.store.find_project(args["id"])
        if project is None or (not self.authenticated and project.visibility != "public"):
            raise errors.not_found("Project")
        if write and project.archived:
            raise errors.forbidden()
        return project

    def _params(self, request):
        """Grape's params: the query string, then the body on top."""
        body, problem = request.body_params()
        if problem:
            raise errors.param_errors(["message body does not match declared format"])
        params = dict(request.query)
        params.update(body)
        return params

    @staticmethod
    def _coerce(params, spec):
        """Grape's type coercion and validators for the declared params.

        spec: name -> (type, required, values, allow_blank). Returns the
        coerced params (absent ones left out), or raises Grape's 400."""
        problems = []
        out = {}
        for name, (kind, required, values, allow_blank) in spec.items():
            if name not in params:
                if required:
                    problems.append(f"{name} is missing")
                continue
            value = params[name]
            if value is None:
                out[name] = None
                continue
            if kind is str:
                if isinstance(value, (dict, list)):
                    problems.append(f"{name} is invalid")
                    continue
                value = ("true" if value else "false") if isinstance(value, bool) else str(value)
            elif kind is int:
                try:
                    if isinstance(value, bool) or isinstance(value, float):
                        raise ValueError
                    value = int(str(value), 10)
                except ValueError:
                    problems.append(f"{name} is invalid")
                    continue
            elif kind is float:
                try:
                    if isinstance(value, bool):
                        raise ValueError
                    value = float(value)
                except (TypeError, ValueError):
                    problems.append(f"{name} is invalid")
                    continue
            elif kind is bool:
                if isinstance(value, bool):
                    pass
                elif str(value).lower() in ("true", "1", "t", "yes", "y"):
                    value = True
                elif str(value).lower() in ("false", "0", "f", "no", "n"):
                    value = False
                else:
                    problems.append(f"{name} is invalid")
                    continue
            if allow_blank is False and isinstance(value, str) and not value.strip():
                problems.append(f"{name} is empty")
                continue
            if values is not None and value not in values:
                problems.append(f"{name} does not have a valid value")
                continue
            out[name] = value
        if problems:
            raise errors.param_errors(problems)
        return out

    def _commit(self, project, ref):
        app = self.server.app
        sha = app.store.resolve_commit(project, ref, not app.config["known_commits_only"])
        if sha is None:
            raise errors.not_found("Commit")
        return sha

    def _paginate(self, request, items):
        """GitLab's offset pagination: X-Page, X-Per-Page, X-Total,
        X-Total-Pages, X-Next-Page, X-Prev-Page and a Link header."""
        page, per_page = paginate_numbers(request.query, 20, 100)
        total = len(items)
        pages = max((total + per_page - 1) // per_page, 1)
        base = self.server.app.base_url + request.path

        def link(p, rel):
            q = dict(request.query, page=p, per_page=per_page)
            return f'<{base}?{urlencode(q)}>; rel="{rel}"'
        links = []
        if page > 1:
            links.append(link(page - 1, "prev"))
        if page < pages:
            links.append(link(page + 1, "next"))
        links += [link(1, "first"), link(pages, "last")]
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(total),
                   "X-Total-Pages": str(pages),
                   "X-Next-Page": str(page + 1) if page < pages else "",
                   "X-Prev-Page": str(page - 1) if page > 1 else "",
                   "Link": ", ".join(links)}
        return items[(page - 1) * per_page: page * per_page], headers

    # -------------------------------------------------------------- user
    def get_user(self, request, args):
        return Reply(200, self.server.app.entities.user())

    def get_token(self, request, args):
        return Reply(200, self.server.app.entities.token())

    def get_version(self, request, args):
        return Reply(200, {"version": self.server.app.version, "revision": "0fake000",
                           "kas": {"enabled": False, "externalUrl": None, "externalK8sProxyUrl": None,
                                   "version": None},
                           "enterprise": False})

    def get_project(self, request, args):
        project = self._project(args)
        return Reply(200, self.server.app.entities.project(project, self.authenticated))

    # ---------------------------------------------------- commit statuses
    STATUS_PARAMS = {"state": (str, True, STATES, None), "ref": (str, False, None, None),
                     "target_url": (str, False, None, None),
                     "description": (str, False, None, None), "name": (str, False, None, None),
                     "context": (str, False, None, None), "coverage": (float, False, None, None),
                     "pipeline_id": (int, False, None, None)}

    def create_status(self, request, args):
        app = self.server.app
        store = app.store
        params = self._coerce(self._params(request), self.STATUS_PARAMS)
        project = self._project(args, write=True)
        if app.access_level < ACCESS_LEVELS["developer"]:
            raise errors.forbidden()
        # Ci::CreateCommitStatusService#validate
        sha = self._commit(project, args["sha"])
        if not params.get("state"):
            raise errors.error(400, "State is required")
        ref_param = params.get("ref")
        pipeline_id = params.get("pipeline_id")
        candidates = store.matching_pipelines(project, sha, ref_param)
        if pipeline_id is not None:
            candidates = [p for p in candidates if p["id"] == pipeline_id]
        first = candidates[0] if candidates else None
        ref = ref_param or (first["ref"] if first else None)
        if not ref:
            branches = store.branches_containing(project, sha)
            ref = branches[0] if branches else None
        if not ref:
            raise errors.not_found("References for commit")
        if pipeline_id is not None and first is None:
            raise errors.not_found("Pipeline for pipeline_id, sha and ref")
        pipeline = first or store.create_pipeline(project, sha, ref)
        name = params.get("name") or params.get("context") or "default"

        job = next((j for j in store.jobs
                    if j["pipeline_id"] == pipeline["id"] and j["ref"] == ref
                    and j["name"] == name and j["status"] in ("pending", "running")
                    and j["author"]["id"] == app.user["id"]), None)
        new = job is None
        if new:
            job = {"id": None, "project_id": project.id, "sha": sha, "ref": ref,
                   "status": "created", "name": name, "target_url": None, "description": None,
                   "created_at": now_iso(), "started_at": None, "finished_at": None,
                   "allow_failure": False, "coverage": None, "pipeline_id": pipeline["id"],
                   "stage": "external", "retried": False, "author": dict(app.user)}
        candidate = dict(job)
        # attributes_for_keys(%w[target_url description coverage]): blank values are skipped
        for key in ("target_url", "description", "coverage"):
            value = params.get(key)
            if value is not None and value != "":
                candidate[key] = value
        problems = self._validate_status(candidate)
        if problems:
            raise errors.model_invalid(problems)
        # apply_job_state!
        state = params["state"]
        if state == "running":
            self._fire(candidate, "enqueue", soft=True)
            self._fire(candidate, "run")
        else:
            self._fire(candidate, {"pending": "enqueue", "success": "success", "failed": "drop",
                                   "canceled": "cancel", "skipped": "skip"}[state])
        if new:
            candidate["id"] = store.next_job_id()
            store.jobs.append(candidate)
        else:
            job.update(candidate)
            candidate = job
        # Ci::Pipelines::AddJobService: older jobs of that name in the pipeline are retried.
        for other in store.jobs:
            if (other is not candidate and other["pipeline_id"] == pipeline["id"]
                    and other["name"] == name):
                other["retried"] = True
        return Reply(201, app.entities.commit_status(candidate))

    @staticmethod
    def _fire(job, event, soft=False):
        sources, target = TRANSITIONS[event]
        if job["status"] not in sources:
            if soft:
                return
            raise errors.cannot_transition(event, job["status"])
        job["status"] = target
        stamp = now_iso()
        if target == "running":
            job["started_at"] = stamp
        if target in FINISHED:
            job["finished_at"] = stamp

    @staticmethod
    def _validate_status(job):
        problems = {}
        too_long = f"is too long (maximum is {MAX_STATUS_FIELD} characters)"
        for key in ("ref", "target_url", "description"):      # CommitStatus
            if job[key] is not None and len(job[key]) > MAX_STATUS_FIELD:
                problems.setdefault(key, []).append(too_long)
        url = job["target_url"]                                 # GenericCommitStatus
        if url is not None:
            try:
                scheme = urlsplit(url).scheme.lower()
            except ValueError:
                scheme = ""
            if scheme not in ("http", "https"):
                problems.setdefault("target_url", []).append(
                    "is blocked: Only allowed schemes are http, https")
            if len(url) > MAX_STATUS_FIELD:
                problems.setdefault("target_url", []).append(too_long)
        return problems

    LIST_STATUS_PARAMS = {"ref": (str, False, None, None), "stage": (str, False, None, None),
                          "name": (str, False, None, None), "pipeline_id": (int, False, None, None),
                          "all": (bool, False, None, None),
                          "order_by": (str, False, ["id", "pipeline_id"], None),
                          "sort": (str, False, ["asc", "desc"], None),
                          "page": (int, False, None, None), "per_page": (int, False, None, None)}

    def list_statuses(self, request, args):
        app = self.server.app
        params = self._coerce(request.query, self.LIST_STATUS_PARAMS)
        project = self._project(args)
        sha = self._commit(project, args["sha"])
        jobs = [j for j in app.store.jobs if j["project_id"] == project.id and j["sha"] == sha]
        if params.get("pipeline_id") is not None:
            jobs = [j for j in jobs if j["pipeline_id"] == params["pipeline_id"]]
        if not params.get("all"):
            jobs = [j for j in jobs if not j["retried"]]
        for key in ("ref", "stage", "name"):
            if params.get(key):
                jobs = [j for j in jobs if j[key] == params[key]]
        order = params.get("order_by") or "id"
        jobs.sort(key=lambda j: (j[order], j["id"]), reverse=params.get("sort") == "desc")
        page, headers = self._paginate(request, jobs)
        return Reply(200, [app.entities.commit_status(j) for j in page], headers)

    # ------------------------------------------------------------- notes
    def _merge_request(self, project, args):
        app = self.server.app
        try:
            iid = int(args["iid"], 10)
        except ValueError:
            raise errors.param_errors(["noteable_id is invalid"]) from None
        mr = app.store.find_merge_request(project, iid, not app.config["known_commits_only"])
        if mr is None:
            raise errors.not_found("MergeRequest")
        return mr

    @staticmethod
    def _note_problems(body):
        if not body.strip():
            return {"note": ["can't be blank"]}
        if len(body) > MAX_NOTE:
            return {"note": [f"is too long (maximum is {MAX_NOTE} characters)"]}
        return None

    def _new_note(self, project, body, **fields):
        app = self.server.app
        problems = self._note_problems(body)
        if problems:
            raise errors.bad_request("Note " + errors.ruby_errors(problems))
        stamp = now_iso()
        note = {"id": app.store.next_note_id(), "body": body, "author": dict(app.user),
                "created_at": stamp, "updated_at": stamp, "project_id": project.id,
                "internal": False, "commit_id": None}
        note.update(fields)
        app.store.notes[note["id"]] = note
        return note

    def _mr_notes(self, project, mr):
        return [n for n in self.server.app.store.notes.values()
                if n["project_id"] == project.id and n["noteable_type"] == "MergeRequest"
                and n["noteable_iid"] == mr["iid"]]

    NOTE_LIST_PARAMS = {"order_by": (str, False, ["created_at", "updated_at"], None),
                        "sort": (str, False, ["asc", "desc"], None),
                        "activity_filter": (str, False, ["all_notes", "only_comments",
                                                         "only_activity"], None),
                        "page": (int, False, None, None), "per_page": (int, False, None, None)}

    def list_notes(self, request, args):
        app = self.server.app
        params = self._coerce(request.query, self.NOTE_LIST_PARAMS)
        project = self._project(args)
        mr = self._merge_request(project, args)
        notes = self._mr_notes(project, mr)
        if params.get("activity_filter") == "only_activity":
            notes = []          # system notes only; the fake makes none
        order = params.get("order_by") or "created_at"
        notes.sort(key=lambda n: (n[order], n["id"]), reverse=(params.get("sort") or "desc") == "desc")
        page, headers = self._paginate(request, notes)
        return Reply(200, [app.entities.note(n) for n in page], headers)

    def _mr_note(self, project, mr, args):
        try:
            note_id = int(args["note_id"], 10)
        except ValueError:
            raise errors.param_errors(["note_id is invalid"]) from None
        note = self.server.app.store.notes.get(note_id)
        if (note is None or note["project_id"] != project.id
                or note["noteable_type"] != "MergeRequest" or note["noteable_iid"] != mr["iid"]):
            raise errors.record_not_found()
        return note

    def get_note(self, request, args):
        project = self._project(args)
        mr = self._merge_request(project, args)
        return Reply(200, self.server.app.entities.note(self._mr_note(project, mr, args)))

    NOTE_CREATE_PARAMS = {"body": (str, True, None, None), "internal": (bool, False, None, None),
                          "confidential": (bool, False, None, None),
                          "created_at": (str, False, None, None),
                          "merge_request_diff_head_sha": (str, False, None, None)}

    def create_note(self, request, args):
        app = self.server.app
        params = self._coerce(self._params(request), self.NOTE_CREATE_PARAMS)
        project = self._project(args, write=True)
        mr = self._merge_request(project, args)
        body = params.get("body") or ""
        note = self._new_note(project, body, noteable_type="MergeRequest", noteable_id=mr["id"],
                              noteable_iid=mr["iid"],
                              internal=bool(params.get("internal") or params.get("confidential")))
        return Reply(201, app.entities.note(note))

    NOTE_UPDATE_PARAMS = {"body": (str, False, None, False),
                          "confidential": (bool, False, None, None)}

    def update_note(self, request, args):
        app = self.server.app
        params = self._coerce(self._params(request), self.NOTE_UPDATE_PARAMS)
        project = self._project(args, write=True)
        mr = self._merge_request(project, args)
        note = self._mr_note(project, mr, args)
        if note["author"]["id"] != app.user["id"]:
            raise errors.forbidden()            # authorize! :admin_note (the note's author)
        body = params.get("body")
        if body is not None and body != note["body"]:
            problems = self._note_problems(body)
            if problems:
                raise errors.bad_request("Note " + errors.ruby_errors(problems))
            note["body"] = body
            note["updated_at"] = now_iso()
        return Reply(200, app.entities.note(note))

    def delete_note(self, request, args):
        app = self.server.app
        project = self._project(args, write=True)
        mr = self._merge_request(project, args)
        note = self._mr_note(project, mr, args)
        if note["author"]["id"] != app.user["id"] and app.access_level < ACCESS_LEVELS["maintainer"]:
            raise errors.forbidden()
        del app.store.notes[note["id"]]
        return Reply(204, None)

    # --------------------------------------------------- commit comments
    COMMENT_PARAMS = {"note": (str, True, None, None), "path": (str, False, None, None),
                      "line": (int, False, None, None),
                      "line_type": (str, False, ["new", "old"], None)}

    def create_commit_comment(self, request, args):
        app = self.server.app
        params = self._coerce(self._params(request), self.COMMENT_PARAMS)
        if params.get("path") is not None and params.get("line") is None:
            raise errors.param_errors(["line is missing"])
        project = self._project(args, write=True)
        sha = self._commit(project, args["sha"])
        note = self._new_note(project, params.get("note") or "", noteable_type="Commit",
                              noteable_id=None, noteable_iid=None, commit_id=sha,
                              path=params.get("path"), line=params.get("line"),
                              line_type=params.get("line_type", "new" if params.get("path") else None))
        return Reply(201, app.entities.commit_note(note))

    def list_commit_comments(self, request, args):
        app = self.server.app
        self._coerce(request.query, {"page": (int, False, None, None),
                                     "per_page": (int, False, None, None)})
        project = self._project(args)
        sha = self._commit(project, args["sha"])
        notes = sorted((n for n in app.store.notes.values()
                        if n["project_id"] == project.id and n.get("commit_id") == sha),
                       key=lambda n: (n["created_at"], n["id"]))
        page, headers = self._paginate(request, notes)
        return Reply(200, [app.entities.commit_note(n) for n in page], headers)

    # ------------------------------------------------------------- admin
    def admin_extra(self, method, path, payload):
        app = self.server.app
        store = app.store
        route = (method, path)
        if route == ("POST", "/_fake/projects"):
            project = store.add_project(payload or {})
            return 201, project.describe()
        if route == ("POST", "/_fake/branches"):
            project = store.project_by_ref(payload["project"])
            store.set_branch(project, payload["branch"], payload["sha"])
            return 201, project.describe()
        if route == ("POST", "/_fake/commits"):
            project = store.project_by_ref(payload["project"])
            entry = store.register_commit(project, payload["sha"], payload.get("refs"))
            return 201, {"project_id": project.id, "sha": payload["sha"].lower(),
                         "refs": entry["refs"]}
        if route == ("POST", "/_fake/merge_requests"):
            spec = dict(payload or {})
            project = store.project_by_ref(spec.pop("project"))
            return 201, store.add_merge_request(project, spec)
        if route == ("POST", "/_fake/notes"):
            # A note by someone else (a reviewer): the bot must not edit it.
            spec = dict(payload or {})
            project = store.project_by_ref(spec.pop("project"))
            mr = store.find_merge_request(project, int(spec.pop("merge_request_iid")), True)
            author = spec.pop("author", "reviewer")
            body = spec.pop("body")
            if spec:
                raise ValueError(f"unknown note fields: {sorted(spec)}")
            stamp = now_iso()
            note = {"id": store.next_note_id(), "body": body, "created_at": stamp,
                    "updated_at": stamp, "project_id": project.id, "internal": False,
                    "commit_id": None, "noteable_type": "MergeRequest", "noteable_id": mr["id"],
                    "noteable_iid": mr["iid"],
                    "author": {"id": 5000 + len(author), "username": author, "name": author,
                               "bot": False, "email": f"{author}@example.com"}}
            store.notes[note["id"]] = note
            return 201, app.entities.note(note)
        return None
