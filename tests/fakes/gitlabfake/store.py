"""In-memory state of the GitLab fake: projects, the commits and merge
requests it knows, external pipelines with their commit-status jobs, notes.

Like the GitHub fake, it knows no git objects by default: any full 40-hex SHA
is a commit of the project, on its default branch, and any merge request iid
exists (created on first use, source and target the project itself). With
known_commits_only, only what the admin API registered exists (GitLab's
behaviour: a status or a comment for an unknown commit is 404).
"""

import itertools
import re
import time

FULL_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
SHORT_SHA = re.compile(r"^[0-9a-fA-F]{7,39}$")


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


class Project:
    FIELDS = ("id", "path_with_namespace", "default_branch", "visibility", "description",
              "http_url_to_repo", "ssh_url_to_repo", "web_url", "archived")

    def __init__(self, pid, path, default_branch="main", visibility="private", **extra):
        self.id = pid
        self.path_with_namespace = path
        self.default_branch = default_branch
        self.visibility = visibility
        self.description = extra.pop("description", None)
        self.http_url_to_repo = extra.pop("http_url_to_repo", None)
        self.ssh_url_to_repo = extra.pop("ssh_url_to_repo", None)
        self.web_url = extra.pop("web_url", None)
        self.archived = bool(extra.pop("archived", False))
        if extra:
            raise ValueError(f"unknown project fields: {sorted(extra)}")
        self.created_at = now_iso()
        self.branches = {}           # name -> sha (heads the admin API set)

    @property
    def namespace(self):
        return self.path_with_namespace.rsplit("/", 1)[0]

    @property
    def path(self):
        return self.path_with_namespace.rsplit("/", 1)[1]

    def describe(self):
        return {k: getattr(self, k) for k in self.FIELDS} | {"branches": dict(self.branches)}


