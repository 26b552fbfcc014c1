"""Network ACLs: CreateNetworkAcl, DescribeNetworkAcls, DeleteNetworkAcl,
CreateNetworkAclEntry, ReplaceNetworkAclEntry, DeleteNetworkAclEntry,
ReplaceNetworkAclAssociation.

As in AWS: every VPC gets a default network ACL (allow everything in and
out) with the VPC; every subnet is associated with exactly one ACL, the
VPC's default one when created, and moves between ACLs only through
ReplaceNetworkAclAssociation (which gives the association a new id). Every
ACL ends with rule 32767 ("*"), deny all, in each direction, which cannot be
changed. An ACL that subnets are associated with cannot be deleted, nor can
the default one. At most RULE_LIMIT rules per direction (AWS's default quota).
"""

import copy

from ..errors import AwsError
from .actions import action, describe
from .cidr import parse_ipv4, parse_ipv6
from .tagging import tags_from_specifications

RULE_LIMIT = 20
LAST_RULE = 32767          # the "*" rule; user rules are 1..32766
PROTOCOL_NUMBERS = {"all": "-1", "icmp": "1", "tcp": "6", "udp": "17", "icmpv6": "58"}

FILTERS = {
    "association.association-id":
        lambda a: [x["NetworkAclAssociationId"] for x in a["Associations"]],
    "association.network-acl-id": lambda a: [x["NetworkAclId"] for x in a["Associations"]],
    "association.subnet-id": lambda a: [x["SubnetId"] for x in a["Associations"]],
    "default": lambda a: [a["IsDefault"]],
    "entry.cidr": lambda a: [e.get("CidrBlock") for e in a["Entries"]],
    "entry.egress": lambda a: [e["Egress"] for e in a["Entries"]],
    "entry.icmp.code": lambda a: [e.get("IcmpTypeCode", {}).get("Code") for e in a["Entries"]],
    "entry.icmp.type": lambda a: [e.get("IcmpTypeCode", {}).get("Type") for e in a["Entries"]],
    "entry.ipv6-cidr": lambda a: [e.get("Ipv6CidrBlock") for e in a["Entries"]],
    "entry.port-range.from": lambda a: [e.get("PortRange", {}).get("From") for e in a["Entries"]],
    "entry.port-range.to": lambda a: [e.get("PortRange", {}).get("To") for e in a["Entries"]],
    "entry.protocol": lambda a: [e["Protocol"] for e in a["Entries"]],
    "entry.rule-action": lambda a: [e["RuleAction"] for e in a["Entries"]],
    "entry.rule-number": lambda a: [e["RuleNumber"] for e in a["Entries"]],
    "network-acl-id": lambda a: [a["NetworkAclId"]],
    "owner-id": lambda a: [a["OwnerId"]],
    "vpc-id": lambda a: [a["VpcId"]],
}


def _entry(number, egress, action_, protocol="-1", cidr="0.0.0.0/0"):
    return {"RuleNumber": number, "Egress": egress, "RuleAction": action_,
            "Protocol": protocol, "CidrBlock": cidr}


def _sort(acl):
    acl["Entries"].sort(key=lambda e: (e["Egress"], e["RuleNumber"]))


def _new_acl(state, vpc_id, tags, default):
    acl_id = state.new_id("acl")
    entries = [_entry(LAST_RULE, egress, "deny") for egress in (False, True)]
    if default:
        entries += [_entry(100, egress, "allow") for egress in (False, True)]
    acl = state.add("network-acl", acl_id, {
        "NetworkAclId": acl_id, "VpcId": vpc_id, "OwnerId": state.account_id,
        "IsDefault": default, "Associations": [], "Entries": entries, "Tags": tags,
    })
    _sort(acl)
    return acl


def create_default_network_acl(state, vpc):
    return _new_acl(state, vpc["VpcId"], [], True)


def associate_default(state, subnet):
    """A new subnet starts in its VPC's default network ACL."""
    acl = state.store["network-acl"][state.store["vpc"][subnet["VpcId"]]["_default_network_acl"]]
    acl["Associations"].append({"NetworkAclAssociationId": state.new_id("aclassoc"),
                                "NetworkAclId": acl["NetworkAclId"], "SubnetId": subnet["SubnetId"]})


def remove_subnet_association(state, subnet_id):
    for acl in state.all("network-acl"):
        acl["Associations"] = [a for a in acl["Associations"] if a["SubnetId"] != subnet_id]


@action("CreateNetworkAcl")
def create_network_acl(state, params):
    vpc = state.get("vpc", params["VpcId"])
    tags = tags_from_specifications(params, "network-acl")
    return {"NetworkAcl": _new_acl(state, vpc["VpcId"], tags, False)}


@action("DescribeNetworkAcls")
def describe_network_acls(state, params):
    return describe(state, "DescribeNetworkAcls", params, kind="network-acl", filters=FILTERS,
                    ids_member="NetworkAclIds", view=copy.deepcopy)


@action("DeleteNetworkAcl")
def delete_network_acl(state, params):
    acl = state.get("network-acl", params["NetworkAclId"])
    if acl["IsDefault"]:
        raise AwsError("InvalidParameterValue", f"cannot delete default network ACL {acl['NetworkAclId']}")
    if acl["Associations"]:
        raise AwsError("DependencyViolation",
                       f"The networkAcl '{acl['NetworkAclId']}' has dependencies and cannot be deleted.")
    state.remove("network-acl", acl["NetworkAclId"])
    return {}


