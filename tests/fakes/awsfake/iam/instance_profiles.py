"""Instance profiles: CreateInstanceProfile, GetInstanceProfile,
ListInstanceProfiles, AddRoleToInstanceProfile, RemoveRoleFromInstanceProfile,
DeleteInstanceProfile. A profile holds at most one role (AWS's quota)."""

from .state import action, check_path, check_tags, paged, path_prefix, profile_view

MAX_ROLES_PER_PROFILE = 1


@action("CreateInstanceProfile")
def create_instance_profile(state, params):
    name, path = params["InstanceProfileName"], params.get("Path", "/")
    check_path(state, path)
    if name.lower() in state.profiles:
        raise state.error("EntityAlreadyExists", f"Instance Profile {name} already exists.")
    profile = {"Path": path, "InstanceProfileName": name, "InstanceProfileId": state.new_id("AIPA"),
               "Arn": state.arn("instance-profile", path, name), "CreateDate": state.now(),
               "Tags": check_tags(state, [], params.get("Tags", [])), "_roles": [],
               "_seq": state.next_seq()}
    state.profiles[name.lower()] = profile
    return {"InstanceProfile": profile_view(state, profile)}


@action("GetInstanceProfile")
def get_instance_profile(state, params):
    return {"InstanceProfile": profile_view(state, state.profile(params["InstanceProfileName"]))}


@action("ListInstanceProfiles")
def list_instance_profiles(state, params):
    prefix = path_prefix(state, params)
    profiles = [p for p in state.profiles.values() if p["Path"].startswith(prefix)]
    result = paged(state, profiles, params, "InstanceProfiles",
                   lambda p: (p["InstanceProfileName"].lower(),))
    result["InstanceProfiles"] = [profile_view(state, p, full=False) for p in result["InstanceProfiles"]]
    return result


@action("AddRoleToInstanceProfile")
def add_role_to_instance_profile(state, params):
    profile = state.profile(params["InstanceProfileName"])
    role = state.role(params["RoleName"])
    if len(profile["_roles"]) >= MAX_ROLES_PER_PROFILE:
        raise state.error("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: "
                                           f"{MAX_ROLES_PER_PROFILE}")
    profile["_roles"].append(role["RoleName"].lower())
    return {}


@action("RemoveRoleFromInstanceProfile")
def remove_role_from_instance_profile(state, params):
    profile = state.profile(params["InstanceProfileName"])
    role = state.role(params["RoleName"])
    if role["RoleName"].lower() not in profile["_roles"]:
        raise state.error("NoSuchEntity", f"The role with name {role['RoleName']} cannot be found in "
                                          f"instance profile {profile['InstanceProfileName']}.")
    profile["_roles"].remove(role["RoleName"].lower())
    return {}


@action("DeleteInstanceProfile")
def delete_instance_profile(state, params):
    profile = state.profile(params["InstanceProfileName"])
    if profile["_roles"]:
        raise state.error("DeleteConflict", "Cannot delete entity, must remove roles from instance "
                                            "profile first.")
    del state.profiles[profile["InstanceProfileName"].lower()]
    return {}
