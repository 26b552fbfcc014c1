"""Launch templates: CreateLaunchTemplate, CreateLaunchTemplateVersion,
DescribeLaunchTemplates, DescribeLaunchTemplateVersions, ModifyLaunchTemplate,
DeleteLaunchTemplate.

A template is a list of numbered, immutable versions and a default version
(1 until ModifyLaunchTemplate changes it; a new version never becomes the
default by itself). A version keeps its data as DescribeLaunchTemplateVersions
shows it (ResponseLaunchTemplateData), converted member by member from the
request with the model. RunInstances reads it through ``template_data``.

The fake keeps the parts of a template that RunInstances acts on
(SUPPORTED_DATA) and refuses the others with UnsupportedOperation, rather
than storing settings that would then silently do nothing.
"""

import base64
import binascii
import copy
import datetime
import re

from ..config import config_of
from ..errors import AwsError
from .actions import action, exactly_one
from .filters import compile_filters
from .pagination import paginate
from .tagging import tags_from_specifications, validate_tag

_NAME_RE = re.compile(r"^[a-zA-Z0-9().\-/_]{3,128}$")
USER_DATA_MAX_BYTES = 16384

SUPPORTED_DATA = {"ImageId", "InstanceType", "SecurityGroupIds", "SecurityGroups", "IamInstanceProfile",
                  "UserData", "MetadataOptions", "BlockDeviceMappings", "TagSpecifications",
                  "EbsOptimized", "DisableApiTermination", "InstanceInitiatedShutdownBehavior",
                  "Monitoring", "Placement"}
# Resource types a launch (template or RunInstances) may tag.
LAUNCH_TAG_TYPES = ("instance", "volume", "network-interface")

FILTERS = {
    "create-time": lambda t: [_iso(t["CreateTime"])],
    "launch-template-name": lambda t: [t["LaunchTemplateName"]],
}
VERSION_FILTERS = {
    "create-time": lambda v: [_iso(v["CreateTime"])],
    "ebs-optimized": lambda v: [v["LaunchTemplateData"].get("EbsOptimized")],
    "iam-instance-profile": lambda v: list(v["LaunchTemplateData"].get("IamInstanceProfile", {}).values()),
    "image-id": lambda v: [v["LaunchTemplateData"].get("ImageId")],
    "instance-type": lambda v: [v["LaunchTemplateData"].get("InstanceType")],
    "is-default-version": lambda v: [v["DefaultVersion"]],
    "kernel-id": lambda v: [],
    "ram-disk-id": lambda v: [],
}


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def check_user_data(encoded, param="userData"):
    """Decoded user data; EC2 wants base64 of at most 16 KiB of data."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise AwsError("InvalidParameterValue",
                       f"Invalid BASE64 encoding of user data ({param})") from None
    if len(raw) > USER_DATA_MAX_BYTES:
        raise AwsError("InvalidParameterValue",
                       f"User data is limited to {USER_DATA_MAX_BYTES} bytes (got {len(raw)})")
    return raw


def _project(model, request_shape, response_shape, value):
    """The request's value in the response's shape: same member names, the
    response's types and wire names (the serializer takes care of those)."""
    req, resp = model.shape(request_shape), model.shape(response_shape)
    if resp["type"] == "structure":
        return {k: _project(model, req["members"][k]["shape"], resp["members"][k]["shape"], v)
                for k, v in value.items() if k in resp["members"] and k in req.get("members", {})}
    if resp["type"] == "list":
        return [_project(model, req["member"]["shape"], resp["member"]["shape"], v) for v in value]
    return value


def _check_data(state, data):
    unsupported = sorted(set(data) - SUPPORTED_DATA)
    if unsupported:
        raise AwsError("UnsupportedOperation",
                       f"The fake does not support LaunchTemplateData.{unsupported[0]}.")
    if data.get("UserData") is not None:
        check_user_data(data["UserData"])
    hops = (data.get("MetadataOptions") or {}).get("HttpPutResponseHopLimit")
    if hops is not None and not 1 <= hops <= 64:
        raise AwsError("InvalidParameterValue",
                       f"Value ({hops}) for parameter httpPutResponseHopLimit is invalid. "
                       "Must be between 1 and 64.")
    for spec in data.get("TagSpecifications") or []:
        if spec.get("ResourceType") not in LAUNCH_TAG_TYPES:
            raise AwsError("InvalidParameterValue",
                           f"'{spec.get('ResourceType')}' is not a valid taggable resource type for "
                           "launch template data.")
        for tag in spec.get("Tags") or []:
            validate_tag(tag)
    response = _project(state.model, "RequestLaunchTemplateData", "ResponseLaunchTemplateData", data)
    if "MetadataOptions" in response:
        response["MetadataOptions"]["State"] = "applied"
    return response


