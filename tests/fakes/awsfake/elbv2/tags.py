"""AddTags, RemoveTags, DescribeTags on load balancers, target groups and listeners (by ARN)."""

from .state import action, merge_tags


@action("AddTags")
def add_tags(state, params):
    resources = [state.tagged(arn) for arn in params["ResourceArns"]]   # all or nothing
    merged = [merge_tags(state, r["_tags"], params["Tags"]) for r in resources]
    for resource, tags in zip(resources, merged):
        resource["_tags"] = tags
    return {}


@action("RemoveTags")
def remove_tags(state, params):
    resources = [state.tagged(arn) for arn in params["ResourceArns"]]
    for resource in resources:
        resource["_tags"] = [t for t in resource["_tags"] if t["Key"] not in params["TagKeys"]]
    return {}


@action("DescribeTags")
def describe_tags(state, params):
    arns = params["ResourceArns"]
    if len(arns) > 20:
        raise state.error("ValidationError", "1 validation error detected: Value at 'resourceArns' failed "
                                             "to satisfy constraint: Member must have length less than or "
                                             "equal to 20")
    return {"TagDescriptions": [{"ResourceArn": arn, "Tags": state.tagged(arn)["_tags"]} for arn in arns]}
