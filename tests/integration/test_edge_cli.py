"""`deploybot plan/apply/destroy` of the stack's edge (IAM role and instance
profile, application load balancer, target group, listeners, target
registrations, Route53 alias) against the fake AWS: create from nothing
with lost answers retried, no-op re-plan, a certificate added (HTTPS
listener created, HTTP turned into a redirect in place), the alias record
created in a zone, a record name that someone else's record holds refused
and the apply converging once it is fixed, destroy leaving nothing — and
never touching what is not the stack's. Checked with boto3, never with what
deploybot prints alone."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ENV = "stg"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
SSM_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


class EdgeCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import boto3
        cls.s = harness.Stack(start_bot=False)
        cls.dir = tempfile.mkdtemp(prefix="deploybot-edge-")
        shutil.rmtree(cls.dir)
        shutil.copytree(os.path.join(harness.SRC, "deploy-configs"), cls.dir)
        cls.clients = {}
        for service in ("ec2", "elbv2", "iam", "route53"):
            region = "us-east-1" if service in ("iam", "route53") else harness.REGION   # global services
            cls.clients[service] = boto3.client(service, endpoint_url=cls.s.aws_url, region_name=region,
                                                aws_access_key_id=harness.AWS_KEY,
                                                aws_secret_access_key=harness.AWS_SECRET)

    @classmethod
    def tearDownClass(cls):
        for c in cls.clients.values():
            c.close()
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
    @property
    def elb(self):
        return self.clients["elbv2"]

    @property
    def iam(self):
        return self.clients["iam"]

    @property
    def r53(self):
        return self.clients["route53"]

    def tagged(self, arns):
        """{deploybot:id: arn} of the ARNs tagged with the stack."""
        out = {}
        for i in range(0, len(arns), 20):
            for d in self.elb.describe_tags(ResourceArns=arns[i:i + 20])["TagDescriptions"]:
                tags = {t["Key"]: t["Value"] for t in d["Tags"]}
                if tags.get("deploybot:stack") == ENV:
                    out[tags["deploybot:id"]] = d["ResourceArn"]
        return out

    def load_balancers(self):
        lbs = {lb["LoadBalancerArn"]: lb for lb in self.elb.describe_load_balancers()["LoadBalancers"]}
        return {lid: lbs[arn] for lid, arn in self.tagged(list(lbs)).items()}

    def target_groups(self):
        tgs = {tg["TargetGroupArn"]: tg for tg in self.elb.describe_target_groups()["TargetGroups"]}
        return {lid: tgs[arn] for lid, arn in self.tagged(list(tgs)).items()}

    def listeners(self, lb_arn):
        return {x["Port"]: x for x in self.elb.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]}

    def instance_ids(self):
        flt = [{"Name": "tag:deploybot:stack", "Values": [ENV]},
               {"Name": "instance-state-name", "Values": ["pending", "running"]}]
        pages = self.clients["ec2"].get_paginator("describe_instances").paginate(Filters=flt)
        return sorted(i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"])

    def alias(self, zone_id, name):
        sets = self.r53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name,
                                                  StartRecordType="A", MaxItems="1")["ResourceRecordSets"]
        return sets[0] if sets and sets[0]["Name"] == name and sets[0]["Type"] == "A" else None

    def foreign(self):
        """Things deploybot must never touch: an untagged group and another
        environment's group in the same account, a role outside its path."""
        vpc = self.clients["ec2"].create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
        untagged = self.elb.create_target_group(Name="someone-else", Protocol="HTTP", Port=80, VpcId=vpc)
        other_env = self.elb.create_target_group(Name="deploybot-prd-app", Protocol="HTTP", Port=80, VpcId=vpc, Tags=[
            {"Key": "deploybot:stack", "Value": "prd"}, {"Key": "deploybot:id", "Value": "target_group.app"}])
        arns = [g["TargetGroups"][0]["TargetGroupArn"] for g in (untagged, other_env)]
        self.iam.create_role(RoleName="deploybot-stg-app-role-copy", Path="/other/", AssumeRolePolicyDocument=TRUST)
        return arns

    # ------------------------------------------------------------------ test
    def test_lifecycle(self):
        foreign_tgs = self.foreign()
        self.edit(instance_count=2)
        out = self.run_bot("plan", ENV)
        for line in ("+ iam_role.app will be created", "+ instance_profile.main will be created",
                     "+ load_balancer.main will be created", "+ target_group.app will be created",
                     "+ listener.http will be created", "+ target_registration.app_1 will be created",
                     "+ target_registration.app_2 will be created"):
            self.assertIn(line, out)
        self.assertNotIn("listener.https", out)
        self.assertNotIn("dns_record", out)
        self.assertEqual(self.load_balancers(), {})             # plan changes nothing

        # Answers lost after the call took effect: the retries must not make a second one.
        self.fault(action="CreateTargetGroup", error="InternalError", status=500, apply=True)
        self.fault(action="CreateListener", error="InternalError", status=500, apply=True)
        self.fault(action="DescribeTags", error="Throttling", status=400, count=2)
        out = self.run_bot("apply", ENV)
        self.assertIn("Apply complete", out)
        self.assertIn("load_balancer.main: created", out)

        lbs = self.load_balancers()
        self.assertEqual(list(lbs), ["load_balancer.main"])
        lb = lbs["load_balancer.main"]
        self.assertEqual((lb["State"]["Code"], lb["Scheme"], lb["Type"], lb["LoadBalancerName"]),
                         ("active", "internet-facing", "application", "deploybot-stg"))
        subnets = {s["SubnetId"]: s for s in self.clients["ec2"].describe_subnets(
            SubnetIds=[z["SubnetId"] for z in lb["AvailabilityZones"]])["Subnets"]}
        self.assertEqual(sorted({t["Key"]: t["Value"] for t in s["Tags"]}["deploybot:id"] for s in subnets.values()),
                         ["subnet.public_a", "subnet.public_b"])
        group = self.clients["ec2"].describe_security_groups(GroupIds=lb["SecurityGroups"])["SecurityGroups"][0]
        self.assertEqual(group["GroupName"], "deploybot-stg-alb")

        tgs = self.target_groups()
        self.assertEqual(list(tgs), ["target_group.app"])       # one, despite the retried create
        tg = tgs["target_group.app"]
        self.assertEqual((tg["Protocol"], tg["Port"], tg["TargetType"], tg["HealthCheckPath"],
                          tg["Matcher"]["HttpCode"], tg["VpcId"]), ("HTTP", 80, "instance", "/apps", "200", lb["VpcId"]))
        listeners = self.listeners(lb["LoadBalancerArn"])
        self.assertEqual(list(listeners), [80])                 # one, despite the retried create
        http = listeners[80]
        self.assertEqual((http["Protocol"], http["DefaultActions"][0]["Type"], http["DefaultActions"][0]["TargetGroupArn"]),
                         ("HTTP", "forward", tg["TargetGroupArn"]))
        health = self.elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
        self.assertEqual(sorted(h["Target"]["Id"] for h in health), self.instance_ids())
        self.assertEqual(len(health), 2)
        self.assertEqual({h["Target"]["Port"] for h in health}, {80})

        roles = self.iam.list_roles(PathPrefix="/deploybot/stg/")["Roles"]
        self.assertEqual([r["RoleName"] for r in roles], ["deploybot-stg-app-role"])
        self.assertEqual(roles[0]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
                         {"Service": "ec2.amazonaws.com"})
        self.assertEqual([p["PolicyArn"] for p in self.iam.list_attached_role_policies(
            RoleName="deploybot-stg-app-role")["AttachedPolicies"]], [SSM_POLICY])
        tags = {t["Key"]: t["Value"] for t in self.iam.list_role_tags(RoleName="deploybot-stg-app-role")["Tags"]}
        self.assertEqual(tags, {"deploybot:stack": ENV, "deploybot:id": "iam_role.app"})
        profiles = self.iam.list_instance_profiles(PathPrefix="/deploybot/stg/")["InstanceProfiles"]
        self.assertEqual([(p["InstanceProfileName"], [r["RoleName"] for r in p["Roles"]]) for p in profiles],
                         [("deploybot-stg-main-profile", ["deploybot-stg-app-role"])])

        self.assertIn("No changes.", self.run_bot("plan", ENV))
        self.assertIn("No changes.", self.run_bot("apply", ENV))
        # Someone deletes a load balancer between the listing and its tags: skipped, not fatal.
        self.fault(action="DescribeTags", error="LoadBalancerNotFound", status=400, count=1)
        self.assertIn("No changes.", self.run_bot("plan", ENV))

        # A certificate: HTTPS listener created, HTTP listener turned into a redirect in place.
        self.edit(certificate_arn=CERT)
        out = self.run_bot("apply", ENV)
        self.assertIn("  + listener.https will be created", out)
        self.assertIn(harness.squeezed("  ~ listener.http (%s) will be updated in place" % http["ListenerArn"]),
                      harness.squeezed(out))
        self.assertIn("Apply complete: 1 added, 1 changed, 0 destroyed.", out)
        listeners = self.listeners(lb["LoadBalancerArn"])
        self.assertEqual(sorted(listeners), [80, 443])
        self.assertEqual(listeners[80]["ListenerArn"], http["ListenerArn"])
        self.assertEqual(listeners[80]["DefaultActions"][0]["Type"], "redirect")
        self.assertEqual(listeners[80]["DefaultActions"][0]["RedirectConfig"],
                         {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}",
                          "Query": "#{query}", "StatusCode": "HTTP_301"})
        https = listeners[443]
        self.assertEqual((https["Protocol"], https["Certificates"], https["DefaultActions"][0]["TargetGroupArn"]),
                         ("HTTPS", [{"CertificateArn": CERT}], tg["TargetGroupArn"]))
        self.assertTrue(https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13"))
        self.assertIn("No changes.", self.run_bot("plan", ENV))

        # The alias record, in a zone that exists before (deploybot never makes zones).
        zone_id = self.r53.create_hosted_zone(Name="example.com", CallerReference="edge-test")["HostedZone"]["Id"]
        zone_id = zone_id.rsplit("/", 1)[-1]
        self.edit(zone_id=zone_id, record_name="Dify.example.com")
        out = self.run_bot("apply", ENV)
        self.assertIn("  + dns_record.main will be created", out)
        self.assertIn("Apply complete: 1 added, 0 changed, 0 destroyed.", out)
        record = self.alias(zone_id, "dify.example.com.")
        self.assertEqual(record["AliasTarget"], {"HostedZoneId": lb["CanonicalHostedZoneId"],
                                                 "DNSName": lb["DNSName"] + ".", "EvaluateTargetHealth": False})
        self.assertIn("No changes.", self.run_bot("plan", ENV))

        # A name someone else's record holds is refused at plan, untouched; fixing stack.json converges.
        self.r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
            "Action": "CREATE", "ResourceRecordSet": {"Name": "www.example.com", "Type": "A", "TTL": 300,
                                                      "ResourceRecords": [{"Value": "192.0.2.10"}]}}]})
        changes_before = self.calls("ChangeResourceRecordSets")
        self.edit(record_name="www.example.com")
        out = self.run_bot("apply", ENV, ok=False)
        self.assertIn("~ dns_record.main (%s/dify.example.com.) will be updated in place" % zone_id, out)
        self.assertIn("Plan refused (nothing was changed):\n  dns_record.main: www.example.com. in hosted zone %s "
                      "is an A record that deploybot did not make" % zone_id, out)
        self.assertEqual(self.calls("ChangeResourceRecordSets"), changes_before)
        self.assertEqual(self.alias(zone_id, "www.example.com.")["ResourceRecords"], [{"Value": "192.0.2.10"}])
        self.edit(record_name="dify.example.com")
        self.assertIn("No changes.", self.run_bot("apply", ENV))
        self.assertEqual(self.alias(zone_id, "dify.example.com.")["AliasTarget"]["DNSName"], lb["DNSName"] + ".")
        self.assertIn("No changes.", self.run_bot("plan", ENV))

        # Destroy: the load balancer is gone before its groups and subnets go (EC2 would refuse).
        out = self.run_bot("destroy", ENV, "--yes")
        self.assertIn("Apply complete", out)
        self.assertEqual(self.load_balancers(), {})
        self.assertEqual(self.target_groups(), {})
        self.assertEqual(self.iam.list_roles(PathPrefix="/deploybot/")["Roles"], [])
        self.assertEqual(self.iam.list_instance_profiles(PathPrefix="/deploybot/")["InstanceProfiles"], [])
        self.assertIsNone(self.alias(zone_id, "dify.example.com."))
        self.assertEqual([(r["Name"], r["Type"]) for r in self.r53.list_resource_record_sets(
            HostedZoneId=zone_id)["ResourceRecordSets"]],
            [("example.com.", "NS"), ("example.com.", "SOA"), ("www.example.com.", "A")])
        self.assertEqual(self.clients["ec2"].describe_vpcs(Filters=[
            {"Name": "tag:deploybot:stack", "Values": [ENV]}])["Vpcs"], [])
        # What was not the stack's is still there.
        self.assertEqual(len(self.elb.describe_target_groups(TargetGroupArns=foreign_tgs)["TargetGroups"]), 2)
        self.assertEqual([r["RoleName"] for r in self.iam.list_roles()["Roles"]], ["deploybot-stg-app-role-copy"])
        self.assertIn("No changes.", self.run_bot("destroy", ENV, "--yes"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
