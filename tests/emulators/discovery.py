"""Validate JSON bodies against a Google discovery document, so a fake that drifts from the real API fails.

Google publishes each REST API's schemas as a discovery document; `google-api-python-client` ships them
(`googleapiclient/discovery_cache/documents/*.json`). This validator reads one and checks a body against a
named schema: `$ref`s resolved, JSON types and formats as the proto3 JSON mapping writes them (int64 as a
decimal string, durations as `"1.5s"`, timestamps as RFC 3339), enums, and **unknown fields fail**.

Enums are accepted as their names, or as numbers when the client asked for numeric enums
(`$alt=json;enum-encoding=int`, which Google's generated REST clients send): the discovery document lists
names only, so a number is checked to be a non-negative integer. Objects of type `any` that carry a known
`@type` (an operation's metadata and response) are validated against that type's schema too.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["Discovery", "SchemaViolation", "discovery"]

_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
_INT64 = re.compile(r"^-?\d+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")


class SchemaViolation(AssertionError):
    """A body does not match the discovery document: the path and what is wrong."""


class Discovery:
    """One discovery document and a map from protobuf type URLs to its schema names."""

    def __init__(self, document: dict[str, Any], type_urls: dict[str, str] | None = None) -> None:
        self.document = document
        self.schemas: dict[str, Any] = document["schemas"]
        self.type_urls = type_urls or {}

    def validate(self, body: Any, schema_name: str, *, numeric_enums: bool = False) -> None:
        """Raise SchemaViolation naming the first mismatch."""
        if schema_name not in self.schemas:
            raise KeyError(f"no schema {schema_name} in {self.document.get('id')}")
        self._check(body, {"$ref": schema_name}, schema_name, numeric_enums)

    def method(self, dotted: str) -> dict[str, Any]:
        """A method by its resource path, e.g. `projects.locations.services.patch`."""
        node: dict[str, Any] = self.document
        *resources, name = dotted.split(".")
        for resource in resources:
            node = node["resources"][resource]
        method: dict[str, Any] = node["methods"][name]
        return method

    def _check(self, value: Any, schema: dict[str, Any], path: str, numeric: bool) -> None:
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        kind = schema.get("type")
        if kind == "any":
            return
        if kind == "object":
            self._object(value, schema, path, numeric)
        elif kind == "array":
            if not isinstance(value, list):
                raise SchemaViolation(f"{path}: expected an array, got {value!r}")
            for i, item in enumerate(value):
                self._check(item, schema["items"], f"{path}[{i}]", numeric)
        elif kind == "string":
            self._string(value, schema, path, numeric)
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise SchemaViolation(f"{path}: expected an integer, got {value!r}")
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                if value not in ("NaN", "Infinity", "-Infinity"):
                    raise SchemaViolation(f"{path}: expected a number, got {value!r}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise SchemaViolation(f"{path}: expected a boolean, got {value!r}")
        else:
            raise SchemaViolation(f"{path}: schema has unknown type {kind!r}")

    def _object(self, value: Any, schema: dict[str, Any], path: str, numeric: bool) -> None:
        if not isinstance(value, dict):
            raise SchemaViolation(f"{path}: expected an object, got {value!r}")
        properties: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        if extra is not None and not properties:
            if extra.get("type") == "any" and "@type" in value:
                self._typed_any(value, path, numeric)
                return
            for key, item in value.items():
                self._check(item, extra, f"{path}.{key}", numeric)
            return
        for key, item in value.items():
            if key not in properties:
                raise SchemaViolation(f"{path}: unknown field {key!r} (known: {', '.join(sorted(properties))})")
            self._check(item, properties[key], f"{path}.{key}", numeric)

    def _typed_any(self, value: dict[str, Any], path: str, numeric: bool) -> None:
        type_url = value["@type"]
        name = self.type_urls.get(type_url)
        if name is None:
            return  # a type this document does not describe (e.g. google.rpc.ErrorInfo): not ours to check
        inner = {k: v for k, v in value.items() if k != "@type"}
        self._check(inner, {"$ref": name}, f"{path}<{type_url.rsplit('/', 1)[-1]}>", numeric)

    def _string(self, value: Any, schema: dict[str, Any], path: str, numeric: bool) -> None:
        enum = schema.get("enum")
        if enum is not None:
            if numeric and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return
            if value not in enum:
                raise SchemaViolation(f"{path}: {value!r} is not one of {enum}")
            return
        if not isinstance(value, str):
            raise SchemaViolation(f"{path}: expected a string, got {value!r}")
        fmt = schema.get("format")
        pattern = {"int64": _INT64, "uint64": _INT64, "google-duration": _DURATION,
                   "google-datetime": _DATETIME, "byte": _BASE64}.get(fmt or "")
        if pattern is not None and not pattern.match(value):
            raise SchemaViolation(f"{path}: {value!r} is not a valid {fmt}")


def _documents_dir() -> Path:
    import googleapiclient  # the package that ships Google's discovery documents

    return Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"


@cache
def discovery(name: str) -> Discovery:
    """`run.v2` or `monitoring.v3`, from google-api-python-client's copy of Google's documents."""
    document = json.loads((_documents_dir() / f"{name}.json").read_text())
    type_urls: dict[str, str] = {}
    if name == "run.v2":
        type_urls = {"type.googleapis.com/google.cloud.run.v2.Service": "GoogleCloudRunV2Service",
                     "type.googleapis.com/google.cloud.run.v2.Revision": "GoogleCloudRunV2Revision"}
    return Discovery(document, type_urls)
