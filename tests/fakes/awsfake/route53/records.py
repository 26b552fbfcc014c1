"""Record sets: ChangeResourceRecordSets, ListResourceRecordSets.

A change batch is all or nothing, checked in order against a working copy as
Route53 does: CREATE of an existing set, DELETE of a missing one or with
other values, a name outside the zone, a set that is neither alias nor
TTL + records, or an alias whose target does not exist (a load balancer of
this fake's ELBv2, or a set of the same zone) fails the whole batch with
``InvalidChangeBatch`` and Route53's bracketed messages. Simple routing only
(no SetIdentifier).
"""

import copy

from ..elbv2.state import canonical_zone
from .state import action, dns_name, name_key

MAX_ITEMS = 300


def _describe(rrset):
    return f"[name='{rrset['Name']}', type='{rrset['Type']}']"


def _normalize(state, zone, rrset):
    out = {"Name": dns_name(rrset["Name"]), "Type": rrset["Type"]}
    if rrset.get("SetIdentifier") is not None:
        raise state.error("InvalidInput", "The fake models simple routing only (no SetIdentifier)")
    alias = rrset.get("AliasTarget")
    plain = rrset.get("TTL") is not None or rrset.get("ResourceRecords")
    if bool(alias) == bool(plain) or (plain and (rrset.get("TTL") is None or not rrset.get("ResourceRecords"))):
        raise state.error("InvalidInput", "Invalid request: Expected exactly one of [AliasTarget, all of "
                                          "[TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found "
                                          f"none or more than one in Change with [Name={out['Name']}, "
                                          f"Type={out['Type']}]")
    if alias:
        out["AliasTarget"] = {"HostedZoneId": alias["HostedZoneId"], "DNSName": dns_name(alias["DNSName"]),
                              "EvaluateTargetHealth": alias["EvaluateTargetHealth"]}
    else:
        out["TTL"] = rrset["TTL"]
        out["ResourceRecords"] = [{"Value": r["Value"]} for r in rrset["ResourceRecords"]]
    zone_name = zone["HostedZone"]["Name"]
    if out["Name"] != zone_name and not out["Name"].endswith("." + zone_name):
        raise _batch(state, f"RRSet with DNS name {out['Name']} is not permitted in zone {zone_name}")
    return out


def _batch(state, *messages):
    return state.error("InvalidChangeBatch", "[" + ", ".join(messages) + "]", 400)


def _find(records, name, rtype):
    return next((r for r in records if r["Name"] == name and r["Type"] == rtype), None)


def _check_alias(state, zone, records, rrset):
    """An alias must point at something that exists: a set of this zone, or a
    load balancer of the fake's ELBv2 (other AWS targets are taken on trust)."""
    target = rrset["AliasTarget"]
    zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    if target["HostedZoneId"] == zone_id:
        if _find(records, target["DNSName"], rrset["Type"]) is None:
            raise _batch(state, f"Tried to create an alias that targets {target['DNSName']}, type "
                                f"{rrset['Type']} in zone {zone_id}, but that target was not found")
        return
    elb = state.registry.service("elasticloadbalancing")
    if elb is None or target["HostedZoneId"] != canonical_zone(elb.region):
        return
    elb.state.tick()
    names = set()
    for lb in elb.state.live_lbs():
        names |= {dns_name(lb["DNSName"]), dns_name("dualstack." + lb["DNSName"])}
    if target["DNSName"] not in names:
        raise _batch(state, f"Tried to create an alias that targets {target['DNSName']}, type "
                            f"{rrset['Type']} in zone {target['HostedZoneId']}, but the alias target "
                            "name does not lie within the target zone")


@action("ChangeResourceRecordSets")
def change_resource_record_sets(state, params):
    zone = state.zone(params["HostedZoneId"])
    zone_name = zone["HostedZone"]["Name"]
    records = copy.deepcopy(zone["_records"])
    for change in params["ChangeBatch"]["Changes"]:
        rrset = _normalize(state, zone, change["ResourceRecordSet"])
        current = _find(records, rrset["Name"], rrset["Type"])
        what = _describe(rrset)
        if change["Action"] in ("CREATE", "UPSERT") and rrset["Type"] == "CNAME" and rrset["Name"] == zone_name:
            raise _batch(state, f"RRSet of type CNAME with DNS name {rrset['Name']} is not permitted at "
                                "apex in zone " + zone_name)
        if change["Action"] == "DELETE":
            if current is None:
                raise _batch(state, f"Tried to delete resource record set {what} but it was not found")
            if current != rrset:
                raise _batch(state, f"Tried to delete resource record set {what} but the values provided "
                                    "do not match the current values")
            if rrset["Name"] == zone_name and rrset["Type"] in ("SOA", "NS"):
                raise _batch(state, "A HostedZone must contain at least one NS record and exactly one SOA "
                                    "record for the zone itself.")
            records.remove(current)
            continue
        if change["Action"] == "CREATE" and current is not None:
            raise _batch(state, f"Tried to create resource record set {what} but it already exists")
        if "AliasTarget" in rrset:
            _check_alias(state, zone, records, rrset)
        if current is not None:
            records.remove(current)
        records.append(rrset)
    zone["_records"] = records
    return {"ChangeInfo": state.new_change(params["ChangeBatch"].get("Comment"))}


def _sort_key(record):
    return (name_key(record["Name"]), record["Type"])


@action("ListResourceRecordSets")
def list_resource_record_sets(state, params):
    zone = state.zone(params["HostedZoneId"])
    raw = params.get("MaxItems")
    if raw is not None and (not raw.isdigit() or int(raw) < 1):
        raise state.error("InvalidInput", f"1 validation error detected: Value '{raw}' at 'maxItems' failed "
                                          "to satisfy constraint: Member must be a positive integer")
    limit = min(int(raw), MAX_ITEMS) if raw else MAX_ITEMS
    if params.get("StartRecordType") and not params.get("StartRecordName"):
        raise state.error("InvalidInput", "The input is not valid: the type parameter needs a name")
    records = sorted(zone["_records"], key=_sort_key)
    if params.get("StartRecordName"):
        start = (name_key(dns_name(params["StartRecordName"])), params.get("StartRecordType") or "")
        records = [r for r in records if _sort_key(r) >= start]
    result = {"ResourceRecordSets": records[:limit], "IsTruncated": len(records) > limit,
              "MaxItems": str(limit)}
    if len(records) > limit:
        result["NextRecordName"] = records[limit]["Name"]
        result["NextRecordType"] = records[limit]["Type"]
    return result
