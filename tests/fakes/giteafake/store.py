"""In-memory state of the Gitea fake: repositories, the commits and issues it
knows, commit statuses, issue/PR comments.

As in the GitHub fake, any full 40-hex SHA is a commit and any issue index an
open pull request unless known_commits_only is set; then only what the admin
API registered exists (Gitea answers 500 for a status on an unknown commit
and for a comment on an unknown issue).
"""

import itertools
import re
import time

FULL_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
SHORT_SHA = re.compile(r"^[0-9a-fA-F]{7,39}$")


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Repo:
    def __init__(self, rid, full_name, default_branch="main", private=False, **extra):
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"{full_name!r}: a repository is owner/name")
        self.id = rid
        self.owner = owner
        self.name = name
        self.default_branch = default_branch
        self.private = bool(private)
        self.description = extra.pop("description", "")
        self.archived = bool(extra.pop("archived", False))
        self.clone_url = extra.pop("clone_url", None)
        if extra:
            raise ValueError(f"unknown repository fields: {sorted(extra)}")
        self.created_at = now_iso()
        self.branches = {}

    @property
    def full_name(self):
        return f"{self.owner}/{self.name}"

    def describe(self):
        return {"id": self.id, "full_name": self.full_name, "default_branch": self.default_branch,
                "private": self.private, "description": self.description,
                "archived": self.archived, "clone_url": self.clone_url,
                "branches": dict(self.branches)}


class GiteaStore:
    def __init__(self):
        self.repos = {}
        self._cli_repos = []
        self.reset()

    def reset(self):
        self.repos = {}
        for spec in self._cli_repos:
            self.add_repo(dict(spec))
        self._status_ids = itertools.count(1)
        self._comment_ids = itertools.count(1001)
        self.commits = {}            # (repo id, sha) -> {"refs": [...]}
        self.issues = {}             # (repo id, index) -> issue
        self.statuses = []           # oldest first
        self.comments = {}           # id -> comment

    # ------------------------------------------------------------- repos
    def add_cli_repo(self, spec):
        self._cli_repos.append(dict(spec))
        return self.add_repo(spec)

    def add_repo(self, spec):
        spec = dict(spec)
        full_name = spec.pop("full_name")
        rid = int(spec.pop("id", None) or max(self.repos, default=0) + 1)
        for other in self.repos.values():
            if other.full_name.lower() == full_name.lower() and other.id != rid:
                raise ValueError(f"repository {full_name} exists with id {other.id}")
        branches = spec.pop("branches", {}) or {}
        repo = Repo(rid, full_name, **spec)
        for name, sha in branches.items():
            self.set_branch(repo, name, sha)
        self.repos[rid] = repo
        return repo

    def find_repo(self, owner, name):
        for repo in self.repos.values():
            if repo.owner.lower() == owner.lower() and repo.name.lower() == name.lower():
                return repo
        return None

    def repo_by_ref(self, value):
        if isinstance(value, int) or str(value).isdigit():
            repo = self.repos.get(int(value))
        else:
            owner, _, name = str(value).partition("/")
            repo = self.find_repo(owner, name)
        if repo is None:
            raise ValueError(f"no repository {value}")
        return repo

    # ----------------------------------------------------------- commits
    def set_branch(self, repo, name, sha):
        if not FULL_SHA.match(sha or ""):
            raise ValueError(f"branch {name}: {sha!r} is not a full SHA")
        repo.branches[name] = sha.lower()
        self.register_commit(repo, sha, [name])

    def register_commit(self, repo, sha, refs=None):
        if not FULL_SHA.match(sha or ""):
            raise ValueError(f"{sha!r} is not a full SHA")
        entry = self.commits.setdefault((repo.id, sha.lower()), {"refs": []})
        for ref in refs or []:
            if ref not in entry["refs"]:
                entry["refs"].append(ref)
        return entry

    def known_shas(self, repo):
        shas = {sha for (rid, sha) in self.commits if rid == repo.id}
        shas |= {s["sha"] for s in self.statuses if s["repo_id"] == repo.id}
        return shas

    def resolve(self, repo, ref, any_sha):
        """gitRepo.GetCommit(ref): a branch, a full SHA (any, or a known
        one) or a unique known short SHA; None when it does not exist."""
        if ref in repo.branches:
            return repo.branches[ref]
        if FULL_SHA.match(ref):
            sha = ref.lower()
            return sha if any_sha or (repo.id, sha) in self.commits else None
        if SHORT_SHA.match(ref):
            matches = [s for s in self.known_shas(repo) if s.startswith(ref.lower())]
            if len(matches) == 1:
                return matches[0]
        return None

    # ------------------------------------------------------------ issues
    def add_issue(self, repo, spec):
        spec = dict(spec)
        index = int(spec.pop("index"))
        issue = {"id": 300000 + repo.id * 1000 + index, "index": index, "repo_id": repo.id,
                 "is_pull": bool(spec.pop("is_pull", True)),
                 "title": spec.pop("title", f"Pull request {index}"),
                 "state": spec.pop("state", "open"),
                 "is_locked": bool(spec.pop("is_locked", False)),
                 # the commit a merged pull request's merge made on its base
                 "merge_commit_sha": (spec.pop("merge_commit_sha", None) or "").lower() or None}
        if issue["merge_commit_sha"] and not (issue["is_pull"] and FULL_SHA.match(issue["merge_commit_sha"])):
            raise ValueError("merge_commit_sha: a full SHA, on a pull request")
        if spec:
            raise ValueError(f"unknown issue fields: {sorted(spec)}")
        if issue["state"] not in ("open", "closed"):
            raise ValueError("state must be open or closed")
        self.issues[(repo.id, index)] = issue
        return issue

    def find_issue(self, repo, index, any_issue):
        issue = self.issues.get((repo.id, index))
        if issue is None and any_issue:
            issue = self.add_issue(repo, {"index": index})
        return issue

    def merged_pull(self, repo, sha):
        """GetPullRequestByMergedCommit: the pull request whose merge made sha."""
        for issue in self.issues.values():
            if issue["repo_id"] == repo.id and issue["merge_commit_sha"] == sha.lower():
                return issue
        return None

    def next_status_id(self):
        return next(self._status_ids)

    def next_comment_id(self):
        return next(self._comment_ids)

    def dump(self):
        return {
            "repos": [r.describe() for r in self.repos.values()],
            "commits": [{"repo_id": rid, "sha": sha, "refs": e["refs"]}
                        for (rid, sha), e in self.commits.items()],
            "issues": list(self.issues.values()),
            "statuses": self.statuses,
            "comments": list(self.comments.values()),
        }
