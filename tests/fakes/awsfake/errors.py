"""The one exception every layer raises to produce an AWS error response,
and the error documents a test may ask for instead of a service's own."""

from xml.sax.saxutils import escape


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



def render_error(shape, err, request_id, namespace=""):
    """An error document in one of the shapes of config.ERROR_SHAPES other than
    "native" (each protocol's own, see its error()):

      ec2   <Response><Errors><Error><Code/><Message/></Error></Errors>
            <RequestID/></Response>                      (EC2's)
      query <ErrorResponse xmlns=NS><Error><Type/><Code/><Message/></Error>
            <RequestId/></ErrorResponse>                 (ELBv2, IAM, STS, Route53)
      errors-under-errorresponse
            <ErrorResponse xmlns=NS><Errors><Error><Type/><Code/><Message/>
            </Error></Errors><RequestId/></ErrorResponse> (seen from an
            independent implementation of the AWS APIs)
    """
    code, message = escape(err.code), escape(err.message)
    kind = "Receiver" if err.status >= 500 else "Sender"
    xmlns = f' xmlns="{escape(namespace)}"' if namespace else ""
    if shape == "ec2":
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>"
                f"</Errors><RequestID>{request_id}</RequestID></Response>")
    elif shape == "query":
        body = (f"<ErrorResponse{xmlns}><Error><Type>{kind}</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    elif shape == "errors-under-errorresponse":
        body = (f"<ErrorResponse{xmlns}><Errors><Error><Type>{kind}</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error></Errors><RequestId>{request_id}</RequestId>"
                "</ErrorResponse>")
    else:
        raise ValueError(f"unknown error shape {shape!r}")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()
