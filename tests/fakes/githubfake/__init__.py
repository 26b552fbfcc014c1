"""A stateful fake of the GitHub REST API calls deploybot makes
(commit statuses, commit comments, issue/PR comments). See tests/fakes/README.md."""
