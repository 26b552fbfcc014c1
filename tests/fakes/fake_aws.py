#!/usr/bin/python3
"""Fake AWS (EC2, ELBv2, IAM, Route53) on 127.0.0.1, for deploybot's integration tests.

  fake_aws.py --port 0 --port-file PATH [--access-key AKID --secret-key SECRET]
              [--session-token TOKEN] [--region eu-west-1] [--account-id 123456789012]
              [--transition-ms 200] [--verbose]

Point clients at http://127.0.0.1:PORT with the same key pair and region.
Every request must carry a valid SigV4 signature. Admin endpoints for tests
are under /_fake/ (see awsfake/server.py and tests/fakes/README.md).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from awsfake.ec2 import Ec2Service            # noqa: E402
from awsfake.elbv2 import Elbv2Service        # noqa: E402
from awsfake.iam import IamService            # noqa: E402
from awsfake.registry import Registry         # noqa: E402
from awsfake.route53 import Route53Service    # noqa: E402
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
    parser.add_argument("--transition-ms", type=int, default=200,
                        help="longest time an asynchronous change takes (load balancer active, ...)")
    args = parser.parse_args(argv)

    verifier = Verifier({args.access_key: args.secret_key}, session_token=args.session_token)
    # The services see each other (and share one lock) through the registry.
    registry = Registry(transition_ms=args.transition_ms)
    services = [cls(args.region, args.account_id, registry)
                for cls in (Ec2Service, Elbv2Service, IamService, Route53Service)]
    app = AwsFakeApp(services, verifier, verbose=args.verbose)
    server = LoopbackServer(args.port, AwsHandler, app)
    serve(server, args.port_file, name="fake_aws")


if __name__ == "__main__":
    main()
