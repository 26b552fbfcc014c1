"""How each host authenticates git over HTTPS and what it answers when that fails.

Sources:
  GitHub  docs: a personal access token is given "instead of your password"
          (any username); a GitHub App installation token as
          https://x-access-token:TOKEN@github.com/... ("Authenticating as a
          GitHub App installation"); the 2012 blog post "Easier builds and
          deployments using Git over HTTPS and OAuth": the token as username
          with an empty password or "x-oauth-basic". Answers as seen from git:
          401 with Basic realm="GitHub", a wrong token "remote: Invalid username
          or token. Password authentication is not supported for Git
          operations.", a repository the token cannot see "remote: Repository
          not found." (404: GitHub hides private repositories).
  GitLab  gitlabhq app/controllers/repositories/git_http_client_controller.rb
          (authenticate_user, send_challenges: Basic realm="GitLab",
          render_access_denied: 401 "HTTP Basic: Access denied. ...") and
          lib/gitlab/auth.rb find_for_git_client: Basic only; a personal,
          project or group access token is checked on the password alone (any
          username); an OAuth token too on current GitLab (older GitLab
          required the username "oauth2", which the docs still show); a deploy
          token needs its own username. A missing and a wrong credential get
          the same 401. An authenticated caller that cannot see the project:
          404 "The project you were looking for could not be found or you
          don't have permission to view it."
  Gitea   go-gitea/gitea services/auth/basic.go: the password is the token
          (the username is not checked against the token's owner), or the
          username is the token when the password is empty or "x-oauth-basic";
          services/auth/oauth2.go: "Authorization: token T" / "Bearer T" work on
          git paths too; else the user's password. routers/web/repo/githttp.go:
          no sign-in -> 401 with Basic realm="Gitea"; an existing but wrong
          credential fails in the auth middleware (routers/web/web.go webAuth):
          401 "Failed to authenticate user" WITHOUT a WWW-Authenticate header;
          no permission or no repository -> 404 "Repository not found".
"""

import base64
import binascii
import hashlib
import hmac
import json
import urllib.request

from fakecommon.restfake import Reply

