"""The bot on PostgreSQL ("database_url"): a push is planned and applied
with its statuses and its history kept in the database (and not in
data_dir), across a restart of the bot; a restart of PostgreSQL is answered
503 with Retry-After while it lasts and 202 again after, and every delivery
acknowledged is stored; "database_url_env" names the variable holding the
URL; a database that cannot be reached is a clear error at start that
names it without its password; three replicas on one PostgreSQL restarted
during a burst answer 503 or 202, and every 202 is exactly one job."""
import json
import os
import subprocess
import sys
import threading
import unittest
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import pgcluster  # noqa: E402

DEV = "environments/dev/stack.json"


def deliver(s, doc, delivery):
    """(status, Retry-After, body) of a push delivery."""
    return deliver_to(s.bot_url, doc, delivery)


def deliver_to(url, doc, delivery):
    body = json.dumps(doc).encode()
    req = urllib.request.Request(url + "/webhooks/github", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": harness.sign(body), "User-Agent": "GitHub-Hookshot/044aadd"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Retry-After"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Retry-After"), e.read()


class Postgres(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pgcluster.Cluster()
        cls.s = harness.Stack(start_bot=False)
        # A run whose database is away for longer than the replica's lease
        # stops at its next AWS call, by design (README "High
        # availability"; test_replicas). Here the outage must not outlast
        # the lease on a loaded machine: the run is to end while it lasts.
        cls.s.edit_config(lambda c: c.update(database_url=cls.pg.url(), replica={"lease_s": 3600}))
        cls.s.start_bot()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()
        cls.pg.close()

    def count(self, sql):
        return int(self.pg.psql(sql))

    def test_1_push_plans_applies_and_keeps_history(self):
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev: office")
        code, body = s.deliver("push", harness.push_payload(base, c1))
        self.assertEqual(code, 202, body)
        st = s.wait_status(c1, "deploybot/dev")
        self.assertEqual(st["state"], "success", st)
        self.assertRegex(st["description"], r"^Apply complete: \d+ added, 0 changed, 0 destroyed\.$")
        self.assertEqual(self.count("SELECT count(*) FROM runs WHERE env = 'dev' AND kind = 'apply' "
                                    "AND state = 'succeeded' AND sha = '%s'" % c1), 1)
        self.assertFalse(os.path.exists(os.path.join(s.data_dir, "deploybot.db")))
        code, runs = s.api("/api/runs?env=dev")
        self.assertEqual(code, 200, runs)
        before = json.loads(runs)["runs"]
        # The run's log is kept line by line and read back from an offset.
        code, run = s.api("/api/runs/%d" % before[0]["id"])
        self.assertIn("Apply complete", json.loads(run)["log"])

        s.bot.stop()
        s.start_bot()
        code, runs = s.api("/api/runs?env=dev")
        self.assertEqual(json.loads(runs)["runs"], before)
        # The history is the database's: the same push again is applied once.
        code, body = s.deliver("push", harness.push_payload(base, c1))
        self.assertEqual(code, 202, body)
        harness.wait_for(lambda: self.count("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')") == 0,
                         60, "the repeated push handled")
        self.assertEqual(self.count("SELECT count(*) FROM runs WHERE kind = 'apply' AND sha = '%s' "
                                    "AND state = 'succeeded'" % c1), 1)

    def test_2_postgres_restart_is_503_then_202(self):
        s = self.s
        head = s.repo.head()
        doc = harness.push_payload(head, head, ref="refs/heads/feature")
        stored_before = self.count("SELECT count(*) FROM deliveries")
        self.pg.stop()
        refused = []
        for _ in range(3):
            d = str(uuid.uuid4())
            code, retry, body = deliver(s, doc, d)
            self.assertEqual(code, 503, body)
            self.assertIsNotNone(retry)
            refused.append(d)
        self.pg.start()
        accepted = []
        # The first call after the restart may find its connection lost and be
        # refused too; from then on every delivery is stored.
        for d in refused + [str(uuid.uuid4()) for _ in range(3)]:
            code, retry, body = deliver(s, doc, d)
            if code == 503:
                code, retry, body = deliver(s, doc, d)  # GitHub's redelivery
            self.assertEqual(code, 202, body)
            accepted.append(d)
        stored = self.pg.psql("SELECT id FROM deliveries").split()
        for d in accepted:
            self.assertIn(d, stored)
        self.assertEqual(len(stored), stored_before + len(accepted))
        # The threads that lost their connection go on: a push is still applied.
        base = s.repo.head()
        c2 = s.repo.edit_json(DEV, lambda d: d.update(office_cidrs=["192.0.2.0/24"]), "dev: new office")
        code, body = s.deliver("push", harness.push_payload(base, c2))
        self.assertEqual(code, 202, body)
        st = s.wait_status(c2, "deploybot/dev")
        self.assertEqual(st["state"], "success", st)


class ReplicasOnPostgres(unittest.TestCase):
    """Three replicas on one PostgreSQL restarted in the middle of a burst:
    while it is down every replica answers 503, never a 202 for a delivery
    it did not store; after, they reconnect, and every delivery answered 202
    is exactly one job."""

    def setUp(self):
        self.pg = pgcluster.Cluster()
        self.s = harness.Stack(start_bot=False)
        self.s.edit_config(lambda c: c.update(database_url=self.pg.url()))
        self.replicas = self.s.start_replicas(3, 5)

    def tearDown(self):
        self.s.close()
        self.pg.close()

    def burst(self, replica, doc, answers, stop):
        while not stop.is_set():
            d = str(uuid.uuid4())
            code, retry, body = deliver_to(replica.url, doc, d)
            answers.append((replica.url, d, code, retry, body))

    def test_restart_during_burst(self):
        s = self.s
        head = s.repo.head()
        doc = harness.push_payload(head, head, ref="refs/heads/feature")
        answers, stop = [], threading.Event()
        threads = [threading.Thread(target=self.burst, args=(p, doc, answers, stop)) for p in self.replicas]
        for t in threads:
            t.start()
        try:
            harness.wait_for(lambda: sum(1 for a in answers if a[2] == 202) >= 9, 60, "deliveries before")
            self.pg.stop()
            harness.wait_for(lambda: sum(1 for a in answers if a[2] == 503) >= 3, 60, "503 while it is down")
            self.pg.start()
            seen = len(answers)
            harness.wait_for(lambda: sum(1 for a in answers[seen:] if a[2] == 202) >= 9, 60, "deliveries after")
        finally:
            stop.set()
            for t in threads:
                t.join()
        for url, d, code, retry, body in answers:
            self.assertIn(code, (202, 503), body)
            if code == 503:
                self.assertIsNotNone(retry)
        # Each replica takes deliveries again (GitHub redelivers what was refused).
        for url, d, code, retry, body in answers:
            if code == 503:
                code, retry, body = deliver_to(url, doc, d)
                self.assertEqual(code, 202, body)
        accepted = {d for url, d, code, retry, body in answers}
        jobs = [row.split("|") for row in self.pg.psql("SELECT delivery, count(*) FROM jobs GROUP BY delivery").split()]
        self.assertEqual({d for d, n in jobs}, accepted)
        self.assertEqual([(d, n) for d, n in jobs if n != "1"], [])


class Configuration(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pgcluster.Cluster()

    @classmethod
    def tearDownClass(cls):
        cls.pg.close()

    def test_database_url_env(self):
        s = harness.Stack(start_bot=False)
        try:
            # trust authentication ignores the password: it only has to stay hidden.
            url = self.pg.url().replace("user=deploybot", "user=deploybot&password=pw-in-the-env")
            s.extra_env["DEPLOYBOT_TEST_DB"] = url
            s.edit_config(lambda c: c.update(database_url_env="DEPLOYBOT_TEST_DB"))
            p = self.run_bot(s, "check", "--config", s.config_path())
            self.assertIn("OK database", p.stdout)
            self.assertNotIn("pw-in-the-env", p.stdout)
            s.start_bot()
            code, body = s.deliver("push", harness.push_payload(s.repo.head(), s.repo.head(), ref="refs/heads/x"))
            self.assertEqual(code, 202, body)
            self.assertGreaterEqual(int(self.pg.psql("SELECT count(*) FROM deliveries")), 1)
        finally:
            s.close()
        self.assertNotIn("pw-in-the-env", s.bot.output())

    def run_bot(self, s, *args):
        return subprocess.run([harness.BIN] + list(args), env=s.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=60, text=True)

    def test_unreachable_database_is_a_clear_error(self):
        s = harness.Stack(start_bot=False)
        try:
            s.edit_config(lambda c: c.update(
                database_url="postgresql://bot:hunter2-secret@127.0.0.1:1/deploybot?connect_timeout=3"))
            p = self.run_bot(s, "serve", "--config", s.config_path())
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("postgresql://bot@127.0.0.1:1/deploybot", p.stdout)
            self.assertIn("the database is unavailable", p.stdout)
            self.assertNotIn("hunter2", p.stdout)
            p = self.run_bot(s, "check", "--config", s.config_path())
            self.assertRegex(p.stdout, r"FAIL database: postgresql://bot@127\.0\.0\.1:1/deploybot.*: the database is unavailable")
            self.assertNotIn("hunter2", p.stdout)
            p = self.run_bot(s, "history", "--config", s.config_path())
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn("postgresql://bot@127.0.0.1:1/deploybot", p.stdout)
            self.assertNotIn("hunter2", p.stdout)
        finally:
            s.close()

    def test_bad_keys(self):
        s = harness.Stack(start_bot=False)
        try:
            s.edit_config(lambda c: c.update(database_url="mysql://db/x"))
            p = self.run_bot(s, "serve", "--config", s.config_path())
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("\"database_url\" must start with postgres:// or postgresql://", p.stdout)
            s.edit_config(lambda c: (c.pop("database_url"), c.update(database_url_env="DEPLOYBOT_NO_SUCH_VAR")))
            p = self.run_bot(s, "serve", "--config", s.config_path())
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("environment variable DEPLOYBOT_NO_SUCH_VAR is unset", p.stdout)
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
