"""All EC2 resources of one fake region, and how they are found by id.

Resources are plain dicts shaped like the EC2 output shapes (``VpcId``,
``CidrBlock``, ``Tags`` ...), so a Describe handler can return them as they
are. Keys starting with ``_`` are the fake's own bookkeeping; the serializer
skips them. Every resource gets ``_seq``, a creation counter that gives a
stable order for Describe results and pagination tokens.

The service holds one lock around each call, so nothing here locks.

Eventual consistency (``eventual_consistency_ms`` in config.py): for that
long after its creation (``_created``), a resource is not found by a
Describe that names its id (``get_many(..., describing=True)``), as EC2
answers InvalidInstanceID.NotFound right after RunInstances.
"""

import re
import secrets
import time
from dataclasses import dataclass

from ..config import config_of
from ..errors import AwsError


@dataclass(frozen=True)
class Kind:
    name: str          # the EC2 resource type, as in tags: "vpc", "route-table"
    prefix: str        # id prefix: "vpc" -> vpc-0123456789abcdef0
    not_found: str     # error code for an unknown id
    malformed: str     # error code for an id that is not of this kind's form
    noun: str          # "The {noun} 'x' does not exist"
    id_field: str      # the member holding the id: "VpcId", "GroupId" ...


KINDS = {k.name: k for k in [
    Kind("vpc", "vpc", "InvalidVpcID.NotFound", "InvalidVpcID.Malformed", "vpc ID", "VpcId"),
    Kind("subnet", "subnet", "InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed", "subnet ID",
         "SubnetId"),
    Kind("internet-gateway", "igw", "InvalidInternetGatewayID.NotFound",
         "InvalidInternetGatewayId.Malformed", "internetGateway ID", "InternetGatewayId"),
    Kind("route-table", "rtb", "InvalidRouteTableID.NotFound", "InvalidRouteTableId.Malformed",
         "routeTable ID", "RouteTableId"),
    Kind("security-group", "sg", "InvalidGroup.NotFound", "InvalidGroupId.Malformed",
         "security group", "GroupId"),
    Kind("security-group-rule", "sgr", "InvalidSecurityGroupRuleId.NotFound",
         "InvalidSecurityGroupRuleId.Malformed", "security group rule ID", "SecurityGroupRuleId"),
    Kind("elastic-ip", "eipalloc", "InvalidAllocationID.NotFound", "InvalidAllocationID.Malformed",
         "allocation ID", "AllocationId"),
    Kind("natgateway", "nat", "NatGatewayNotFound", "NatGatewayMalformed", "NAT gateway",
         "NatGatewayId"),
    Kind("network-acl", "acl", "InvalidNetworkAclID.NotFound", "InvalidNetworkAclId.Malformed",
         "network ACL", "NetworkAclId"),
    Kind("instance", "i", "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed", "instance ID",
         "InstanceId"),
    Kind("volume", "vol", "InvalidVolume.NotFound", "InvalidVolumeID.Malformed", "volume",
         "VolumeId"),
    Kind("snapshot", "snap", "InvalidSnapshot.NotFound", "InvalidSnapshotID.Malformed", "snapshot",
         "SnapshotId"),
    Kind("launch-template", "lt", "InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateId.Malformed",
         "launch template ID", "LaunchTemplateId"),
]}
KIND_BY_PREFIX = {k.prefix: k for k in KINDS.values()}

# AWS ids are the prefix, a dash and 17 (older resources: 8) lowercase hex digits.
_ID_RE = re.compile(r"^([a-z]+)-([0-9a-f]{8}|[0-9a-f]{17})$")

# Region name -> zone-id prefix, e.g. eu-west-1 -> euw1 (as in euw1-az1).
_DIRECTIONS = {"east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
               "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}


def zone_id_prefix(region):
    parts = region.split("-")
    return parts[0] + "".join(_DIRECTIONS.get(p, p[:1]) for p in parts[1:-1]) + parts[-1]


class Ec2State:
    def __init__(self, region, account_id):
        self.region = region
        self.account_id = account_id
        self.zones = [{"ZoneName": f"{region}{letter}",
                       "ZoneId": f"{zone_id_prefix(region)}-az{i}"}
                      for i, letter in enumerate("abc", 1)]
        self.store = {name: {} for name in KINDS}
        self._seq = 0
        # Every account has default DHCP options; new VPCs point at them.
        self.dhcp_options_id = self.new_id("dopt")

    def new_id(self, prefix):
        return f"{prefix}-{secrets.token_hex(9)[:17]}"

    def add(self, kind, resource_id, resource):
        self._seq += 1
        resource["_seq"] = self._seq
        resource["_created"] = time.monotonic()
        self.store[kind][resource_id] = resource
        return resource

    def remove(self, kind, resource_id):
        self.store[kind].pop(resource_id, None)

    def all(self, kind):
        return list(self.store[kind].values())

    def check_id_form(self, kind, resource_id):
        k = KINDS[kind]
        m = _ID_RE.match(resource_id or "")
        if not m or m.group(1) != k.prefix:
            raise AwsError(k.malformed, f'Invalid id: "{resource_id}" (expecting "{k.prefix}-...")')

    def get(self, kind, resource_id):
        """The resource, or AWS's Malformed / NotFound error for that kind."""
        self.check_id_form(kind, resource_id)
        resource = self.store[kind].get(resource_id)
        if resource is None:
            k = KINDS[kind]
            raise AwsError(k.not_found, f"The {k.noun} '{resource_id}' does not exist")
        return resource

    def too_new(self, resource):
        """Whether a Describe by id does not see the resource yet (eventual consistency)."""
        delay = config_of(self).eventual_consistency_ms
        return bool(delay) and time.monotonic() - resource.get("_created", 0) < delay / 1000

    def get_many(self, kind, ids, describing=False):
        """Resources for a list of ids (duplicates collapsed); every missing id
        is named in one error, as AWS does. describing: a Describe* call,
        which does not see resources created too recently."""
        for rid in ids:
            self.check_id_form(kind, rid)
        unique = list(dict.fromkeys(ids))
        store = self.store[kind]
        missing = [rid for rid in unique if rid not in store or (describing and self.too_new(store[rid]))]
        if missing:
            k = KINDS[kind]
            if len(missing) == 1:
                msg = f"The {k.noun} '{missing[0]}' does not exist"
            else:
                msg = f"The {k.noun}s '{', '.join(missing)}' do not exist"
            raise AwsError(k.not_found, msg)
        return [self.store[kind][rid] for rid in unique]

    def find_any(self, resource_id):
        """(kind, resource) for an id of any kind; used by the tag actions."""
        m = _ID_RE.match(resource_id or "")
        kind = KIND_BY_PREFIX.get(m.group(1)) if m else None
        if kind is None:
            raise AwsError("InvalidID", f"The ID '{resource_id}' is not valid")
        return kind.name, self.get(kind.name, resource_id)

    def zone(self, name=None, zone_id=None):
        for z in self.zones:
            if (name is not None and z["ZoneName"] == name) or \
               (zone_id is not None and z["ZoneId"] == zone_id):
                return z
        return None

    def dump(self):
        """Every resource, without bookkeeping keys, for GET /_fake/state."""
        def public(value):
            if isinstance(value, dict):
                return {k: public(v) for k, v in value.items() if not k.startswith("_")}
            if isinstance(value, list):
                return [public(v) for v in value]
            return value
        return {kind: [public(r) for r in resources.values()]
                for kind, resources in self.store.items()}
