"""Load the OpenAPI document once, validate it, and compile every operation's checks.

Nothing here runs per request: `load_spec` returns `Operation` objects whose validators are
compiled functions, and the app keeps them for its lifetime.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError
from .validation import Validator, compile_schema, integer_fields

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Operation:
    """One spec operation, ready to serve: its route, body checks and documented answers."""

    operation_id: str
    method: str
    path: str
    request_schema: dict[str, Any] | None
    request_validator: Validator | None
    integer_fields: frozenset[str]
    defaults: dict[str, Any]
    documented_statuses: frozenset[int]
    response_validators: dict[int, Validator] = field(repr=False)
    requires_auth: bool = True


@dataclass(frozen=True)
class Spec:
    document: dict[str, Any] = field(repr=False)
    path: str
    operations: dict[str, Operation]

    @property
    def version(self) -> str:
        return str(self.document.get("info", {}).get("version", ""))


def bundled_spec_path() -> Path:
    """The YAML shipped in the wheel, or `spec/openapi.yaml` of a source checkout."""
    packaged = resources.files("mockserver").joinpath("_spec/openapi.yaml")
    if packaged.is_file():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / "spec" / "openapi.yaml"
    if checkout.is_file():
        return checkout
    raise SpecError("the bundled spec is missing: reinstall dub-mock")


def _checkout_or_packaged() -> Path:
    try:
        return bundled_spec_path().resolve()
    except SpecError:
        return Path()


def load_spec(path: str | None = None) -> Spec:
    """Read, validate and compile a spec; cached per file, so many apps share one compile."""
    resolved = Path(path).resolve() if path else bundled_spec_path()
    try:
        mtime = resolved.stat().st_mtime_ns
    except OSError as exc:
        raise SpecError(f"cannot read spec {str(resolved)!r}: {exc.strerror}") from None
    return _load_spec(str(resolved), mtime)


@functools.lru_cache(maxsize=8)
def _load_spec(path: str, mtime_ns: int) -> Spec:
    try:
        with open(path, "rb") as handle:
            document = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"cannot parse spec {path!r}: {exc}") from None
    if not isinstance(document, dict):
        raise SpecError(f"spec {path!r} is not an OpenAPI document")
    if Path(path) != _checkout_or_packaged():
        # The bundled spec is validated by the test suite; importing the validator costs more
        # than the rest of a cold start, which every pytest session pays.
        _validate_document(document, path)
    resolved = _resolve_refs(document, document)
    operations = {}
    for route, item in resolved.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                op = _compile_operation(route, method, item[method], resolved)
                operations[op.operation_id] = op
    return Spec(document=document, path=path, operations=operations)


def _validate_document(document: dict[str, Any], path: str) -> None:
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        validate(document)
    except OpenAPIValidationError as exc:
        raise SpecError(f"spec {path!r} is not valid OpenAPI: {exc}") from None


def _resolve_refs(node: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """Inline local `$ref`s (`#/components/...`); the bundled spec has no cycles."""
    if depth > 64:
        raise SpecError("spec $refs nest too deep (a cycle?)")
    if isinstance(node, list):
        return [_resolve_refs(item, root, depth) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith("#/"):
            raise SpecError(f"only local $refs are supported, not {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return _resolve_refs(target, root, depth + 1)
    return {key: _resolve_refs(value, root, depth) for key, value in node.items()}


def _compile_operation(
    route: str, method: str, op: dict[str, Any], document: dict[str, Any]
) -> Operation:
    operation_id = op.get("operationId") or f"{method}_{route}"
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    defaults = {
        name: prop["default"]
        for name, prop in (schema or {}).get("properties", {}).items()
        if isinstance(prop, dict) and "default" in prop
    }
    statuses: set[int] = set()
    response_validators: dict[int, Validator] = {}
    for status, response in op.get("responses", {}).items():
        if not str(status).isdigit():
            continue
        statuses.add(int(status))
        body_schema = response.get("content", {}).get("application/json", {}).get("schema")
        if body_schema is not None:
            response_validators[int(status)] = compile_schema(body_schema)
    security = op.get("security", document.get("security", []))
    return Operation(
        operation_id=operation_id,
        method=method.upper(),
        path=route,
        request_schema=schema,
        request_validator=compile_schema(schema) if schema else None,
        integer_fields=integer_fields(schema),
        defaults=defaults,
        documented_statuses=frozenset(statuses),
        response_validators=response_validators,
        requires_auth=bool(security),
    )