class GitLabStore:
    def __init__(self):
        self.projects = {}           # id -> Project (survive reset: the command line's)
        self._cli_projects = []
        self.reset()

    def reset(self):
        self.projects = {}
        for spec in self._cli_projects:
            self.add_project(dict(spec))
        self._ids = itertools.count(1001)          # status (job) ids
        self._pipeline_ids = itertools.count(5001)
        self._note_ids = itertools.count(90001)
        self.commits = {}            # (pid, sha) -> {"refs": [...]} registered commits
        self.merge_requests = {}     # (pid, iid) -> dict
        self.pipelines = []          # dicts, oldest first: id, project_id, sha, ref
        self.jobs = []               # commit statuses, oldest first
        self.notes = {}              # note id -> note (MR notes and commit comments)

    # ---------------------------------------------------------- projects
    def add_cli_project(self, spec):
        self._cli_projects.append(dict(spec))
        return self.add_project(spec)

    def add_project(self, spec):
        spec = dict(spec)
        path = spec.pop("path_with_namespace", None) or spec.pop("path", None)
        if not path or "/" not in path or path.startswith("/") or path.endswith("/"):
            raise ValueError("a project needs path_with_namespace like group/name")
        pid = spec.pop("id", None)
        if pid is None:
            pid = max(self.projects, default=0) + 1
        pid = int(pid)
        for other in self.projects.values():
            if other.path_with_namespace.lower() == path.lower() and other.id != pid:
                raise ValueError(f"project {path} exists with id {other.id}")
        branches = spec.pop("branches", {}) or {}
        project = Project(pid, path, **spec)
        for name, sha in branches.items():
            self.set_branch(project, name, sha)
        self.projects[pid] = project
        return project

    def find_project(self, ident):
        """A project by numeric id or by (already decoded) full path."""
        if ident.isdigit():
            return self.projects.get(int(ident))
        for project in self.projects.values():
            if project.path_with_namespace.lower() == ident.lower():
                return project
        return None

    def project_by_ref(self, value):
        """A project named in an admin call: its id (int or digits) or its path."""
        project = self.find_project(str(value))
        if project is None:
            raise ValueError(f"no project {value}")
        return project

    # ----------------------------------------------------------- commits
    def set_branch(self, project, name, sha):
        if not FULL_SHA.match(sha or ""):
            raise ValueError(f"branch {name}: {sha!r} is not a full SHA")
        sha = sha.lower()
        project.branches[name] = sha
        refs = self.commits.setdefault((project.id, sha), {"refs": []})["refs"]
        if name not in refs:
            refs.append(name)

    def register_commit(self, project, sha, refs=None):
        if not FULL_SHA.match(sha or ""):
            raise ValueError(f"{sha!r} is not a full SHA")
        entry = self.commits.setdefault((project.id, sha.lower()), {"refs": []})
        for ref in refs or []:
            if ref not in entry["refs"]:
                entry["refs"].append(ref)
        return entry

    def resolve_commit(self, project, ref, any_sha):
        """user_project.commit(ref): a full SHA (any, or a known one), a
        unique known short SHA, or a branch the admin API set; else None."""
        if ref in project.branches:
            return project.branches[ref]
        if FULL_SHA.match(ref):
            sha = ref.lower()
            return sha if any_sha or (project.id, sha) in self.commits else None
        if SHORT_SHA.match(ref):
            known = {sha for (pid, sha) in self.commits if pid == project.id}
            known |= {j["sha"] for j in self.jobs if j["project_id"] == project.id}
            known |= {n["commit_id"] for n in self.notes.values()
                      if n["project_id"] == project.id and n.get("commit_id")}
            matches = [sha for sha in known if sha.startswith(ref.lower())]
            if len(matches) == 1:
                return matches[0]
        return None

    def branches_containing(self, project, sha):
        """repository.branch_names_contains(sha) as far as the fake knows."""
        entry = self.commits.get((project.id, sha))
        if entry is not None:
            return list(entry["refs"])
        return [project.default_branch]      # an unregistered SHA is on the default branch

    # --------------------------------------------------- merge requests
    def add_merge_request(self, project, spec):
        spec = dict(spec)
        iid = int(spec.pop("iid"))
        source = spec.pop("source_project", None)
        source_project = self.project_by_ref(source) if source is not None else project
        mr = {
            "id": 700000 + project.id * 1000 + iid,
            "iid": iid,
            "project_id": project.id,
            "source_project_id": source_project.id,
            "target_project_id": project.id,
            "source_branch": spec.pop("source_branch", f"mr-{iid}"),
            "target_branch": spec.pop("target_branch", project.default_branch),
            "sha": spec.pop("sha", None),
            "state": spec.pop("state", "opened"),
            "title": spec.pop("title", f"Merge request {iid}"),
        }
        if spec:
            raise ValueError(f"unknown merge request fields: {sorted(spec)}")
        if mr["state"] not in ("opened", "closed", "locked", "merged"):
            raise ValueError(f"state {mr['state']!r} is not opened, closed, locked or merged")
        if mr["sha"] is not None:
            self.register_commit(source_project, mr["sha"], [mr["source_branch"]])
            mr["sha"] = mr["sha"].lower()
        self.merge_requests[(project.id, iid)] = mr
        return mr

    def find_merge_request(self, project, iid, any_mr):
        mr = self.merge_requests.get((project.id, iid))
        if mr is None and any_mr:
            mr = self.add_merge_request(project, {"iid": iid})
        return mr

    # --------------------------------------------------------- pipelines
    def next_job_id(self):
        return next(self._ids)

    def next_note_id(self):
        return next(self._note_ids)

    def matching_pipelines(self, project, sha, ref=None):
        """Pipelines for a SHA (and ref), newest first."""
        return [p for p in reversed(self.pipelines)
                if p["project_id"] == project.id and p["sha"] == sha
                and (ref is None or p["ref"] == ref)]

    def create_pipeline(self, project, sha, ref):
        pipeline = {"id": next(self._pipeline_ids), "project_id": project.id, "sha": sha,
                    "ref": ref, "source": "external", "created_at": now_iso()}
        self.pipelines.append(pipeline)
        return pipeline

    # -------------------------------------------------------------- dump
    def dump(self):
        return {
            "projects": [p.describe() for p in self.projects.values()],
            "commits": [{"project_id": pid, "sha": sha, "refs": e["refs"]}
                        for (pid, sha), e in self.commits.items()],
            "merge_requests": list(self.merge_requests.values()),
            "pipelines": self.pipelines,
            "statuses": self.jobs,
            "notes": list(self.notes.values()),
        }
