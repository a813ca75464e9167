"""Broken variants, part four: faults in the webhooks a target sends (BEHAVIOR §7).

Webhooks leave the mock from its background sender, not through the HTTP answer, so these
variants change the app they wrap (its outbox or its sender) rather than the traffic."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from .middleware import Rewriter

if TYPE_CHECKING:
    from mockserver.app import MockApp


class SignatureWithoutPrefix(Rewriter):
    """Signs webhooks with the secret's hex part only, leaving out its `whsec_` prefix."""

    def __init__(self, app: MockApp) -> None:
        super().__init__(app)
        deliverer: Any = app.deliverer
        post = deliverer._post

        def signed_wrongly(url: str, body: bytes, signature: str, timeout: float) -> Any:
            secret = deliverer.current_secret.removeprefix("whsec_")
            wrong = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            return post(url, body, wrong, timeout)

        send = deliverer._send

        def remember_secret(item: dict[str, Any]) -> None:
            deliverer.current_secret = item["secret"]
            send(item)

        deliverer._post = signed_wrongly
        deliverer._send = remember_secret


class EveryEventTwice(Rewriter):
    """Queues every event twice, under two ids: the receiver processes one conversion twice."""

    def __init__(self, app: MockApp) -> None:
        super().__init__(app)
        outbox: Any = app.outbox
        publish = outbox.publish

        def twice(*args: Any, **kwargs: Any) -> str:
            publish(*args, **kwargs)
            return str(publish(*args, **kwargs))

        outbox.publish = twice


class MetadataLeftOut(Rewriter):
    """Leaves `metadata` out of the events' data."""

    def __init__(self, app: MockApp) -> None:
        super().__init__(app)
        outbox: Any = app.outbox
        publish = outbox.publish

        def without_metadata(view: Any, workspace_id: str, trigger: str, data: Any,
                             *rest: Any) -> str:  # fmt: skip
            data = {k: v for k, v in data.items() if k != "metadata"}
            return str(publish(view, workspace_id, trigger, data, *rest))

        outbox.publish = without_metadata


class RetryWithANewId(Rewriter):
    """Gives a retried delivery a new event id (and so other bytes)."""

    def __init__(self, app: MockApp) -> None:
        super().__init__(app)
        deliverer: Any = app.deliverer
        send = deliverer._send

        def renamed_on_retry(item: dict[str, Any]) -> None:
            if item["attempt"] > 1:
                item = {**item, "body": item["body"].replace(item["eventId"], "evt_" + "x" * 25)}
            send(item)

        deliverer._send = renamed_on_retry
