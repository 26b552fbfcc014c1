#!/usr/bin/python3
"""Fake Gitea / Forgejo REST API v1 on 127.0.0.1, for deploybot's integration tests.

  fake_gitea.py --port 0 --port-file PATH [--token TOKEN] [--login NAME]
                [--repo OWNER/NAME[=ID]]... [--default-branch main] [--private]
                [--flavor gitea|forgejo] [--version X.Y.Z] [--scopes S,...]
                [--permission read|write|admin] [--known-commits-only] [--verbose]

The API lives under /api/v1 (give the bot http://127.0.0.1:PORT/api/v1).
Requests authenticate with "Authorization: token TOKEN" (or "Bearer TOKEN").
Endpoints and the /_fake/ admin endpoints: see giteafake/server.py and README.md.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakecommon.httpserver import LOOPBACK, LoopbackServer, add_common_args, serve  # noqa: E402
from giteafake.server import (FLAVORS, PERMISSIONS, GiteaFakeApp, GiteaHandler,  # noqa: E402
                              parse_version, valid_scope)


def repo_spec(text):
    name, sep, rid = text.partition("=")
    owner, _, repo = name.partition("/")
    if not owner or not repo or "/" in repo or (sep and not rid.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r}: expected owner/name or owner/name=ID")
    spec = {"full_name": name}
    if sep:
        spec["id"] = int(rid)
    return spec


def scope_list(text):
    scopes = [s for s in text.split(",") if s]
    bad = [s for s in scopes if not valid_scope(s)]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown scopes {bad}")
    return scopes


def version_text(text):
    try:
        parse_version(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(parser)
    parser.add_argument("--token", default="test-token", help="the only accepted token")
    parser.add_argument("--login", default="deploybot", help="the token's user")
    parser.add_argument("--user-id", type=int, default=3)
    parser.add_argument("--repo", action="append", type=repo_spec, default=[],
                        metavar="OWNER/NAME[=ID]", help="a repository that exists (repeatable)")
    parser.add_argument("--default-branch", default="main")
    parser.add_argument("--private", action="store_true",
                        help="--repo repositories are private (anonymous requests get 404)")
    parser.add_argument("--flavor", choices=sorted(FLAVORS), default="gitea")
    parser.add_argument("--version", type=version_text, default=None,
                        help="server version (default gitea 1.23.0, forgejo 11.0.0); "
                             "decides whether the skipped state exists")
    parser.add_argument("--scopes", type=scope_list, default=None,
                        help="token scopes (default write:repository,write:issue,read:user; all)")
    parser.add_argument("--permission", choices=PERMISSIONS, default="write",
                        help="the user's permission on every repository")
    parser.add_argument("--known-commits-only", action="store_true",
                        help="only commits and issues registered through the admin API exist")
    args = parser.parse_args(argv)

    app = GiteaFakeApp(args.token, args.login, args.user_id, args.flavor, args.version,
                       args.scopes, args.permission, args.known_commits_only,
                       verbose=args.verbose)
    for spec in args.repo:
        spec.update(default_branch=args.default_branch, private=args.private)
        app.store.add_cli_repo(spec)
    server = LoopbackServer(args.port, GiteaHandler, app)
    app.base_url = f"http://{LOOPBACK}:{server.port}"
    serve(server, args.port_file, name="fake_gitea")


if __name__ == "__main__":
    main()
