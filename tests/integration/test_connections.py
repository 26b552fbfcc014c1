"""Issue 13 items 4, 5 and 10, end to end against the real `deploybot serve`
(real git repository, fake GitHub and AWS): the connection lifecycle under
attack. Unauthenticated bodies share one in-flight budget (503 +
Retry-After beyond it) and memory stays bounded; slow and idle clients get
deadlines; the bot raises its soft fd limit and keeps answering /healthz and
webhooks with more idle connections open than the usual soft limit of 1,024;
at the connection cap the oldest idle connection goes first; WebSocket
upgrades off the live-log path, CONNECT and HTTP/2 cleartext are refused,
not held."""
import base64
import json
import os
import resource
import select
import struct
import socket
import subprocess
import sys
import threading
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

BIG = 25_000_000  # GitHub's largest payload; the default max_body_bytes is 25 MiB
BUDGET = 64 * 1024 * 1024  # the default limits.max_inflight_body_bytes
WS_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def started(limits=None):
    s = harness.Stack(start_bot=False)
    s.limits = limits
    with s.closed_on_failure():
        s.start_bot()
    return s


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(key + " not in /proc/%d/status" % pid)


def accepted(pid, port):
    """Connections to `port` the process has accepted (not those still in
    the listen backlog): its socket descriptors that are established TCP
    connections with that local port."""
    established = set()
    for fam in ("tcp", "tcp6"):
        with open("/proc/net/" + fam) as f:
            for line in f.read().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "01" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    established.add(cols[9])
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        n += link.startswith("socket:[") and link[8:-1] in established
    return n


