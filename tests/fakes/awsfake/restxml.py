"""The REST-XML protocol ("rest-xml" in botocore: Route53), model-driven.

An operation is found from the HTTP method and the path, matched against
the model's ``requestUri`` templates (``/2013-04-01/hostedzone/{Id}/rrset/``;
a trailing slash is optional). Its input members come from the path labels,
the query string and headers (``location`` in the model) and from an XML
body whose root is the input's ``locationName``; lists wrap each element in
the member's ``locationName``. Answers are an XML document rooted at the
output shape's name in the service namespace, with members placed in
headers where the model says so, and the operation's ``responseCode``.
Errors:

  <ErrorResponse xmlns="NS"><Error><Type>Sender</Type><Code>C</Code>
    <Message>M</Message></Error><RequestId>ID</RequestId></ErrorResponse>

Values are checked against the model as for the Query protocol, reported as
``InvalidInput`` (Route53's code for them).
"""

import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote
from xml.sax.saxutils import escape

from .errors import AwsError
from .query import QueryProtocol, timestamp_text


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _route_regex(uri):
    path = uri.split("?", 1)[0].rstrip("/")
    out, pos = [], 0
    for m in re.finditer(r"\{(\w+)(\+?)\}", path):
        out.append(re.escape(path[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})")
        pos = m.end()
    out.append(re.escape(path[pos:]))
    return re.compile("".join(out) + "/?")


class RestXmlProtocol(QueryProtocol):
    rest = True
    content_type = "text/xml"

    def __init__(self, model):
        super().__init__(model)
        self.namespace = next((op["input"]["xmlNamespace"]["uri"] for op in model.operations.values()
                               if "xmlNamespace" in op.get("input", {})), "")
        self._routes = [(op["http"]["method"], _route_regex(op["http"]["requestUri"]), name)
                        for name, op in model.operations.items()]
        # Literal segments first, so /hostedzone/count wins over /hostedzone/{Id}.
        self._routes.sort(key=lambda r: r[1].pattern.count("(?P<"))

    # ---------------------------------------------------------------- input
    def route(self, method, path):
        """(operation, {label: value}) for a request, or AwsError."""
        for op_method, regex, name in self._routes:
            m = regex.fullmatch(path)
            if m and op_method == method:
                return name, {k: unquote(v) for k, v in m.groupdict().items()}
        raise AwsError("UnknownOperationException", f"No operation matches {method} {path}", 404)

    def parse_request(self, operation, labels, query_pairs, headers, body):
        try:
            return self._parse_request(operation, labels, query_pairs, headers, body)
        except AwsError as e:
            if e.code in ("ValidationError", "UnknownParameter"):
                raise AwsError("InvalidInput", e.message) from None
            raise

    def _parse_request(self, operation, labels, query_pairs, headers, body):
        ref = self.model.operations[operation].get("input")
        if not ref:
            return {}
        shape = self.model.shape(ref["shape"])
        query = dict(query_pairs)
        header_map = {k.lower(): v for k, v in headers}
        params = {}
        payload_members = {}
        for name, member in shape.get("members", {}).items():
            where, wire = member.get("location"), member.get("locationName", name)
            if where == "uri":
                raw = labels.get(wire)
            elif where == "querystring":
                raw = query.get(wire)
            elif where == "header":
                raw = header_map.get(wire.lower())
            else:
                payload_members[name] = member
                continue
            if raw is not None:
                params[name] = self._value(member["shape"], raw, wire)
        if payload_members:
            params.update(self._payload(ref, shape, payload_members, body))
        for name in shape.get("required", []):
            if name not in params:
                raise AwsError("InvalidInput", f"1 validation error detected: Value null at "
                                               f"'{name[0].lower() + name[1:]}' failed to satisfy "
                                               "constraint: Member must not be null")
        return params

    def _payload(self, ref, shape, members, body):
        root_name = ref.get("locationName", ref["shape"])
        if not body:
            return {}
        try:
            root = ET.fromstring(body)
        except ET.ParseError as e:
            raise AwsError("InvalidInput", f"Invalid XML ; {e}") from None
        if _local(root.tag) != root_name:
            raise AwsError("InvalidInput", f"Invalid XML ; the root element must be {root_name}")
        return self._xml_members(members, root, root_name)

    def _xml_members(self, members, node, path):
        by_wire = {ref.get("locationName", name): (name, ref) for name, ref in members.items()}
        result = {}
        for child in node:
            tag = _local(child.tag)
            if tag not in by_wire:
                raise AwsError("InvalidInput", f"Invalid XML ; cvc-complex-type.2.4.a: Invalid content "
                                               f"was found starting with element '{tag}' in {path}")
            name, ref = by_wire[tag]
            result[name] = self._xml_value(ref["shape"], child, f"{path}.{tag}")
        return result

    def _xml_value(self, shape_name, node, path):
        shape = self.model.shape(shape_name)
        kind = shape["type"]
        if kind == "structure":
            value = self._xml_members(shape.get("members", {}), node, path)
            for name in shape.get("required", []):
                if name not in value:
                    raise AwsError("InvalidInput", f"1 validation error detected: Value null at "
                                                   f"'{path}.{name}' failed to satisfy constraint: "
                                                   "Member must not be null")
            return value
        if kind == "list":
            item_tag = shape["member"].get("locationName", "member")
            items = []
            for child in node:
                if _local(child.tag) != item_tag:
                    raise AwsError("InvalidInput", f"Invalid XML ; unexpected element "
                                                   f"'{_local(child.tag)}' in {path}")
                items.append(self._xml_value(shape["member"]["shape"], child, f"{path}.{item_tag}"))
            if "min" in shape and len(items) < shape["min"]:
                raise AwsError("InvalidInput", f"1 validation error detected: Value at '{path}' failed "
                                               f"to satisfy constraint: Member must have length greater "
                                               f"than or equal to {shape['min']}")
            return items
        return self._scalar(shape, kind, (node.text or "").strip(), path)

    # --------------------------------------------------------------- output
    def status(self, operation):
        return self.model.operations[operation]["http"].get("responseCode", 200)

    def headers(self, operation, result):
        ref = self.model.operations[operation].get("output")
        out = {}
        for name, member in (self.model.shape(ref["shape"]).get("members", {}) if ref else {}).items():
            if member.get("location") == "header" and result.get(name) is not None:
                out[member.get("locationName", name)] = str(result[name])
        return out

    def serialize(self, operation, result, request_id) -> bytes:
        ref = self.model.operations[operation].get("output")
        if not ref:
            return b""
        shape = self.model.shape(ref["shape"])
        root = shape.get("locationName", ref["shape"])
        body = {k: v for k, v in (result or {}).items()
                if "location" not in shape["members"].get(k, {})}
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<{root} xmlns="{self.namespace}">']
        self._members(out, {"members": {k: v for k, v in shape["members"].items()
                                        if "location" not in v}}, body)
        out.append(f"</{root}>")
        return "".join(out).encode()

    def _write(self, out, shape_name, value, tag):
        shape = self.model.shape(shape_name)
        if shape["type"] == "list" and not shape.get("flattened"):
            item_tag = shape["member"].get("locationName", "member")
            out.append(f"<{tag}>")
            for item in value:
                self._write(out, shape["member"]["shape"], item, item_tag)
            out.append(f"</{tag}>")
        elif shape["type"] == "timestamp":
            out.append(f"<{tag}>{timestamp_text(value)}</{tag}>")
        else:
            super()._write(out, shape_name, value, tag)

    def error(self, err: AwsError, request_id) -> bytes:
        kind = "Receiver" if err.status >= 500 else "Sender"
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<ErrorResponse xmlns="{self.namespace}">'
                f"<Error><Type>{kind}</Type><Code>{escape(err.code)}</Code>"
                f"<Message>{escape(err.message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
