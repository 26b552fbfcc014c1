"""Tag rules shared by CreateTags and every Create* that takes TagSpecifications.

Limits are EC2's documented ones: 50 tags per resource, keys up to 128 and
values up to 256 characters, the ``aws:`` prefix reserved.
"""

from ..errors import AwsError

MAX_TAGS = 50


def validate_tag(tag):
    key = tag.get("Key")
    value = tag.get("Value", "")
    if key is None or key == "":
        raise AwsError("InvalidParameterValue", "Tag key cannot be empty")
    if len(key) > 128:
        raise AwsError("InvalidParameterValue",
                       f"Tag key exceeds the maximum length of 128 characters: {key}")
    if len(value) > 256:
        raise AwsError("InvalidParameterValue",
                       f"Tag value exceeds the maximum length of 256 characters: {value}")
    if key.lower().startswith("aws:"):
        raise AwsError("InvalidParameterValue",
                       "Tag keys starting with 'aws:' are reserved for internal use")
    return {"Key": key, "Value": value}


def merge_tags(existing, new):
    """Tags after setting ``new`` on a resource that has ``existing`` (same key replaces)."""
    merged = {t["Key"]: t["Value"] for t in existing}
    for tag in new:
        merged[tag["Key"]] = tag["Value"]
    if len(merged) > MAX_TAGS:
        raise AwsError("TagLimitExceeded",
                       "The maximum number of Tags for a resource has been reached.")
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def tags_from_specifications(params, resource_type, member="TagSpecifications"):
    """The tags a Create* call asks for on the resource it creates.

    Every specification must name this call's resource type; asking for
    another type is an error in EC2 (it does not silently ignore it)."""
    tags = []
    seen = set()
    for spec in params.get(member) or []:
        rtype = spec.get("ResourceType")
        if rtype != resource_type:
            raise AwsError("InvalidParameterValue",
                           f"'{rtype}' is not a valid taggable resource type for this operation.")
        if rtype in seen:
            raise AwsError("InvalidParameterValue",
                           f"The same resource type ({rtype}) may not be specified more than once "
                           "in tag specifications")
        seen.add(rtype)
        if not spec.get("Tags"):
            raise AwsError("InvalidParameterValue", "Tag specification must have at least one tag")
        tags.extend(validate_tag(t) for t in spec["Tags"])
    return merge_tags([], tags)
