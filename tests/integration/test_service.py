"""deploybot under systemd, without systemd (issue 16, items 3 and 5): the
real binary's sd_notify messages on a datagram socket this test listens on,
as systemd's NOTIFY_SOCKET (a path, or an @abstract name): READY=1 once the
port answers, WATCHDOG=1 when WATCHDOG_USEC asks for it, STOPPING=1 at the
end; and `deploybot --version`."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

WAIT_S = 30  # generous: the machine may be busy; never a speed assertion


class Notify:
    """A datagram socket as systemd's notify socket; an abstract one when
    abstract (its name then starts with '@' in NOTIFY_SOCKET)."""

    def __init__(self, tmp, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "deploybot-test-" + uuid.uuid4().hex
            self.sock.bind("\0" + name)
            self.env_value = "@" + name
        else:
            self.env_value = os.path.join(tmp, "notify.sock")
            self.sock.bind(self.env_value)
        self.messages = []

    def next(self, timeout=WAIT_S):
        """The next message, as a list of its lines; None if none came."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except (socket.timeout, BlockingIOError):
            return None
        self.messages.append(data.decode().split("\n"))
        return self.messages[-1]

    def drain(self):
        """Every message still queued (after the sender exited)."""
        while self.next(timeout=0.0) is not None:
            pass
        return self.messages

    def close(self):
        self.sock.close()


class Service(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="deploybot-service-")
        self.port_file = os.path.join(self.tmp, "bot.port")
        self.config = os.path.join(self.tmp, "deploybot.conf.json")
        with open(self.config, "w") as f:
            json.dump({"listen": "127.0.0.1", "port": 0, "data_dir": os.path.join(self.tmp, "data")}, f)
        self.bot = None
        self.notify = None

    def tearDown(self):
        if self.bot:
            self.bot.stop()
        if self.notify:
            self.notify.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, abstract=False, argv_prefix=(), **env):
        self.notify = Notify(self.tmp, abstract)
        e = dict(os.environ, NOTIFY_SOCKET=self.notify.env_value)
        for k in ("WATCHDOG_USEC", "WATCHDOG_PID"):
            e.pop(k, None)
        e.update(env)
        argv = list(argv_prefix) + [harness.BIN, "serve", "--config", self.config, "--port-file", self.port_file]
        self.bot = harness.Process(argv, self.tmp, "deploybot", env=e)

    def expect_ready(self):
        """Waits for READY=1; at that moment the port must already answer."""
        msg = self.notify.next()
        self.assertIsNotNone(msg, "no message on NOTIFY_SOCKET; log:\n" + self.bot.output())
        self.assertIn("READY=1", msg)
        port = harness._read_port(self.port_file)
        self.assertIsNotNone(port, "READY=1 before the port file was written")
        status, body = harness.http("GET", "http://127.0.0.1:%d/healthz" % port)
        self.assertEqual((status, body), (200, b"ok"))
        self.assertIn("STATUS=listening on 127.0.0.1:%d" % port, msg)
        return port

    def stop(self):
        """SIGTERM, then every message the bot sent."""
        self.assertEqual(self.bot.stop(signal.SIGTERM), 0, self.bot.output())
        return self.notify.drain()

    def test_ready_after_the_port_answers_then_stopping(self):
        self.start()
        self.expect_ready()
        messages = self.stop()
        # Without WATCHDOG_USEC there is no watchdog: READY, then STOPPING only.
        self.assertEqual([m[0] for m in messages], ["READY=1", "STOPPING=1"])

    def test_reload_says_reloading_then_ready(self):
        # systemd (Type=notify, ExecReload= sends SIGHUP) waits for RELOADING=1
        # with the monotonic time, then READY=1 when the reload is done.
        self.start()
        self.expect_ready()
        self.bot.proc.send_signal(signal.SIGHUP)
        msg = self.notify.next()
        self.assertIsNotNone(msg, self.bot.output())
        self.assertEqual(msg[0], "RELOADING=1")
        self.assertRegex(msg[1], r"^MONOTONIC_USEC=\d+$")
        self.assertEqual(self.notify.next(), ["READY=1"])
        self.assertIn("config reloaded", self.bot.output())
        self.assertEqual(self.stop()[-1], ["STOPPING=1"])

    def test_abstract_socket(self):
        self.start(abstract=True)
        self.expect_ready()
        self.assertEqual(self.stop()[-1], ["STOPPING=1"])

    def test_watchdog_pings_when_asked(self):
        # As systemd does it: WATCHDOG_PID is the service's own pid (the
        # shell's, which exec keeps).
        self.start(argv_prefix=("/bin/sh", "-c", 'WATCHDOG_PID=$$ exec "$@"', "sh"), WATCHDOG_USEC="200000")
        self.expect_ready()
        pings = 0
        while pings < 3:
            msg = self.notify.next()
            self.assertIsNotNone(msg, "fewer than 3 WATCHDOG=1 with WATCHDOG_USEC set")
            self.assertEqual(msg, ["WATCHDOG=1"])
            pings += 1
        messages = self.stop()
        self.assertEqual(messages[-1], ["STOPPING=1"])
        self.assertTrue(all(m == ["WATCHDOG=1"] for m in messages[1:-1]), messages)

    def test_no_watchdog_for_another_pid(self):
        # A child that inherited the manager's variables must not ping for
        # the service: WATCHDOG_PID names another process.
        self.start(WATCHDOG_USEC="100000", WATCHDOG_PID="1")
        self.expect_ready()
        self.assertIsNone(self.notify.next(timeout=1.0), "a WATCHDOG=1 for another pid")
        self.assertEqual([m[0] for m in self.stop()], ["READY=1", "STOPPING=1"])

    def test_bad_notify_socket_is_logged_not_fatal(self):
        self.notify = Notify(self.tmp)
        e = dict(os.environ, NOTIFY_SOCKET="relative/notify.sock")
        self.bot = harness.Process([harness.BIN, "serve", "--config", self.config, "--port-file", self.port_file],
                                   self.tmp, "deploybot", env=e, port_file=self.port_file)
        status, _ = harness.http("GET", "http://127.0.0.1:%d/healthz" % self.bot.port)
        self.assertEqual(status, 200)
        self.assertEqual(self.bot.stop(signal.SIGTERM), 0)
        self.assertIn("NOTIFY_SOCKET: not an absolute path or @abstract name", self.bot.output())


