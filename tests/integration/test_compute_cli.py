"""`deploybot plan/apply/destroy` of the compute layer (launch template,
instances, EBS data volumes and their attachments) against the fake AWS:
create with the network, no-op re-plan, scale down and up (a lost
RunInstances answer retried without a second instance), a new instance type
(new launch template version, instances replaced), a grown volume and a
refused shrink, a user-data change (instances replaced, the same volumes
re-attached) with a failure mid-apply and a converging re-apply, destroy.
Checked with boto3, never with what deploybot prints alone."""
import base64
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

ENV = "prd"
COMPUTE = ("launch_template", "instance", "volume", "volume_attachment")


def compute_changes(out):
    """{logical id: "+", "~", "-/+" or "-"} of the compute layer in a plan
    (other layers react to instances too: they have their own tests)."""
    found = {}
    for m in re.finditer(r"^  (\+|~|-/\+|-) ([a-z_]+)\.(\S+)", out, re.M):
        if m.group(2) in COMPUTE:
            found[m.group(2) + "." + m.group(3)] = m.group(1)
    return found


class ComputeCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Stack(start_bot=False)
        cls.dir = tempfile.mkdtemp(prefix="deploybot-compute-")
        shutil.rmtree(cls.dir)
        shutil.copytree(os.path.join(harness.SRC, "deploy-configs"), cls.dir)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls.s, "_ec2", None):
            cls.s._ec2.close()
        cls.s.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_bot(self, *args, ok=True):
        env = self.s.env()
        env["DEPLOYBOT_AWS_PAGE_SIZE"] = "5"      # discovery paginates
        env["DEPLOYBOT_WAIT_POLL_MS"] = "20"      # waiters poll fast; the fake settles on the next look
        p = subprocess.run([harness.BIN] + list(args) + ["--dir", self.dir], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode == 0, ok, out)
        return out

    def edit(self, **changes):
        path = os.path.join(self.dir, "environments", ENV, "stack.json")
        with open(path) as f:
            doc = json.load(f)
        doc.update(changes)
        with open(path, "w") as f:
            json.dump(doc, f)

    def fault(self, **spec):
        harness.fault(self.s.aws_url, **spec)

    def calls(self, action):
        code, body = harness.http("GET", self.s.aws_url + "/_fake/calls")
        return json.loads(body).get(action, 0)

    # ------------------------------------------------------------ via boto3
    @staticmethod
    def tag(item, key):
        return {t["Key"]: t["Value"] for t in item.get("Tags", [])}.get(key)

    def stack_filter(self):
        return [{"Name": "tag:deploybot:stack", "Values": [ENV]}]

    def instances(self):
        """{logical id: instance} of the stack's instances that are not terminated."""
        flt = self.stack_filter() + [{"Name": "instance-state-name",
                                      "Values": ["pending", "running", "stopping", "stopped"]}]
        pages = self.s.ec2().get_paginator("describe_instances").paginate(Filters=flt)
        return {self.tag(i, "deploybot:id"): i for p in pages for r in p["Reservations"] for i in r["Instances"]}

    def volumes(self):
        """{logical id: volume} of the stack's data volumes (root volumes have no deploybot:id)."""
        vols = self.s.ec2().describe_volumes(Filters=self.stack_filter())["Volumes"]
        return {self.tag(v, "deploybot:id"): v for v in vols
                if self.tag(v, "deploybot:id") and v["State"] not in ("deleting", "deleted")}

    def subnet_ids(self):
        subnets = self.s.ec2().describe_subnets(Filters=self.stack_filter())["Subnets"]
        return {self.tag(s, "deploybot:id"): s for s in subnets}

    def user_data(self, instance_id):
        attr = self.s.ec2().describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
        return base64.b64decode(attr["UserData"]["Value"]).decode()

    def default_version(self):
        templates = self.s.ec2().describe_launch_templates(Filters=self.stack_filter())["LaunchTemplates"]
        self.assertEqual(len(templates), 1)
        return self.s.ec2().describe_launch_template_versions(
            LaunchTemplateId=templates[0]["LaunchTemplateId"], Versions=["$Default"])["LaunchTemplateVersions"][0]

    def assert_attached(self, count, size, itype):
        """`count` running instances, each with its own encrypted gp3 volume in
        its zone attached at /dev/xvdf, spread over the private subnets."""
        instances, volumes, subnets = self.instances(), self.volumes(), self.subnet_ids()
        self.assertEqual(sorted(instances), [f"instance.app_{i}" for i in range(1, count + 1)])
        self.assertEqual(sorted(volumes), [f"volume.data_{i}" for i in range(1, count + 1)])
        for i in range(1, count + 1):
            inst, vol = instances[f"instance.app_{i}"], volumes[f"volume.data_{i}"]
            subnet = subnets["subnet.private_" + "ab"[(i - 1) % 2]]
            self.assertEqual(inst["State"]["Name"], "running")
            self.assertEqual(inst["InstanceType"], itype)
            self.assertEqual(inst["SubnetId"], subnet["SubnetId"])
            self.assertEqual(inst["MetadataOptions"]["HttpTokens"], "required")   # from the template
            self.assertEqual([g["GroupId"] for g in inst["SecurityGroups"]],
                             [self.s.ec2().describe_security_groups(Filters=self.stack_filter() + [
                                 {"Name": "tag:deploybot:id", "Values": ["security_group.app"]}])
                              ["SecurityGroups"][0]["GroupId"]])
            self.assertEqual((vol["VolumeType"], vol["Encrypted"], vol["Size"]), ("gp3", True, size))
            self.assertEqual(vol["AvailabilityZone"], subnet["AvailabilityZone"])
            self.assertEqual([(a["InstanceId"], a["Device"], a["State"]) for a in vol["Attachments"]],
                             [(inst["InstanceId"], "/dev/xvdf", "attached")])
            # The user-data names the instance's own data volume.
            self.assertIn('DATA_VOLUME_ID="%s"' % vol["VolumeId"], self.user_data(inst["InstanceId"]))
        return instances, volumes

    # ---------------------------------------------------------------- test
    def test_lifecycle(self):
        out = self.run_bot("plan", ENV)
        for line in ("  + launch_template.app will be created", "  + instance.app_2 will be created",
                     "  + volume.data_1 will be created", "  + volume_attachment.data_2 will be created",
                     '      device = "/dev/xvdf"', "      subnet = subnet.private_b.id"):
            self.assertIn(line, out)

        out = self.run_bot("apply", ENV)
        self.assertIn("Apply complete", out)
        instances, volumes = self.assert_attached(2, 50, "t3.large")
        if "  + instance_profile.main" in out:     # the IAM layer's profile, named by the template
            profile = self.default_version()["LaunchTemplateData"]["IamInstanceProfile"]["Name"]
            self.assertTrue(profile.startswith("deploybot-%s-" % ENV), profile)
            for inst in instances.values():    # ARN: ...:instance-profile/<path>/<name>
                self.assertTrue(inst["IamInstanceProfile"]["Arn"].endswith("/" + profile), inst["IamInstanceProfile"])
        version = self.default_version()
        self.assertEqual(version["VersionNumber"], 1)
        self.assertEqual(version["LaunchTemplateData"]["InstanceType"], "t3.large")
        self.assertEqual(self.tag(instances["instance.app_1"], "aws:ec2launchtemplate:id"),
                         version["LaunchTemplateId"])
        self.assertIn("No changes.", self.run_bot("plan", ENV))

        # Scale down: the instance, its volume and the attachment go.
        self.edit(instance_count=1)
        out = self.run_bot("apply", ENV)
        self.assertEqual(compute_changes(out), {"instance.app_2": "-", "volume.data_2": "-",
                                                "volume_attachment.data_2": "-"})
        self.assertIn("Apply complete", out)
        self.assert_attached(1, 50, "t3.large")

        # Scale up, the answer of the launch lost once: the client token makes
        # the retried RunInstances return the same instance.
        self.edit(instance_count=2)
        self.fault(action="RunInstances", error="InternalError", status=500, count=1, apply=True)
        before = self.calls("RunInstances")
        out = self.run_bot("apply", ENV)
        self.assertEqual(compute_changes(out), {"instance.app_2": "+", "volume.data_2": "+",
                                                "volume_attachment.data_2": "+"})
        self.assertEqual(self.calls("RunInstances") - before, 2)
        instances, volumes = self.assert_attached(2, 50, "t3.large")
        self.assertIn("No changes.", self.run_bot("plan", ENV))

        # A new type: a new default version of the template, new instances, same volumes.
        self.edit(instance_type="t3.xlarge")
        out = self.run_bot("apply", ENV)
        self.assertIn("  ~ launch_template.app", out)
        self.assertIn("  -/+ instance.app_1 (%s) must be replaced (instance_type forces replacement)"
                      % instances["instance.app_1"]["InstanceId"], out)
        self.assertEqual(compute_changes(out), {"launch_template.app": "~", "instance.app_1": "-/+",
                                                "instance.app_2": "-/+", "volume_attachment.data_1": "-/+",
                                                "volume_attachment.data_2": "-/+"})
        new_instances, new_volumes = self.assert_attached(2, 50, "t3.xlarge")
        self.assertEqual({k: v["VolumeId"] for k, v in new_volumes.items()},
                         {k: v["VolumeId"] for k, v in volumes.items()})
        self.assertNotEqual(new_instances["instance.app_1"]["InstanceId"], instances["instance.app_1"]["InstanceId"])
        version = self.default_version()
        self.assertEqual((version["VersionNumber"], version["LaunchTemplateData"]["InstanceType"]), (2, "t3.xlarge"))

        # Volumes grow in place; shrinking is refused before anything changes.
        self.edit(data_volume_size=60)
        out = self.run_bot("apply", ENV)
        self.assertIn("      size: 50 -> 60", out)
        self.assertEqual(compute_changes(out), {"volume.data_1": "~", "volume.data_2": "~"})
        self.assert_attached(2, 60, "t3.xlarge")
        self.edit(data_volume_size=10)
        out = self.run_bot("apply", ENV, ok=False)
        self.assertIn("EBS cannot shrink a volume", out)
        self.assert_attached(2, 60, "t3.xlarge")
        self.edit(data_volume_size=60)

        # New user-data: the instances are replaced, the volumes stay and are
        # attached to the new ones. An attach fails once mid-apply; the next
        # apply finishes the job.
        instances, volumes = self.instances(), self.volumes()
        with open(os.path.join(self.dir, "modules/dify/user_data.sh"), "a") as f:
            f.write("# deploybot test: new user-data\n")
        out = self.run_bot("plan", ENV)
        self.assertIn("  -/+ instance.app_2 (%s) must be replaced (user_data_sha256 forces replacement)"
                      % instances["instance.app_2"]["InstanceId"], out)
        self.assertEqual(compute_changes(out), {"instance.app_1": "-/+", "instance.app_2": "-/+",
                                                "volume_attachment.data_1": "-/+",
                                                "volume_attachment.data_2": "-/+"})
        self.fault(action="AttachVolume", error="InternalError", status=400, count=1, after=1)
        out = self.run_bot("apply", ENV, ok=False)
        self.assertIn("Apply failed after", out)
        self.assertIn("not done:", out)
        out = self.run_bot("apply", ENV)
        self.assertIn("Apply complete", out)
        self.assertIn("No changes.", self.run_bot("plan", ENV))
        new_instances, new_volumes = self.assert_attached(2, 60, "t3.xlarge")
        self.assertEqual({k: v["VolumeId"] for k, v in new_volumes.items()},
                         {k: v["VolumeId"] for k, v in volumes.items()})
        for lid, inst in new_instances.items():
            self.assertNotEqual(inst["InstanceId"], instances[lid]["InstanceId"])
            self.assertIn("# deploybot test: new user-data", self.user_data(inst["InstanceId"]))
        old = self.s.ec2().describe_instances(InstanceIds=[i["InstanceId"] for i in instances.values()])
        self.assertEqual({i["State"]["Name"] for r in old["Reservations"] for i in r["Instances"]},
                         {"terminated"})

        out = self.run_bot("destroy", ENV, "--yes")
        self.assertIn("Apply complete", out)
        self.assertEqual(self.instances(), {})
        self.assertEqual(self.volumes(), {})
        self.assertEqual(self.s.ec2().describe_launch_templates(Filters=self.stack_filter())["LaunchTemplates"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
