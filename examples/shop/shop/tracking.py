"""Two ways the shop reports a sale to Dub's ``POST /track/sale``: the official SDK, plain HTTP.

Both take the API's base URL and a token, so tests point them at a mock and production at
``https://api.dub.co``; both raise ``TrackingError`` for an answer that is not a 200.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

DUB_API = "https://api.dub.co"


@dataclass(frozen=True)
class Sale:
    """What the shop tells Dub about one paid order."""

    customer_external_id: str
    amount: int
    currency: str
    invoice_id: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Tracked:
    """Dub's answer: ``recorded`` is False when Dub knew no such customer (no sale made)."""

    recorded: bool
    customer_id: str | None
    amount_usd_cents: int | None


class TrackingError(Exception):
    """Dub refused or failed the request; ``retryable`` for 429 and 5xx."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"Dub answered {status} {code}: {message}")
        self.status = status
        self.code = code
        self.retryable = status == 429 or status >= 500


class SaleTracker(Protocol):
    def track(self, sale: Sale) -> Tracked: ...


def _tracked(answer: dict[str, Any]) -> Tracked:
    customer, sale = answer.get("customer"), answer.get("sale")
    return Tracked(
        recorded=sale is not None,
        customer_id=customer["id"] if customer else None,
        amount_usd_cents=int(sale["amount"]) if sale else None,
    )


def _envelope(raw: str | bytes, fallback: str) -> tuple[str, str]:
    """(code, message) from Dub's error envelope, or ("unknown", fallback) for anything else."""
    try:
        error = json.loads(raw)["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return "unknown", fallback


class HttpSaleTracker:
    """``POST /track/sale`` with urllib: no dependency beyond the standard library."""

    def __init__(self, token: str, base_url: str = DUB_API, timeout: float = 10) -> None:
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def track(self, sale: Sale) -> Tracked:
        body = {
            "customerExternalId": sale.customer_external_id,
            "amount": sale.amount,
            "currency": sale.currency,
            "invoiceId": sale.invoice_id,
            "paymentProcessor": "stripe",
            "metadata": sale.metadata,
        }
        request = urllib.request.Request(
            f"{self.base_url}/track/sale",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return _tracked(json.loads(response.read()))
        except urllib.error.HTTPError as error:
            with error:
                code, message = _envelope(error.read(), str(error.reason))
            raise TrackingError(error.code, code, message) from None


class SdkSaleTracker:
    """The same call through the official ``dub`` SDK client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def track(self, sale: Sale) -> Tracked:
        from dub.models import errors

        try:
            answer = self.client.track.sale(
                request={
                    "customer_external_id": sale.customer_external_id,
                    "amount": sale.amount,
                    "currency": sale.currency,
                    "invoice_id": sale.invoice_id,
                    "payment_processor": "stripe",
                    "metadata": sale.metadata,
                }
            )
        except errors.DubError as error:
            code, message = _envelope(error.body, error.message)
            raise TrackingError(error.status_code, code, message) from None
        return Tracked(
            recorded=answer.sale is not None,
            customer_id=answer.customer.id if answer.customer else None,
            amount_usd_cents=int(answer.sale.amount) if answer.sale else None,
        )
