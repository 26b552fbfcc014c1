"""Asynchronous state changes: instance pending -> running, volume creating
-> available, attachment attaching -> attached, and their way back.

AWS completes these some time after the call that starts them. The fake
completes one at the first call after either a Describe has shown the
transitional state once, or the transition time has passed (the registry's
``transition_ms`` when the service has one, else the state's, else 200 ms;
read at each check, so a change applies to transitions under way too; the
same rule as ServiceState.begin/due in service.py). So a client that polls sees each
transitional state exactly once and its waiter really loops, and a client
that never looks still finds the world settled, as in AWS.

With a timing profile on (timing.py), a transition of a kind the profile
lists takes the profile's time instead, looked at or not.
"""

import time

from ..config import config_of
from .. import timing

DEFAULT_TRANSITION_MS = 200


def begin(thing, kind=None):
    """Marks a resource (or an attachment) as having just entered a
    transitional state; `kind` names its row in timing.PROFILE."""
    thing["_since"] = time.monotonic()
    thing["_seen"] = False
    thing.pop("_settle_s", None)
    if kind:
        thing["_kind"] = kind
    else:
        thing.pop("_kind", None)


def seen(thing):
    """A Describe showed it: the next call may complete the change."""
    if "_since" in thing:
        thing["_seen"] = True


def transition_ms(state):
    registry = getattr(state, "registry", None)
    if getattr(registry, "transition_ms", None) is not None:
        return registry.transition_ms
    return getattr(state, "transition_ms", DEFAULT_TRANSITION_MS)


def due(state, thing):
    if "_since" not in thing:
        return True
    elapsed = time.monotonic() - thing["_since"]
    profiled = timing.settled(config_of(state), thing, elapsed)
    if profiled is not None:
        return profiled
    return thing["_seen"] or elapsed >= transition_ms(state) / 1000


def done(thing):
    for key in ("_since", "_seen", "_kind", "_settle_s"):
        thing.pop(key, None)
