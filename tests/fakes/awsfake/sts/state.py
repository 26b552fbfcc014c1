"""STS state: the temporary credentials handed out (by access key id), and
the principals that sign requests.

A principal is a dict (it is what the admin calls log shows):
  type         "user" (the fake's long-term key pair) or "assumed-role"
  arn          arn:aws:iam::ACCOUNT:user/NAME, or
               arn:aws:sts::ACCOUNT:assumed-role/ROLE-NAME/SESSION-NAME
  account      the account of the user, or of the role
  user_id      AIDA... for a user, AROA...:SESSION-NAME for a role session
  access_key   the access key id that signed
  role_arn, session_name   (assumed roles only)
"""

import hashlib

from ..service import ServiceState

ACTIONS = {}
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def action(name):
    def register(fn):
        ACTIONS[name] = fn
        return fn
    return register


def unique_id(prefix, seed):
    """An IAM unique id (AIDA..., AROA...): the prefix and 17 characters, stable for a seed."""
    digest = hashlib.sha256(seed.encode()).digest()
    return prefix + "".join(_ID_CHARS[b % len(_ID_CHARS)] for b in digest[:17])


def user_principal(account_id, user_name, access_key):
    arn = f"arn:aws:iam::{account_id}:user/{user_name}"
    return {"type": "user", "arn": arn, "account": account_id,
            "user_id": unique_id("AIDA", arn), "access_key": access_key}


class StsState(ServiceState):
    def __init__(self, service):
        super().__init__(service)
        self.sessions = {}     # access key id -> sigv4.Session
        self.caller = None     # principal of the call being handled (ModelService.handle)

    def dump(self):
        return {"session": [dict(s.principal, expires=s.expires) for s in self.sessions.values()]}
