"""AWS's own API models, as shipped by Debian's python3-botocore.

The fake never hard-codes wire names: parameter names, XML element names,
list wrappers, enums and pagination all come from these JSON files, so every
response is shaped exactly as boto3 (and AWS) expect. Only the JSON files are
read; botocore itself is not imported (the fakes are stdlib only).
"""

import gzip
import importlib.util
import json
import os

_CANDIDATE_DIRS = [
    os.environ.get("AWSFAKE_BOTOCORE_DATA", ""),
    "/usr/lib/python3/dist-packages/botocore/data",
]


def _data_dir():
    for d in _CANDIDATE_DIRS:
        if d and os.path.isdir(d):
            return d
    spec = importlib.util.find_spec("botocore")   # locates, does not import
    if spec and spec.submodule_search_locations:
        d = os.path.join(list(spec.submodule_search_locations)[0], "data")
        if os.path.isdir(d):
            return d
    raise FileNotFoundError("botocore data not found; install python3-botocore "
                            "or set AWSFAKE_BOTOCORE_DATA")


def _load_json(path):
    # Newer botocore releases ship the models gzip-compressed.
    if os.path.exists(path):
        with open(path, "rb") as f:
            return json.load(f)
    if os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as f:
            return json.load(f)
    return None


class ServiceModel:
    def __init__(self, service, api_version):
        base = os.path.join(_data_dir(), service, api_version)
        model = _load_json(os.path.join(base, "service-2.json"))
        if model is None:
            raise FileNotFoundError(f"no botocore model for {service} {api_version} in {base}")
        paginators = _load_json(os.path.join(base, "paginators-1.json")) or {}
        self.metadata = model["metadata"]
        self.operations = model["operations"]
        self.shapes = model["shapes"]
        self.paginators = paginators.get("pagination", {})

    @property
    def api_version(self):
        return self.metadata["apiVersion"]

    @property
    def xml_namespace(self):
        return self.metadata.get("xmlNamespace", "")

    def shape(self, name):
        return self.shapes[name]

    def input_shape_name(self, operation):
        ref = self.operations[operation].get("input")
        return ref["shape"] if ref else None

    def output_shape_name(self, operation):
        ref = self.operations[operation].get("output")
        return ref["shape"] if ref else None

    def paginator(self, operation):
        return self.paginators.get(operation)
