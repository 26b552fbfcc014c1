"""Hosted zones: CreateHostedZone, GetHostedZone, ListHostedZones (public zones),
and GetChange."""

from ..markers import page
from .state import action, dns_name

NAME_SERVERS = ["ns-{n}.awsdns-{m:02d}.com", "ns-{n1}.awsdns-{m1:02d}.net",
                "ns-{n2}.awsdns-{m2:02d}.org", "ns-{n3}.awsdns-{m3:02d}.co.uk"]


def _name_servers(state, zone_id):
    seed = sum(ord(c) for c in zone_id)
    return [ns.format(n=seed % 2048, m=seed % 64, n1=(seed + 1) % 2048, m1=(seed + 1) % 64,
                      n2=(seed + 2) % 2048, m2=(seed + 2) % 64, n3=(seed + 3) % 2048, m3=(seed + 3) % 64)
            for ns in NAME_SERVERS]


def zone_view(zone):
    return dict(zone["HostedZone"], ResourceRecordSetCount=len(zone["_records"]))


@action("CreateHostedZone")
def create_hosted_zone(state, params):
    if params.get("VPC"):
        raise state.error("InvalidInput", "The fake models public hosted zones only")
    name = dns_name(params["Name"])
    labels = name.rstrip(".").split(".")
    if len(labels) < 1 or not all(labels) or len(name) > 255:
        raise state.error("InvalidDomainName", f"{params['Name']} is not a valid domain name")
    for zone in state.zones.values():
        if zone["HostedZone"]["CallerReference"] == params["CallerReference"]:
            raise state.error("HostedZoneAlreadyExists", "A hosted zone has already been created with the "
                                                         "specified caller reference.", 409)
    zone_id = state.new_id("Z0", 19)
    servers = _name_servers(state, zone_id)
    config = dict(params.get("HostedZoneConfig") or {}, PrivateZone=False)
    hosted = {"Id": f"/hostedzone/{zone_id}", "Name": name, "CallerReference": params["CallerReference"],
              "Config": config}
    records = [
        {"Name": name, "Type": "SOA", "TTL": 900, "ResourceRecords": [
            {"Value": f"{servers[0]}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}]},
        {"Name": name, "Type": "NS", "TTL": 172800, "ResourceRecords": [{"Value": s + "."} for s in servers]},
    ]
    state.zones[zone_id] = {"HostedZone": hosted, "_records": records, "_servers": servers,
                            "_seq": state.next_seq()}
    return {"HostedZone": zone_view(state.zones[zone_id]), "ChangeInfo": state.new_change(),
            "DelegationSet": {"NameServers": servers},
            "Location": f"https://route53.amazonaws.com/2013-04-01/hostedzone/{zone_id}"}


@action("GetHostedZone")
def get_hosted_zone(state, params):
    zone = state.zone(params["Id"])
    return {"HostedZone": zone_view(zone), "DelegationSet": {"NameServers": zone["_servers"]}}


def _max_items(state, raw, default, limit):
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise state.error("InvalidInput", f"1 validation error detected: Value '{raw}' at 'maxItems' failed "
                                          "to satisfy constraint: Member must be a positive integer")
    return min(int(raw), limit)


@action("ListHostedZones")
def list_hosted_zones(state, params):
    limit = _max_items(state, params.get("MaxItems"), 100, 100)
    zones = list(state.zones.values())
    marker = params.get("Marker")
    if marker:
        seq = next((z["_seq"] for zid, z in state.zones.items() if zid == marker), None)
        if seq is None:
            raise state.error("InvalidInput", f"Invalid marker: {marker}")
        zones = [z for z in zones if z["_seq"] >= seq]
    chunk, more = page(zones, None, limit, lambda z: (z["_seq"],))
    result = {"HostedZones": [zone_view(z) for z in chunk], "Marker": marker or "",
              "IsTruncated": more is not None, "MaxItems": str(limit)}
    if more is not None:
        following = sorted(zones, key=lambda z: z["_seq"])[limit]
        result["NextMarker"] = following["HostedZone"]["Id"].rsplit("/", 1)[-1]
    return result


@action("GetChange")
def get_change(state, params):
    change = state.changes.get(params["Id"].rsplit("/", 1)[-1])
    if change is None:
        raise state.error("NoSuchChange", f"A change with the specified change ID does not exist: {params['Id']}",
                          404)
    state.seen(change)
    return {"ChangeInfo": change}
