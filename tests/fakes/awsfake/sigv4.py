"""Server-side check of AWS Signature Version 4 (header form).

The fake recomputes the signature exactly as AWS documents it, so a client
that signs wrongly fails here the same way it would fail against AWS:
https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html

  CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n
                     CanonicalHeaders \n SignedHeaders \n HexSHA256(payload)
  StringToSign     = "AWS4-HMAC-SHA256" \n X-Amz-Date \n Scope \n Hex(SHA256(CanonicalRequest))
  SigningKey       = HMAC chain over "AWS4"+secret, date, region, service, "aws4_request"
"""

import calendar
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

from .errors import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_CLOCK_SKEW = 15 * 60   # AWS rejects requests more than 15 minutes off


def _unknown_key(service):
    """EC2 says AuthFailure (401); STS, IAM, ELB and the other Query
    services InvalidClientTokenId (403)."""
    if service == "ec2":
        return AwsError("AuthFailure", "AWS was not able to validate the provided access credentials", 401)
    return AwsError("InvalidClientTokenId", "The security token included in the request is invalid.", 403)


def _bad_token(service):
    if service == "ec2":
        return AwsError("AuthFailure", "The security token included in the request is invalid.", 401)
    return AwsError("InvalidClientTokenId", "The security token included in the request is invalid.", 403)


@dataclass
class SignedRequest:
    method: str
    raw_path: str          # path exactly as on the request line (still %-encoded)
    raw_query: str         # query string after '?', still %-encoded
    headers: list          # [(name, value)] in arrival order, repeats allowed
    body: bytes


@dataclass
class Identity:
    access_key: str
    date: str              # YYYYMMDD from the credential scope
    region: str
    service: str
    principal: dict = None  # who signed: see Verifier


