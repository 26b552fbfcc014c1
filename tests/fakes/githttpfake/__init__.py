"""Fake git smart-HTTP host (GitHub, GitLab or Gitea style auth) in front of `git http-backend`."""
