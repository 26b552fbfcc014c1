"""The dashboard (/), GET /api/environments and the run page: the real binary
against the fakes, and the page in headless Chromium driven over the
DevTools protocol with harness.WebSocket.

Environments get their states from real runs where the bot makes them
(dev applied, dev running, stg queued behind it on the one runner, sandbox
locked through the API) and from rows written into the history where another
part of the bot would (prd's failed apply, qa's drift run: the drift checker
records those). DEPLOYBOT_DASHBOARD_PNG, when set, is where the screenshot
of the demo-like state goes (docs/dashboard.png in the README)."""
import base64
import html.parser
import json
import os
import sqlite3
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SUBJECT = 'tools: pin nginx <img src=x onerror="window.pwned=1"> & "tls"'
DEV_SUBJECT = "dev: open the office VPN range"
LOCK_REASON = "<b>release freeze</b> until Friday"
PLAN_SUMMARY = "Plan: 0 to add, 1 to change, 0 to destroy."


class Chromium:
    """Headless Chromium with one page, driven over the DevTools protocol.
    Every console message, log entry and uncaught exception of the page is
    kept in .problems."""

    def __init__(self, workdir):
        profile = os.path.join(workdir, "chromium-profile")
        self.proc = harness.Process(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--remote-debugging-port=0", "--user-data-dir=" + profile,
             "--window-size=1280,900", "about:blank"], workdir, "chromium")
        active = os.path.join(profile, "DevToolsActivePort")
        port = harness.wait_for(lambda: harness._read_port(active), 60, "chromium's DevTools port")
        targets = json.loads(harness.http("GET", "http://127.0.0.1:%d/json/list" % port)[1])
        page = [t for t in targets if t["type"] == "page"][0]
        self.ws = harness.WebSocket(port, "/devtools/page/" + page["id"])
        assert self.ws.open, self.ws.status
        self.next_id, self.answers, self.problems = 0, {}, []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        for domain in ("Runtime", "Log", "Page"):
            self.call(domain + ".enable")

    def _read(self):
        while (text := self.ws.recv()) is not None:
            msg = json.loads(text)
            with self.cond:
                if "id" in msg:
                    self.answers[msg["id"]] = msg
                    self.cond.notify_all()
                else:
                    self._event(msg)

    def _event(self, msg):
        p = msg.get("params", {})
        if msg["method"] == "Runtime.exceptionThrown":
            self.problems.append(("exception", p["exceptionDetails"].get("text"),
                                  p["exceptionDetails"].get("exception", {}).get("description")))
        elif msg["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "warning", "assert"):
            self.problems.append(("console", p["type"], [a.get("value") for a in p["args"]]))
        elif msg["method"] == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
            self.problems.append(("log", p["entry"]["level"], p["entry"]["text"], p["entry"].get("url")))

    def call(self, method, **params):
        with self.cond:
            self.next_id += 1
            n = self.next_id
        self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        with self.cond:
            if not self.cond.wait_for(lambda: n in self.answers, 60):
                raise AssertionError("no answer to " + method)
            msg = self.answers.pop(n)
        if "error" in msg:
            raise AssertionError("%s: %s" % (method, msg["error"]))
        return msg["result"]

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise AssertionError("%s: %s" % (expression, r["exceptionDetails"]))
        return r["result"].get("value")

    def close(self):
        self.ws.close()
        self.proc.stop()


def insert_run(db, env, sha, kind, state, result=None, plan_summary=None):
    """A finished run written as another part of the bot would write it."""
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO runs(env, repo, sha, kind, trigger, state, result, plan_summary,"
                  " log, created_ms, started_ms, finished_ms) VALUES(?, ?, ?, ?, 'schedule', ?, ?, ?,"
                  " ?, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - 1000,"
                  " CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - 1000,"
                  " CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
                  (env, harness.GITHUB_REPO, sha, kind, state, result, plan_summary,
                   "  ~ security_group.web (sg-1) will be updated in place\n" + (plan_summary or "") + "\n"))


def card_states(api):
    return {c["env"]: c["state"] for c in json.loads(api("/api/environments")[1])["environments"]}


class Rows(html.parser.HTMLParser):
    """The cells of each row of the runs table (tbody id=runs)."""

    def __init__(self):
        super().__init__()
        self.rows, self.inside, self.cell = [], False, None

    def handle_starttag(self, tag, attrs):
        if tag == "tbody" and ("id", "runs") in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "tbody":
            self.inside = False
        elif self.inside and tag == "td" and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


class Dashboard(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        # One runner: a second environment's run waits while the first runs.
        self.s.extra_env["DEPLOYBOT_RUNNERS"] = "1"
        self.s.start_bot()
        self.db = os.path.join(self.s.data_dir, "deploybot.db")
        self.bearer = {"Authorization": "Bearer " + harness.READ_TOKEN}
        self.browser = None

    def tearDown(self):
        if self.browser:
            self.browser.close()
        self.s.close()

    def push(self, envs, message):
        s = self.s
        base = s.repo.head()
        for env in envs:
            path = os.path.join(s.repo.path, "environments", env, "stack.json")
            with open(path) as f:
                doc = json.load(f)
            doc["office_cidrs"].append("198.51.100.%d/32" % (len(doc["office_cidrs"]) + 1))
            with open(path, "w") as f:
                json.dump(doc, f, indent=2)
        sha = s.repo.commit(message)
        code, body = s.deliver("push", harness.push_payload(base, sha))
        self.assertEqual(code, 202, body)
        return sha

    def wait_state(self, env, state):
        harness.wait_for(lambda: card_states(self.s.api).get(env) == state, 90, "%s %s" % (env, state))

    def set_up_states(self):
        """dev applied; prd failed; qa drifted; tools in sync, from a commit
        whose subject is markup; sandbox locked. Returns dev's commit."""
        s = self.s
        markup = s.repo.write("tools.md", "nginx 1.25\n", SUBJECT)
        sha = self.push(["dev"], DEV_SUBJECT)  # the mirror fetches both
        self.wait_state("dev", "in_sync")
        insert_run(self.db, "prd", sha, "apply", "failed", "apply failed: AccessDenied")
        insert_run(self.db, "qa", sha, "apply", "succeeded", "Apply complete")
        insert_run(self.db, "qa", sha, "drift", "drifted", PLAN_SUMMARY, PLAN_SUMMARY)
        insert_run(self.db, "tools", markup, "apply", "succeeded", "Apply complete")
        code, body = s.api("/api/environments/sandbox/lock", "POST", {"reason": LOCK_REASON},
                           token=harness.OPERATE_TOKEN)
        self.assertEqual(code, 200, body)
        return sha

    def test_api(self):
        s = self.s
        sha = self.set_up_states()
        self.assertEqual(card_states(s.api), {"dev": "in_sync", "prd": "failed", "qa": "drifted",
                                              "tools": "in_sync", "sandbox": "locked"})
        code, body = s.api("/api/environments/dev")
        self.assertEqual(code, 200, body)
        dev = json.loads(body)
        self.assertEqual(dev["commit"]["sha"], sha)
        self.assertEqual(dev["commit"]["subject"], DEV_SUBJECT)
        self.assertEqual(dev["commit"]["author"], "Dev")
        self.assertEqual(dev["commit"]["url"], "%s/%s/commit/%s" % (s.github_url, harness.GITHUB_REPO, sha))
        self.assertEqual(dev["last_run"]["kind"], "apply")
        self.assertEqual(dev["deployed"]["sha"], sha)
        code, body = s.api("/api/environments/sandbox")
        lock = json.loads(body)["lock"]
        tools = json.loads(s.api("/api/environments/tools")[1])
        self.assertEqual(tools["commit"]["subject"], SUBJECT)
        self.assertEqual((lock["by"], lock["reason"]), ("operator", LOCK_REASON))
        self.assertEqual(json.loads(s.api("/api/environments/qa")[1])["last_run"]["result"], PLAN_SUMMARY)
        # An environment nobody knows; a name that cannot be one; no credential.
        self.assertEqual(s.api("/api/environments/nowhere")[0], 404)
        self.assertEqual(s.api("/api/environments/-x")[0], 400)
        self.assertEqual(s.api("/api/environments", token=None)[0], 401)
        self.assertEqual(s.api("/api/environments/dev", token=None)[0], 401)
        self.assertEqual(s.api("/api/environments/dev/lock")[0], 405)  # a GET of a POST
        # A commit the mirror does not have: its sha and link, nothing more.
        insert_run(self.db, "ghost", "f" * 40, "apply", "succeeded", "Apply complete")
        ghost = json.loads(s.api("/api/environments/ghost")[1])["commit"]
        self.assertEqual((ghost["short"], ghost["subject"], ghost["author"]), ("f" * 12, None, None))
        self.assertTrue(ghost["url"].endswith("/commit/" + "f" * 40))
        runs = json.loads(s.api("/api/runs?kind=drift&state=drifted")[1])["runs"]
        self.assertEqual([(r["env"], r["kind"], r["state"]) for r in runs], [("qa", "drift", "drifted")])
        # The live cards: a read credential, the subprotocol, then the cards.
        ws = harness.WebSocket(s.bot.port, "/live", "deploybot-envs")
        self.assertIn(" 401 ", ws.status + " ")
        ws = harness.WebSocket(s.bot.port, "/live", "deploybot-log", self.bearer)
        self.assertIn(" 400 ", ws.status + " ")
        ws = harness.WebSocket(s.bot.port, "/live", "deploybot-envs", self.bearer)
        self.assertTrue(ws.open, ws.status)
        cards = {c["env"]: c for c in json.loads(ws.recv())["environments"]}
        ws.close()
        self.assertEqual(cards["qa"]["state"], "drifted")
        self.assertIn('id="env-qa" data-state=drifted', cards["qa"]["html"])

    def test_pages_without_javascript(self):
        """The cards and the filtered runs table are in the HTML itself, with
        every repository-given string escaped."""
        s = self.s
        sha = self.set_up_states()
        code, page = s.api("/")
        self.assertEqual(code, 200)
        page = page.decode()
        for env, state in (("dev", "in_sync"), ("prd", "failed"), ("qa", "drifted"),
                           ("sandbox", "locked")):
            self.assertIn('id="env-%s" data-state=%s' % (env, state), page)
        self.assertNotIn("<img", page)
        self.assertNotIn("<b>release", page)
        self.assertIn("pin nginx &lt;img src=x onerror=&quot;window.pwned=1&quot;&gt; &amp; &quot;tls&quot;", page)
        self.assertIn("&lt;b&gt;release freeze&lt;/b&gt;", page)
        self.assertIn('href="%s/%s/commit/%s"' % (s.github_url, harness.GITHUB_REPO, sha), page)

        def rows(query):
            p = Rows()
            p.feed(s.api("/" + query)[1].decode())
            return [(r[1], r[2], r[5]) for r in p.rows if len(r) > 5]
        everything = rows("")
        self.assertIn(("qa", "drift", "drifted"), everything)
        self.assertIn(("dev", "apply", "succeeded"), everything)
        self.assertEqual(rows("?env=qa"), [("qa", "drift", "drifted"), ("qa", "apply", "succeeded")])
        self.assertEqual(rows("?kind=apply&result=failed"), [("prd", "apply", "failed")])
        self.assertEqual(rows("?env=dev&kind=drift"), [])
        code, page = s.api("/?env=%3Cscript%3E")
        self.assertNotIn("<script>alert", page.decode())

        # The run page: the plan's lines coloured, the drift run's too.
        run = json.loads(s.api("/api/runs?env=dev")[1])["runs"][0]
        page = s.api("/runs/%d" % run["id"])[1].decode()
        self.assertIn("<span class=p-add>  + ", page)
        self.assertIn("<span class=p-sum>Plan: ", page)
        drift = json.loads(s.api("/api/runs?env=qa")[1])["runs"][0]
        page = s.api("/runs/%d" % drift["id"])[1].decode()
        self.assertIn("<span class=p-chg>  ~ security_group.web", page)
        self.assertEqual(s.api("/runs/999999")[0], 404)

    def test_browser(self):
        s = self.s
        self.set_up_states()
        b = self.browser = Chromium(s.dir)
        b.call("Page.navigate", url=s.bot_url + "/login#token=" + harness.READ_TOKEN)
        harness.wait_for(lambda: b.eval("location.pathname === '/' && !!document.getElementById('cards')"),
                         60, "the dashboard after the login")
        states = "Object.fromEntries([...document.querySelectorAll('.card')].map(c => [c.id, c.dataset.state]))"
        self.assertEqual(b.eval(states), {"env-dev": "in_sync", "env-prd": "failed", "env-qa": "drifted",
                                          "env-tools": "in_sync", "env-sandbox": "locked"})
        self.assertEqual(b.eval("document.querySelector('#env-tools .subject').textContent"), SUBJECT)
        self.assertEqual(b.eval("document.querySelector('#env-dev .subject').textContent"), DEV_SUBJECT)
        self.assertEqual(b.eval("document.querySelector('#env-sandbox .reason').textContent"), LOCK_REASON)
        self.assertEqual(b.eval("document.querySelector('#env-qa .state').textContent.trim()"),
                         "\u26a0 Drifted")
        self.assertFalse(b.eval("!!document.querySelector('main img') || !!window.pwned"))
        self.assertEqual(b.eval("document.getElementById('cards').getAttribute('aria-live')"), "polite")
        harness.wait_for(lambda: b.eval("document.getElementById('live').textContent.startsWith('Live')"),
                         60, "the live updates connected")

        # A push while the page is open: its cards follow without a reload.
        b.eval("window.sameDocument = true")
        harness.fault(s.aws_url, action="*", error=None, delay_ms=150, count=60)
        sha = self.push(["dev", "stg"], "dev, stg: add the new office's range")
        # One runner: one of the two applies while the other waits.
        def one_applying_one_queued():
            now = b.eval(states)
            return sorted((now.get("env-dev", ""), now.get("env-stg", ""))) == ["applying", "queued"]
        harness.wait_for(one_applying_one_queued, 60, "one of dev and stg applying, the other queued")
        self.screenshot(b)
        harness.wait_for(lambda: b.eval(states).get("env-dev") == "in_sync" and
                         b.eval(states).get("env-stg") == "in_sync", 120, "both applied")
        self.assertEqual(b.eval("document.querySelector('#env-dev code').textContent"), sha[:12])
        self.assertEqual(b.eval("document.querySelector('#env-dev .subject').textContent"),
                         "dev, stg: add the new office's range")
        self.assertTrue(b.eval("window.sameDocument === true"))

        # The run page, with its plan coloured.
        run = json.loads(s.api("/api/runs?env=dev")[1])["runs"][0]
        b.call("Page.navigate", url="%s/runs/%d" % (s.bot_url, run["id"]))
        harness.wait_for(lambda: b.eval("location.pathname") == "/runs/%d" % run["id"] and
                         b.eval("document.readyState") == "complete", 30, "the run page")
        self.assertGreater(b.eval("document.querySelectorAll('#log .p-chg').length"), 0)
        self.assertEqual(b.problems, [])

    def screenshot(self, b):
        shot = b.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path = os.environ.get("DEPLOYBOT_DASHBOARD_PNG") or os.path.join(self.s.dir, "dashboard.png")
        data = base64.b64decode(shot)
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        with open(path, "wb") as f:
            f.write(data)


if __name__ == "__main__":
    unittest.main()