@dataclass
class Session:
    """Temporary credentials (STS AssumeRole): accepted with their token until they expire."""
    access_key: str
    secret: str
    token: str
    expires: float         # time.time() seconds
    principal: dict


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret, date, region, service) -> bytes:
    k = _hmac(f"AWS4{secret}".encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4, plus AWS's rule that consecutive slashes collapse.
    out = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
        else:
            out.append(seg)
    trailing = "/" if path.endswith("/") and out else ""
    return "/" + "/".join(out) + trailing


def canonical_uri(raw_path: str) -> str:
    # Non-S3 services normalise the path and URI-encode it once more on top of
    # the encoding already present on the wire (botocore does the same).
    return quote(_remove_dot_segments(raw_path or "/"), safe="/~")


def canonical_query(raw_query: str) -> str:
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _parse_authorization(value: str):
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AwsError("IncompleteSignature",
                       f"Unsupported AWS 'algorithm': '{algorithm}'; expected {ALGORITHM}")
    fields = {}
    for item in rest.split(","):
        name, _, val = item.strip().partition("=")
        if name:
            fields[name] = val
    absent = [n for n in ("Credential", "SignedHeaders", "Signature") if not fields.get(n)]
    if absent:
        raise AwsError("IncompleteSignature", " ".join(
            f"Authorization header requires '{n}' parameter." for n in absent)
            + f" Authorization={value}")
    return fields


class Verifier:
    """Checks signatures made with long-term key pairs (``credentials``:
    access key id -> secret; ``principals``: access key id -> the principal
    it stands for) or with temporary credentials (``sessions``: a function
    access key id -> Session or None), whose X-Amz-Security-Token must be
    the session's and which expire (ExpiredToken). The principal that signed
    is returned in the Identity, as a dict: type ("user" or "assumed-role"),
    arn, account, user_id, access_key (and role_arn, session_name)."""

    def __init__(self, credentials: dict, session_token=None, clock=time.time, principals=None,
                 sessions=None):
        self.credentials = credentials      # access key id -> secret
        self.session_token = session_token  # None: accept any (or no) token with a long-term key
        self.clock = clock
        self.principals = principals or {}
        self.sessions = sessions

    def verify(self, req: SignedRequest) -> Identity:
        headers = {}
        for name, value in req.headers:
            headers.setdefault(name.lower().strip(), []).append(value)

        auth = headers.get("authorization", [None])[0]
        if auth is None:
            raise AwsError("MissingAuthenticationToken",
                           "Request is missing Authentication Token", 403)
        fields = _parse_authorization(auth)

        scope = fields["Credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise AwsError("IncompleteSignature",
                           f"Credential should be of the form AKID/DATE/REGION/SERVICE/aws4_request, "
                           f"not '{fields['Credential']}'")
        access_key, date, region, service, _ = scope
        secret = self.credentials.get(access_key)
        session = None
        if secret is None and self.sessions is not None:
            session = self.sessions(access_key)
            secret = session.secret if session is not None else None
        if secret is None:
            raise _unknown_key(service)

        signed = fields["SignedHeaders"].split(";")
        if "host" not in signed:
            raise AwsError("IncompleteSignature",
                           "'Host' must be a 'SignedHeader' in the AWS Authorization.")
        missing_hdr = [h for h in signed if h not in headers]
        if missing_hdr:
            raise AwsError("SignatureDoesNotMatch",
                           f"The signed header(s) {', '.join(missing_hdr)} are not in the request.", 403)

        amz_date = self._request_time(headers)
        if amz_date[:8] != date:
            raise AwsError("SignatureDoesNotMatch",
                           f"Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                           f"version of date from HTTP: '{date}' != '{amz_date[:8]}', "
                           f"from '{amz_date}'.", 403)

        token = headers.get("x-amz-security-token", [None])[0]
        if session is not None:
            if token != session.token:
                raise _bad_token(service)
            if self.clock() >= session.expires:
                raise AwsError("ExpiredToken", "The security token included in the request is expired")
        elif self.session_token is not None and token != self.session_token:
            raise _bad_token(service)

        body_hash = hashlib.sha256(req.body).hexdigest()
        declared = headers.get("x-amz-content-sha256", [None])[0]
        if declared is not None and declared != UNSIGNED_PAYLOAD and declared != body_hash:
            raise AwsError("XAmzContentSHA256Mismatch",
                           "The provided 'x-amz-content-sha256' header does not match what was computed.")
        payload_hash = declared if declared is not None else body_hash

        canonical_headers = "".join(
            f"{h}:{','.join(' '.join(v.split()) for v in headers[h])}\n" for h in signed)
        canonical_request = "\n".join([
            req.method.upper(),
            canonical_uri(req.raw_path),
            canonical_query(req.raw_query),
            canonical_headers,
            fields["SignedHeaders"],
            payload_hash,
        ])
        credential_scope = f"{date}/{region}/{service}/aws4_request"
        string_to_sign = "\n".join([
            ALGORITHM, amz_date, credential_scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ])
        expected = hmac.new(signing_key(secret, date, region, service),
                            string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]):
            # AWS puts both strings in the message; it is the quickest way to
            # see which part of a hand-written signer is wrong.
            raise AwsError("SignatureDoesNotMatch",
                           "The request signature we calculated does not match the signature "
                           "you provided. Check your AWS Secret Access Key and signing method. "
                           "Consult the service documentation for details.\n\n"
                           f"The Canonical String for this request should have been\n'{canonical_request}'\n\n"
                           f"The String-to-Sign should have been\n'{string_to_sign}'\n", 403)
        principal = session.principal if session is not None else self.principals.get(access_key)
        return Identity(access_key, date, region, service, principal)

    def _request_time(self, headers) -> str:
        amz_date = headers.get("x-amz-date", [None])[0]
        if amz_date is None:
            raise AwsError("IncompleteSignature",
                           "Authorization header requires existence of an 'X-Amz-Date' header "
                           "(this fake does not accept the 'Date' alternative).")
        try:
            ts = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            raise AwsError("IncompleteSignature", f"Invalid X-Amz-Date '{amz_date}'; "
                           "expected the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'") from None
        now = self.clock()
        if abs(now - ts) > MAX_CLOCK_SKEW:
            raise AwsError("RequestExpired",
                           f"Request has expired. Timestamp date is {amz_date}; server time is "
                           f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))}.")
        return amz_date
