"""Currency conversion to USD cents, as Dub stores every sale (BEHAVIOR §18)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

#: The date the built-in table describes; shown in the README and `/__mock/health`.
FX_TABLE_DATE = "2025-06-02"

#: Units of each currency per 1 USD on FX_TABLE_DATE (rounded mid-market rates).
DEFAULT_FX_RATES: dict[str, float] = {
    "AED": 3.6725,
    "AUD": 1.55,
    "BRL": 5.66,
    "CAD": 1.37,
    "CHF": 0.82,
    "CLP": 940.0,
    "CNY": 7.19,
    "CZK": 21.9,
    "DKK": 6.56,
    "EUR": 0.88,
    "GBP": 0.74,
    "HKD": 7.84,
    "HUF": 355.0,
    "IDR": 16300.0,
    "ILS": 3.53,
    "INR": 85.6,
    "JPY": 143.0,
    "KRW": 1375.0,
    "MXN": 19.2,
    "MYR": 4.25,
    "NOK": 10.2,
    "NZD": 1.67,
    "PHP": 55.7,
    "PLN": 3.75,
    "SAR": 3.75,
    "SEK": 9.6,
    "SGD": 1.29,
    "THB": 32.7,
    "TRY": 39.2,
    "TWD": 29.9,
    "VND": 25950.0,
    "XAF": 577.0,
    "XOF": 577.0,
    "ZAR": 17.9,
}

ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)


def round_half_up(value: float) -> int:
    """JavaScript's Math.round: halves go up (2.5 → 3, -2.5 → -2)."""
    return math.floor(value + 0.5)


def to_usd_cents(
    amount: int, currency: str, rates: Callable[[], Mapping[str, float]]
) -> tuple[int, str]:
    """(amount, currency) as stored: converted to USD cents when a rate is known, else as sent.

    `currency` is already lower-cased; `rates()` (keyed by the upper-case ISO code) is read
    only for a currency other than USD: a store read saved on most sales.
    """
    if currency == "usd":
        return amount, currency
    code = currency.upper()
    rate = rates().get(code)
    if not rate:
        return amount, currency
    minor_units = amount * 100 if code in ZERO_DECIMAL_CURRENCIES else amount
    return round_half_up(minor_units / rate), "usd"


def parse_rates(data: object) -> dict[str, float]:
    """Validate a `{"EUR": 0.92}` mapping; raises ValueError naming the first bad entry."""
    if not isinstance(data, Mapping) or not data:
        raise ValueError('FX rates must be a non-empty object such as {"EUR": 0.92}')
    rates: dict[str, float] = {}
    for code, rate in data.items():
        if not isinstance(code, str) or len(code) != 3 or not code.isalpha():
            raise ValueError(f"{code!r} is not a three-letter ISO 4217 currency code")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            raise ValueError(f"the rate for {code} must be a positive number, not {rate!r}")
        if not math.isfinite(rate):
            raise ValueError(f"the rate for {code} must be finite")
        rates[code.upper()] = float(rate)
    return rates
