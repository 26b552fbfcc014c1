"""The fake Route53 service (API version 2013-04-01, REST-XML, global:
signed for us-east-1 whatever the fake's region).

Public hosted zones (with their SOA and NS records), record sets changed in
atomic batches, and changes that go from PENDING to INSYNC after the
registry's transition time.
"""

from ..restxml import RestXmlProtocol
from ..service import ModelService
from .state import ACTIONS, Route53State
# Importing the action modules registers their handlers in ACTIONS.
from . import records, zones  # noqa: F401


class Route53Service(ModelService):
    signing_name = "route53"
    model_name = "route53"
    api_version = "2013-04-01"
    global_service = True
    protocol_class = RestXmlProtocol
    state_class = Route53State

    def __init__(self, region, account_id, registry):
        super().__init__(region, account_id, registry, ACTIONS)
