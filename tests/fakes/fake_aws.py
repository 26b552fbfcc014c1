#!/usr/bin/python3
"""Fake AWS (EC2 for now) on 127.0.0.1, for deploybot's integration tests.

  fake_aws.py --port 0 --port-file PATH [--access-key AKID --secret-key SECRET]
              [--session-token TOKEN] [--region eu-west-1] [--account-id 123456789012]
              [--verbose]

Point clients at http://127.0.0.1:PORT with the same key pair and region.
Every request must carry a valid SigV4 signature. Admin endpoints for tests
are under /_fake/ (see awsfake/server.py and tests/fakes/README.md).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from awsfake.ec2 import Ec2Service            # noqa: E402
from awsfake.server import AwsFakeApp, AwsHandler  # noqa: E402
from awsfake.sigv4 import Verifier            # noqa: E402
from fakecommon.httpserver import LoopbackServer, add_common_args, serve  # noqa: E402

# The documentation's example key pair: obviously fake, and what tests default to.
DEFAULT_ACCESS_KEY = "AKIDEXAMPLE"
DEFAULT_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(parser)
    parser.add_argument("--access-key", default=DEFAULT_ACCESS_KEY)
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    parser.add_argument("--session-token", default=None,
                        help="require this X-Amz-Security-Token (default: accept any or none)")
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--account-id", default="123456789012")
    args = parser.parse_args(argv)

    verifier = Verifier({args.access_key: args.secret_key}, session_token=args.session_token)
    services = [Ec2Service(args.region, args.account_id)]
    app = AwsFakeApp(services, verifier, verbose=args.verbose)
    server = LoopbackServer(args.port, AwsHandler, app)
    serve(server, args.port_file, name="fake_aws")


if __name__ == "__main__":
    main()
