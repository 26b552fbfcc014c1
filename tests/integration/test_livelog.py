"""Live logs: a run's log over a WebSocket (/runs/ID/live, protocol
deploybot-log) while it runs, then its final state, then a close — the real
binary against the fakes, with a WebSocket client written here (RFC 6455)."""
import base64
import json
import os
import socket
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


def ws_messages(port, path, protocol="deploybot-log", timeout=60, headers=None):
    """Opens a WebSocket and returns every text message until the server
    closes. headers: more request headers (default: the read token's
    Authorization); the status line is returned when it is not 101."""
    if headers is None:
        headers = {"Authorization": "Bearer " + harness.READ_TOKEN}
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    extra = "".join("%s: %s\r\n" % kv for kv in headers.items())
    sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: %s\r\n%s\r\n" % (path, port, key, protocol, extra)).encode())
    f = sock.makefile("rb")
    status = f.readline()
    while f.readline() not in (b"\r\n", b""):
        pass
    if b" 101 " not in status:
        sock.close()
        return status.decode().strip(), []
    msgs, text = [], b""
    while True:
        head = f.read(2)
        if len(head) < 2:
            break
        fin, op, n = head[0] & 0x80, head[0] & 0x0F, head[1] & 0x7F
        if n == 126:
            n = struct.unpack(">H", f.read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", f.read(8))[0]
        data = f.read(n)
        if op == 8:  # close
            break
        if op in (0, 1):
            text += data
            if fin:
                msgs.append(json.loads(text))
                text = b""
    sock.close()
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
