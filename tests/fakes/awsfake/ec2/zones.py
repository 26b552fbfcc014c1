"""DescribeAvailabilityZones: the fake region has zones a, b and c."""

from ..errors import AwsError
from .actions import action
from .filters import compile_filters

FILTERS = {
    "zone-name": lambda z: [z["ZoneName"]],
    "zone-id": lambda z: [z["ZoneId"]],
    "state": lambda z: [z["State"]],
    "region-name": lambda z: [z["RegionName"]],
    "group-name": lambda z: [z["GroupName"]],
    "network-border-group": lambda z: [z["NetworkBorderGroup"]],
    "opt-in-status": lambda z: [z["OptInStatus"]],
    "zone-type": lambda z: [z["ZoneType"]],
    "message": lambda z: [m["Message"] for m in z["Messages"]],
}


def _zone_view(state, zone):
    return {"ZoneName": zone["ZoneName"], "ZoneId": zone["ZoneId"], "State": "available",
            "OptInStatus": "opt-in-not-required", "Messages": [], "RegionName": state.region,
            "GroupName": state.region, "NetworkBorderGroup": state.region,
            "ZoneType": "availability-zone"}


@action("DescribeAvailabilityZones")
def describe_availability_zones(state, params):
    zones = [_zone_view(state, z) for z in state.zones]
    for name in params.get("ZoneNames") or []:
        if not any(z["ZoneName"] == name for z in zones):
            raise AwsError("InvalidParameterValue", f"The availability zone '{name}' does not exist")
    for zone_id in params.get("ZoneIds") or []:
        if not any(z["ZoneId"] == zone_id for z in zones):
            raise AwsError("InvalidParameterValue", f"The availability zone ID '{zone_id}' does not exist")
    names, ids = params.get("ZoneNames"), params.get("ZoneIds")
    if names or ids:
        zones = [z for z in zones if z["ZoneName"] in (names or []) or z["ZoneId"] in (ids or [])]
    matches = compile_filters(params.get("Filters"), FILTERS, taggable=False, state=state)
    return {"AvailabilityZones": [z for z in zones if matches(z)]}
