#!/usr/bin/python3
"""Fake GitHub REST API on 127.0.0.1, for deploybot's integration tests.

  fake_github.py --port 0 --port-file PATH [--token TOKEN] [--login LOGIN] [--verbose]
                 [--app-id N --app-public-key PEM --installation-id N
                  [--installation-repo OWNER/NAME] [--installation-token-ttl-s 3600]]

Requests must send "Authorization: token TOKEN" (or "Bearer TOKEN"), or a
live installation token of the registered GitHub App (githubfake/apps.py).
Endpoints and the /_fake/ admin endpoints: see githubfake/server.py.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakecommon.httpserver import LOOPBACK, LoopbackServer, add_common_args, serve  # noqa: E402
from githubfake.apps import GitHubApp  # noqa: E402
from githubfake.server import GitHubFakeApp, GitHubHandler  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(parser)
    parser.add_argument("--token", default="test-token", help="the only accepted API token")
    parser.add_argument("--login", default="deploybot[bot]",
                        help="login of the user the token belongs to")
    parser.add_argument("--scopes", default="repo",
                        help="the token's scopes, comma-separated (X-OAuth-Scopes); "
                             "'-': a fine-grained token, which reports none")
    parser.add_argument("--permission", default="push", choices=["pull", "push", "admin"],
                        help="the token's user's permission on every repository")
    parser.add_argument("--app-id", type=int, default=None, help="register a GitHub App with this id")
    parser.add_argument("--app-public-key", default=None, help="the app's RSA public key (PEM file)")
    parser.add_argument("--installation-id", type=int, default=None, help="the app's one installation")
    parser.add_argument("--installation-repo", default=None,
                        help="the repository the installation is found for (default: any)")
    parser.add_argument("--installation-token-ttl-s", type=int, default=3600,
                        help="lifetime of an installation token (GitHub: one hour)")
    args = parser.parse_args(argv)
    app_args = (args.app_id, args.app_public_key, args.installation_id)
    if any(a is not None for a in app_args) and not all(a is not None for a in app_args):
        parser.error("--app-id, --app-public-key and --installation-id go together")

    scopes = None if args.scopes == "-" else [s.strip() for s in args.scopes.split(",") if s.strip()]
    app = GitHubFakeApp(args.token, args.login, verbose=args.verbose, scopes=scopes,
                        permission=args.permission)
    if args.app_id is not None:
        with open(args.app_public_key, "rb") as f:
            app.github_app = GitHubApp(args.app_id, f.read(), args.installation_id,
                                       args.installation_repo, args.installation_token_ttl_s)
    server = LoopbackServer(args.port, GitHubHandler, app)
    app.base_url = f"http://{LOOPBACK}:{server.port}"
    serve(server, args.port_file, name="fake_github")


if __name__ == "__main__":
    main()
