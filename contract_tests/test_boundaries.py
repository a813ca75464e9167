"""The decisive cases of the value rules, sent explicitly on every route that has the field.

The property tests draw random examples, and Hypothesis may or may not hit an exact limit on a
given seed. These checks do not depend on it: each limit is sent at its last valid value and at
the first invalid one (255/256-character eventName, 100/101-character customerExternalId,
customerName and customerEmail, eventQuantity 100/101 and 0, the largest safe amount and the one
above, metadata of exactly 10,000 and 10,001 UTF-16 units, with characters that count differently
in UTF-8 bytes, code points and UTF-16 units), so the same faulty server fails on every run.

A value passes validation when the answer is not the 422: a sale for an unknown customer answers
200 with nulls, a lead on an unknown click 404 (L3 comes after the schema).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract_tests.areas import mark
from contract_tests.client import (
    TRACK_LEAD,
    TRACK_LEAD_CLIENT,
    TRACK_SALE,
    TRACK_SALE_CLIENT,
    Exchange,
)
from contract_tests.rules import check, expect_error, expect_ok
from contract_tests.target import Target

AREA = {
    TRACK_SALE: "sale",
    TRACK_SALE_CLIENT: "client",
    TRACK_LEAD: "lead",
    TRACK_LEAD_CLIENT: "client",
}


def _routes(*routes: str) -> list[Any]:
    """The routes as parameters, each with its area's mark (so --only picks its own)."""
    return [pytest.param(route, marks=mark(AREA[route]), id=route) for route in routes]


SALE_ROUTES = [TRACK_SALE, TRACK_SALE_CLIENT]
LEAD_ROUTES = [TRACK_LEAD, TRACK_LEAD_CLIENT]
ALL_ROUTES = SALE_ROUTES + LEAD_ROUTES
RULE = {TRACK_SALE: "10", TRACK_SALE_CLIENT: "P2", TRACK_LEAD: "L-body", TRACK_LEAD_CLIENT: "P2"}
METADATA_LIMIT = 10_000
EMPTY_METADATA = len('{"m":""}')
MAX_SAFE = 9_007_199_254_740_991


def _send(dub: Target, route: str, fields: dict[str, Any]) -> Exchange:
    """`fields` on a body that passes everything else: an unknown customer, an unknown click."""
    if route in SALE_ROUTES:
        body = {"customerExternalId": dub.unique("nobody"), "amount": 100, **fields}
    else:
        body = {
            "clickId": dub.unique("no-click"),
            "eventName": "Sign up",
            "customerExternalId": dub.unique("lead"),
            **fields,
        }
    if route in (TRACK_SALE_CLIENT, TRACK_LEAD_CLIENT):
        return dub.client.send("POST", route, json_body=body, token=dub.publishable())
    return dub.client.send("POST", route, json_body=body)


def _accepted(answer: Exchange, route: str, what: str) -> None:
    """The value passed validation: a sale answers 200, a lead on an unknown click 404."""
    rule = RULE[route]
    if route in SALE_ROUTES:
        check(
            answer.status == 200,
            rule,
            f"{what} is valid: expected 200, got {answer.status}",
            answer,
        )
        expect_ok(answer, rule)
    else:
        check(
            answer.status == 404,
            rule,
            f"{what} is valid: expected L3's 404 for the unknown click, got {answer.status}",
            answer,
        )
        expect_error(answer, rule, 404, "not_found")


def _refused(answer: Exchange, route: str, field: str, what: str) -> None:
    rule = RULE[route]
    check(
        answer.status == 422, rule, f"{what} is invalid: expected 422, got {answer.status}", answer
    )
    error = expect_error(answer, rule, 422, "unprocessable_entity")
    check(
        field.lower() in str(error.get("message", "")).lower(),
        rule,
        f"the 422 must name {field!r}",
        answer,
    )


LENGTH_LIMITS: list[tuple[str, str, int, list[str]]] = [
    ("event-name", "eventName", 255, ALL_ROUTES),
    ("external-id", "customerExternalId", 100, ALL_ROUTES),
    ("customer-name", "customerName", 100, ALL_ROUTES),
]


@pytest.mark.parametrize("route", _routes(*ALL_ROUTES))
@pytest.mark.parametrize(
    ("field", "limit"),
    [(field, limit) for _, field, limit, _ in LENGTH_LIMITS],
    ids=[name for name, _, _, _ in LENGTH_LIMITS],
)
def test_string_length_limit_is_exact(dub: Target, route: str, field: str, limit: int) -> None:
    """Rule 10, §4, §6: a string of exactly its limit passes, one character more is 422."""
    at_limit = dub.unique("v")[:limit].ljust(limit, "x")
    _accepted(_send(dub, route, {field: at_limit}), route, f"{field} of {limit} characters")
    _refused(_send(dub, route, {field: at_limit + "x"}), route, field, f"{field} of {limit + 1}")


