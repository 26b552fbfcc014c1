"""A stateful fake of the Gitea / Forgejo REST API v1 calls deploybot makes
(commit statuses, issue/PR comments edited in place, user and repository
lookups). Gitea has no commit-comment API; neither has the fake.
See tests/fakes/README.md."""
