#!/usr/bin/python3
"""Fake chat webhooks on 127.0.0.1: Slack incoming webhooks, Discord
webhooks and generic JSON webhooks, for deploybot's integration tests.

  fake_chat.py --port 0 --port-file PATH [--verbose]

Endpoints (any path below the prefix names one webhook, e.g. one channel):
  POST /slack/...     Slack incoming webhook (NOTES.md §6): JSON with "text"
                      and/or "blocks"; 200 "ok" (text/plain); 400
                      "invalid_payload" for bad JSON, "no_text" without text
                      or blocks, "invalid_blocks" for a section text over
                      3000 characters.
  POST /discord/{id}/{token}[?wait=true]   Discord execute webhook (§7):
                      204, or 200 with the message when wait=true; 400 with
                      Discord's error JSON when content/embeds are missing or
                      over the embed limits (title 256, description 4096,
                      field name 256 / value 1024, footer 2048, total 6000,
                      10 embeds, 25 fields).
  POST /hook/...      generic webhook: records headers and the raw body, 200.

Admin endpoints:
  POST   /_fake/faults    {"path_regex": "...", "status": 429, "count": 1,
                           "after": 0, "retry_after": 1, "delay_ms": 0,
                           "body": "..."}  the next matching requests fail
                          (Slack's 429 body is "rate_limited", 500 is
                          "rollup_error"; Discord's 429 is its JSON with
                          retry_after); GET lists them, DELETE clears them
  GET    /_fake/requests  every webhook request: method, path, query, headers,
                          body (raw text), json, status, accepted; DELETE clears
  POST   /_fake/reset     empties the log and the faults
"""

import argparse
import json
import os
import re
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakecommon.faults import PATH_FAULT_FIELDS, FaultQueue, path_fault  # noqa: E402
from fakecommon.httpserver import BaseHandler, LoopbackServer, add_common_args, serve  # noqa: E402

SLACK_SECTION_MAX = 3000
DISCORD = {"title": 256, "description": 4096, "field.name": 256, "field.value": 1024,
           "footer.text": 2048, "author.name": 256, "total": 6000, "embeds": 10, "fields": 25,
           "content": 2000}
FAULT_FIELDS = PATH_FAULT_FIELDS


class ChatFakeApp:
    def __init__(self, verbose=False):
        self.verbose = verbose
        self.faults = FaultQueue()
        self._log = []
        self._lock = threading.Lock()
        self._next_id = 1100000000000000000

    def record(self, entry):
        with self._lock:
            self._log.append(entry)

    def requests(self):
        with self._lock:
            return list(self._log)

    def clear(self):
        with self._lock:
            self._log.clear()

    def message_id(self):
        with self._lock:
            self._next_id += 1
            return str(self._next_id)

    def add_fault(self, spec):
        rule = path_fault(spec, FAULT_FIELDS)
        self.faults.add(rule)
        return rule.spec


def _slack_error(message):
    return 400, message


def check_slack(doc):
    """None when Slack would accept the message, else (status, plain-text error)."""
    if not isinstance(doc, dict):
        return _slack_error("invalid_payload")
    blocks = doc.get("blocks")
    if not doc.get("text") and not blocks:
        return _slack_error("no_text")
    if blocks is not None:
        if not isinstance(blocks, list) or len(blocks) > 50:
            return _slack_error("invalid_blocks")
        for block in blocks:
            if not isinstance(block, dict) or "type" not in block:
                return _slack_error("invalid_blocks")
            if block["type"] == "section":
                text = (block.get("text") or {}).get("text")
                if not isinstance(text, str) or not text or len(text) > SLACK_SECTION_MAX:
                    return _slack_error("invalid_blocks")
    return None


def _discord_error(errors):
    return 400, {"message": "Invalid Form Body", "code": 50035, "errors": errors}


def check_discord(doc):
    """None when Discord would accept the message, else (status, error JSON).

    Lengths are counted after trimming leading/trailing whitespace (§7)."""
    if not isinstance(doc, dict):
        return 400, {"message": "Cannot send an empty message", "code": 50006}
    embeds = doc.get("embeds") or []
    content = doc.get("content") or ""
    if not content and not embeds and not doc.get("components") and not doc.get("poll"):
        return 400, {"message": "Cannot send an empty message", "code": 50006}
    if len(content) > DISCORD["content"]:
        return _discord_error({"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}})
    if not isinstance(embeds, list) or len(embeds) > DISCORD["embeds"]:
        return _discord_error({"embeds": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}})
    total = 0

    def measure(value, limit, where):
        nonlocal total
        if value is None:
            return None
        if not isinstance(value, str):
            return _discord_error({where: {"_errors": [{"code": "BASE_TYPE_STRING"}]}})
        n = len(value.strip())
        total += n
        if n > limit:
            return _discord_error({where: {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                         "message": f"Must be {limit} or fewer in length."}]}})
        return None

    for i, e in enumerate(embeds):
        if not isinstance(e, dict):
            return _discord_error({f"embeds.{i}": {"_errors": [{"code": "MODEL_TYPE_CONVERT"}]}})
        for key in ("title", "description"):
            err = measure(e.get(key), DISCORD[key], f"embeds.{i}.{key}")
            if err:
                return err
        fields = e.get("fields") or []
        if len(fields) > DISCORD["fields"]:
            return _discord_error({f"embeds.{i}.fields": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}})
        for j, f in enumerate(fields):
            for key in ("name", "value"):
                err = measure(f.get(key), DISCORD["field." + key], f"embeds.{i}.fields.{j}.{key}")
                if err:
                    return err
        err = (measure((e.get("footer") or {}).get("text"), DISCORD["footer.text"], f"embeds.{i}.footer.text")
               or measure((e.get("author") or {}).get("name"), DISCORD["author.name"], f"embeds.{i}.author.name"))
        if err:
            return err
        if "color" in e and not isinstance(e["color"], int):
            return _discord_error({f"embeds.{i}.color": {"_errors": [{"code": "NUMBER_TYPE_COERCE"}]}})
    if total > DISCORD["total"]:
        return _discord_error({"embeds": {"_errors": [{"code": "MAX_EMBED_SIZE_EXCEEDED",
                                                       "message": "Embed size exceeds maximum size of 6000"}]}})
    return None


