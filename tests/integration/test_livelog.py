"""Live logs: a run's log over a WebSocket (/runs/ID/live, protocol
deploybot-log) while it runs, then its final state, then a close — the real
binary against the fakes, with harness.WebSocket (RFC 6455)."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


def ws_messages(port, path, protocol="deploybot-log", timeout=60, headers=None):
    """Opens a WebSocket and returns every message (parsed) until the server
    closes. headers: more request headers (default: the read token's
    Authorization); the status line is returned when it is not 101."""
    if headers is None:
        headers = {"Authorization": "Bearer " + harness.READ_TOKEN}
    ws = harness.WebSocket(port, path, protocol, headers, timeout)
    if not ws.open:
        return ws.status, []
    msgs = []
    while (text := ws.recv()) is not None:
        msgs.append(json.loads(text))
    ws.close()
    return "101", msgs


class LiveLog(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack()

    def tearDown(self):
        self.s.close()

    def test_log_streams_while_running_then_closes(self):
        s = self.s
        # Slow AWS down so the apply is still running when the viewer connects.
        run = s.running_dev_run(delay_ms=150, count=40)

        status, msgs = ws_messages(s.bot.port, "/runs/%d/live" % run["id"])
        self.assertEqual(status, "101")
        self.assertGreaterEqual(len(msgs), 2, msgs)
        self.assertEqual(msgs[0]["state"], "running")
        last = msgs[-1]
        self.assertIn(last["state"], ("succeeded", "failed"))
        self.assertIn("result", last)
        self.assertTrue(all("result" not in m for m in msgs[:-1]), msgs)

        code, body = s.api("/api/runs/%d" % run["id"])
        final = json.loads(body)
        self.assertEqual(last["state"], final["state"])
        self.assertEqual("".join(m["log"] for m in msgs), final["log"])

    def test_unknown_run_and_bad_path(self):
        status, msgs = ws_messages(self.s.bot.port, "/runs/999/live")
        self.assertEqual(status, "101")
        self.assertEqual(msgs, [{"error": "no such run"}])
        status, msgs = ws_messages(self.s.bot.port, "/runs/abc/live")
        self.assertEqual(msgs, [])  # refused: no message, the connection is closed


if __name__ == "__main__":
    unittest.main()
