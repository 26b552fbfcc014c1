"""Ownership proved client-side (issue 12): `deploybot plan/apply/destroy dev`
against a fake AWS account that also holds what is not dev's — IAM roles and
instance profiles of another environment, at a deeper path, at dev's path
with a name deploybot never gives, with dev's own names at another path;
EC2 resources tagged for another stack or without a deploybot:id; a load
balancer and a target group with dev's names and settings but not its tags.
None of them is ever planned for a change or destroyed, and a create whose
name is taken by one of them fails saying so. ctest runs it with the fake
applying filters and ignoring them (DEPLOYBOT_FAKE_AWS_ARGS, harness.py)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
NOT_OURS = "exists but is not deploybot's"


class Ownership(unittest.TestCase):
    def setUp(self):
        import boto3
        self.s = harness.Stack(start_bot=False)
        self.dir = tempfile.mkdtemp(prefix="deploybot-own-")
        shutil.rmtree(self.dir)
        shutil.copytree(os.path.join(harness.SRC, "deploy-configs"), self.dir)

        def client(service, region=harness.REGION):
            return boto3.client(service, endpoint_url=self.s.aws_url, region_name=region,
                                aws_access_key_id=harness.AWS_KEY, aws_secret_access_key=harness.AWS_SECRET)
        self.iam, self.ec2, self.elb = client("iam", "us-east-1"), client("ec2"), client("elbv2")

    def tearDown(self):
        for c in (self.iam, self.ec2, self.elb):
            c.close()
        self.s.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_bot(self, *args, ok=True):
        p = subprocess.run([harness.BIN] + list(args) + ["--dir", self.dir], env=self.s.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode == 0, ok, out)
        return out

    def iam_entities(self):
        roles = {(r["Path"], r["RoleName"]) for r in self.iam.list_roles()["Roles"]}
        profiles = {(p["Path"], p["InstanceProfileName"])
                    for p in self.iam.list_instance_profiles()["InstanceProfiles"]}
        return roles, profiles

    def make_iam(self, path, role, profile):
        self.iam.create_role(RoleName=role, Path=path, AssumeRolePolicyDocument=TRUST)
        self.iam.create_instance_profile(InstanceProfileName=profile, Path=path)
        self.iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)

    def tag_ids(self, tags):
        return [{"Key": k, "Value": v} for k, v in tags.items()]

    def test_what_is_not_devs_is_never_touched(self):
        self.make_iam("/deploybot/prd/", "deploybot-prd-app-role", "deploybot-prd-main-profile")    # prd's
        self.make_iam("/deploybot/dev/deeper/", "deploybot-dev-deep-role", "deploybot-dev-deep-profile")
        self.make_iam("/deploybot/dev-x/", "deploybot-dev-x-app-role", "deploybot-dev-x-main-profile")
        self.make_iam("/deploybot/dev/", "ops-role", "ops-profile")          # not a name deploybot gives
        self.make_iam("/", "deploybot-dev-old-role", "deploybot-dev-old-profile")   # dev's pattern, not its path
        self.iam.attach_role_policy(RoleName="deploybot-dev-old-role",
                                    PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        iam_before = self.iam_entities()
        # EC2: another stack's "vpc.main", and a group of dev's without a deploybot:id.
        other = self.ec2.create_vpc(CidrBlock="10.99.0.0/16", TagSpecifications=[{
            "ResourceType": "vpc", "Tags": self.tag_ids({"deploybot:stack": "dev-x",
                                                         "deploybot:id": "vpc.main"})}])["Vpc"]["VpcId"]
        group = self.ec2.create_security_group(GroupName="dev-by-hand", Description="by hand", VpcId=other,
                                               TagSpecifications=[{"ResourceType": "security-group", "Tags":
                                                                   self.tag_ids({"deploybot:stack": "dev"})}])["GroupId"]

        out = self.run_bot("plan", "dev")
        self.assertNotIn(" will be destroyed", out)
        self.assertNotIn(" will be updated", out)
        self.assertIn("  + iam_role.app will be created", out)
        self.assertIn("  + instance_profile.main will be created", out)
        self.assertIn("  + vpc.main will be created", out)
        self.assertIn("Apply complete", self.run_bot("apply", "dev"))
        self.assertIn("No changes.", self.run_bot("plan", "dev"))
        out = self.run_bot("destroy", "dev", "--yes")
        self.assertIn("Apply complete", out)
        self.assertEqual(self.s.owned_ids("dev"), [])

        self.assertEqual(self.iam_entities(), iam_before)
        self.assertEqual([p["PolicyArn"] for p in self.iam.list_attached_role_policies(
            RoleName="deploybot-dev-old-role")["AttachedPolicies"]], ["arn:aws:iam::aws:policy/ReadOnlyAccess"])
        self.assertEqual(len(self.ec2.describe_vpcs(VpcIds=[other])["Vpcs"]), 1)
        self.assertEqual(len(self.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]), 1)

    def test_iam_names_taken_by_someone_else(self):
        self.iam.create_role(RoleName="deploybot-dev-app-role", Path="/", AssumeRolePolicyDocument=TRUST)
        self.iam.create_instance_profile(InstanceProfileName="deploybot-dev-main-profile", Path="/")
        out = self.run_bot("plan", "dev")
        self.assertIn("  + iam_role.app will be created", out)
        self.assertIn("  + instance_profile.main will be created", out)
        self.assertNotIn(" will be destroyed", out)
        out = self.run_bot("apply", "dev", ok=False)
        self.assertIn("deploybot-dev-app-role %s (its path is /, not /deploybot/dev/)" % NOT_OURS, out)
        self.assertEqual(self.iam.list_attached_role_policies(RoleName="deploybot-dev-app-role")["AttachedPolicies"],
                         [])
        self.assertEqual(self.iam.get_instance_profile(
            InstanceProfileName="deploybot-dev-main-profile")["InstanceProfile"]["Roles"], [])

        self.iam.delete_role(RoleName="deploybot-dev-app-role")
        self.iam.delete_instance_profile(InstanceProfileName="deploybot-dev-main-profile")
        self.assertIn("Apply complete", self.run_bot("apply", "dev"))
        self.assertIn("No changes.", self.run_bot("plan", "dev"))

    def untag(self, arn):
        self.elb.remove_tags(ResourceArns=[arn], TagKeys=["deploybot:stack", "deploybot:id"])

    def tag_keys(self, arn):
        return sorted(t["Key"] for t in self.elb.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"])

    def retag(self, arn, lid):
        self.elb.add_tags(ResourceArns=[arn], Tags=self.tag_ids({"deploybot:stack": "dev", "deploybot:id": lid}))

    def test_balancer_and_group_names_taken_by_someone_else(self):
        """CreateLoadBalancer and CreateTargetGroup answer an existing one of
        the same name and settings: one without dev's tags is not adopted."""
        self.assertIn("Apply complete", self.run_bot("apply", "dev"))
        tg = self.elb.describe_target_groups(Names=["deploybot-dev-app"])["TargetGroups"][0]["TargetGroupArn"]
        self.untag(tg)
        out = self.run_bot("plan", "dev")
        self.assertIn("  + target_group.app will be created", out)
        self.assertNotIn("target_group.app (", out)
        out = self.run_bot("apply", "dev", ok=False)
        self.assertIn("target group deploybot-dev-app %s" % NOT_OURS, out)
        self.assertEqual(self.tag_keys(tg), ["Name"])   # not made dev's
        self.retag(tg, "target_group.app")
        self.assertIn("Apply complete", self.run_bot("apply", "dev"))
        self.assertIn("No changes.", self.run_bot("plan", "dev"))

        lb = self.elb.describe_load_balancers(Names=["deploybot-dev"])["LoadBalancers"][0]["LoadBalancerArn"]
        self.untag(lb)
        out = self.run_bot("plan", "dev")
        self.assertIn("  + load_balancer.main will be created", out)
        self.assertNotIn("load_balancer.main (", out)
        out = self.run_bot("apply", "dev", ok=False)
        self.assertIn("load balancer deploybot-dev %s" % NOT_OURS, out)
        self.assertEqual(self.tag_keys(lb), ["Name"])
        self.retag(lb, "load_balancer.main")
        self.assertIn("No changes.", self.run_bot("plan", "dev"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
