"""The bot on PostgreSQL ("database_url"): a push is planned and applied
with its statuses and its history kept in the database (and not in
data_dir), across a restart of the bot; a restart of PostgreSQL is answered
503 with Retry-After while it lasts and 202 again after, and every delivery
acknowledged is stored; "database_url_env" names the variable holding the
URL; a database that cannot be reached is a clear error at start that
names it without its password."""
import json
import os
import subprocess
import sys
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
    body = json.dumps(doc).encode()
    req = urllib.request.Request(s.bot_url + "/webhooks/github", data=body, method="POST", headers={
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

    def test_3_a_run_ending_while_postgres_is_down_is_recorded_after(self):
        s = self.s
        base = s.repo.head()
        sha = s.repo.edit_json(DEV, lambda d: d.update(office_cidrs=["203.0.113.128/25"]), "dev: another office")
        harness.fault(s.aws_url, action="*", error=None, delay_ms=300, count=20)
        done_before = s.bot.output().count("Apply complete")
        code, body = s.deliver("push", harness.push_payload(base, sha))
        self.assertEqual(code, 202, body)
        harness.wait_for(lambda: self.count("SELECT count(*) FROM runs WHERE sha = '%s' AND state = 'running'" % sha) == 1,
                         60, "the run running")
        self.pg.stop()
        try:
            # The run ends against AWS while its database is away.
            harness.wait_for(lambda: s.bot.output().count("Apply complete") > done_before, 120, "the apply done")
        finally:
            self.pg.start()
        harness.wait_for(lambda: self.count("SELECT count(*) FROM runs WHERE sha = '%s' AND kind = 'apply' "
                                            "AND state = 'succeeded'" % sha) == 1, 60, "the run recorded as succeeded")
        self.assertIn("Apply complete", json.loads(s.api("/api/runs?env=dev")[1])["runs"][0]["result"])


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
