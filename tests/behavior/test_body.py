"""Rules 9-12: invalid JSON, the schema (422 naming the field), the customer id and its
aliases, defaults, and the fine points about empty strings and integral floats."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .support import HttpApi

INVALID_JSON = (
    "Invalid JSON format in request body. Please ensure the request body is a valid JSON object."
)
REQUIRED = "customerExternalId is required"
NAME = re.compile(r"^[A-Z][a-z]+ [A-Z][a-z]+ [A-Z][a-z]+$")
MAX_SAFE = 9007199254740991


def _sale(api: HttpApi, **fields: Any) -> Any:
    api.add_customer("cust_1")
    reply = api.track({"customerExternalId": "cust_1", "amount": 100, **fields})
    assert reply.status == 200, reply
    return reply.json


# --- rule 9 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{", b"not json", b"{'amount': 1}", b'{"amount": 1,}', b'{"a": 1} trailing', b"NaN",
     b'{"customerExternalId": "c", "amount": NaN}', b"\xff\xfe{}", b"", b"   "],
    ids=["truncated", "words", "single-quotes", "trailing-comma", "trailing-garbage", "nan",
         "nan-member", "not-utf8", "empty", "blank"],
)  # fmt: skip
def test_rule9_invalid_json_is_400(api: HttpApi, body: bytes) -> None:
    api.track(data=body).expect_error(400, "bad_request", INVALID_JSON)


def test_rule9_no_body_at_all_is_invalid_json(api: HttpApi) -> None:
    reply = api.request("POST", "/track/sale", token=api.token)
    reply.expect_error(400, "bad_request", INVALID_JSON)


# --- rule 10 -----------------------------------------------------------------------------

VALID = {"customerExternalId": "cust_1", "amount": 100}
SCHEMA_CASES: list[tuple[str, Any, str]] = [
    ("array-body", [VALID], "body"),
    ("string-body", "cust_1", "body"),
    ("number-body", 100, "body"),
    ("null-body", None, "body"),
    ("amount-negative", {**VALID, "amount": -1}, "amount"),
    ("amount-fraction", {**VALID, "amount": 1.5}, "amount"),
    ("amount-string", {**VALID, "amount": "100"}, "amount"),
    ("amount-boolean", {**VALID, "amount": True}, "amount"),
    ("amount-null", {**VALID, "amount": None}, "amount"),
    ("amount-above-max-safe", {**VALID, "amount": MAX_SAFE + 1}, "amount"),
    ("amount-missing", {"customerExternalId": "cust_1"}, "amount"),
    ("event-name-256", {**VALID, "eventName": "e" * 256}, "eventName"),
    ("event-name-number", {**VALID, "eventName": 5}, "eventName"),
    ("event-name-null", {**VALID, "eventName": None}, "eventName"),
    ("processor-outside-enum", {**VALID, "paymentProcessor": "paypal"}, "paymentProcessor"),
    ("processor-newer-than-spec", {**VALID, "paymentProcessor": "lemonsqueezy"},
     "paymentProcessor"),
    ("processor-upper-case", {**VALID, "paymentProcessor": "Stripe"}, "paymentProcessor"),
    ("customer-name-101", {**VALID, "customerName": "n" * 101}, "customerName"),
    ("customer-email-invalid", {**VALID, "customerEmail": "not-an-email"}, "customerEmail"),
    ("customer-email-no-tld", {**VALID, "customerEmail": "a@b"}, "customerEmail"),
    ("customer-email-leading-dot", {**VALID, "customerEmail": ".a@b.co"}, "customerEmail"),
    ("customer-email-double-dot", {**VALID, "customerEmail": "a..b@c.co"}, "customerEmail"),
    ("customer-email-trailing-newline", {**VALID, "customerEmail": "a@b.co\n"},
     "customerEmail"),
    ("customer-email-101", {**VALID, "customerEmail": "e" * 89 + "@example.com"},
     "customerEmail"),
    ("metadata-array", {**VALID, "metadata": [1]}, "metadata"),
    ("metadata-string", {**VALID, "metadata": "x"}, "metadata"),
    ("metadata-10001", {**VALID, "metadata": {"k": "x" * 9993}}, "metadata"),
    ("customer-external-id-101", {**VALID, "customerExternalId": "c" * 101},
     "customerExternalId"),
    ("customer-external-id-number", {**VALID, "customerExternalId": 5}, "customerExternalId"),
    ("currency-number", {**VALID, "currency": 5}, "currency"),
    ("invoice-id-number", {**VALID, "invoiceId": 5}, "invoiceId"),
    ("click-id-number", {**VALID, "clickId": 5}, "clickId"),
    ("lead-event-name-object", {**VALID, "leadEventName": {}}, "leadEventName"),
    ("customer-avatar-list", {**VALID, "customerAvatar": []}, "customerAvatar"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"), [c[1:] for c in SCHEMA_CASES], ids=[c[0] for c in SCHEMA_CASES]
)
def test_rule10_schema_violations_are_422_naming_the_field(
    api: HttpApi, body: Any, field: str
) -> None:
    api.add_customer("cust_1")
    reply = api.track(body)
    reply.expect_error(422, "unprocessable_entity")
    message = reply.error["message"]
    if field == "body":
        assert message, reply
    else:
        assert field in message, (field, message)
    assert api.state()["sales"] == []


EMAIL_CASES = ["user+tag@example.com", "o'brien@example.co.uk", "a-@example.com",
               "_@a-b.io", "first.last@sub.example.org"]  # fmt: skip


@pytest.mark.parametrize("email", EMAIL_CASES, ids=str)
def test_rule10_the_spec_pattern_is_the_authority_for_emails(api: HttpApi, email: str) -> None:
    reply = api.track({"customerExternalId": "nobody", "amount": 1, "customerEmail": email})
    assert reply.status == 200, reply


BOUNDARY_CASES: list[tuple[str, dict[str, Any]]] = [
    ("amount-max-safe", {"amount": MAX_SAFE}),
    ("amount-zero", {"amount": 0}),
    ("event-name-255", {"eventName": "e" * 255}),
    ("customer-name-100", {"customerName": "n" * 100}),
    ("customer-email-100", {"customerEmail": "e" * 88 + "@example.com"}),
    ("customer-external-id-100", {"customerExternalId": "c" * 100}),
    ("metadata-10000", {"metadata": {"k": "x" * 9992}}),
    ("metadata-empty", {"metadata": {}}),
    ("nullable-fields-null", {"invoiceId": None, "metadata": None, "leadEventName": None,
                              "clickId": None, "customerName": None, "customerEmail": None,
                              "customerAvatar": None}),
    ("unknown-extras", {"shipping": {"city": "Paris"}, "tags": [1, 2], "x": None}),
]  # fmt: skip


@pytest.mark.parametrize(
    "extra", [c[1] for c in BOUNDARY_CASES], ids=[c[0] for c in BOUNDARY_CASES]
)
def test_rule10_values_at_the_limits_pass(api: HttpApi, extra: dict[str, Any]) -> None:
    reply = api.track({"customerExternalId": "nobody", "amount": 100, **extra})
    assert reply.status == 200, reply
    assert reply.json["customer"] is None


@pytest.mark.parametrize(
    ("char", "fitting"), [("é", 9992), ("😀", 4996)], ids=["two-utf8-bytes", "two-utf16-units"]
)
def test_rule10_metadata_limit_counts_as_javascript_does(
    api: HttpApi, char: str, fitting: int
) -> None:
    """`JSON.stringify(metadata).length`: UTF-16 code units, neither bytes nor code points."""
    metadata = {"k": char * fitting}  # with the 8 units of {"k":""}: 10,000 units exactly
    compact = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False)
    assert len(compact.encode("utf-16-le")) // 2 == 10_000
    reply = api.track({"customerExternalId": "nobody", "amount": 1, "metadata": metadata})
    assert reply.status == 200, reply
    metadata["k"] += char
    reply = api.track({"customerExternalId": "nobody", "amount": 1, "metadata": metadata})
    reply.expect_error(422, "unprocessable_entity")
    assert "metadata" in reply.error["message"]


def test_rule10_metadata_limit_is_on_compact_json(api: HttpApi) -> None:
    metadata: dict[str, Any] = {"a": 1, "b": [1, 2], "c": "x" * 9976}
    assert len(json.dumps(metadata, separators=(",", ":"))) == 10_000
    assert len(json.dumps(metadata)) > 10_000  # spaced JSON would be over the limit
    reply = api.track({"customerExternalId": "nobody", "amount": 1, "metadata": metadata})
    assert reply.status == 200, reply
    metadata["c"] += "x"
    reply = api.track({"customerExternalId": "nobody", "amount": 1, "metadata": metadata})
    reply.expect_error(422, "unprocessable_entity")
    assert "metadata" in reply.error["message"]


def test_rule10_an_integral_float_is_the_integer(api: HttpApi) -> None:
    body = _sale(api, amount=1.0)
    assert body["sale"]["amount"] == 1
    (sale,) = api.state()["sales"]
    assert sale["amount"] == 1 and sale["originalAmount"] == 1


@pytest.mark.parametrize("amount", ["100.0", "1e2", "1.00E+2"])
def test_rule10_integral_floats_in_any_notation(api: HttpApi, amount: str) -> None:
    api.add_customer("cust_1")
    reply = api.track(data=b'{"customerExternalId": "cust_1", "amount": %s}' % amount.encode())
    assert reply.status == 200, reply
    assert reply.json["sale"]["amount"] == 100


def test_rule10_the_message_names_the_first_offending_field(api: HttpApi) -> None:
    reply = api.track({"customerExternalId": "c", "amount": -1, "eventName": 5})
    reply.expect_error(422, "unprocessable_entity")
    assert "amount" in reply.error["message"]
    assert "eventName" not in reply.error["message"]


def test_rule10_unknown_properties_are_ignored_and_not_echoed(api: HttpApi) -> None:
    body = _sale(api, coupon="SAVE10", nested={"a": [1]})
    assert "coupon" not in json.dumps(body)


# --- rule order --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [({"amount": -5}, "amount"), ({"amount": 1, "eventName": 3}, "eventName"),
     ({"customerExternalId": "", "amount": "x"}, "amount"),
     ({"customerExternalId": None, "amount": 1, "paymentProcessor": "x"}, "paymentProcessor")],
    ids=["bad-amount", "bad-event-name", "empty-id-bad-amount", "null-id-bad-processor"],
)  # fmt: skip
def test_rule10_comes_before_rule11(api: HttpApi, body: dict[str, Any], field: str) -> None:
    reply = api.track(body)
    reply.expect_error(422, "unprocessable_entity")
    assert field in reply.error["message"]


# --- rule 11 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"amount": 1}, {"customerExternalId": None, "amount": 1},
     {"customerExternalId": "", "amount": 1},
     {"customerExternalId": "", "externalId": "", "customerId": None, "amount": 1}],
    ids=["missing", "null", "empty", "all-aliases-empty"],
)  # fmt: skip
def test_rule11_a_missing_customer_id_is_400(api: HttpApi, body: dict[str, Any]) -> None:
    api.track(body).expect_error(400, "bad_request", REQUIRED)


@pytest.mark.parametrize(
    ("ids", "chosen"),
    [({"externalId": "cust_1"}, "cust_1"),
     ({"customerId": "cust_1"}, "cust_1"),
     ({"customerExternalId": "", "externalId": "cust_1"}, "cust_1"),
     ({"customerExternalId": None, "externalId": "", "customerId": "cust_1"}, "cust_1"),
     ({"customerExternalId": "cust_1", "externalId": "other", "customerId": "x"}, "cust_1"),
     ({"externalId": "cust_1", "customerId": "other"}, "cust_1")],
    ids=["externalId", "customerId", "empty-then-externalId", "null-empty-then-customerId",
         "customerExternalId-wins", "externalId-before-customerId"],
)  # fmt: skip
def test_rule11_deprecated_aliases_stand_in(api: HttpApi, ids: dict[str, Any], chosen: str) -> None:
    api.add_customer("cust_1")
    api.add_customer("other")
    reply = api.track({**ids, "amount": 700})
    assert reply.status == 200, reply
    assert reply.json["customer"]["externalId"] == chosen
    assert api.customer(chosen)["sales"] == 1


# --- rule 12 -----------------------------------------------------------------------------


def test_rule12_defaults(api: HttpApi) -> None:
    body = _sale(api)
    assert body["eventName"] == "Purchase"
    assert body["sale"] == {"amount": 100, "currency": "usd", "paymentProcessor": "custom",
                            "invoiceId": None, "metadata": None}  # fmt: skip
    (sale,) = api.state()["sales"]
    assert sale["eventName"] == "Purchase"
    assert sale["currency"] == sale["originalCurrency"] == "usd"
    assert sale["paymentProcessor"] == "custom"
    assert sale["invoiceId"] is None and sale["metadata"] is None


def test_rule12_defaults_for_a_direct_sale_customer(api: HttpApi) -> None:
    click = api.add_click()
    reply = api.track({"customerExternalId": "new_1", "amount": 100, "clickId": click["id"]})
    assert reply.status == 200, reply
    customer = reply.json["customer"]
    assert customer["email"] is None and customer["avatar"] is None
    assert NAME.match(customer["name"]), customer["name"]
    (lead,) = [lead for lead in api.state()["leads"] if lead["customerId"] == customer["id"]]
    assert lead["eventName"] == "Direct sale tracking lead event"


@pytest.mark.parametrize("currency", ["USD", "Usd", "usd"])
def test_rule12_currency_is_lower_cased(api: HttpApi, currency: str) -> None:
    body = _sale(api, currency=currency)
    assert body["sale"]["currency"] == "usd"
    assert body["sale"]["amount"] == 100
    (sale,) = api.state()["sales"]
    assert sale["originalCurrency"] == "usd"


def test_rule12_given_values_replace_the_defaults(api: HttpApi) -> None:
    body = _sale(
        api, eventName="Invoice paid", paymentProcessor="stripe", invoiceId="INV_9",
        metadata={"plan": "pro", "seats": 3},
    )  # fmt: skip
    assert body["eventName"] == "Invoice paid"
    assert body["sale"] == {
        "amount": 100,
        "currency": "usd",
        "paymentProcessor": "stripe",
        "invoiceId": "INV_9",
        "metadata": {"plan": "pro", "seats": 3},
    }


@pytest.mark.parametrize(
    "processor", ["stripe", "shopify", "polar", "paddle", "apple", "revenuecat", "dub", "custom"]
)
def test_rule12_every_processor_of_the_spec_is_accepted(api: HttpApi, processor: str) -> None:
    assert _sale(api, paymentProcessor=processor)["sale"]["paymentProcessor"] == processor


# --- empty strings -----------------------------------------------------------------------


def test_empty_click_id_counts_as_absent(api: HttpApi) -> None:
    reply = api.track({"customerExternalId": "nobody", "amount": 100, "clickId": ""})
    assert reply.status == 200, reply
    assert reply.json == {"eventName": "Purchase", "customer": None, "sale": None}
    assert all(c["externalId"] != "nobody" for c in api.state()["customers"])


def test_empty_customer_name_counts_as_absent(api: HttpApi) -> None:
    click = api.add_click()
    reply = api.track({"customerExternalId": "new_1", "amount": 100, "clickId": click["id"],
                       "customerName": "", "customerEmail": "ann@example.com"})  # fmt: skip
    assert reply.json["customer"]["name"] == "ann@example.com"
    reply = api.track({"customerExternalId": "new_2", "amount": 100, "clickId": click["id"],
                       "customerName": ""})  # fmt: skip
    assert NAME.match(reply.json["customer"]["name"]), reply


def test_empty_lead_event_name_matches_no_lead(api: HttpApi) -> None:
    api.add_customer("cust_1")
    reply = api.track({"customerExternalId": "cust_1", "amount": 100, "leadEventName": ""})
    reply.expect_error(
        404, "not_found", "Lead event not found for externalId: cust_1 and leadEventName: "
    )


def test_empty_lead_event_name_names_a_direct_sale_lead(api: HttpApi) -> None:
    click = api.add_click()
    reply = api.track({"customerExternalId": "new_1", "amount": 100, "clickId": click["id"],
                       "leadEventName": ""})  # fmt: skip
    assert reply.status == 200, reply
    customer_id = reply.json["customer"]["id"]
    (lead,) = [lead for lead in api.state()["leads"] if lead["customerId"] == customer_id]
    assert lead["eventName"] == ""


def test_empty_customer_avatar_is_kept(api: HttpApi) -> None:
    click = api.add_click()
    reply = api.track({"customerExternalId": "new_1", "amount": 100, "clickId": click["id"],
                       "customerAvatar": ""})  # fmt: skip
    assert reply.json["customer"]["avatar"] == ""
    assert api.customer("new_1")["avatar"] == ""
