"""GET /metrics: the Prometheus text of the real bot, behind a read token;
what `promtool check metrics` accepts; counters that moved by exactly what a
push, its deliveries and its AWS calls did (compared with the fakes' own
logs); the store's gauges (queue, outbox, environment states); and a real
Prometheus scraping the bot with a bearer token and answering a query."""
import json
import os
import re
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset of (label, value)): float} of every sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples, name, **labels):
    """The sum over the series of name that have these labels."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_request(port, head):
    """Sends request headers only (the body never comes); returns the socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(head.encode())
    return s


def status_of(sock):
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]) if data else 0


def webhook_head(length, delivery="x"):
    return ("POST /webhooks/github HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            "X-GitHub-Event: push\r\nX-GitHub-Delivery: %s\r\nX-Hub-Signature-256: sha256=%s\r\n"
            "Content-Length: %d\r\n\r\n" % (delivery, "0" * 64, length))


class Metrics(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        self.s.repo_settings["name"] = harness.GITHUB_REPO  # a 403 for another repository
        # The whole body budget is one largest body: a second delivery is 503.
        self.s.extra_env["DEPLOYBOT_MAX_INFLIGHT_BODY_BYTES"] = "26214400"
        self.s.start_bot()

    def tearDown(self):
        self.s.close()

    def scrape(self):
        code, body = self.s.api("/metrics")
        self.assertEqual(code, 200, body)
        return body.decode()

    def samples(self):
        return parse(self.scrape())

    def test_needs_a_read_token(self):
        code, body = self.s.api("/metrics", token=None)
        self.assertEqual(code, 401, body)
        code, body = self.s.api("/metrics", token="not-a-token")
        self.assertEqual(code, 401, body)
        code, body = self.s.api("/metrics", method="POST", body=b"", token=harness.OPERATE_TOKEN)
        self.assertEqual(code, 405, body)
        req = urllib.request.Request(self.s.bot_url + "/metrics",
                                     headers={"Authorization": "Bearer " + harness.READ_TOKEN})
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertEqual(r.headers["Content-Type"], CONTENT_TYPE)
            text = r.read().decode()
        # Before anything happened: the families, the gauges, the build.
        self.assertIn("# TYPE deploybot_webhook_deliveries_total counter\n", text)
        self.assertIn("# TYPE deploybot_run_duration_seconds histogram\n", text)
        samples = parse(text)
        self.assertEqual(value(samples, "deploybot_queue_depth", queue="jobs"), 0)
        self.assertEqual(value(samples, "deploybot_outbox_depth"), 0)
        version = subprocess.run([harness.BIN, "--version"], stdout=subprocess.PIPE, check=True).stdout.decode()
        m = re.match(r"deploybot (\S+) \(commit (\S+)\)", version)
        self.assertEqual(value(samples, "deploybot_build_info", version=m.group(1), commit=m.group(2)), 1)

    def deliveries(self, samples, event, result):
        return value(samples, "deploybot_webhook_deliveries_total", host="github", event=event, result=result)

    def test_webhook_results(self):
        base = self.s.repo.head()
        c1 = self.s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev")
        delivery = str(uuid.uuid4())
        self.assertEqual(self.s.deliver("push", harness.push_payload(base, c1), delivery)[0], 202)
        self.assertEqual(self.s.deliver("push", harness.push_payload(base, c1), delivery)[0], 202)
        self.assertEqual(self.s.deliver("push", harness.push_payload(base, c1), secret="wrong")[0], 401)
        other = harness.push_payload(base, c1)
        other["repository"]["full_name"] = "someone/else"
        self.assertEqual(self.s.deliver("push", other)[0], 403)
        ping = json.loads(harness.fixture("github/octokit.ping.json"))
        ping["repository"]["full_name"] = harness.GITHUB_REPO
        self.assertEqual(self.s.deliver("ping", ping)[0], 200)
        comment = json.loads(harness.fixture("github/octokit.issue_comment.created.json"))
        comment["repository"]["full_name"] = harness.GITHUB_REPO
        self.assertEqual(self.s.deliver("issue_comment", comment)[0], 202)
        big = raw_request(self.s.bot.port, webhook_head(26214401))
        self.assertEqual(status_of(big), 413)
        big.close()
        held = raw_request(self.s.bot.port, webhook_head(26214400))  # takes the whole budget
        harness.wait_for(lambda: self.s.api("/healthz")[0] == 200, 10, "bot")
        second = raw_request(self.s.bot.port, webhook_head(1000, "y"))
        self.assertEqual(status_of(second), 503)
        second.close()
        held.close()

        samples = self.samples()
        self.assertEqual(self.deliveries(samples, "push", "accepted"), 1)
        self.assertEqual(self.deliveries(samples, "push", "duplicate"), 1)
        self.assertEqual(self.deliveries(samples, "push", "403"), 1)
        self.assertEqual(self.deliveries(samples, "ping", "ping"), 1)
        self.assertEqual(self.deliveries(samples, "issue_comment", "ignored"), 1)
        # Refused before the signature was checked: the client's event name is not a label.
        self.assertEqual(self.deliveries(samples, "unverified", "401"), 1)
        self.assertEqual(self.deliveries(samples, "unverified", "413"), 1)
        self.assertEqual(self.deliveries(samples, "unverified", "503"), 1)
        self.assertEqual(total(samples, "deploybot_webhook_deliveries_total"), 8)
        self.assertEqual(self.s.wait_status(c1, "deploybot/dev")["state"], "success")

    def test_push_moves_run_and_aws_series(self):
        before = self.samples()
        base = self.s.repo.head()
        c1 = self.s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev")
        # Two throttled answers on the way: counted, retried, and the call still succeeds.
        harness.fault(self.s.aws_url, action="DescribeVpcs", error="Throttling", status=400, count=2)
        t0 = time.time()
        self.assertEqual(self.s.deliver("push", harness.push_payload(base, c1))[0], 202)
        self.assertEqual(self.s.wait_status(c1, "deploybot/dev")["state"], "success")
        t1 = time.time()
        after = harness.wait_for(
            lambda: (lambda x: x if value(x, "deploybot_runs_total", environment="dev", kind="apply",
                                          result="succeeded") == 1 else None)(self.samples()),
            30, "the run counted")

        self.assertEqual(value(before, "deploybot_runs_total", environment="dev", kind="apply",
                               result="succeeded"), 0)
        self.assertEqual(value(after, "deploybot_run_duration_seconds_count", environment="dev", kind="apply"), 1)
        self.assertEqual(value(after, "deploybot_run_duration_seconds_bucket", environment="dev", kind="apply",
                               le="+Inf"), 1)
        for phase in ("fetch", "discover", "plan", "apply"):
            self.assertEqual(value(after, "deploybot_run_phase_seconds_count", environment="dev", phase=phase), 1,
                             phase)
        # Every attempt the fake AWS answered is one call or one of its retries.
        calls = self.s.aws_calls()
        by_action = {}
        for c in calls:
            by_action[(c["service"], c["action"])] = by_action.get((c["service"], c["action"]), 0) + 1
        self.assertEqual(by_action[("ec2", "DescribeVpcs")], value(after, "deploybot_aws_calls_total", service="ec2",
                                                                  action="DescribeVpcs", outcome="ok") + 2)
        self.assertEqual(value(after, "deploybot_aws_throttles_total", service="ec2", action="DescribeVpcs"), 2)
        self.assertEqual(value(after, "deploybot_aws_retries_total", service="ec2", action="DescribeVpcs"), 2)
        counted = total(after, "deploybot_aws_calls_total") + total(after, "deploybot_aws_retries_total")
        self.assertEqual(counted, len(calls))
        self.assertGreater(value(after, "deploybot_aws_calls_total", service="ec2", action="CreateSecurityGroup",
                                 outcome="ok") + value(after, "deploybot_aws_calls_total", service="ec2",
                                                       action="AuthorizeSecurityGroupIngress", outcome="ok"), 0)
        # The store's view (store/envstate.h): dev in sync, applied between t0 and t1.
        self.assertEqual(self.env_state(after, "dev"), "in_sync")
        applied = value(after, "deploybot_last_successful_apply_timestamp_seconds", environment="dev")
        self.assertTrue(t0 - 1 <= applied <= t1 + 1, (t0, applied, t1))
        code, body = self.s.api("/api/environments/dev/lock", "POST", {"reason": "maintenance"},
                                token=harness.OPERATE_TOKEN)
        self.assertEqual(code, 200, body)
        self.assertEqual(self.env_state(self.samples(), "dev"), "locked")
        self.promtool(self.scrape())

    def env_state(self, samples, env):
        """The one state whose series is 1; every state has a series."""
        states = {dict(ls)["state"]: v for (n, ls), v in samples.items()
                  if n == "deploybot_environment_state" and dict(ls)["environment"] == env}
        self.assertEqual(sorted(states), ["applying", "drifted", "failed", "in_sync", "locked", "queued"])
        on = [k for k, v in states.items() if v == 1]
        self.assertEqual((len(on), sum(states.values())), (1, 1), states)
        return on[0]

    def promtool(self, text):
        p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertEqual((p.returncode, p.stdout.decode()), (0, ""), text)

    def test_backlogs(self):
        """A run waiting behind a running one, and statuses GitHub refuses for
        now: the queue and the outbox, with their oldest ages, at the scrape."""
        harness.fault(self.s.github_url, path_regex="/statuses/", status=500, count=1000)
        self.s.running_dev_run(delay_ms=300, count=1000)
        base = self.s.repo.head()
        c2 = self.s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("192.0.2.0/24"), "more")
        self.assertEqual(self.s.deliver("push", harness.push_payload(base, c2))[0], 202)

        def backlog():
            x = self.samples()
            waiting = (value(x, "deploybot_queue_depth", queue="runs") == 1 and
                       value(x, "deploybot_queue_oldest_age_seconds", queue="runs") > 0 and
                       value(x, "deploybot_outbox_depth") > 0 and
                       value(x, "deploybot_outbox_oldest_age_seconds") > 0)
            return x if waiting else None
        x = harness.wait_for(backlog, 60, "a queued run and unsent statuses")
        self.assertEqual(value(x, "deploybot_queue_depth", queue="jobs"), 0)
        self.assertEqual(self.env_state(x, "dev"), "applying")
        self.promtool(self.scrape())


