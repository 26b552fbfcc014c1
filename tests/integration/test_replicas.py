"""Several `deploybot serve` replicas on one database (issue 18): a burst of
deliveries spread across three replicas loses nothing and queues nothing
twice, with one apply at a time per environment; kill -9 of the replica
applying prd hands the run over and the stack converges; a replica stopped
(SIGSTOP) past its lease is fenced: once continued, its late writes are
refused and it makes no AWS call. The real binary against the fakes, on one
SQLite file, and again on one PostgreSQL database (with_pg.py sets
DEPLOYBOT_TEST_DATABASE_URL; each test makes its own database there)."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import pgcluster  # noqa: E402

DEV = "environments/dev/stack.json"
STG = "environments/stg/stack.json"
PRD = "environments/prd/stack.json"
# Short for the test's sake, yet long enough that a loaded machine (or
# ASan) does not delay a renewal past it.
LEASE_S = 5


def deliver_to(url, doc, delivery):
    body = json.dumps(doc).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
               "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": harness.sign(body)}
    return harness.http("POST", url + "/webhooks/github", body, headers)


def fresh_database(url):
    """A new database on url's server, so that each test starts empty as it
    does with its own SQLite file; returns its URL."""
    name = "replicas_" + uuid.uuid4().hex[:12]
    subprocess.run([os.path.join(pgcluster.PG_BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url,
                    "-c", "CREATE DATABASE " + name], check=True, timeout=60)
    return url.replace("/deploybot?", "/%s?" % name, 1)


class Replicas(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        url = os.environ.get("DEPLOYBOT_TEST_DATABASE_URL")
        if url:
            self.s.edit_config(lambda c: c.update(database_url=fresh_database(url)))
        self.replicas = self.s.start_replicas(3, LEASE_S)

    def tearDown(self):
        for p in self.replicas:
            if p.proc.poll() is None:
                p.proc.send_signal(signal.SIGCONT)
        self.s.close()

    def runs(self, env=None, via=None):
        code, body = self.s.api((via.url if via else self.s.bot_url) + "/api/runs?limit=100" +
                                ("&env=" + env if env else ""))
        self.assertEqual(code, 200, body)
        return json.loads(body)["runs"]

    def live(self):
        return next(p for p in self.replicas if p.proc.poll() is None and not getattr(p, "paused", False))

    def wait_done(self, n, timeout=120):
        def done():
            rs = self.runs(via=self.live())
            return rs if len(rs) >= n and all(r["state"] not in ("queued", "running") for r in rs) else None
        return harness.wait_for(done, timeout, "%d runs done" % n)

    def plan(self, env):
        p = subprocess.run([harness.BIN, "plan", env, "--dir", self.s.repo.path], env=self.s.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        return p.stdout.decode() + p.stderr.decode()

    def test_burst_spread_across_replicas(self):
        s = self.s
        shas, before = [], s.repo.head()
        for i in range(6):
            shas.append(s.repo.edit_json(DEV if i % 2 == 0 else STG,
                                         lambda d, i=i: d["office_cidrs"].append("198.51.%d.0/24" % (100 + i)),
                                         "change %d" % i))
        deliveries = []
        for i, sha in enumerate(shas):
            doc, d = harness.push_payload(shas[i - 1] if i else before, sha), str(uuid.uuid4())
            # Each delivery to one replica, and again (GitHub's redelivery) to another.
            deliveries += [(self.replicas[i % 3].url, doc, d), (self.replicas[(i + 1) % 3].url, doc, d)]
        answers = [None] * len(deliveries)

        def send(k):
            answers[k] = deliver_to(*deliveries[k])
        threads = [threading.Thread(target=send, args=(k,)) for k in range(len(deliveries))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bodies = [json.loads(b) for code, b in answers]
        self.assertTrue(all(code == 202 for code, b in answers), answers)
        self.assertEqual(sum(1 for b in bodies if b.get("duplicate")), 6, bodies)  # each delivery queued once
        runs = self.wait_done(6)
        self.assertEqual(len(runs), 6, runs)  # one run per commit and environment, none twice
        self.assertEqual(sorted((r["sha"], r["env"]) for r in runs),
                         sorted((sha, "dev" if i % 2 == 0 else "stg") for i, sha in enumerate(shas)))
        for env in ("dev", "stg"):
            done = sorted((r["started_ms"], r["finished_ms"]) for r in runs
                          if r["env"] == env and r["started_ms"])
            for (s0, f0), (s1, f1) in zip(done, done[1:]):
                self.assertLessEqual(f0, s1, "two runs of %s at once: %s" % (env, done))
        # Every commit has its final status, and the branch head (stg's) is
        # applied: deliveries racing each other queue runs out of commit
        # order, the newest queued apply supersedes the others, even the
        # head's, and an older commit skipped as not the head queues the
        # head's apply again (store_run_requeue_head).
        for i, sha in enumerate(shas):
            st = s.wait_status(sha, "deploybot/" + ("dev" if i % 2 == 0 else "stg"))
            self.assertEqual(st["state"], "success", st)
        self.assertEqual(next(r["state"] for r in runs if r["sha"] == shas[-1]), "succeeded", runs)
        self.assertNotIn("failed", [r["state"] for r in runs], runs)
        for env in ("dev", "stg"):
            vpcs = s.ec2().describe_vpcs(Filters=[{"Name": "tag:deploybot:stack", "Values": [env]}])["Vpcs"]
            self.assertLessEqual(len(vpcs), 1)  # nothing created twice

    def apply_prd_slowly(self):
        """Pushes a change of prd with its second subnet's creation slowed;
        returns (commit, run, the replica applying it) once it is there."""
        s = self.s
        base = s.repo.head()
        sha = s.repo.edit_json(PRD, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "prd")
        harness.fault(s.aws_url, action="CreateSubnet", delay_ms=2500, count=2, error=None, after=1, apply=True)
        code, body = deliver_to(self.replicas[0].url, harness.push_payload(base, sha), str(uuid.uuid4()))
        self.assertEqual(code, 202, body)
        marker = "subnet.public_b: create..."
        applying = harness.wait_for(lambda: next((p for p in self.replicas if marker in p.output()), None),
                                    60, "a replica applying prd")
        run = self.runs("prd")[0]
        self.assertEqual(run["state"], "running")
        return sha, run, applying

    def converged(self, sha, run_id):
        s = self.s
        st = s.wait_status(sha, "deploybot/prd")
        self.assertEqual(st["state"], "success", st)
        run = harness.wait_for(lambda: next((r for r in self.runs("prd", via=self.live())
                                             if r["id"] == run_id and r["state"] == "succeeded"), None),
                               60, "the run recorded")
        self.assertEqual(run["attempts"], 2, run)
        self.assertEqual(len(self.runs("prd", via=self.live())), 1)
        self.assertIn("No changes", self.plan("prd"))
        return run

    def test_kill_9_of_the_applying_replica(self):
        sha, run, applying = self.apply_prd_slowly()
        applying.proc.kill()
        applying.proc.wait()
        self.converged(sha, run["id"])
        # The run page's log, whichever replica serves it, with the same token.
        for p in self.replicas:
            if p is not applying:
                code, body = self.s.api(p.url + "/api/runs/%d" % run["id"])
                self.assertEqual(code, 200, body)
                self.assertIn("attempt 2", json.loads(body)["log"])

    def stop_outside_a_write(self, p):
        """SIGSTOP p where it holds no write lock of the SQLite file: stopped
        inside a write it would hold up every replica's writes until SIGCONT
        (SQLite has one writer at a time; README "High availability")."""
        p.paused = True
        for _ in range(100):
            p.proc.send_signal(signal.SIGSTOP)
            if os.environ.get("DEPLOYBOT_TEST_DATABASE_URL"):
                return
            con = sqlite3.connect(os.path.join(self.s.data_dir, "deploybot.db"), timeout=0.5)
            try:
                con.execute("BEGIN IMMEDIATE")
                con.rollback()
                return
            except sqlite3.OperationalError:
                p.proc.send_signal(signal.SIGCONT)
                time.sleep(0.02)
            finally:
                con.close()
        self.fail("the replica always held the write lock")

    def test_sigstop_past_the_lease_is_fenced(self):
        s = self.s
        sha, run, paused = self.apply_prd_slowly()
        self.stop_outside_a_write(paused)
        self.converged(sha, run["id"])
        taken = self.runs("prd", via=self.live())[0]
        last = max([c["seq"] for c in s.aws_calls()] or [0])
        paused.proc.send_signal(signal.SIGCONT)
        paused.paused = False
        harness.wait_for(lambda: "lost the lease" in paused.output(), 60, "the paused replica stopping")
        harness.wait_for(lambda: re.search(r"lost to fence [2-9]", paused.output()), 30, "its late log line refused")
        self.assertEqual([c for c in s.aws_calls() if c["seq"] > last], [])  # no AWS call after SIGCONT
        after = self.runs("prd", via=paused)[0]
        self.assertEqual((after["state"], after["result"], after["finished_ms"]),
                         (taken["state"], taken["result"], taken["finished_ms"]))
        code, body = s.api(paused.url + "/api/runs/%d" % run["id"])
        self.assertNotIn("lost the lease", json.loads(body)["log"])
        self.assertIn("No changes", self.plan("prd"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