def _protocol(params):
    raw = params["Protocol"].lower()
    number = PROTOCOL_NUMBERS.get(raw, raw)
    try:
        valid = number == "-1" or 0 <= int(number) <= 255
    except ValueError:
        valid = False
    if not valid:
        raise AwsError("InvalidParameterValue",
                       f"Invalid value '{params['Protocol']}' for protocol. Must be -1, a protocol "
                       "number from 0 to 255, or one of tcp, udp, icmp, icmpv6.")
    return number


def _entry_from_params(params):
    number = params["RuleNumber"]
    if not 1 <= number < LAST_RULE:
        raise AwsError("InvalidParameterValue",
                       f"Invalid value '{number}' for ruleNumber. Must be between 1 and {LAST_RULE - 1}.")
    entry = {"RuleNumber": number, "Egress": params["Egress"], "RuleAction": params["RuleAction"],
             "Protocol": _protocol(params)}
    if (params.get("CidrBlock") is None) == (params.get("Ipv6CidrBlock") is None):
        raise AwsError("InvalidParameterCombination",
                       "Exactly one of cidrBlock and ipv6CidrBlock must be specified")
    if params.get("CidrBlock") is not None:
        entry["CidrBlock"] = str(parse_ipv4(params["CidrBlock"], "cidrBlock"))
    else:
        entry["Ipv6CidrBlock"] = str(parse_ipv6(params["Ipv6CidrBlock"], "ipv6CidrBlock"))
    if entry["Protocol"] in ("6", "17"):
        ports = params.get("PortRange") or {}
        start, end = ports.get("From"), ports.get("To")
        if start is None or end is None:
            raise AwsError("MissingParameter",
                           "The request must contain the parameters portRange.from and portRange.to "
                           "for TCP and UDP rules")
        if not 0 <= start <= end <= 65535:
            raise AwsError("InvalidParameterValue", f"Invalid port range {start}-{end}")
        entry["PortRange"] = {"From": start, "To": end}
    elif entry["Protocol"] in ("1", "58"):
        icmp = params.get("IcmpTypeCode") or {}
        if icmp.get("Type") is None or icmp.get("Code") is None:
            raise AwsError("MissingParameter",
                           "The request must contain the parameters icmp.type and icmp.code for ICMP rules")
        entry["IcmpTypeCode"] = {"Type": icmp["Type"], "Code": icmp["Code"]}
    return entry


def _find_entry(acl, number, egress):
    for e in acl["Entries"]:
        if e["RuleNumber"] == number and e["Egress"] == egress:
            return e
    return None


def _not_found(acl, number, egress):
    return AwsError("InvalidNetworkAclEntry.NotFound",
                    f"The network acl entry identified by {number} ({'egress' if egress else 'ingress'}) "
                    f"does not exist in {acl['NetworkAclId']}")


@action("CreateNetworkAclEntry")
def create_network_acl_entry(state, params):
    acl = state.get("network-acl", params["NetworkAclId"])
    entry = _entry_from_params(params)
    if _find_entry(acl, entry["RuleNumber"], entry["Egress"]):
        raise AwsError("NetworkAclEntryAlreadyExists",
                       f"The network acl entry identified by {entry['RuleNumber']} already exists.")
    rules = [e for e in acl["Entries"] if e["Egress"] == entry["Egress"] and e["RuleNumber"] != LAST_RULE]
    if len(rules) >= RULE_LIMIT:
        raise AwsError("NetworkAclEntryLimitExceeded",
                       f"The maximum number of {'egress' if entry['Egress'] else 'ingress'} rules "
                       f"({RULE_LIMIT}) has been reached for {acl['NetworkAclId']}.")
    acl["Entries"].append(entry)
    _sort(acl)
    return {}


@action("ReplaceNetworkAclEntry")
def replace_network_acl_entry(state, params):
    acl = state.get("network-acl", params["NetworkAclId"])
    entry = _entry_from_params(params)
    old = _find_entry(acl, entry["RuleNumber"], entry["Egress"])
    if old is None:
        raise _not_found(acl, entry["RuleNumber"], entry["Egress"])
    old.clear()
    old.update(entry)
    return {}


@action("DeleteNetworkAclEntry")
def delete_network_acl_entry(state, params):
    acl = state.get("network-acl", params["NetworkAclId"])
    number, egress = params["RuleNumber"], params["Egress"]
    if number == LAST_RULE:
        raise AwsError("InvalidParameterValue", f"Rule number {LAST_RULE} is the default rule and cannot be deleted")
    entry = _find_entry(acl, number, egress)
    if entry is None:
        raise _not_found(acl, number, egress)
    acl["Entries"].remove(entry)
    return {}


@action("ReplaceNetworkAclAssociation")
def replace_network_acl_association(state, params):
    target = state.get("network-acl", params["NetworkAclId"])
    association_id = params["AssociationId"]
    for acl in state.all("network-acl"):
        for assoc in acl["Associations"]:
            if assoc["NetworkAclAssociationId"] != association_id:
                continue
            subnet = state.store["subnet"][assoc["SubnetId"]]
            if subnet["VpcId"] != target["VpcId"]:
                raise AwsError("InvalidParameterValue",
                               f"Network ACL {target['NetworkAclId']} and subnet {subnet['SubnetId']} "
                               "belong to different networks")
            acl["Associations"].remove(assoc)
            new_id = state.new_id("aclassoc")
            target["Associations"].append({"NetworkAclAssociationId": new_id,
                                           "NetworkAclId": target["NetworkAclId"],
                                           "SubnetId": subnet["SubnetId"]})
            return {"NewAssociationId": new_id}
    raise AwsError("InvalidAssociationID.NotFound",
                   f"The association ID '{association_id}' does not exist")
