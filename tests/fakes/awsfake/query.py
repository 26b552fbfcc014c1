"""The plain AWS Query protocol ("query" in botocore: IAM, ELBv2), model-driven.

Requests are form-encoded pairs like EC2's, but a member's key is its
``locationName`` or member name (not capitalised), list elements are
``Name.member.N`` (``member`` is the list member's locationName when it has
one; flattened lists are ``Name.N``) and maps ``Name.entry.N.key/value``.
Answers are

  <OpResponse xmlns="NS"><OpResult>...</OpResult>
    <ResponseMetadata><RequestId>ID</RequestId></ResponseMetadata></OpResponse>

with lists wrapped in ``<member>``; errors are

  <ErrorResponse xmlns="NS"><Error><Type>Sender</Type><Code>C</Code>
    <Message>M</Message></Error><RequestId>ID</RequestId></ErrorResponse>

Parameters are checked against the model (required members, enums, integer
ranges, string lengths and patterns, list lengths) with AWS's
``ValidationError`` wording, so handlers only check what the model cannot say.
"""

import datetime
import re
from xml.sax.saxutils import escape

from .errors import AwsError


def _join(path, name):
    return f"{path}.{name}" if path else name


def _unknown(path):
    return AwsError("UnknownParameter", f"The parameter {path} is not recognized")


def _lower_first(name):
    return name[0].lower() + name[1:] if name else name


def validation_error(value, path, constraint):
    return AwsError("ValidationError",
                    f"1 validation error detected: Value '{value}' at '{_lower_first(path)}' "
                    f"failed to satisfy constraint: {constraint}")


def _compile(pattern):
    try:
        return re.compile(pattern)
    except re.error:     # Java-only syntax (\p{...}): AWS checks it, the fake cannot
        return None


def timestamp_text(value):
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return str(value)


