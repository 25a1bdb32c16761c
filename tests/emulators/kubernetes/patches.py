"""The three patch types as the API server applies them.

- JSON merge patch (RFC 7386): maps merge, `null` deletes, lists are replaced whole.
- JSON patch (RFC 6902): the `jsonpatch` package (what `kubectl rollout undo` sends).
- Strategic merge patch: like a merge patch, except that lists of objects with a *merge key* are merged item by
  item (containers by `name`, container ports by `containerPort`, service ports by `port`, conditions by
  `type`...), lists of primitives with the merge strategy (finalizers) are unioned, and the `$patch` /
  `$deleteFromPrimitiveList` / `$setElementOrder` / `$retainKeys` directives are honoured. The merge keys are the
  ones of the core types' Go struct tags (`patchMergeKey`) for the fields a Deployment, Pod or Service has.
  Custom resources have no strategic merge (the API server answers 415), see `app.py`.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

__all__ = ["PatchError", "merge_patch", "json_patch", "strategic_merge_patch"]


class PatchError(ValueError):
    """The patch cannot be applied (answered as 422 Unprocessable Entity)."""


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    try:
        result = jsonpatch.apply_patch(target, operations)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, IndexError, TypeError) as exc:
        raise PatchError(f"the JSON patch cannot be applied: {exc}") from exc
    if not isinstance(result, dict):
        raise PatchError("the JSON patch replaced the whole object with a non-object")
    return result


# field name → merge key, for lists of objects merged item by item (k8s.io/api patchMergeKey tags).
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "readinessGates": "conditionType",
}
# lists of primitives with patchStrategy "merge" (a set union)
_PRIMITIVE_MERGE = {"finalizers"}


def _merge_key(field: str, parent_field: str | None) -> str | None:
    if field == "ports":
        # container ports merge by containerPort; a Service's ports by port
        return "containerPort" if parent_field in {"containers", "initContainers", "ephemeralContainers"} else "port"
    return _MERGE_KEYS.get(field)


def strategic_merge_patch(target: dict[str, Any], patch: Any) -> dict[str, Any]:
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    result = _merge_map(target, patch, parent_field=None)
    return result


def _merge_map(target: Any, patch: dict[str, Any], *, parent_field: str | None) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return _strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    if directive is not None:
        raise PatchError(f"unknown $patch directive {directive!r}")
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in {"$retainKeys", "$patch"}:
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if isinstance(result.get(name), list) and isinstance(value, list):
                result[name] = [item for item in result[name] if item not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(result.get(key), value, parent_field=key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, field=key, parent_field=parent_field)
        else:
            result[key] = value
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(target: Any, patch: list[Any], *, field: str, parent_field: str | None) -> list[Any]:
    current = copy.deepcopy(target) if isinstance(target, list) else []
    if field in _PRIMITIVE_MERGE:
        return current + [item for item in patch if item not in current]
    key = _merge_key(field, parent_field)
    if key is None or not all(isinstance(item, dict) for item in patch):
        if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
            return [_strip_directives(item) for item in patch if not (isinstance(item, dict) and "$patch" in item)]
        return _strip_directives(patch)
    if any(item.get("$patch") == "replace" for item in patch):
        return [_strip_directives(item) for item in patch if "$patch" not in item]
    for item in patch:
        if key not in item:
            raise PatchError(f"map in list {field} has no merge key {key}")
        index = next((i for i, existing in enumerate(current)
                      if isinstance(existing, dict) and existing.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                current.pop(index)
            continue
        if index is None:
            current.append(_strip_directives(item))
        else:
            current[index] = _merge_map(current[index], item, parent_field=field)
    return current


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(item) for item in value]
    return value
