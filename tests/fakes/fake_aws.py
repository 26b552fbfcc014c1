#!/usr/bin/python3
"""Fake AWS (EC2, ELBv2, IAM, Route53, STS) on 127.0.0.1, for deploybot's integration tests.

  fake_aws.py --port 0 --port-file PATH [--access-key AKID --secret-key SECRET]
              [--session-token TOKEN] [--region eu-west-1] [--account-id 123456789012]
              [--user-name deploybot] [--transition-ms 200] [--ignore-filters]
              [--error-shape native|ec2|query|errors-under-errorresponse]
              [--role ARN[:EXTERNAL_ID]]... [--session-duration-s N]
              [--eventual-consistency-ms N] [--throttle] [--throttle-scale F]
              [--timing off|fixed|random] [--timing-scale F] [--latency-ms N] [--verbose]

Point clients at http://127.0.0.1:PORT with the same key pair and region.
Every request must carry a valid SigV4 signature. Admin endpoints for tests
are under /_fake/ (see awsfake/server.py and tests/fakes/README.md).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from awsfake.config import ERROR_SHAPES, FakeConfig  # noqa: E402
from awsfake.ec2 import Ec2Service            # noqa: E402
from awsfake.elbv2 import Elbv2Service        # noqa: E402
from awsfake.iam import IamService            # noqa: E402
from awsfake.registry import Registry         # noqa: E402
from awsfake.route53 import Route53Service    # noqa: E402
from awsfake.server import AwsFakeApp, AwsHandler  # noqa: E402
from awsfake.sigv4 import Verifier            # noqa: E402
from awsfake.sts import StsService            # noqa: E402
from awsfake.sts.state import user_principal  # noqa: E402
from awsfake.timing import MODES as TIMING_MODES  # noqa: E402
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
    parser.add_argument("--user-name", default="deploybot",
                        help="IAM user the key pair belongs to (GetCallerIdentity, calls log)")
    parser.add_argument("--transition-ms", type=int, default=200,
                        help="longest time an asynchronous change takes (load balancer active, ...)")
    parser.add_argument("--ignore-filters", action="store_true",
                        help="Describe*/List* ignore server-side filters (Filters, PathPrefix, Names)")
    parser.add_argument("--error-shape", choices=ERROR_SHAPES, default="native",
                        help="error document of every service (native: each service's own)")
    parser.add_argument("--role", action="append", default=[], metavar="ARN[:EXTERNAL_ID]",
                        help="a role STS lets the key pair assume (repeatable)")
    parser.add_argument("--session-duration-s", type=int, default=None,
                        help="lifetime of AssumeRole credentials, whatever DurationSeconds asks")
    parser.add_argument("--eventual-consistency-ms", type=int, default=0,
                        help="a new EC2 resource is NotFound by id for this long (0: off)")
    parser.add_argument("--throttle", action="store_true",
                        help="EC2 token-bucket throttling (RequestLimitExceeded)")
    parser.add_argument("--throttle-scale", type=float, default=1.0,
                        help="multiplies every throttling bucket's size and refill rate")
    parser.add_argument("--timing", choices=TIMING_MODES, default="off",
                        help="timing profile of asynchronous changes (awsfake/timing.py): "
                             "fixed figures (bench), random ones within AWS's range, or off")
    parser.add_argument("--timing-scale", type=float, default=1.0,
                        help="multiplies every figure of the timing profile (0.01: 100 times faster)")
    parser.add_argument("--latency-ms", type=int, default=0,
                        help="answer every API call this much later (concurrent calls wait side by side)")
    args = parser.parse_args(argv)
    # Calls waiting side by side (--latency-ms) are many threads: a thread
    # accepting the next connection should not wait out the default 5 ms
    # of every busy one before it runs.
    sys.setswitchinterval(0.0005)

    try:
        config = FakeConfig(ignore_filters=args.ignore_filters, error_shape=args.error_shape,
                            eventual_consistency_ms=args.eventual_consistency_ms,
                            throttle=args.throttle, throttle_scale=args.throttle_scale,
                            session_duration_s=args.session_duration_s,
                            roles=args.role, timing=args.timing, timing_scale=args.timing_scale,
                            latency_ms=args.latency_ms)
    except ValueError as e:
        parser.error(str(e))
    # The services see each other (and share one lock and the config) through the registry.
    registry = Registry(transition_ms=args.transition_ms, config=config)
    services = [cls(args.region, args.account_id, registry)
                for cls in (Ec2Service, Elbv2Service, IamService, Route53Service, StsService)]
    sts = services[-1]
    verifier = Verifier({args.access_key: args.secret_key}, session_token=args.session_token,
                        principals={args.access_key: user_principal(args.account_id, args.user_name,
                                                                    args.access_key)},
                        sessions=sts.session)
    app = AwsFakeApp(services, verifier, verbose=args.verbose, config=config)
    server = LoopbackServer(args.port, AwsHandler, app)
    serve(server, args.port_file, name="fake_aws")


if __name__ == "__main__":
    main()
