"""The control plane's webhook calls (`/__mock/webhooks...`): endpoints, the event and delivery
logs, redelivery and test events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson

from .errors import NotFound, UnprocessableEntity
from .models import Record, iso_time, redact_token
from .settings import DEFAULT_WORKSPACE
from .validation import parse_json
from .webhooks.outbox import DEFAULT_RETRY_SCHEDULE_MS, DEFAULT_TIMEOUT_MS, TRIGGERS
from .webhooks.payloads import event_data, sample_records

if TYPE_CHECKING:
    from .app import MockApp

WEBHOOK_ENDPOINTS = frozenset(
    {"webhooks", "delete_webhook", "webhook_events", "webhook_deliveries", "redeliver",
     "test_webhook"}
)  # fmt: skip
Answer = tuple[int, Any]


def redacted(webhook: Record) -> Record:
    return {**webhook, "secret": redact_token(str(webhook["secret"]))}


class WebhookCalls:
    """Answers the webhook part of `/__mock/*` against the app's store and outbox."""

    def __init__(self, app: MockApp) -> None:
        self.app = app

    def handle(
        self, endpoint: str, method: str, arguments: Mapping[str, Any], raw_body: bytes, query: str
    ) -> Answer:
        store = self.app.store
        if endpoint == "webhooks" and method == "GET":
            return 200, [redacted(w) for w in store.snapshot()["webhooks"]]
        if endpoint == "webhooks":
            data = self._json(raw_body)
            with store.transaction() as view:
                return 201, self.app.control.webhook(view, data)
        if endpoint == "delete_webhook":
            with store.transaction() as view:
                if not view.delete_webhook(arguments["webhook_id"]):
                    raise NotFound(f"Webhook {arguments['webhook_id']} not found")
            return 200, {"deleted": arguments["webhook_id"]}
        if endpoint == "webhook_events":
            return 200, [_listed(event) for event in store.events()]
        if endpoint == "webhook_deliveries":
            event_id = parse_qs(query).get("eventId", [None])[0]
            attempts = store.deliveries()
            return 200, [a for a in attempts if event_id is None or a["eventId"] == event_id]
        if endpoint == "redeliver":
            return self.redeliver(arguments["event_id"])
        return self.test_event(self._json(raw_body))

    @staticmethod
    def _json(raw_body: bytes) -> Any:
        if not raw_body.strip():
            raise UnprocessableEntity("The webhook API expects a JSON object in the body.")
        data = parse_json(raw_body)
        if not isinstance(data, dict):
            raise UnprocessableEntity("The webhook API expects a JSON object in the body.")
        return data

    def redeliver(self, event_id: str) -> Answer:
        with self.app.store.transaction() as view:
            event = view.event(event_id)
            if event is None:
                raise NotFound(f"Webhook event {event_id} not found")
            sent = self.app.outbox.redeliver(view, event, self.app.clock())
        return 202, {"eventId": event_id, "webhookIds": sent}

    def test_event(self, data: dict[str, Any]) -> Answer:
        """A sample event of one trigger, signed and delivered like any other."""
        trigger = data.get("event")
        if trigger not in TRIGGERS:
            raise UnprocessableEntity(f"test: event must be one of {', '.join(TRIGGERS)}")
        now = self.app.clock()
        with self.app.store.transaction() as view:
            webhook_id = data.get("webhookId")
            if webhook_id is not None:
                endpoint = view.webhook(str(webhook_id))
                if endpoint is None:
                    raise NotFound(f"Webhook {webhook_id} not found")
            else:
                endpoint = self._transient(data)
            workspace_id = endpoint.get("workspaceId", DEFAULT_WORKSPACE)
            records = sample_records(trigger, workspace_id, iso_time(now))
            event_id = self.app.outbox.publish(
                view, workspace_id, trigger, event_data(trigger, records), [endpoint], now
            )
        return 202, {"eventId": event_id}

    def _transient(self, data: dict[str, Any]) -> Record:
        url, secret = data.get("url"), data.get("secret")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UnprocessableEntity("test: give a webhookId, or a url (http:// or https://)")
        if not isinstance(secret, str) or not secret:
            raise UnprocessableEntity("test: a url needs its secret")
        return {
            "id": "wh_test_" + self.app.ids.alphanumerics(16),
            "url": url,
            "secret": secret,
            "workspaceId": DEFAULT_WORKSPACE,
            "timeoutMs": DEFAULT_TIMEOUT_MS,
            "retryScheduleMs": list(DEFAULT_RETRY_SCHEDULE_MS),
            "test": True,
        }


def _listed(event: Record) -> Record:
    """An event as the log lists it: its body as JSON, not as the string it was sent as."""
    listed = {key: value for key, value in event.items() if key != "body"}
    listed["body"] = orjson.loads(event["body"])
    return listed
