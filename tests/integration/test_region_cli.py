"""One region rule for every command (issue 12, item 2): the stack's
`region`, else `aws.region` of the operator's config, else AWS_REGION /
AWS_DEFAULT_REGION, else an error naming those places; never a built-in
default. plan, apply and destroy (the CLI's and the bot's) work with only
the stack's region."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"


def no_region_env(s):
    """The harness's environment without any region, and a HOME without an
    AWS profile that could name one."""
    e = s.env()
    for k in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        e.pop(k, None)
    e["HOME"] = os.path.join(s.dir, "home")
    os.makedirs(e["HOME"], exist_ok=True)
    return e


class RegionCli(unittest.TestCase):
    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        self.dir = tempfile.mkdtemp(prefix="deploybot-region-")
        shutil.rmtree(self.dir)
        shutil.copytree(os.path.join(harness.SRC, "deploy-configs"), self.dir)
        self.env = no_region_env(self.s)

    def tearDown(self):
        self.s.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_bot(self, *args, code=0):
        p = subprocess.run([harness.BIN] + list(args) + ["--dir", self.dir], env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, code, out)
        return out

    def edit_stack(self, fn):
        path = os.path.join(self.dir, DEV)
        with open(path) as f:
            doc = json.load(f)
        fn(doc)
        with open(path, "w") as f:
            json.dump(doc, f)

    def test_only_the_stacks_region(self):
        wanted = self.s.planned_ids("dev")
        self.assertIn("Plan:", self.run_bot("plan", "dev"))
        self.assertIn("Apply complete", self.run_bot("apply", "dev"))
        self.assertEqual(self.s.owned_ids("dev"), wanted)
        self.assertIn("No changes.", self.run_bot("plan", "dev"))
        self.assertIn("Apply complete", self.run_bot("destroy", "dev", "--yes"))
        self.assertEqual(self.s.owned_ids("dev"), [])

    def test_no_region_anywhere_is_a_clear_error(self):
        self.edit_stack(lambda d: d.pop("region"))
        calls = harness.http("GET", self.s.aws_url + "/_fake/calls")[1]
        for args in (("plan", "dev"), ("apply", "dev"), ("destroy", "dev", "--yes")):
            out = self.run_bot(*args, code=1)
            self.assertIn('no AWS region for dev: set "region" in environments/dev/stack.json, '
                          '"aws.region" in the deploybot config, or AWS_REGION', out)
        self.assertEqual(calls, harness.http("GET", self.s.aws_url + "/_fake/calls")[1])

    def test_destroy_without_a_stack_json_uses_the_environment(self):
        self.env["AWS_DEFAULT_REGION"] = harness.REGION
        self.assertIn("Apply complete", self.run_bot("apply", "dev"))
        shutil.rmtree(os.path.join(self.dir, "environments", "dev"))
        self.assertIn("Apply complete", self.run_bot("destroy", "dev", "--yes"))
        self.assertEqual(self.s.owned_ids("dev"), [])

    def test_the_environments_region_is_checked_against_the_stack(self):
        # No region in the stack: the zones must be zones of the one used.
        self.edit_stack(lambda d: d.pop("region"))
        self.env["AWS_REGION"] = "us-east-1"
        out = self.run_bot("plan", "dev", code=1)
        self.assertIn('environments/dev/stack.json:availability_zones[0]: "eu-west-1a" is not a zone '
                      'of region us-east-1', out)
        self.env["AWS_REGION"] = harness.REGION
        self.assertIn("Plan:", self.run_bot("plan", "dev"))


class RegionBot(unittest.TestCase):
    """The bot with no aws.region and no AWS_REGION: an environment applied
    from a push, then destroyed when its folder is deleted, in the region its
    stack.json named."""

    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        cfg = {"listen": "127.0.0.1", "port": 0, "data_dir": self.s.data_dir,
               "repo": {"url": self.s.repo.path}, "github": {"api_url": self.s.github_url}}
        with open(self.s.config_path(), "w") as f:   # the harness's, without "aws"
            json.dump(cfg, f)
        self.s.extra_env = {"AWS_REGION": "", "AWS_DEFAULT_REGION": "",
                            "HOME": os.path.join(self.s.dir, "home")}
        self.s.start_bot()

    def tearDown(self):
        self.s.close()

    def push(self, before, after):
        code, body = self.s.deliver("push", harness.push_payload(before, after))
        self.assertEqual(code, 202, body)

    def test_apply_then_destroy(self):
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json("environments/stg/stack.json",
                              lambda d: d["office_cidrs"].append("198.51.100.0/24"), "stg: office")
        self.push(base, c1)
        st = s.wait_status(c1, "deploybot/stg")
        self.assertEqual(st["state"], "success", st)
        self.assertNotEqual(s.owned_ids("stg"), [])

        s.repo.edit_json("deploybot.json", lambda d: d["environments"]["stg"].update(allow_destroy=True),
                         "stg may be destroyed")
        shutil.rmtree(os.path.join(s.repo.path, "environments", "stg"))
        c2 = s.repo.commit("stg: gone")
        self.push(c1, c2)
        st = s.wait_status(c2, "deploybot/stg")
        self.assertEqual(st["state"], "success", st)
        self.assertRegex(st["description"], r"^Apply complete: 0 added, 0 changed, \d+ destroyed\.$")
        self.assertEqual(s.owned_ids("stg"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
