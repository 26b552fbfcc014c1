#!/usr/bin/python3
"""deploybot benchmarks (GitHub issue #6). Run through bench/run.sh, which
builds the Release binaries this script drives; never part of the tests.

Phases, all on 127.0.0.1, bounded in count and time:
  burst   the real `deploybot serve` (own data dir) takes N signed push
          deliveries at fixed concurrency (bench/burst.c); every delivery it
          acknowledged must be a job in its SQLite queue (lost = 0, or FAILED);
          beside each burst bench/sqlite_baseline.c (raw SQLite, one
          transaction per delivery, same disk): ratio_to_sqlite_baseline;
          then an open-loop load at half the measured maximum:
          open_loop_p99_ms
  burst_slow_clients  the same burst while 200 slow clients hold
          connections (headers dribbled a byte a second, reconnecting when
          the bot closes them): throughput against the plain burst (goal
          >= 0.8), lost = 0, the bot's RSS (goal < 200 MiB)
  plan    push -> plan latency for the prd stack against the fake AWS, until
          the statuses are on the fake GitHub, split with the bot's "timings:"
          log lines (bot/job.c) and bench/plan_bench.c; AWS calls per plan
          (empty account, then deployed), next to the resource count
  apply   one full-stack apply, with the bot's RSS sampled throughout, against
          the fake's timing profile (tests/fakes/awsfake/timing.py, fixed
          figures scaled by --timing-scale) and EC2's throttling: its wall time
          over the critical path (the longest chain of the stack's dependency
          graph, each create weighted by what the profile makes it wait for)
          and the operations that failed for throttling (goals <= 1.15, 0)
  plan_rtt  (with plan, after apply) the deployed prd stack planned in
          process while the fake answers every call --latency-ms late: the
          plan's wall time in those latencies (goal <= 4)
  memory  VmRSS / VmHWM of the bot after start, burst, apply
  notify  (with plan/apply) each commit status from the outbox to the fake
          GitHub: outbox_to_host_p50_ms
  fetch   libgit2 incremental fetch + diff (bench/fetch_bench.c) vs the git
          CLI (git fetch + git diff --name-only) vs fresh clones, on a
          generated repository with a long history (git fast-import), over
          git:// (git daemon on 127.0.0.1) and over a local path; first
          clones from a local path and file:// against `git clone --bare`:
          local_clone_ratio, clone_rss_mib

Prints a table and writes the same figures as JSON (bench/results/latest.json).
Exit status 1 if a check failed (lost deliveries, a plan or apply that failed).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
PROD_ENV = "prd"
CONTEXT = "deploybot/" + PROD_ENV
STACK_FILE = "environments/%s/stack.json" % PROD_ENV
# The bot's timings lines (bot/job.c): one per webhook job, one per run.
JOB_TIMINGS = re.compile(r"\[job (\d+)\] timings: fetch=([\d.]+)ms diff=([\d.]+)ms")
RUN_TIMINGS = re.compile(r"\[run (\d+) (\S+)\] timings: prepare=([\d.]+)ms discover_plan=([\d.]+)ms "
                         r"apply=([\d.]+)ms notify=([\d.]+)ms")
PLAN_LINE = re.compile(r"^\[run (\d+) (\S+)\]   (\+|~|-/\+|-) ([A-Za-z0-9_]+)\.\S+ ")


# ---- small helpers ----------------------------------------------------------

def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def median(xs):
    return round(statistics.median(xs), 2) if xs else None


def run(argv, **kw):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def timed(argv, **kw):
    t = time.perf_counter()
    run(argv, **kw)
    return (time.perf_counter() - t) * 1e3


def proc_status(pid):
    """VmRSS and VmHWM of a process, in MiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":")
                out[k] = round(int(v.split()[0]) / 1024, 1)
    return {"rss_mib": out.get("VmRSS"), "hwm_mib": out.get("VmHWM")}


