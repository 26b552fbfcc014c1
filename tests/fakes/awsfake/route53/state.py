"""Route53 state: hosted zones with their record sets, and changes.

Names are kept as Route53 answers them: lower case, a trailing dot, and
characters other than a-z 0-9 - _ . written as ``\\ooo`` octal escapes
(``*.example.com`` is ``\\052.example.com.``). Ids are answered with their
prefix (``/hostedzone/Z...``, ``/change/C...``) and taken without it, as
boto3 sends them.
"""

import datetime
import re
import secrets
import string

from ..service import ServiceState

ACTIONS = {}
_ID_CHARS = string.ascii_uppercase + string.digits
_PLAIN = set(string.ascii_lowercase + string.digits + "-_.")


def action(name):
    def register(fn):
        ACTIONS[name] = fn
        return fn
    return register


def dns_name(name):
    """Route53's form of a DNS name: unescaped, lower case, escaped again, one trailing dot."""
    raw = re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), name).lower()
    if not raw.endswith("."):
        raw += "."
    return "".join(c if c in _PLAIN else f"\\{ord(c):03o}" for c in raw)


def name_key(name):
    """Sort key of a name: labels from the right (com, example, www), as Route53 lists them."""
    return tuple(reversed(name.rstrip(".").split(".")))


class Route53State(ServiceState):
    def __init__(self, service):
        super().__init__(service)
        self.zones = {}      # id (no prefix) -> zone
        self.changes = {}    # id (no prefix) -> change

    @staticmethod
    def new_id(prefix, length=20):
        return prefix + "".join(secrets.choice(_ID_CHARS) for _ in range(length))

    @staticmethod
    def now():
        return datetime.datetime.now(datetime.timezone.utc)

    def zone(self, zone_id):
        zone = self.zones.get(zone_id.rsplit("/", 1)[-1])
        if zone is None:
            raise self.error("NoSuchHostedZone", f"No hosted zone found with ID: {zone_id}", 404)
        return zone

    def new_change(self, comment=None):
        change = {"Id": "/change/" + self.new_id("C"), "Status": "PENDING", "SubmittedAt": self.now()}
        self.begin(change, "dns-change-insync")
        if comment is not None:
            change["Comment"] = comment
        self.changes[change["Id"].rsplit("/", 1)[-1]] = change
        return change

    def tick(self):
        for change in self.changes.values():
            if change["Status"] == "PENDING" and self.due(change):
                change["Status"] = "INSYNC"
                self.done(change)

    def dump(self):
        return {"hosted-zone": [dict(z["HostedZone"], ResourceRecordSets=z["_records"])
                                for z in self.zones.values()],
                "change": list(self.changes.values())}
