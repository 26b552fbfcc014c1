"""End to end: real binary, real git repo, fake GitHub and fake AWS.
Two pushes deploy dev's network, a revert restores the first state, a broken
stack.json fails with a status naming the file and key, and nothing else is
touched."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DEV = "environments/dev/stack.json"


def alb_cidrs(state):
    sg = state["security_group.alb"]
    return sorted({r["CidrIp"] for p in sg["IpPermissions"] for r in p.get("IpRanges", [])})


def object_files(repo):
    """{path under objects/: inode} of the repository's object files."""
    root = os.path.join(repo, ".git", "objects")
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), root)
            if not rel.startswith("info"):
                out[rel] = os.stat(os.path.join(d, f)).st_ino
    return out


class EndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack()
        cls.objects_before = object_files(cls.s.repo.path)

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def push(self, before, after):
        code, body = self.s.deliver("push", harness.push_payload(before, after))
        self.assertEqual(code, 202, body)

    def test_1_two_pushes_then_revert(self):
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json(DEV, lambda d: d["office_cidrs"].append("198.51.100.0/24"), "dev: office")
        self.push(base, c1)
        st = s.wait_status(c1, "deploybot/dev")
        self.assertEqual(st["state"], "success", st)
        self.assertRegex(st["description"], r"^Apply complete: \d+ added, 0 changed, 0 destroyed\.$")
        states = [x["state"] for x in s.statuses(c1) if x["context"] == "deploybot/dev"]
        self.assertEqual(states[-1], "pending")          # oldest first posted
        self.assertIsNone(s.latest_status(c1, "deploybot/stg"))
        self.assertEqual(s.tagged("stg"), {})
        first = s.tagged("dev")
        self.assertEqual(s.owned_ids("dev"), s.planned_ids("dev"))
        self.assertEqual(first["vpc.main"]["CidrBlock"], "10.10.0.0/16")
        self.assertEqual(alb_cidrs(first), ["198.51.100.0/24", "203.0.113.0/24"])

        c2 = s.repo.edit_json(DEV, lambda d: d.update(office_cidrs=["192.0.2.0/24"]), "dev: new office")
        self.push(c1, c2)
        st = s.wait_status(c2, "deploybot/dev")
        self.assertEqual(st["description"], "Apply complete: 0 added, 1 changed, 0 destroyed.")
        self.assertEqual(alb_cidrs(s.tagged("dev")), ["192.0.2.0/24"])

        harness.git(s.repo.path, "revert", "--no-edit", "HEAD")
        c3 = s.repo.head()
        self.push(c2, c3)
        st = s.wait_status(c3, "deploybot/dev")
        self.assertEqual(st["state"], "success", st)
        after = s.tagged("dev")
        self.assertEqual(alb_cidrs(after), alb_cidrs(first))
        self.assertEqual(after["vpc.main"]["VpcId"], first["vpc.main"]["VpcId"])

        # The same commit pushed again (a new delivery) is never applied twice.
        calls = json.loads(harness.http("GET", s.aws_url + "/_fake/calls")[1])
        code, _ = s.deliver("push", harness.push_payload(c2, c3))
        self.assertEqual(code, 202)
        harness.wait_for(lambda: s.latest_status(c3, "deploybot/dev")["description"].startswith("Already applied"),
                         60, "the redelivered push is not applied twice")
        self.assertEqual(calls, json.loads(harness.http("GET", s.aws_url + "/_fake/calls")[1]))

    def test_1a_first_clone_linked_the_objects(self):
        """The mirror, cloned by test_1's first push, shares the object
        files the repository had then, as git clone does, instead of
        libgit2 packing them all anew."""
        mirror = os.path.join(self.s.data_dir, "repo.git", "objects")
        self.assertTrue(self.objects_before)
        for rel, ino in self.objects_before.items():
            self.assertEqual(os.stat(os.path.join(mirror, rel)).st_ino, ino, rel)

    def test_2_broken_stack_fails_and_applies_nothing(self):
        s = self.s
        before = s.repo.head()
        calls_before = harness.http("GET", s.aws_url + "/_fake/calls")[1]
        c = s.repo.edit_json("environments/stg/stack.json",
                             lambda d: d.update(vpc_cidr="10.20.0.0/33"), "stg: typo")
        self.push(before, c)
        st = s.wait_status(c, "deploybot/stg")
        self.assertEqual(st["state"], "failure")
        self.assertIn("environments/stg/stack.json:vpc_cidr:", st["description"])
        calls_after = harness.http("GET", s.aws_url + "/_fake/calls")[1]
        self.assertEqual(calls_before, calls_after)  # not even a Describe
        self.assertEqual(s.tagged("stg"), {})

    def test_3_unrelated_change_touches_nothing(self):
        s = self.s
        before = s.repo.head()
        c = s.repo.write("README.md", "# config\n", "docs")
        self.push(before, c)
        harness.wait_for(lambda: "0 environment(s) touched" in s.bot.output(), 30, "job done")
        self.assertEqual(s.statuses(c), [])

    def test_4_pull_request_plans_without_applying(self):
        s = self.s
        base = s.repo.head()
        harness.git(s.repo.path, "checkout", "-q", "-b", "feature")
        head = s.repo.edit_json("environments/prd/stack.json",
                                lambda d: d["office_cidrs"].append("198.51.100.0/24"), "prd: office")
        harness.git(s.repo.path, "checkout", "-q", "main")
        code, body = s.deliver("pull_request", harness.pr_payload(base, head),)
        self.assertEqual(code, 202, body)
        st = s.wait_status(head, "deploybot/prd", repo="Codertocat/Hello-World")
        self.assertEqual(st["state"], "success", st)
        self.assertRegex(st["description"], r"^Plan: \d+ to add, 0 to change, 0 to destroy\. \(not applied\)$")
        self.assertEqual(s.tagged("prd"), {})


if __name__ == "__main__":
    unittest.main(verbosity=2)
