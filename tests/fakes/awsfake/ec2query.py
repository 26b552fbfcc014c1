"""The EC2 wire protocol ("ec2" in botocore's models), driven by the model.

Requests are form-encoded key/value pairs where nested values are flattened
with dots: ``Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-...``. A member's key is
its ``queryName``, else its ``locationName`` capitalised, else the member name;
list elements are ``Name.1``, ``Name.2``... (no ``.member.`` as in the plain
Query protocol). Responses are XML; element names are ``locationName`` (else
the member name) and lists wrap each element in ``<item>``.

parse() turns the pairs into a dict keyed by model member names (the same
dict boto3 takes as parameters); serialize() turns a dict keyed the same way
into the XML boto3 parses. Handlers therefore never see the wire format.
"""

import datetime
from xml.sax.saxutils import escape

from .errors import AwsError


def _unknown(path):
    return AwsError("UnknownParameter", f"The parameter {path} is not recognized")


def _join(path, name):
    return f"{path}.{name}" if path else name


class Ec2QueryProtocol:
    content_type = "text/xml;charset=UTF-8"

    def __init__(self, model):
        self.model = model

    # ---------------------------------------------------------------- input
    @staticmethod
    def _query_name(member_name, ref):
        if "queryName" in ref:
            return ref["queryName"]
        if "locationName" in ref:
            loc = ref["locationName"]
            return loc[0].upper() + loc[1:]
        return member_name

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
        return self._parse_structure(self.model.shape(shape_name), trie, "")

    def _parse_structure(self, shape, node, path):
        if not isinstance(node, dict):
            raise _unknown(path)
        result = {}
        for member_name, ref in shape.get("members", {}).items():
            wire = self._query_name(member_name, ref)
            if wire in node:
                result[member_name] = self._parse_value(
                    ref["shape"], node.pop(wire), _join(path, wire))
        if node:
            leftover = next(iter(node))
            raise _unknown(_join(path, leftover))
        for member_name in shape.get("required", []):
            if member_name not in result:
                wire = self._query_name(member_name, shape["members"][member_name])
                raise AwsError("MissingParameter",
                               f"The request must contain the parameter {_join(path, wire)}")
        return result

    def _parse_value(self, shape_name, raw, path):
        shape = self.model.shape(shape_name)
        kind = shape["type"]
        if kind == "structure":
            return self._parse_structure(shape, raw, path)
        if kind == "list":
            if raw == "":
                return []          # how the Query protocol spells an empty list
            if not isinstance(raw, dict):
                raise _unknown(path)
            items = []
            for index in sorted(raw, key=lambda k: int(k) if k.isdigit() else -1):
                if not index.isdigit() or int(index) < 1:
                    raise _unknown(_join(path, index))
                items.append(self._parse_value(shape["member"]["shape"], raw[index],
                                               _join(path, index)))
            return items
        if isinstance(raw, dict):
            raise _unknown(_join(path, next(iter(raw))))
        return self._parse_scalar(shape, kind, raw, path)

    @staticmethod
    def _parse_scalar(shape, kind, raw, path):
        def bad(why):
            return AwsError("InvalidParameterValue",
                            f"Value ({raw}) for parameter {path} is invalid. {why}")
        if kind in ("integer", "long"):
            try:
                value = int(raw)
            except ValueError:
                raise bad("Invalid integer value.") from None
            if ("min" in shape and value < shape["min"]) or ("max" in shape and value > shape["max"]):
                raise bad(f"Parameter must be between {shape.get('min')} and {shape.get('max')}.")
            return value
        if kind == "boolean":
            if raw.lower() not in ("true", "false"):
                raise bad("Expected true or false.")
            return raw.lower() == "true"
        if kind in ("float", "double"):
            try:
                return float(raw)
            except ValueError:
                raise bad("Invalid number.") from None
        if kind == "string" and "enum" in shape and raw not in shape["enum"]:
            raise bad(f"Allowed values: {', '.join(shape['enum'])}.")
        return raw    # string, timestamp, blob: kept as sent

    # --------------------------------------------------------------- output
    def serialize(self, operation, result, request_id) -> bytes:
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
               f'<{operation}Response xmlns="{self.model.xml_namespace}/">',
               f"<requestId>{request_id}</requestId>"]
        shape_name = self.model.output_shape_name(operation)
        if shape_name is None:
            # Operations without an output shape still answer <return>true</return>.
            out.append("<return>true</return>")
        else:
            self._write_members(out, self.model.shape(shape_name), result or {})
        out.append(f"</{operation}Response>")
        return "".join(out).encode()

    def _write_members(self, out, shape, value):
        members = shape.get("members", {})
        for key in value:
            if key not in members and not key.startswith("_"):
                # A bug in a handler, not a client error: fail loudly.
                raise KeyError(f"{key!r} is not a member of the output shape")
        for member_name, ref in members.items():
            v = value.get(member_name)
            if member_name == "Tags" and v == []:
                # EC2 leaves tagSet out for an untagged resource (boto3 then has
                # no "Tags" key); clients must cope with that, so the fake does it too.
                continue
            if v is not None:
                self._write_value(out, ref["shape"], v, ref.get("locationName", member_name))

    def _write_value(self, out, shape_name, value, tag):
        shape = self.model.shape(shape_name)
        kind = shape["type"]
        if kind == "structure":
            out.append(f"<{tag}>")
            self._write_members(out, shape, value)
            out.append(f"</{tag}>")
        elif kind == "list":
            item_tag = shape["member"].get("locationName", "item")
            if shape.get("flattened"):
                for item in value:
                    self._write_value(out, shape["member"]["shape"], item, item_tag)
            elif not value:
                out.append(f"<{tag}/>")
            else:
                out.append(f"<{tag}>")
                for item in value:
                    self._write_value(out, shape["member"]["shape"], item, item_tag)
                out.append(f"</{tag}>")
        elif kind == "map":
            out.append(f"<{tag}>")
            key_tag = shape["key"].get("locationName", "key")
            value_tag = shape["value"].get("locationName", "value")
            for k, v in value.items():
                out.append("<item>")
                self._write_value(out, shape["key"]["shape"], k, key_tag)
                self._write_value(out, shape["value"]["shape"], v, value_tag)
                out.append("</item>")
            out.append(f"</{tag}>")
        else:
            out.append(f"<{tag}>{escape(self._scalar_text(kind, value))}</{tag}>")

    @staticmethod
    def _scalar_text(kind, value):
        if kind == "boolean":
            return "true" if value else "false"
        if kind == "timestamp" and isinstance(value, datetime.datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
        return str(value)

    # --------------------------------------------------------------- errors
    @staticmethod
    def error(err: AwsError, request_id) -> bytes:
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Response><Errors><Error><Code>{escape(err.code)}</Code>"
                f"<Message>{escape(err.message)}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>").encode()
