"""Every object written to the emulator is checked against the real schema, as the API server would.

- Core types (apps/v1 Deployment, v1 Service, Pod...) against the official OpenAPI schemas that the
  `kubernetes-validate` package ships per Kubernetes version (its strict variant: unknown fields are errors).
  The package re-reads its JSON files on every call (~75 ms); the validators are built once here from the same
  files, with the same registry, so that validating every write of a whole rollout stays cheap.
- Custom resources (HTTPRoute, Gateway, VirtualService, DestinationRule) against the `openAPIV3Schema` of the
  upstream CRDs copied into `crds/` (see its README). Unknown fields are errors unless the schema says
  `x-kubernetes-preserve-unknown-fields`; CEL rules (`x-kubernetes-validations`) are not evaluated.

Defaults declared in a CRD schema are applied the way the API server applies structural defaults, so what a
client reads back carries them (a backendRef's `weight: 1`, `kind: Service`...).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from kubernetes_validate import utils as kv_utils
from referencing import Registry, Resource

from tests.emulators.kubernetes.resources import ResourceType

__all__ = ["SchemaViolation", "validate_object", "apply_crd_defaults", "KUBERNETES_VERSION"]

KUBERNETES_VERSION = "1.32.0"
CRD_DIR = Path(__file__).resolve().parent / "crds"
_CRD_FILES = ("gateway.networking.k8s.io_httproutes.yaml", "gateway.networking.k8s.io_gateways.yaml",
              "istio-networking-virtualservices-destinationrules.yaml")


class SchemaViolation(ValueError):
    """The object does not match its schema (answered as 422 Invalid)."""


@functools.cache
def _crd_schemas() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) → openAPIV3Schema, from the CRD files."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    schemas: dict[tuple[str, str, str], dict[str, Any]] = {}
    for name in _CRD_FILES:
        with open(CRD_DIR / name, encoding="utf-8") as handle:
            for document in yaml.load_all(handle, Loader=loader):
                if not document or document.get("kind") != "CustomResourceDefinition":
                    continue
                spec = document["spec"]
                for version in spec["versions"]:
                    key = (spec["group"], version["name"], spec["names"]["kind"])
                    schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


def _closed(schema: Any) -> Any:
    """Unknown fields are errors (the API server prunes them; a test wants to know canaria sent them)."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _closed(value) for key, value in schema.items()}
    if ("properties" in result and "additionalProperties" not in result
            and not result.get("x-kubernetes-preserve-unknown-fields")):
        result["additionalProperties"] = False
    return result


@functools.cache
def _crd_validator(group: str, version: str, kind: str) -> jsonschema.protocols.Validator:
    schema = _crd_schemas().get((group, version, kind))
    if schema is None:
        raise SchemaViolation(f"no CRD schema for {group}/{version} {kind}")
    closed = _closed(schema)
    closed.setdefault("properties", {}).update(
        {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}})
    return jsonschema.Draft7Validator(closed)


@functools.cache
def _core_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    version = KUBERNETES_VERSION.rsplit(".", 1)[0]
    schema_dir = f"kubernetes-json-schema/v{version}.0-local-strict"
    group_version = api_version.split("/")
    short = group_version[0].split(".")[0] + "-" + group_version[1] if len(group_version) == 2 else group_version[0]
    schema = kv_utils.schema_contents(f"{schema_dir}/{kind.lower()}-{short}.json", KUBERNETES_VERSION)
    definitions = kv_utils.schema_contents(f"{schema_dir}/_definitions.json", KUBERNETES_VERSION)
    registry: Registry[Any] = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate_object(rtype: ResourceType, obj: dict[str, Any]) -> None:
    """Raise SchemaViolation naming the first offending field."""
    if rtype.custom:
        validator = _crd_validator(rtype.group, rtype.version, rtype.kind)
    else:
        validator = _core_validator(rtype.api_version, rtype.kind)
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path) or "(root)"
        raise SchemaViolation(f"{rtype.kind} {where}: {error.message}")


def apply_crd_defaults(rtype: ResourceType, obj: dict[str, Any]) -> None:
    """Fill the schema's defaults in place."""
    schema = _crd_schemas().get((rtype.group, rtype.version, rtype.kind))
    if schema is not None:
        _default(schema, obj)


def _default(schema: dict[str, Any], value: Any) -> None:
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name, sub in properties.items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                _default(sub, value[name])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name, item in value.items():
                if name not in properties:
                    _default(extra, item)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _default(schema["items"], item)
