"""GitHub App authentication: the app's JWT and installation access tokens.

Sources: GitHub docs "Generating a JSON Web Token (JWT) for a GitHub App"
(RS256; "iat" 60 seconds in the past is advised against clock drift; "exp"
no more than 10 minutes into the future; "iss" the app's client ID or app
ID), "Generating an installation access token for a GitHub App" (POST
/app/installations/{installation_id}/access_tokens with the JWT as Bearer,
201 {"token": "ghs_...", "expires_at": ..., "permissions", "repository_selection"};
the token expires after one hour), REST "Get a repository installation for
the authenticated app" (GET /repos/{owner}/{repo}/installation, JWT).
An expired installation token is refused like any unknown one: 401 "Bad
credentials".
"""

import base64
import hashlib
import json
import secrets
import string
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from .errors import DOCS, GitHubError

MAX_JWT_LIFETIME_S = 600
JWT_DOCS = "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app"


def jwt_error(message):
    return GitHubError(401, {"message": message, "documentation_url": JWT_DOCS})


def _b64url(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class GitHubApp:
    """One registered app with one installation."""

    def __init__(self, app_id, public_key_pem, installation_id, installation_repo, token_ttl_s):
        self.app_id = int(app_id)
        self.public_key = serialization.load_pem_public_key(public_key_pem)
        self.installation_id = int(installation_id)
        self.installation_repo = installation_repo.lower() if installation_repo else None
        self.token_ttl_s = token_ttl_s
        self.tokens = {}            # token -> {"expires": t, "installation_id": id}

    def verify_jwt(self, token):
        """Raises the 401 GitHub answers unless `token` is a valid JWT of this app."""
        parts = token.split(".")
        try:
            if len(parts) != 3:
                raise ValueError("not three parts")
            header = json.loads(_b64url(parts[0]))
            claims = json.loads(_b64url(parts[1]))
            signature = _b64url(parts[2])
        except ValueError:
            raise jwt_error("A JSON web token could not be decoded") from None
        if header.get("alg") != "RS256":
            raise jwt_error("A JSON web token could not be decoded")
        try:
            self.public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode(),
                                   padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise jwt_error("A JSON web token could not be decoded") from None
        if str(claims.get("iss")) != str(self.app_id):
            raise jwt_error("'Issuer' claim ('iss') must be an Integer")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or iat > now + 1:
            raise jwt_error("'Issued at' claim ('iat') must be an Integer representing a time in the past.")
        if not isinstance(exp, int) or exp <= now:
            raise jwt_error("'Expiration time' claim ('exp') must be a numeric value representing the "
                            "future time at which the assertion expires.")
        if exp > now + MAX_JWT_LIFETIME_S + 1 or exp - iat > MAX_JWT_LIFETIME_S + 60:
            raise jwt_error("'Expiration time' claim ('exp') is too far in the future.")

    def issue(self, installation_id):
        if int(installation_id) != self.installation_id:
            raise GitHubError(404, {"message": "Not Found", "documentation_url": DOCS})
        alphabet = string.ascii_letters + string.digits
        token = "ghs_" + "".join(secrets.choice(alphabet) for _ in range(36))
        expires = int(time.time()) + self.token_ttl_s
        self.tokens[token] = {"expires": expires, "installation_id": self.installation_id}
        return {"token": token, "expires_at": iso(expires),
                "permissions": {"contents": "read", "statuses": "write", "pull_requests": "write",
                                "metadata": "read"},
                "repository_selection": "all"}

    def token_state(self, token):
        """"live", "expired", or None for a token this app never issued."""
        t = self.tokens.get(token)
        if t is None:
            return None
        return "live" if time.time() < t["expires"] else "expired"

    def installation_of(self, owner, repo):
        name = f"{owner}/{repo}".lower()
        if self.installation_repo and name != self.installation_repo:
            raise GitHubError(404, {"message": "Not Found", "documentation_url": DOCS})
        return {"id": self.installation_id, "app_id": self.app_id, "target_type": "Organization",
                "account": {"login": owner}, "repository_selection": "all",
                "access_tokens_url": f"/app/installations/{self.installation_id}/access_tokens"}

    def dump(self):
        return [{"token_sha256": hashlib.sha256(t.encode()).hexdigest(), "expires_at": iso(v["expires"]),
                 "installation_id": v["installation_id"]} for t, v in self.tokens.items()]
