#!/usr/bin/python3
"""Fake GitHub REST API on 127.0.0.1, for deploybot's integration tests.

  fake_github.py --port 0 --port-file PATH [--token TOKEN] [--login LOGIN] [--verbose]

Requests must send "Authorization: token TOKEN" (or "Bearer TOKEN").
Endpoints and the /_fake/ admin endpoints: see githubfake/server.py.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakecommon.httpserver import LOOPBACK, LoopbackServer, add_common_args, serve  # noqa: E402
from githubfake.server import GitHubFakeApp, GitHubHandler  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(parser)
    parser.add_argument("--token", default="test-token", help="the only accepted API token")
    parser.add_argument("--login", default="deploybot[bot]",
                        help="login of the user the token belongs to")
    args = parser.parse_args(argv)

    app = GitHubFakeApp(args.token, args.login, verbose=args.verbose)
    server = LoopbackServer(args.port, GitHubHandler, app)
    app.base_url = f"http://{LOOPBACK}:{server.port}"
    serve(server, args.port_file, name="fake_github")


if __name__ == "__main__":
    main()
