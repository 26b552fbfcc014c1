"""No data lost, with the real binary against the fake AWS: a data volume is
deleted only after a completed final snapshot of it, tagged with its stack
and logical id (lowering instance_count, destroy), and the plan says so; an
apply that stopped waiting for one waits for the same snapshot next time;
skip_final_snapshot takes none; prevent_destroy refuses a destroy, a plan
that replaces the load balancer and one that deletes a volume, with nothing
changed, and fails the bot's commit status (set in stack.json or by the
operator's config); a launch template change
launches the replacement instances from the template's new version, named
by its number. Everything is checked with boto3 and the fake's calls log,
filtered on the client side (the fake may ignore server-side filters)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ENV = "prd"      # two instances, two data volumes
READ_ONLY = ("Describe", "List", "Get")


def tags(item):
    return {t["Key"]: t["Value"] for t in item.get("Tags", [])}


def calls_log(s):
    code, body = harness.http("GET", s.aws_url + "/_fake/calls/log")
    assert code == 200, body
    return json.loads(body)


def forget_calls(s):
    code, body = harness.http("DELETE", s.aws_url + "/_fake/calls")
    assert code < 300, body


def mutating_calls(s):
    return [c["action"] for c in calls_log(s) if not c["action"].startswith(READ_ONLY)]


class CliBase(unittest.TestCase):
    """A fresh fake and a copy of the shipped configs per test."""

    def setUp(self):
        self.s = harness.Stack(start_bot=False)
        self.dir = tempfile.mkdtemp(prefix="deploybot-data-")
        shutil.rmtree(self.dir)
        shutil.copytree(os.path.join(harness.SRC, "deploy-configs"), self.dir)

    def tearDown(self):
        if getattr(self.s, "_ec2", None):
            self.s._ec2.close()
        self.s.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_bot(self, *args, ok=True):
        p = subprocess.run([harness.BIN] + list(args) + ["--dir", self.dir], env=self.s.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, 0 if ok else 1, out)
        return out

    def edit(self, **changes):
        path = os.path.join(self.dir, "environments", ENV, "stack.json")
        with open(path) as f:
            doc = json.load(f)
        doc.update(changes)
        with open(path, "w") as f:
            json.dump(doc, f)

    def snapshots(self):
        """{logical id: [snapshot, ...]} of the stack's snapshots."""
        out = {}
        for page in self.s.ec2().get_paginator("describe_snapshots").paginate(OwnerIds=["self"]):
            for snap in page["Snapshots"]:
                t = tags(snap)
                if t.get("deploybot:stack") == ENV:
                    out.setdefault(t.get("deploybot:id"), []).append(snap)
        return out

    def volumes(self):
        """{logical id: volume} of the stack's live data volumes."""
        out = {}
        for page in self.s.ec2().get_paginator("describe_volumes").paginate():
            for v in page["Volumes"]:
                t = tags(v)
                if t.get("deploybot:stack") == ENV and t.get("deploybot:id") and v["State"] not in ("deleting", "deleted"):
                    out[t["deploybot:id"]] = v
        return out

    def instances(self):
        """{logical id: instance} of the stack's instances that are not terminated."""
        out = {}
        for page in self.s.ec2().get_paginator("describe_instances").paginate():
            for r in page["Reservations"]:
                for i in r["Instances"]:
                    if tags(i).get("deploybot:stack") == ENV and i["State"]["Name"] in ("pending", "running"):
                        out[tags(i)["deploybot:id"]] = i
        return out

    def load_balancers(self):
        elb = self.s._client("elbv2")
        arns = [lb["LoadBalancerArn"] for lb in elb.describe_load_balancers()["LoadBalancers"]]
        found = [d for i in range(0, len(arns), 20)
                 for d in elb.describe_tags(ResourceArns=arns[i:i + 20])["TagDescriptions"]
                 if tags(d).get("deploybot:stack") == ENV]
        elb.close()
        return found

    def assert_final_snapshot(self, snap, logical_id, volume):
        t = tags(snap)
        self.assertEqual(snap["State"], "completed", snap)
        self.assertEqual(snap["VolumeId"], volume["VolumeId"])
        self.assertEqual(snap["VolumeSize"], volume["Size"])
        self.assertEqual((t["deploybot:stack"], t["deploybot:id"], t["deploybot:final_snapshot_of"]),
                         (ENV, logical_id, volume["VolumeId"]))
        self.assertRegex(t["deploybot:final_snapshot_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def assert_snapshot_then_delete(self, volume_ids):
        """Each volume was deleted after its snapshot was seen completed."""
        log = calls_log(self.s)
        deletes = [c["seq"] for c in log if c["action"] == "DeleteVolume"]
        creates = [c["seq"] for c in log if c["action"] == "CreateSnapshot"]
        self.assertEqual(len(deletes), len(volume_ids))
        self.assertEqual(len(creates), len(volume_ids))
        for create, delete in zip(sorted(creates), sorted(deletes)):
            between = [c["action"] for c in log if create < c["seq"] < delete]
            self.assertIn("DescribeSnapshots", between)


class Cli(CliBase):
    def test_final_snapshots_when_scaling_down_and_destroying(self):
        out = self.run_bot("apply", ENV)
        self.assertIn("Apply complete", out)
        self.assertNotIn("final snapshot", out)
        volumes = self.volumes()
        self.assertEqual(sorted(volumes), ["volume.data_1", "volume.data_2"])

        self.edit(instance_count=1)
        out = self.run_bot("plan", ENV)
        vol2 = volumes["volume.data_2"]["VolumeId"]
        self.assertIn(harness.squeezed("  - volume.data_2 (%s) will be destroyed\n"
                                       "      + final snapshot of %s (tagged deploybot:id=volume.data_2), "
                                       "completed before it is deleted\n" % (vol2, vol2)), harness.squeezed(out))
        self.assertRegex(out, r"\nPlan: 0 to add, \d+ to change, \d+ to destroy\. 1 final snapshot to take\.\n")
        self.assertEqual(self.snapshots(), {})

        forget_calls(self.s)
        out = self.run_bot("apply", ENV)
        self.assertIn("volume.data_2: destroyed (%s) after its final snapshot completed" % vol2, out)
        snaps = self.snapshots()
        self.assertEqual(sorted(snaps), ["volume.data_2"])
        self.assertEqual(len(snaps["volume.data_2"]), 1)
        self.assert_final_snapshot(snaps["volume.data_2"][0], "volume.data_2", volumes["volume.data_2"])
        self.assert_snapshot_then_delete([vol2])
        self.assertEqual(sorted(self.volumes()), ["volume.data_1"])
        self.assertIn("No changes.", self.run_bot("plan", ENV))

        forget_calls(self.s)
        out = self.run_bot("destroy", ENV, "--yes")
        self.assertRegex(out, r"\nPlan: 0 to add, 0 to change, \d+ to destroy\. 1 final snapshot to take\.\n")
        self.assertIn("Apply complete", out)
        self.assertEqual(self.volumes(), {})
        self.assert_snapshot_then_delete([volumes["volume.data_1"]["VolumeId"]])
        snaps = self.snapshots()
        self.assertEqual({k: len(v) for k, v in snaps.items()}, {"volume.data_1": 1, "volume.data_2": 1})
        for lid, [snap] in snaps.items():
            self.assert_final_snapshot(snap, lid, volumes[lid])
        # Snapshots are not resources of the stack: nothing left to destroy.
        self.assertEqual(self.s.owned_ids(ENV), [])
        self.assertIn("No changes.", self.run_bot("destroy", ENV, "--yes"))
        self.assertEqual({k: len(v) for k, v in self.snapshots().items()}, {"volume.data_1": 1, "volume.data_2": 1})

    def test_skip_final_snapshot_takes_none(self):
        self.edit(skip_final_snapshot=True)
        self.assertIn("Apply complete", self.run_bot("apply", ENV))
        volumes = self.volumes()
        out = self.run_bot("destroy", ENV, "--yes")
        for lid, v in volumes.items():
            self.assertIn(harness.squeezed("  - %s (%s) will be destroyed\n      no final snapshot of %s "
                                           "(skip_final_snapshot): its data is lost\n"
                                           % (lid, v["VolumeId"], v["VolumeId"])), harness.squeezed(out))
        self.assertNotIn("final snapshot to take", out)
        self.assertNotIn("final snapshots to take", out)
        self.assertIn("Apply complete", out)
        self.assertEqual(self.volumes(), {})
        self.assertEqual(self.snapshots(), {})
        self.assertNotIn("CreateSnapshot", [c["action"] for c in calls_log(self.s)])

    def test_prevent_destroy_refuses_with_nothing_changed(self):
        self.edit(prevent_destroy=True)
        self.assertIn("Apply complete", self.run_bot("apply", ENV))   # creating is fine
        volumes, instances = self.volumes(), self.instances()
        self.assertEqual(len(self.load_balancers()), 1)
        why = ("Plan refused (nothing was changed):\n"
               "  prevent_destroy is set (environments/%s/stack.json): refusing a plan that deletes " % ENV)

        forget_calls(self.s)
        out = self.run_bot("destroy", ENV, "--yes", ok=False)
        self.assertIn(why, out)
        for lid, v in volumes.items():
            self.assertIn("%s (%s)" % (lid, v["VolumeId"]), out)
        self.assertIn("load_balancer.main", out)
        self.assertNotIn("Apply complete", out)

        # A new VPC replaces the load balancer: refused, at plan as at apply.
        self.edit(vpc_cidr="10.31.0.0/16", public_subnet_cidrs=["10.31.0.0/24", "10.31.1.0/24"],
                  private_subnet_cidrs=["10.31.10.0/24", "10.31.11.0/24"])
        for cmd in ("plan", "apply"):
            out = self.run_bot(cmd, ENV, ok=False)
            self.assertIn(why + "load_balancer.main by replacing it\n", out)
            self.assertIn("  -/+ load_balancer.main", out)   # the plan is shown all the same

        # One instance fewer deletes its data volume: refused, reported with
        # the plan's other refusals (a shrink here).
        self.edit(vpc_cidr="10.30.0.0/16", public_subnet_cidrs=["10.30.0.0/24", "10.30.1.0/24"],
                  private_subnet_cidrs=["10.30.10.0/24", "10.30.11.0/24"], instance_count=1)
        out = self.run_bot("apply", ENV, ok=False)
        self.assertIn(why + "volume.data_2 (%s)\n" % volumes["volume.data_2"]["VolumeId"], out)
        self.edit(data_volume_size=40)
        out = self.run_bot("apply", ENV, ok=False)
        self.assertIn(why + "volume.data_2 (%s)\n  volume.data_1: refusing to shrink %s"
                      % (volumes["volume.data_2"]["VolumeId"], volumes["volume.data_1"]["VolumeId"]), out)
        self.edit(data_volume_size=50)

        self.assertEqual(mutating_calls(self.s), [])
        self.assertEqual({k: v["VolumeId"] for k, v in self.volumes().items()},
                         {k: v["VolumeId"] for k, v in volumes.items()})
        self.assertEqual({k: v["InstanceId"] for k, v in self.instances().items()},
                         {k: v["InstanceId"] for k, v in instances.items()})
        self.assertEqual(len(self.load_balancers()), 1)
        self.assertEqual(self.snapshots(), {})

        # Lifted in a change of its own, the same plan goes ahead.
        self.edit(prevent_destroy=False)
        self.assertIn("Apply complete", self.run_bot("apply", ENV))
        self.assertEqual(sorted(self.snapshots()), ["volume.data_2"])

    def test_launch_template_change_launches_its_new_version(self):
        self.assertIn("Apply complete", self.run_bot("apply", ENV))
        ec2 = self.s.ec2()
        template = [t for t in ec2.describe_launch_templates()["LaunchTemplates"]
                    if tags(t).get("deploybot:stack") == ENV]
        self.assertEqual(len(template), 1)
        template_id = template[0]["LaunchTemplateId"]
        for inst in self.instances().values():
            self.assertEqual(tags(inst)["aws:ec2launchtemplate:version"], "1")

        # The new version becomes the default slowly: the instances must not
        # be launched from the old one meanwhile.
        self.edit(instance_type="t3.xlarge")
        harness.fault(self.s.aws_url, action="ModifyLaunchTemplate", error=None, delay_ms=1500, count=1)
        out = self.run_bot("apply", ENV)
        self.assertIn("  ~ launch_template.app", out)
        default = ec2.describe_launch_template_versions(LaunchTemplateId=template_id,
                                                        Versions=["$Default"])["LaunchTemplateVersions"][0]
        self.assertEqual((default["VersionNumber"], default["LaunchTemplateData"]["InstanceType"]), (2, "t3.xlarge"))
        instances = self.instances()
        self.assertEqual(sorted(instances), ["instance.app_1", "instance.app_2"])
        for inst in instances.values():
            self.assertEqual(inst["InstanceType"], "t3.xlarge")
            self.assertEqual((tags(inst)["aws:ec2launchtemplate:id"], tags(inst)["aws:ec2launchtemplate:version"]),
                             (template_id, "2"))
        self.assertIn("No changes.", self.run_bot("plan", ENV))


class SlowSnapshots(CliBase):
    """A fake whose asynchronous changes complete only once a Describe has
    shown them (or after a minute): a snapshot stays pending while nobody looks."""

    def setUp(self):
        fake = harness.Stack._fake

        def slow(stack, name, extra):
            return fake(stack, name, extra + (["--transition-ms", "60000"] if name == "fake_aws" else []))
        harness.Stack._fake = slow
        try:
            super().setUp()
        finally:
            harness.Stack._fake = fake

    def test_interrupted_final_snapshot_is_waited_for_not_taken_again(self):
        self.assertIn("Apply complete", self.run_bot("apply", ENV))
        vol2 = self.volumes()["volume.data_2"]
        self.edit(instance_count=1)
        # The wait for the snapshot fails at its first look: the volume stays.
        harness.fault(self.s.aws_url, action="DescribeSnapshots", error="InternalError", status=400,
                      after=1, count=1)
        out = self.run_bot("apply", ENV, ok=False)
        self.assertIn("volume.data_2: destroy failed", out)
        self.assertEqual(self.volumes()["volume.data_2"]["VolumeId"], vol2["VolumeId"])
        # The next apply waits for that same snapshot, then deletes the volume.
        out = self.run_bot("apply", ENV)
        self.assertIn("Apply complete", out)
        self.assertNotIn("volume.data_2", self.volumes())
        snaps = self.snapshots()
        self.assertEqual({k: len(v) for k, v in snaps.items()}, {"volume.data_2": 1})
        self.assert_final_snapshot(snaps["volume.data_2"][0], "volume.data_2", vol2)
        self.assertEqual([c["action"] for c in calls_log(self.s)].count("CreateSnapshot"), 1)


class Bot(unittest.TestCase):
    """The bot's commit status for a plan refused by prevent_destroy, set in
    stack.json or by the operator's config."""

    DEV = "environments/dev/stack.json"
    NEW_VPC = dict(vpc_cidr="10.11.0.0/16", public_subnet_cidrs=["10.11.0.0/24", "10.11.1.0/24"],
                   private_subnet_cidrs=["10.11.10.0/24", "10.11.11.0/24"])

    def setUp(self):
        self.s = harness.Stack(start_bot=False)

    def tearDown(self):
        self.s.close()

    def push(self, before, after):
        code, body = self.s.deliver("push", harness.push_payload(before, after))
        self.assertEqual(code, 202, body)
        return self.s.wait_status(after, "deploybot/dev", timeout=120)

    def refused_new_vpc(self, first_change, by):
        """Applies dev with first_change, then pushes a new VPC: refused."""
        s = self.s
        base = s.repo.head()
        c1 = s.repo.edit_json(self.DEV, first_change, "dev: first")
        st = self.push(base, c1)
        self.assertEqual(st["state"], "success", st)
        forget_calls(s)
        c2 = s.repo.edit_json(self.DEV, lambda d: d.update(self.NEW_VPC), "dev: new VPC")
        st = self.push(c1, c2)
        self.assertEqual(st["state"], "failure", st)
        self.assertEqual(st["description"], "Plan refused: prevent_destroy is set (%s): refusing a plan that "
                                            "deletes load_balancer.main by replacing it" % by)
        self.assertEqual(mutating_calls(s), [])

    def test_stack_json_prevent_destroy_fails_the_status(self):
        self.s.start_bot()
        self.refused_new_vpc(lambda d: d.update(prevent_destroy=True), "environments/dev/stack.json")

    def test_operators_prevent_destroy_fails_the_status(self):
        path = self.s.config_path()
        with open(path) as f:
            cfg = json.load(f)
        cfg["environments"] = {"dev": {"prevent_destroy": True}}
        with open(path, "w") as f:
            json.dump(cfg, f)
        self.s.start_bot()
        self.refused_new_vpc(lambda d: d["office_cidrs"].append("198.51.100.0/24"), "the operator's config")


if __name__ == "__main__":
    unittest.main(verbosity=2)