def fault_response(kind, spec):
    """(status, body, content type, headers) of an injected failure, as the service sends it."""
    status = spec["status"]
    headers = {}
    if spec["retry_after"] is not None:
        headers["Retry-After"] = str(spec["retry_after"])
    if kind == "discord":
        if status == 429:
            ra = float(spec["retry_after"] if spec["retry_after"] is not None else 1)
            headers.update({"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": "%.3f" % (time.time() + ra),
                            "X-RateLimit-Reset-After": "%.3f" % ra, "X-RateLimit-Scope": "shared"})
            body = spec["body"] or {"message": "You are being rate limited.", "retry_after": ra, "global": False}
        else:
            body = spec["body"] or {"message": "500: Internal Server Error", "code": 0}
        return status, json.dumps(body).encode(), "application/json", headers
    if kind == "slack":
        text = spec["body"] or {429: "rate_limited", 500: "rollup_error", 404: "channel_not_found",
                                410: "channel_is_archived", 403: "action_prohibited"}.get(status, "invalid_payload")
    else:
        text = spec["body"] or "injected failure"
    if not isinstance(text, str):
        text = json.dumps(text)
    return status, text.encode(), "text/plain; charset=utf-8", headers


class ChatHandler(BaseHandler):
    server_version = "fake-chat"

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self):
        url = urlsplit(self.path)
        raw = self.read_body()
        if url.path.startswith("/_fake/"):
            return self._admin(url.path, raw)
        app = self.server.app
        kind = url.path.split("/")[1] if url.path.count("/") >= 2 else ""
        text = raw.decode("utf-8", errors="replace")
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        entry = {"method": self.command, "path": url.path, "query": url.query, "kind": kind,
                 "headers": dict(self.headers.items()), "body": text, "json": doc, "time": time.time()}
        status, body, ctype, headers = self._handle(kind, url, doc)
        entry["status"] = status
        entry["accepted"] = 200 <= status < 300
        app.record(entry)
        if app.verbose:
            print(f"chat-fake: {self.command} {url.path} -> {status}", file=sys.stderr, flush=True)
        if status == 204:
            self.send_response(204)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_bytes(status, body, ctype, headers)

    def _handle(self, kind, url, doc):
        app = self.server.app
        if self.command != "POST" or kind not in ("slack", "discord", "hook"):
            return 404, b"not found", "text/plain", {}
        fault = app.faults.take({"method": self.command, "path": url.path})
        if fault:
            if fault["delay_ms"]:
                time.sleep(fault["delay_ms"] / 1000)
            return fault_response(kind, fault)
        if kind == "slack":
            err = check_slack(doc)
            if err:
                return err[0], err[1].encode(), "text/plain; charset=utf-8", {}
            return 200, b"ok", "text/plain; charset=utf-8", {}
        if kind == "discord":
            if not re.match(r"^/discord/\d+/[\w-]+$", url.path):
                return 401, json.dumps({"message": "Invalid Webhook Token", "code": 50027}).encode(), \
                    "application/json", {}
            err = check_discord(doc)
            if err:
                return err[0], json.dumps(err[1]).encode(), "application/json", {}
            limits = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4",
                      "X-RateLimit-Reset": "%.3f" % (time.time() + 2), "X-RateLimit-Reset-After": "2.000"}
            if parse_qs(url.query).get("wait", ["false"])[-1] == "true":
                msg = dict(doc, id=app.message_id(), type=0, webhook_id=url.path.split("/")[2])
                return 200, json.dumps(msg).encode(), "application/json", limits
            return 204, b"", "", limits
        return 200, b"", "text/plain", {}

    def _admin(self, path, raw):
        app = self.server.app
        route = (self.command, path)
        try:
            if route == ("POST", "/_fake/faults"):
                return self.send_json(201, app.add_fault(json.loads(raw or b"{}")))
            if route == ("GET", "/_fake/faults"):
                return self.send_json(200, app.faults.pending())
            if route == ("DELETE", "/_fake/faults"):
                app.faults.clear()
                return self.send_json(200, [])
            if route == ("GET", "/_fake/requests"):
                return self.send_json(200, app.requests())
            if route == ("DELETE", "/_fake/requests"):
                app.clear()
                return self.send_json(200, [])
            if route == ("POST", "/_fake/reset"):
                app.clear()
                app.faults.clear()
                return self.send_json(200, {})
        except (ValueError, TypeError, re.error) as e:
            return self.send_json(400, {"error": str(e)})
        self.send_json(404, {"error": f"no admin endpoint {self.command} {path}"})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(parser)
    args = parser.parse_args(argv)
    app = ChatFakeApp(verbose=args.verbose)
    server = LoopbackServer(args.port, ChatHandler, app)
    serve(server, args.port_file, name="fake_chat")


if __name__ == "__main__":
    main()
