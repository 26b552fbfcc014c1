"""The frame of a model-driven service (IAM, ELBv2, Route53; EC2 predates it).

A service is its botocore model, a wire protocol, a table of action
handlers ``fn(state, params) -> dict`` and a state object rebuilt on reset.
It runs under the registry's shared lock (see registry.py). Handlers raise
errors with ``state.error(code, message)``, which takes the HTTP status
from the model's error shapes (IAM's NoSuchEntity is a 404, not a 400).
"""

import datetime

from .ec2 import lifecycle
from .errors import AwsError
from .model import ServiceModel
from .query import timestamp_text


def error_statuses(model):
    """{error code: HTTP status} from the model's exception shapes."""
    table = {}
    for name, shape in model.shapes.items():
        if not shape.get("exception"):
            continue
        err = shape.get("error", {})
        table[err.get("code", name)] = err.get("httpStatusCode") or 400
    return table


class ServiceState:
    """Base of a service's state: knows its service, region, account and clock."""

    def __init__(self, service):
        self.service = service
        self.region = service.region
        self.account_id = service.account_id
        self.registry = service.registry
        self.model = service.model
        self.caller = None
        self._seq = 0

    def next_seq(self):
        self._seq += 1
        return self._seq

    def error(self, code, message, status=None):
        return AwsError(code, message, status or self.service.statuses.get(code, 400))

    def tick(self):
        """Completes the transitions that are due; called before every action."""

    # Asynchronous state changes (a load balancer provisioning, a DNS change
    # propagating) follow EC2's rule (ec2/lifecycle.py): done at the first call
    # after a Describe has shown the transitional state once, or after the
    # registry's transition time, or the timing profile's time when it is on.
    @staticmethod
    def begin(thing, kind=None):
        lifecycle.begin(thing, kind)

    @staticmethod
    def seen(thing):
        lifecycle.seen(thing)

    def due(self, thing):
        return lifecycle.due(self, thing)

    @staticmethod
    def done(thing):
        lifecycle.done(thing)

    def dump(self):
        return {}


class ModelService:
    signing_name = None      # the service in the SigV4 credential scope
    model_name = None        # botocore's directory name
    api_version = None
    global_service = False   # IAM, Route53: always signed for us-east-1
    protocol_class = None
    state_class = ServiceState

    def __init__(self, region, account_id, registry, actions):
        self.region = region
        self.account_id = account_id
        self.registry = registry
        self.actions = actions
        self.model = ServiceModel(self.model_name, self.api_version)
        self.protocol = self.protocol_class(self.model)
        self.statuses = error_statuses(self.model)
        self.lock = registry.lock
        registry.add(self)
        self.reset()

    def reset(self):
        with self.lock:
            self.state = self.state_class(self)

    def signing_region(self):
        return "us-east-1" if self.global_service else self.region

    def signing_regions(self):
        """Regions a request may be signed for."""
        return (self.signing_region(),)

    def knows_action(self, name):
        return name in self.model.operations

    def implements(self, name):
        return name in self.actions

    def handle(self, name, params, caller=None):
        """Runs an action; ``caller`` is the principal that signed it
        (sigv4.Verifier), seen by handlers as ``state.caller``."""
        with self.lock:
            self.state.tick()
            self.state.caller = caller
            return self.actions[name](self.state, params)

    def dump(self):
        with self.lock:
            self.state.tick()
            return _public(self.state.dump())


def _public(value):
    """For GET /_fake/state: without the fake's bookkeeping keys (leading '_'),
    timestamps as the wire shows them."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    if isinstance(value, datetime.datetime):
        return timestamp_text(value)
    return value
