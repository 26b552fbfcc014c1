"""In-memory state of the GitHub fake: commit statuses and comments.

The fake knows no git objects: any full 40-hex SHA is taken to be a commit of
the repository (tests build the real repositories; the fake only records
what the bot posts about them). Repositories are keyed case-insensitively,
as GitHub treats owner and repository names.
"""

import itertools
import re
import threading
import time

_FULL_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
_SHORT_SHA = re.compile(r"^[0-9a-fA-F]{7,39}$")


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def repo_key(owner, repo):
    return (owner.lower(), repo.lower())


def is_full_sha(value):
    return bool(_FULL_SHA.match(value))


class GitHubStore:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            # Ids start high so they never look like list indices.
            self._ids = itertools.count(1_000_001)
            self.statuses = {}          # repo key -> sha -> [status], oldest first
            self.commit_comments = {}   # repo key -> sha -> [comment]
            self.issue_comments = {}    # repo key -> comment id -> comment

    def next_id(self):
        return next(self._ids)

    def resolve_ref(self, key, ref):
        """A full SHA for ``ref``: itself if full, else a unique known prefix."""
        if is_full_sha(ref):
            return ref.lower()
        if _SHORT_SHA.match(ref):
            known = set(self.statuses.get(key, {})) | set(self.commit_comments.get(key, {}))
            candidates = [sha for sha in known if sha.startswith(ref.lower())]
            if len(candidates) == 1:
                return candidates[0]
        return None

    def dump(self):
        with self.lock:
            def fmt(key):
                return f"{key[0]}/{key[1]}"
            return {
                "statuses": {fmt(k): v for k, v in self.statuses.items()},
                "commit_comments": {fmt(k): v for k, v in self.commit_comments.items()},
                "issue_comments": {fmt(k): list(v.values()) for k, v in self.issue_comments.items()},
            }