class RealPrometheus(unittest.TestCase):
    """Prometheus itself scrapes the bot with the read token (its
    `authorization` setting) and answers a query for a counter after a push."""

    def setUp(self):
        self.s = harness.Stack()
        work = os.path.join(self.s.dir, "prometheus")
        os.makedirs(work)
        self.port = free_port()
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: deploybot\n"
                    "    authorization:\n      credentials: %s\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % (harness.READ_TOKEN, self.s.bot.port))
        # Stopped with the stack; its log stays in the stack's directory.
        self.s.procs.append(harness.Process(
            ["prometheus", "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(work, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port], work, "prometheus"))

    def tearDown(self):
        self.s.close()

    def query(self, q):
        url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (self.port, urllib.parse.quote(q))
        try:
            code, body = harness.http("GET", url)
        except OSError:
            return []  # not listening yet
        if code != 200:
            return []
        doc = json.loads(body)
        self.assertEqual(doc["status"], "success", doc)
        return doc["data"]["result"]

    def test_scrapes_and_queries(self):
        up = harness.wait_for(lambda: [r for r in self.query('up{job="deploybot"}') if r["value"][1] == "1"],
                              120, "Prometheus scraping the bot")
        self.assertEqual(up[0]["metric"]["instance"], "127.0.0.1:%d" % self.s.bot.port)
        base = self.s.repo.head()
        c1 = self.s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev")
        self.assertEqual(self.s.deliver("push", harness.push_payload(base, c1))[0], 202)
        self.assertEqual(self.s.wait_status(c1, "deploybot/dev")["state"], "success")
        q = 'deploybot_runs_total{environment="dev",kind="apply",result="succeeded"}'
        r = harness.wait_for(lambda: [x for x in self.query(q) if x["value"][1] == "1"], 120, "the run in Prometheus")
        self.assertEqual(r[0]["metric"]["job"], "deploybot")
        r = harness.wait_for(lambda: self.query(
            'deploybot_webhook_deliveries_total{host="github",event="push",result="accepted"}'), 60, "the delivery")
        self.assertEqual(r[0]["value"][1], "1")


if __name__ == "__main__":
    unittest.main()
