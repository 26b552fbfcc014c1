"""A stateful fake of the GitLab REST API v4 calls deploybot makes (commit
statuses, merge request notes, commit comments, user/token/project lookups).
See tests/fakes/README.md."""