@pytest.mark.parametrize("route", _routes(*ALL_ROUTES))
def test_email_length_limit_is_exact(dub: Target, route: str) -> None:
    """Rule 10, §4, §6: an email of exactly 100 characters passes, 101 is 422."""
    domain = "@example.com"
    at_limit = "a" * (100 - len(domain)) + domain
    _accepted(_send(dub, route, {"customerEmail": at_limit}), route, "a 100-character email")
    longer = "a" + at_limit
    _refused(_send(dub, route, {"customerEmail": longer}), route, "customerEmail", "101 characters")


@mark("sale")
def test_sale_event_name_of_255_is_echoed(dub: Target) -> None:
    """Rules 10 and 12: a 255-character eventName is kept whole (echoed by the null answer)."""
    name = ("Purchase " * 30)[:255]
    answer = _send(dub, TRACK_SALE, {"eventName": name})
    data = expect_ok(answer, "10")
    check(data["eventName"] == name, "10", "the 255-character eventName must be echoed", answer)


@pytest.mark.parametrize("route", _routes(*LEAD_ROUTES))
def test_event_quantity_limits_are_exact(dub: Target, route: str) -> None:
    """§4 body: eventQuantity 1 and 100 pass; 0 and 101 are 422 naming it."""
    for quantity in (1, 100):
        _accepted(
            _send(dub, route, {"eventQuantity": quantity}), route, f"eventQuantity {quantity}"
        )
    for quantity in (0, 101):
        answer = _send(dub, route, {"eventQuantity": quantity})
        _refused(answer, route, "eventQuantity", f"eventQuantity {quantity}")


@pytest.mark.parametrize("route", _routes(*SALE_ROUTES))
def test_largest_safe_amount_is_accepted(dub: Target, route: str) -> None:
    """Rule 10: amount 9007199254740991 passes, 9007199254740992 is 422."""
    _accepted(_send(dub, route, {"amount": MAX_SAFE}), route, f"amount {MAX_SAFE}")
    _refused(_send(dub, route, {"amount": MAX_SAFE + 1}), route, "amount", f"amount {MAX_SAFE + 1}")


def _metadata(units: int, filler: str = "", count: int = 0) -> dict[str, str]:
    """{"m": ...} whose compact JSON is `units` UTF-16 units long, with `count` x `filler`."""
    width = len(filler.encode("utf-16-le")) // 2
    text = filler * count + "x" * (units - EMPTY_METADATA - width * count)
    metadata = {"m": text}
    encoded = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False)
    assert len(encoded.encode("utf-16-le")) // 2 == units
    return metadata


# (id, metadata, passes): exactly the limit and one unit over, counted in UTF-16 units as
# JavaScript's JSON.stringify(...).length does. 'é' is 1 unit but 2 UTF-8 bytes; '😀' is 2 units,
# 4 bytes and 1 code point, so a server counting bytes or code points decides these wrongly.
METADATA_CASES: list[tuple[str, dict[str, str], bool]] = [
    ("ascii-10000", _metadata(METADATA_LIMIT), True),
    ("ascii-10001", _metadata(METADATA_LIMIT + 1), False),
    ("two-byte-10000", _metadata(METADATA_LIMIT, "é", 500), True),
    ("emoji-10000", _metadata(METADATA_LIMIT, "😀", 100), True),
    ("emoji-10001", _metadata(METADATA_LIMIT + 1, "😀", 100), False),
]


@pytest.mark.parametrize("route", _routes(*ALL_ROUTES))
@pytest.mark.parametrize(
    ("metadata", "passes"),
    [(metadata, passes) for _, metadata, passes in METADATA_CASES],
    ids=[name for name, _, _ in METADATA_CASES],
)
def test_metadata_limit_counts_utf16_units(
    dub: Target, route: str, metadata: dict[str, str], passes: bool
) -> None:
    """Rule 10, §4, §6: metadata up to 10,000 UTF-16 units as JSON.stringify counts them."""
    units = (
        len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode("utf-16-le"))
        // 2
    )
    answer = _send(dub, route, {"metadata": metadata})
    if passes:
        _accepted(answer, route, f"metadata of {units} UTF-16 units")
    else:
        _refused(answer, route, "metadata", f"metadata of {units} UTF-16 units")
