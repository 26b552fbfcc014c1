"""HTTP front of the AWS fake: SigV4 check, routing, faults, admin endpoints.

All services share one endpoint; a request goes to the service named in its
SigV4 credential scope (``.../eu-west-1/ec2/aws4_request``), which is what a
client signs for anyway. A call runs as:

  verify signature (who signed: the principal) -> find service and action ->
  count and log the call -> latency (config latency_ms, outside every lock:
  calls wait side by side) -> injected fault? -> parse parameters with the
  model -> throttled? -> DryRun? -> handler under the service lock ->
  serialize with the model (errors: in the configured error shape)

Admin endpoints (not AWS; no signature needed) live under /_fake/:
  GET    /_fake/calls     counts of calls by action (every signed call with a
                          known action, failed ones included)
  GET    /_fake/calls/log those calls one by one, oldest answered first:
                          service, action, status, error code, signing
                          principal, started and answered (time) in epoch s
  GET    /_fake/concurrency  {"in_flight", "max_in_flight"}: API calls being
                          answered now, and the most at once since the last reset
  DELETE /_fake/calls     reset the counts, the log and max_in_flight
  POST   /_fake/faults    add a fault rule (see FAULT_FIELDS)
  GET    /_fake/faults    rules still pending;  DELETE clears them
  GET    /_fake/config    the switches of config.py; POST changes some
  GET    /_fake/state     every resource of every service, as JSON
  POST   /_fake/reset     empty state, counts, log and faults; the
                          configuration the fake was started with
"""

import json
import re
import sys
import threading
import time
import traceback
import uuid
from collections import Counter, deque
from urllib.parse import parse_qsl, urlsplit

from fakecommon.faults import FaultQueue, FaultRule
from fakecommon.httpserver import BaseHandler

from .config import FakeConfig
from .errors import DEFAULT_STATUS, AwsError, render_error
from .sigv4 import SignedRequest
from .throttle import Throttle

# Fields of a fault rule (POST /_fake/faults), with defaults.
FAULT_FIELDS = {
    "action": None,       # required: action name, or "*" for any
    "service": None,      # optional: signing name ("ec2") to restrict the rule
    "error": "InternalError",   # error code to return; null = only delay
    "status": None,       # HTTP status; default: AWS's for that code, else 400
    "message": None,      # error message; default names the injected fault
    "count": 1,           # how many calls fail
    "after": 0,           # let this many matching calls through first
    "delay_ms": 0,        # sleep before answering (timeouts, slow APIs)
    "apply": False,       # true: the action takes effect, then the error is
                          # returned (a response lost after success)
}

_SCOPE_SERVICE = re.compile(r"Credential=[^/,]+/\d{8}/[^/,]+/([^/,]+)/")
CALL_LOG_MAX = 100000      # the oldest entries of /_fake/calls/log go first


class AwsFakeApp:
    def __init__(self, services, verifier, verbose=False, config=None):
        self.services = {s.signing_name: s for s in services}
        self.default_service = services[0]
        self.verifier = verifier
        self.verbose = verbose
        self.config = config or FakeConfig()
        self.throttle = Throttle(self.config)
        self.faults = FaultQueue()
        self._calls = Counter()
        self._log = deque(maxlen=CALL_LOG_MAX)
        self._seq = 0
        self._calls_lock = threading.Lock()
        self._in_flight = self._max_in_flight = 0

    def enter(self, delta):
        """An API call starts (+1) or ends (-1)."""
        with self._calls_lock:
            self._in_flight += delta
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def concurrency(self):
        with self._calls_lock:
            return {"in_flight": self._in_flight, "max_in_flight": self._max_in_flight}

    def count_call(self, action):
        with self._calls_lock:
            self._calls[action] += 1

    def log_call(self, service, action, status, error, principal, started):
        with self._calls_lock:
            self._seq += 1
            self._log.append({"seq": self._seq, "time": time.time(), "started": started, "service": service,
                              "action": action, "status": status, "error": error,
                              "principal": principal})

    def calls(self):
        with self._calls_lock:
            return dict(self._calls)

    def call_log(self):
        with self._calls_lock:
            return list(self._log)

    def reset_calls(self):
        with self._calls_lock:
            self._calls.clear()
            self._log.clear()
            self._max_in_flight = self._in_flight

    def error_body(self, service, err, request_id):
        """The error document: the service's own, or the configured shape."""
        shape = self.config.error_shape
        if shape == "native":
            return service.protocol.error(err, request_id)
        namespace = getattr(service.protocol, "namespace", None) or service.model.xml_namespace
        return render_error(shape, err, request_id, namespace)

    def add_fault(self, spec):
        unknown = set(spec) - set(FAULT_FIELDS)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        spec = dict(FAULT_FIELDS, **spec)
        if not isinstance(spec["action"], str):
            raise ValueError('"action" (an action name or "*") is required')
        if spec["error"] is not None and spec["status"] is None:
            spec["status"] = DEFAULT_STATUS.get(spec["error"], 400)

        def matches(call):
            return (spec["action"] in ("*", call["action"])
                    and spec["service"] in (None, call["service"]))
        self.faults.add(FaultRule(spec, matches))
        return spec

    def reset(self):
        self.config.restore()
        for service in self.services.values():
            service.reset()
        self.reset_calls()
        self.faults.clear()
        self.throttle.reset()


