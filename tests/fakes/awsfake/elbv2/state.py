"""ELBv2 state: load balancers, target groups and listeners by ARN, the
time-based transitions, and EC2 lookups through the registry.

Resources are dicts shaped like the output shapes; ``_tags``, ``_seq`` and
other ``_`` keys are bookkeeping. Targets live in their group's ``_targets``.
"""

import datetime
import re
import secrets

from ..config import config_of
from ..markers import page
from ..service import ServiceState

ACTIONS = {}
MAX_TAGS = 50

# Route53 hosted zone of each region's application load balancers (AWS's table).
CANONICAL_ZONES = {
    "us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-1": "Z368ELLRRE2KJ0",
    "us-west-2": "Z1H1FL5HABSF5", "ca-central-1": "ZQSVJUPU6J1EY", "eu-west-1": "Z32O12XQLNTSW2",
    "eu-west-2": "ZHURV8PSTC4K8", "eu-west-3": "Z3Q77PNBQS71R4", "eu-central-1": "Z215JYRZR1TBD5",
    "eu-north-1": "Z23TAZR6IO5HRK", "ap-northeast-1": "Z14GRHDCWA56QT", "ap-southeast-1": "Z1LMS91P8CMLE5",
    "ap-southeast-2": "Z1GM3OXH4ZPM65", "ap-south-1": "ZP97RAFLXTNZK", "sa-east-1": "Z2P70J7HTTTPLU",
}
NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")


def action(name):
    def register(fn):
        ACTIONS[name] = fn
        return fn
    return register


def canonical_zone(region):
    return CANONICAL_ZONES.get(region, "Z" + format(abs(hash(region)) % 16 ** 12, "012X"))


class Elbv2State(ServiceState):
    def __init__(self, service):
        super().__init__(service)
        self.lbs = {}          # arn -> load balancer
        self.tgs = {}          # arn -> target group
        self.listeners = {}    # arn -> listener

    # ------------------------------------------------------------ basics
    def arn(self, what):
        return f"arn:aws:elasticloadbalancing:{self.region}:{self.account_id}:{what}"

    @staticmethod
    def hex_id():
        return secrets.token_hex(8)

    @staticmethod
    def now():
        return datetime.datetime.now(datetime.timezone.utc)

    def tick(self):
        for arn, lb in list(self.lbs.items()):
            if lb["_deleting"] and self.due(lb):
                del self.lbs[arn]
            elif lb["State"]["Code"] == "provisioning" and self.due(lb):
                lb["State"] = {"Code": "active"}
                self.done(lb)
        for tg in self.tgs.values():
            for key, target in list(tg["_targets"].items()):
                if target["_draining"] and self.due(target):
                    del tg["_targets"][key]

    def live_lbs(self):
        """Load balancers that exist (a deleted one is still torn down for a while)."""
        return [lb for lb in self.lbs.values() if not lb["_deleting"]]

    def lb(self, arn):
        lb = self.lbs.get(arn)
        if lb is None or lb["_deleting"]:
            raise self.error("LoadBalancerNotFound", f"Load balancer '{arn}' not found")
        return lb

    def tg(self, arn):
        tg = self.tgs.get(arn)
        if tg is None:
            raise self.error("TargetGroupNotFound", f"Target groups '{arn}' not found")
        return tg

    def listener(self, arn):
        listener = self.listeners.get(arn)
        if listener is None:
            raise self.error("ListenerNotFound", f"Listener '{arn}' not found")
        return listener

    def tg_lb_arns(self, tg):
        """Load balancers whose listeners send traffic to the group."""
        arns = []
        for listener in self.listeners.values():
            if tg["TargetGroupArn"] in action_target_groups(listener["DefaultActions"]):
                if listener["LoadBalancerArn"] not in arns:
                    arns.append(listener["LoadBalancerArn"])
        return arns

    def check_name(self, name, what):
        if not NAME_RE.match(name) or name.lower().startswith("internal-"):
            raise self.error("ValidationError", f"{what} name '{name}' can have a maximum of 32 characters, "
                                                "can contain only alphanumeric characters or hyphens, must "
                                                "not begin or end with a hyphen, and must not begin with "
                                                "'internal-'")

    # --------------------------------------------------------------- EC2
    def ec2(self):
        ec2 = self.registry.service("ec2")
        return ec2.state if ec2 else None

    def ec2_get(self, kind, resource_id):
        ec2 = self.ec2()
        store = ec2.store.get(kind, {}) if ec2 else {}
        return store.get(resource_id)

    def ec2_models(self, kind):
        """True when the EC2 fake keeps resources of this kind (instances may be absent)."""
        ec2 = self.ec2()
        return bool(ec2) and kind in ec2.store

    # -------------------------------------------------------------- tags
    def tagged(self, arn):
        """The resource an ARN names (load balancer, target group, listener)."""
        if ":loadbalancer/" in arn:
            return self.lb(arn)
        if ":targetgroup/" in arn:
            return self.tg(arn)
        if ":listener/" in arn:
            return self.listener(arn)
        raise self.error("ValidationError", f"'{arn}' is not a valid load balancer, target group or "
                                            "listener ARN")

    def dump(self):
        return {"load-balancer": [dict(lb, Tags=lb["_tags"]) for lb in self.live_lbs()],
                "target-group": [dict(tg, Tags=tg["_tags"], Targets=[
                    {"Id": t["Id"], "Port": t["Port"]} for t in tg["_targets"].values()
                    if not t["_draining"]], LoadBalancerArns=self.tg_lb_arns(tg))
                    for tg in self.tgs.values()],
                "listener": [dict(x, Tags=x["_tags"]) for x in self.listeners.values()]}


