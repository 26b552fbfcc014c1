"""The webhook front door, end to end: the real binary (`deploybot serve`),
real GitHub payloads from shared/fixtures, real HTTP on loopback, and the
SQLite queue checked on disk. Then abuse (garbage, half requests, abrupt
closes, huge headers, slow and idle clients) after which /healthz must still
answer.

Env: DEPLOYBOT_BIN, DEPLOYBOT_FIXTURES (DEPLOYBOT_SOURCE_DIR for defaults)."""
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

SRC = os.environ.get("DEPLOYBOT_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.environ.get("DEPLOYBOT_FIXTURES") or os.path.join(SRC, "..", "shared", "fixtures")
BIN = os.environ.get("DEPLOYBOT_BIN") or os.path.join(SRC, "build", "deploybot")

SECRET = "It's a Secret to Everybody"
MAX_BODY = 65536
# NOTES.md §2: precomputed over the staged file bytes with SECRET.
BRANCH_UPDATE_SIG = "sha256=f34850706d3e5e5a04a0ce1fc8cdec591b62e15f33636253edad1b9d3eb78385"

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, file=sys.stderr, flush=True)


def fixture(name):
    with open(os.path.join(FIXTURES, "webhooks", "github", name), "rb") as f:
        return f.read()


def sign(body):
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