class AwsHandler(BaseHandler):
    server_version = "AmazonEC2"

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self):
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path.startswith("/_fake/"):
            self._admin(url.path, body)
        elif self.command in ("GET", "POST", "DELETE"):   # DELETE: REST services (Route53)
            self.server.app.enter(1)
            try:
                self._api(url, body)
            finally:
                self.server.app.enter(-1)
        else:
            self.send_json(405, {"error": "method not allowed"})

    # ------------------------------------------------------------- admin
    def _admin(self, path, body):
        app = self.server.app
        route = (self.command, path)
        try:
            if route == ("GET", "/_fake/calls"):
                return self.send_json(200, app.calls())
            if route == ("GET", "/_fake/calls/log"):
                return self.send_json(200, app.call_log())
            if route == ("GET", "/_fake/concurrency"):
                return self.send_json(200, app.concurrency())
            if route == ("GET", "/_fake/config"):
                return self.send_json(200, app.config.to_json())
            if route == ("POST", "/_fake/config"):
                return self.send_json(200, app.config.update(json.loads(body or b"{}")))
            if route == ("DELETE", "/_fake/calls"):
                app.reset_calls()
                return self.send_json(200, {})
            if route == ("POST", "/_fake/faults"):
                return self.send_json(201, app.add_fault(json.loads(body or b"{}")))
            if route == ("GET", "/_fake/faults"):
                return self.send_json(200, app.faults.pending())
            if route == ("DELETE", "/_fake/faults"):
                app.faults.clear()
                return self.send_json(200, [])
            if route == ("GET", "/_fake/state"):
                return self.send_json(200, {n: s.dump() for n, s in app.services.items()})
            if route == ("POST", "/_fake/reset"):
                app.reset()
                return self.send_json(200, {})
        except (ValueError, TypeError) as e:
            return self.send_json(400, {"error": str(e)})
        self.send_json(404, {"error": f"no admin endpoint {self.command} {path}"})

    # --------------------------------------------------------------- API
    def _api(self, url, body):
        app = self.server.app
        request_id = str(uuid.uuid4())
        self._started = time.time()
        service = self._service_guess(app)
        action = None
        self._call = None      # (action, principal) once the call is counted
        try:
            identity = app.verifier.verify(SignedRequest(
                method=self.command, raw_path=url.path, raw_query=url.query,
                headers=list(self.headers.items()), body=body))
            service = app.services.get(identity.service)
            if service is None:
                service = app.default_service
                raise AwsError("InvalidAction",
                               f"The fake does not implement the service '{identity.service}'")
            if identity.region not in service.signing_regions():
                raise AwsError("AuthFailure",
                               f"Credential should be scoped to a valid region, not "
                               f"'{identity.region}'. This endpoint serves "
                               f"'{service.signing_region()}'.", 401)

            pairs = parse_qsl(url.query, keep_blank_values=True)
            rest = getattr(service.protocol, "rest", False)
            if rest:    # REST-XML: the action is the method and path; the body is XML
                action, labels = service.protocol.route(self.command, url.path)
                if not service.implements(action):
                    raise AwsError("InvalidAction",
                                   f"The action {action} is valid for AWS but not implemented by the fake.")
            else:
                content_type = self.headers.get("Content-Type", "")
                if body and (not content_type or content_type.startswith("application/x-www-form-urlencoded")):
                    try:
                        pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
                    except UnicodeDecodeError:
                        raise AwsError("MalformedQueryString", "The request body is not UTF-8") from None
                action, pairs = self._action_and_params(service, pairs)
            app.count_call(action)
            self._call = (action, identity.principal)
            if app.config.latency_ms:
                time.sleep(app.config.latency_ms / 1000)

            fault = app.faults.take({"service": service.signing_name, "action": action})
            # "apply" faults take effect first and are slow or lost afterwards:
            # a client that dies meanwhile finds the resource on its next look.
            if fault and fault["delay_ms"] and not fault["apply"]:
                time.sleep(fault["delay_ms"] / 1000)
            if fault and fault["error"] is not None and not fault["apply"]:
                raise _fault_error(fault)

            if rest:
                params = service.protocol.parse_request(action, labels, pairs,
                                                        list(self.headers.items()), body)
            else:
                params = service.protocol.parse(action, pairs)
            app.throttle.check(service.signing_name, action, params)
            if params.get("DryRun"):
                raise AwsError("DryRunOperation",
                               "Request would have succeeded, but DryRun flag is set.", 412)
            # Serialize under the lock too: results are the live resource dicts.
            with service.lock:
                result = service.handle(action, params, caller=identity.principal)
                payload = service.protocol.serialize(action, result, request_id)
            if fault and fault["apply"] and fault["delay_ms"]:
                time.sleep(fault["delay_ms"] / 1000)
            if fault and fault["error"] is not None:
                raise _fault_error(fault)
            if rest:
                self._send_api(service.protocol.status(action), payload, service, request_id, action,
                               service.protocol.headers(action, result))
            else:
                self._send_api(200, payload, service, request_id, action)
        except AwsError as err:
            self._send_api(err.status, app.error_body(service, err, request_id),
                           service, request_id, action, error=err.code)
        except Exception:    # a bug in the fake: say so loudly, answer like AWS would
            traceback.print_exc(file=sys.stderr)
            err = AwsError("InternalError", "An internal error has occurred (fake bug; see its stderr)", 500)
            self._send_api(500, app.error_body(service, err, request_id), service, request_id, action,
                           error=err.code)

    def _service_guess(self, app):
        """The service to format an error for before the signature is checked."""
        m = _SCOPE_SERVICE.search(self.headers.get("Authorization", ""))
        return app.services.get(m.group(1) if m else None, app.default_service)

    @staticmethod
    def _action_and_params(service, pairs):
        action = version = None
        rest = []
        for key, value in pairs:
            if key == "Action":
                action = value
            elif key == "Version":
                version = value
            else:
                rest.append((key, value))
        if not action:
            raise AwsError("MissingAction", "The request must contain the parameter Action")
        if not version:
            raise AwsError("MissingParameter", "The request must contain the parameter Version")
        if version != service.api_version:
            raise AwsError("NoSuchVersion",
                           f"The requested version ({version}) of service {service.signing_name} "
                           "does not exist")
        if not service.knows_action(action):
            raise AwsError("InvalidAction", f"The action {action} is not valid for this web service.")
        if not service.implements(action):
            raise AwsError("InvalidAction",
                           f"The action {action} is valid for AWS but not implemented by the fake.")
        return action, rest

    def _send_api(self, status, payload, service, request_id, action, headers=None, error=None):
        if self.server.app.verbose:
            print(f"aws-fake: {action or '?'} -> {status}", file=sys.stderr, flush=True)
        if self._call is not None:
            self.server.app.log_call(service.signing_name, self._call[0], status, error, self._call[1],
                                     self._started)
        self.send_bytes(status, payload, service.protocol.content_type,
                        dict(headers or {}, **{"x-amzn-RequestId": request_id}))


def _fault_error(fault):
    message = fault["message"] or f"{fault['error']} (fault injected by the test)"
    return AwsError(fault["error"], message, fault["status"])
