"""retention_days against the real binary: with the pruning interval
shortened (retention_interval_s), rows made old in the database (their
created_ms / created_at / received_at moved back) are pruned in batches
while webhooks keep being accepted; the newest successful run of each
environment, the newest finished one and any running run stay, whatever
their age; what is younger than retention_days stays."""
import json
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"
DAY_MS = 86400 * 1000
OLD_RUNS = 1203  # more than two batches of 500


class Retention(unittest.TestCase):
    def setUp(self):
        s = self.s = harness.Stack(start_bot=False)
        s.edit_config(lambda c: c.update(retention_days=30, retention_interval_s=1))
        s.start_bot()

    def tearDown(self):
        self.s.close()

    def db(self):
        return sqlite3.connect(os.path.join(self.s.data_dir, "deploybot.db"), timeout=30)

    def push_dev(self, cidr):
        s = self.s
        base = s.repo.head()
        sha = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append(cidr), "dev")
        code, body = s.deliver("push", harness.push_payload(base, sha))
        self.assertEqual(code, 202, body)
        self.assertEqual(s.wait_status(sha, "deploybot/dev")["state"], "success")
        return sha

    def age(self, db, days):
        """Makes every row so far `days` old, and adds OLD_RUNS old runs of
        environment "gone" (mostly failed; succeeded at ids 100 and 200),
        one old running run, and old deliveries with their jobs."""
        now = int(time.time() * 1000)
        old = now - days * DAY_MS
        db.execute("UPDATE runs SET created_ms = ?", (old,))
        db.execute("UPDATE jobs SET created_at = ?", (old // 1000,))
        db.execute("UPDATE deliveries SET received_at = ?", (old // 1000,))
        for i in range(OLD_RUNS):
            state = "succeeded" if i in (100, 200) else "failed"
            db.execute("INSERT INTO runs(env, repo, sha, kind, trigger, state, created_ms, finished_ms) "
                       "VALUES('gone', 'o/r', ?, 'plan', 'push', ?, ?, ?)", ("%040x" % i, state, old + i, old + i))
        db.execute("INSERT INTO runs(env, repo, sha, kind, trigger, state, created_ms, started_ms) "
                   "VALUES('stuck', 'o/r', ?, 'apply', 'push', 'running', ?, ?)", ("f" * 40, old, old))
        for i in range(700):
            db.execute("INSERT INTO deliveries(id, event, received_at) VALUES(?, 'push', ?)",
                       ("old-%d" % i, old // 1000))
            db.execute("INSERT INTO jobs(delivery, event, payload, state, created_at) VALUES(?, 'push', '{}', "
                       "'done', ?)", ("old-%d" % i, old // 1000))
        db.commit()

    def test_prunes_old_history_in_batches(self):
        s = self.s
        self.push_dev("198.51.100.1/32")
        self.push_dev("198.51.100.2/32")
        with self.db() as db:
            dev_runs = [r[0] for r in db.execute("SELECT id FROM runs WHERE env = 'dev' ORDER BY id")]
            self.assertEqual(len(dev_runs), 2)
            self.age(db, 40)
            gone = [r[0] for r in db.execute("SELECT id FROM runs WHERE env = 'gone' ORDER BY id")]
            stuck = db.execute("SELECT id FROM runs WHERE env = 'stuck'").fetchone()[0]

        # Webhooks are taken while the bot prunes.
        young = self.push_dev("198.51.100.3/32")
        harness.wait_for(lambda: "retention: removed" in s.bot.output(), 60, "a pruning round")
        self.assertIn("older than 30 days", s.bot.output())

        def pruned():
            with self.db() as db:
                kept = {env: [r[0] for r in db.execute("SELECT id FROM runs WHERE env = ? ORDER BY id", (env,))]
                        for env in ("dev", "gone", "stuck")}
                kept["old jobs"] = db.execute("SELECT count(*) FROM jobs WHERE delivery LIKE 'old-%'").fetchone()[0]
                kept["old deliveries"] = db.execute(
                    "SELECT count(*) FROM deliveries WHERE id LIKE 'old-%'").fetchone()[0]
            return kept if len(kept["gone"]) == 2 and len(kept["dev"]) == 1 else None
        kept = harness.wait_for(pruned, 60, "the old rows pruned")
        # gone: its newest successful run and its newest finished run stay.
        self.assertEqual(kept["gone"], [gone[200], gone[-1]])
        self.assertEqual(kept["stuck"], [stuck])  # still running: never pruned
        self.assertEqual((kept["old jobs"], kept["old deliveries"]), (0, 0))
        # dev: the young run (the newest successful one now) stays, the old go.
        young_run = [r for r in json.loads(s.api("/api/runs?env=dev")[1])["runs"] if r["sha"] == young]
        self.assertEqual(kept["dev"], [young_run[0]["id"]])
        self.assertNotIn(dev_runs[-1], kept["dev"])
        with self.db() as db:  # the young push's delivery and job are younger than 30 days
            self.assertGreaterEqual(db.execute("SELECT count(*) FROM jobs WHERE created_at > ?",
                                               (int(time.time()) - 3600,)).fetchone()[0], 1)


if __name__ == "__main__":
    unittest.main()
