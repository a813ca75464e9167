"""The compiled validators and openapi-core, the reference, give the same verdict on every body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from mockserver.spec import load_spec
from mockserver.validation import SchemaViolation, compile_schema

SPEC = load_spec()
OPERATION = SPEC.operations["trackSale"]
assert OPERATION.request_schema is not None
SCHEMA: dict[str, Any] = OPERATION.request_schema
PROPERTIES: dict[str, Any] = SCHEMA["properties"]
REFERENCE = OpenAPI.from_dict(SPEC.document)
COMPILED = compile_schema(SCHEMA)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
any_json = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def near_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values on both sides of the schema's edges: right type near its limits, or the wrong one."""
    kind = schema.get("type")
    options: list[st.SearchStrategy[Any]] = [any_json]
    if kind == "string":
        longest = schema.get("maxLength", 20) + 2
        options.append(st.text(max_size=longest))
        options.append(st.text(alphabet="ab", min_size=longest - 3, max_size=longest))
        if "enum" in schema:
            options.append(st.sampled_from(schema["enum"]))
        if "pattern" in schema:
            options.append(
                st.from_regex(r"[a-z0-9._+'-]{1,8}@[a-z0-9-]{1,6}\.[a-z]{1,4}", fullmatch=True)
            )
            options.append(st.sampled_from([".a@b.co", "a..b@c.de", "a@b.c", "a_b@x-y.io", "a@b"]))
    if kind == "integer":
        low, high = schema.get("minimum", -(2**53)), schema.get("maximum", 2**53)
        options.append(st.integers(low - 2, low + 2) | st.integers(high - 2, high + 2))
        options.append(st.integers(0, 10**6).map(float))
        options.append(st.floats(-10, 10, allow_nan=False))
    if kind == "object":
        options.append(st.dictionaries(st.text(max_size=8), json_scalars, max_size=4))
    if schema.get("nullable"):
        options.append(st.none())
    return st.one_of(options)


def within_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema accepts, so that most generated bodies pass and the edges get tested."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**53)), schema.get("maximum", 2**53))
    if kind == "object":
        return st.dictionaries(st.text(max_size=8), json_scalars, max_size=3)
    if "pattern" in schema:
        return st.from_regex(r"[a-z0-9_+]{1,8}@[a-z0-9]{1,6}\.[a-z]{2,4}", fullmatch=True)
    return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 30))


def field_value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    within, near = within_schema(schema), near_schema(schema)
    return st.integers(0, 7).flatmap(lambda roll: near if roll == 0 else within)


REQUIRED = set(SCHEMA.get("required", []))
mostly_valid = st.fixed_dictionaries(
    {name: field_value(prop) for name, prop in PROPERTIES.items() if name in REQUIRED},
    optional={name: field_value(prop) for name, prop in PROPERTIES.items() if name not in REQUIRED},
)
edges = st.fixed_dictionaries({}, optional={n: near_schema(p) for n, p in PROPERTIES.items()})
bodies = st.integers(0, 5).flatmap(
    lambda roll: mostly_valid if roll < 4 else (edges if roll == 4 else any_json)
)


def reference_accepts(body: Any) -> bool:
    environ = EnvironBuilder(
        path="/track/sale",
        method="POST",
        base_url="https://api.dub.co",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": "Bearer dub_mock_key"},
    ).get_environ()
    result = REFERENCE.unmarshal_request(WerkzeugOpenAPIRequest(Request(environ)))
    return not result.errors


def compiled_accepts(body: Any) -> bool:
    try:
        COMPILED(body)
    except SchemaViolation:
        return False
    return True


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies)
def test_compiled_validator_agrees_with_openapi_core(body: Any) -> None:
    email = body.get("customerEmail") if isinstance(body, dict) else None
    # The one documented difference: `$` in the spec's pattern means end of input (ECMA-262),
    # so a trailing newline fails here and passes Python's `re` inside openapi-core.
    assume(not (isinstance(email, str) and email.endswith("\n")))
    assert compiled_accepts(body) == reference_accepts(body), body


@pytest.mark.parametrize(
    "body",
    [
        {"customerExternalId": "c", "amount": 1},
        {"customerExternalId": "c", "amount": 2},
        {"customerExternalId": "c", "amount": 9007199254740991, "invoiceId": None},
        {"customerExternalId": "c", "amount": 0, "customerEmail": "a.b+c@d-e.example"},
        {"customerExternalId": "c", "amount": 1, "metadata": {"plan": "pro"}, "extra": [1]},
    ],
    ids=["minimal", "integer", "max-amount", "email", "metadata-and-unknown"],
)
def test_both_accept_valid_bodies(body: dict[str, Any]) -> None:
    assert compiled_accepts(body) and reference_accepts(body)


@pytest.mark.parametrize(
    "body",
    [
        {"customerExternalId": "c", "amount": -1},
        {"customerExternalId": "c", "amount": 1.5},
        {"customerExternalId": "c", "amount": 9007199254740992},
        {"customerExternalId": "c", "amount": True},
        {"customerExternalId": "c", "amount": 1, "paymentProcessor": "venmo"},
        {"customerExternalId": "c", "amount": 1, "customerEmail": "not-an-email"},
        {"customerExternalId": "c", "amount": 1, "customerName": "x" * 101},
        {"customerExternalId": "c", "amount": 1, "eventName": "x" * 256},
        {"customerExternalId": "c", "amount": 1, "metadata": []},
        {"customerExternalId": "c", "amount": 1, "eventName": None},
        {"customerExternalId": "", "amount": 1},
        {"amount": 1},
        [],
    ],
    ids=[
        "negative",
        "fraction",
        "over-max",
        "bool",
        "processor",
        "email",
        "name-long",
        "event-long",
        "metadata-list",
        "event-null",
        "empty-customer",
        "no-customer",
        "array",
    ],
)
def test_both_reject_invalid_bodies(body: Any) -> None:
    assert not compiled_accepts(body)
    assert not reference_accepts(body)


def test_trailing_newline_in_email_is_rejected_as_in_javascript() -> None:
    assert not compiled_accepts(
        {"customerExternalId": "c", "amount": 1, "customerEmail": "a@b.co\n"}
    )
