"""EC2 Describe* filters: ``Filter.N.Name`` / ``Filter.N.Value.M``.

Semantics as documented by EC2: values of one filter are OR-ed, filters are
AND-ed, values may use ``*`` and ``?`` wildcards (``\\`` escapes them), and
matching is case-sensitive. ``tag:<key>``, ``tag-key`` and ``tag-value`` work
for every taggable resource. An unknown filter name is an error, as in EC2,
which catches typos in the client instead of silently matching everything.

Under the ``ignore_filters`` switch (config.py) filters are still checked
that way, then not applied: every resource matches.
"""

import re

from ..config import config_of
from ..errors import AwsError


def _wildcard_regex(pattern):
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tag_values(resource, key):
    return [t.get("Value", "") for t in resource.get("Tags", []) if t["Key"] == key]


def compile_filters(filters, table, taggable=True, state=None):
    """Validate the Filters parameter; returns a predicate over resources.

    table: filter name -> function(resource) -> iterable of values.
    state: the service state, whose configuration may say to ignore filters."""
    getters = []
    for f in filters or []:
        name = f.get("Name")
        values = f.get("Values") or []
        if name is None:
            raise AwsError("InvalidParameterValue", "The filter 'null' is invalid")
        if not values:
            raise AwsError("InvalidParameterValue",
                           f"The filter '{name}' requires at least one value")
        if taggable and name.startswith("tag:"):
            getter = (lambda key: lambda r: _tag_values(r, key))(name[4:])
        elif taggable and name == "tag-key":
            getter = lambda r: [t["Key"] for t in r.get("Tags", [])]
        elif taggable and name == "tag-value":
            getter = lambda r: [t.get("Value", "") for t in r.get("Tags", [])]
        elif name in table:
            getter = table[name]
        else:
            raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")
        patterns = [_wildcard_regex(v) for v in values]
        getters.append((getter, patterns))
    if config_of(state).ignore_filters:
        return lambda resource: True

    def predicate(resource):
        for getter, patterns in getters:
            actual = [_text(v) for v in getter(resource) if v is not None]
            if not any(p.match(a) for p in patterns for a in actual):
                return False
        return True
    return predicate