def action_target_groups(actions):
    arns = []
    for a in actions:
        if a["Type"] == "forward":
            if a.get("TargetGroupArn"):
                arns.append(a["TargetGroupArn"])
            for t in a.get("ForwardConfig", {}).get("TargetGroups", []):
                if t.get("TargetGroupArn") and t["TargetGroupArn"] not in arns:
                    arns.append(t["TargetGroupArn"])
    return arns


def tags_for_create(state, params):
    return merge_tags(state, [], params.get("Tags") or [])


def merge_tags(state, existing, new):
    keys = [t["Key"] for t in new]
    dup = next((k for k in keys if keys.count(k) > 1), None)
    if dup is not None:
        raise state.error("DuplicateTagKeys", f"Tag key '{dup}' is duplicated")
    for key in keys:
        if key.startswith("aws:"):
            raise state.error("ValidationError", "Tag keys cannot start with 'aws:'")
    merged = {t["Key"]: t["Value"] for t in existing}
    for t in new:
        merged[t["Key"]] = t.get("Value", "")
    if len(merged) > MAX_TAGS:
        raise state.error("TooManyTags", "The quota for the number of tags that can be assigned to a "
                                         "load balancer has been reached")
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def paged(state, items, params, result_key):
    """Marker/PageSize/NextMarker, in creation order."""
    chunk, marker = page(items, params.get("Marker"), params.get("PageSize"), lambda r: (r["_seq"],))
    result = {result_key: chunk}
    if marker:
        result["NextMarker"] = marker
    return result


def select(state, resources, arns, names, arn_key, name_key, not_found, noun):
    """Resources named by ARNs or names, every one of which must exist.
    Under the ignore_filters switch (config.py) names are not looked at: they
    select like a filter, while ARNs address resources and stay strict."""
    if arns and names:
        raise state.error("ValidationError", f"{noun} ARNs and names cannot be specified together")
    if config_of(state).ignore_filters:
        names = None
    for wanted, key in ((arns, arn_key), (names, name_key)):
        if wanted:
            by_key = {r[key]: r for r in resources}
            missing = [w for w in wanted if w not in by_key]
            if missing:
                raise state.error(not_found, f"One or more {noun}s not found: '{', '.join(missing)}'")
            return [by_key[w] for w in dict.fromkeys(wanted)]
    return list(resources)
