#!/usr/bin/python3
"""Checks the AWS fake's STS (tests/fakes/awsfake/sts) with Debian's boto3:
AssumeRole of the roles the fake trusts (--role ARN[:EXTERNAL_ID], or
"roles" in POST /_fake/config), AWS's AccessDenied for anything else,
temporary credentials accepted by every service with their session token
until they expire (ExpiredToken), GetCallerIdentity for the base user and
an assumed role, and the signing principal of every call in
GET /_fake/calls/log.

Run: /usr/bin/python3 tests/integration/test_fake_aws_sts_boto3.py
"""

import datetime
import os
import sys
import time
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

SOURCE_DIR = os.environ.get("DEPLOYBOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

REGION = "eu-west-1"
ACCOUNT = "123456789012"
ACCESS_KEY = "AKIDFAKEFORTESTS0006"
SECRET_KEY = "fake/secret/key/for/sts/tests+0123456789"
PRD_ROLE = "arn:aws:iam::210987654321:role/deploybot-prd"
DEV_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ops/deploybot-dev"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/ci-deployer"

fake = None


def setUpModule():
    global fake
    fake = FakeProcess("fake_aws.py", "--region", REGION, "--account-id", ACCOUNT, "--access-key", ACCESS_KEY,
                       "--secret-key", SECRET_KEY, "--user-name", "ci-deployer",
                       "--role", f"{PRD_ROLE}:prd-external:id", "--role", DEV_ROLE).start()


def tearDownModule():
    fake.stop()


def client(service, credentials=None, region=None):
    keys = {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY}
    if credentials:
        keys = {"aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials.get("SessionToken")}
    region = region or ("us-east-1" if service in ("iam", "route53") else REGION)
    return boto3.client(service, endpoint_url=fake.url, region_name=region,
                        config=Config(retries={"mode": "standard", "total_max_attempts": 1}), **keys)


class StsTest(unittest.TestCase):
    def setUp(self):
        fake.admin("POST", "/_fake/reset")
        self.sts = self.client("sts")

    def client(self, service, credentials=None, region=None):
        c = client(service, credentials, region)
        self.addCleanup(c.close)
        return c

    def assertAwsError(self, code, fn, *args, status=None, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(*args, **kwargs)
        err = ctx.exception.response["Error"]
        self.assertEqual(err["Code"], code, err.get("Message"))
        if status is not None:
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        return err["Message"]

    def assume(self, role=PRD_ROLE, session="deploybot-prd", **kwargs):
        if role == PRD_ROLE:
            kwargs.setdefault("ExternalId", "prd-external:id")
        return self.sts.assume_role(RoleArn=role, RoleSessionName=session, **kwargs)

    def test_caller_identity_of_the_base_user(self):
        me = self.sts.get_caller_identity()
        self.assertEqual((me["Account"], me["Arn"]), (ACCOUNT, USER_ARN))
        self.assertRegex(me["UserId"], r"^AIDA[A-Z2-7]{17}$")
        # STS answers on the global endpoint's region too.
        self.assertEqual(self.client("sts", region="us-east-1").get_caller_identity()["Arn"], USER_ARN)

    def test_assume_role(self):
        before = datetime.datetime.now(datetime.timezone.utc)
        answer = self.assume(DurationSeconds=900)
        creds, user = answer["Credentials"], answer["AssumedRoleUser"]
        self.assertRegex(creds["AccessKeyId"], r"^ASIA[A-Z0-9]{16}$")
        self.assertTrue(len(creds["SecretAccessKey"]) >= 40 and len(creds["SessionToken"]) > 100)
        lifetime = (creds["Expiration"] - before).total_seconds()
        self.assertTrue(898 <= lifetime <= 901, lifetime)
        self.assertEqual(user["Arn"], "arn:aws:sts::210987654321:assumed-role/deploybot-prd/deploybot-prd")
        self.assertRegex(user["AssumedRoleId"], r"^AROA[A-Z2-7]{17}:deploybot-prd$")
        lifetime = (self.assume()["Credentials"]["Expiration"] - before).total_seconds()
        self.assertTrue(3598 <= lifetime <= 3601, lifetime)       # AWS's default hour

        # The credentials work for every service and say who they are.
        me = self.client("sts", creds).get_caller_identity()
        self.assertEqual((me["Account"], me["Arn"], me["UserId"]), ("210987654321", user["Arn"], user["AssumedRoleId"]))
        self.client("ec2", creds).describe_vpcs()
        self.client("iam", creds).list_roles()
        self.client("route53", creds).list_hosted_zones()
        self.client("elbv2", creds).describe_load_balancers()
        # A role without an external id, under a path: the ARN names the role, not its path.
        dev = self.assume(DEV_ROLE, "dev-1")["AssumedRoleUser"]
        self.assertEqual(dev["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/deploybot-dev/dev-1")

    def test_access_denied_and_validation(self):
        message = self.assertAwsError("AccessDenied", self.assume, ExternalId="wrong", status=403)
        self.assertEqual(message, f"User: {USER_ARN} is not authorized to perform: sts:AssumeRole on resource: "
                                  f"{PRD_ROLE}")
        self.assertAwsError("AccessDenied", self.sts.assume_role, RoleArn=PRD_ROLE, RoleSessionName="s1")
        self.assertAwsError("AccessDenied", self.assume, "arn:aws:iam::210987654321:role/deploybot-stg")
        self.assertAwsError("ValidationError", self.assume, DurationSeconds=7200)     # over MaxSessionDuration
        unchecked = boto3.client("sts", endpoint_url=fake.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                                 aws_secret_access_key=SECRET_KEY, config=Config(parameter_validation=False))
        self.addCleanup(unchecked.close)
        self.assertAwsError("ValidationError", unchecked.assume_role, RoleArn=DEV_ROLE, RoleSessionName="s1",
                            DurationSeconds=60)       # under 900: the model's range
        self.assertAwsError("ValidationError", self.assume, session="has space")
        self.assertAwsError("ValidationError", self.assume, Policy='{"Version": "2012-10-17"}')
        # Only the base user assumes roles (no role chaining in the fake).
        creds = self.assume()["Credentials"]
        self.assertAwsError("AccessDenied", self.client("sts", creds).assume_role, RoleArn=DEV_ROLE,
                            RoleSessionName="chain")

    def test_session_token_checked(self):
        creds = self.assume()["Credentials"]
        self.assertAwsError("AuthFailure", self.client("ec2", dict(creds, SessionToken=None)).describe_vpcs,
                            status=401)
        self.assertAwsError("AuthFailure", self.client("ec2", dict(creds, SessionToken="x" + creds["SessionToken"]))
                            .describe_vpcs, status=401)
        self.assertAwsError("SignatureDoesNotMatch",
                            self.client("ec2", dict(creds, SecretAccessKey=SECRET_KEY)).describe_vpcs)
        # STS (like IAM and ELB) words it its own way.
        self.assertAwsError("InvalidClientTokenId",
                            self.client("sts", dict(creds, SessionToken=None)).get_caller_identity, status=403)

    def test_unknown_key_pair(self):
        unknown = {"AccessKeyId": "AKIDUNKNOWNUNKNOWN00", "SecretAccessKey": SECRET_KEY, "SessionToken": None}
        self.assertAwsError("InvalidClientTokenId", self.client("sts", unknown).get_caller_identity, status=403)
        self.assertAwsError("AuthFailure", self.client("ec2", unknown).describe_vpcs, status=401)

    def test_expiry(self):
        fake.admin("POST", "/_fake/config", {"session_duration_s": 2})
        before = time.time()
        creds = self.assume(DurationSeconds=3600)["Credentials"]
        self.assertTrue(0 < creds["Expiration"].timestamp() - before <= 2)   # the override wins
        ec2 = self.client("ec2", creds)
        ec2.describe_vpcs()
        time.sleep(max(0.0, creds["Expiration"].timestamp() - time.time()) + 0.05)
        self.assertEqual(self.assertAwsError("ExpiredToken", ec2.describe_vpcs),
                         "The security token included in the request is expired")
        # Fresh credentials work again; the base key pair never expires.
        self.client("ec2", self.assume()["Credentials"]).describe_vpcs()
        self.client("ec2").describe_vpcs()
        # A reset forgets the sessions (and restores the command line's configuration).
        fake.admin("POST", "/_fake/reset")
        self.assertAwsError("AuthFailure", ec2.describe_vpcs)
        self.assertIsNone(fake.admin("GET", "/_fake/config")["session_duration_s"])

    def test_roles_from_the_admin_api(self):
        stg = "arn:aws:iam::333333333333:role/deploybot-stg"
        self.assertAwsError("AccessDenied", self.assume, stg, "stg")
        fake.admin("POST", "/_fake/config", {"roles": [{"arn": stg, "external_id": "e-1"}]})
        self.assertEqual(self.assume(stg, "stg", ExternalId="e-1")["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::333333333333:assumed-role/deploybot-stg/stg")
        self.assertAwsError("AccessDenied", self.assume)     # the list replaced the command line's roles

    def test_calls_log_names_the_principal(self):
        fake.admin("DELETE", "/_fake/calls")
        creds = self.assume()["Credentials"]
        role_ec2, user_ec2 = self.client("ec2", creds), self.client("ec2")
        role_ec2.create_vpc(CidrBlock="10.0.0.0/16")
        with self.assertRaises(ClientError):
            role_ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"])
        user_ec2.describe_vpcs()
        log = fake.admin("GET", "/_fake/calls/log")
        self.assertEqual([(e["service"], e["action"], e["status"], e["error"]) for e in log],
                         [("sts", "AssumeRole", 200, None), ("ec2", "CreateVpc", 200, None),
                          ("ec2", "DescribeVpcs", 400, "InvalidVpcID.NotFound"), ("ec2", "DescribeVpcs", 200, None)])
        self.assertEqual([e["principal"]["arn"] for e in log],
                         [USER_ARN, "arn:aws:sts::210987654321:assumed-role/deploybot-prd/deploybot-prd",
                          "arn:aws:sts::210987654321:assumed-role/deploybot-prd/deploybot-prd", USER_ARN])
        role = log[1]["principal"]
        self.assertEqual((role["type"], role["role_arn"], role["session_name"], role["access_key"], role["account"]),
                         ("assumed-role", PRD_ROLE, "deploybot-prd", creds["AccessKeyId"], "210987654321"))
        self.assertEqual((log[0]["principal"]["type"], log[0]["principal"]["access_key"]), ("user", ACCESS_KEY))
        self.assertEqual([e["seq"] for e in log], sorted(e["seq"] for e in log))
        self.assertEqual(fake.admin("GET", "/_fake/calls"), {"AssumeRole": 1, "CreateVpc": 1, "DescribeVpcs": 2})
        fake.admin("DELETE", "/_fake/calls")
        self.assertEqual(fake.admin("GET", "/_fake/calls/log"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
