"""Roles: CreateRole, GetRole, ListRoles, DeleteRole, AttachRolePolicy,
DetachRolePolicy, ListAttachedRolePolicies, TagRole, ListRoleTags.

Only AWS managed policies exist in the fake (customer policies are not
modelled); the ones listed in MANAGED_POLICIES can be attached, any other
ARN is NoSuchEntity as in an account that lacks it.
"""

from .state import action, check_path, check_tags, paged, path_prefix, parse_policy, role_view

MAX_POLICIES_PER_ROLE = 10     # AWS's default quota
# name -> path of AWS managed policies (a few common ones; AWS has ~1000).
MANAGED_POLICIES = {
    "AmazonSSMManagedInstanceCore": "/",
    "CloudWatchAgentServerPolicy": "/",
    "AmazonEC2ReadOnlyAccess": "/",
    "AmazonS3ReadOnlyAccess": "/",
    "AmazonS3FullAccess": "/",
    "ReadOnlyAccess": "/",
    "AdministratorAccess": "/",
    "AmazonEC2RoleforSSM": "/service-role/",
    "AmazonSSMManagedEC2InstanceDefaultPolicy": "/",
    "AmazonElasticFileSystemClientReadWriteAccess": "/",
}


def _policy(state, arn):
    prefix = "arn:aws:iam::aws:policy"
    if not arn.startswith("arn:aws:iam::") or ":policy/" not in arn:
        raise state.error("InvalidInput", f"ARN {arn} is not valid.")
    name = arn.rsplit("/", 1)[-1]
    if not arn.startswith(prefix) or arn != f"{prefix}{MANAGED_POLICIES.get(name, '?')}{name}":
        raise state.error("NoSuchEntity", f"Policy {arn} does not exist or is not attachable.")
    return {"PolicyName": name, "PolicyArn": arn, "_path": MANAGED_POLICIES[name]}


@action("CreateRole")
def create_role(state, params):
    name, path = params["RoleName"], params.get("Path", "/")
    check_path(state, path)
    parse_policy(state, params["AssumeRolePolicyDocument"])
    if name.lower() in state.roles:
        raise state.error("EntityAlreadyExists", f"Role with name {name} already exists.")
    duration = params.get("MaxSessionDuration", 3600)
    if not 3600 <= duration <= 43200:
        raise state.error("ValidationError", "The requested MaxSessionDuration exceeds the allowed range "
                                             "(3600 to 43200 seconds).")
    role = {"Path": path, "RoleName": name, "RoleId": state.new_id("AROA"),
            "Arn": state.arn("role", path, name), "CreateDate": state.now(),
            "AssumeRolePolicyDocument": params["AssumeRolePolicyDocument"],
            "MaxSessionDuration": duration, "Tags": check_tags(state, [], params.get("Tags", [])),
            "_policies": [], "_seq": state.next_seq()}
    if params.get("Description") is not None:
        role["Description"] = params["Description"]
    state.roles[name.lower()] = role
    return {"Role": role_view(role)}


@action("GetRole")
def get_role(state, params):
    return {"Role": role_view(state.role(params["RoleName"]))}


@action("ListRoles")
def list_roles(state, params):
    prefix = path_prefix(state, params)
    roles = [r for r in state.roles.values() if r["Path"].startswith(prefix)]
    result = paged(state, roles, params, "Roles", lambda r: (r["RoleName"].lower(),))
    result["Roles"] = [role_view(r, full=False) for r in result["Roles"]]
    return result


@action("DeleteRole")
def delete_role(state, params):
    role = state.role(params["RoleName"])
    if any(role["RoleName"].lower() in p["_roles"] for p in state.profiles.values()):
        raise state.error("DeleteConflict", "Cannot delete entity, must remove roles from instance "
                                            "profile first.")
    if role["_policies"]:
        raise state.error("DeleteConflict", "Cannot delete entity, must detach all policies first.")
    del state.roles[role["RoleName"].lower()]
    return {}


@action("AttachRolePolicy")
def attach_role_policy(state, params):
    role = state.role(params["RoleName"])
    policy = _policy(state, params["PolicyArn"])
    if any(p["PolicyArn"] == policy["PolicyArn"] for p in role["_policies"]):
        return {}       # attaching twice is a no-op in IAM
    if len(role["_policies"]) >= MAX_POLICIES_PER_ROLE:
        raise state.error("LimitExceeded", f"Cannot exceed quota for PoliciesPerRole: {MAX_POLICIES_PER_ROLE}")
    role["_policies"].append(policy)
    return {}


@action("DetachRolePolicy")
def detach_role_policy(state, params):
    role = state.role(params["RoleName"])
    arn = params["PolicyArn"]
    if not any(p["PolicyArn"] == arn for p in role["_policies"]):
        raise state.error("NoSuchEntity", f"Policy {arn} was not found.")
    role["_policies"] = [p for p in role["_policies"] if p["PolicyArn"] != arn]
    return {}


@action("ListAttachedRolePolicies")
def list_attached_role_policies(state, params):
    role = state.role(params["RoleName"])
    check_path(state, params.get("PathPrefix", "/"))
    prefix = path_prefix(state, params)
    policies = [{"PolicyName": p["PolicyName"], "PolicyArn": p["PolicyArn"]}
                for p in role["_policies"] if p["_path"].startswith(prefix)]
    return paged(state, policies, params, "AttachedPolicies", lambda p: (p["PolicyName"],))


@action("TagRole")
def tag_role(state, params):
    role = state.role(params["RoleName"])
    role["Tags"] = check_tags(state, role["Tags"], params["Tags"])
    return {}


@action("ListRoleTags")
def list_role_tags(state, params):
    role = state.role(params["RoleName"])
    return paged(state, role["Tags"], params, "Tags", lambda t: (t["Key"],))