def nofile_limits(pid):
    """(soft, hard) "Max open files" of a process."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no Max open files line")


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def response(sock):
    """One answer: its headers and Content-Length bytes of body, or what
    came before the server closed (or 30 s passed)."""
    out = b""
    try:
        while True:
            head, sep, rest = out.partition(b"\r\n\r\n")
            if sep and len(rest) >= int(header_of(out, "content-length") or 0):
                return out
            chunk = sock.recv(65536)
            if not chunk:
                return out
            out += chunk
    except (socket.timeout, ConnectionResetError):
        return out


def status_of(raw):
    try:
        return int(raw.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def header_of(raw, name):
    head = raw.partition(b"\r\n\r\n")[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name:
            return v.strip()
    return None


def closed_by_server(sock):
    """True once the server has closed the connection (EOF or reset)."""
    sock.setblocking(False)
    try:
        data = sock.recv(65536)
        return data == b"" or closed_by_server(sock)
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        sock.setblocking(True)


def webhook_head(length, signature="sha256=" + "0" * 64, extra=b""):
    return (b"POST /webhooks/github HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            b"X-GitHub-Event: push\r\nX-GitHub-Delivery: %s\r\nX-Hub-Signature-256: %s\r\n"
            b"Content-Length: %d\r\n%s\r\n" % (uuid.uuid4().hex.encode(), signature.encode(), length, extra))


def signed_push(s):
    head = s.repo.head()
    code, body = s.deliver("push", harness.push_payload(head, head))
    return code, body


class MemoryBeforeAuthentication(unittest.TestCase):
    """40 large unauthenticated bodies at once: 1 GB with a body each."""

    def test_bodies_share_one_budget_and_memory_stays_bounded(self):
        s = started()
        try:
            pid = s.bot.proc.pid
            socks = [connect(s.bot.port) for _ in range(40)]
            for c in socks:
                c.sendall(webhook_head(BIG))
            answers = self.stream_bodies(socks)
            refused = [a for a in answers if status_of(a) == 503]
            self.assertGreaterEqual(len(refused), 40 - BUDGET // BIG, answers[:3])
            for a in refused:
                self.assertTrue((header_of(a, "retry-after") or "").isdigit(), a)
                self.assertIn(b"limits.max_inflight_body_bytes", a)
            taken = [a for a in answers if status_of(a) != 503]
            self.assertTrue(taken, "no body within the budget was read")
            for a in taken:  # read whole, then its signature refused
                self.assertEqual(status_of(a), 401, a[:300])
            self.assertLess(proc_status(pid, "VmHWM"), 200 * 1024, "peak RSS (KiB)")
            code, body = signed_push(s)  # the budget is free again
            self.assertEqual(code, 202, body)
        finally:
            s.close()

    @staticmethod
    def stream_bodies(socks):
        """Sends each body in 1 MB pieces, round robin, to the connections
        the server has not answered (nor closed); returns every answer."""
        piece = b"x" * 1_000_000
        sent = {c: 0 for c in socks}
        answers = {}
        while len(answers) < len(socks):
            open_ = [c for c in socks if c not in answers]
            readable, _, _ = select.select(open_, [], [], 0)
            for c in readable:
                answers[c] = response(c)
            for c in open_:
                if c in answers or sent[c] >= BIG:
                    continue
                try:
                    c.sendall(piece[:BIG - sent[c]])
                    sent[c] += min(len(piece), BIG - sent[c])
                except (BrokenPipeError, ConnectionResetError):
                    answers[c] = response(c)
            if all(sent[c] >= BIG for c in open_ if c not in answers):
                for c in open_:
                    if c not in answers:
                        answers[c] = response(c)
        for c in socks:
            c.close()
        return [answers[c] for c in socks]


class SlowClients(unittest.TestCase):
    """1,100 idle and slow connections on a bot started with the usual soft
    fd limit of 1,024 (a higher hard one)."""

    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 2048:
            raise AssertionError("the hard RLIMIT_NOFILE (%d) must allow 2,048 descriptors" % hard)
        # The bot inherits 1,024, as from a login shell; this process needs more.
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        try:
            cls.s = started({"header_timeout_s": 5, "body_min_rate_bytes_s": 1024})
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
        cls.pid = cls.s.bot.proc.pid

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def test_1_soft_fd_limit_raised_to_the_hard_one(self):
        soft, hard = nofile_limits(self.pid)
        self.assertEqual(soft, min(hard, 65536))
        self.assertGreater(soft, 1024)

    def test_2_bot_answers_with_1100_slow_connections_which_are_then_closed(self):
        port = self.s.bot.port
        idle = [connect(port) for _ in range(600)]
        slow_headers = [connect(port) for _ in range(300)]
        for c in slow_headers:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nX-Slow: ")
        slow_bodies = [connect(port) for _ in range(200)]
        for c in slow_bodies:
            c.sendall(webhook_head(100_000) + b"{")
        held = idle + slow_headers + slow_bodies
        harness.wait_for(lambda: accepted(self.pid, port) >= 1100, 30, "the bot to accept 1,100 connections")
        code, body = harness.http("GET", self.s.bot_url + "/healthz")
        self.assertEqual((code, body), (200, b"ok"))
        code, body = signed_push(self.s)
        self.assertEqual(code, 202, body)
        # The deadlines (5 s of headers; bodies at 1 KiB/s after 5 s) close them all.
        harness.wait_for(lambda: all(closed_by_server(c) for c in held), 60,
                         "the slow connections to be closed")
        for c in held:
            c.close()
        self.assertIn("closed", self.s.bot.output())
        code, body = harness.http("GET", self.s.bot_url + "/healthz")
        self.assertEqual(code, 200)

    def test_3_websocket_off_the_live_log_is_refused(self):
        for path, proto in ((b"/", b""), (b"/runs/1/live", b"")):
            c = connect(self.s.bot.port)
            c.sendall(b"GET %s HTTP/1.1\r\nHost: bot\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n" % (path, WS_KEY, proto))
            raw = response(c)
            c.close()
            self.assertIn(status_of(raw), (400, 404), raw)
            self.assertIn(b"WebSocket", raw)

    def test_4_connect_is_refused(self):
        c = connect(self.s.bot.port)
        c.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        raw = response(c)  # the whole answer, then the server closes
        c.close()
        self.assertEqual(status_of(raw), 405, raw)

    def test_5_h2c_upgrade_is_refused_with_a_clear_answer(self):
        for req in (b"GET /healthz HTTP/1.1\r\nHost: bot\r\n",
                    webhook_head(2)[:-2]):
            c = connect(self.s.bot.port)
            c.sendall(req + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                      b"HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n" + (b"{}" if b"POST" in req else b""))
            raw = response(c)
            c.close()
            self.assertEqual(status_of(raw), 400, raw)
            self.assertIn(b"h2c", raw)

    def test_6_http2_prior_knowledge_is_refused_not_held(self):
        c = connect(self.s.bot.port)
        c.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000"))
        raw = response(c)  # ends: the server closes
        c.close()
        self.assertTrue(400 <= (status_of(raw) or 0) < 500, raw)

    def test_7_curl_http2_gets_the_refusal(self):
        for flag in ("--http2", "--http2-prior-knowledge"):
            p = subprocess.run(["curl", "-s", flag, "-o", "/dev/null", "-w", "%{http_code}",
                                "--max-time", "20", self.s.bot_url + "/healthz"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if flag == "--http2":
                self.assertEqual(p.stdout, b"400", p.stderr)
            else:  # refused at once: curl sees no HTTP/2 answer
                self.assertNotEqual(p.returncode, 28, "curl timed out: the connection was held")


class LiveLogSocket:
    """A live-log WebSocket client (RFC 6455) that answers pings or not."""

    def __init__(self, port, run_id):
        self.sock = connect(port)
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(b"GET /runs/%d/live HTTP/1.1\r\nHost: bot\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                          b"Sec-WebSocket-Protocol: deploybot-log\r\nAuthorization: Bearer %s\r\n\r\n"
                          % (run_id, key, harness.READ_TOKEN.encode()))
        self.f = self.sock.makefile("rb")
        self.status = self.f.readline()
        while self.f.readline() not in (b"\r\n", b""):
            pass
        self.pings = 0

    def frame(self):
        """(opcode, payload), or None once the server has closed."""
        head = self.f.read(2)
        if len(head) < 2:
            return None
        n = head[1] & 0x7F
        if n == 126:
            n = struct.unpack(">H", self.f.read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self.f.read(8))[0]
        return head[0] & 0x0F, self.f.read(n)

    def serve(self, pong):
        """Reads frames until the server closes, counting pings and
        answering them (masked, as a client must) when `pong`."""
        while True:
            try:
                fr = self.frame()
            except (ConnectionResetError, socket.timeout):
                return
            if fr is None or fr[0] == 8:
                return
            if fr[0] == 9:
                self.pings += 1
                if pong:
                    mask = os.urandom(4)
                    data = bytes(b ^ mask[i % 4] for i, b in enumerate(fr[1]))
                    self.sock.sendall(bytes([0x8A, 0x80 | len(data)]) + mask + data)


class IdleWebSockets(unittest.TestCase):
    def test_live_log_socket_that_never_pongs_is_closed(self):
        s = started({"ws_ping_interval_s": 1, "header_timeout_s": 2})
        try:
            # The run's first AWS call hangs: a long-running run with a quiet log.
            run = s.running_dev_run(delay_ms=30000, count=1)
            mute, polite = LiveLogSocket(s.bot.port, run["id"]), LiveLogSocket(s.bot.port, run["id"])
            self.assertIn(b" 101 ", mute.status)
            self.assertIn(b" 101 ", polite.status)
            t = threading.Thread(target=polite.serve, args=(True,), daemon=True)
            t.start()
            mute.serve(pong=False)  # returns when the bot closes it
            self.assertGreaterEqual(mute.pings, 1)
            self.assertTrue(t.is_alive(), "the socket answering pings was closed too")
            self.assertGreaterEqual(polite.pings, 1)
            code, body = s.api("/api/runs/%d" % run["id"])
            self.assertEqual(json.loads(body)["state"], "running")
            mute.sock.close()
            polite.sock.close()
        finally:
            s.close()


class ConnectionCap(unittest.TestCase):
    def test_a_cap_the_fd_limit_cannot_hold_is_an_error_at_start(self):
        s = harness.Stack(start_bot=False)
        try:
            s.limits = {"max_connections": 1000000}
            p = subprocess.run([harness.BIN, "serve", "--config", s.config_path()], env=s.env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(b"limits.max_connections 1000000 does not fit the open file limit", p.stdout)
        finally:
            s.close()

    def test_oldest_idle_connection_is_closed_first(self):
        s = started({"max_connections": 50})
        try:
            pid = s.bot.proc.pid
            old = [connect(s.bot.port) for _ in range(50)]
            harness.wait_for(lambda: accepted(pid, s.bot.port) == 50, 30, "50 connections accepted")
            new = []
            for _ in range(10):
                new.append(connect(s.bot.port))
                harness.wait_for(lambda: closed_by_server(old[len(new) - 1]), 30,
                                 "connection %d (the oldest idle) to be closed" % (len(new) - 1))
            self.assertFalse(any(closed_by_server(c) for c in old[10:] + new))
            code, body = signed_push(s)
            self.assertEqual(code, 202, body)
            self.assertTrue(closed_by_server(old[10]))
            for c in old + new:
                c.close()
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