class Bot:
    """The daemon under test, on port 0, in its own temporary directory."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.db = os.path.join(tmp, "data", "deploybot.db")
        config = {
            "listen": "127.0.0.1", "port": 0, "data_dir": "data",
            "max_body_bytes": MAX_BODY,
            # Nothing may leave loopback: a repository that does not exist and
            # a GitHub API on a closed local port, no tokens.
            "repo": {"url": os.path.join(tmp, "no-such-repo.git"),
                     "token_env": "DEPLOYBOT_TEST_NO_REPO_TOKEN"},
            "github": {"api_url": "http://127.0.0.1:9",
                       "token_env": "DEPLOYBOT_TEST_NO_GITHUB_TOKEN"},
        }
        cfg = os.path.join(tmp, "deploybot.json")
        with open(cfg, "w") as f:
            json.dump(config, f)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in ("GITHUB_TOKEN",)}
        env["DEPLOYBOT_WEBHOOK_SECRET"] = SECRET
        port_file = os.path.join(tmp, "port")
        self.log_path = os.path.join(tmp, "deploybot.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--config", cfg, "--port-file", port_file],
            cwd=tmp, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.port = None
        deadline = time.time() + 30
        while time.time() < deadline and self.proc.poll() is None:
            try:
                with open(port_file) as f:
                    self.port = int(f.read().strip())
                if self.get("/healthz")[0] == 200:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError("deploybot did not start:\n" + self.output())

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read(), r
        finally:
            c.close()

    def get(self, path):
        return self.request("GET", path)

    def deliver(self, event, body, delivery, signature="sign",
                content_type="application/json"):
        headers = {"Content-Type": content_type, "User-Agent": "GitHub-Hookshot/test"}
        if event is not None:
            headers["X-GitHub-Event"] = event
        if delivery is not None:
            headers["X-GitHub-Delivery"] = delivery
        if signature == "sign":
            signature = sign(body)
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        status, data, _ = self.request("POST", "/webhooks/github", body, headers)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data

    def rows(self, delivery):
        with sqlite3.connect(self.db, timeout=10) as db:
            return db.execute("SELECT id, event, payload FROM jobs WHERE delivery = ?",
                              (delivery,)).fetchall()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def raw(bot, data, read=True, timeout=5.0, to_eof=False):
    """Sends bytes on a fresh connection; returns the first response (or all
    bytes until the server closes, with to_eof), or b'' when read is False."""
    s = socket.create_connection(("127.0.0.1", bot.port), timeout=timeout)
    try:
        if data:
            s.sendall(data)
        if not read:
            return b""
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if not to_eof and b"\r\n\r\n" in out:
                    head, _, rest = out.partition(b"\r\n\r\n")
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            if len(rest) >= int(line.split(b":")[1]):
                                return out
        except (socket.timeout, ConnectionResetError):
            pass
        return out
    finally:
        s.close()


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


# ---- the contract ----------------------------------------------------------

def listeners(port):
    """(family, local address hex) of LISTEN sockets on port, from /proc."""
    found = []
    for fam in ("tcp", "tcp6"):
        try:
            with open("/proc/net/" + fam) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            addr, hexport = cols[1].split(":")
            if cols[3] == "0A" and int(hexport, 16) == port:
                found.append((fam, addr))
    return found


def test_loopback_only(bot):
    # "listen": "127.0.0.1" must not bind every interface (lws 4.1 does that
    # for an IPv4 literal on an IPv6 socket unless told otherwise).
    found = listeners(bot.port)
    check(found == [("tcp", "0100007F")], "listens on 127.0.0.1 only: %r" % found)


def test_routes(bot):
    status, body, r = bot.get("/healthz")
    check(status == 200 and body == b"ok", "GET /healthz -> 200 ok (%s %r)" % (status, body))
    # Beyond /healthz, /login and the webhook everything needs a credential,
    # an unknown path too, and this bot has no api_tokens.
    status, body, r = bot.get("/nope")
    check(status == 401 and r.getheader("WWW-Authenticate") == "Bearer",
          "unknown path without a credential -> 401 (%s)" % status)
    check(r.getheader("Content-Type") == "application/json", "401 is JSON")
    status, body, r = bot.get("/webhooks/github")
    check(status == 405 and r.getheader("Allow") == "POST", "GET webhook -> 405 (%s)" % status)
    status, body, r = bot.request("POST", "/healthz", b"x")
    check(status == 405 and r.getheader("Allow") == "GET", "POST /healthz -> 405 (%s)" % status)
    # Keep-alive: two transactions on one connection.
    c = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=10)
    for _ in range(3):
        c.request("GET", "/healthz")
        r = c.getresponse()
        check(r.status == 200 and r.read() == b"ok", "keep-alive /healthz")
    c.close()


def test_push(bot):
    body = fixture("go-scm.push.branch-update.json")
    check(sign(body) == BRANCH_UPDATE_SIG, "fixture signature matches NOTES.md")
    status, resp = bot.deliver("push", body, "push-1", BRANCH_UPDATE_SIG)
    check(status == 202 and isinstance(resp, dict) and resp.get("queued") is True
          and isinstance(resp.get("job"), int), "valid push -> 202 queued (%s %r)" % (status, resp))
    rows = bot.rows("push-1")
    check(len(rows) == 1 and rows[0][1] == "push" and rows[0][2].encode() == body,
          "push job row holds the raw JSON")
    if rows and isinstance(resp, dict):
        check(rows[0][0] == resp.get("job"), "202 carries the job id of the row")

    status, resp = bot.deliver("push", body, "push-1")
    check(status == 202 and resp == {"queued": False, "duplicate": True},
          "duplicate delivery -> 202 duplicate (%s %r)" % (status, resp))
    check(len(bot.rows("push-1")) == 1, "duplicate delivery queued once")

    pr = fixture("reallyfastci.pull_request.closed.merged.json")
    status, resp = bot.deliver("pull_request", pr, "pr-1")
    check(status == 202 and resp.get("queued") is True, "pull_request -> 202 queued (%s)" % status)
    check(len(bot.rows("pr-1")) == 1, "pull_request row")


def test_refusals(bot):
    body = fixture("go-scm.push.branch-update.json")
    bad = BRANCH_UPDATE_SIG[:-1] + ("0" if BRANCH_UPDATE_SIG[-1] != "0" else "1")
    status, resp = bot.deliver("push", body, "bad-sig", bad)
    check(status == 401, "bad signature -> 401 (%s)" % status)
    check(bot.rows("bad-sig") == [], "bad signature stores nothing")
    status, resp = bot.deliver("push", body, "no-sig", None)
    check(status == 401, "missing signature -> 401 (%s)" % status)
    check(bot.rows("no-sig") == [], "missing signature stores nothing")
    status, resp = bot.deliver("push", body + b" ", "tampered", BRANCH_UPDATE_SIG)
    check(status == 401, "tampered body -> 401 (%s)" % status)
    status, resp = bot.deliver("push", body, "sha1", "sha1=" + BRANCH_UPDATE_SIG[7:])
    check(status == 401, "sha1= prefix -> 401 (%s)" % status)

    status, resp = bot.deliver("push", body, None)
    check(status == 400 and "Delivery" in resp.get("error", ""),
          "missing delivery id -> 400 (%s %r)" % (status, resp))
    status, resp = bot.deliver(None, body, "no-event")
    check(status == 400 and "Event" in resp.get("error", ""),
          "missing event -> 400 (%s %r)" % (status, resp))

    broken = b'{"ref": "refs/heads/main", "before": '
    status, resp = bot.deliver("push", broken, "malformed")
    check(status == 400 and "malformed JSON" in resp.get("error", ""),
          "malformed JSON -> 400 with reason (%s %r)" % (status, resp))
    check(bot.rows("malformed") == [], "malformed JSON stores nothing")
    status, resp = bot.deliver("push", b'{"ref":"refs/heads/x"}', "no-after")
    check(status == 400 and "before" in resp.get("error", ""),
          "push without before/after -> 400 naming the field (%r)" % resp)


def test_not_queued(bot):
    status, resp = bot.deliver("ping", fixture("octokit.ping.json"), "ping-1")
    check(status == 200 and resp == {"ok": True, "zen": "Anything added dilutes everything else."},
          "ping -> 200 with zen (%s %r)" % (status, resp))
    check(bot.rows("ping-1") == [], "ping not queued")

    status, resp = bot.deliver("issue_comment", fixture("octokit.issue_comment.created.json"), "ic-1")
    check(status == 202 and resp == {"queued": False, "reason": "event issue_comment ignored"},
          "unknown event -> 202 ignored (%s %r)" % (status, resp))
    check(bot.rows("ic-1") == [], "ignored event not queued")

    status, resp = bot.deliver("b\xe9d\x01", fixture("octokit.ping.json"), "odd-1")
    check(status == 202 and resp == {"queued": False, "reason": "event b?d? ignored"},
          "non-ASCII event name answered as printable JSON (%s %r)" % (status, resp))

    status, resp = bot.deliver("push", fixture("go-scm.push.branch-delete.json"), "del-1")
    check(status == 202 and resp.get("queued") is False and "deleted" in resp.get("reason", ""),
          "branch deletion -> 202 not queued (%s %r)" % (status, resp))
    check(bot.rows("del-1") == [], "branch deletion not queued")


def test_form_encoded(bot):
    js = fixture("reallyfastci.push.merge-to-master.json")
    form = b"payload=" + urllib.parse.quote_plus(js).encode()
    status, resp = bot.deliver("push", form, "form-1",
                               content_type="application/x-www-form-urlencoded")
    check(status == 202 and resp.get("queued") is True, "form-encoded push -> 202 (%s %r)" % (status, resp))
    rows = bot.rows("form-1")
    check(len(rows) == 1 and rows[0][2].encode() == js, "form delivery stores the decoded JSON")
    # GitHub signs the bytes on the wire: a signature over the JSON is wrong.
    status, resp = bot.deliver("push", form, "form-2", sign(js),
                               content_type="application/x-www-form-urlencoded")
    check(status == 401, "form signed over the JSON instead of the body -> 401 (%s)" % status)


def test_sizes(bot):
    # Exactly the limit is read (and is then just malformed JSON).
    body = b"{" + b" " * (MAX_BODY - 1)
    status, resp = bot.deliver("push", body, "at-limit")
    check(status == 400, "body of exactly max_body_bytes is read (%s)" % status)
    # Announced beyond the limit: refused before the body is read.
    head = ("POST /webhooks/github HTTP/1.1\r\nHost: t\r\nX-GitHub-Event: push\r\n"
            "X-GitHub-Delivery: big-1\r\nX-Hub-Signature-256: %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (sign(b"x"), MAX_BODY + 1)).encode()
    resp = raw(bot, head + b"{" * 1000)
    check(status_of(resp) == 413, "oversize Content-Length -> 413 (%r)" % resp[:60])
    resp = raw(bot, head.replace(b"%d" % (MAX_BODY + 1), b"26214401"))
    check(status_of(resp) == 413, "25 MB + 1 -> 413 (%r)" % resp[:60])
    check(bot.rows("big-1") == [], "oversize stores nothing")
    # http.client sending the whole oversize body: 413 or a reset, never a 2xx.
    try:
        big = b"x" * (MAX_BODY * 3)
        status, resp = bot.deliver("push", big, "big-2")
        check(status == 413, "oversize body -> 413 (%s)" % status)
    except (ConnectionError, http.client.HTTPException, OSError):
        check(True, "oversize body: connection dropped")
    check(bot.rows("big-2") == [], "oversize body stores nothing")

    for cl, want in ((b"-5", 400), (b"abc", 400), (b"1" * 40, 400)):
        resp = raw(bot, b"POST /webhooks/github HTTP/1.1\r\nHost: t\r\n"
                        b"Content-Length: " + cl + b"\r\n\r\n")
        check(status_of(resp) in (want, None), "Content-Length %r -> %s (%r)" % (cl, want, resp[:40]))
    resp = raw(bot, b"POST /webhooks/github HTTP/1.1\r\nHost: t\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    check(status_of(resp) == 411, "chunked body -> 411 (%r)" % resp[:40])
    resp = raw(bot, b"POST /webhooks/github HTTP/1.1\r\nHost: t\r\n\r\n")
    check(status_of(resp) == 411, "POST without Content-Length -> 411 (%r)" % resp[:40])


# ---- abuse -----------------------------------------------------------------

def healthy(bot, what):
    try:
        status, body, _ = bot.get("/healthz")
        check(status == 200 and body == b"ok" and bot.alive(), "healthz after " + what)
    except OSError as e:
        check(False, "healthz after %s: %s" % (what, e))


def test_abuse(bot):
    raw(bot, b"\x00\xff\xfe garbage \x01\x02\r\n\r\n")
    healthy(bot, "binary garbage")
    raw(bot, b"GET / HTTP/9.9\r\n\r\n")
    raw(bot, b"FOO /healthz HTTP/1.1\r\n\r\n")
    raw(bot, b"GET healthz HTTP/1.1\r\n\r\n")
    raw(bot, b"\r\n\r\n\r\n")
    healthy(bot, "bad request lines")
    for n in range(3):
        raw(bot, b"POST /webhooks/github HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n{\"a\":", read=False)
        raw(bot, b"GET /heal", read=False)
        raw(bot, b"", read=False)
    healthy(bot, "half requests and abrupt closes")
    resp = raw(bot, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
    check(status_of(resp) != 200, "200 KB header is not served as a normal request")
    raw(bot, b"GET /healthz HTTP/1.1\r\n" + b"X-H: v\r\n" * 5000 + b"\r\n")
    healthy(bot, "huge headers")
    # A pipelined pair answered in order on one connection.
    resp = raw(bot, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\n"
                    b"Host: t\r\nConnection: close\r\n\r\n", to_eof=True)
    check(resp.count(b"200 OK") == 2, "pipelined requests both answered (%r)" % resp[:200])
    resp = raw(bot, b"GET /healthz HTTP/1.0\r\n\r\n")
    check(status_of(resp) == 200, "HTTP/1.0 healthz")

    # Slow and idle clients must not block the loop for others.
    idle = [socket.create_connection(("127.0.0.1", bot.port)) for _ in range(40)]
    slow = socket.create_connection(("127.0.0.1", bot.port))
    stop = threading.Event()

    def dribble():
        req = b"POST /webhooks/github HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n{}"
        try:
            for b in req:
                if stop.is_set():
                    return
                slow.send(bytes([b]))
                time.sleep(0.02)
        except OSError:
            pass

    t = threading.Thread(target=dribble)
    t.start()
    t0 = time.time()
    healthy(bot, "40 idle connections and a slow client")
    check(time.time() - t0 < 2, "healthz answered promptly next to slow clients")
    for i in range(5):
        body = fixture("octokit.pull_request.synchronize.json")
        status, resp = bot.deliver("pull_request", body, "busy-%d" % i)
        check(status == 202 and resp.get("queued") is True, "delivery while clients idle")
    stop.set()
    t.join()
    for s in idle + [slow]:
        s.close()
    # Closing mid-response and resetting with unread data.
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", bot.port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" * 50)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    healthy(bot, "connection resets")


def test_disk_wait_does_not_block(bot):
    """The service thread never waits on the disk: while another connection
    holds the database's write lock, a delivery waits for its commit (no
    answer yet) and /healthz is still served; once the lock goes, the
    delivery gets its 202 and is in the queue."""
    body = fixture("reallyfastci.push.merge-to-master.json")
    head = ("POST /webhooks/github HTTP/1.1\r\nHost: t\r\nX-GitHub-Event: push\r\n"
            "X-GitHub-Delivery: locked-1\r\nX-Hub-Signature-256: %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (sign(body), len(body))).encode()
    lock = sqlite3.connect(bot.db, timeout=10, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    s = socket.create_connection(("127.0.0.1", bot.port), timeout=20)
    try:
        s.sendall(head + body)
        # A few round trips: the delivery, sent first, is read by now.
        for _ in range(5):
            healthy(bot, "a delivery waiting for the write lock")
        s.setblocking(False)
        try:
            early = s.recv(4096)
        except BlockingIOError:
            early = None
        check(early is None, "no answer while the commit waits (%r)" % (early,))
        lock.execute("COMMIT")
        s.setblocking(True)
        resp = b""
        while b"\r\n\r\n" not in resp or not resp.rstrip().endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            resp += chunk
    finally:
        s.close()
        lock.close()
    answer = json.loads(resp.partition(b"\r\n\r\n")[2] or b"{}")
    check(status_of(resp) == 202 and answer.get("queued") is True, "202 once committed (%r)" % resp[:200])
    rows = bot.rows("locked-1")
    check(len(rows) == 1 and rows[0][0] == answer.get("job"), "the delivery is the job its 202 names")


def test_kill_after_ack(tmp):
    """The 202 means committed: a SIGKILL right after it loses nothing."""
    os.makedirs(tmp, exist_ok=True)
    bot = Bot(tmp)
    body = fixture("reallyfastci.push.merge-to-master.json")
    try:
        status, resp = bot.deliver("push", body, "kill-1")
        bot.proc.kill()
        bot.proc.wait(20)
    finally:
        bot.stop()
    check(status == 202 and resp.get("queued") is True, "push before kill -> 202")
    rows = bot.rows("kill-1")
    check(len(rows) == 1 and rows[0][2].encode() == body, "job survives SIGKILL after the 202")
    bot = Bot(tmp)
    try:
        healthy(bot, "restart after SIGKILL")
        status, resp = bot.deliver("push", body, "kill-1")
        check(status == 202 and resp.get("duplicate") is True,
              "delivery log survives the restart (redelivery is a duplicate)")
    finally:
        check(bot.stop() == 0, "clean stop after restart")


def main():
    with tempfile.TemporaryDirectory(prefix="deploybot-webhook-") as tmp:
        bot = Bot(tmp)
        try:
            test_loopback_only(bot)
            test_routes(bot)
            test_push(bot)
            test_refusals(bot)
            test_not_queued(bot)
            test_form_encoded(bot)
            test_sizes(bot)
            test_abuse(bot)
            test_disk_wait_does_not_block(bot)
            healthy(bot, "everything")
        finally:
            rc = bot.stop()
            out = bot.output()
        check(rc == 0, "SIGTERM stops the daemon cleanly (exit %s)" % rc)
        check(SECRET not in out, "the secret never appears in the log")
        check(BRANCH_UPDATE_SIG[7:] not in out, "signature values never appear in the log")
        check("AddressSanitizer" not in out and "runtime error" not in out,
              "no sanitizer report in the log")
        if failed:
            print(out[-6000:], file=sys.stderr)
        test_kill_after_ack(os.path.join(tmp, "kill"))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
