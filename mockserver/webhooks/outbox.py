"""The outbox: events written in the same unit of work as the click, lead or sale they announce,
with one queued delivery per endpoint, so that a recorded conversion is never without its
webhook and a failed request never has one. The deliverer (`delivery.py`) empties it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from ..models import Clock, IdFactory, Record, iso_time
from ..store import StateView
from .payloads import event_data

TRIGGERS = ("link.clicked", "lead.created", "sale.created")
DEFAULT_RETRY_SCHEDULE_MS = (1000, 5000, 30000, 120000, 600000)
DEFAULT_TIMEOUT_MS = 10_000


def pending_key(event_id: str, webhook_id: str) -> str:
    return f"{event_id}:{webhook_id}"


class Outbox:
    """The app's `EventSink`: shapes each event once and queues it for its endpoints."""

    def __init__(self, ids: IdFactory, clock: Clock) -> None:
        self._ids = ids
        self._clock = clock
        self._wake: Callable[[], None] = lambda: None
        self._queued = False

    def on_queued(self, wake: Callable[[], None]) -> None:
        """`notify` calls `wake` when deliveries were queued (the deliverer's nudge)."""
        self._wake = wake

    def notify(self) -> None:
        """After the unit of work that queued deliveries has committed: send them now.

        Not from inside it: another process (or a SQLite reader) would not see them yet.
        """
        if self._queued:
            self._queued = False
            self._wake()

    def emit(
        self, view: StateView, workspace_id: str, trigger: str, records: dict[str, Any], now: float
    ) -> None:
        endpoints = [
            w
            for w in view.webhooks(workspace_id)
            if not w.get("disabled") and trigger in w.get("triggers", ())
        ]
        if not endpoints:
            return  # no one listens: no event is logged, and a sale costs nothing more
        if "click" not in records:
            click_id = (records.get("lead") or {}).get("clickId")
            records = {**records, "click": view.click(click_id) if click_id else None}
        self.publish(view, workspace_id, trigger, event_data(trigger, records), endpoints, now)

    def publish(
        self,
        view: StateView,
        workspace_id: str,
        trigger: str,
        data: dict[str, Any],
        endpoints: list[Record],
        now: float,
    ) -> str:
        """Log one event and queue it for each endpoint; the same id and bytes for all."""
        event_id = "evt_" + self._ids.alphanumerics(25)
        created_at = iso_time(now)
        body = orjson.dumps(
            {"id": event_id, "event": trigger, "createdAt": created_at, "data": data}
        ).decode()
        view.put_event(
            {
                "id": event_id,
                "event": trigger,
                "createdAt": created_at,
                "workspaceId": workspace_id,
                "webhookIds": [w["id"] for w in endpoints],
                "deliveredTo": [],
                "delivered": False,
                "body": body,
            }
        )
        for endpoint in endpoints:
            queue(view, event_id, trigger, body, endpoint, attempt=1, available_ms=int(now * 1000))
        self._queued = True
        return event_id

    def redeliver(self, view: StateView, event: Record, now: float) -> list[str]:
        """Queue a logged event again for its endpoints that still exist: same id and bytes."""
        sent = []
        for webhook_id in event["webhookIds"]:
            webhook = view.webhook(webhook_id)
            if webhook is None or webhook.get("disabled"):
                continue
            body = event["body"]
            # A key of its own: an attempt of this event still in flight must not, when it
            # finishes, drop the redelivery queued meanwhile.
            again = f"redelivery-{self._ids.alphanumerics(8)}"
            queue(view, event["id"], event["event"], body, webhook, attempt=1,
                  available_ms=int(now * 1000), key_suffix=again)  # fmt: skip
            sent.append(webhook_id)
        self._queued = self._queued or bool(sent)
        return sent


def queue(
    view: StateView,
    event_id: str,
    trigger: str,
    body: str,
    endpoint: Record,
    *,
    attempt: int,
    available_ms: int,
    key_suffix: str = "",
) -> None:
    """Queue attempt `attempt` of one event to one endpoint. The bytes to send, the endpoint's
    address, secret and schedule travel with it: a test endpoint needs no record of its own,
    and trimming the event log never loses a delivery."""
    view.put_pending(
        {
            "key": pending_key(event_id, endpoint["id"]) + (f":{key_suffix}" if key_suffix else ""),
            "eventId": event_id,
            "event": trigger,
            "body": body,
            "webhookId": endpoint["id"],
            "url": endpoint["url"],
            "secret": endpoint["secret"],
            "timeoutMs": endpoint.get("timeoutMs", DEFAULT_TIMEOUT_MS),
            "retryScheduleMs": list(endpoint.get("retryScheduleMs", DEFAULT_RETRY_SCHEDULE_MS)),
            "attempt": attempt,
            "availableMs": available_ms,
            "test": bool(endpoint.get("test")),
        }
    )
