"""The bookkeeping of delivery attempts, shared by both senders (threads, or the event loop):
lease due deliveries in the store, then log each attempt and decide what follows it (done, the
next try by the endpoint's schedule, or the endpoint disabled)."""

from __future__ import annotations

from ..feed import Feed
from ..models import Clock, Record, iso_time
from ..store import Store

LEASE_MARGIN_MS = 5_000
"""A claimed attempt stays leased for its timeout plus this, then another worker may try it."""
DISABLE_AFTER = 20
"""Consecutive failed deliveries (every attempt of an event failed) that disable an endpoint."""
RESPONSE_KEPT = 1024
"""Bytes of the receiver's answer kept in the delivery log."""


def claim(store: Store, clock: Clock, limit: int) -> list[Record]:
    """Lease up to `limit` due deliveries (copies, to send); drop those whose endpoint is gone."""
    now_ms = int(clock() * 1000)
    if (store.next_delivery_ms() or now_ms + 1) > now_ms:
        return []
    claimed: list[Record] = []
    with store.transaction() as view:
        for item in view.due_pending(now_ms, limit):
            webhook = view.webhook(item["webhookId"])
            if not item.get("test") and (webhook is None or webhook.get("disabled")):
                view.drop_pending(item["key"])  # deleted or disabled since: not sent
                continue
            item["availableMs"] = now_ms + int(item["timeoutMs"]) + LEASE_MARGIN_MS
            view.put_pending(item)  # leased: no other worker takes it meanwhile
            claimed.append(dict(item))
    return claimed


def finish(
    store: Store,
    clock: Clock,
    feed: Feed,
    item: Record,
    outcome: tuple[int | None, bytes, str | None],
    duration_ms: float,
) -> None:
    """Log one attempt (`outcome`: status, answer, error); on success the delivery is done,
    else it waits for its next try or, out of tries, counts against the endpoint."""
    status, answer, error = outcome
    ok = status is not None and 200 <= status < 300
    now = clock()
    now_ms = int(now * 1000)
    record = {
        "id": f"{item['key']}:{item['attempt']}",
        "eventId": item["eventId"],
        "event": item["event"],
        "webhookId": item["webhookId"],
        "url": item["url"],
        "attempt": item["attempt"],
        "status": status,
        "ok": ok,
        "error": error if status is None else None if ok else f"HTTP {status}",
        "durationMs": duration_ms,
        "time": iso_time(now),
        "requestBody": item["body"],
        "responseBody": answer[:RESPONSE_KEPT].decode("utf-8", "replace"),
    }
    with store.transaction() as view:
        if view.pending(item["key"]) is None:
            return  # reset since it was claimed (or finished by a worker whose lease came
            # after ours ran out): the log and the endpoint's count no longer want it
        view.put_delivery(record)
        webhook = view.webhook(item["webhookId"])
        schedule = list(item.get("retryScheduleMs") or ())
        retry = not ok and item["attempt"] <= len(schedule)
        if retry and not (webhook is not None and webhook.get("disabled")):
            item["availableMs"] = now_ms + int(schedule[item["attempt"] - 1])
            item["attempt"] += 1
            view.put_pending(item)
        else:
            view.drop_pending(item["key"])
            if webhook is not None:
                _count(webhook, ok)
                view.put_webhook(webhook)
        if ok:
            event = view.event(item["eventId"])
            if event is not None and item["webhookId"] not in event["deliveredTo"]:
                event["deliveredTo"].append(item["webhookId"])
                event["delivered"] = set(event["deliveredTo"]) >= set(event["webhookIds"])
                view.put_event(event)
    if feed.listening:
        feed.publish("delivery", record)


def _count(webhook: Record, ok: bool) -> None:
    """A delivery ended: success resets the endpoint's failure count, the 20th failure in a row
    disables it (as Dub does)."""
    if ok:
        webhook["consecutiveFailures"] = 0
        return
    webhook["consecutiveFailures"] = int(webhook.get("consecutiveFailures", 0)) + 1
    if webhook["consecutiveFailures"] >= DISABLE_AFTER:
        webhook["disabled"] = True
