"""The fake IAM service (API version 2010-05-08, Query protocol, global:
signed for us-east-1 whatever the fake's region).

Roles with their attached managed policies and tags, and instance profiles.
"""

from ..query import QueryProtocol
from ..service import ModelService
from .state import ACTIONS, IamState
# Importing the action modules registers their handlers in ACTIONS.
from . import instance_profiles, roles  # noqa: F401


class IamService(ModelService):
    signing_name = "iam"
    model_name = "iam"
    api_version = "2010-05-08"
    global_service = True
    protocol_class = QueryProtocol
    state_class = IamState

    def __init__(self, region, account_id, registry):
        super().__init__(region, account_id, registry, ACTIONS)
