#!/usr/bin/python3
"""Checks the chat fake (tests/fakes/fake_chat.py) with plain urllib against
the wire facts in /work/shared/fixtures/webhooks/NOTES.md §6 (Slack) and §7
(Discord): answers, limits, 429 with Retry-After, the request log."""

import json
import os
import sys
import unittest
import urllib.error
import urllib.request

SOURCE_DIR = os.environ.get("DEPLOYBOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

fake = None


def setUpModule():
    global fake
    fake = FakeProcess("fake_chat.py").start()


def tearDownModule():
    fake.stop()


def post(path, body, raw=False):
    data = body if raw else json.dumps(body).encode()
    req = urllib.request.Request(fake.url + path, data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


class ChatFake(unittest.TestCase):
    def setUp(self):
        fake.admin("POST", "/_fake/reset")

    def test_slack(self):
        self.assertEqual(post("/slack/T1/B1/x", {"text": "Hello, World!"})[:2], (200, b"ok"))
        self.assertEqual(post("/slack/T1/B1/x", {})[:2], (400, b"no_text"))
        self.assertEqual(post("/slack/T1/B1/x", b"{", raw=True)[:2], (400, b"invalid_payload"))
        long = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]}
        self.assertEqual(post("/slack/T1/B1/x", long)[:2], (400, b"invalid_blocks"))
        long["blocks"][0]["text"]["text"] = "x" * 3000
        self.assertEqual(post("/slack/T1/B1/x", long)[:2], (200, b"ok"))

    def test_discord(self):
        code, body, _ = post("/discord/123/tok", {"embeds": [{"title": "t", "description": "d"}]})
        self.assertEqual((code, body), (204, b""))
        code, body, _ = post("/discord/123/tok?wait=true", {"content": "hi"})
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body)["content"], "hi")
        self.assertEqual(post("/discord/123/tok", {})[0], 400)
        code, body, _ = post("/discord/123/tok", {"embeds": [{"description": "x" * 4097}]})
        self.assertEqual((code, json.loads(body)["code"]), (400, 50035))
        total = {"embeds": [{"description": "x" * 4000, "fields": [{"name": "n", "value": "v" * 1000}] * 2}]}
        self.assertEqual(post("/discord/123/tok", total)[0], 400)        # 6002 > 6000
        self.assertEqual(post("/discord/nope", {"content": "x"})[0], 401)

    def test_faults_and_log(self):
        fake.admin("POST", "/_fake/faults", {"path_regex": "^/slack/", "status": 429, "retry_after": 3})
        code, body, headers = post("/slack/T1/B1/x", {"text": "a"})
        self.assertEqual((code, body, headers.get("Retry-After")), (429, b"rate_limited", "3"))
        self.assertEqual(post("/slack/T1/B1/x", {"text": "a"})[0], 200)
        fake.admin("POST", "/_fake/faults", {"path_regex": "^/discord/", "status": 429, "retry_after": 1.5})
        code, body, headers = post("/discord/1/t", {"content": "a"})
        self.assertEqual((code, json.loads(body)["retry_after"], headers["Retry-After"]), (429, 1.5, "1.5"))
        self.assertEqual(post("/hook/x", {"a": 1})[0], 200)
        log = fake.admin("GET", "/_fake/requests")
        self.assertEqual([(r["kind"], r["status"], r["accepted"]) for r in log],
                         [("slack", 429, False), ("slack", 200, True), ("discord", 429, False), ("hook", 200, True)])
        self.assertEqual(log[-1]["body"], '{"a": 1}')
        self.assertEqual(log[-1]["headers"]["Content-Type"], "application/json")


if __name__ == "__main__":
    unittest.main(verbosity=2)
