"""IAM state: roles and instance profiles of one account, and the rules
every IAM entity shares (names unique ignoring case, paths, tags, ids,
Marker/MaxItems pagination).

Entities are dicts shaped like the output shapes (``RoleName``, ``Path``,
``Arn``...); keys starting with ``_`` are bookkeeping. Policy documents are
kept as sent and URL-encoded on the way out, as IAM answers them (boto3
decodes them again).
"""

import datetime
import json
import secrets
import string
from urllib.parse import quote

from ..config import config_of
from ..markers import page
from ..service import ServiceState

ACTIONS = {}
MAX_TAGS = 50
DEFAULT_MAX_ITEMS = 100
_ID_CHARS = string.ascii_uppercase + string.digits


def action(name):
    def register(fn):
        ACTIONS[name] = fn
        return fn
    return register


class IamState(ServiceState):
    def __init__(self, service):
        super().__init__(service)
        self.roles = {}       # lower-cased name -> role
        self.profiles = {}    # lower-cased name -> instance profile

    def new_id(self, prefix):
        return prefix + "".join(secrets.choice(_ID_CHARS) for _ in range(17))

    def arn(self, kind, path, name):
        return f"arn:aws:iam::{self.account_id}:{kind}{path}{name}"

    def now(self):
        return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def role(self, name):
        role = self.roles.get(name.lower())
        if role is None:
            raise self.error("NoSuchEntity", f"The role with name {name} cannot be found.")
        return role

    def profile(self, name):
        profile = self.profiles.get(name.lower())
        if profile is None:
            raise self.error("NoSuchEntity", f"Instance Profile {name} cannot be found.")
        return profile

    def dump(self):
        return {"role": [dict(r, AttachedPolicies=list(r["_policies"])) for r in self.roles.values()],
                "instance-profile": [profile_view(self, p) for p in self.profiles.values()]}


def check_path(state, path):
    if not (path == "/" or (path.startswith("/") and path.endswith("/") and "//" not in path)):
        raise state.error("ValidationError", "The specified value for path is invalid. It must begin "
                                             "and end with / and contain only alphanumeric characters "
                                             "and/or / characters.")


def path_prefix(state, params):
    """The PathPrefix of a List* call, or "/" (everything) under the
    ignore_filters switch (config.py)."""
    prefix = params.get("PathPrefix", "/")
    return "/" if config_of(state).ignore_filters else prefix


def check_tags(state, existing, new):
    """Tags after adding ``new`` (same key, ignoring case, replaces)."""
    seen = set()
    for tag in new:
        key = tag["Key"]
        if key.lower().startswith("aws:"):
            raise state.error("InvalidInput", "User-provided tag keys cannot start with the prefix 'aws:'.")
        if key.lower() in seen:
            raise state.error("InvalidInput", f"Duplicate tag keys found. Tag key '{key}' appears more "
                                              "than once.")
        seen.add(key.lower())
    merged = {t["Key"].lower(): t for t in existing}
    for tag in new:
        merged[tag["Key"].lower()] = {"Key": tag["Key"], "Value": tag.get("Value", "")}
    if len(merged) > MAX_TAGS:
        raise state.error("LimitExceeded", f"Cannot exceed quota for TagsPerRole: {MAX_TAGS}.")
    return list(merged.values())


def paged(state, items, params, result_key, sort_key):
    """Marker/MaxItems/IsTruncated over items, as every IAM List* call does."""
    chunk, marker = page(items, params.get("Marker"), params.get("MaxItems", DEFAULT_MAX_ITEMS),
                         sort_key)
    result = {result_key: chunk, "IsTruncated": marker is not None}
    if marker:
        result["Marker"] = marker
    return result


def role_view(role, full=True):
    """A role as IAM shows it: the policy URL-encoded; List* calls leave out
    tags and last use (IAM only returns them from GetRole)."""
    out = {k: v for k, v in role.items() if not k.startswith("_") and k != "Tags"}
    out["AssumeRolePolicyDocument"] = quote(role["AssumeRolePolicyDocument"], safe="")
    if full:
        if role["Tags"]:
            out["Tags"] = role["Tags"]
        out["RoleLastUsed"] = {}
    return out


def profile_view(state, profile, full=True):
    out = {k: v for k, v in profile.items() if not k.startswith("_") and k != "Tags"}
    out["Roles"] = [role_view(state.roles[n], full=False) for n in profile["_roles"]]
    if full and profile["Tags"]:
        out["Tags"] = profile["Tags"]
    return out


def parse_policy(state, document):
    try:
        doc = json.loads(document)
    except ValueError:
        raise state.error("MalformedPolicyDocument", "This policy contains invalid Json") from None
    if not isinstance(doc, dict) or "Statement" not in doc:
        raise state.error("MalformedPolicyDocument", "Syntax errors in policy.")
    return doc