class QueryProtocol:
    content_type = "text/xml"

    def __init__(self, model):
        self.model = model
        self._patterns = {}

    # ---------------------------------------------------------------- input
    def parse(self, operation, pairs):
        """pairs: [(key, value)] without Action/Version -> dict of parameters."""
        trie = {}
        for key, value in pairs:
            parts = key.split(".")
            node = trie
            for i, part in enumerate(parts[:-1]):
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise _unknown(".".join(parts[:i + 2]))
            if isinstance(node.get(parts[-1]), dict):
                raise _unknown(key)
            node[parts[-1]] = value
        shape_name = self.model.input_shape_name(operation)
        if shape_name is None:
            if trie:
                raise _unknown(next(iter(trie)))
            return {}
        return self._structure(self.model.shape(shape_name), trie, "")

    def _structure(self, shape, node, path):
        if not isinstance(node, dict):
            raise _unknown(path)
        result = {}
        for name, ref in shape.get("members", {}).items():
            wire = ref.get("locationName", name)
            if wire in node:
                result[name] = self._value(ref["shape"], node.pop(wire), _join(path, wire))
        if node:
            raise _unknown(_join(path, next(iter(node))))
        for name in shape.get("required", []):
            if name not in result:
                wire = shape["members"][name].get("locationName", name)
                raise validation_error("null", _join(path, wire), "Member must not be null")
        return result

    def _value(self, shape_name, raw, path):
        shape = self.model.shape(shape_name)
        kind = shape["type"]
        if kind == "structure":
            return self._structure(shape, raw, path)
        if kind == "list":
            return self._list(shape, raw, path)
        if kind == "map":
            return self._map(shape, raw, path)
        if isinstance(raw, dict):
            raise _unknown(_join(path, next(iter(raw))))
        return self._scalar(shape, kind, raw, path)

    @staticmethod
    def _indexed(raw, path):
        if not isinstance(raw, dict):
            raise _unknown(path)
        for index in raw:
            if not index.isdigit() or int(index) < 1:
                raise _unknown(_join(path, index))
        return [raw[i] for i in sorted(raw, key=int)]

    def _list(self, shape, raw, path):
        if raw == "":
            items = []                 # how the Query protocol spells an empty list
        else:
            if not shape.get("flattened"):
                wrapper = shape["member"].get("locationName", "member")
                if not isinstance(raw, dict) or set(raw) != {wrapper}:
                    raise _unknown(_join(path, next(iter(raw))) if isinstance(raw, dict) else path)
                raw, path = raw[wrapper], _join(path, wrapper)
            items = [self._value(shape["member"]["shape"], item, path)
                     for item in self._indexed(raw, path)]
        n = len(items)
        if "min" in shape and n < shape["min"]:
            raise validation_error(items, path, f"Member must have length greater than or equal to {shape['min']}")
        if "max" in shape and n > shape["max"]:
            raise validation_error(items, path, f"Member must have length less than or equal to {shape['max']}")
        return items

    def _map(self, shape, raw, path):
        if raw == "":
            return {}
        if not shape.get("flattened"):
            if not isinstance(raw, dict) or set(raw) != {"entry"}:
                raise _unknown(path)
            raw, path = raw["entry"], _join(path, "entry")
        key_name = shape["key"].get("locationName", "key")
        value_name = shape["value"].get("locationName", "value")
        result = {}
        for entry in self._indexed(raw, path):
            if not isinstance(entry, dict) or key_name not in entry:
                raise validation_error("null", _join(path, key_name), "Member must not be null")
            key = self._value(shape["key"]["shape"], entry[key_name], _join(path, key_name))
            result[key] = self._value(shape["value"]["shape"], entry.get(value_name, ""),
                                      _join(path, value_name))
        return result

    def _scalar(self, shape, kind, raw, path):
        if kind in ("integer", "long"):
            try:
                value = int(raw)
            except ValueError:
                raise validation_error(raw, path, "Member must be an integer") from None
            if "min" in shape and value < shape["min"]:
                raise validation_error(raw, path, f"Member must have value greater than or equal to {shape['min']}")
            if "max" in shape and value > shape["max"]:
                raise validation_error(raw, path, f"Member must have value less than or equal to {shape['max']}")
            return value
        if kind == "boolean":
            if raw.lower() not in ("true", "false"):
                raise validation_error(raw, path, "Member must be true or false")
            return raw.lower() == "true"
        if kind in ("float", "double"):
            try:
                return float(raw)
            except ValueError:
                raise validation_error(raw, path, "Member must be a number") from None
        if kind == "string":
            self._check_string(shape, raw, path)
        return raw

    def _check_string(self, shape, raw, path):
        if "enum" in shape and raw not in shape["enum"]:
            raise validation_error(raw, path, f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]")
        if "min" in shape and len(raw) < shape["min"]:
            raise validation_error(raw, path, f"Member must have length greater than or equal to {shape['min']}")
        if "max" in shape and len(raw) > shape["max"]:
            raise validation_error(raw, path, f"Member must have length less than or equal to {shape['max']}")
        pattern = shape.get("pattern")
        if pattern:
            if pattern not in self._patterns:
                self._patterns[pattern] = _compile(pattern)
            rx = self._patterns[pattern]
            if rx is not None and not rx.fullmatch(raw):
                raise validation_error(raw, path, f"Member must satisfy regular expression pattern: {pattern}")

    # --------------------------------------------------------------- output
    def serialize(self, operation, result, request_id) -> bytes:
        ns = self.model.xml_namespace
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<{operation}Response xmlns="{ns}">']
        ref = self.model.operations[operation].get("output")
        if ref:
            wrapper = ref.get("resultWrapper", f"{operation}Result")
            out.append(f"<{wrapper}>")
            self._members(out, self.model.shape(ref["shape"]), result or {})
            out.append(f"</{wrapper}>")
        out.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
        out.append(f"</{operation}Response>")
        return "".join(out).encode()

    def _members(self, out, shape, value):
        members = shape.get("members", {})
        for key in value:
            if key not in members and not key.startswith("_"):
                # A bug in a handler, not a client error: fail loudly.
                raise KeyError(f"{key!r} is not a member of the output shape")
        for name, ref in members.items():
            v = value.get(name)
            if v is not None:
                self._write(out, ref["shape"], v, ref.get("locationName", name))

    def _write(self, out, shape_name, value, tag):
        shape = self.model.shape(shape_name)
        kind = shape["type"]
        if kind == "structure":
            out.append(f"<{tag}>")
            self._members(out, shape, value)
            out.append(f"</{tag}>")
        elif kind == "list":
            item_tag = shape["member"].get("locationName", "member")
            if shape.get("flattened"):
                for item in value:
                    self._write(out, shape["member"]["shape"], item, item_tag)
            elif not value:
                out.append(f"<{tag}/>")
            else:
                out.append(f"<{tag}>")
                for item in value:
                    self._write(out, shape["member"]["shape"], item, item_tag)
                out.append(f"</{tag}>")
        elif kind == "map":
            out.append(f"<{tag}>")
            for k, v in value.items():
                out.append("<entry>")
                self._write(out, shape["key"]["shape"], k, shape["key"].get("locationName", "key"))
                self._write(out, shape["value"]["shape"], v, shape["value"].get("locationName", "value"))
                out.append("</entry>")
            out.append(f"</{tag}>")
        elif kind == "boolean":
            out.append(f"<{tag}>{'true' if value else 'false'}</{tag}>")
        elif kind == "timestamp":
            out.append(f"<{tag}>{timestamp_text(value)}</{tag}>")
        else:
            out.append(f"<{tag}>{escape(str(value))}</{tag}>")

    # --------------------------------------------------------------- errors
    def error(self, err: AwsError, request_id) -> bytes:
        kind = "Receiver" if err.status >= 500 else "Sender"
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<ErrorResponse xmlns="{self.model.xml_namespace}">'
                f"<Error><Type>{kind}</Type><Code>{escape(err.code)}</Code>"
                f"<Message>{escape(err.message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
