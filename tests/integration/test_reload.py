"""SIGHUP reloads the config of the real binary: a new chat route and a new
API token apply to the next message and request, the log names the keys
that changed (never a value), what only a restart can change keeps its
value (and the log says so), a broken config is refused with the settings in
use kept, and connections open across the reload (a keep-alive connection, a
webhook whose body is half sent) are served as if nothing happened."""
import http.client
import json
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"
NEW_TOKEN = "deploybot-test-newer-0123456789abcdef"
NEWEST_TOKEN = "deploybot-test-newest-fedcba9876543210"


class Reload(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = cls.s = harness.Stack(start_bot=False, chat=True)
        cls.old_url = s.chat_url + "/slack/T0001/B0001/oldroutesecret"
        cls.new_url = s.chat_url + "/slack/T0001/B0002/newroutesecret"
        s.extra_env = {"SLACK_OLD_URL": cls.old_url, "SLACK_NEW_URL": cls.new_url, "NEWER_TOKEN": NEW_TOKEN,
                       "NEWEST_TOKEN": NEWEST_TOKEN}
        s.notify = {"chat": [{"type": "slack", "url_env": "SLACK_OLD_URL"}]}
        with s.closed_on_failure():
            s.start_bot()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    # ------------------------------------------------------------ helpers
    def reload(self, expect):
        """SIGHUP; waits for a new log line containing `expect`, returns the new log."""
        before = len(self.s.bot.output())
        self.s.bot.proc.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: expect in self.s.bot.output()[before:], 20, "the reload's log line")
        return self.s.bot.output()[before:]

    def chat_paths(self):
        reqs = json.loads(harness.http("GET", self.s.chat_url + "/_fake/requests")[1])
        return [r["path"] for r in reqs]

    def push_dev(self, cidr):
        base = self.s.repo.head()
        sha = self.s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append(cidr), "dev")
        code, body = self.s.deliver("push", harness.push_payload(base, sha))
        self.assertEqual(code, 202, body)
        self.assertEqual(self.s.wait_status(sha, "deploybot/dev")["state"], "success")
        return sha

    # -------------------------------------------------------------- tests
    def test_reload(self):
        s = self.s
        self.push_dev("198.51.100.1/32")
        harness.wait_for(lambda: any("oldroutesecret" in p for p in self.chat_paths()), 30, "chat on the old route")
        old_count = len(self.chat_paths())

        keep = http.client.HTTPConnection("127.0.0.1", s.bot.port, timeout=20)
        keep.request("GET", "/healthz")
        self.assertEqual(keep.getresponse().read(), b"ok")
        local = keep.sock.getsockname()
        base = s.repo.head()
        half, rest = harness.half_sent_push(s.bot.port, base, base, "reload-half-sent")

        def change(cfg):
            cfg["notify"] = {"chat": [{"type": "slack", "url_env": "SLACK_NEW_URL"}]}
            cfg["api_tokens"] = [{"name": "newer", "token_env": "NEWER_TOKEN", "role": "read"}]
            cfg["listen"] = "127.0.0.2"   # only a restart may change it
        self.s.edit_config(change)
        log = self.reload("config reloaded")
        changed = log.split("changed: ", 1)[1].split("\n", 1)[0].split(", ")
        self.assertEqual(sorted(changed), ["api_tokens", "listen", "notify.chat"], log)
        self.assertIn("listen cannot change on reload", log)
        self.assertNotIn("newroutesecret", log)
        self.assertNotIn(NEW_TOKEN, log)

        # The connections opened before are served.
        half.send(rest)
        resp = half.getresponse()
        self.assertEqual(resp.status, 202, resp.read())
        keep.request("GET", "/healthz")
        self.assertEqual(keep.getresponse().read(), b"ok")
        self.assertEqual(keep.sock.getsockname(), local)  # the same connection

        # The new token works, the old one no longer does; the port is the same.
        self.assertEqual(s.api("/api/runs", token=NEW_TOKEN)[0], 200)
        self.assertEqual(s.api("/api/runs", token=harness.READ_TOKEN)[0], 401)

        # The next message goes to the new route only.
        self.push_dev("198.51.100.2/32")
        harness.wait_for(lambda: any("newroutesecret" in p for p in self.chat_paths()), 30, "chat on the new route")
        self.assertFalse(any("oldroutesecret" in p for p in self.chat_paths()[old_count:]), self.chat_paths())

        # A broken config is refused: everything stays as it was.
        with open(s.config_path(), "w") as f:
            f.write('{"port": 0, "unknown_key": 1}')
        log = self.reload("reload refused")
        self.assertIn("unknown_key", log)
        self.assertEqual(s.api("/api/runs", token=NEW_TOKEN)[0], 200)
        self.assertEqual(harness.http("GET", s.bot_url + "/healthz"), (200, b"ok"))
        self.push_dev("198.51.100.3/32")
        harness.wait_for(lambda: sum("newroutesecret" in p for p in self.chat_paths()) >= 2, 30,
                         "chat on the kept route")
        self.assertIsNone(s.bot.proc.poll())
        keep.close()
        half.close()

    def test_reload_masks_new_secrets(self):
        """A secret a reload brings is masked in the log like those read at
        start: here an API token sent as a delivery's id, which the
        webhook's log line repeats."""
        os.unlink(self.s.config_path())  # test_reload may have left it broken
        self.s.edit_config(lambda cfg: cfg.update(
            api_tokens=[{"name": "newest", "token_env": "NEWEST_TOKEN", "role": "read"}]))
        self.reload("config reloaded")
        self.assertEqual(self.s.api("/api/runs", token=NEWEST_TOKEN)[0], 200)
        before = len(self.s.bot.output())
        code, body = self.s.deliver("ping", {"zen": "hi", "hook_id": 1}, delivery=NEWEST_TOKEN)
        self.assertEqual(code, 200, body)
        harness.wait_for(lambda: "webhook from" in self.s.bot.output()[before:], 20, "the webhook's log line")
        log = self.s.bot.output()[before:]
        self.assertNotIn(NEWEST_TOKEN, log)
        self.assertIn("delivery=***", log)


if __name__ == "__main__":
    unittest.main()
