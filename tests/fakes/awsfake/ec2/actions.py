"""The registry of EC2 actions, and the shape every Describe* call shares.

A handler is ``fn(state, params) -> dict``: params are keyed by model member
names (as boto3 takes them), the result by output member names. Errors are
raised as AwsError. Modules register handlers with @action("Name").
"""

from ..errors import AwsError
from .filters import compile_filters
from .pagination import paginate

ACTIONS = {}

# Functions run before every action, under the service lock: the fake's
# stand-in for the work AWS does asynchronously (a NAT gateway becoming
# available ...), so every action sees the world as it is by then.
BACKGROUND = []


def action(name):
    def register(fn):
        ACTIONS[name] = fn
        return fn
    return register


def background(fn):
    """Registers fn(state), run before every action."""
    BACKGROUND.append(fn)
    return fn


def by_creation(resource):
    return (resource["_seq"],)


def describe(state, operation, params, *, kind, filters, ids_member=None,
             view=None, taggable=True, result_key=None):
    """Ids lookup, Filters, then MaxResults/NextToken, as every EC2 Describe* does.

    The result list's member name comes from paginators-1.json when the
    operation is paginated there, so it always matches what boto3 expects."""
    paginator = state.model.paginator(operation)
    result_key = result_key or paginator["result_key"]
    ids = params.get(ids_member) if ids_member else None
    if ids and params.get("MaxResults") is not None:
        raise AwsError("InvalidParameterCombination",
                       f"The parameter {ids_member} cannot be used with the parameter maxResults")
    resources = state.get_many(kind, ids, describing=True) if ids else state.all(kind)
    matches = compile_filters(params.get("Filters"), filters, taggable, state=state)
    selected = [r for r in resources if matches(r)]
    if paginator:
        page, token = paginate(selected, params, by_creation)
    else:
        page, token = sorted(selected, key=by_creation), None
    view = view or (lambda r: r)
    result = {result_key: [view(r) for r in page]}
    if token:
        result["NextToken"] = token
    return result


def exactly_one(params, names, what):
    """The one member of ``names`` present in params; EC2 wants exactly one."""
    given = [n for n in names if params.get(n) is not None]
    if not given:
        raise AwsError("MissingParameter", f"The request must contain exactly one of: {what}")
    if len(given) > 1:
        raise AwsError("InvalidParameterCombination",
                       f"Only one of {', '.join(given)} may be specified")
    return given[0]
