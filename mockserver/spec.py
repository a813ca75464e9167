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
    #: The security scheme the operation names (`token`, `publishableKey`), "" for none.
    auth: str = "token"


@dataclass(frozen=True)
class Spec:
    document: dict[str, Any] = field(repr=False)
    path: str
    operations: dict[str, Operation]

    @property
    def version(self) -> str:
        return str(self.document.get("info", {}).get("version", ""))


SPEC_FILES = ("openapi.yaml", "funnel.yaml")
"""The seed's document (verbatim), then the funnel's operations written for dub-mock."""


def bundled_spec_paths() -> tuple[Path, ...]:
    """The YAML files shipped in the wheel, or those of `spec/` in a source checkout."""
    packaged = resources.files("mockserver").joinpath("_spec")
    checkout = Path(__file__).resolve().parent.parent / "spec"
    for folder in (Path(str(packaged)), checkout):
        paths = tuple(folder / name for name in SPEC_FILES)
        if all(path.is_file() for path in paths):
            return paths
    raise SpecError("the bundled spec is missing: reinstall dub-mock")


def bundled_spec_path() -> Path:
    """The seed's document, `openapi.yaml` (POST /track/sale and the shared components)."""
    return bundled_spec_paths()[0]


def bundled_document() -> dict[str, Any]:
    """The bundled spec as one OpenAPI document: every operation of the funnel."""
    paths = bundled_spec_paths()
    return _bundled_document(tuple(str(p) for p in paths), tuple(_mtime(p) for p in paths))


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError as exc:
        raise SpecError(f"cannot read spec {str(path)!r}: {exc.strerror}") from None


@functools.lru_cache(maxsize=4)
def _bundled_document(paths: tuple[str, ...], mtimes: tuple[int, ...]) -> dict[str, Any]:
    base, *extras = (_read_yaml(path) for path in paths)
    return merge_documents(base, *extras)


def merge_documents(base: dict[str, Any], *extras: dict[str, Any]) -> dict[str, Any]:
    """`base` with the paths and components of `extras` added; a name given twice is an error.

    The extras' `openapi` and `info` are dropped: the merged document is the base's.
    """
    merged = {**base, "paths": dict(base.get("paths", {}))}
    components = {kind: dict(items) for kind, items in base.get("components", {}).items()}
    for extra in extras:
        for route, item in extra.get("paths", {}).items():
            if route in merged["paths"]:
                raise SpecError(f"spec path {route} is defined twice")
            merged["paths"][route] = item
        for kind, items in extra.get("components", {}).items():
            section = components.setdefault(kind, {})
            for name, value in items.items():
                if name in section:
                    raise SpecError(f"spec component {kind}/{name} is defined twice")
                section[name] = value
    merged["components"] = components
    return merged


def load_spec(path: str | None = None) -> Spec:
    """Read, validate and compile a spec; cached per file, so many apps share one compile.

    Without `path`, the bundled spec (both files, merged); with one, that document alone.
    """
    if not path:
        paths = bundled_spec_paths()
        return _load_bundled(tuple(str(p) for p in paths), tuple(_mtime(p) for p in paths))
    resolved = Path(path).resolve()
    return _load_spec(str(resolved), _mtime(resolved))


@functools.lru_cache(maxsize=4)
def _load_bundled(paths: tuple[str, ...], mtimes: tuple[int, ...]) -> Spec:
    # The bundled spec is validated by the test suite; importing the validator costs more
    # than the rest of a cold start, which every pytest session pays.
    return _compile(_bundled_document(paths, mtimes), paths[0])


@functools.lru_cache(maxsize=8)
def _load_spec(path: str, mtime_ns: int) -> Spec:
    document = _read_yaml(path)
    _validate_document(document, path)
    return _compile(document, path)


def _read_yaml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            document = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"cannot parse spec {path!r}: {exc}") from None
    if not isinstance(document, dict):
        raise SpecError(f"spec {path!r} is not an OpenAPI document")
    return document


def _compile(document: dict[str, Any], path: str) -> Spec:
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
    schemes = [name for requirement in security for name in requirement]
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
        auth=schemes[0] if schemes else "",
    )