def reset_peak(pid):
    """Resets VmHWM to the current RSS (Linux >= 4.0), so a phase has its own peak."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class RssSampler(threading.Thread):
    """Samples VmRSS every few ms while a phase runs (peak and time series)."""

    def __init__(self, pid, every_s=0.01):
        super().__init__(daemon=True)
        self.pid, self.every, self.max, self.stop_ev = pid, every_s, 0.0, threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            try:
                self.max = max(self.max, proc_status(self.pid)["rss_mib"] or 0)
            except OSError:
                return
            time.sleep(self.every)

    def stop(self):
        self.stop_ev.set()
        self.join()
        return self.max


def machine(workdir):
    def first(path, key):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return None

    def cmd(argv):
        try:
            return run(argv).stdout.decode().strip()
        except (OSError, subprocess.CalledProcessError):
            return None
    mem_kib = first("/proc/meminfo", "MemTotal")
    os_name = None
    try:
        with open("/etc/os-release") as f:
            os_name = dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l).get("PRETTY_NAME", "").strip('"')
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": first("/proc/cpuinfo", "model name"),
        "ram_gib": round(int(mem_kib.split()[0]) / 1024 / 1024, 1) if mem_kib else None,
        "kernel": platform.release(),
        "os": os_name,
        "workdir_fs": (cmd(["df", "--output=fstype", workdir]) or "").split()[-1:] and cmd(["df", "--output=fstype", workdir]).split()[-1],
        "git": cmd(["git", "--version"]),
        "libgit2": cmd(["pkg-config", "--modversion", "libgit2"]),
        "sqlite": sqlite3.sqlite_version,
    }


def cmake_cache(build_dir):
    """How the measured binaries were built (build type, extra flags)."""
    out = {}
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                for key in ("CMAKE_BUILD_TYPE", "CMAKE_C_FLAGS", "CMAKE_C_COMPILER"):
                    if line.startswith(key + ":"):
                        out[key] = line.split("=", 1)[1].strip()
    except OSError:
        pass
    return out


# ---- the bot's world: fakes, config repo, bot -------------------------------

def import_harness(build_dir):
    os.environ["DEPLOYBOT_BIN"] = os.path.join(build_dir, "deploybot")
    os.environ.setdefault("DEPLOYBOT_SOURCE_DIR", SRC)
    os.environ.setdefault("DEPLOYBOT_FIXTURES", os.path.join(SRC, "..", "shared", "fixtures"))
    sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
    import harness
    return harness


class BotLog:
    """Reads the bot's log incrementally (it grows by thousands of lines)."""

    def __init__(self, path):
        self.path, self.offset, self.lines = path, 0, []
        self.jobs, self.runs = {}, {}   # id -> timings, indexed as lines arrive

    def poll(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        new = data[:end].decode("utf-8", "replace").splitlines()
        self.lines.extend(new)
        for line in new:
            if " timings: " not in line:
                continue
            m = JOB_TIMINGS.search(line)
            if m:
                self.jobs[int(m.group(1))] = {"fetch": float(m.group(2)), "diff": float(m.group(3))}
            m = RUN_TIMINGS.search(line)
            if m:
                keys = ("prepare", "discover_plan", "apply", "notify")
                self.runs[int(m.group(1))] = {k: float(v) for k, v in zip(keys, m.groups()[2:])}
        return new

    def job_timings(self, job):
        return self.jobs.get(job)

    def run_timings(self, run_id):
        return self.runs.get(run_id)

    def plan_types(self, run_id, env):
        """{resource type: count} of the changes in the plan that run logged."""
        out = {}
        for line in self.lines:
            m = PLAN_LINE.match(line)
            if m and int(m.group(1)) == run_id and m.group(2) == env:
                out[m.group(4)] = out.get(m.group(4), 0) + 1
        return out


class World:
    def __init__(self, harness, workdir, args):
        self.h = harness
        self.args = args
        # The waiters' schedule (100 ms doubling to 10 s) scaled as the fake's
        # timing profile is, as a test would.
        schedule = {"DEPLOYBOT_WAIT_FIRST_POLL_MS": str(max(1, round(100 * args.timing_scale))),
                    "DEPLOYBOT_WAIT_MAX_POLL_MS": str(max(1, round(10000 * args.timing_scale)))}

        class Stack(harness.Stack):
            def env(s):
                e = harness.Stack.env(s)
                del e["DEPLOYBOT_WAIT_POLL_MS"]
                e.update(schedule)
                e["AWS_EC2_METADATA_DISABLED"] = "true"           # 127.0.0.1 only
                return e
        self.s = Stack(workdir=workdir, start_bot=False)
        self.s.start_bot()
        self.pid = self.s.bot.proc.pid
        self.log = BotLog(self.s.bot.log_path)
        self.db = os.path.join(self.s.data_dir, "deploybot.db")

    def close(self):
        self.s.close()

    # queue -------------------------------------------------------------------
    def query(self, sql, *params):
        con = sqlite3.connect(self.db, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def wait_jobs_finished(self, pattern, count, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            n = self.query("SELECT count(*) FROM jobs WHERE delivery LIKE ? AND state IN ('done','failed')",
                           pattern)[0][0]
            if n >= count:
                return True
            time.sleep(0.05)
        return False

    # AWS fake ----------------------------------------------------------------
    def aws_calls(self):
        code, body = self.h.http("GET", self.s.aws_url + "/_fake/calls")
        assert code == 200, body
        return json.loads(body)

    def reset_aws_calls(self):
        self.h.http("DELETE", self.s.aws_url + "/_fake/calls")

    def aws_call_log(self):
        code, body = self.h.http("GET", self.s.aws_url + "/_fake/calls/log")
        assert code == 200, body
        return json.loads(body)

    def configure_aws(self, **fields):
        code, body = self.h.http("POST", self.s.aws_url + "/_fake/config", json.dumps(fields).encode(),
                                 {"Content-Type": "application/json"})
        assert code == 200, body

    def tagged_in_fake(self, env):
        """{kind: count} of fake AWS objects carrying deploybot:stack=<env>,
        whatever the service (resources without tags are not counted)."""
        code, body = self.h.http("GET", self.s.aws_url + "/_fake/state")
        out = {}

        def tagged(item):
            text = json.dumps(item)
            return '"deploybot:stack"' in text and re.search(
                r'"deploybot:stack"[^{}]*"%s"' % re.escape(env), text)
        for service, kinds in json.loads(body).items():
            if not isinstance(kinds, dict):
                continue
            for kind, items in kinds.items():
                if isinstance(items, dict):
                    items = list(items.values())
                n = sum(1 for i in items if isinstance(i, dict) and tagged(i)) if isinstance(items, list) else 0
                if n:
                    out["%s/%s" % (service, kind)] = n
        return out

    # config repo -------------------------------------------------------------
    def commit_prd_change(self, branch, n):
        """A commit on `branch` (made from main) that changes prd's stack.json."""
        g, repo = self.h.git, self.s.repo
        g(repo.path, "checkout", "-q", "-B", branch, "main")
        sha = repo.edit_json(STACK_FILE, lambda d: d["office_cidrs"].append("198.51.100.%d/32" % n),
                             "bench: prd change %d" % n)
        g(repo.path, "checkout", "-q", "main")
        return sha

    def main_head(self):
        return self.h.git(self.s.repo.path, "rev-parse", "main")

    # one delivery, end to end --------------------------------------------------
    def push_and_wait(self, before, after, branch, timeout):
        """Delivers a push and waits until the fake GitHub has the final
        status of its prd run (statuses go through the bot's outbox, so the
        bot's timings line comes first). Times are from sending the delivery."""
        doc = self.h.push_payload(before, after, ref="refs/heads/" + branch)
        self.log.poll()
        t0 = time.perf_counter()
        code, body = self.s.deliver("push", doc)
        ack_ms = (time.perf_counter() - t0) * 1e3
        assert code == 202, (code, body)
        job = json.loads(body)["job"]
        deadline = time.time() + timeout
        run_id = run_done = pending_seen = final = None
        while final is None:
            self.log.poll()
            now = (time.perf_counter() - t0) * 1e3
            if run_id is None and self.log.job_timings(job):  # dispatched: its runs follow
                rows = self.query("SELECT id FROM runs WHERE job_id = ? AND env = ?", job, PROD_ENV)
                run_id = rows[0][0] if rows else None
            if run_done is None and run_id is not None and self.log.run_timings(run_id):
                run_done = now
            st = self.s.latest_status(after, CONTEXT)
            if st and pending_seen is None:
                pending_seen = now
            if st and st["state"] != "pending" and run_done is not None:
                final = st
                break
            if time.time() > deadline:
                raise AssertionError("job %d (run %s): no final %s status within %d s:\n%s" % (
                    job, run_id, CONTEXT, timeout, "\n".join(self.log.lines[-20:])))
            time.sleep(0.003)
        e2e_ms = (time.perf_counter() - t0) * 1e3
        statuses = [x["state"] for x in self.s.statuses(after) if x["context"] == CONTEXT]
        created, started = self.query("SELECT created_ms, started_ms FROM runs WHERE id = ?", run_id)[0]
        timings = dict(self.log.job_timings(job), **self.log.run_timings(run_id))
        timings["run_queue"] = float(started - created)
        timings["status_delivery"] = round(e2e_ms - run_done, 2)  # outbox -> fake GitHub
        return {"job": job, "run": run_id, "ack_ms": round(ack_ms, 2), "e2e_ms": round(e2e_ms, 2),
                "pending_visible_ms": round(pending_seen, 2), "run_done_ms": round(run_done, 2),
                "timings": timings, "state": final["state"], "description": final["description"],
                "statuses": list(reversed(statuses))}


# ---- phases -------------------------------------------------------------------

def one_burst(w, args, build_dir, workdir, body_path, n, rate=None, requests=None, concurrency=None):
    """One burst; every acknowledged delivery must be a job under the job id
    it was given, and the worker must get through all of them. With a rate
    (deliveries/s) the load is open-loop (bench/burst.c)."""
    prefix = "bench-%s" % uuid.uuid4().hex[:12]
    ids_path = os.path.join(workdir, "burst-%d.txt" % n)
    env = dict(os.environ, DEPLOYBOT_WEBHOOK_SECRET=w.h.SECRET)
    requests, concurrency = requests or args.requests, concurrency or args.concurrency
    if rate:
        log("open loop: %d deliveries offered at %.0f/s, up to %d connections" % (requests, rate, concurrency))
    else:
        log("burst %d/%d: %d deliveries, %d in flight" % (n + 1, args.burst_repeats, requests, concurrency))
    t0 = time.time()
    out = run([os.path.join(build_dir, "bench", "burst"), w.s.bot_url + "/webhooks/github", body_path,
               str(requests), str(concurrency), prefix, ids_path] + (["%.1f" % rate] if rate else []),
              env=env, timeout=300)
    b = json.loads(out.stdout)
    b["rss_right_after_mib"] = proc_status(w.pid)["rss_mib"]
    with open(ids_path) as f:
        per = [l.split() for l in f if l.strip()]  # delivery status job start_ms latency_ms
    acked = {d: int(job) for d, _, job, _, _ in per if int(job) > 0}
    rows = dict(w.query("SELECT delivery, id FROM jobs WHERE delivery LIKE ?", prefix + "-%"))
    lost = sorted(d for d, job in acked.items() if rows.get(d) != job)
    b.update({"acknowledged": len(acked), "jobs_in_queue": len(rows), "lost": len(lost),
              "lost_examples": lost[:5], "refused": requests - len(acked),
              "acks_over_100ms": sum(1 for p in per if float(p[4]) > 100),
              "acks_over_250ms": sum(1 for p in per if float(p[4]) > 250)})
    drained = w.wait_jobs_finished(prefix + "-%", len(rows), args.drain_timeout)
    drain_s = time.time() - t0
    b["drain_s"] = round(drain_s, 2) if drained else None
    b["worker_jobs_per_s"] = round(len(rows) / drain_s, 1) if drained else None
    b["job_states"] = dict(w.query("SELECT state, count(*) FROM jobs WHERE delivery LIKE ? GROUP BY state",
                                   prefix + "-%"))
    b["verdict"] = "ok" if not lost and drained else "FAILED"
    return b


def phase_burst(w, args, build_dir, workdir, results):
    h, s = w.h, w.s
    head = w.main_head()
    # Warm-up: the first job clones the mirror; keep that out of the burst.
    code, body = s.deliver("push", h.push_payload(head, head), delivery="bench-warmup-" + uuid.uuid4().hex)
    assert code == 202, body
    assert w.wait_jobs_finished("bench-warmup-%", 1, 60), "warm-up job did not finish"
    results["memory"]["after_warmup"] = proc_status(w.pid)

    # The burst's jobs: pushes to main with before == after, so the worker's
    # part is cheap (mirror has the commit, read deploybot.json, empty diff,
    # no environment touched, no AWS or GitHub call).
    body_path = os.path.join(workdir, "burst-push.json")
    with open(body_path, "wb") as f:
        f.write(json.dumps(h.push_payload(head, head)).encode())
    reset_peak(w.pid)
    sampler = RssSampler(w.pid)
    sampler.start()
    # The baseline runs beside each burst (same disk, same moment): the
    # disk's fsyncs per second move with the machine's load.
    bursts, baselines = [], []
    for n in range(args.burst_repeats):
        baselines.append(sqlite_baseline(build_dir, os.path.dirname(w.db), body_path, args.requests, n))
        bursts.append(one_burst(w, args, build_dir, workdir, body_path, n))
    peak = sampler.stop()

    def med(f):
        return median([f(b) for b in bursts])
    summary = {
        "requests": args.requests, "concurrency": args.concurrency, "repeats": len(bursts),
        "body_bytes": bursts[0]["body_bytes"],
        "jobs": "push to main with before == after: no environment touched (fetch skipped, "
                "deploybot.json read, empty diff; no run, no AWS/GitHub call)",
        "throughput_rps": med(lambda b: b["throughput_rps"]),
        "wall_ms": med(lambda b: b["wall_ms"]),
        "latency_ms": {k: med(lambda b: b["latency_ms"][k]) for k in ("p50", "p90", "p99", "max")},
        "latency_ms_worst_max": max(b["latency_ms"]["max"] for b in bursts),
        "acknowledged": sum(b["acknowledged"] for b in bursts),
        "jobs_in_queue": sum(b["jobs_in_queue"] for b in bursts),
        "lost": sum(b["lost"] for b in bursts),
        "refused": sum(b["refused"] for b in bursts),
        "transport_errors": sum(b["transport_errors"] for b in bursts),
        "drain_s": med(lambda b: b["drain_s"] or 0),
        "worker_jobs_per_s": med(lambda b: b["worker_jobs_per_s"] or 0),
        "verdict": "ok" if all(b["verdict"] == "ok" for b in bursts) else "FAILED",
        "each": bursts,
        "sqlite_baseline": {
            "what": "raw SQLite, the store's schema, pragmas and two INSERTs, one transaction per "
                    "delivery, the same bodies, on the data_dir's disk, beside each burst",
            "inserts_per_s": median([x["inserts_per_s"] for x in baselines]),
            "p50_ms": median([x["p50_ms"] for x in baselines]),
            "p99_ms": median([x["p99_ms"] for x in baselines]), "each": baselines},
    }
    base = summary["sqlite_baseline"]["inserts_per_s"]
    summary["ratio_to_sqlite_baseline"] = round(summary["throughput_rps"] / base, 3) if base else None
    # Open loop: half the measured maximum, offered at a fixed rate for about
    # open_loop_s seconds, latency counted from when each delivery was due.
    rate = args.open_loop_rate or max(1.0, summary["throughput_rps"] / 2)
    ol = one_burst(w, args, build_dir, workdir, body_path, 50, rate=rate,
                   requests=max(50, min(50000, int(rate * args.open_loop_s))), concurrency=256)
    summary["open_loop"] = {k: ol[k] for k in ("requests", "offered_rps", "throughput_rps", "latency_ms",
                                                "acknowledged", "lost", "refused", "verdict")}
    summary["open_loop_p99_ms"] = ol["latency_ms"]["p99"]
    summary["lost"] += ol["lost"]
    if ol["verdict"] != "ok":
        summary["verdict"] = "FAILED"
    summary["goals"] = {"ratio_to_sqlite_baseline": ">= 2.0", "open_loop_p99_ms": "<= 10", "lost": 0}
    results["burst"] = summary
    time.sleep(0.5)
    results["memory"]["burst_peak"] = {"hwm_mib": proc_status(w.pid)["hwm_mib"], "sampled_max_mib": peak}
    results["memory"]["after_burst_drained"] = proc_status(w.pid)


def sqlite_baseline(build_dir, data_dir, body_path, n, i):
    """bench/sqlite_baseline: N single-delivery transactions into a fresh
    database next to the bot's (the same disk)."""
    db = os.path.join(data_dir, "baseline-%d.db" % i)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    log("sqlite baseline %d: %d single-delivery transactions" % (i + 1, n))
    out = run([os.path.join(build_dir, "bench", "sqlite_baseline"), db, body_path, str(n)], timeout=600)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    return json.loads(out.stdout)


class SlowClients(threading.Thread):
    """N connections that send request headers a byte a second and never
    finish them; each one the bot closes is opened again at once."""

    def __init__(self, port, n):
        super().__init__(daemon=True)
        self.port, self.n, self.stop_ev = port, n, threading.Event()
        self.closed_by_bot = 0
        self.socks = []

    def open_one(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow: ")
        s.setblocking(False)
        return s

    def run(self):
        self.socks = [self.open_one() for _ in range(self.n)]
        while not self.stop_ev.wait(1.0):
            for i, s in enumerate(self.socks):
                try:
                    s.send(b"a")
                    if s.recv(4096) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    continue
                except OSError:
                    s.close()
                    self.closed_by_bot += 1
                    self.socks[i] = self.open_one()

    def stop(self):
        self.stop_ev.set()
        self.join()
        for s in self.socks:
            s.close()


def phase_burst_slow(w, args, build_dir, workdir, results):
    """The burst again, with 200 slow clients holding connections."""
    if "burst" not in results:
        phase_burst(w, args, build_dir, workdir, results)
    head = w.main_head()
    body_path = os.path.join(workdir, "burst-push.json")
    with open(body_path, "wb") as f:
        f.write(json.dumps(w.h.push_payload(head, head)).encode())
    slow = SlowClients(int(w.s.bot_url.rsplit(":", 1)[1]), args.slow_clients)
    slow.start()
    log("burst with %d slow clients" % args.slow_clients)
    time.sleep(1.0)
    reset_peak(w.pid)
    sampler = RssSampler(w.pid)
    sampler.start()
    bursts = [one_burst(w, args, build_dir, workdir, body_path, 100 + n) for n in range(args.burst_repeats)]
    peak = sampler.stop()
    slow.stop()
    rps = median([b["throughput_rps"] for b in bursts])
    plain = results["burst"]["throughput_rps"]
    out = {
        "slow_clients": args.slow_clients, "requests": args.requests, "concurrency": args.concurrency,
        "repeats": len(bursts), "deliveries_per_s": rps,
        "ratio_to_burst": round(rps / plain, 3) if plain else None,
        "latency_ms": {k: median([b["latency_ms"][k] for b in bursts]) for k in ("p50", "p99", "max")},
        "acknowledged": sum(b["acknowledged"] for b in bursts),
        "lost": sum(b["lost"] for b in bursts), "refused": sum(b["refused"] for b in bursts),
        "slow_connections_closed_by_bot": slow.closed_by_bot,
        "rss_mib": peak, "hwm_mib": proc_status(w.pid)["hwm_mib"],
        "goals": {"ratio_to_burst": ">= 0.8", "lost": 0, "rss_mib": "< 200"},
    }
    out["verdict"] = "ok" if all(b["verdict"] == "ok" for b in bursts) and out["refused"] == 0 else "FAILED"
    results["burst_slow_clients"] = out


def plan_in_process(w, build_dir, rounds, env=None):
    """bench/plan_bench.c's rounds for prd (its split of one plan), or {"error"}."""
    stack_path = os.path.join(w.s.repo.path, STACK_FILE)
    out = subprocess.run([os.path.join(build_dir, "bench", "plan_bench"), PROD_ENV, stack_path,
                          str(rounds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(w.s.env(), **(env or {})), timeout=300)
    got = [json.loads(l) for l in out.stdout.decode().splitlines() if l.strip()]
    if out.returncode != 0 or not got or "error" in got[-1]:
        return {"error": (got[-1].get("error") if got else out.stderr.decode()[-300:])}
    return got


def phase_plan_rtt(w, args, build_dir, results):
    """The deployed prd stack planned in process, every AWS call answered
    --latency-ms late: wall time (validate to render) in latencies."""
    log("plan: deployed prd, every AWS call %d ms late" % args.latency_ms)
    w.configure_aws(latency_ms=args.latency_ms)
    try:
        rounds = plan_in_process(w, build_dir, args.plan_runs)
    finally:
        w.configure_aws(latency_ms=0)
    if "error" in rounds:
        results["plan"]["rtt"] = {"ok": False, "error": rounds["error"]}
        return
    keys = ("validate_ms", "client_ms", "discover_ms", "build_ms", "render_ms")
    wall = median([sum(r[k] for k in keys) for r in rounds])
    results["plan"]["rtt"] = {"ok": True, "latency_ms": args.latency_ms, "wall_ms": wall,
                              "aws_requests": rounds[-1]["aws_requests"], "actual": rounds[-1]["actual"],
                              "goal": "<= 4"}
    results["plan"]["rtt_multiple"] = round(wall / args.latency_ms, 2)


def plan_series(w, args, label, build_dir, results):
    """args.plan_runs pushes on a non-deploy branch: plan only, status posted."""
    runs = []
    for i in range(args.plan_runs):
        sha = w.commit_prd_change("bench-plan", 100 + len(results["plan"]) * 10 + i)
        w.reset_aws_calls()
        r = w.push_and_wait(w.main_head(), sha, "bench-plan", args.job_timeout)
        r["aws_calls"] = w.aws_calls()
        r["plan_types"] = w.log.plan_types(r["run"], PROD_ENV)
        runs.append(r)
    ok = all(r["state"] == "success" for r in runs)
    calls = [sum(r["aws_calls"].values()) for r in runs]
    t = [r["timings"] for r in runs]
    summary = {
        "runs": len(runs), "ok": ok, "description": runs[-1]["description"],
        "statuses_posted": runs[-1]["statuses"],
        "e2e_ms": {"median": median([r["e2e_ms"] for r in runs]), "max": max(r["e2e_ms"] for r in runs)},
        "ack_ms": median([r["ack_ms"] for r in runs]),
        "pending_visible_ms": median([r["pending_visible_ms"] for r in runs]),
        "split_ms": {k: median([x[k] for x in t]) for k in
                     ("fetch", "diff", "run_queue", "prepare", "discover_plan", "notify", "status_delivery")},
        "aws_calls_per_plan": median(calls),
        "aws_calls_by_action": runs[-1]["aws_calls"],
        "planned_changes_by_type": runs[-1]["plan_types"],
    }
    summary["split_ms"]["other"] = round(
        summary["e2e_ms"]["median"] - sum(summary["split_ms"].values()), 2)
    # The in-process split of discover_plan, same stack, same fake account.
    rounds = plan_in_process(w, build_dir, args.plan_runs)
    if "error" in rounds:
        summary["in_process"] = rounds
        summary["ok"] = False
    else:
        summary["in_process"] = {k: median([r[k] for r in rounds]) for k in
                                 ("validate_ms", "client_ms", "discover_ms", "build_ms", "render_ms")}
        for k in ("desired", "actual", "add", "change", "destroy", "aws_requests"):
            summary["in_process"][k] = rounds[-1][k]
    results["plan"][label] = summary


def timing_profile():
    """The fake's timing profile (tests/fakes/awsfake/timing.py): the one table."""
    sys.path.insert(0, os.path.join(SRC, "tests", "fakes"))
    from awsfake import timing
    return timing.PROFILE


# What a create waits for before its dependents may start: the profile's row.
CREATE_WAITS = {"instance": "instance-running", "volume": "volume-available",
                "volume_attachment": "volume-attachment", "nat_gateway": "nat-gateway-available",
                "load_balancer": "load-balancer-active", "dns_record": "dns-change-insync"}


def critical_path(build_dir, stack_path, scale):
    """The longest chain of the stack's dependency graph (bench/plan_bench.c
    graph: a create waits for the creates it refers to), each resource
    weighted by the profile's fixed time for its create, scaled: (ms, chain)."""
    out = run([os.path.join(build_dir, "bench", "plan_bench"), PROD_ENV, stack_path, "graph"], timeout=60)
    graph = {r["id"]: r for r in json.loads(out.stdout)["resources"]}
    profile = timing_profile()
    memo = {}

    def longest(rid):
        if rid not in memo:
            r = graph[rid]
            kind = CREATE_WAITS.get(r["type"])
            own = profile[kind][2] * scale * 1000 if kind else 0.0
            best = max((longest(d) for d in r["refs"] if d in graph), default=(0.0, []), key=lambda x: x[0])
            memo[rid] = (own + best[0], best[1] + [rid])
        return memo[rid]
    ms, chain = max((longest(rid) for rid in graph), key=lambda x: x[0])
    return round(ms, 1), chain


def phase_apply(w, args, build_dir, results):
    sha = w.s.repo.edit_json(STACK_FILE, lambda d: d["office_cidrs"].append("198.51.100.0/24"),
                             "bench: deploy prd")
    before = w.h.git(w.s.repo.path, "rev-parse", "HEAD~1")
    critical_ms, chain = critical_path(build_dir, os.path.join(w.s.repo.path, STACK_FILE), args.timing_scale)
    w.configure_aws(timing="fixed", timing_scale=args.timing_scale, throttle=True)
    w.reset_aws_calls()
    reset_peak(w.pid)
    sampler = RssSampler(w.pid, 0.005)
    sampler.start()
    log("apply: prd, full stack, timing profile x %g, throttling on" % args.timing_scale)
    try:
        r = w.push_and_wait(before, sha, "main", args.apply_timeout)
    finally:
        w.configure_aws(timing="off", throttle=False)
    peak = sampler.stop()
    r["aws_calls"] = w.aws_calls()
    throttled = [c for c in w.aws_call_log() if c["error"] == "RequestLimitExceeded"]
    apply = {
        "ok": r["state"] == "success" and "Apply complete" in (r["description"] or ""),
        "description": r["description"], "e2e_ms": r["e2e_ms"], "split_ms": r["timings"],
        "aws_calls": sum(r["aws_calls"].values()), "aws_calls_by_action": r["aws_calls"],
        "planned_changes_by_type": w.log.plan_types(r["run"], PROD_ENV),
        "tagged_in_fake_after": w.tagged_in_fake(PROD_ENV),
        "timing_scale": args.timing_scale,
        "critical_path_ms": critical_ms, "critical_path": chain,
        "critical_path_ratio": round(r["timings"]["apply"] / critical_ms, 3) if critical_ms else None,
        "throttled_calls": len(throttled),
        "throttled_failures": sum(1 for l in w.log.lines if "[run %d " % r["run"] in l
                                  and " failed: RequestLimitExceeded" in l),
        "goals": {"critical_path_ratio": "<= 1.15", "throttled_failures": 0},
    }
    results["apply"] = apply
    results["memory"]["apply_peak"] = {"hwm_mib": proc_status(w.pid)["hwm_mib"], "sampled_max_mib": peak}
    time.sleep(0.5)
    results["memory"]["after_apply"] = proc_status(w.pid)


def phase_notify(w, results):
    """Outbox -> host: from the moment each commit status was written to the
    outbox (its created_at) to the moment the fake GitHub received it (the
    request's time in /_fake/requests), over every status of the run."""
    code, body = w.h.http("GET", w.s.github_url + "/_fake/requests")
    assert code == 200, body
    arrived = {}  # (sha, state, context) -> arrival times, in order
    for r in json.loads(body):
        j = r.get("json") or {}
        if r.get("method") == "POST" and "/statuses/" in r.get("path", "") and r.get("status", 0) < 300:
            key = (r["path"].rsplit("/", 1)[1], j.get("state"), j.get("context"))
            arrived.setdefault(key, []).append(r["time"] * 1e3)
    gaps = []
    for created, payload in w.query("SELECT created_at, payload FROM outbox WHERE kind LIKE '%status' "
                                    "AND state = 'sent' ORDER BY id"):
        p = json.loads(payload)
        times = arrived.get((p.get("sha"), p.get("state"), p.get("context")))
        if times:
            gaps.append(times.pop(0) - created)
    gaps.sort()
    results["notify"] = {
        "what": "commit status written to the outbox -> received by the (fake) git host",
        "messages": len(gaps),
        "outbox_to_host_p50_ms": median(gaps),
        "outbox_to_host_p99_ms": round(gaps[int(0.99 * (len(gaps) - 1))], 2) if gaps else None,
        "goals": {"outbox_to_host_p50_ms": "<= 10"},
    }


# ---- fetch cost ------------------------------------------------------------

DEPLOYBOT_JSON = json.dumps({
    "environments": {e: {"folder": "environments/" + e, "branch": "main"} for e in ("dev", "stg", "prd")},
    "shared_paths": ["modules/"]}, indent=2) + "\n"


def fast_import_stream(n_commits, n_files, t0=1700000000):
    """A history of n_commits over n_files (+ the config repo's own files):
    the first commit adds everything, each later one changes one or two files."""
    def blob(path, text):
        data = text.encode()
        return b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data)

    def commit(i, changes):
        msg = b"change %d\n" % i
        head = b"commit refs/heads/main\ncommitter Dev <dev@example.com> %d +0000\ndata %d\n%s" % (
            t0 + i * 60, len(msg), msg)
        return head + b"".join(changes) + b"\n"

    def svc_file(k, rev):
        return "services/svc%03d/file%03d.conf" % (k // 50, k % 50), \
            "service %d\nrevision %d\n%s\n" % (k, rev, "x" * 120)

    first = [blob("deploybot.json", DEPLOYBOT_JSON), blob("modules/dify/user_data.sh", "#!/bin/sh\n")]
    with open(os.path.join(SRC, "deploy-configs", "environments", "prd", "stack.json")) as f:
        stack = f.read()
    for e in ("dev", "stg", "prd"):
        first.append(blob("environments/%s/stack.json" % e, stack))
    for k in range(n_files):
        first.append(blob(*svc_file(k, 0)))
    yield commit(0, first)
    for i in range(1, n_commits):
        k = (i * 7919) % n_files
        changes = [blob(*svc_file(k, i))]
        if i % 10 == 0:
            changes.append(blob(*svc_file((k + 1) % n_files, i)))
        yield commit(i, changes)


def one_more_commit(repo, i):
    """Appends a commit to main changing prd's stack.json and one service file."""
    data = json.loads(run(["git", "-C", repo, "show", "main:" + STACK_FILE]).stdout)
    data["office_cidrs"] = ["198.51.100.%d/32" % (i % 250)]
    text = json.dumps(data, indent=2) + "\n"
    svc = "service 0\nround %d\n" % i
    stream = ("commit refs/heads/main\ncommitter Dev <dev@example.com> %d +0000\ndata 6\nround\n"
              "from refs/heads/main^0\n" % (1800000000 + i)).encode()
    for path, t in ((STACK_FILE, text), ("services/svc000/file000.conf", svc)):
        b = t.encode()
        stream += b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(b), b)
    run(["git", "-C", repo, "fast-import", "--quiet"], input=stream + b"\n")
    return run(["git", "-C", repo, "rev-parse", "main"]).stdout.decode().strip()


def first_clone(build_dir, url, root, name):
    """A first clone by deploybot (fetch_bench opens an empty mirror: its
    time and peak RSS) and by `git clone --bare` (which links a local
    repository's objects), alternately first."""
    lg, cli = os.path.join(root, "clone-libgit2-%s.git" % name), os.path.join(root, "clone-git-%s.git" % name)
    out = {}

    def libgit2():
        p = subprocess.Popen([os.path.join(build_dir, "bench", "fetch_bench"), url, lg],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        p.stdin.close()
        first = json.loads(p.stdout.readline())
        if "error" in first:
            raise AssertionError("fetch_bench: " + first["error"])
        out["first_clone_libgit2_ms"] = round(first["open_ms"], 1)
        out["first_clone_rss_mib"] = proc_status(p.pid)["hwm_mib"]
        p.wait(30)

    def git():
        out["first_clone_git_clone_ms"] = round(timed(["git", "clone", "-q", "--bare", url, cli]), 1)
    for fn in (libgit2, git) if name.startswith("local") else (git, libgit2):
        fn()
    out["first_clone_ratio"] = round(out["first_clone_libgit2_ms"] / out["first_clone_git_clone_ms"], 3)
    return out


class Mirrors:
    """The bot's way (fetch_bench: libgit2, kept open) and the CLI's way
    (git init --bare + git fetch, then git fetch + git diff --name-only) of
    mirroring one URL."""
    REFSPEC = "+refs/heads/*:refs/remotes/origin/*"

    def __init__(self, build_dir, url, root, name):
        self.url = url
        self.lg_dir = os.path.join(root, "mirror-libgit2-%s.git" % name)
        self.cli_dir = os.path.join(root, "mirror-cli-%s.git" % name)
        self.fb = subprocess.Popen([os.path.join(build_dir, "bench", "fetch_bench"), url, self.lg_dir],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = json.loads(self.fb.stdout.readline())
        if "error" in first:
            raise AssertionError("fetch_bench: " + first["error"])
        self.out = {"clone_libgit2_ms": round(first["open_ms"], 1),
                    "clone_libgit2_peak_rss_mib": proc_status(self.fb.pid)["hwm_mib"]}
        t = time.perf_counter()
        run(["git", "init", "-q", "--bare", self.cli_dir])
        run(["git", "-C", self.cli_dir, "fetch", "-q", "--no-tags", url, self.REFSPEC])
        self.out["clone_git_cli_ms"] = round((time.perf_counter() - t) * 1e3, 1)
        if name == "local":
            self.out.update(first_clone(build_dir, url, root, name + "-again"))
        self.rounds = []

    def libgit2(self, before, after):
        self.fb.stdin.write("%s %s\n" % (before, after))
        self.fb.stdin.flush()
        res = json.loads(self.fb.stdout.readline())
        if "error" in res:
            raise AssertionError("fetch_bench: " + res["error"])
        return {"libgit2_fetch_ms": res["fetch_ms"], "libgit2_diff_ms": res["diff_ms"], "libgit2_envs": res["envs"]}

    def cli(self, before, after):
        r = {"cli_fetch_ms": timed(["git", "-C", self.cli_dir, "fetch", "-q", "--prune", "--no-tags",
                                    self.url, self.REFSPEC])}
        t = time.perf_counter()
        names = run(["git", "-C", self.cli_dir, "diff", "--name-only", before, after]).stdout.split()
        r["cli_diff_ms"] = (time.perf_counter() - t) * 1e3
        r["cli_paths"] = len(names)
        return r

    def round(self, i, before, after):
        r = {}
        # Alternate who goes first, so neither always gets the warm page cache.
        for fn in ((self.libgit2, self.cli) if i % 2 == 0 else (self.cli, self.libgit2)):
            r.update(fn(before, after))
        self.rounds.append(r)

    def close(self):
        self.fb.stdin.close()
        self.fb.wait(30)
        f = self.out
        for k in ("libgit2_fetch_ms", "libgit2_diff_ms", "cli_fetch_ms", "cli_diff_ms"):
            f[k] = median([r[k] for r in self.rounds])
        f["libgit2_envs"] = self.rounds[-1]["libgit2_envs"]
        lg = f["libgit2_fetch_ms"] + f["libgit2_diff_ms"]
        cli = f["cli_fetch_ms"] + f["cli_diff_ms"]
        f["libgit2_total_ms"], f["cli_total_ms"] = round(lg, 2), round(cli, 2)
        f["ratio_libgit2_vs_cli"] = round(lg / cli, 3) if cli else None
        f["ratio_incremental_vs_clone_libgit2"] = round(lg / f["clone_libgit2_ms"], 4)
        f["ratio_incremental_vs_clone_cli"] = round(cli / f["clone_git_cli_ms"], 4)
        return f


def phase_fetch(args, build_dir, workdir, results):
    root = os.path.join(workdir, "fetch")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    src = os.path.join(root, "origin.git")
    run(["git", "init", "-q", "--bare", "-b", "main", src])
    log("fetch: generating %d commits over %d files (git fast-import)" % (args.commits, args.files))
    t = time.perf_counter()
    p = subprocess.Popen(["git", "-C", src, "fast-import", "--quiet"], stdin=subprocess.PIPE)
    for chunk in fast_import_stream(args.commits, args.files):
        p.stdin.write(chunk)
    p.stdin.close()
    assert p.wait() == 0, "git fast-import failed"
    run(["git", "-C", src, "repack", "-a", "-d", "-q"])  # a served repo is packed
    gen_s = time.perf_counter() - t
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(src) for f in fs)
    fetch = {"commits": args.commits, "files": args.files + 5, "generate_s": round(gen_s, 1),
             "repo_mib": round(size / 2**20, 1), "rounds": args.fetch_rounds}
    daemon = import_harness(build_dir).GitDaemon(root, "origin.git")
    try:
        log("fetch: fresh clones, then %d rounds of one more commit" % args.fetch_rounds)
        # git:// is the figure (a real remote: the server packs); a local path
        # is what tests and the demo use, and libgit2 packs in-process there.
        mirrors = {"git_protocol": Mirrors(build_dir, daemon.url("origin.git"), root, "git"),
                   "local_path": Mirrors(build_dir, src, root, "local")}
        for i in range(args.fetch_rounds):
            before = run(["git", "-C", src, "rev-parse", "main"]).stdout.decode().strip()
            after = one_more_commit(src, i)
            for m in mirrors.values():
                m.round(i, before, after)
        for name, m in mirrors.items():
            fetch[name] = m.close()
    finally:
        daemon.stop()
    fetch["file_url"] = first_clone(build_dir, "file://" + src, root, "file")
    local = (fetch["local_path"], fetch["file_url"])
    fetch["local_clone_ratio"] = max(x["first_clone_ratio"] for x in local)
    fetch["clone_rss_mib"] = max(x["first_clone_rss_mib"] for x in local)
    fetch["goals"] = {"local_clone_ratio": "<= 2.0 (the worse of a local path and file://, over git clone)"}
    results["fetch"] = fetch


# ---- report ------------------------------------------------------------------

def table(results):
    rows = []

    def add(section, name, value):
        rows.append((section, name, value))
    m = results["machine"]
    add("machine", "host", "%s CPU(s), %s, %s GiB RAM" % (m["nproc"], m["cpu"], m["ram_gib"]))
    add("machine", "kernel / os", "%s / %s" % (m["kernel"], m["os"]))
    add("machine", "workdir fs / versions", "%s / %s, libgit2 %s, SQLite %s" % (
        m["workdir_fs"], m["git"], m["libgit2"], m["sqlite"]))
    bs = results.get("burst_slow_clients")
    if bs:
        add("burst + slow clients", "throughput / ratio to the plain burst", "%.0f deliveries/s / %s (goal >= 0.8)" % (
            bs["deliveries_per_s"], bs["ratio_to_burst"]))
        add("burst + slow clients", "lost / refused / bot RSS peak", "%d / %d / %s MiB (goal < 200)" % (
            bs["lost"], bs["refused"], bs["rss_mib"]))
        add("burst + slow clients", "slow connections closed by the bot", "%d of %d held  -> %s" % (
            bs["slow_connections_closed_by_bot"], bs["slow_clients"], bs["verdict"]))
    b = results.get("burst")
    if b:
        add("burst", "deliveries / in flight", "%d / %d, %d times (%d B body; median of the runs below)" % (
            b["requests"], b["concurrency"], b["repeats"], b["body_bytes"]))
        add("burst", "throughput", "%.0f deliveries/s (each: %s)" % (
            b["throughput_rps"], ", ".join("%.0f" % x["throughput_rps"] for x in b["each"])))
        add("burst", "ack latency p50 / p99 / max", "%.1f / %.1f / %.1f ms (worst max %.1f ms)" % (
            b["latency_ms"]["p50"], b["latency_ms"]["p99"], b["latency_ms"]["max"], b["latency_ms_worst_max"]))
        sb = b["sqlite_baseline"]
        add("burst", "baseline: raw SQLite, 1 transaction each", "%.0f inserts/s (each: %s)" % (
            sb["inserts_per_s"], ", ".join("%.0f" % x["inserts_per_s"] for x in sb["each"])))
        add("burst", "throughput / baseline", "%s (goal >= 2.0)" % b["ratio_to_sqlite_baseline"])
        ol = b["open_loop"]
        add("burst", "open loop at half the maximum", "%.0f/s offered: ack p50 / p99 %.1f / %.1f ms (goal p99 <= 10)" % (
            ol["offered_rps"], ol["latency_ms"]["p50"], ol["latency_ms"]["p99"]))
        add("burst", "acknowledged / in queue / lost", "%d / %d / %d  -> %s" % (
            b["acknowledged"], b["jobs_in_queue"], b["lost"], b["verdict"]))
        add("burst", "refused (non-202) / transport errors", "%d / %d" % (b["refused"], b["transport_errors"]))
        add("burst", "worker drained the burst in", "%s s (%s jobs/s)" % (b["drain_s"], b["worker_jobs_per_s"]))
    for label in ("empty_account", "deployed"):
        p = results.get("plan", {}).get(label)
        if not p:
            continue
        s, ip = p["split_ms"], p["in_process"]
        add("plan " + label, "push -> plan status on GitHub (median / max)", "%.1f / %.1f ms  [%s]" % (
            p["e2e_ms"]["median"], p["e2e_ms"]["max"], p["description"]))
        add("plan " + label, "push -> pending status on GitHub (median)", "%.1f ms" % p["pending_visible_ms"])
        add("plan " + label, "fetch / diff / discover+plan / queue statuses",
            "%.1f / %.1f / %.1f / %.1f ms" % (s["fetch"], s["diff"], s["discover_plan"], s["notify"]))
        add("plan " + label, "outbox -> GitHub / run queue / prepare / other",
            "%.1f / %.1f / %.1f / %.1f ms" % (s["status_delivery"], s["run_queue"], s["prepare"], s["other"]))
        if "error" in ip:
            add("plan " + label, "in-process split", "ERROR " + ip["error"])
        else:
            add("plan " + label, "in-process: discover / build / render",
                "%.1f / %.2f / %.2f ms (validate %.2f ms)" % (ip["discover_ms"], ip["build_ms"],
                                                             ip["render_ms"], ip["validate_ms"]))
            types = results["plan"].get("empty_account", p)["planned_changes_by_type"]
            add("plan " + label, "AWS calls per plan / resources",
                "%s calls (%d actions) / %d resources of %d types wanted, %d found" % (
                    p["aws_calls_per_plan"], len(p["aws_calls_by_action"]), ip["desired"], len(types),
                    ip["actual"]))
    rtt = results.get("plan", {}).get("rtt")
    if rtt and rtt["ok"]:
        add("plan deployed", "in-process plan, every AWS call %d ms late" % rtt["latency_ms"],
            "%.1f ms = %.2f latencies (goal <= 4; %d AWS calls)" % (
                rtt["wall_ms"], results["plan"]["rtt_multiple"], rtt["aws_requests"]))
    a = results.get("apply")
    if a:
        add("apply", "full prd apply (push -> final status)", "%.0f ms  [%s]" % (a["e2e_ms"], a["description"]))
        add("apply", "apply / critical path (timing x %g)" % a["timing_scale"],
            "%.0f / %.0f ms = %s (goal <= 1.15; %s)" % (
                a["split_ms"]["apply"], a["critical_path_ms"], a["critical_path_ratio"],
                " -> ".join(a["critical_path"])))
        add("apply", "throttled calls / operations failed for it", "%d / %d (goal 0)" % (
            a["throttled_calls"], a["throttled_failures"]))
        add("apply", "discover+plan / apply / outbox -> GitHub", "%.1f / %.1f / %.1f ms" % (
            a["split_ms"]["discover_plan"], a["split_ms"]["apply"], a["split_ms"]["status_delivery"]))
        add("apply", "AWS calls during the apply", "%d" % a["aws_calls"])
    mem = results.get("memory", {})
    if mem:
        def g(k, f):
            v = mem.get(k, {}).get(f)
            return "-" if v is None else v
        add("memory", "RSS after start / warm-up", "%s / %s MiB" % (g("after_start", "rss_mib"),
                                                                 g("after_warmup", "rss_mib")))
        add("memory", "burst peak / after burst drained", "%s / %s MiB" % (
            g("burst_peak", "hwm_mib"), g("after_burst_drained", "rss_mib")))
        add("memory", "apply peak / after apply", "%s / %s MiB" % (g("apply_peak", "hwm_mib"),
                                                                 g("after_apply", "rss_mib")))
    nt = results.get("notify")
    if nt and nt["messages"]:
        add("notify", "outbox -> git host, p50 / p99", "%.1f / %.1f ms over %d statuses (goal p50 <= 10)" % (
            nt["outbox_to_host_p50_ms"], nt["outbox_to_host_p99_ms"], nt["messages"]))
    f = results.get("fetch")
    if f:
        for name, label in (("local_path", "local path"), ("file_url", "file://")):
            t = f[name]
            add("fetch", "first clone, %s: deploybot / git clone" % label, "%.0f / %.0f ms = %.2f (RSS %s MiB)" % (
                t["first_clone_libgit2_ms"], t["first_clone_git_clone_ms"], t["first_clone_ratio"],
                t["first_clone_rss_mib"]))
        add("fetch", "first clone ratio (worse of the two)", "%.2f (goal <= 2.0), RSS %s MiB" % (
            f["local_clone_ratio"], f["clone_rss_mib"]))
        add("fetch", "repository", "%d commits, %d files, %.1f MiB packed (made in %.1f s)" % (
            f["commits"], f["files"], f["repo_mib"], f["generate_s"]))
        for name, label in (("git_protocol", "git://"), ("local_path", "local path")):
            t = f[name]
            add("fetch", "%s: libgit2 fetch + diff (deploybot)" % label, "%.1f + %.1f ms" % (
                t["libgit2_fetch_ms"], t["libgit2_diff_ms"]))
            add("fetch", "%s: git fetch + git diff --name-only" % label, "%.1f + %.1f ms" % (
                t["cli_fetch_ms"], t["cli_diff_ms"]))
            add("fetch", "%s: ratio libgit2 / git CLI" % label, "%.2f" % t["ratio_libgit2_vs_cli"])
            add("fetch", "%s: fresh clone libgit2 / git CLI" % label, "%.0f / %.0f ms (libgit2 peak RSS %s MiB)" % (
                t["clone_libgit2_ms"], t["clone_git_cli_ms"], t["clone_libgit2_peak_rss_mib"]))
            add("fetch", "%s: incremental / fresh clone" % label, "libgit2 %.4f, git CLI %.4f" % (
                t["ratio_incremental_vs_clone_libgit2"], t["ratio_incremental_vs_clone_cli"]))
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    out = []
    last = None
    for sec, name, val in rows:
        out.append("%-*s  %-*s  %s" % (w1, sec if sec != last else "", w2, name, val))
        last = sec
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(SRC, "build-bench"))
    ap.add_argument("--workdir", help="default: BUILD_DIR/bench-work (emptied first)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--burst-repeats", type=int, default=3)
    ap.add_argument("--plan-runs", type=int, default=5)
    ap.add_argument("--commits", type=int, default=20000)
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--fetch-rounds", type=int, default=5)
    ap.add_argument("--timing-scale", type=float, default=0.1,
                    help="the fake's timing profile, scaled (apply; the waiters' schedule alike)")
    ap.add_argument("--latency-ms", type=int, default=50, help="per AWS call, for plan.rtt_multiple")
    ap.add_argument("--job-timeout", type=int, default=60)
    ap.add_argument("--apply-timeout", type=int, default=300)
    ap.add_argument("--drain-timeout", type=int, default=180)
    ap.add_argument("--slow-clients", type=int, default=200)
    ap.add_argument("--open-loop-s", type=int, default=5, help="how long the open-loop load lasts")
    ap.add_argument("--open-loop-rate", type=int, default=0,
                    help="deliveries/s the open loop offers (default: half the burst's throughput), "
                         "to compare two builds at the same load")
    ap.add_argument("--only", default="burst,burst_slow_clients,plan,apply,fetch",
                    help="comma-separated phases (memory is measured along burst/apply)")
    args = ap.parse_args()
    phases = set(args.only.split(","))
    # Bounded loads only (everything goes to 127.0.0.1 anyway).
    for name, lo, hi in (("requests", 1, 100000), ("concurrency", 1, 512), ("burst_repeats", 1, 10),
                         ("plan_runs", 1, 50), ("commits", 10, 200000), ("files", 10, 50000),
                         ("fetch_rounds", 1, 50), ("slow_clients", 1, 800), ("open_loop_s", 1, 60),
                         ("latency_ms", 1, 1000), ("open_loop_rate", 0, 100000)):
        if not lo <= getattr(args, name) <= hi:
            ap.error("--%s must be %d..%d" % (name.replace("_", "-"), lo, hi))
    if not 0.001 <= args.timing_scale <= 1:
        ap.error("--timing-scale must be 0.001..1")
    if phases - {"burst", "burst_slow_clients", "plan", "apply", "fetch"}:
        ap.error("--only takes burst, burst_slow_clients, plan, apply, fetch")
    build_dir = os.path.abspath(args.build_dir)
    workdir = os.path.abspath(args.workdir or os.path.join(build_dir, "bench-work"))
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    started = time.time()
    results = {"issue": 6, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "commit": subprocess.run(["git", "-C", SRC, "rev-parse", "--short", "HEAD"],
                                        stdout=subprocess.PIPE, text=True).stdout.strip(),
               "tree_dirty": bool(subprocess.run(["git", "-C", SRC, "status", "--porcelain"],
                                                 stdout=subprocess.PIPE, text=True).stdout.strip()),
               "machine": machine(workdir), "build": cmake_cache(build_dir), "params": vars(args),
               "memory": {}, "plan": {}}
    failed = []
    if phases & {"burst", "burst_slow_clients", "plan", "apply"}:
        harness = import_harness(build_dir)
        w = World(harness, os.path.join(workdir, "stack"), args)
        try:
            time.sleep(0.5)
            results["memory"]["after_start"] = proc_status(w.pid)
            if "burst" in phases:
                phase_burst(w, args, build_dir, workdir, results)
                if results["burst"]["verdict"] != "ok":
                    failed.append("burst: %d lost, %d acknowledged of %d" % (
                        results["burst"]["lost"], results["burst"]["acknowledged"],
                        args.requests * args.burst_repeats))
            if "burst_slow_clients" in phases:
                phase_burst_slow(w, args, build_dir, workdir, results)
                if results["burst_slow_clients"]["verdict"] != "ok":
                    failed.append("burst with slow clients: %d lost, %d refused" % (
                        results["burst_slow_clients"]["lost"], results["burst_slow_clients"]["refused"]))
            if "plan" in phases:
                log("plan: %d pushes on an empty account" % args.plan_runs)
                plan_series(w, args, "empty_account", build_dir, results)
            if "apply" in phases:
                phase_apply(w, args, build_dir, results)
                if not results["apply"]["ok"]:
                    failed.append("apply: " + str(results["apply"]["description"]))
                if "plan" in phases:
                    log("plan: %d pushes on the deployed account" % args.plan_runs)
                    plan_series(w, args, "deployed", build_dir, results)
                    phase_plan_rtt(w, args, build_dir, results)
            if phases & {"plan", "apply"}:
                phase_notify(w, results)
            for label, p in results["plan"].items():
                if isinstance(p, dict) and not p["ok"]:
                    failed.append("plan %s: %s %s" % (label, p.get("description", ""),
                                                      p.get("in_process", p).get("error", "")))
        finally:
            w.close()
            results["bot_log"] = w.s.bot.log_path
    if "fetch" in phases:
        phase_fetch(args, build_dir, workdir, results)
    results["duration_s"] = round(time.time() - started, 1)
    results["failed"] = failed
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2, sort_keys=False)
        f.write("\n")
    print(table(results))
    print("\n%s in %.0f s; figures in %s" % ("FAILED: " + "; ".join(failed) if failed else "ok",
                                            results["duration_s"], os.path.relpath(args.out, os.getcwd())))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
