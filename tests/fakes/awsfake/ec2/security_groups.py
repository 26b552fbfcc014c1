"""Security groups and their rules.

CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup,
Authorize/RevokeSecurityGroupIngress, Authorize/RevokeSecurityGroupEgress,
DescribeSecurityGroupRules.

Rules are stored one per (direction, protocol, ports, peer), each with its
``sgr-`` id, exactly as DescribeSecurityGroupRules shows them; the grouped
``IpPermissions`` view of DescribeSecurityGroups is computed from them. A new
group gets AWS's default allow-all egress rule; a VPC's ``default`` group also
allows all traffic from itself.
"""

import copy
import re

from ..errors import AwsError
from .actions import action, describe
from .cidr import parse_ipv4, parse_ipv6
from .tagging import tags_from_specifications

PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
MAX_RULES_PER_DIRECTION = 60      # AWS's default quota for inbound and for outbound rules
# Characters AWS accepts in VPC group names, group descriptions and rule descriptions.
_TEXT_RE = re.compile(r"^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]*$")
_LEGACY_MEMBERS = ["CidrIp", "FromPort", "ToPort", "IpProtocol",
                   "SourceSecurityGroupName", "SourceSecurityGroupOwnerId"]
_PEER_FIELDS = ["CidrIpv4", "CidrIpv6", "PrefixListId", "ReferencedGroupInfo"]


# ------------------------------------------------------------------ helpers
def _check_text(value, what, limit=255):
    if len(value) > limit or not _TEXT_RE.match(value):
        raise AwsError("InvalidParameterValue",
                       f"Invalid {what}. Valid {what}s are strings less than {limit + 1} characters "
                       "from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*")


def _protocol(value):
    p = str(value).lower()
    p = PROTOCOL_NUMBERS.get(p, p)
    if p in ("tcp", "udp", "icmp", "icmpv6", "-1"):
        return p
    if p.isdigit() and 0 <= int(p) <= 255:
        return str(int(p))
    raise AwsError("InvalidParameterValue",
                   f"Invalid value '{value}' for IP protocol. Unknown protocol.")


def _ports(protocol, perm):
    """(FromPort, ToPort) as AWS stores them; -1/-1 means all ports."""
    from_port, to_port = perm.get("FromPort"), perm.get("ToPort")
    if protocol in ("tcp", "udp"):
        if from_port is None or to_port is None:
            raise AwsError("InvalidParameterValue",
                           "Invalid value 'Must specify both from and to ports with TCP/UDP.' "
                           "for portRange")
        if not (0 <= from_port <= 65535 and 0 <= to_port <= 65535) or from_port > to_port:
            raise AwsError("InvalidParameterValue",
                           f"Invalid TCP/UDP port range {from_port}-{to_port}: ports must be "
                           "0-65535 and FromPort <= ToPort")
        return from_port, to_port
    if protocol in ("icmp", "icmpv6"):
        from_port = -1 if from_port is None else from_port
        to_port = -1 if to_port is None else to_port
        if not (-1 <= from_port <= 255 and -1 <= to_port <= 255):
            raise AwsError("InvalidParameterValue",
                           f"Invalid ICMP type/code {from_port}/{to_port}")
        return from_port, to_port
    return -1, -1     # all protocols, or a protocol without ports


def _has_ports(protocol):
    return protocol in ("tcp", "udp", "icmp", "icmpv6")


def _peer(rule):
    for field in _PEER_FIELDS:
        if field in rule:
            value = rule[field]
            return field, value["GroupId"] if field == "ReferencedGroupInfo" else value
    raise AssertionError("rule without peer")


def _rule_key(rule):
    """Identity of a rule: what AWS compares to find duplicates (not the description)."""
    return (rule["IsEgress"], rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) + _peer(rule)


def _describe_rule(rule):
    peer = _peer(rule)[1]
    if rule["IpProtocol"] == "-1":
        what = "ALL"
    elif _has_ports(rule["IpProtocol"]):
        what = f"{rule['IpProtocol'].upper()}, from port: {rule['FromPort']}, to port: {rule['ToPort']}"
    else:
        what = f"protocol {rule['IpProtocol']}"
    return f"peer: {peer}, {what}, ALLOW"


