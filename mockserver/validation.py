"""OpenAPI 3.0 schemas → fast compiled validators (fastjsonschema), and Dub's reading of a body.

The spec's schema is compiled faithfully (the test suite checks it agrees with openapi-core);
`check_body` then layers Dub's own order of answers on top (BEHAVIOR §2, §4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import fastjsonschema
import orjson

from .errors import BadRequest, UnprocessableEntity

Validator = Callable[[Any], Any]

#: OpenAPI keywords with no JSON Schema meaning; dropped before compiling.
_ANNOTATIONS = frozenset(
    ("nullable", "example", "examples", "description", "deprecated", "readOnly", "writeOnly",
     "xml", "externalDocs", "discriminator")
)  # fmt: skip


class SchemaViolation(Exception):
    """Raised by a compiled validator: `field` is the dotted path of the first offending value."""

    def __init__(self, field: str, message: str, rule: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.rule = rule


def to_json_schema(schema: Any) -> Any:
    """Translate an OpenAPI 3.0 schema object into draft-7 JSON Schema.

    `nullable: true` becomes a `null` member of `type` (and of `enum`); `x-*` extensions and
    annotations are dropped; a `format` beside a `pattern` is dropped, the pattern being the
    authority (BEHAVIOR "fine points"); an ECMA-262 `$` anchor means end of input, as in JavaScript.
    """
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        if key in {"properties", "patternProperties", "definitions"}:
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key == "pattern" and isinstance(value, str) and value.endswith("$"):
            out[key] = value[:-1] + r"\Z" if not value.endswith(r"\$") else value
        else:
            out[key] = to_json_schema(value)
    if "pattern" in out:
        out.pop("format", None)
    if schema.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def compile_schema(openapi_schema: Mapping[str, Any]) -> Validator:
    """A validator that returns silently or raises SchemaViolation naming the field."""
    # OpenAPI 3.0 schemas are draft-04 at heart (boolean exclusiveMaximum, integer ≠ 1.0).
    json_schema = {"$schema": "http://json-schema.org/draft-04/schema#"}
    json_schema.update(to_json_schema(dict(openapi_schema)))
    compiled = fastjsonschema.compile(json_schema, use_default=False)

    def validate(value: Any) -> None:
        try:
            compiled(value)
        except fastjsonschema.JsonSchemaValueException as exc:
            field = (exc.name or "data").removeprefix("data").lstrip(".") or "body"
            message = exc.message.replace(exc.name or "data", field, 1)
            raise SchemaViolation(field, message, exc.rule or "") from None

    return validate


INVALID_JSON = (
    "Invalid JSON format in request body. Please ensure the request body is a valid JSON object."
)


def parse_json(raw: bytes) -> Any:
    """Strict JSON (no NaN, no trailing garbage); BadRequest per BEHAVIOR rule 9."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses integers beyond 64 bits and documents over 1024 levels deep; those are still
    # JSON, so read them with the standard library before calling the body malformed.
    import json

    def _no_constants(name: str) -> Any:
        raise ValueError(name)

    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
        # A lone surrogate escape ("\ud800") is no Unicode text: nothing downstream can store it.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeError is a ValueError
        raise BadRequest(INVALID_JSON) from None
    return value


METADATA_LIMIT = 10_000
METADATA_MAX_DEPTH = 249  # orjson writes 254 levels; answers and the journal wrap metadata in 5
CUSTOMER_ID_FIELDS = ("customerExternalId", "externalId", "customerId")


def integer_fields(schema: Mapping[str, Any] | None) -> frozenset[str]:
    """Top-level properties typed integer: where Dub reads an integral float as an integer."""
    properties = (schema or {}).get("properties", {})
    return frozenset(name for name, prop in properties.items() if prop.get("type") == "integer")


