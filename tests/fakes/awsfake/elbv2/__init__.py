"""The fake Elastic Load Balancing v2 service (API version 2015-12-01,
Query protocol, signing name ``elasticloadbalancing``).

Application load balancers (provisioning -> active after the registry's
transition time; deleted ones linger that long, still holding their subnets
and security groups), target groups with instance targets, listeners with
forward / redirect / fixed-response default actions, and tags. Subnets,
security groups, internet gateways and instances are EC2's, read through
the registry; EC2 asks back who uses its groups and subnets.
"""

from ..query import QueryProtocol
from ..service import ModelService
from .state import ACTIONS, Elbv2State
# Importing the action modules registers their handlers in ACTIONS.
from . import listeners, load_balancers, tags, target_groups  # noqa: F401


class Elbv2Service(ModelService):
    signing_name = "elasticloadbalancing"
    model_name = "elbv2"
    api_version = "2015-12-01"
    protocol_class = QueryProtocol
    state_class = Elbv2State

    def __init__(self, region, account_id, registry):
        super().__init__(region, account_id, registry, ACTIONS)
        registry.on_users(self._users)

    def _users(self, kind, resource_id):
        """What EC2 must not delete: groups and subnets of (even deleting)
        load balancers, and the internet gateway of a VPC with a public one."""
        self.state.tick()
        found = []
        for lb in self.state.lbs.values():
            holds = {"security-group": lb["SecurityGroups"],
                     "subnet": [z["SubnetId"] for z in lb["AvailabilityZones"]],
                     "vpc-public-addresses": [lb["VpcId"]] if lb["Scheme"] == "internet-facing" else []}
            if resource_id in holds.get(kind, []):
                found.append(f"load balancer {lb['LoadBalancerArn']}")
        return found
