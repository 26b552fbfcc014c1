"""The timing profile: how long AWS takes to finish what a call starts, in
ONE table (PROFILE), for benchmarks and tests of waiting.

AWS publishes only Route53's figure (a change is INSYNC within 60 s); the
others are what is commonly seen. A row is (shortest s, longest s, fixed s):
``timing`` "fixed" (bench mode) takes the fixed figure, "random" draws one
uniformly between the two bounds at the first look, "off" (the default)
keeps the fake's quick rule (lifecycle.py: done at the first call after a
Describe showed the transition once, or after ``transition_ms``).
``timing_scale`` multiplies every figure (0.01: a NAT gateway in about a
second). While a profile is on, looking does not hurry anything.

Edit the figures here only: bench/bench.py reads this table to weigh the
dependency graph of an apply (its critical path).
"""

import random

PROFILE = {
    # kind: (shortest s, longest s, fixed s)
    "instance-running": (10, 30, 20),            # pending -> running
    "instance-terminated": (30, 90, 45),         # shutting-down -> terminated
    "volume-available": (5, 15, 10),             # creating -> available
    "volume-deleted": (1, 5, 2),                 # deleting -> gone
    "volume-attachment": (3, 10, 5),             # attaching -> attached, detaching -> gone
    "volume-modification": (30, 120, 60),        # modifying -> optimizing
    "snapshot-completed": (30, 300, 60),         # pending -> completed
    "nat-gateway-available": (90, 120, 105),     # pending -> available
    "nat-gateway-deleted": (30, 90, 60),         # deleting -> deleted
    "load-balancer-active": (150, 210, 180),     # provisioning -> active
    "load-balancer-deleted": (5, 30, 15),        # deleted: network interfaces released
    "dns-change-insync": (0, 60, 60),            # PENDING -> INSYNC (AWS: within 60 s)
}

MODES = ("off", "fixed", "random")


def seconds(mode, scale, kind):
    """The time a transition of `kind` takes under the profile, or None
    (profile off, or a kind the table does not list)."""
    row = PROFILE.get(kind)
    if mode == "off" or row is None:
        return None
    low, high, fixed = row
    return (fixed if mode == "fixed" else random.uniform(low, high)) * scale


def settled(config, thing, elapsed_s):
    """Whether a transition begun `elapsed_s` ago is over under the profile;
    None when the profile does not decide it (then the quick rule does).
    A random figure is drawn once per transition and kept with it."""
    kind = thing.get("_kind")
    if config.timing == "off" or kind not in PROFILE:
        return None
    if "_settle_s" not in thing:
        thing["_settle_s"] = seconds(config.timing, config.timing_scale, kind)
    return elapsed_s >= thing["_settle_s"]
