"""AssumeRole and GetCallerIdentity.

AssumeRole is AWS's for the roles the configuration trusts (config.py
``roles``): the caller must be the base user (the fake models no role
chaining), the role must be trusted and its external id, if it has one,
given exactly; anything else is AccessDenied with AWS's wording.
DurationSeconds (900 by the model up to the role's MaxSessionDuration,
AWS's default 3600) sets the lifetime, unless the fake-wide
``session_duration_s`` overrides it (to test refreshing before expiry).
"""

import base64
import datetime
import secrets
import string
import time

from ..config import config_of
from ..sigv4 import Session
from .state import action, unique_id

MAX_SESSION_DURATION = 3600     # a role's default MaxSessionDuration
SUPPORTED = {"RoleArn", "RoleSessionName", "ExternalId", "DurationSeconds"}
_KEY_CHARS = string.ascii_uppercase + string.digits


def _denied(state, caller, role_arn):
    return state.error("AccessDenied", f"User: {caller['arn']} is not authorized to perform: "
                                       f"sts:AssumeRole on resource: {role_arn}", 403)


@action("AssumeRole")
def assume_role(state, params):
    unsupported = sorted(set(params) - SUPPORTED)
    if unsupported:
        raise state.error("ValidationError", f"The fake does not support AssumeRole {unsupported[0]}")
    caller = state.caller
    role_arn, session_name = params["RoleArn"], params["RoleSessionName"]
    if caller is None or caller["type"] != "user":
        raise _denied(state, caller or {"arn": "anonymous"}, role_arn)
    trusted = config_of(state).roles
    if role_arn not in trusted:
        raise _denied(state, caller, role_arn)
    if trusted[role_arn] is not None and params.get("ExternalId") != trusted[role_arn]:
        raise _denied(state, caller, role_arn)
    duration = params.get("DurationSeconds", MAX_SESSION_DURATION)
    if duration > MAX_SESSION_DURATION:
        raise state.error("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration "
                                             "set for this role.")
    lifetime = config_of(state).session_duration_s or duration
    expires = float(int(time.time() + lifetime))    # whole seconds: exactly the Expiration shown

    account, role_name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
    access_key = "ASIA" + "".join(secrets.choice(_KEY_CHARS) for _ in range(16))
    secret = base64.b64encode(secrets.token_bytes(30)).decode()
    token = "FwoGZXIvYXdzE" + base64.b64encode(secrets.token_bytes(180)).decode()
    user_id = f"{unique_id('AROA', role_arn)}:{session_name}"
    principal = {"type": "assumed-role",
                 "arn": f"arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}",
                 "account": account, "user_id": user_id, "access_key": access_key,
                 "role_arn": role_arn, "session_name": session_name}
    state.sessions[access_key] = Session(access_key, secret, token, expires, principal)
    expiration = datetime.datetime.fromtimestamp(int(expires), datetime.timezone.utc)
    return {"Credentials": {"AccessKeyId": access_key, "SecretAccessKey": secret, "SessionToken": token,
                            "Expiration": expiration},
            "AssumedRoleUser": {"AssumedRoleId": user_id, "Arn": principal["arn"]}}


@action("GetCallerIdentity")
def get_caller_identity(state, params):
    caller = state.caller
    return {"UserId": caller["user_id"], "Account": caller["account"], "Arn": caller["arn"]}
