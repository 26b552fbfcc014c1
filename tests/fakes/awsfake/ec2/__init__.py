"""The fake EC2 service (API version 2016-11-15)."""

from ..ec2query import Ec2QueryProtocol
from ..model import ServiceModel
from ..registry import Registry
from .actions import ACTIONS, BACKGROUND
from .state import Ec2State
# Importing the action modules registers their handlers in ACTIONS.
from . import internet_gateways, route_tables, security_groups, subnets, tags, vpcs, zones  # noqa: F401
from . import addresses, nat_gateways, network_acls  # noqa: F401
from . import instances, launch_templates, snapshots, volumes  # noqa: F401


class Ec2Service:
    signing_name = "ec2"        # the service in the SigV4 credential scope
    api_version = "2016-11-15"

    def __init__(self, region, account_id, registry=None):
        self.region = region
        self.account_id = account_id
        self.model = ServiceModel("ec2", self.api_version)
        self.protocol = Ec2QueryProtocol(self.model)
        # Every action runs alone, which is what makes multi-step handlers
        # (create VPC + main route table + default group) atomic for concurrent
        # clients; the lock is the registry's, shared with the other services
        # (ELBv2 reads subnets, EC2 asks ELBv2 who uses a group: registry.py).
        self.registry = registry or Registry()
        self.lock = self.registry.lock
        self.registry.add(self)
        # Instances hold their subnet and security groups (DependencyViolation).
        self.registry.on_users(lambda kind, rid: instances.users(self.state, kind, rid))
        self.reset()

    def reset(self):
        with self.lock:
            self.state = Ec2State(self.region, self.account_id)
            self.state.model = self.model
            self.state.registry = self.registry

    def signing_region(self):
        return self.region

    def signing_regions(self):
        return (self.region,)

    def knows_action(self, name):
        return name in self.model.operations

    def implements(self, name):
        return name in ACTIONS

    def handle(self, name, params, caller=None):
        """Run an action; the caller holds self.lock while it also serializes
        the result (results are the live resource dicts). ``caller``, the
        signing principal, does not matter to EC2."""
        with self.lock:
            for settle in BACKGROUND:
                settle(self.state)
            return ACTIONS[name](self.state, params)

    def dump(self):
        with self.lock:
            for settle in BACKGROUND:
                settle(self.state)
            return self.state.dump()
