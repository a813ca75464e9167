"""The deliverer: background threads that send queued webhook deliveries, never on a request's
path. Each attempt is leased in the store first, so with several workers or instances sharing
SQLite or Redis state exactly one of them makes it; a worker killed mid-attempt leaves a lease
that expires, and the attempt is made again (at least once, never lost)."""

from __future__ import annotations

import http.client
import os
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from ..feed import Feed
from ..models import Clock, Record, iso_time
from ..store import Store
from .signing import sign

LEASE_MARGIN_MS = 5_000
"""A claimed attempt stays leased for its timeout plus this, then another worker may try it."""
POLL_S = 0.25
"""How often an idle deliverer looks for work queued by another process (or due by the clock)."""
DISABLE_AFTER = 20
"""Consecutive failed deliveries (every attempt of an event failed) that disable an endpoint."""
RESPONSE_KEPT = 1024
SENDERS = 4


class Deliverer:
    """Claims due deliveries and sends them on a few threads; started once per process."""

    def __init__(self, store: Store, clock: Clock, feed: Feed) -> None:
        self._store = store
        self._clock = clock
        self._feed = feed
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._slots = threading.Semaphore(SENDERS)
        self._pid = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._connections = threading.local()
        self._opened: set[http.client.HTTPConnection] = set()  # every thread's, for close()

    def start(self) -> None:
        """Start the threads in this process (idempotent; a forked worker starts its own)."""
        if self._pid == os.getpid() or self._stopping.is_set():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._pool = ThreadPoolExecutor(SENDERS, "dub-mock-webhook")
            self._thread = threading.Thread(
                target=self._run, name="dub-mock-deliverer", daemon=True
            )
            self._thread.start()

    def wake(self) -> None:
        """Work was queued: start if needed, and look now rather than at the next poll."""
        self.start()
        if not self._wake.is_set():
            self._wake.set()

    def close(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout=5)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()

    # -- the claiming loop -----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = self._claim_some()
            except Exception:  # a store that is down: keep the thread, try again shortly
                traceback.print_exc(file=sys.stderr)
                claimed = 0
            if not claimed:
                self._wake.wait(self._idle_wait())
                self._wake.clear()

    def _idle_wait(self) -> float:
        try:
            soonest = self._store.next_delivery_ms()
        except Exception:
            return POLL_S
        if soonest is None:
            return POLL_S
        return min(POLL_S, max(0.0, soonest / 1000 - self._clock()))

    def _claim_some(self) -> int:
        """Lease as many due deliveries as there are free senders, and hand them out."""
        if not self._slots.acquire(timeout=POLL_S):
            return 0  # every sender is busy
        free = 1
        while free < SENDERS and self._slots.acquire(blocking=False):
            free += 1
        claimed = self._claim(free)
        for _ in range(free - len(claimed)):
            self._slots.release()
        assert self._pool is not None
        for item in claimed:
            self._pool.submit(self._send, item)
        return len(claimed)

    def _claim(self, limit: int) -> list[Record]:
        now_ms = int(self._clock() * 1000)
        if (self._store.next_delivery_ms() or now_ms + 1) > now_ms:
            return []
        claimed = []
        with self._store.transaction() as view:
            for item in view.due_pending(now_ms, limit):
                webhook = view.webhook(item["webhookId"])
                if not item.get("test") and (webhook is None or webhook.get("disabled")):
                    view.drop_pending(item["key"])  # deleted or disabled since: not sent
                    continue
                item["availableMs"] = now_ms + int(item["timeoutMs"]) + LEASE_MARGIN_MS
                view.put_pending(item)  # leased: no other worker takes it meanwhile
                claimed.append(dict(item))
        return claimed

    # -- one attempt -----------------------------------------------------------------------

    def _send(self, item: Record) -> None:
        try:
            body = item["body"].encode()
            started = time.perf_counter()
            status, answer, error = self._post(
                item["url"], body, sign(body, item["secret"]), item["timeoutMs"] / 1000
            )
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            self._finish(item, status, answer, error, duration_ms)
        except Exception:  # never let a bad record stop the sender
            traceback.print_exc(file=sys.stderr)
        finally:
            self._slots.release()
            self._wake.set()

    def _post(
        self, url: str, body: bytes, signature: str, timeout: float
    ) -> tuple[int | None, bytes, str | None]:
        """POST over a kept-alive connection per thread and host; (status, body, error)."""
        headers = {
            "Content-Type": "application/json",
            "Dub-Signature": signature,
            "User-Agent": "dub-mock-webhooks",
        }
        try:
            parts = urlsplit(url)
            connection = self._connection(parts.scheme, parts.netloc, timeout)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read(RESPONSE_KEPT + 1)
            if response.will_close or len(answer) > RESPONSE_KEPT:
                self._drop_connection(parts.scheme, parts.netloc)
            return response.status, answer, None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self._drop_connection(*_origin(url))
            return None, b"", f"{type(exc).__name__}: {exc}"

    def _connection(self, scheme: str, netloc: str, timeout: float) -> http.client.HTTPConnection:
        cache: dict[tuple[str, str], http.client.HTTPConnection] = self._cache()
        connection = cache.get((scheme, netloc))
        if connection is None:
            kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            connection = kind(netloc, timeout=timeout)
            cache[(scheme, netloc)] = connection
            with self._lock:
                self._opened.add(connection)
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def _drop_connection(self, scheme: str, netloc: str) -> None:
        connection = self._cache().pop((scheme, netloc), None)
        if connection is not None:
            connection.close()
            with self._lock:
                self._opened.discard(connection)

    def _cache(self) -> dict[tuple[str, str], http.client.HTTPConnection]:
        cache = getattr(self._connections, "cache", None)
        if cache is None:
            cache = self._connections.cache = {}
        return cache

    def _finish(
        self,
        item: Record,
        status: int | None,
        answer: bytes,
        error: str | None,
        duration_ms: float,
    ) -> None:
        """Log the attempt; on success the delivery is done, else it waits for its next try."""
        ok = status is not None and 200 <= status < 300
        now = self._clock()
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
        with self._store.transaction() as view:
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
        if self._feed.listening:
            self._feed.publish("delivery", record)


def _count(webhook: Record, ok: bool) -> None:
    """A delivery ended: success resets the endpoint's failure count, the 20th failure in a row
    disables it (as Dub does)."""
    if ok:
        webhook["consecutiveFailures"] = 0
        return
    webhook["consecutiveFailures"] = int(webhook.get("consecutiveFailures", 0)) + 1
    if webhook["consecutiveFailures"] >= DISABLE_AFTER:
        webhook["disabled"] = True


def _origin(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "", ""
    return parts.scheme, parts.netloc
