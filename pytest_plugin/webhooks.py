"""``dub_webhooks``: a webhook receiver on a free port, registered with the test's mock.

The receiver is ``mockserver.webhooks.receiver.WebhookReceiver`` (it checks every delivery's
``Dub-Signature``), with what a fixture needs on top: it registers itself with a fast retry
schedule, explains a ``wait_for`` that timed out from the mock's own logs, names a delivery whose
signature did not verify, and stops without leaving a thread or a socket behind.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from typing import TYPE_CHECKING, Any

from mockserver.webhooks.receiver import Delivery as Received
from mockserver.webhooks.receiver import WebhookReceiver

from .handle import TRIGGERS, DubMockAdminError
from .records import Webhook

if TYPE_CHECKING:
    from .handle import DubMock

#: What ``dub_webhooks`` registers with: a failed attempt is retried after 50 ms, 200 ms and 1 s
#: (the mock's default, 1 s to 10 min, is Dub-like and far too slow for a test).
RETRY_SCHEDULE_MS = (50, 200, 1000)
#: How long a failure message waits for the mock to log the deliveries it names.
SENDER_WAIT_S = 1.0


class DubWebhooks(WebhookReceiver):
    """A ``WebhookReceiver`` registered with ``mock`` for one test: ``.url``, ``.secret``,
    ``.webhook`` (the endpoint record), ``.events`` (verified payloads, oldest first),
    ``.deliveries`` (every request, verified or not), ``.wait_for(event, timeout, count)``,
    ``.answer_next(*statuses)``."""

    def __init__(self, mock: DubMock, secret: str | None = None) -> None:
        super().__init__(secret or "whsec_" + secrets.token_hex(16))
        self.mock = mock
        self.webhook: Webhook | None = None
        self._reported = 0  # unverified deliveries already reported

    def __repr__(self) -> str:
        webhook_id = self.webhook["id"] if self.webhook else None
        return (
            f"<DubWebhooks {self.url} webhook={webhook_id!r} "
            f"received={len(self.deliveries)} unverified={len(self.unverified)}>"
        )

    # -- life cycle -------------------------------------------------------------------------

    def register(self) -> Webhook:
        """Register this receiver with the mock for every trigger, kept across the test's own
        ``reset()`` calls (the next test's reset drops it)."""
        self.webhook = self.mock.add_webhook(
            self.url, secret=self.secret, retry_schedule_ms=RETRY_SCHEDULE_MS
        )
        self.mock._keep_webhook(self.webhook)
        return self.webhook

    def close(self) -> None:
        """Unregister (the mock drops what it still had to send here), then stop."""
        try:
            if self.webhook is not None:
                self.mock._forget_webhook(self.webhook["id"])
                with contextlib.suppress(DubMockAdminError):  # gone already: a reset
                    self.mock.delete_webhook(self.webhook["id"])
        finally:
            self.stop()

    # -- the signature check ----------------------------------------------------------------

    def signature_problem(self) -> str | None:
        """A failure message naming each delivery whose ``Dub-Signature`` did not verify and
        that no earlier call reported; None when there is none."""
        with self._changed:
            bad = [d for d in self.deliveries if not d.verified]
            new, self._reported = bad[self._reported :], len(bad)
        if not new:
            return None
        lines = [
            f"dub_webhooks: {len(new)} webhook delivery(ies) to {self.url} did not verify with "
            f"this receiver's secret ({_short(self.secret)}); a receiver checking Dub-Signature "
            "rejects them:"
        ]
        senders = self._senders(new)
        own = self.webhook["id"] if self.webhook else None
        for delivery in new:
            lines.append("  - " + _describe(delivery, senders.get(delivery.body)))
        lines.append(
            f"This receiver's own endpoint is {own!r}. Another endpoint registered with this URL "
            "and a different secret (add_webhook(dub_webhooks.url, secret=...)), or a request "
            "from elsewhere, sends such deliveries."
        )
        return "\n".join(lines)

    def _senders(self, deliveries: list[Received]) -> dict[bytes, list[str]]:
        """Which endpoints sent these bodies, from the mock's delivery log. One event goes to
        every endpoint with the same bytes, so the sender of a bad signature is another
        endpoint than this receiver's own (unless the mock signed wrongly). An attempt is
        logged just after the receiver answered it: wait a moment for the last ones."""
        own = self.webhook["id"] if self.webhook else None
        bodies = {d.body for d in deliveries}
        deadline = time.monotonic() + SENDER_WAIT_S
        while True:
            found: dict[bytes, list[str]] = {}
            try:
                attempts = self.mock.webhook_deliveries
            except Exception:  # the mock may be what broke; the message still names the delivery
                return found
            for attempt in attempts:
                body = str(attempt.get("requestBody") or "").encode()
                if attempt.get("url") == self.url and body in bodies:
                    ids = found.setdefault(body, [])
                    if attempt["webhookId"] not in ids:
                        ids.append(str(attempt["webhookId"]))
            others = {b: [i for i in ids if i != own] for b, ids in found.items()}
            if all(others.get(b) for b in bodies) or time.monotonic() > deadline:
                return {b: others.get(b) or ids for b, ids in found.items()}
            time.sleep(0.02)

    # -- waiting, with an explanation -------------------------------------------------------

    def wait_for(self, event: str, timeout: float = 5.0, count: int = 1) -> Any:
        """The ``count``-th verified payload of type ``event``, waiting up to ``timeout``
        seconds; a ``TimeoutError`` says what did arrive and what the mock sent."""
        try:
            return super().wait_for(event, timeout=timeout, count=count)
        except TimeoutError:
            message = self._explain(event, timeout, count)
        raise TimeoutError(message)

    def _explain(self, event: str, timeout: float, count: int) -> str:
        with self._changed:
            received = list(self.deliveries)
        wanted = "a verified" if count == 1 else f"{count} verified"
        lines = [f"dub_webhooks: {wanted} {event!r} webhook did not arrive within {timeout} s."]
        if event not in TRIGGERS:
            lines.append(f"  Dub sends only {', '.join(TRIGGERS)}; {event!r} is none of them.")
        if received:
            shown = ", ".join(_received(d) for d in received)
            lines.append(f"  Received ({len(received)}): {shown}")
        else:
            lines.append("  Received: nothing.")
        lines.extend("  " + line for line in self._mock_side(event))
        return "\n".join(lines)

    def _mock_side(self, event: str) -> list[str]:
        """What the mock's logs say about this receiver's endpoint."""
        own = self.webhook["id"] if self.webhook else None
        try:
            endpoints = {w["id"]: w for w in self.mock.webhooks}
            events = self.mock.webhook_events
            attempts = [a for a in self.mock.webhook_deliveries if a.get("webhookId") == own]
        except Exception as exc:
            return [f"(could not read the mock's webhook logs: {exc!r})"]
        lines = []
        endpoint = endpoints.get(own or "")
        if endpoint is None:
            lines.append(f"The mock has no endpoint {own!r} any more: something deleted it.")
        elif endpoint.get("disabled"):
            lines.append(f"The mock disabled endpoint {own!r} after 20 failed deliveries.")
        mine = [e for e in events if own in (e.get("webhookIds") or [])]
        if not mine:
            lines.append(
                f"The mock sent no event to this receiver (endpoint {own!r}, workspace "
                f"{self.webhook.get('workspaceId') if self.webhook else None!r}): "
                f"{_when(event)}"
            )
        else:
            listed = ", ".join(f"{e.get('event')} {e.get('id')}" for e in mine)
            lines.append(f"The mock sent this receiver {len(mine)} event(s): {listed}")
        failed = [a for a in attempts if not a.get("ok")]
        if failed:
            listed = "; ".join(
                f"{a.get('event')} attempt {a.get('attempt')}: {a.get('error')}" for a in failed
            )
            lines.append(f"Failed attempts (retried after {list(RETRY_SCHEDULE_MS)} ms): {listed}")
        return lines


def _when(event: str) -> str:
    if event == "sale.created":
        return (
            "sale.created is sent for a recorded sale of the workspace (/track/sale, "
            "/track/sale/client), not for an invoice replay, a customer: null answer, amount 0, "
            "or objects made through the admin API."
        )
    if event == "lead.created":
        return (
            "lead.created is sent for a lead /track/lead records (and direct sale tracking), "
            "not for duplicates, deferred mode, or add_customer / add_lead."
        )
    if event == "link.clicked":
        return (
            "link.clicked is sent for a new click from /track/click, not for a repeat within "
            "the hour or add_click."
        )
    return "no event of that name exists."


def _short(secret: str) -> str:
    return secret[:10] + "…" if len(secret) > 10 else secret


def _event_of(delivery: Received) -> str:
    payload = delivery.payload
    if isinstance(payload, dict):
        return f"{payload.get('event')} {payload.get('id')}"
    return f"a non-JSON body of {len(delivery.body)} bytes"


def _received(delivery: Received) -> str:
    state = "verified" if delivery.verified else "signature did NOT verify"
    return f"{_event_of(delivery)} ({state})"


def _describe(delivery: Received, senders: list[str] | None) -> str:
    signature = (
        "no Dub-Signature header"
        if delivery.signature is None
        else f"Dub-Signature {_short(delivery.signature)!s}"
    )
    sent_by = f", sent by endpoint {', '.join(senders)}" if senders else ""
    return f"{_event_of(delivery)} ({signature}{sent_by})"
