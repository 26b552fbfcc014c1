"""The fake STS service (API version 2011-06-15, Query protocol, signing
name ``sts``; signed for the fake's region or, as the global endpoint is,
for us-east-1).

AssumeRole of the roles the fake is told to trust (``--role``, or
``roles`` in POST /_fake/config) by the base user, and GetCallerIdentity.
The temporary credentials it hands out are what the HTTP front accepts
afterwards (sigv4.Verifier asks ``session``), until they expire.
"""

from ..query import QueryProtocol
from ..service import ModelService
from .state import ACTIONS, StsState
# Importing the action modules registers their handlers in ACTIONS.
from . import credentials  # noqa: F401


class StsService(ModelService):
    signing_name = "sts"
    model_name = "sts"
    api_version = "2011-06-15"
    protocol_class = QueryProtocol
    state_class = StsState

    def __init__(self, region, account_id, registry):
        super().__init__(region, account_id, registry, ACTIONS)

    def signing_regions(self):
        return (self.region, "us-east-1")

    def session(self, access_key):
        """The sigv4.Session of temporary credentials, or None (for the Verifier)."""
        return self.state.sessions.get(access_key)
