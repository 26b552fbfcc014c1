"""The real binary under valgrind: a full-stack apply, a re-plan and a destroy
of `dev` against the fake AWS, and a daemon that takes a webhook and stops on
SIGTERM — no leaks, no invalid reads or writes. (Registered only for the
plain build: AddressSanitizer and valgrind cannot run together.)"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

VALGRIND = ["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=99", "--trace-children=no"]


class Valgrind(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        self.dir = tempfile.mkdtemp(prefix="deploybot-vg-")
        shutil.rmtree(self.dir)
        shutil.copytree(os.path.join(harness.SRC, "deploy-configs"), self.dir)

    def tearDown(self):
        self.s.close()

    def run_vg(self, *args):
        p = subprocess.run(VALGRIND + [harness.BIN] + list(args) + ["--dir", self.dir], env=self.s.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, 0, out[-4000:])
        return out

    def test_apply_plan_destroy(self):
        self.assertIn("Apply complete", self.run_vg("apply", "dev"))
        self.assertIn("No changes.", self.run_vg("plan", "dev"))
        self.assertIn("Apply complete", self.run_vg("destroy", "dev", "--yes"))
        self.assertEqual(self.s.owned_ids("dev"), [])

    def test_daemon(self):
        port_file = os.path.join(self.s.dir, "bot.port")
        bot = harness.Process(VALGRIND + [harness.BIN, "serve", "--config", self.s.config_path(),
                                          "--port-file", port_file],
                              self.s.dir, "deploybot-vg", env=self.s.env(), port_file=port_file)
        self.s.bot_url = "http://127.0.0.1:%d" % bot.port
        base = self.s.repo.head()
        c1 = self.s.repo.edit_json("environments/dev/stack.json",
                                   lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev")
        code, _ = self.s.deliver("push", harness.push_payload(base, c1))
        self.assertEqual(code, 202)
        self.assertEqual(self.s.wait_status(c1, "deploybot/dev", timeout=240)["state"], "success")
        self.assertEqual(bot.stop(signal.SIGTERM), 0, bot.output()[-4000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