def find_template(state, template_id=None, name=None, describing=False):
    if template_id is not None:
        state.check_id_form("launch-template", template_id)
        template = state.store["launch-template"].get(template_id)
        if template is None or (describing and state.too_new(template)):
            raise AwsError("InvalidLaunchTemplateId.NotFound",
                           f"The specified launch template, with template ID {template_id}, does not exist.")
        return template
    for template in state.all("launch-template"):
        if template["LaunchTemplateName"] == name:
            return template
    raise AwsError("InvalidLaunchTemplateName.NotFoundException",
                   f"The specified launch template, with template name {name}, does not exist.")


def _target(state, params):
    member = exactly_one(params, ["LaunchTemplateId", "LaunchTemplateName"],
                         "LaunchTemplateId, LaunchTemplateName")
    return find_template(state, params.get("LaunchTemplateId") if member == "LaunchTemplateId" else None,
                         params.get("LaunchTemplateName"))


def select_version(template, spec):
    """The version a spec names: "$Default" (also when None), "$Latest" or a number."""
    if spec in (None, "$Default"):
        number = template["DefaultVersionNumber"]
    elif spec == "$Latest":
        number = template["LatestVersionNumber"]
    elif spec.isdigit() and int(spec) >= 1:
        number = int(spec)
    else:
        number = None
    versions = {v["VersionNumber"]: v for v in template["_versions"]}
    if number not in versions:
        raise AwsError("InvalidLaunchTemplateId.VersionNotFound",
                       f"Could not find launch template version {spec} for launch template "
                       f"{template['LaunchTemplateId']}.")
    return versions[number]


def template_data(state, spec):
    """(template, version) for RunInstances' LaunchTemplate parameter."""
    member = exactly_one(spec, ["LaunchTemplateId", "LaunchTemplateName"],
                         "LaunchTemplate.LaunchTemplateId, LaunchTemplate.LaunchTemplateName")
    template = find_template(state, spec.get("LaunchTemplateId") if member == "LaunchTemplateId" else None,
                             spec.get("LaunchTemplateName"))
    return template, select_version(template, spec.get("Version"))


def _version_view(template, version):
    return dict(version, DefaultVersion=version["VersionNumber"] == template["DefaultVersionNumber"])


def _add_version(state, template, data, description, token):
    number = template["LatestVersionNumber"] + 1 if template["_versions"] else 1
    version = {"LaunchTemplateId": template["LaunchTemplateId"],
               "LaunchTemplateName": template["LaunchTemplateName"],
               "VersionNumber": number, "CreateTime": _now(),
               "CreatedBy": f"arn:aws:iam::{state.account_id}:root",
               "LaunchTemplateData": data, "_client_token": token}
    if description is not None:
        version["VersionDescription"] = description
    template["_versions"].append(version)
    template["LatestVersionNumber"] = number
    return version


def _template_by_token(state, token, request):
    for template in state.all("launch-template"):
        if token and template.get("_client_token") == token:
            if template["_request"] != request:
                raise AwsError("IdempotentParameterMismatch",
                               "The client token you have provided is associated with a resource that is "
                               "already deleted or has different parameters.")
            return template
    return None


@action("CreateLaunchTemplate")
def create_launch_template(state, params):
    name = params["LaunchTemplateName"]
    request = {k: v for k, v in params.items() if k != "ClientToken"}
    existing = _template_by_token(state, params.get("ClientToken"), request)
    if existing is not None:
        return {"LaunchTemplate": existing}
    if not _NAME_RE.match(name):
        raise AwsError("InvalidLaunchTemplateName.MalformedException",
                       f"A launch template name must be 3 to 128 characters of a-z, A-Z, 0-9, ( ) . - / _: {name}")
    if any(t["LaunchTemplateName"] == name for t in state.all("launch-template")):
        raise AwsError("InvalidLaunchTemplateName.AlreadyExistsException",
                       f"Launch template name already in use: {name}")
    data = _check_data(state, params["LaunchTemplateData"])
    tags = tags_from_specifications(params, "launch-template")
    template_id = state.new_id("lt")
    template = state.add("launch-template", template_id, {
        "LaunchTemplateId": template_id, "LaunchTemplateName": name, "CreateTime": _now(),
        "CreatedBy": f"arn:aws:iam::{state.account_id}:root", "DefaultVersionNumber": 1,
        "LatestVersionNumber": 0, "Tags": tags, "_versions": [],
        "_client_token": params.get("ClientToken"), "_request": request,
    })
    _add_version(state, template, data, params.get("VersionDescription"), None)
    return {"LaunchTemplate": template}


