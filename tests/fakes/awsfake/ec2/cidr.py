"""CIDR parsing with EC2's error codes and messages."""

import ipaddress

from ..errors import AwsError


def parse_ipv4(value, param):
    """An IPv4 network; host bits must be zero (EC2 rejects 10.0.0.1/16)."""
    try:
        if "/" not in value:
            raise ValueError
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise AwsError("InvalidParameterValue",
                       f"Value ({value}) for parameter {param} is invalid. "
                       "This is not a valid CIDR block.") from None


def parse_ipv6(value, param):
    try:
        if "/" not in value:
            raise ValueError
        return ipaddress.IPv6Network(value, strict=True)
    except ValueError:
        raise AwsError("InvalidParameterValue",
                       f"Value ({value}) for parameter {param} is invalid. "
                       "This is not a valid CIDR block.") from None
