"""Rules 9-11 and their fine points: reading and validating the body."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.areas import mark
from contract_tests.rules import check, expect_error, expect_ok
from contract_tests.target import Target

pytestmark = mark("sale")

INVALID_JSON = (
    "Invalid JSON format in request body. Please ensure the request body is a valid JSON object."
)
REQUIRED = "customerExternalId is required"


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"amount": 1', b"", b"   "],
    ids=["garbage", "truncated", "empty", "blank"],
)
def test_invalid_json_is_400(dub: Target, raw: bytes) -> None:
    """Rule 9: a body that is not JSON, an empty one included, answers 400 bad_request."""
    answer = dub.client.sale(raw=raw)
    expect_error(answer, "9", 400, "bad_request", INVALID_JSON)


def test_no_body_is_400(dub: Target) -> None:
    """Rule 9 (fine point): a request with no body at all is invalid JSON too."""
    answer = dub.client.send("POST", "/track/sale")
    expect_error(answer, "9", 400, "bad_request", INVALID_JSON)


SCHEMA_VIOLATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("negative-amount", {"amount": -1}, "amount"),
    ("string-amount", {"amount": "100"}, "amount"),
    ("fractional-amount", {"amount": 1.5}, "amount"),
    ("huge-amount", {"amount": 9007199254740992}, "amount"),
    ("long-event-name", {"amount": 1, "eventName": "e" * 256}, "eventName"),
    ("unknown-processor", {"amount": 1, "paymentProcessor": "venmo"}, "paymentProcessor"),
    ("long-customer-name", {"amount": 1, "customerName": "n" * 101}, "customerName"),
    ("bad-email", {"amount": 1, "customerEmail": "not-an-email"}, "customerEmail"),
    ("long-email", {"amount": 1, "customerEmail": "a" * 95 + "@x.com"}, "customerEmail"),
    ("metadata-not-object", {"amount": 1, "metadata": ["a"]}, "metadata"),
    ("metadata-too-long", {"amount": 1, "metadata": {"note": "m" * 10_000}}, "metadata"),
    ("currency-not-string", {"amount": 1, "currency": 840}, "currency"),
    ("invoice-not-string", {"amount": 1, "invoiceId": 12}, "invoiceId"),
    ("long-external-id", {"amount": 1, "customerExternalId": "c" * 101}, "customerExternalId"),
]


@pytest.mark.parametrize(
    ("fields", "field"),
    [(fields, field) for _, fields, field in SCHEMA_VIOLATIONS],
    ids=[name for name, _, _ in SCHEMA_VIOLATIONS],
)
def test_schema_violation_is_422_naming_the_field(
    dub: Target, fields: dict[str, Any], field: str
) -> None:
    """Rule 10: valid JSON that breaks the schema answers 422 naming the offending field."""
    body = {"customerExternalId": dub.unique("nobody"), **fields}
    answer = dub.client.sale(body)
    error = expect_error(answer, "10", 422, "unprocessable_entity")
    check(
        field.lower() in str(error.get("message", "")).lower(),
        "10",
        f"the 422 message must name {field!r}",
        answer,
    )


def test_body_must_be_an_object(dub: Target) -> None:
    """Rule 10: a JSON array is valid JSON but not the object the schema asks for: 422."""
    answer = dub.client.sale(raw=b'[{"customerExternalId": "x", "amount": 1}]')
    expect_error(answer, "10", 422, "unprocessable_entity")


def test_schema_checked_before_missing_external_id(dub: Target) -> None:
    """Fine point: a bad amount and no customerExternalId answers rule 10's 422, not 400."""
    answer = dub.client.sale({"amount": -5})
    expect_error(answer, "10", 422, "unprocessable_entity")


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 100},
        {"customerExternalId": None, "amount": 100},
        {"customerExternalId": "", "amount": 100},
    ],
    ids=["missing", "null", "empty"],
)
def test_missing_external_id_is_400(dub: Target, body: dict[str, Any]) -> None:
    """Rule 11: customerExternalId missing, null or "" answers 400 bad_request."""
    answer = dub.client.sale(body)
    expect_error(answer, "11", 400, "bad_request", REQUIRED)


def test_unknown_properties_are_ignored(dub: Target) -> None:
    """Rule 10: unknown extra properties do not make a request invalid."""
    body = {"customerExternalId": dub.unique("nobody"), "amount": 100, "couponCode": "X", "n": 1}
    answer = dub.client.sale(body)
    data = expect_ok(answer, "10")
    check(data["customer"] is None and data["sale"] is None, "15", "expected nulls", answer)


def test_integral_float_amount_is_an_integer(dub: Target) -> None:
    """Fine point: amount 1.0 is the integer 1 (JSON does not tell them apart)."""
    external_id = dub.customer()
    invoice = dub.invoice()
    body = {"customerExternalId": external_id, "amount": 250.0, "invoiceId": invoice}
    answer = dub.client.sale(body)
    data = expect_ok(answer, "10")
    check(data["sale"] and data["sale"]["amount"] == 250, "20", "expected sale.amount 250", answer)


@pytest.mark.parametrize("alias", ["externalId", "customerId"])
def test_deprecated_aliases_name_the_customer(dub: Target, alias: str) -> None:
    """Rule 11: externalId and customerId are accepted in place of customerExternalId."""
    external_id = dub.customer()
    body = {alias: external_id, "amount": 300, "invoiceId": dub.invoice()}
    answer = dub.client.sale(body)
    data = expect_ok(answer, "11")
    customer = data["customer"] or {}
    check(
        customer.get("externalId") == external_id and data["sale"] is not None,
        "11",
        f"{alias} must find customer {external_id}",
        answer,
    )


def test_first_non_empty_alias_wins(dub: Target) -> None:
    """Rule 11: an empty customerExternalId gives way to a non-empty externalId."""
    external_id = dub.customer()
    body = {"customerExternalId": "", "externalId": external_id, "amount": 310}
    answer = dub.client.sale({**body, "invoiceId": dub.invoice()})
    data = expect_ok(answer, "11")
    customer = data["customer"] or {}
    check(customer.get("externalId") == external_id, "11", "externalId must be used", answer)
