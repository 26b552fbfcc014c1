#!/usr/bin/python3
"""Fake GitLab REST API v4 on 127.0.0.1, for deploybot's integration tests.

  fake_gitlab.py --port 0 --port-file PATH [--token TOKEN] [--username NAME]
                 [--project PATH[=ID]]... [--default-branch main] [--public]
                 [--scopes api,...] [--access-level developer] [--known-commits-only]
                 [--rate-limit N [--rate-limit-period S]] [--verbose]

The API lives under /api/v4 (give the bot http://127.0.0.1:PORT/api/v4).
Requests authenticate with "PRIVATE-TOKEN: TOKEN" or "Authorization: Bearer TOKEN".
Endpoints and the /_fake/ admin endpoints: see gitlabfake/server.py and README.md.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakecommon.httpserver import LOOPBACK, LoopbackServer, add_common_args, serve  # noqa: E402
from gitlabfake.server import ACCESS_LEVELS, SCOPES, GitLabFakeApp, GitLabHandler  # noqa: E402


def project_spec(text):
    path, sep, pid = text.partition("=")
    if "/" not in path or (sep and not pid.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r}: expected group/name or group/name=ID")
    spec = {"path_with_namespace": path}
    if sep:
        spec["id"] = int(pid)
    return spec


def scope_list(text):
    scopes = [s for s in text.split(",") if s]
    bad = [s for s in scopes if s not in SCOPES]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown scopes {bad}; known: {SCOPES}")
    return scopes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(parser)
    parser.add_argument("--token", default="test-token", help="the only accepted token")
    parser.add_argument("--username", default="deploybot",
                        help="the token's user (project_<id>_bot_<x> makes it a bot user)")
    parser.add_argument("--user-id", type=int, default=7)
    parser.add_argument("--project", action="append", type=project_spec, default=[],
                        metavar="PATH[=ID]", help="a project that exists (repeatable)")
    parser.add_argument("--default-branch", default="main",
                        help="default branch of the --project projects")
    parser.add_argument("--public", action="store_true",
                        help="--project projects are public (default private)")
    parser.add_argument("--scopes", type=scope_list, default=["api"],
                        help="comma-separated token scopes (default api)")
    parser.add_argument("--access-level", choices=sorted(ACCESS_LEVELS), default="developer",
                        help="the user's role in every project (default developer)")
    parser.add_argument("--known-commits-only", action="store_true",
                        help="only commits and merge requests registered through the admin API exist")
    parser.add_argument("--rate-limit", type=int, default=0,
                        help="requests allowed per --rate-limit-period, then 429 (0: off)")
    parser.add_argument("--rate-limit-period", type=float, default=60.0)
    parser.add_argument("--gitlab-version", default="18.2.0", help="what GET /version answers")
    args = parser.parse_args(argv)

    app = GitLabFakeApp(args.token, args.username, args.user_id, args.scopes,
                        args.known_commits_only, args.rate_limit, args.rate_limit_period,
                        args.access_level, args.gitlab_version, verbose=args.verbose)
    for spec in args.project:
        spec.update(default_branch=args.default_branch,
                    visibility="public" if args.public else "private")
        app.store.add_cli_project(spec)
    server = LoopbackServer(args.port, GitLabHandler, app)
    app.base_url = f"http://{LOOPBACK}:{server.port}"
    serve(server, args.port_file, name="fake_gitlab")


if __name__ == "__main__":
    main()
