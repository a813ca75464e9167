"""Rule 18: conversion to USD cents, zero-decimal currencies, unknown currencies."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from contract_tests.areas import mark
from contract_tests.rules import check, expect_ok
from contract_tests.target import Target

pytestmark = mark("sale")

ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
# Plausible units per USD, wide enough for any year: a wrong conversion misses by 100x or more.
PLAUSIBLE = {"eur": (0.5, 2.0), "gbp": (0.4, 1.6), "jpy": (50.0, 500.0), "krw": (500.0, 3000.0)}


def _sale(
    dub: Target, amount: int, currency: str, customer: str | None = None
) -> tuple[dict[str, Any], Any]:
    body = {
        "customerExternalId": customer or dub.customer(),
        "amount": amount,
        "currency": currency,
        "invoiceId": dub.invoice(),
    }
    answer = dub.client.sale(body)
    data = expect_ok(answer, "18")
    check(data["sale"] is not None, "18", "the sale must be recorded", answer)
    return data["sale"], answer


def _rates(dub: Target) -> dict[str, float] | None:
    """The target's FX table when its admin API shows one (dub-mock's GET /__mock/fx-rates)."""
    if dub.admin is None:
        return None
    try:
        table = dub.admin.call("GET", "fx-rates")
    except Exception:
        return None
    rates = table.get("rates", table) if isinstance(table, dict) else None
    if not isinstance(rates, dict):
        return None
    return {str(k).lower(): float(v) for k, v in rates.items() if isinstance(v, (int, float))}


def js_round(value: float) -> int:
    """JavaScript's Math.round: half up."""
    return math.floor(value + 0.5)


def test_usd_is_lower_cased_and_kept(dub: Target) -> None:
    """Rules 12 and 18: 'USD' is lower-cased; a USD amount is not converted."""
    sale, answer = _sale(dub, 1234, "USD")
    check((sale["amount"], sale["currency"]) == (1234, "usd"), "18", "expected 1234 usd", answer)


@pytest.mark.parametrize(("currency", "amount"), [("EUR", 10_000), ("GBP", 7_500)])
def test_two_decimal_currency_is_converted(dub: Target, currency: str, amount: int) -> None:
    """Rule 18: a two-decimal currency is converted to USD cents."""
    sale, answer = _sale(dub, amount, currency)
    code = currency.lower()
    check(sale["currency"] == "usd", "18", f"{currency} must be converted to usd", answer)
    low, high = PLAUSIBLE[code]
    check(
        amount / high <= sale["amount"] <= amount / low,
        "18",
        f"{amount} {currency} cents must be {amount / high:.0f}..{amount / low:.0f} USD cents",
        answer,
    )
    rates = _rates(dub)
    if rates and code in rates:
        expected = js_round(amount / rates[code])
        check(
            sale["amount"] == expected,
            "18",
            f"at {rates[code]} {code} per USD, {amount} converts to {expected}",
            answer,
        )


@pytest.mark.parametrize(("currency", "amount"), [("JPY", 1580), ("KRW", 25_000)])
def test_zero_decimal_currency_is_converted(dub: Target, currency: str, amount: int) -> None:
    """Rule 18: a zero-decimal amount is whole units: x100 before converting to cents."""
    sale, answer = _sale(dub, amount, currency)
    code = currency.lower()
    check(sale["currency"] == "usd", "18", f"{currency} must be converted to usd", answer)
    low, high = PLAUSIBLE[code]
    check(
        amount * 100 / high <= sale["amount"] <= amount * 100 / low,
        "18",
        f"{amount} {currency} must be {amount * 100 / high:.0f}..{amount * 100 / low:.0f} "
        "USD cents",
        answer,
    )
    rates = _rates(dub)
    if rates and code in rates:
        expected = js_round(amount * 100 / rates[code])
        check(
            sale["amount"] == expected,
            "18",
            f"at {rates[code]} {code} per USD, {amount} converts to {expected}",
            answer,
        )


