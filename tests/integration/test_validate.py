"""`deploybot validate [DIR]`: the shipped deploy-configs/ is valid; a broken
copy gets every problem reported at once, one `file:key: message` line each,
and exit status 1. Needs neither git nor AWS: it runs with no credentials and
instance metadata disabled."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SHIPPED = os.path.join(harness.SRC, "deploy-configs")
PREFIX = re.compile(r"^[\w./-]+:[^: ]+: \S")   # file:key: message


def run(*args, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    p = subprocess.run([os.path.abspath(harness.BIN), "validate"] + list(args), cwd=cwd, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class Validate(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="deploybot-validate-")
        self.repo = os.path.join(self.dir, "config")
        shutil.copytree(SHIPPED, self.repo)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def edit(self, rel, fn):
        path = os.path.join(self.repo, rel)
        with open(path) as f:
            doc = json.load(f)
        fn(doc)
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)

    def test_shipped_config_is_valid(self):
        rc, out, err = run(SHIPPED)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out, "ok: 3 environments valid\n")
        self.assertEqual(err, "")

    def test_default_dir_is_the_current_one(self):
        rc, out, err = run(cwd=self.repo)
        self.assertEqual((rc, out), (0, "ok: 3 environments valid\n"), err)

    def test_broken_copy_reports_every_problem(self):
        def stg(d):
            d["instance_type"] = "t3medium"
            d["certificate_arn"] = "arn:aws:iam::123456789012:server-certificate/dify"
            d["record_name"] = "dify.example.com"
            d["availability_zones"] = ["eu-west-1a", "eu-west-1a"]
            d["office_cidrs"] = ["203.0.113.7/24"]

        def prd(d):
            d["colour"] = "blue"
            d["instance_count"] = 11
            d["zone_id"] = "Z0123456789ABCDEFGHIJ"
            d["certificate_arn"] = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
        self.edit("environments/stg/stack.json", stg)
        self.edit("environments/prd/stack.json", prd)
        tmpl = os.path.join(self.repo, "modules/dify/user_data.sh")
        with open(tmpl) as f:
            lines = f.read().split("\n")
        lines.insert(5, 'REGION="${region}"   # not a variable deploybot supplies')
        with open(tmpl, "w") as f:
            f.write("\n".join(lines))

        rc, out, err = run(self.repo)
        self.assertEqual(rc, 1, out + err)
        self.assertNotIn("ok:", out + err)
        problems = err.splitlines()
        for line in problems:
            self.assertRegex(line, PREFIX)
        want = [
            'environments/stg/stack.json:instance_type: "t3medium" is not an EC2 instance type',
            'environments/stg/stack.json:certificate_arn: "arn:aws:iam::123456789012:server-certificate/dify"'
            ' is not an ACM certificate ARN',
            "environments/stg/stack.json:record_name: requires zone_id",
            'environments/stg/stack.json:availability_zones[1]: "eu-west-1a" is listed twice',
            'environments/stg/stack.json:office_cidrs[0]: "203.0.113.7/24" is not a valid IPv4 CIDR',
            "environments/prd/stack.json:colour: unknown key",
            "environments/prd/stack.json:instance_count: 11 is out of range 0..10",
            "environments/prd/stack.json:zone_id: requires record_name",
            "environments/prd/stack.json:certificate_arn: the certificate is not in region eu-west-1",
            # dev is the only stack that validates, so it renders the template:
            "modules/dify/user_data.sh:6: template variable ${region} has no value",
        ]
        for w in want:
            self.assertTrue(any(line.startswith(w) for line in problems), "%r not in:\n%s" % (w, err))
        self.assertEqual(len(problems), len(want), err)       # each reported once
        self.assertNotIn("environments/dev/", err)

    def test_zone_record_and_network_problems_come_with_the_others(self):
        """Every check runs whatever else is wrong: the network rules (which
        used to wait for a stack with no other problem) as well as zone_id
        and record_name; and what AWS would refuse of a network is said here,
        before any plan."""
        def stg(d):
            d["instance_type"] = "t3medium"
            d["record_name"] = "dify.example.com"
            d["public_subnet_cidrs"] = ["10.20.0.0/24", "10.99.1.0/24"]
            d["private_subnet_cidrs"] = ["10.20.0.128/25", "10.20.11.0/24"]
            d["office_cidrs"] = ["203.0.113.0/24", "198.51.100.0/24", "203.0.113.0/24"]

        def prd(d):
            d["colour"] = "blue"
            d["zone_id"] = "/hostedzone/Z0123456789ABCDEFGHIJ"
            d["record_name"] = "dify example"
            d["vpc_cidr"] = "10.30.0.0/15"
            d["private_subnet_cidrs"] = ["10.30.10.0/29", "10.30.11.0/24"]
        self.edit("environments/stg/stack.json", stg)
        self.edit("environments/prd/stack.json", prd)
        rc, out, err = run(self.repo)
        self.assertEqual(rc, 1, out + err)
        problems = err.splitlines()
        want = [
            'environments/stg/stack.json:instance_type: "t3medium" is not an EC2 instance type',
            "environments/stg/stack.json:record_name: requires zone_id",
            "environments/stg/stack.json:public_subnet_cidrs[1]: 10.99.1.0/24 is not inside vpc_cidr 10.20.0.0/16",
            "environments/stg/stack.json:private_subnet_cidrs[0]: 10.20.0.128/25 overlaps public_subnet_cidrs[0] "
            "10.20.0.0/24",
            'environments/stg/stack.json:office_cidrs[2]: "203.0.113.0/24" is listed twice',
            "environments/prd/stack.json:colour: unknown key",
            'environments/prd/stack.json:zone_id: "/hostedzone/Z0123456789ABCDEFGHIJ" is not a Route53 hosted zone id',
            'environments/prd/stack.json:record_name: "dify example" is not a DNS name',
            "environments/prd/stack.json:vpc_cidr: 10.30.0.0/15: AWS takes VPCs from /16 to /28",
            "environments/prd/stack.json:private_subnet_cidrs[0]: 10.30.10.0/29: AWS takes subnets from /16 to /28",
        ]
        for w in want:
            self.assertTrue(any(line.startswith(w) for line in problems), "%r not in:\n%s" % (w, err))
        self.assertEqual(len(problems), len(want), err)       # each reported once

    def test_missing_files(self):
        os.unlink(os.path.join(self.repo, "environments/dev/stack.json"))
        os.unlink(os.path.join(self.repo, "modules/dify/user_data.sh"))
        rc, out, err = run(self.repo)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("environments/dev/stack.json: cannot read: No such file or directory", err)
        self.assertIn("modules/dify/user_data.sh: cannot read: No such file or directory", err)

    def test_deleted_environment_with_allow_destroy_is_a_note(self):
        self.edit("deploybot.json", lambda d: d["environments"]["stg"].update(allow_destroy=True))
        shutil.rmtree(os.path.join(self.repo, "environments/stg"))
        rc, out, err = run(self.repo)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("environments/stg/stack.json: missing: a push of this destroys environment stg", out)
        self.assertTrue(out.endswith("ok: 2 environments valid\n"), out)

    def test_bad_repoconfig_and_not_a_checkout(self):
        self.edit("deploybot.json", lambda d: d.update(colour="blue"))
        rc, out, err = run(self.repo)
        self.assertEqual(rc, 1, out + err)
        self.assertIn('deploybot.json: unknown key "colour"', err)
        rc, out, err = run(self.dir)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("deploybot.json: cannot read: No such file or directory", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
