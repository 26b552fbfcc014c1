"""The shipped `prd` stack, applied with `deploybot apply prd`, then changed
the ways issue 12 found wrong: its target group carries the seed's health
check (healthy 2, unhealthy 5, timeout 20 s, interval 30 s, /apps, 200) and
any of it changed out of band is planned back and repaired; a smaller
data_volume_size is refused by `plan` (exit 1, and a failed commit status
from the bot) before any AWS call that changes something; removing the
certificate modifies listener.http (redirect -> forward) instead of
replacing it; renaming the record is one in-place change, made as one
Route53 batch; a hosted zone that does not exist, or that does not hold the
record's name, or an availability zone the region does not have, is refused
at plan. What exists is read with boto3, without
server-side filters (the stack's resources are picked by their tags here),
and what was called from the fake's call log."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ENV = "prd"
PRD = "environments/prd/stack.json"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
SEED_HEALTH = {"HealthyThresholdCount": 2, "UnhealthyThresholdCount": 5, "HealthCheckTimeoutSeconds": 20,
               "HealthCheckIntervalSeconds": 30, "HealthCheckPath": "/apps", "Matcher": {"HttpCode": "200"}}
READ_ONLY = ("Describe", "List", "Get")


class PrdEdgeCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import boto3
        cls.s = harness.Stack()
        cls.clients = {}
        for service in ("ec2", "elbv2", "route53"):
            region = "us-east-1" if service == "route53" else harness.REGION
            cls.clients[service] = boto3.client(service, endpoint_url=cls.s.aws_url, region_name=region,
                                                aws_access_key_id=harness.AWS_KEY,
                                                aws_secret_access_key=harness.AWS_SECRET)
        p = cls.cli("apply", ENV)
        assert p.returncode == 0, p.stdout + p.stderr

    @classmethod
    def tearDownClass(cls):
        for c in cls.clients.values():
            c.close()
        cls.s.close()

    @classmethod
    def cli(cls, *args):
        return subprocess.run([harness.BIN] + list(args) + ["--dir", cls.s.repo.path], env=cls.s.env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, text=True)

    def run_bot(self, *args, rc=0):
        p = self.cli(*args)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, rc, out)
        return out

    def edit(self, **changes):
        """Commits prd's stack.json with `changes` (nothing when it has them)."""
        with open(os.path.join(self.s.repo.path, PRD)) as f:
            doc = json.load(f)
        if all(doc.get(k) == v for k, v in changes.items()):
            return self.s.repo.head()
        return self.s.repo.edit_json(PRD, lambda d: d.update(changes), "prd: %s" % ", ".join(changes))

    # ------------------------------------------------------------ the fake
    def last_seq(self):
        log = json.loads(harness.http("GET", self.s.aws_url + "/_fake/calls/log")[1])
        return log[-1]["seq"] if log else 0

    def calls_since(self, seq):
        log = json.loads(harness.http("GET", self.s.aws_url + "/_fake/calls/log")[1])
        return [c["action"] for c in log if c["seq"] > seq]

    def assert_nothing_changed_since(self, seq):
        calls = self.calls_since(seq)
        self.assertTrue(calls, "no AWS call at all")
        self.assertEqual([a for a in calls if not a.startswith(READ_ONLY)], [], calls)

    # ------------------------------------------------------------ via boto3
    @property
    def elb(self):
        return self.clients["elbv2"]

    @property
    def r53(self):
        return self.clients["route53"]

    def ours(self, items, arn_key):
        """{deploybot:id: item} of the items tagged with the stack."""
        by_arn = {i[arn_key]: i for i in items}
        arns, out = list(by_arn), {}
        for n in range(0, len(arns), 20):
            for d in self.elb.describe_tags(ResourceArns=arns[n:n + 20])["TagDescriptions"]:
                tags = {t["Key"]: t["Value"] for t in d["Tags"]}
                if tags.get("deploybot:stack") == ENV:
                    out[tags["deploybot:id"]] = by_arn[d["ResourceArn"]]
        return out

    def target_group(self):
        return self.ours(self.elb.describe_target_groups()["TargetGroups"], "TargetGroupArn")["target_group.app"]

    def load_balancer(self):
        return self.ours(self.elb.describe_load_balancers()["LoadBalancers"], "LoadBalancerArn")["load_balancer.main"]

    def listeners(self):
        lb = self.load_balancer()["LoadBalancerArn"]
        return {x["Port"]: x for x in self.elb.describe_listeners(LoadBalancerArn=lb)["Listeners"]}

    def volumes(self):
        out = {}
        for v in self.clients["ec2"].describe_volumes()["Volumes"]:
            tags = {t["Key"]: t["Value"] for t in v.get("Tags", [])}
            if tags.get("deploybot:stack") == ENV and tags.get("deploybot:id", "").startswith("volume."):
                out[tags["deploybot:id"]] = v
        return out

    def records(self, zone_id):
        sets = self.r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        return {(r["Name"], r["Type"]): r for r in sets}

    def zone(self, name, ref):
        zone_id = self.r53.create_hosted_zone(Name=name, CallerReference=ref)["HostedZone"]["Id"]
        return zone_id.rsplit("/", 1)[-1]

    # ------------------------------------------------------------------ tests
    def test_1_health_check_is_the_seeds_and_drift_is_planned_back(self):
        tg = self.target_group()
        self.assertEqual({k: tg[k] for k in SEED_HEALTH}, SEED_HEALTH)
        drifts = [("HealthyThresholdCount", 5, "health_check_healthy_threshold: 5 -> 2"),
                  ("UnhealthyThresholdCount", 2, "health_check_unhealthy_threshold: 2 -> 5"),
                  ("HealthCheckTimeoutSeconds", 5, "health_check_timeout: 5 -> 20"),
                  ("HealthCheckIntervalSeconds", 60, "health_check_interval: 60 -> 30"),
                  ("HealthCheckPath", "/", 'health_check_path: "/" -> "/apps"'),
                  ("Matcher", {"HttpCode": "200-399"}, 'health_check_matcher: "200-399" -> "200"')]
        for member, value, line in drifts:
            with self.subTest(member=member):
                self.elb.modify_target_group(TargetGroupArn=tg["TargetGroupArn"], **{member: value})
                out = self.run_bot("plan", ENV)
                self.assertIn(harness.squeezed("  ~ target_group.app (%s) will be updated in place\n      %s\n"
                                               % (tg["TargetGroupArn"], line)), harness.squeezed(out))
                self.assertIn("\n      %s\n" % line, out)
                self.assertIn("Plan: 0 to add, 1 to change, 0 to destroy.", out)
                self.assertIn("Apply complete: 0 added, 1 changed, 0 destroyed.", self.run_bot("apply", ENV))
                now = self.target_group()
                self.assertEqual(now["TargetGroupArn"], tg["TargetGroupArn"])
                self.assertEqual({k: now[k] for k in SEED_HEALTH}, SEED_HEALTH)
        self.assertIn("No changes.", self.run_bot("plan", ENV))

    def test_2_shrink_is_refused_at_plan(self):
        before = {lid: (v["VolumeId"], v["Size"]) for lid, v in self.volumes().items()}
        self.assertEqual(sorted(s for _, s in before.values()), [50, 50])
        base = self.s.repo.head()
        shrunk = self.edit(data_volume_size=40)
        self.addCleanup(self.edit, data_volume_size=50)
        for command in ("plan", "apply"):
            seq = self.last_seq()
            out = self.run_bot(command, ENV, rc=1)
            for lid, (vol, _) in before.items():
                self.assertIn("  %s: refusing to shrink %s from 50 GiB to 40 GiB (data_volume_size)" % (lid, vol), out)
            self.assertIn("Plan refused (nothing was changed):", out)
            self.assertNotIn("Apply", out)
            self.assert_nothing_changed_since(seq)

        # The bot: a failed status saying why, and nothing changed either.
        seq = self.last_seq()
        code, body = self.s.deliver("push", harness.push_payload(base, shrunk))
        self.assertEqual(code, 202, body)
        st = self.s.wait_status(shrunk, "deploybot/prd")
        self.assertEqual(st["state"], "failure", st)
        self.assertTrue(st["description"].startswith("Plan refused (2 changes): volume.data_"), st)
        self.assertRegex(st["description"], r"refusing to shrink vol-\w+ from 50 GiB to 40 GiB")
        self.assert_nothing_changed_since(seq)
        self.assertEqual({lid: (v["VolumeId"], v["Size"]) for lid, v in self.volumes().items()}, before)

    def test_3_certificate_removed_modifies_the_http_listener(self):
        self.edit(certificate_arn=CERT)
        self.assertIn("Apply complete: 1 added, 1 changed, 0 destroyed.", self.run_bot("apply", ENV))
        http = self.listeners()[80]
        https = self.listeners()[443]
        self.assertEqual(http["DefaultActions"][0]["Type"], "redirect")

        self.edit(certificate_arn=None)
        self.addCleanup(self.cli, "apply", ENV)    # the next tests start from a converged stack
        out = self.run_bot("plan", ENV)
        self.assertIn(harness.squeezed("  ~ listener.http (%s) will be updated in place\n" % http["ListenerArn"]),
                      harness.squeezed(out))
        self.assertIn(harness.squeezed("  - listener.https (%s) will be destroyed\n" % https["ListenerArn"]),
                      harness.squeezed(out))
        self.assertIn("Plan: 0 to add, 1 to change, 1 to destroy.", out)
        self.assertIn("Apply complete: 0 added, 1 changed, 1 destroyed.", self.run_bot("apply", ENV))
        listeners = self.listeners()
        self.assertEqual(sorted(listeners), [80])
        self.assertEqual(listeners[80]["ListenerArn"], http["ListenerArn"])    # the same listener
        action = listeners[80]["DefaultActions"][0]
        self.assertEqual((action["Type"], action["TargetGroupArn"]), ("forward", self.target_group()["TargetGroupArn"]))
        self.assertIn("No changes.", self.run_bot("plan", ENV))

    def test_4_record_rename_is_one_change_in_one_batch(self):
        zone_id = self.zone("example.com", "prd-rename")
        self.edit(zone_id=zone_id, record_name="dify.example.com")
        self.assertIn("Apply complete: 1 added, 0 changed, 0 destroyed.", self.run_bot("apply", ENV))
        lb = self.load_balancer()
        alias = {"HostedZoneId": lb["CanonicalHostedZoneId"], "DNSName": lb["DNSName"] + ".",
                 "EvaluateTargetHealth": False}
        self.assertEqual(self.records(zone_id)[("dify.example.com.", "A")]["AliasTarget"], alias)

        self.edit(record_name="app.example.com")
        out = self.run_bot("plan", ENV)
        self.assertIn("  ~ dns_record.main (%s/dify.example.com.) will be updated in place\n"
                      '      name: "dify.example.com." -> "app.example.com."\n' % zone_id, out)
        self.assertIn("Plan: 0 to add, 1 to change, 0 to destroy.", out)
        seq = self.last_seq()
        self.assertIn("Apply complete: 0 added, 1 changed, 0 destroyed.", self.run_bot("apply", ENV))
        self.assertEqual(self.calls_since(seq).count("ChangeResourceRecordSets"), 1)   # one batch
        records = self.records(zone_id)
        self.assertNotIn(("dify.example.com.", "A"), records)
        self.assertEqual(records[("app.example.com.", "A")]["AliasTarget"], alias)
        self.assertIn("No changes.", self.run_bot("plan", ENV))

    def test_0_one_zone_lookup_per_plan(self):
        """The apply of setUpClass checked four new subnets' zones with one
        DescribeAvailabilityZones."""
        calls = self.calls_since(0)
        self.assertEqual(calls.count("CreateSubnet"), 4, calls)
        self.assertEqual(calls.count("DescribeAvailabilityZones"), 1, calls)

    def test_5_zones_and_record_are_checked_at_plan(self):
        other = self.zone("example.org", "prd-other")
        seq = self.last_seq()
        self.edit(availability_zones=["eu-west-1a", "eu-west-1x"])     # named like one, not one
        self.addCleanup(self.edit, availability_zones=["eu-west-1a", "eu-west-1b"])
        out = self.run_bot("plan", ENV, rc=1)
        for subnet in ("subnet.public_b", "subnet.private_b"):
            self.assertIn("  %s: availability zone eu-west-1x (availability_zones) is not one of the region's: "
                          "eu-west-1a, eu-west-1b, eu-west-1c\n" % subnet, out)
        self.assertEqual(self.calls_since(seq).count("DescribeAvailabilityZones"), 1)
        self.edit(availability_zones=["eu-west-1a", "eu-west-1b"])
        self.assertIn("No changes.", self.run_bot("plan", ENV))
        self.edit(zone_id="Z0000000000000NOZONE", record_name="app.example.com")
        out = self.run_bot("plan", ENV, rc=1)
        self.assertIn("  dns_record.main: hosted zone Z0000000000000NOZONE (zone_id) does not exist, so record_name "
                      "app.example.com. cannot be made in it: NoSuchHostedZone: ", out)

        self.edit(zone_id=other, record_name="app.example.com")
        out = self.run_bot("apply", ENV, rc=1)
        self.assertIn("  dns_record.main: record_name app.example.com. is not in hosted zone %s (zone_id), "
                      "which is example.org." % other, out)
        self.assertNotIn("Apply", out)
        self.assert_nothing_changed_since(seq)
        self.assertEqual(sorted(self.records(other)), [("example.org.", "NS"), ("example.org.", "SOA")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