def check_body(
    body: Any,
    validate: Validator,
    integers: frozenset[str] = frozenset(),
    *,
    aliases: bool = True,
    trimmed: frozenset[str] = frozenset(),
) -> str | None:
    """Apply rules 10-11 in Dub's order; returns the customer's external id, if the body has one.

    JSON does not tell 1.0 from 1, and Dub accepts it, so integral floats in `integers` fields
    become ints first (in place). Rule 10 (schema, 422) runs before rule 11 (missing
    customerExternalId, 400), so a body whose only fault is a missing, null or empty
    customerExternalId is re-checked with it filled in. Without `aliases` (the publishable-key
    routes) the schema alone decides, and a missing id is the schema's 422. Fields in `trimmed`
    lose their outer whitespace after the schema check (in place), as Dub's schemas trim them.
    """
    if isinstance(body, dict):
        for name in integers:
            value = body.get(name)
            if isinstance(value, float) and value.is_integer():
                body[name] = int(value)
    try:
        validate(body)
    except SchemaViolation as violation:
        if not aliases or not _is_missing_customer_id(body, violation):
            raise _unprocessable(violation) from None
        try:
            validate({**body, "customerExternalId": "x"})
        except SchemaViolation as other:
            raise _unprocessable(other) from None
    if not isinstance(body, dict):
        return None
    metadata = body.get("metadata")
    if metadata is not None and metadata_length(metadata) > METADATA_LIMIT:
        raise UnprocessableEntity(
            f"metadata: must be at most {METADATA_LIMIT} characters when stringified"
        )
    trim_id = "customerExternalId" in trimmed
    for name in trimmed - {"customerExternalId"}:
        value = body.get(name)
        if isinstance(value, str):
            body[name] = value.strip()
            if not body[name]:
                raise UnprocessableEntity(f"{name}: must not be empty")
    for name in CUSTOMER_ID_FIELDS if aliases else CUSTOMER_ID_FIELDS[:1]:
        value = body.get(name)
        if isinstance(value, str) and (value := value.strip() if trim_id else value):
            return value
    if aliases:
        raise BadRequest("customerExternalId is required")
    if "customerExternalId" in body:  # only whitespace, trimmed away
        raise UnprocessableEntity("customerExternalId: must not be empty")
    return None


def metadata_length(metadata: Any) -> int:
    """Length of compact JSON as JavaScript counts it: `JSON.stringify(metadata).length`, in
    UTF-16 code units, so a character beyond the BMP (an emoji) counts twice.

    The sale's metadata is stored and answered inside a few more levels of JSON, so it is
    measured inside as many: metadata too deep for that is refused here, not at storage.
    """
    try:
        encoded = orjson.dumps({"a": {"b": {"c": {"d": {"e": metadata}}}}})
    except TypeError:
        raise UnprocessableEntity(
            f"metadata: nests deeper than {METADATA_MAX_DEPTH} levels"
        ) from None
    size = len(encoded) - len(b'{"a":{"b":{"c":{"d":{"e":}}}}}')
    if size <= METADATA_LIMIT:  # UTF-8 bytes ≥ UTF-16 units: no need to count them
        return size
    utf16 = encoded.decode("utf-8").encode("utf-16-le", "surrogatepass")
    return len(utf16) // 2 - len('{"a":{"b":{"c":{"d":{"e":}}}}}')


def _is_missing_customer_id(body: Any, violation: SchemaViolation) -> bool:
    if not isinstance(body, dict):
        return False
    value = body.get("customerExternalId")
    if value not in (None, ""):
        return False
    if violation.field == "customerExternalId":
        return True
    return (
        violation.field == "body"
        and violation.rule == "required"
        and ("customerExternalId" in violation.message)
    )


def _unprocessable(violation: SchemaViolation) -> UnprocessableEntity:
    if violation.rule == "pattern":
        return UnprocessableEntity(f"{violation.field}: must match the pattern the spec gives")
    if violation.field == "body":
        return UnprocessableEntity(violation.message.replace("body", "Request body", 1))
    return UnprocessableEntity(violation.message)
