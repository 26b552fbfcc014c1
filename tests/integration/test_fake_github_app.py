#!/usr/bin/python3
"""Checks the GitHub fake's GitHub App authentication (githubfake/apps.py):
the JWT's RS256 signature against the app's public key, its iss/iat/exp
rules, installation tokens that expire, and the token check fake_githttp
asks."""

import base64
import json
import os
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SOURCE_DIR = os.environ.get("DEPLOYBOT_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakes"))
from launch import FakeProcess  # noqa: E402

APP_ID = 777
INSTALLATION = 99
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
fake = None
tmp = None


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims, key=KEY, alg="RS256"):
    signing_input = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + \
        b64url(json.dumps(claims).encode())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def claims(**over):
    now = int(time.time())
    c = {"iat": now - 60, "exp": now + 540, "iss": str(APP_ID)}
    c.update(over)
    return c


def setUpModule():
    global fake, tmp
    tmp = tempfile.TemporaryDirectory()
    public = os.path.join(tmp.name, "app.pem")
    with open(public, "wb") as f:
        f.write(KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    fake = FakeProcess("fake_github.py", "--token", "static", "--app-id", str(APP_ID),
                       "--app-public-key", public, "--installation-id", str(INSTALLATION),
                       "--installation-repo", "acme/infra", "--installation-token-ttl-s", "2").start()


def tearDownModule():
    fake.stop()
    tmp.cleanup()


def call(method, path, auth, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(fake.url + path, data=data, method=method,
                                 headers={"Authorization": auth, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def mint(token):
    return call("POST", "/app/installations/%d/access_tokens" % INSTALLATION, "Bearer " + token)


class AppJwt(unittest.TestCase):
    def test_valid_jwt_gets_an_installation_token(self):
        status, body = mint(jwt(claims()))
        self.assertEqual(status, 201, body)
        self.assertTrue(body["token"].startswith("ghs_"))
        self.assertRegex(body["expires_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_refused_jwts(self):
        now = int(time.time())
        cases = {
            "another key": jwt(claims(), key=OTHER_KEY),
            "another app": jwt(claims(iss="778")),
            "issued in the future": jwt(claims(iat=now + 120)),
            "expired": jwt(claims(iat=now - 700, exp=now - 10)),
            "more than 10 minutes": jwt(claims(exp=now + 900)),
            "not a JWT": "static",
        }
        for why, token in cases.items():
            with self.subTest(why):
                status, body = mint(token)
                self.assertEqual(status, 401, body)

    def test_jwt_is_not_an_api_token_and_the_static_token_no_jwt(self):
        status, _ = call("POST", "/repos/acme/infra/statuses/" + SHA, "Bearer " + jwt(claims()),
                         {"state": "success", "context": "c"})
        self.assertEqual(status, 401)
        self.assertEqual(mint("static")[0], 401)

    def test_installation_lookup(self):
        status, body = call("GET", "/repos/acme/infra/installation", "Bearer " + jwt(claims()))
        self.assertEqual((status, body["id"]), (200, INSTALLATION))
        self.assertEqual(call("GET", "/repos/acme/other/installation", "Bearer " + jwt(claims()))[0], 404)

    def test_installation_token_works_until_it_expires(self):
        token = mint(jwt(claims()))[1]["token"]
        status, _ = call("POST", "/repos/acme/infra/statuses/" + SHA, "Bearer " + token,
                         {"state": "success", "context": "c"})
        self.assertEqual(status, 201)
        req = urllib.request.Request(fake.url + "/_fake/token_check", method="POST",
                                     data=json.dumps({"token": token}).encode())
        with urllib.request.urlopen(req, timeout=10) as resp:
            self.assertEqual(json.loads(resp.read())["state"], "live")
        time.sleep(2.5)  # the fake was started with 2-second installation tokens
        status, body = call("POST", "/repos/acme/infra/statuses/" + SHA, "Bearer " + token,
                            {"state": "success", "context": "c"})
        self.assertEqual((status, body["message"]), (401, "Bad credentials"))


if __name__ == "__main__":
    unittest.main()
