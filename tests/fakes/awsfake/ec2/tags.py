"""CreateTags, DeleteTags, DescribeTags: tags on any resource by id."""

from ..errors import AwsError
from .actions import action
from .filters import compile_filters
from .pagination import paginate
from .state import KINDS
from .tagging import merge_tags, validate_tag

FILTERS = {
    "key": lambda t: [t["Key"]],
    "value": lambda t: [t["Value"]],
    "resource-id": lambda t: [t["ResourceId"]],
    "resource-type": lambda t: [t["ResourceType"]],
}


@action("CreateTags")
def create_tags(state, params):
    if not params.get("Resources"):
        raise AwsError("MissingParameter", "The request must contain the parameter ResourceId")
    if not params.get("Tags"):
        raise AwsError("MissingParameter", "The request must contain the parameter Tag")
    tags = [validate_tag(t) for t in params["Tags"]]
    # Check every resource first: the call is all or nothing.
    resources = [state.find_any(rid)[1] for rid in params["Resources"]]
    merged = [merge_tags(r.get("Tags", []), tags) for r in resources]
    for resource, new_tags in zip(resources, merged):
        resource["Tags"] = new_tags
    return {}


@action("DeleteTags")
def delete_tags(state, params):
    if not params.get("Resources"):
        raise AwsError("MissingParameter", "The request must contain the parameter ResourceId")
    resources = [state.find_any(rid)[1] for rid in params["Resources"]]
    requested = params.get("Tags")
    for resource in resources:
        if not requested:       # no Tag.N at all: delete every tag
            resource["Tags"] = []
            continue
        def doomed(tag):
            # A tag given with a value (even "") is deleted only if the value matches.
            return any(r.get("Key") == tag["Key"] and ("Value" not in r or r["Value"] == tag["Value"])
                       for r in requested)
        resource["Tags"] = [t for t in resource.get("Tags", []) if not doomed(t)]
    return {}


@action("DescribeTags")
def describe_tags(state, params):
    items = []
    for kind_name, resources in state.store.items():
        kind = KINDS[kind_name]
        for resource in resources.values():
            for tag in resource.get("Tags", []):
                items.append({"ResourceId": resource[kind.id_field], "ResourceType": kind_name,
                              "Key": tag["Key"], "Value": tag["Value"], "_seq": resource["_seq"]})
    matches = compile_filters(params.get("Filters"), FILTERS, taggable=False, state=state)
    page, token = paginate([i for i in items if matches(i)], params,
                           lambda t: (t["_seq"], t["Key"]))
    result = {"Tags": page}
    if token:
        result["NextToken"] = token
    return result
