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
"""

import time

DEFAULT_TRANSITION_MS = 200


def begin(thing):
    """Marks a resource (or an attachment) as having just entered a transitional state."""
    thing["_since"] = time.monotonic()
    thing["_seen"] = False


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
    return thing["_seen"] or time.monotonic() - thing["_since"] >= transition_ms(state) / 1000


def done(thing):
    thing.pop("_since", None)
    thing.pop("_seen", None)
