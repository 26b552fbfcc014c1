"""Switches that make the fake behave like a particular AWS (or an
independent implementation of its APIs), set on the command line and
changed at run time through ``POST /_fake/config``.

Every service sees the one FakeConfig through the registry
(``registry.config``); the HTTP front reads it for error shapes, throttling
and credentials. Defaults are AWS's behaviour as the other tests expect it:
filters applied, each service's own error document, no eventual
consistency, no throttling.

  ignore_filters          Describe*/List* ignore server-side filters (see
                          README "Ignoring filters" for which parameters)
  error_shape             native | ec2 | query | errors-under-errorresponse
  eventual_consistency_ms a new EC2 resource is NotFound by id for this long
  throttle, throttle_scale EC2 token buckets (throttle.py)
  timing, timing_scale    the timing profile of asynchronous changes
                          (timing.py: off | fixed | random, and its factor)
  latency_ms              every API call is answered this much later, as
                          far away as AWS is; calls wait side by side
  session_duration_s      lifetime of AssumeRole credentials, whatever
                          DurationSeconds asks (None: DurationSeconds)
  roles                   role ARN -> external id (None: none required) of
                          the roles STS lets the base user assume
"""

import copy
import re

from .timing import MODES as TIMING_MODES

ERROR_SHAPES = ("native", "ec2", "query", "errors-under-errorresponse")
_ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")


def parse_role(spec):
    """(role ARN, external id or None) from ``ARN[:EXTERNAL_ID]`` or
    ``{"arn": ..., "external_id": ...}``."""
    if isinstance(spec, dict):
        unknown = set(spec) - {"arn", "external_id"}
        if unknown:
            raise ValueError(f"unknown role fields: {sorted(unknown)}")
        arn, external_id = spec.get("arn"), spec.get("external_id")
    elif isinstance(spec, str):
        # Role names hold no ':', external ids may: split at the first ':' after "role/".
        at = spec.find(":role/")
        colon = spec.find(":", at + 6) if at >= 0 else -1
        arn, external_id = (spec, None) if colon < 0 else (spec[:colon], spec[colon + 1:])
    else:
        raise ValueError(f"a role is 'ARN[:EXTERNAL_ID]' or an object, not {spec!r}")
    if not isinstance(arn, str) or not _ROLE_ARN.match(arn):
        raise ValueError(f"not an IAM role ARN: {arn!r}")
    if external_id is not None and (not isinstance(external_id, str) or
                                    not re.fullmatch(r"[\w+=,.@:/-]{2,1224}", external_id)):
        raise ValueError(f"invalid external id for {arn}: {external_id!r}")
    return arn, external_id


class FakeConfig:
    FIELDS = ("ignore_filters", "error_shape", "eventual_consistency_ms", "throttle", "throttle_scale",
              "session_duration_s", "roles", "timing", "timing_scale", "latency_ms")

    def __init__(self, ignore_filters=False, error_shape="native", eventual_consistency_ms=0,
                 throttle=False, throttle_scale=1.0, session_duration_s=None, roles=(),
                 timing="off", timing_scale=1.0, latency_ms=0):
        self.ignore_filters = False
        self.error_shape = "native"
        self.eventual_consistency_ms = 0
        self.throttle = False
        self.throttle_scale = 1.0
        self.session_duration_s = None
        self.roles = {}
        self.timing = "off"
        self.timing_scale = 1.0
        self.latency_ms = 0
        self.update({"ignore_filters": ignore_filters, "error_shape": error_shape,
                     "eventual_consistency_ms": eventual_consistency_ms, "throttle": throttle,
                     "throttle_scale": throttle_scale, "session_duration_s": session_duration_s,
                     "roles": list(roles), "timing": timing, "timing_scale": timing_scale,
                     "latency_ms": latency_ms})
        self._startup = self.to_json()

    def update(self, changes):
        """Validates and applies a partial configuration (all or nothing)."""
        if not isinstance(changes, dict):
            raise ValueError("the configuration is a JSON object")
        unknown = set(changes) - set(self.FIELDS)
        if unknown:
            raise ValueError(f"unknown configuration fields: {sorted(unknown)}")
        new = {}
        for name, value in changes.items():
            if name in ("ignore_filters", "throttle"):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} is true or false")
            elif name == "error_shape":
                if value not in ERROR_SHAPES:
                    raise ValueError(f"error_shape is one of {', '.join(ERROR_SHAPES)}")
            elif name in ("eventual_consistency_ms", "latency_ms"):
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{name} is an integer >= 0")
            elif name in ("throttle_scale", "timing_scale"):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                    raise ValueError(f"{name} is a number > 0")
                value = float(value)
            elif name == "timing":
                if value not in TIMING_MODES:
                    raise ValueError(f"timing is one of {', '.join(TIMING_MODES)}")
            elif name == "session_duration_s":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                          or value < 1):
                    raise ValueError("session_duration_s is an integer >= 1, or null")
            elif name == "roles":
                if not isinstance(value, (list, tuple)):
                    raise ValueError("roles is a list of 'ARN[:EXTERNAL_ID]' or {arn, external_id}")
                value = dict(parse_role(spec) for spec in value)
            new[name] = value
        for name, value in new.items():
            setattr(self, name, value)
        return self.to_json()

    def restore(self):
        """Back to the command line's configuration (POST /_fake/reset)."""
        self.update(copy.deepcopy(self._startup))

    def to_json(self):
        out = {name: getattr(self, name) for name in self.FIELDS}
        out["roles"] = [{"arn": arn, "external_id": ext} for arn, ext in self.roles.items()]
        return out


def config_of(state):
    """The FakeConfig a service state sees through its registry (a default one without)."""
    registry = getattr(state, "registry", None)
    return getattr(registry, "config", None) or _DEFAULT


_DEFAULT = FakeConfig()
