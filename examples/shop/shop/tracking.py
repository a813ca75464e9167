"""Two ways the shop reports conversions to Dub: the official SDK, and plain HTTP.

A sign-up is a lead (``POST /track/lead``): it ties the new customer to the click that brought
the visitor, the id Dub's analytics script keeps in the ``dub_id`` cookie. A paid order is a sale
(``POST /track/sale``), which Dub credits to that customer's link.

Both trackers take the API's base URL and a token, so tests point them at a mock and production
at ``https://api.dub.co``; both raise ``TrackingError`` for an answer that is not a 200.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

DUB_API = "https://api.dub.co"
#: The cookie in which Dub's analytics script keeps the visitor's click id.
DUB_COOKIE = "dub_id"


@dataclass(frozen=True)
class Lead:
    """What the shop tells Dub about one sign-up."""

    click_id: str
    customer_external_id: str
    customer_email: str | None = None
    event_name: str = "Sign up"


@dataclass(frozen=True)
class Sale:
    """What the shop tells Dub about one paid order."""

    customer_external_id: str
    amount: int
    currency: str
    invoice_id: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class TrackedLead:
    """Dub's answer to a lead: ``recorded`` is False for a sign-up Dub already had (no link)."""

    recorded: bool
    short_link: str | None


@dataclass(frozen=True)
class Tracked:
    """Dub's answer to a sale: ``recorded`` is False when Dub knew no such customer."""

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


class Tracker(Protocol):
    def track_lead(self, lead: Lead) -> TrackedLead: ...

    def track_sale(self, sale: Sale) -> Tracked: ...


def _lead_body(lead: Lead) -> dict[str, Any]:
    return {
        "clickId": lead.click_id,
        "eventName": lead.event_name,
        "customerExternalId": lead.customer_external_id,
        "customerEmail": lead.customer_email,
        # `wait`: the lead is recorded before Dub answers, so a sale right after it finds it
        # (the default, `async`, records it shortly after answering).
        "mode": "wait",
    }


def _sale_body(sale: Sale) -> dict[str, Any]:
    return {
        "customerExternalId": sale.customer_external_id,
        "amount": sale.amount,
        "currency": sale.currency,
        "invoiceId": sale.invoice_id,
        "paymentProcessor": "stripe",
        "metadata": sale.metadata,
    }


def _tracked_lead(answer: dict[str, Any]) -> TrackedLead:
    link = answer.get("link")
    return TrackedLead(recorded=link is not None, short_link=link["shortLink"] if link else None)


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


class HttpTracker:
    """``POST /track/lead`` and ``/track/sale`` with urllib: nothing beyond the standard library."""

    def __init__(self, token: str, base_url: str = DUB_API, timeout: float = 10) -> None:
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def track_lead(self, lead: Lead) -> TrackedLead:
        return _tracked_lead(self._post("/track/lead", _lead_body(lead)))

    def track_sale(self, sale: Sale) -> Tracked:
        return _tracked(self._post("/track/sale", _sale_body(sale)))

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except urllib.error.HTTPError as error:
            with error:
                code, message = _envelope(error.read(), str(error.reason))
            raise TrackingError(error.code, code, message) from None


class SdkTracker:
    """The same calls through the official ``dub`` SDK client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def track_lead(self, lead: Lead) -> TrackedLead:
        from dub.models import errors

        try:
            answer = self.client.track.lead(
                request={
                    "click_id": lead.click_id,
                    "event_name": lead.event_name,
                    "customer_external_id": lead.customer_external_id,
                    "customer_email": lead.customer_email,
                    "mode": "wait",
                }
            )
        except errors.DubError as error:
            code, message = _envelope(error.body, error.message)
            raise TrackingError(error.status_code, code, message) from None
        return TrackedLead(
            recorded=answer.link is not None,
            short_link=answer.link.short_link if answer.link else None,
        )

    def track_sale(self, sale: Sale) -> Tracked:
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