def _group_rules(state, group, egress=None):
    rules = [state.store["security-group-rule"][rid] for rid in group["_rule_ids"]]
    return [r for r in rules if egress is None or r["IsEgress"] == egress]


def _find_group_by_name(state, vpc_id, name):
    for g in state.all("security-group"):
        if g["VpcId"] == vpc_id and g["GroupName"] == name:
            return g
    return None


def _no_default_vpc(name):
    # The fake region has no default VPC, so name-only lookups find nothing, as in
    # an AWS account whose default VPC was deleted.
    return AwsError("InvalidGroup.NotFound",
                    f"The security group '{name}' does not exist in default VPC 'none'")


def ip_permissions(rules):
    """Group rules into the IpPermissions structure DescribeSecurityGroups returns."""
    grouped = {}
    for rule in rules:
        key = (rule["IpProtocol"], rule["FromPort"], rule["ToPort"])
        perm = grouped.get(key)
        if perm is None:
            perm = grouped[key] = {"IpProtocol": rule["IpProtocol"], "IpRanges": [],
                                   "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}
            if _has_ports(rule["IpProtocol"]):
                perm["FromPort"], perm["ToPort"] = rule["FromPort"], rule["ToPort"]
        field, peer = _peer(rule)
        entry = {"CidrIpv4": ("IpRanges", "CidrIp"), "CidrIpv6": ("Ipv6Ranges", "CidrIpv6"),
                 "PrefixListId": ("PrefixListIds", "PrefixListId"),
                 "ReferencedGroupInfo": ("UserIdGroupPairs", "GroupId")}[field]
        item = {entry[1]: peer}
        if field == "ReferencedGroupInfo":
            item["UserId"] = rule["ReferencedGroupInfo"]["UserId"]
        if rule.get("Description") is not None:
            item["Description"] = rule["Description"]
        perm[entry[0]].append(item)
    return list(grouped.values())


def _group_view(state):
    def view(group):
        shown = copy.deepcopy(group)
        shown["IpPermissions"] = ip_permissions(_group_rules(state, group, egress=False))
        shown["IpPermissionsEgress"] = ip_permissions(_group_rules(state, group, egress=True))
        return shown
    return view


# ------------------------------------------------------- rules from requests
def _expand(state, group, perm, egress, check_refs):
    """The rules one IpPermission asks for (one per peer), not yet stored."""
    if perm.get("IpProtocol") is None:
        raise AwsError("MissingParameter", "The request must contain the parameter ipProtocol")
    protocol = _protocol(perm["IpProtocol"])
    from_port, to_port = _ports(protocol, perm)
    base = {"GroupId": group["GroupId"], "GroupOwnerId": state.account_id, "IsEgress": egress,
            "IpProtocol": protocol, "FromPort": from_port, "ToPort": to_port}
    peers = []
    for r in perm.get("IpRanges") or []:
        if not r.get("CidrIp"):
            raise AwsError("MissingParameter", "The request must contain the parameter cidrIp")
        try:
            cidr = str(parse_ipv4(r["CidrIp"], "cidrIp"))
        except AwsError:
            raise AwsError("InvalidParameterValue", f"CIDR block {r['CidrIp']} is malformed") from None
        peers.append(({"CidrIpv4": cidr}, r.get("Description")))
    for r in perm.get("Ipv6Ranges") or []:
        if not r.get("CidrIpv6"):
            raise AwsError("MissingParameter", "The request must contain the parameter cidrIpv6")
        try:
            cidr = str(parse_ipv6(r["CidrIpv6"], "cidrIpv6"))
        except AwsError:
            raise AwsError("InvalidParameterValue", f"CIDR block {r['CidrIpv6']} is malformed") from None
        peers.append(({"CidrIpv6": cidr}, r.get("Description")))
    for r in perm.get("PrefixListIds") or []:
        if not (r.get("PrefixListId") or "").startswith("pl-"):
            raise AwsError("InvalidPrefixListId.Malformed",
                           f"The prefix list ID '{r.get('PrefixListId')}' is malformed")
        peers.append(({"PrefixListId": r["PrefixListId"]}, r.get("Description")))
    for r in perm.get("UserIdGroupPairs") or []:
        if r.get("GroupId"):
            peer_id = r["GroupId"]
            if check_refs:
                state.get("security-group", peer_id)
        elif r.get("GroupName"):
            peer_group = _find_group_by_name(state, group["VpcId"], r["GroupName"])
            if peer_group is None:
                raise AwsError("InvalidGroup.NotFound",
                               f"The security group '{r['GroupName']}' does not exist")
            peer_id = peer_group["GroupId"]
        else:
            raise AwsError("MissingParameter", "The request must contain the parameter groupId")
        peers.append(({"ReferencedGroupInfo": {"GroupId": peer_id, "UserId": state.account_id}},
                      r.get("Description")))
    if not peers:
        raise AwsError("MissingParameter",
                       "The request must contain at least one of IpRanges, Ipv6Ranges, "
                       "PrefixListIds or UserIdGroupPairs")
    rules = []
    for peer, description in peers:
        rule = dict(base, **peer)
        if description is not None:
            _check_text(description, "rule description")
            rule["Description"] = description
        rules.append(rule)
    return rules


def _requested_permissions(params, egress):
    """IpPermissions, or the single permission spelled with the legacy top-level
    members (CidrIp, IpProtocol, FromPort, ToPort, SourceSecurityGroupName)."""
    legacy = {m: params[m] for m in _LEGACY_MEMBERS if params.get(m) is not None}
    if legacy and params.get("IpPermissions"):
        raise AwsError("InvalidParameterCombination",
                       f"The parameter 'ipPermissions' may not be used in combination with "
                       f"'{next(iter(legacy))}'")
    if not legacy:
        return params.get("IpPermissions") or []
    if egress:
        raise AwsError("InvalidParameterValue",
                       "CidrIp, IpProtocol, FromPort and ToPort are not supported for egress; "
                       "use IpPermissions")
    perm = {"IpProtocol": legacy.get("IpProtocol", "-1" if "SourceSecurityGroupName" in legacy else None),
            "FromPort": legacy.get("FromPort"), "ToPort": legacy.get("ToPort")}
    if "CidrIp" in legacy:
        perm["IpRanges"] = [{"CidrIp": legacy["CidrIp"]}]
    if "SourceSecurityGroupName" in legacy:
        perm["UserIdGroupPairs"] = [{"GroupName": legacy["SourceSecurityGroupName"]}]
    return [perm]


def _target_group(state, params):
    if params.get("GroupId"):
        return state.get("security-group", params["GroupId"])
    if params.get("GroupName"):
        raise _no_default_vpc(params["GroupName"])
    raise AwsError("MissingParameter", "The request must contain the parameter groupId")


def _store_rule(state, group, rule, tags):
    rule_id = state.new_id("sgr")
    rule = dict(rule, SecurityGroupRuleId=rule_id, Tags=[dict(t) for t in tags])
    state.add("security-group-rule", rule_id, rule)
    group["_rule_ids"].append(rule_id)
    return rule


def _authorize(state, params, egress):
    group = _target_group(state, params)
    candidates = [rule for perm in _requested_permissions(params, egress)
                  for rule in _expand(state, group, perm, egress, check_refs=True)]
    if not candidates:
        raise AwsError("MissingParameter", "The request must contain the parameter ipPermissions")
    existing = {_rule_key(r) for r in _group_rules(state, group)}
    for rule in candidates:
        key = _rule_key(rule)
        if key in existing:
            raise AwsError("InvalidPermission.Duplicate",
                           f'the specified rule "{_describe_rule(rule)}" already exists')
        existing.add(key)
    if len(_group_rules(state, group, egress)) + len(candidates) > MAX_RULES_PER_DIRECTION:
        raise AwsError("RulesPerSecurityGroupLimitExceeded",
                       "The maximum number of rules per security group has been reached.")
    tags = tags_from_specifications(params, "security-group-rule")
    created = [_store_rule(state, group, rule, tags) for rule in candidates]
    return {"Return": True, "SecurityGroupRules": created}


def _delete_rules(state, group, rules):
    for rule in rules:
        group["_rule_ids"].remove(rule["SecurityGroupRuleId"])
        state.remove("security-group-rule", rule["SecurityGroupRuleId"])


def _revoke(state, params, egress):
    group = _target_group(state, params)
    rule_ids = params.get("SecurityGroupRuleIds")
    permissions = _requested_permissions(params, egress)
    if rule_ids and permissions:
        raise AwsError("InvalidParameterCombination",
                       "SecurityGroupRuleIds may not be used in combination with IpPermissions")
    if rule_ids:
        rules = []
        for rule_id in rule_ids:
            rule = state.store["security-group-rule"].get(rule_id)
            if rule is None or rule["GroupId"] != group["GroupId"] or rule["IsEgress"] != egress:
                raise AwsError("InvalidSecurityGroupRuleId.NotFound",
                               f"The security group rule ID '{rule_id}' does not exist")
            rules.append(rule)
        _delete_rules(state, group, list({r["SecurityGroupRuleId"]: r for r in rules}.values()))
        return {"Return": True}
    if not permissions:
        raise AwsError("MissingParameter", "The request must contain the parameter ipPermissions")
    index = {_rule_key(r): r for r in _group_rules(state, group, egress)}
    found, unknown = {}, []
    for perm in permissions:
        for rule in _expand(state, group, perm, egress, check_refs=False):
            match = index.get(_rule_key(rule))
            if match is None:
                unknown.append(rule)
            else:
                found[match["SecurityGroupRuleId"]] = match
    if not found:
        raise AwsError("InvalidPermission.NotFound",
                       "The specified rule does not exist in this security group.")
    _delete_rules(state, group, list(found.values()))
    result = {"Return": True}
    if unknown:
        result["UnknownIpPermissions"] = ip_permissions(unknown)
    return result


# ------------------------------------------------------------------ groups
def _new_group(state, vpc_id, name, description, tags, default=False):
    group_id = state.new_id("sg")
    return state.add("security-group", group_id, {
        "GroupId": group_id,
        "GroupName": name,
        "Description": description,
        "VpcId": vpc_id,
        "OwnerId": state.account_id,
        "Tags": tags,
        "_rule_ids": [],
        "_default": default,
    })


def _allow_all_egress(state, group):
    _store_rule(state, group, {"GroupId": group["GroupId"], "GroupOwnerId": state.account_id,
                               "IsEgress": True, "IpProtocol": "-1", "FromPort": -1,
                               "ToPort": -1, "CidrIpv4": "0.0.0.0/0"}, [])


def create_default_group(state, vpc):
    group = _new_group(state, vpc["VpcId"], "default", "default VPC security group", [], True)
    _store_rule(state, group, {"GroupId": group["GroupId"], "GroupOwnerId": state.account_id,
                               "IsEgress": False, "IpProtocol": "-1", "FromPort": -1, "ToPort": -1,
                               "ReferencedGroupInfo": {"GroupId": group["GroupId"],
                                                       "UserId": state.account_id}}, [])
    _allow_all_egress(state, group)
    return group


def _permission_filters(state, prefix, egress):
    def values(fn):
        return lambda g: [v for r in _group_rules(state, g, egress) for v in fn(r)]
    return {
        f"{prefix}cidr": values(lambda r: [r.get("CidrIpv4")]),
        f"{prefix}ipv6-cidr": values(lambda r: [r.get("CidrIpv6")]),
        f"{prefix}prefix-list-id": values(lambda r: [r.get("PrefixListId")]),
        f"{prefix}protocol": values(lambda r: [r["IpProtocol"]]),
        f"{prefix}from-port": values(lambda r: [r["FromPort"]]),
        f"{prefix}to-port": values(lambda r: [r["ToPort"]]),
        f"{prefix}group-id": values(lambda r: [r.get("ReferencedGroupInfo", {}).get("GroupId")]),
        f"{prefix}group-name": values(lambda r: [
            state.store["security-group"].get(r.get("ReferencedGroupInfo", {}).get("GroupId"), {})
            .get("GroupName")]),
        f"{prefix}user-id": values(lambda r: [r.get("ReferencedGroupInfo", {}).get("UserId")]),
    }


def _group_filters(state):
    table = {
        "group-id": lambda g: [g["GroupId"]],
        "group-name": lambda g: [g["GroupName"]],
        "description": lambda g: [g["Description"]],
        "vpc-id": lambda g: [g["VpcId"]],
        "owner-id": lambda g: [g["OwnerId"]],
    }
    table.update(_permission_filters(state, "ip-permission.", egress=False))
    table.update(_permission_filters(state, "egress.ip-permission.", egress=True))
    return table


RULE_FILTERS = {
    "group-id": lambda r: [r["GroupId"]],
    "security-group-rule-id": lambda r: [r["SecurityGroupRuleId"]],
}


@action("CreateSecurityGroup")
def create_security_group(state, params):
    name, description = params["GroupName"], params["Description"]
    if not params.get("VpcId"):
        raise AwsError("VPCIdNotSpecified", "No default VPC for this user")
    vpc = state.get("vpc", params["VpcId"])
    if name == "default":
        raise AwsError("InvalidGroup.Reserved", "The security group 'default' is reserved")
    if name.lower().startswith("sg-"):
        raise AwsError("InvalidParameterValue", "Group names may not be in the format sg-*")
    _check_text(name, "group name")
    _check_text(description, "group description")
    if _find_group_by_name(state, vpc["VpcId"], name):
        raise AwsError("InvalidGroup.Duplicate",
                       f"The security group '{name}' already exists for VPC '{vpc['VpcId']}'")
    tags = tags_from_specifications(params, "security-group")
    group = _new_group(state, vpc["VpcId"], name, description, tags)
    _allow_all_egress(state, group)
    return {"GroupId": group["GroupId"], "Tags": tags}


@action("DescribeSecurityGroups")
def describe_security_groups(state, params):
    if params.get("GroupNames"):
        raise _no_default_vpc(params["GroupNames"][0])
    return describe(state, "DescribeSecurityGroups", params, kind="security-group",
                    filters=_group_filters(state), ids_member="GroupIds", view=_group_view(state))


@action("DeleteSecurityGroup")
def delete_security_group(state, params):
    group = _target_group(state, params)
    group_id = group["GroupId"]
    if group["_default"]:
        raise AwsError("CannotDelete",
                       f'the specified group: "{group_id}" name: "default" cannot be deleted by a user')
    for rule in state.all("security-group-rule"):
        if rule["GroupId"] != group_id and rule.get("ReferencedGroupInfo", {}).get("GroupId") == group_id:
            raise AwsError("DependencyViolation", f"resource {group_id} has a dependent object")
    if state.registry.users_of("security-group", group_id):     # e.g. a load balancer (ELBv2)
        raise AwsError("DependencyViolation", f"resource {group_id} has a dependent object")
    _delete_rules(state, group, _group_rules(state, group))
    state.remove("security-group", group_id)
    return {}


@action("AuthorizeSecurityGroupIngress")
def authorize_ingress(state, params):
    return _authorize(state, params, egress=False)


@action("AuthorizeSecurityGroupEgress")
def authorize_egress(state, params):
    return _authorize(state, params, egress=True)


@action("RevokeSecurityGroupIngress")
def revoke_ingress(state, params):
    return _revoke(state, params, egress=False)


@action("RevokeSecurityGroupEgress")
def revoke_egress(state, params):
    return _revoke(state, params, egress=True)


@action("DescribeSecurityGroupRules")
def describe_security_group_rules(state, params):
    return describe(state, "DescribeSecurityGroupRules", params, kind="security-group-rule",
                    filters=RULE_FILTERS, ids_member="SecurityGroupRuleIds")
