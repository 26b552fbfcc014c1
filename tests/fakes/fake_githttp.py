#!/usr/bin/python3
"""Fake git host over HTTPS on 127.0.0.1: `git http-backend` behind GitHub-,
GitLab- or Gitea-style Basic auth, for deploybot's fetch tests.

  fake_githttp.py --port 0 --port-file PATH [--ca-file PATH] [--cert-dir DIR] [--http]
                  --repo NAME=PATH [--repo ...] [--style github|gitlab|gitea]
                  [--token TOKEN]... [--deploy-token USER:TOKEN]... [--user LOGIN]
                  [--password PASSWORD] [--require-user NAME] [--public]
                  [--redirect-to URL] [--redirect-status 301] [--verbose]

TLS by default: a throwaway CA (made with the openssl command line, in
--cert-dir or a temporary directory) signs a certificate for 127.0.0.1 and
localhost; --ca-file receives a copy of the CA certificate (PEM) before the
port file appears, so a client can trust it (GIT_SSL_CAINFO, libgit2's
GIT_OPT_SET_SSL_CERT_LOCATIONS). Clone URL: https://127.0.0.1:PORT/NAME.
Auth rules, answers and the /_fake/ admin endpoints: githttpfake/ and README.md.
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakecommon.httpserver import LOOPBACK, add_common_args, write_port_file  # noqa: E402
from githttpfake.server import (REDIRECT_STATUSES, GitHttpFakeApp, GitHttpHandler,  # noqa: E402
                                GitHttpServer, normalize_repo_name, parse_deploy_token)
from githttpfake.styles import STYLES  # noqa: E402
from githttpfake.tls import server_context  # noqa: E402


def repo_spec(text):
    name, sep, path = text.partition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=PATH")
    try:
        name = normalize_repo_name(name)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    path = os.path.abspath(path)
    if not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{path} is not a directory")
    return name, path


def deploy_token(text):
    try:
        parse_deploy_token(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def write_atomically(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".ca-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(parser)
    parser.add_argument("--style", choices=sorted(STYLES), default="github",
                        help="whose auth rules and error answers (default github)")
    parser.add_argument("--repo", action="append", type=repo_spec, default=[], metavar="NAME=PATH",
                        help="serve the repository at PATH as /NAME (repeatable), "
                             "e.g. acme/infra-config.git=/tmp/x/origin.git")
    parser.add_argument("--token", action="append", default=[],
                        help="a valid token (repeatable; default test-token)")
    parser.add_argument("--deploy-token", action="append", type=deploy_token, default=[],
                        metavar="USER:TOKEN", help="GitLab deploy token (repeatable)")
    parser.add_argument("--user", default="deploybot",
                        help="the account the token belongs to (REMOTE_USER; Gitea password sign-in)")
    parser.add_argument("--password", default=None,
                        help="Gitea: --user's password also signs in (Basic user:password)")
    parser.add_argument("--require-user", default=None,
                        help="the fake's own strictness: the Basic username must be exactly this "
                             "(the hosts do not check it for tokens)")
    parser.add_argument("--public", action="store_true",
                        help="repositories are public: anonymous fetches are allowed")
    parser.add_argument("--redirect-to", default=None, metavar="URL",
                        help="answer every git request with a redirect to URL + the same path")
    parser.add_argument("--redirect-status", type=int, choices=REDIRECT_STATUSES, default=301)
    parser.add_argument("--token-check-url", default=None, metavar="URL",
                        help="also accept a token this URL calls live (POST {\"token\": T} -> "
                             "{\"state\": \"live\"}): the fake GitHub's /_fake/token_check, for "
                             "tokens the API issued (a GitHub App's installation tokens)")
    parser.add_argument("--http", action="store_true", help="plain HTTP instead of TLS")
    parser.add_argument("--cert-dir", default=None,
                        help="where the CA lives (ca.pem, ca.key); made there if missing, so "
                             "instances given the same directory share one CA")
    parser.add_argument("--ca-file", default=None,
                        help="write a copy of the CA certificate (PEM) here before the port file")
    args = parser.parse_args(argv)
    if args.http and (args.cert_dir or args.ca_file):
        parser.error("--http takes no --cert-dir or --ca-file")

    config = {"tokens": args.token or ["test-token"], "deploy_tokens": args.deploy_token,
              "user": args.user, "password": args.password, "require_user": args.require_user,
              "public": args.public, "redirect_to": args.redirect_to,
              "redirect_status": args.redirect_status, "token_check_url": args.token_check_url}
    app = GitHttpFakeApp(args.style, config, dict(args.repo), verbose=args.verbose)

    cleanup = []
    context = None
    if not args.http:
        context, ca_pem, cleanup = server_context(args.cert_dir)
        app.ca_file = os.path.abspath(args.ca_file) if args.ca_file else ca_pem
        if args.ca_file:
            with open(ca_pem, "rb") as f:
                write_atomically(args.ca_file, f.read())

    # SIGTERM (how tests stop a fake) unwinds like Ctrl-C, so the CA key goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = GitHttpServer(args.port, GitHttpHandler, app, context)
    app.base_url = f"{server.scheme}://{LOOPBACK}:{server.port}"
    try:
        if args.port_file:
            write_port_file(args.port_file, server.port)
        print(f"fake_githttp ({args.style}) listening on {app.base_url}", file=sys.stderr, flush=True)
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        for directory in cleanup:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
