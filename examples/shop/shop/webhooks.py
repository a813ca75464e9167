"""The shop's Dub webhook endpoint: a plain WSGI app, nothing beyond the standard library.

Dub POSTs ``sale.created`` here once a sale it recorded is credited to a link; the shop grants
the buyer loyalty points for it. Every request is checked first: ``Dub-Signature`` must be the
HMAC-SHA256 of the exact body bytes keyed by the endpoint's secret (``whsec_...``, shown by Dub
when the endpoint is created), or the request is refused with 401 and changes nothing.

Dub delivers at least once: a retry after a timeout, or a redelivery from Dub's dashboard,
sends the same event (same ``id``, same bytes) again. The points are keyed by the event id, so
an event is processed once however many times it arrives; a duplicate is answered 200 so that
Dub stops retrying it.

Serve it with any WSGI server, e.g. ``wsgiref.simple_server.make_server(host, port, endpoint)``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

PATH = "/webhooks/dub"
#: The largest body the endpoint reads; Dub's events are a few kilobytes.
MAX_BODY = 1 << 20
#: Loyalty points per whole US dollar of a sale (Dub reports amounts in USD cents).
POINTS_PER_DOLLAR = 1


def is_from_dub(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``signature`` (the ``Dub-Signature`` header) signs ``body`` with ``secret``."""
    if not signature:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


@dataclass
class Rewards:
    """Loyalty points per customer (the shop's user id, Dub's ``externalId``), each grant keyed
    by the Dub event that caused it: one event grants once."""

    points: dict[str, int] = field(default_factory=dict)
    granted: dict[str, tuple[str, int]] = field(default_factory=dict)  # event id → grant
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def grant(self, event_id: str, customer: str, points: int) -> bool:
        """Grant ``points`` for ``event_id`` unless it was granted already; whether it was."""
        with self._lock:  # two deliveries of one event at once still grant once
            if event_id in self.granted:
                return False
            self.granted[event_id] = (customer, points)
            self.points[customer] = self.points.get(customer, 0) + points
            return True


@dataclass
class WebhookEndpoint:
    """The WSGI app behind ``POST /webhooks/dub``; ``secret`` is the endpoint's, from Dub."""

    secret: str
    rewards: Rewards = field(default_factory=Rewards)
    #: ids of the events processed, in order; a redelivered event is in it once
    processed: list[str] = field(default_factory=list)
    #: deliveries refused: (status, reason)
    refused: list[tuple[int, str]] = field(default_factory=list)
    duplicates: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        status, message = self.handle(environ)
        if status >= 400:
            with self._lock:
                self.refused.append((status, message))
        body = json.dumps({"message": message}).encode()
        start_response(
            f"{status} {_REASONS[status]}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def handle(self, environ: WSGIEnvironment) -> tuple[int, str]:
        if environ.get("PATH_INFO") != PATH:
            return 404, "not found"
        if environ.get("REQUEST_METHOD") != "POST":
            return 405, "POST only"
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 400, "bad Content-Length"
        if not 0 < length <= MAX_BODY:
            return 400, "no body, or too large"
        body = environ["wsgi.input"].read(length)
        if not is_from_dub(body, environ.get("HTTP_DUB_SIGNATURE"), self.secret):
            return 401, "bad signature"  # verified before the body is even parsed
        try:
            event = json.loads(body)
            event_id, kind, data = event["id"], event["event"], event["data"]
        except (ValueError, KeyError, TypeError):
            return 400, "not a Dub event"
        return self.process(str(event_id), str(kind), data)

    def process(self, event_id: str, kind: str, data: Any) -> tuple[int, str]:
        if kind != "sale.created":
            return 200, f"ignored {kind}"
        try:
            customer = str(data["customer"]["externalId"])
            points = int(data["sale"]["amount"]) // 100 * POINTS_PER_DOLLAR
        except (KeyError, TypeError, ValueError):
            return 400, "not a sale.created event"
        granted = self.rewards.grant(event_id, customer, points)
        with self._lock:
            if not granted:
                self.duplicates += 1
                return 200, f"already processed {event_id}"
            self.processed.append(event_id)
        return 200, f"granted {points} points to {customer}"


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
}