@action("CreateLaunchTemplateVersion")
def create_launch_template_version(state, params):
    template = _target(state, params)
    token = params.get("ClientToken")
    for version in template["_versions"]:
        if token and version["_client_token"] == token:
            return {"LaunchTemplateVersion": _version_view(template, version)}
    data = _check_data(state, params["LaunchTemplateData"])
    if params.get("SourceVersion") is not None:
        # Members given here replace the source version's; the rest is inherited.
        base = copy.deepcopy(select_version(template, params["SourceVersion"])["LaunchTemplateData"])
        base.update(data)
        data = base
    version = _add_version(state, template, data, params.get("VersionDescription"), token)
    return {"LaunchTemplateVersion": _version_view(template, version)}


@action("ModifyLaunchTemplate")
def modify_launch_template(state, params):
    template = _target(state, params)
    spec = params.get("DefaultVersion")
    if spec is None:
        raise AwsError("MissingParameter", "The request must contain the parameter SetDefaultVersion")
    if spec in ("$Default", "$Latest"):
        raise AwsError("InvalidParameterValue",
                       f"Value ({spec}) for parameter SetDefaultVersion is invalid: give a version number.")
    template["DefaultVersionNumber"] = select_version(template, spec)["VersionNumber"]
    return {"LaunchTemplate": template}


@action("DeleteLaunchTemplate")
def delete_launch_template(state, params):
    template = _target(state, params)
    state.remove("launch-template", template["LaunchTemplateId"])
    return {"LaunchTemplate": template}


@action("DescribeLaunchTemplates")
def describe_launch_templates(state, params):
    ids, names = params.get("LaunchTemplateIds"), params.get("LaunchTemplateNames")
    if config_of(state).ignore_filters:
        names = None        # names select like a filter; ids address (config.py)
    if ids or names:
        templates = [find_template(state, template_id=i, describing=True) for i in ids or []]
        templates += [find_template(state, name=n) for n in names or []]
        templates = list({t["LaunchTemplateId"]: t for t in templates}.values())
    else:
        templates = state.all("launch-template")
    matches = compile_filters(params.get("Filters"), FILTERS, state=state)
    page, token = paginate([t for t in templates if matches(t)], params,
                           lambda t: (t["_seq"],), bounds=(1, 200))
    result = {"LaunchTemplates": page}
    if token:
        result["NextToken"] = token
    return result


def _versions_of(template, params):
    wanted = params.get("Versions")
    low, high = params.get("MinVersion"), params.get("MaxVersion")
    if wanted:
        chosen = [select_version(template, spec) for spec in wanted]
    else:
        chosen = list(template["_versions"])
    for bound, keep in ((low, lambda n, b: n >= b), (high, lambda n, b: n <= b)):
        if bound is not None:
            if not bound.isdigit():
                raise AwsError("InvalidParameterValue", f"Version bound {bound} is not a version number.")
            chosen = [v for v in chosen if keep(v["VersionNumber"], int(bound))]
    return list({v["VersionNumber"]: v for v in chosen}.values())


@action("DescribeLaunchTemplateVersions")
def describe_launch_template_versions(state, params):
    if params.get("LaunchTemplateId") is not None or params.get("LaunchTemplateName") is not None:
        template = _target(state, params)
        pairs = [(template, v) for v in _versions_of(template, params)]
    else:
        # Without a template: the $Latest and/or $Default version of every template.
        wanted = params.get("Versions") or []
        if not wanted or any(v not in ("$Latest", "$Default") for v in wanted):
            raise AwsError("MissingParameter",
                           "The request must contain the parameter LaunchTemplateId or LaunchTemplateName "
                           "(without one, Versions may only be $Latest and $Default)")
        pairs = [(t, v) for t in state.all("launch-template") for v in _versions_of(t, params)]
    views = [_version_view(t, v) for t, v in pairs]
    for view, (template, _) in zip(views, pairs):
        view["_order"] = (template["_seq"], view["VersionNumber"])
    matches = compile_filters(params.get("Filters"), VERSION_FILTERS, taggable=False, state=state)
    page, token = paginate([v for v in views if matches(v)], params, lambda v: v["_order"],
                           bounds=(1, 200))
    result = {"LaunchTemplateVersions": page}
    if token:
        result["NextToken"] = token
    return result
