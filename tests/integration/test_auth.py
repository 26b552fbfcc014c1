"""The UI and API need a credential: bearer tokens of the config's
"api_tokens" (read / operate), or the browser's signed session cookie from
/login; Origin is checked on the live log and on state-changing requests;
the operate endpoints lock, unlock and redeploy as the CLI does; the
listener speaks HTTPS with tls_cert/tls_key — the real binary against the
fakes, as a user's client would see it."""
import hashlib
import hmac
import http.client
import json
import os
import sqlite3
import ssl
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fakes"))
import harness  # noqa: E402
from githttpfake import tls  # noqa: E402
from test_livelog import ws_messages  # noqa: E402

DEV = "environments/dev/stack.json"
READ = {"Authorization": "Bearer " + harness.READ_TOKEN}
OPERATE = {"Authorization": "Bearer " + harness.OPERATE_TOKEN}
EVIL = "https://evil.example"


def request(port, method, path, body=None, headers=None):
    """One request, redirects not followed: (status, headers, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


class Auth(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack()
        self.port = self.s.bot.port
        self.origin = "http://127.0.0.1:%d" % self.port

    def tearDown(self):
        self.s.close()

    def login(self, token):
        """POST /login as the page's form does; returns the session cookie's value."""
        code, hdrs, body = request(self.port, "POST", "/login", "token=" + token,
                                   {"Content-Type": "application/x-www-form-urlencoded",
                                    "Origin": self.origin})
        self.assertEqual((code, hdrs.get("location")), (303, "/"), body)
        cookie = hdrs["set-cookie"]
        self.assertRegex(cookie, r"^deploybot_session=[^;]+; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict$")
        return cookie.split(";")[0].split("=", 1)[1]

    def session_key(self):
        db = sqlite3.connect(os.path.join(self.s.data_dir, "deploybot.db"))
        try:
            return bytes.fromhex(db.execute("SELECT hex FROM keys WHERE name = 'session'").fetchone()[0])
        finally:
            db.close()

    def forge(self, name, role, expires, key=None):
        claims = "%s:%s:%d" % (name, role, expires)
        mac = hmac.new(key or self.session_key(), ("v1:" + claims).encode(), hashlib.sha256).hexdigest()
        return claims + ":" + mac

    def deploy_dev(self):
        base = self.s.repo.head()
        c1 = self.s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev")
        code, body = self.s.deliver("push", harness.push_payload(base, c1))
        self.assertEqual(code, 202, body)
        self.assertEqual(self.s.wait_status(c1, "deploybot/dev")["state"], "success")
        return c1

    def test_without_a_credential_everything_but_healthz_login_and_webhooks_is_401(self):
        c1 = self.deploy_dev()
        run = json.loads(self.s.api("/api/runs")[1])["runs"][0]["id"]
        for path in ("/api/runs", "/api/runs/%d" % run, "/runs/%d" % run, "/", "/metrics"):
            code, hdrs, body = request(self.port, "GET", path)
            self.assertEqual((code, hdrs.get("www-authenticate")), (401, "Bearer"), path)
            self.assertNotIn(c1.encode(), body)
        # A page answers with the login form, the API with JSON.
        self.assertIn(b"<form method=post action=/login>", request(self.port, "GET", "/runs/%d" % run)[2])
        self.assertIn("log in at /login", json.loads(request(self.port, "GET", "/api/runs")[2])["error"])
        status, msgs = ws_messages(self.port, "/runs/%d/live" % run, headers={})
        self.assertIn(" 401 ", status)
        self.assertEqual(msgs, [])
        code, _, body = request(self.port, "POST", "/api/environments/dev/lock", json.dumps({"reason": "x"}),
                                {"Content-Type": "application/json"})
        self.assertEqual(code, 401, body)
        wrong = {"Authorization": "Bearer " + harness.READ_TOKEN + "x"}
        self.assertEqual(request(self.port, "GET", "/api/runs", headers=wrong)[0], 401)
        self.assertEqual(request(self.port, "GET", "/api/runs", headers={"Authorization": "Basic dmlld2VyOng="})[0],
                         401)
        self.assertEqual(request(self.port, "GET", "/healthz")[:1], (200,))
        code, _, page = request(self.port, "GET", "/login")
        self.assertEqual(code, 200)
        self.assertIn(b"location.hash", page)
        # The read token reads everything.
        self.assertEqual(request(self.port, "GET", "/api/runs", headers=READ)[0], 200)
        self.assertEqual(request(self.port, "GET", "/runs/%d" % run, headers=READ)[0], 200)
        self.assertEqual(request(self.port, "GET", "/nope", headers=READ)[0], 404)
        status, msgs = ws_messages(self.port, "/runs/%d/live" % run)
        self.assertEqual((status, msgs[-1]["state"]), ("101", "succeeded"))
        out = self.s.bot.output()
        self.assertNotIn(harness.READ_TOKEN, out)
        self.assertNotIn(harness.OPERATE_TOKEN, out)

    def test_operate_locks_unlocks_and_redeploys_read_may_not(self):
        s = self.s
        base = s.repo.head()
        reason = {"reason": "release freeze"}
        code, body = s.api("/api/environments/dev/lock", "POST", reason)
        self.assertEqual(code, 403, body)
        self.assertIn("viewer", json.loads(body)["error"])
        code, body = s.api("/api/environments/dev/lock", "POST", reason, token=harness.OPERATE_TOKEN)
        self.assertEqual(code, 200, body)
        self.assertEqual(json.loads(body)["message"],
                         "dev locked by operator: release freeze (plans continue, applies wait for unlock)")
        c1 = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev")
        self.assertEqual(s.deliver("push", harness.push_payload(base, c1))[0], 202)
        st = s.wait_status(c1, "deploybot/dev")
        self.assertEqual(st["state"], "failure")
        self.assertIn("operator: release freeze", st["description"])
        self.assertEqual(json.loads(s.api("/api/runs?env=dev")[1])["runs"][0]["state"], "blocked")
        self.assertEqual(s.api("/api/environments/dev/unlock", "POST")[0], 403)
        code, body = s.api("/api/environments/dev/unlock", "POST", token=harness.OPERATE_TOKEN)
        self.assertEqual((code, json.loads(body)["message"]), (200, "dev unlocked"), body)
        code, body = s.api("/api/environments/dev/redeploy", "POST", {"commit": c1})
        self.assertEqual(code, 403, body)
        code, body = s.api("/api/environments/dev/redeploy", "POST", {"commit": c1}, token=harness.OPERATE_TOKEN)
        self.assertEqual(code, 200, body)
        self.assertRegex(json.loads(body)["message"], r"^run #\d+ queued: apply dev at %s" % c1[:12])
        harness.wait_for(lambda: s.latest_status(c1, "deploybot/dev")["state"] == "success", 60, "redeploy")
        self.assertIn("vpc.main", s.tagged("dev"))
        last = json.loads(s.api("/api/runs?env=dev")[1])["runs"][0]
        self.assertEqual((last["trigger"], last["sha"], last["state"]), ("redeploy", c1, "succeeded"))
        # The CLI's checks, the CLI's answers.
        code, body = s.api("/api/environments/dev/redeploy", "POST", {"commit": "abc"}, token=harness.OPERATE_TOKEN)
        self.assertEqual(code, 400, body)
        self.assertIn("full 40-character commit sha", json.loads(body)["error"])
        code, body = s.api("/api/environments/stg/redeploy", "POST", {"commit": c1}, token=harness.OPERATE_TOKEN)
        self.assertEqual(code, 404, body)
        self.assertEqual(s.api("/api/environments/dev/lock", "POST", {}, token=harness.OPERATE_TOKEN)[0], 400)
        self.assertEqual(s.api("/api/environments/dev/lock", "POST", b"[1]", token=harness.OPERATE_TOKEN)[0], 400)
        self.assertEqual(s.api("/api/environments/dev/explode", "POST", token=harness.OPERATE_TOKEN)[0], 404)
        self.assertEqual(s.api("/api/environments/dev%20x/lock", "POST", reason, token=harness.OPERATE_TOKEN)[0], 400)
        self.assertEqual(s.api("/api/environments/dev/lock", token=harness.OPERATE_TOKEN)[0], 405)

    def test_login_gives_a_session_cookie_and_pages_load_with_it(self):
        c1 = self.deploy_dev()
        run = json.loads(self.s.api("/api/runs")[1])["runs"][0]["id"]
        code, hdrs, page = request(self.port, "POST", "/login", "token=nope",
                                   {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((code, "set-cookie" in hdrs), (401, False))
        self.assertIn(b"not one of the bot's", page)
        cookie = {"Cookie": "theme=dark; deploybot_session=" + self.login(harness.READ_TOKEN)}
        code, _, page = request(self.port, "GET", "/runs/%d" % run, headers=cookie)
        self.assertEqual(code, 200)
        self.assertIn(c1.encode(), page)  # the run, rendered by the server
        code, _, body = request(self.port, "GET", "/api/runs/%d" % run, headers=cookie)
        self.assertEqual((code, json.loads(body)["sha"]), (200, c1))
        status, msgs = ws_messages(self.port, "/runs/%d/live" % run,
                                   headers=dict(cookie, Origin=self.origin))
        self.assertEqual((status, msgs[-1]["state"]), ("101", "succeeded"))
        # A read session may not operate, even from the bot's own page.
        code, _, body = request(self.port, "POST", "/api/environments/dev/lock", json.dumps({"reason": "x"}),
                                dict(cookie, Origin=self.origin))
        self.assertEqual(code, 403, body)
        # An operate session operates from the bot's own origin only.
        op = {"Cookie": "deploybot_session=" + self.login(harness.OPERATE_TOKEN)}
        lock = json.dumps({"reason": "from the browser"})
        self.assertEqual(request(self.port, "POST", "/api/environments/dev/lock", lock, op)[0], 403)
        self.assertEqual(request(self.port, "POST", "/api/environments/dev/lock", lock,
                                 dict(op, Origin=EVIL))[0], 403)
        code, _, body = request(self.port, "POST", "/api/environments/dev/lock", lock, dict(op, Origin=self.origin))
        self.assertEqual(code, 200, body)
        self.assertIn("dev locked by operator: from the browser", json.loads(body)["message"])

    def test_forged_and_expired_cookies_are_401(self):
        now = int(time.time())
        good = self.forge("viewer", "r", now + 600)
        self.assertEqual(request(self.port, "GET", "/api/runs",
                                 headers={"Cookie": "deploybot_session=" + good})[0], 200)
        bad = {
            "expired": self.forge("viewer", "r", now - 1),
            "other key": self.forge("viewer", "r", now + 600, key=os.urandom(32)),
            "role raised": good.replace("viewer:r:", "viewer:o:"),
            "no such credential": self.forge("ghost", "r", now + 600),
            "role the credential does not have": self.forge("viewer", "o", now + 600),
            "garbage": "viewer",
        }
        for what, value in bad.items():
            code, hdrs, _ = request(self.port, "GET", "/api/runs", headers={"Cookie": "deploybot_session=" + value})
            self.assertEqual((code, hdrs.get("www-authenticate")), (401, "Bearer"), what)
        status, _ = ws_messages(self.port, "/runs/1/live", headers={"Cookie": "deploybot_session=" + bad["expired"]})
        self.assertIn(" 401 ", status)

    def test_cross_origin_websocket_post_and_login_are_403(self):
        run = json.loads(self.s.api("/api/runs")[1])["runs"]
        self.assertEqual(run, [])
        status, msgs = ws_messages(self.port, "/runs/1/live", headers=dict(READ, Origin=EVIL))
        self.assertIn(" 403 ", status)
        self.assertEqual(msgs, [])
        status, msgs = ws_messages(self.port, "/runs/1/live", headers=dict(READ, Origin=self.origin))
        self.assertEqual((status, msgs), ("101", [{"error": "no such run"}]))
        lock = json.dumps({"reason": "x"})
        code, _, body = request(self.port, "POST", "/api/environments/dev/lock", lock, dict(OPERATE, Origin=EVIL))
        self.assertEqual(code, 403, body)
        self.assertIn("Origin", json.loads(body)["error"])
        # An API client with a bearer token need not send Origin.
        self.assertEqual(request(self.port, "POST", "/api/environments/dev/unlock", None, OPERATE)[0], 200)
        code, hdrs, _ = request(self.port, "POST", "/login", "token=" + harness.READ_TOKEN,
                                {"Content-Type": "application/x-www-form-urlencoded", "Origin": EVIL})
        self.assertEqual((code, "set-cookie" in hdrs), (403, False))


class Closed(unittest.TestCase):
    """Secure by default: no api_tokens, no UI or API."""

    def test_no_tokens_means_401_naming_the_key(self):
        s = harness.Stack(start_bot=False)
        try:
            path = s.config_path()
            with open(path) as f:
                cfg = json.load(f)
            del cfg["api_tokens"]
            with open(path, "w") as f:
                json.dump(cfg, f)
            s.start_bot()
            code, body = s.api("/api/runs")
            self.assertEqual(code, 401, body)
            self.assertIn('"api_tokens"', json.loads(body)["error"])
            self.assertEqual(harness.http("GET", s.bot_url + "/healthz")[0], 200)
            code, hdrs, _ = request(s.bot.port, "POST", "/login", "token=" + harness.READ_TOKEN,
                                    {"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(code, 401)
            self.assertIn("no api_tokens configured", s.bot.output())
        finally:
            s.close()


class Tls(unittest.TestCase):
    """tls_cert/tls_key: the listener speaks HTTPS, sessions are Secure."""

    def test_https_with_the_test_ca(self):
        s = harness.Stack(start_bot=False)
        certs = tempfile.mkdtemp(prefix="deploybot-tls-", dir=s.dir)
        ca_pem, ca_key = tls.ensure_ca(certs)
        cert, key = tls.make_server_cert(ca_pem, ca_key, certs)
        try:
            path = s.config_path()
            with open(path) as f:
                cfg = json.load(f)
            cfg.update(tls_cert=cert, tls_key=key)
            with open(path, "w") as f:
                json.dump(cfg, f)
            port_file = os.path.join(s.dir, "bot.port")
            s.bot = harness.Process([harness.BIN, "serve", "--config", path, "--port-file", port_file],
                                    s.dir, "deploybot", env=s.env(), port_file=port_file)
            ctx = ssl.create_default_context(cafile=ca_pem)
            url = "https://127.0.0.1:%d" % s.bot.port

            def get(path, headers=None):
                req = urllib.request.Request(url + path, headers=headers or {})
                try:
                    with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
                        return r.status, r.read()
                except urllib.error.HTTPError as e:
                    return e.code, e.read()
            self.assertEqual(harness.wait_for(lambda: get("/healthz")[0] == 200 or None, 20, "https /healthz"), True)
            self.assertEqual(get("/api/runs")[0], 401)
            code, body = get("/api/runs", READ)
            self.assertEqual((code, json.loads(body)), (200, {"runs": []}))
            c = http.client.HTTPSConnection("127.0.0.1", s.bot.port, context=ctx, timeout=30)
            c.request("POST", "/login", "token=" + harness.READ_TOKEN,
                      {"Content-Type": "application/x-www-form-urlencoded", "Origin": url})
            r = c.getresponse()
            self.assertEqual(r.status, 303)
            self.assertTrue(r.getheader("Set-Cookie").endswith("; HttpOnly; SameSite=Strict; Secure"))
            c.close()
            # Plain HTTP gets no answer on the TLS port.
            with self.assertRaises((http.client.HTTPException, OSError)):
                request(s.bot.port, "GET", "/healthz")
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
