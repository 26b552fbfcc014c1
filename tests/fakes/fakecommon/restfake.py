"""Shared frame of the JSON REST fakes (GitLab, Gitea): request log, fault
rules keyed by path regex, request-parameter parsing and the /_fake/ admin
dispatch. Each fake supplies its routes, its error bodies and its state.

A fake's handler subclasses RestHandler and implements:
  handle_api(request)   -> Reply     the API itself (auth, routing, handlers)
  fault_reply(spec)     -> Reply     what an injected fault looks like there
  admin_extra(method, path, payload) -> (status, obj) or None   own admin routes
and its app subclasses RestFakeApp (state, config, reset).
"""

import json
import re
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

from .faults import PATH_FAULT_FIELDS, FaultQueue, path_fault
from .httpserver import BaseHandler

FAULT_FIELDS = PATH_FAULT_FIELDS


class Reply:
    """One answer: status, body (JSON-able object, str for text/plain, bytes,
    or None for an empty body) and extra headers."""

    def __init__(self, status, body=None, headers=None, content_type=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.content_type = content_type


class ApiError(Exception):
    """Raised by handlers; carries the host's own error reply."""

    def __init__(self, status, body=None, headers=None, content_type=None):
        super().__init__(f"{status} {body!r}")
        self.reply = Reply(status, body, headers, content_type)


class Request:
    """What a handler sees of one API request."""

    def __init__(self, method, path, query, headers, raw):
        self.method = method
        self.path = path                 # raw (still percent-encoded) path
        self.query_string = query
        self.query = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        self.headers = headers           # email.message.Message: case-insensitive get()
        self.raw = raw
        self.text = raw.decode("utf-8", errors="replace")

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def body_params(self):
        """The body as the host's framework reads it: JSON only with a JSON
        content type, form fields with a form content type, nothing otherwise.

        Returns (params, error) where error is "json" for a JSON content type
        whose body does not parse (or is not an object)."""
        ctype = self.content_type
        if ctype == "application/json" or ctype.endswith("+json"):
            if not self.text.strip():
                return {}, None
            try:
                value = json.loads(self.text)
            except ValueError:
                return {}, "json"
            if not isinstance(value, dict):
                return {}, "json"
            return value, None
        if ctype == "application/x-www-form-urlencoded":
            return {k: v[-1] for k, v in parse_qs(self.text, keep_blank_values=True).items()}, None
        return {}, None

    def json_or_none(self):
        try:
            return json.loads(self.text) if self.text.strip() else None
        except ValueError:
            return None


class RestFakeApp:
    name = "fake"

    def __init__(self, verbose=False):
        self.verbose = verbose
        self.lock = threading.RLock()      # one lock for the whole state
        self.faults = FaultQueue()
        self.base_url = None               # set once the port is known
        self._log = []
        self._log_lock = threading.Lock()

    # ------------------------------------------------------- request log
    def record(self, entry):
        with self._log_lock:
            self._log.append(entry)

    def requests(self):
        with self._log_lock:
            return list(self._log)

    def clear_requests(self):
        with self._log_lock:
            self._log.clear()

    # ------------------------------------------------------------ faults
    def add_fault(self, spec):
        rule = path_fault(spec, FAULT_FIELDS)
        self.faults.add(rule)
        return rule.spec

    # ---------------------------------------------- to be overridden
    def reset(self):
        self.clear_requests()
        self.faults.clear()

    def dump(self):
        return {}

    def get_config(self):
        return {}

    def set_config(self, changes):
        raise ValueError("this fake has no configuration")


class RestHandler(BaseHandler):
    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self):
        url = urlsplit(self.path)
        raw = self.read_body()
        if url.path.startswith("/_fake/"):
            return self._admin(url.path, raw)
        app = self.server.app
        request = Request(self.command, url.path, url.query, self.headers, raw)
        entry = {"method": self.command, "path": url.path, "query": url.query,
                 "headers": dict(self.headers.items()), "json": request.json_or_none(),
                 "body": request.text, "time": time.time()}
        try:
            fault = app.faults.take({"method": self.command, "path": url.path})
            if fault:
                if fault["delay_ms"]:
                    time.sleep(fault["delay_ms"] / 1000)
                reply = self.fault_reply(fault)
            else:
                reply = self.handle_api(request)
        except ApiError as e:
            reply = e.reply
        entry["status"] = reply.status
        app.record(entry)
        if app.verbose:
            print(f"{app.name}: {self.command} {self.path} -> {reply.status}",
                  file=sys.stderr, flush=True)
        self.send_reply(reply)

    def send_reply(self, reply):
        headers = dict(self.common_headers())
        headers.update(reply.headers)
        body = reply.body
        if body is None:
            self.send_bytes(reply.status, b"", reply.content_type or "text/plain; charset=utf-8",
                            headers)
        elif isinstance(body, bytes):
            self.send_bytes(reply.status, body, reply.content_type or "application/octet-stream",
                            headers)
        elif isinstance(body, str):
            self.send_bytes(reply.status, body.encode(), reply.content_type or "text/plain; charset=utf-8",
                            headers)
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
            self.send_bytes(reply.status, data, reply.content_type or self.json_content_type,
                            headers)

    json_content_type = "application/json"

    def common_headers(self):
        return {}

    # ------------------------------------------------------------- admin
    def _admin(self, path, raw):
        app = self.server.app
        method = self.command
        try:
            payload = json.loads(raw) if raw.strip() else None
        except ValueError:
            return self.send_json(400, {"error": "the body is not JSON"})
        try:
            with app.lock:
                extra = self.admin_extra(method, path, payload)
                if extra is not None:
                    return self.send_json(*extra)
                route = (method, path)
                if route == ("POST", "/_fake/faults"):
                    return self.send_json(201, app.add_fault(payload or {}))
                if route == ("GET", "/_fake/faults"):
                    return self.send_json(200, app.faults.pending())
                if route == ("DELETE", "/_fake/faults"):
                    app.faults.clear()
                    return self.send_json(200, [])
                if route == ("GET", "/_fake/requests"):
                    return self.send_json(200, app.requests())
                if route == ("DELETE", "/_fake/requests"):
                    app.clear_requests()
                    return self.send_json(200, [])
                if route == ("GET", "/_fake/state"):
                    return self.send_json(200, app.dump())
                if route == ("POST", "/_fake/reset"):
                    app.reset()
                    return self.send_json(200, {})
                if route == ("GET", "/_fake/config"):
                    return self.send_json(200, app.get_config())
                if route == ("POST", "/_fake/config"):
                    if not isinstance(payload, dict):
                        raise ValueError("the configuration is a JSON object")
                    app.set_config(payload)
                    return self.send_json(200, app.get_config())
        except (ValueError, TypeError, KeyError, re.error) as e:
            return self.send_json(400, {"error": str(e)})
        self.send_json(404, {"error": f"no admin endpoint {method} {path}"})

    def admin_extra(self, method, path, payload):
        return None

    def handle_api(self, request):
        raise NotImplementedError

    def fault_reply(self, spec):
        raise NotImplementedError


# ------------------------------------------------------------------ helpers
def paginate_numbers(query, default_per_page, max_per_page, per_page_name="per_page"):
    """(page, per_page) from a query, the way Rails/Go hosts clamp them."""
    def number(name, default):
        try:
            return int(query.get(name, default))
        except (TypeError, ValueError):
            return default
    page = max(number("page", 1), 1)
    per_page = number(per_page_name, default_per_page)
    if per_page < 1:
        per_page = default_per_page
    return page, min(per_page, max_per_page)