TEXT = "text/plain; charset=utf-8"


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def same(a, b):
    """Constant-time string comparison (a habit, not a need, in a fake)."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def any_same(value, secrets):
    return any(same(value, s) for s in secrets)


class Credentials:
    """What an Authorization header carried. Never logged as such: see
    log_fields()."""

    def __init__(self, scheme, user=None, password=None, token=None):
        self.scheme = scheme          # "basic", "bearer", "token", or another word lowercased
        self.user = user              # Basic only
        self.password = password      # Basic only
        self.token = token            # Bearer / token schemes

    @property
    def token_as_username(self):
        """The GitHub/Gitea form TOKEN: or TOKEN:x-oauth-basic."""
        return self.scheme == "basic" and self.password in ("", "x-oauth-basic")

    def secret(self):
        """The value that acts as the token in this header."""
        if self.scheme == "basic":
            return self.user if self.token_as_username else self.password
        return self.token

    def log_fields(self, known_secrets):
        """The request-log view: the username in clear unless it is (or may be)
        a token, SHA-256 digests of the password and of the token."""
        user = self.user
        if user is not None and (self.token_as_username or any_same(user, known_secrets)):
            user = None
        return {
            "scheme": self.scheme,
            "user": user,
            "user_is_token": self.scheme == "basic" and user is None and self.user is not None,
            "password_sha256": sha256_hex(self.password) if self.password else None,
            "token_sha256": sha256_hex(self.secret()) if self.secret() else None,
        }


def parse_authorization(value):
    """Credentials from an Authorization header value, or None."""
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    scheme = scheme.lower()
    rest = rest.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(rest, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return Credentials("basic-invalid")
        user, sep, password = decoded.partition(":")
        if not sep:
            return Credentials("basic-invalid")
        return Credentials("basic", user, password)
    if scheme in ("bearer", "token"):
        return Credentials(scheme, token=rest)
    return Credentials(scheme or "unknown")


class Style:
    name = None
    realm = None

    def __init__(self, base_url_fn):
        self.base_url = base_url_fn     # callable: the fake's own URL (for help links)

    def challenge(self):
        return {"WWW-Authenticate": f'Basic realm="{self.realm}"'}

    # Each returns ("ok", account) or ("bad", None); ("none", None) when the
    # header is not a credential this host reads at all (then the request is
    # anonymous, as the host treats it).
    def authenticate(self, creds, config):
        raise NotImplementedError

    def unauthenticated(self):
        raise NotImplementedError

    def bad_credentials(self):
        raise NotImplementedError

    def not_found(self):
        raise NotImplementedError


def issued_elsewhere(token, config):
    """A token the API side issued (GitHub: git and the REST API share one
    token store, e.g. a GitHub App's installation tokens): asked of
    config["token_check_url"] (the fake GitHub's /_fake/token_check)."""
    url = config.get("token_check_url")
    if not url or not token:
        return False
    req = urllib.request.Request(url, data=json.dumps({"token": token}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read()).get("state") == "live"


def _token_basic(creds, config):
    """GitHub and Gitea: the password is the token (any username), or the
    username is the token with an empty or "x-oauth-basic" password."""
    tokens = config["tokens"]
    require = config["require_user"]
    if creds.token_as_username:
        if any_same(creds.user, tokens) and not require:
            return "ok", config["user"]
        return "bad", None
    if any_same(creds.password, tokens) or issued_elsewhere(creds.password, config):
        if require and creds.user != require:
            return "bad", None
        return "ok", config["user"]
    return "bad", None


class GitHub(Style):
    name = "github"
    realm = "GitHub"

    def authenticate(self, creds, config):
        if creds.scheme != "basic":
            return "none", None
        return _token_basic(creds, config)

    def unauthenticated(self):
        return Reply(401, "", self.challenge(), TEXT)

    def bad_credentials(self):
        return Reply(401, "Invalid username or token. Password authentication is not supported "
                          "for Git operations.\n", self.challenge(), TEXT)

    def not_found(self):
        return Reply(404, "Repository not found.\n", {}, TEXT)


class GitLab(Style):
    name = "gitlab"
    realm = "GitLab"

    def authenticate(self, creds, config):
        if creds.scheme != "basic":
            return "none", None
        require = config["require_user"]
        if creds.password and any_same(creds.password, config["tokens"]):
            if require and creds.user != require:
                return "bad", None
            return "ok", config["user"]
        for user, token in config["deploy_tokens"]:
            if creds.password and same(creds.password, token) and creds.user == user:
                return "ok", user
        return "bad", None

    def _denied(self):
        help_url = (f"{self.base_url()}/help/topics/git/troubleshooting_git.md"
                    "#error-on-git-fetch-http-basic-access-denied")
        return ("HTTP Basic: Access denied. If a password was provided for Git authentication, "
                "the password was incorrect or you're required to use a token instead of a "
                "password. If a token was provided, it was either incorrect, expired, or "
                f"improperly scoped. See {help_url}")

    def unauthenticated(self):
        return Reply(401, self._denied(), self.challenge(), TEXT)

    def bad_credentials(self):
        return Reply(401, self._denied(), self.challenge(), TEXT)

    def not_found(self):
        return Reply(404, "The project you were looking for could not be found or you don't "
                          "have permission to view it.", {}, TEXT)


class Gitea(Style):
    name = "gitea"
    realm = "Gitea"

    def authenticate(self, creds, config):
        if creds.scheme in ("bearer", "token"):
            if creds.token and any_same(creds.token, config["tokens"]) and not config["require_user"]:
                return "ok", config["user"]
            return "bad", None
        if creds.scheme != "basic":
            return "none", None
        result = _token_basic(creds, config)
        if result[0] == "ok":
            return result
        password = config["password"]
        if (password and creds.user == config["user"] and creds.password
                and same(creds.password, password)):
            return "ok", config["user"]
        return "bad", None

    def unauthenticated(self):
        return Reply(401, "Unauthorized\n", self.challenge(), TEXT)

    def bad_credentials(self):
        # webAuth: ctx.HTTPError(401, "Failed to authenticate user"), no challenge.
        return Reply(401, "Failed to authenticate user\n", {"X-Content-Type-Options": "nosniff"}, TEXT)

    def not_found(self):
        return Reply(404, "Repository not found", {}, TEXT)


STYLES = {cls.name: cls for cls in (GitHub, GitLab, Gitea)}
