"""The one exception every layer raises to produce an AWS error response."""


class AwsError(Exception):
    """An AWS error: code as AWS spells it (e.g. ``InvalidVpcID.NotFound``),
    human message, and the HTTP status AWS uses for it (400 unless stated)."""

    def __init__(self, code, message, status=400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


# Status codes AWS uses for the codes tests are likely to inject as faults.
DEFAULT_STATUS = {
    "RequestLimitExceeded": 503,
    "ServiceUnavailable": 503,
    "Unavailable": 503,
    "InternalError": 500,
    "InternalFailure": 500,
    "AuthFailure": 401,
    "SignatureDoesNotMatch": 403,
    "UnauthorizedOperation": 403,
    "DryRunOperation": 412,
}

