"""The Debian package (issue 16, item 3), built from this build tree with
cpack, inspected with dpkg-deb and unpacked with dpkg -x into a temporary
root (the host is never changed): its files and control fields, the unit
checked by `systemd-analyze verify` and scored by `systemd-analyze security
--offline=true` (below 5.0), the man page against the binary's usage, and
the packaged binary started with the packaged example settings, as the unit
would, up to its READY=1.

Env: DEPLOYBOT_BIN, DEPLOYBOT_BUILD_DIR, DEPLOYBOT_CPACK (the build's
cpack). The plain build runs this; the sanitizer build has no package."""
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from test_service import Notify  # noqa: E402

BUILD = os.environ.get("DEPLOYBOT_BUILD_DIR") or os.path.dirname(harness.BIN)
CPACK = os.environ.get("DEPLOYBOT_CPACK") or "cpack"
UNIT = "lib/systemd/system/deploybot.service"
SCORE_MAX = 5.0  # the bar ("OK" or better)
ROOT_ONLY_CALLS = {"fchown"}


def run(*argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
    return r


def syscall_group(name):
    """The system calls of a systemd group (@...), nested groups expanded."""
    out = run("systemd-analyze", "syscall-filter", "--no-pager", name).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        word = line.strip()
        if word.startswith("@"):
            calls |= syscall_group(word)
        elif word and not word.startswith("#"):
            calls.add(word)
    return calls


def unit_syscalls(unit):
    """What the unit's SystemCallFilter= lines let through: the first is an
    allow list, each "~" line takes calls out of it."""
    allowed = None
    for line in re.findall(r"(?m)^SystemCallFilter=(.*)$", unit):
        deny = line.startswith("~")
        calls = set().union(*(syscall_group(w) if w.startswith("@") else {w} for w in line.lstrip("~").split()))
        allowed = (allowed - calls) if deny else (calls if allowed is None else allowed | calls)
    return allowed


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="deploybot-package-")
        run(CPACK, "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", cls.tmp)
        debs = [f for f in os.listdir(cls.tmp) if f.endswith(".deb")]
        assert len(debs) == 1, debs
        cls.deb = os.path.join(cls.tmp, debs[0])
        cls.root = os.path.join(cls.tmp, "root")
        run("dpkg", "-x", cls.deb, cls.root)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def field(self, name):
        return run("dpkg-deb", "--field", self.deb, name).stdout.strip()

    def test_control_fields(self):
        info = run("dpkg-deb", "--info", self.deb).stdout
        for name in ("Package", "Version", "Architecture", "Maintainer", "Depends", "Description", "Section"):
            self.assertRegex(info, r"(?m)^ %s: \S" % name)
        self.assertEqual(self.field("Package"), "deploybot")
        version = run(harness.BIN, "--version").stdout.split()[1]
        self.assertEqual(self.field("Version"), version)
        self.assertEqual(os.path.basename(self.deb), "deploybot_%s_%s.deb" % (version, self.field("Architecture")))
        self.assertEqual(self.field("Architecture"), run("dpkg", "--print-architecture").stdout.strip())
        # Computed by dpkg-shlibdeps from the binary: every library it links.
        depends = self.field("Depends")
        for lib in ("libc6", "libcurl4", "libgit2-", "libjansson4", "libsqlite3-0", "libpq5", "libssl3", "libwebsockets"):
            self.assertIn(lib, depends)
        self.assertIn("ca-certificates", depends)
        # The examples in /etc are conffiles: an upgrade keeps the operator's edits.
        self.assertIn("conffiles", info)
        ctrl = os.path.join(self.tmp, "DEBIAN")
        run("dpkg-deb", "-e", self.deb, ctrl)
        with open(os.path.join(ctrl, "conffiles")) as f:
            self.assertEqual(f.read().split(), ["/etc/deploybot/deploybot.conf.json.example",
                                                "/etc/deploybot/deploybot.env.example"])

    def test_contents(self):
        listing = run("dpkg-deb", "--contents", self.deb).stdout
        files = {}
        for line in listing.splitlines():
            mode, owner, _size, _date, _time, path = line.split(None, 5)
            files[path] = (mode, owner)
        want = {"./usr/bin/deploybot": "-rwxr-xr-x", "./" + UNIT: "-rw-r--r--",
                "./usr/share/man/man1/deploybot.1.gz": "-rw-r--r--",
                "./etc/deploybot/deploybot.conf.json.example": "-rw-r--r--",
                "./etc/deploybot/deploybot.env.example": "-rw-r--r--",
                "./usr/share/doc/deploybot/README.md": "-rw-r--r--"}
        for path, mode in want.items():
            self.assertEqual(files.get(path), (mode, "root/root"), path)
        # No real settings or secrets: those are the operator's.
        self.assertNotIn("./etc/deploybot/deploybot.env", files)
        self.assertNotIn("./etc/deploybot/deploybot.conf.json", files)
        r = subprocess.run([os.path.join(self.root, "usr/bin/deploybot"), "--version"], capture_output=True, text=True)
        self.assertEqual(r.stdout, run(harness.BIN, "--version").stdout)

    def systemd_root(self):
        """The unpacked package plus the host's own units (sysinit.target and
        the like, which verify loads), so that --root resolves ExecStart to
        the packaged binary, and the /bin/kill of procps (a Depends) that
        ExecReload= runs."""
        units = os.path.join(self.root, "usr/lib/systemd/system")
        if not os.path.exists(units):
            shutil.copytree("/usr/lib/systemd/system", units, symlinks=True)
            os.makedirs(os.path.join(self.root, "bin"), exist_ok=True)
            shutil.copy2("/bin/kill", os.path.join(self.root, "bin/kill"))
        return self.root

    def test_unit_verifies(self):
        root = self.systemd_root()
        r = subprocess.run(["systemd-analyze", "verify", "--root=" + root, "--man=no", "deploybot.service"],
                           capture_output=True, text=True)
        # verify exits 0 on what it only warns about ("ignoring"): any word is a finding.
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
        with open(os.path.join(root, UNIT)) as f:
            unit = f.read()
        for line in ("Type=notify", "DynamicUser=yes", "StateDirectory=deploybot", "ProtectSystem=strict",
                     "ProtectHome=yes", "NoNewPrivileges=yes", "PrivateTmp=yes", "CapabilityBoundingSet=",
                     "Restart=on-failure", "EnvironmentFile=/etc/deploybot/deploybot.env",
                     "ExecStart=/usr/bin/deploybot serve --config /etc/deploybot/deploybot.conf.json",
                     "ExecReload=/bin/kill -HUP $MAINPID", "TimeoutStopSec=30s"):
            self.assertRegex(unit, "(?m)^" + re.escape(line) + "$")
        self.assertRegex(unit, r"(?m)^WatchdogSec=[1-9]")

    def test_verify_sees_a_broken_unit(self):
        # The check above can fail: a unit whose binary is missing is refused.
        root = self.systemd_root()
        broken = os.path.join(root, "lib/systemd/system/deploybot-broken.service")
        with open(os.path.join(root, UNIT)) as f:
            text = f.read().replace("/usr/bin/deploybot serve", "/usr/bin/deploybot-missing serve")
        with open(broken, "w") as f:
            f.write(text)
        try:
            r = subprocess.run(["systemd-analyze", "verify", "--root=" + root, "--man=no", "deploybot-broken.service"],
                               capture_output=True, text=True)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("/usr/bin/deploybot-missing", r.stderr)
        finally:
            os.unlink(broken)

    def test_security_score(self):
        root = self.systemd_root()
        r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--root=" + root, "--no-pager",
                            "deploybot.service"], capture_output=True, text=True)
        m = re.search(r"Overall exposure level for deploybot\.service: (\d+\.\d+) (\S+)", r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        score = float(m.group(1))
        self.assertLess(score, SCORE_MAX, r.stdout)
        # The README records the score: it must be this one.
        recorded = "exposure level %s %s" % (m.group(1), m.group(2))
        with open(os.path.join(harness.SRC, "README.md")) as f:
            self.assertTrue(recorded in f.read(), "README.md does not record: " + recorded)

    def test_man_page(self):
        with gzip.open(os.path.join(self.root, "usr/share/man/man1/deploybot.1.gz"), "rt") as f:
            source = f.read()
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=source, capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        text = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou"], input=source, capture_output=True,
                              text=True).stdout
        version = run(harness.BIN, "--version").stdout.split()[1]
        self.assertIn("deploybot %s" % version, text)
        # Every command and option of the usage is in the SYNOPSIS.
        usage = subprocess.run([harness.BIN], capture_output=True, text=True).stderr
        synopsis = re.sub(r"\s+", " ", text.split("SYNOPSIS", 1)[1].split("DESCRIPTION", 1)[0])
        for line in usage.splitlines():
            words = line.replace("usage:", "").split()
            self.assertIn(" ".join(words), synopsis, line)

    def test_example_config_serves(self):
        # The packaged binary with the packaged example, as the unit runs
        # them, but in a temporary data_dir on any port.
        with open(os.path.join(self.root, "etc/deploybot/deploybot.conf.json.example")) as f:
            cfg = json.load(f)
        self.assertEqual(cfg["data_dir"], "/var/lib/deploybot")  # the unit's StateDirectory
        work = os.path.join(self.tmp, "serve")
        os.makedirs(work)
        cfg.update(data_dir=os.path.join(work, "data"), port=0)
        conf = os.path.join(work, "deploybot.conf.json")
        with open(conf, "w") as f:
            json.dump(cfg, f)
        notify = Notify(work)
        env = {"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": notify.env_value}
        env.update(self.env_file())
        bot = harness.Process([os.path.join(self.root, "usr/bin/deploybot"), "serve", "--config", conf,
                               "--port-file", os.path.join(work, "port")], work, "deploybot", env=env)
        try:
            msg = notify.next(timeout=30)
            self.assertIsNotNone(msg, bot.output())
            self.assertIn("READY=1", msg)
        finally:
            self.assertEqual(bot.stop(signal.SIGTERM), 0, bot.output())
            notify.close()
        self.assertNotIn("no webhook secret", bot.output())

    def test_sandbox_allows_what_the_bot_calls(self):
        # Without systemd as PID 1 the unit's seccomp filter and address
        # families cannot be applied here; instead the packaged binary runs
        # a push to an applied environment under strace, and every system
        # call and socket family it used must be one the unit allows (a
        # refused call would fail with EPERM in production).
        log = os.path.join(self.tmp, "strace.log")
        wrapper = os.path.join(self.tmp, "traced-deploybot")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\nexec strace -f -qq -o "%s" "%s" "$@"\n' % (log, os.path.join(self.root, "usr/bin/deploybot")))
        os.chmod(wrapper, 0o755)
        plain, harness.BIN = harness.BIN, wrapper
        s = harness.Stack(start_bot=False)
        try:
            s.start_bot()
            base = s.repo.head()
            c1 = s.repo.edit_json("environments/dev/stack.json", lambda d: d["office_cidrs"].append("198.51.100.0/24"),
                                  "dev: office")
            self.assertEqual(s.deliver("push", harness.push_payload(base, c1))[0], 202)
            self.assertEqual(s.wait_status(c1, "deploybot/dev", timeout=240)["state"], "success")
            self.stop_traced(s.bot)
        finally:
            harness.BIN = plain
            s.close()
        used, families = set(), set()
        with open(log) as f:
            for line in f:
                m = re.match(r"^\d+\s+([a-z0-9_]+)\((AF_[A-Z0-9]+)?", line)
                if m:
                    used.add(m.group(1))
                    if m.group(1) == "socket":
                        families.add(m.group(2))
        self.assertIn("sendto", used)  # the trace saw the bot at work
        with open(os.path.join(self.root, UNIT)) as f:
            unit = f.read()
        # SQLite gives its journal and WAL files the database's owner, only
        # when it runs as root (as this test does, never the unit's user),
        # and ignores the answer.
        used -= ROOT_ONLY_CALLS if os.geteuid() == 0 else set()
        self.assertEqual(used - unit_syscalls(unit), set(), "calls the unit's SystemCallFilter= refuses")
        allowed = set(re.search(r"(?m)^RestrictAddressFamilies=(.*)$", unit).group(1).split())
        self.assertEqual(families - allowed, set(), "families RestrictAddressFamilies= refuses")

    def stop_traced(self, proc):
        """SIGTERM to the bot itself (strace's child), then strace ends with it."""
        with open("/proc/%d/task/%d/children" % (proc.proc.pid, proc.proc.pid)) as f:
            os.kill(int(f.read().split()[0]), signal.SIGTERM)
        self.assertEqual(proc.proc.wait(60), 0)

    def env_file(self):
        """The example environment file, filled in, as systemd would read it."""
        env = {}
        with open(os.path.join(self.root, "etc/deploybot/deploybot.env.example")) as f:
            for line in f:
                m = re.match(r"^([A-Z_][A-Z0-9_]*)=(.*)$", line.strip())
                if m:
                    env[m.group(1)] = m.group(2) or "example-" + m.group(1).lower()
        self.assertIn("DEPLOYBOT_WEBHOOK_SECRET", env)
        self.assertIn("GITHUB_TOKEN", env)
        return env


if __name__ == "__main__":
    unittest.main(verbosity=2)