def test_conversion_rounds_half_up(dub: Target) -> None:
    """Fine point: rounding is JavaScript's Math.round (half up), checked on the FX table."""
    rates = _rates(dub)
    if not rates or "eur" not in rates:
        pytest.skip("needs the target's FX table (dub-mock's GET /__mock/fx-rates)")
    rate = rates["eur"]
    # The smallest amount whose exact quotient has a fractional part nearest to .5.
    amount = min(range(1, 400), key=lambda a: abs((a / rate) % 1 - 0.5))
    sale, answer = _sale(dub, amount, "eur")
    check(
        sale["amount"] == js_round(amount / rate),
        "18",
        f"{amount} / {rate} = {amount / rate} rounds half up to {js_round(amount / rate)}",
        answer,
    )


def test_currency_without_rate_is_kept_lower_cased(dub: Target) -> None:
    """Rule 18: a currency with no rate (XXX, ISO's 'no currency') is kept, lower-cased."""
    sale, answer = _sale(dub, 4321, "XXX")
    check(
        (sale["amount"], sale["currency"]) == (4321, "xxx"),
        "18",
        "expected the amount unconverted, currency 'xxx'",
        answer,
    )


# XTS is ISO 4217's code reserved for testing; at 4 units per USD every quotient is a multiple of
# a quarter, so these amounts are exact ties (x.5) and exact non-ties (x.25, x.75) in binary
# floating point too. Half up (Math.round) is the only rounding that gets all of them right:
# banker's rounding fails 2, 10 and 18, floor (truncation) 2, 3 and 10, ceil 1, half down 2.
TIE_RATE = 4.0
TIE_CASES = [(1, 0), (2, 1), (3, 1), (6, 2), (10, 3), (14, 4), (18, 5)]


def test_conversion_rounds_exact_ties_half_up(dub: Target) -> None:
    """Fine point: rounding is half up on exact ties: 10 XTS at 4 per USD = 2.5 -> 3 cents."""
    admin = dub.require_admin("set an FX rate for XTS, ISO's test currency")
    admin.call("PUT", "fx-rates", {"XTS": TIE_RATE})
    customer = dub.customer()
    for amount, expected in TIE_CASES:
        sale, answer = _sale(dub, amount, "XTS", customer)
        check(
            (sale["amount"], sale["currency"]) == (expected, "usd"),
            "18",
            f"{amount} XTS at {TIE_RATE} per USD is {amount / TIE_RATE}: half up gives "
            f"{expected} usd cents",
            answer,
        )


def test_every_rate_of_the_table_converts_exactly(dub: Target) -> None:
    """Rule 18: each currency of the target's FX table converts exactly, zero-decimal ones
    (and only those) times 100 first; 1 unit of a zero-decimal currency is worth cents."""
    rates = _rates(dub)
    if not rates:
        pytest.skip("needs the target's FX table (dub-mock's GET /__mock/fx-rates)")
    customer = dub.customer()
    for code, rate in sorted(rates.items()):
        if code in ("usd", "xts"):
            continue
        scale = 100 if code in ZERO_DECIMAL else 1
        amounts = (1, 1234) if code in ZERO_DECIMAL else (1234,)
        for amount in amounts:
            sale, answer = _sale(dub, amount, code.upper(), customer)
            expected = js_round(amount * scale / rate)
            check(
                (sale["amount"], sale["currency"]) == (expected, "usd"),
                "18",
                f"{amount} {code.upper()} at {rate} per USD"
                f"{' (zero-decimal: x100 first)' if scale == 100 else ''} is {expected} usd cents",
                answer,
            )


def test_original_amount_is_recorded(dub: Target) -> None:
    """Rules 18 and 19: the recorded sale keeps the original amount and currency."""
    sale, answer = _sale(dub, 10_000, "EUR")
    invoice = json.loads(answer.request_body or b"{}").get("invoiceId")
    records = dub.records("sales", invoiceId=invoice)
    check(
        len(records) == 1,
        "19",
        f"expected one recorded sale with invoiceId {invoice}, found {len(records)}",
        answer,
    )
    record = records[0]
    check(
        (record.get("originalAmount"), record.get("originalCurrency")) == (10_000, "eur"),
        "19",
        f"expected originalAmount 10000 and originalCurrency eur: {record}",
        answer,
    )
    check(
        (record.get("amount"), record.get("currency")) == (sale["amount"], "usd"),
        "19",
        f"the recorded amount must be the answer's: {record}",
        answer,
    )
