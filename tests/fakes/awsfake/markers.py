"""Marker pagination (IAM's Marker/MaxItems/IsTruncated, ELBv2's Marker/PageSize/NextMarker).

A marker is opaque to clients; inside it holds the sort key of the last item
returned, so a page boundary survives items being created or deleted
between calls (an offset would skip or repeat items).
"""

import base64
import json

from .errors import AwsError


def _encode(key):
    return base64.urlsafe_b64encode(json.dumps({"after": list(key)}).encode()).decode()


def _decode(marker, code):
    try:
        return tuple(json.loads(base64.urlsafe_b64decode(marker.encode()))["after"])
    except (ValueError, KeyError, TypeError):
        raise AwsError(code, f"Invalid Marker: {marker}") from None


def page(items, marker, limit, sort_key, error_code="ValidationError"):
    """(page, next_marker) of the items sorted by sort_key; next_marker is None on the last page."""
    items = sorted(items, key=sort_key)
    if marker:
        after = _decode(marker, error_code)
        items = [i for i in items if tuple(sort_key(i)) > after]
    if limit is None or len(items) <= limit:
        return items, None
    chunk = items[:limit]
    return chunk, _encode(sort_key(chunk[-1]))
