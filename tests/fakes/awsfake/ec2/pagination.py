"""``MaxResults`` / ``NextToken`` for Describe* calls, as in paginators-1.json.

Tokens are opaque to clients; inside they hold the sort key of the last item
returned, so a page boundary survives resources being created or deleted
between calls (an offset would skip or repeat items).
"""

import base64
import json

from ..errors import AwsError

# EC2 documents 5..1000 for MaxResults where the model has no bounds
# (e.g. DescribeTags); bounded shapes are already checked by the parser.
MIN_RESULTS, MAX_RESULTS = 5, 1000


def _encode(key):
    return base64.urlsafe_b64encode(json.dumps({"after": list(key)}).encode()).decode()


def _decode(token):
    try:
        return tuple(json.loads(base64.urlsafe_b64decode(token.encode()))["after"])
    except (ValueError, KeyError, TypeError):
        raise AwsError("InvalidNextToken", f"The token '{token}' is invalid") from None


def paginate(items, params, sort_key, bounds=(MIN_RESULTS, MAX_RESULTS)):
    """(page, next_token) from all matching items; next_token is None on the last page.
    bounds: the MaxResults range of the operation (EC2's usual 5..1000 by default)."""
    items = sorted(items, key=sort_key)
    token = params.get("NextToken")
    if token:
        after = _decode(token)
        items = [i for i in items if tuple(sort_key(i)) > after]
    limit = params.get("MaxResults")
    if limit is None:
        return items, None
    if not bounds[0] <= limit <= bounds[1]:
        raise AwsError("InvalidParameterValue",
                       f"Value ( {limit} ) for parameter maxResults is invalid. "
                       f"Parameter must be between {bounds[0]} and {bounds[1]}.")
    if len(items) <= limit:
        return items, None
    page = items[:limit]
    return page, _encode(sort_key(page[-1]))