def source_commit():
    """What --version must say of the source tree: its HEAD (12 digits,
    maybe "-dirty"), "unknown" without .git."""
    if not os.path.exists(os.path.join(harness.SRC, ".git")):
        return None
    r = subprocess.run(["git", "-C", harness.SRC, "rev-parse", "--short=12", "HEAD"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


class Version(unittest.TestCase):
    def test_version_and_commit(self):
        r = subprocess.run([harness.BIN, "--version"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.fullmatch(r"deploybot (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12}(?:-dirty)?|unknown)\)\n", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        with open(os.path.join(harness.SRC, "CMakeLists.txt")) as f:
            declared = re.search(r"project\(deploybot VERSION (\S+)", f.read()).group(1)
        self.assertEqual(m.group(1), declared)
        head = source_commit()
        if head:
            self.assertEqual(m.group(2).split("-")[0], head)
        else:
            self.assertEqual(m.group(2), "unknown")

    def test_tree_without_git_says_unknown(self):
        # The build step itself (cmake/version.cmake), on a copy of the
        # source without .git.
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "version.c")
            for src, want in ((tmp, '"unknown"'), (harness.SRC, None)):
                subprocess.run(["cmake", "-DSOURCE_DIR=" + src, "-DVERSION=9.8.7", "-DOUT=" + out, "-P",
                                os.path.join(harness.SRC, "cmake", "version.cmake")], check=True)
                with open(out) as f:
                    text = f.read()
                self.assertIn('version_number(void) { return "9.8.7"; }', text)
                if want:
                    self.assertIn("version_commit(void) { return %s; }" % want, text)
                elif source_commit():
                    self.assertIn('version_commit(void) { return "%s' % source_commit(), text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
