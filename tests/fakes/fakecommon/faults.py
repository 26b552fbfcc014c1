"""Fault injection: "make the next N matching requests fail".

Tests use this to exercise retries, back-off and failures in the middle of an
apply. The fake itself stays ignorant of what a test expects: it only knows a
queue of rules, each with a predicate, a remaining count and an optional number
of matching requests to let through first ("after").
"""

import re
import threading


class FaultRule:
    def __init__(self, spec: dict, matches):
        self.spec = spec            # the JSON the test posted, kept for GET /_fake/faults
        self.matches = matches      # callable(request_info) -> bool
        self.skip = int(spec.get("after", 0))
        self.remaining = int(spec.get("count", 1))
        if self.remaining < 1 or self.skip < 0:
            raise ValueError("count must be >= 1 and after >= 0")


class FaultQueue:
    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []

    def add(self, rule: FaultRule):
        with self._lock:
            self._rules.append(rule)

    def clear(self):
        with self._lock:
            self._rules.clear()

    def pending(self):
        with self._lock:
            return [dict(r.spec, remaining=r.remaining, after=r.skip) for r in self._rules]

    def take(self, request_info):
        """The spec of the first rule that fires for this request, or None.

        A rule fires once its "after" allowance is used up; it is dropped when
        its count reaches zero. Rules are tried in the order they were added."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(request_info):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
                return rule.spec
        return None


# The fields of a path-matched fault as the HTTP fakes take it (POST
# /_fake/faults); a fake may add its own (GitHub's "reset_in").
PATH_FAULT_FIELDS = {"path_regex": ".*", "method": None, "status": 500, "count": 1, "after": 0,
                     "retry_after": None, "delay_ms": 0, "body": None}


def path_fault(spec, fields=PATH_FAULT_FIELDS):
    """A FaultRule for requests whose path matches spec["path_regex"] (and
    whose method is spec["method"] when given), from the JSON a test posted,
    defaults filled in from `fields`. ValueError names what is wrong."""
    if not isinstance(spec, dict):
        raise ValueError("a fault is a JSON object")
    unknown = set(spec) - set(fields)
    if unknown:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    spec = dict(fields, **spec)
    pattern = re.compile(spec["path_regex"])

    def matches(request):
        return (pattern.search(request["path"]) is not None
                and spec["method"] in (None, request["method"]))
    return FaultRule(spec, matches)
